//! AWS's per-account, per-region API token buckets, emulated: with `CAIRN_SIM_RATE_LIMITS=aws`
//! a call finds the bucket it draws on (see [`crate::provider::rate_limits`]) in the cloud and
//! is refused, before it has any effect, when that bucket is empty, with the error AWS gives
//! (`RequestLimitExceeded` for EC2, `Throttling` for the other services).
//!
//! Promises: the buckets count on the cloud's clock (`cairn sim clock`), so a test or a
//! benchmark with the clock set is fast and repeatable, and a client that waits on that clock
//! (see [`crate::provider::Provider::wait_until`]) sees them refill; they live in the cloud
//! file, so every process sharing a cloud shares its buckets, as every client of an account
//! does on AWS. A refused call costs no token, as on AWS.

use super::cloud::Cloud;
use super::operations::Request;
use crate::provider::ProviderError;
use crate::provider::rate_limits::{Bucket, Call, nanos};
use chrono::{DateTime, Utc};

/// Takes a token for `request` in `region` at `now`.
///
/// # Errors
/// The bucket's throttling error, and its code for the call log, when it is empty.
pub fn admit(
    cloud: &mut Cloud,
    region: &str,
    request: &Request,
    now: DateTime<Utc>,
) -> Result<(), (ProviderError, &'static str)> {
    // TerminateInstanceInAutoScalingGroup is logged as being about an instance, but it is an
    // Auto Scaling call.
    let kind = match request {
        Request::TerminateInGroup { .. } => crate::model::Kind::AutoscalingGroup,
        _ => request.kind(),
    };
    let call = Call::of(
        kind,
        request.is_mutating(),
        matches!(request, Request::Create(_)),
    );
    let bucket = Bucket::of(kind, call);
    let limit = bucket.limit();
    let key = format!("{}/{bucket}", bucket.scope(region));
    let state = cloud.rate_buckets.entry(key).or_default();
    state
        .take(nanos(now), limit.interval_nanos(), limit.burst)
        .map_err(|_| {
            let code = bucket.throttle_code();
            let message = format!(
                "{code}: {} (simulated {bucket} bucket)",
                bucket.throttle_message()
            );
            (ProviderError::Throttled { message }, code)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Kind, Owner};

    fn describe_subnets() -> Request {
        Request::Read {
            kind: Kind::Subnet,
            owner: Some(Owner {
                stack: "s".into(),
                env: "e".into(),
            }),
        }
    }

    fn delete_volume() -> Request {
        Request::Delete {
            kind: Kind::Volume,
            id: "vol-1".into(),
        }
    }

    #[test]
    fn the_cloud_throttles_calls_past_the_bucket_and_refills_on_its_clock() {
        let mut cloud = Cloud::default();
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        for _ in 0..100 {
            assert!(admit(&mut cloud, "us-east-1", &describe_subnets(), now).is_ok());
        }
        let refused = admit(&mut cloud, "us-east-1", &describe_subnets(), now);
        let Err((ProviderError::Throttled { message }, code)) = refused else {
            panic!("the 101st describe went through: {refused:?}");
        };
        assert_eq!(code, "RequestLimitExceeded");
        assert!(message.contains("Request limit exceeded"), "{message}");

        // Another bucket (mutating calls) and another region's describe bucket are untouched.
        assert!(admit(&mut cloud, "us-east-1", &delete_volume(), now).is_ok());
        assert!(admit(&mut cloud, "us-west-2", &describe_subnets(), now).is_ok());

        // 20 tokens a second: 50 ms later one more describe goes through, and only one.
        let later = now + chrono::TimeDelta::milliseconds(50);
        assert!(admit(&mut cloud, "us-east-1", &describe_subnets(), later).is_ok());
        assert!(admit(&mut cloud, "us-east-1", &describe_subnets(), later).is_err());
    }

    #[test]
    fn auto_scaling_answers_throttling_and_shares_one_bucket_for_reads_and_changes() {
        let mut cloud = Cloud::default();
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let read = Request::Read {
            kind: Kind::AutoscalingGroup,
            owner: None,
        };
        let change = Request::Delete {
            kind: Kind::ScalingPolicy,
            id: "p".into(),
        };
        for request in std::iter::repeat_n(&read, 20).chain(std::iter::repeat_n(&change, 20)) {
            assert!(admit(&mut cloud, "eu-west-1", request, now).is_ok());
        }
        let refused = admit(&mut cloud, "eu-west-1", &read, now);
        assert!(matches!(
            refused,
            Err((ProviderError::Throttled { .. }, "Throttling"))
        ));
    }
}
