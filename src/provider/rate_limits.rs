//! AWS's API rate limits: which token bucket a call draws on, each bucket's size and refill
//! rate, and the arithmetic of one bucket. The simulated cloud enforces these buckets when it
//! emulates them (`CAIRN_SIM_RATE_LIMITS=aws`, see `sim::rate_limits`) and the client-side
//! pacer ([`super::pacing`]) keeps its calls under them, so both count with the same numbers
//! and the same arithmetic.
//!
//! The figures, per account and region (every bucket starts full and refills continuously):
//! - EC2, documented in "Request throttling for the Amazon EC2 API" (EC2 developer guide):
//!   non-mutating actions (`Describe*`) 100 tokens, 20 a second; mutating actions 50 tokens,
//!   5 a second; RunInstances 5 tokens, 2 a second. Refused with `RequestLimitExceeded`.
//! - Elastic Load Balancing, documented in "Request throttling for the Elastic Load Balancing
//!   API": `Describe*` 40 tokens, 10 a second. Its mutating figures vary per action there;
//!   we take 20 tokens, 5 a second for all of them. Refused with `Throttling`.
//! - EC2 Auto Scaling: AWS publishes no figure; its knowledge-center article "How do I keep my
//!   Auto Scaling API calls from being throttled?" says every Auto Scaling call of an account
//!   and region shares one bucket. We take 40 tokens, 10 a second (an estimate). `Throttling`.
//! - CloudWatch, documented in its service quotas: DescribeAlarms 9 a second, PutMetricAlarm
//!   and DeleteAlarms 3 a second (burst the same as the rate). `Throttling`.
//! - Route 53, documented in its quotas: 5 requests a second per account for every action,
//!   global (the pseudo-region `global`). `Throttling`.
//!
//! A bucket is kept as a GCRA ("generic cell rate algorithm") theoretical arrival time in
//! integer nanoseconds, which is a token bucket written as one number: no fractional tokens
//! are rounded away, so a client that waits until the instant its own copy of a bucket allows
//! a call is never refused by the cloud's copy for a rounding difference.
//!
//! Promise: plain data and arithmetic; nothing here reads a clock or calls a cloud.

use crate::model::Kind;
use crate::model::cloud::GLOBAL_REGION;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Nanoseconds in a second.
const NANOS_PER_SECOND: i64 = 1_000_000_000;

/// What a call does, as far as throttling tells calls apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Call {
    /// Reads (`Describe*`, `List*`, `Get*`).
    Read,
    /// Changes something (creates, updates, deletes, tags).
    Mutate,
    /// EC2's RunInstances, which has a bucket of its own.
    RunInstances,
}

impl Call {
    /// The call a provider operation on `kind` makes: `mutating` or a read, and a create of an
    /// instance is RunInstances.
    pub fn of(kind: Kind, mutating: bool, create: bool) -> Call {
        match (mutating, create && kind == Kind::Instance) {
            (_, true) => Call::RunInstances,
            (true, false) => Call::Mutate,
            (false, false) => Call::Read,
        }
    }
}

/// One of AWS's per-account, per-region token buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bucket {
    Ec2Read,
    Ec2Mutate,
    Ec2RunInstances,
    AutoScaling,
    LoadBalancingRead,
    LoadBalancingMutate,
    CloudWatchRead,
    CloudWatchMutate,
    Route53,
}

/// A bucket's size and refill rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Tokens the bucket holds when full: the calls a burst may make at once.
    pub burst: u32,
    /// Tokens added each second.
    pub per_second: u32,
}

impl Limit {
    /// Nanoseconds between two tokens, rounded up (so rounding never lets a call more through).
    pub fn interval_nanos(self) -> i64 {
        let per_second = i64::from(self.per_second.max(1));
        (NANOS_PER_SECOND + per_second - 1) / per_second
    }
}

impl Bucket {
    /// The bucket a call of `call` on a resource of `kind` draws on.
    pub fn of(kind: Kind, call: Call) -> Bucket {
        match kind {
            Kind::AutoscalingGroup | Kind::ScalingPolicy => Bucket::AutoScaling,
            Kind::LoadBalancer | Kind::TargetGroup | Kind::Listener => match call {
                Call::Read => Bucket::LoadBalancingRead,
                Call::Mutate | Call::RunInstances => Bucket::LoadBalancingMutate,
            },
            Kind::Alarm => match call {
                Call::Read => Bucket::CloudWatchRead,
                Call::Mutate | Call::RunInstances => Bucket::CloudWatchMutate,
            },
            Kind::DnsZone | Kind::DnsHealthCheck | Kind::DnsRecord => Bucket::Route53,
            Kind::Network
            | Kind::Subnet
            | Kind::InternetGateway
            | Kind::RouteTable
            | Kind::SecurityGroup
            | Kind::LaunchTemplate
            | Kind::Volume
            | Kind::Instance
            | Kind::Snapshot => match call {
                Call::Read => Bucket::Ec2Read,
                Call::Mutate => Bucket::Ec2Mutate,
                Call::RunInstances => Bucket::Ec2RunInstances,
            },
        }
    }

    /// The bucket's size and refill rate (see the module header for where they come from).
    pub fn limit(self) -> Limit {
        let (burst, per_second) = match self {
            Bucket::Ec2Read => (100, 20),
            Bucket::Ec2Mutate => (50, 5),
            Bucket::Ec2RunInstances => (5, 2),
            Bucket::AutoScaling => (40, 10),
            Bucket::LoadBalancingRead => (40, 10),
            Bucket::LoadBalancingMutate => (20, 5),
            Bucket::CloudWatchRead => (9, 9),
            Bucket::CloudWatchMutate => (3, 3),
            Bucket::Route53 => (5, 5),
        };
        Limit { burst, per_second }
    }

    /// The error code AWS answers a call over this bucket with.
    pub fn throttle_code(self) -> &'static str {
        match self {
            Bucket::Ec2Read | Bucket::Ec2Mutate | Bucket::Ec2RunInstances => "RequestLimitExceeded",
            _ => "Throttling",
        }
    }

    /// The message AWS gives with [`Bucket::throttle_code`].
    pub fn throttle_message(self) -> &'static str {
        match self {
            Bucket::Ec2Read | Bucket::Ec2Mutate | Bucket::Ec2RunInstances => {
                "Request limit exceeded."
            }
            _ => "Rate exceeded",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Bucket::Ec2Read => "ec2_read",
            Bucket::Ec2Mutate => "ec2_mutate",
            Bucket::Ec2RunInstances => "ec2_run_instances",
            Bucket::AutoScaling => "autoscaling",
            Bucket::LoadBalancingRead => "load_balancing_read",
            Bucket::LoadBalancingMutate => "load_balancing_mutate",
            Bucket::CloudWatchRead => "cloudwatch_read",
            Bucket::CloudWatchMutate => "cloudwatch_mutate",
            Bucket::Route53 => "route53",
        }
    }

    /// Where the bucket of a call in `region` lives: Route 53's is one for the account.
    pub fn scope(self, region: &str) -> &str {
        match self {
            Bucket::Route53 => GLOBAL_REGION,
            _ => region,
        }
    }
}

impl fmt::Display for Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Padded, so that tables can align bucket names.
        f.pad(self.as_str())
    }
}

/// One token bucket as a theoretical arrival time: the instant (nanoseconds on the clock the
/// bucket counts on) at which the bucket would be full again were no call made meanwhile,
/// plus one interval. A bucket that was never drawn on is full.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenBucket {
    arrival: i64,
}

impl TokenBucket {
    /// The earliest instant at or after `now` at which a call is allowed, with tokens one
    /// `interval` apart and `burst` of them at most.
    pub fn ready_at(&self, now: i64, interval: i64, burst: u32) -> i64 {
        let tolerance = interval.saturating_mul(i64::from(burst.max(1)) - 1);
        now.max(self.arrival.saturating_sub(tolerance))
    }

    /// Takes a token at `now` if the bucket has one; otherwise leaves it as it is and answers
    /// how long until it will have one.
    ///
    /// # Errors
    /// The nanoseconds to wait.
    pub fn take(&mut self, now: i64, interval: i64, burst: u32) -> Result<(), i64> {
        let ready = self.ready_at(now, interval, burst);
        if ready > now {
            return Err(ready - now);
        }
        self.arrival = self.arrival.max(now).saturating_add(interval);
        Ok(())
    }

    /// Reserves the next token, whenever it comes: answers the instant (at or after `now`)
    /// the reserved call may be sent. Calls reserved one after another get instants one
    /// interval apart once the burst is spent.
    pub fn reserve(&mut self, now: i64, interval: i64, burst: u32) -> i64 {
        let ready = self.ready_at(now, interval, burst);
        self.arrival = self.arrival.max(ready).saturating_add(interval);
        ready
    }

    /// Counts the latest call as made no earlier than `now`: a call counted at an instant
    /// older than the one the bucket's owner saw it at left this copy fuller than that bucket.
    /// Only ever empties the copy, never fills it.
    pub fn seen_at(&mut self, now: i64, interval: i64) {
        self.arrival = self.arrival.max(now.saturating_add(interval));
    }

    /// Whether the bucket is full at `now`: no call counted in it is still being paid for.
    pub fn is_full(&self, now: i64) -> bool {
        self.arrival <= now
    }

    /// Empties the bucket at `now`: the next token comes one `interval` later.
    pub fn drain(&mut self, now: i64, interval: i64, burst: u32) {
        let empty = now.saturating_add(interval.saturating_mul(i64::from(burst.max(1))));
        self.arrival = self.arrival.max(empty);
    }
}

/// An instant as nanoseconds since the Unix epoch, the unit [`TokenBucket`] counts in.
pub fn nanos(time: chrono::DateTime<chrono::Utc>) -> i64 {
    // Out of range only past the year 2262.
    time.timestamp_nanos_opt().unwrap_or(i64::MAX)
}

/// The instant `nanos` nanoseconds after the Unix epoch.
pub fn instant(nanos: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_nanos(nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: i64 = NANOS_PER_SECOND;

    #[test]
    fn a_full_bucket_lets_its_burst_through_then_one_call_per_interval() {
        let limit = Bucket::Ec2Mutate.limit();
        let interval = limit.interval_nanos();
        assert_eq!(interval, SECOND / 5);
        let mut bucket = TokenBucket::default();
        let start = 1_000 * SECOND;
        for _ in 0..limit.burst {
            assert_eq!(bucket.take(start, interval, limit.burst), Ok(()));
        }
        assert_eq!(bucket.take(start, interval, limit.burst), Err(interval));
        assert_eq!(bucket.take(start + interval, interval, limit.burst), Ok(()));
        assert_eq!(
            bucket.take(start + interval, interval, limit.burst),
            Err(interval)
        );
        // Idle for twenty seconds: the bucket refilled to its size, never beyond.
        let later = start + 20 * SECOND;
        for _ in 0..limit.burst {
            assert_eq!(bucket.take(later, interval, limit.burst), Ok(()));
        }
        assert!(bucket.take(later, interval, limit.burst).is_err());
    }

    #[test]
    fn reserved_instants_are_always_taken_by_a_bucket_that_saw_the_same_calls() {
        // The client's copy reserves, the cloud's copy takes at the reserved instants: never
        // refused, whatever the rates' rounding.
        for bucket_kind in [
            Bucket::Ec2Read,
            Bucket::CloudWatchMutate,
            Bucket::CloudWatchRead,
        ] {
            let limit = bucket_kind.limit();
            let interval = limit.interval_nanos();
            let mut client = TokenBucket::default();
            let mut cloud = TokenBucket::default();
            let now = 5 * SECOND;
            for _ in 0..500 {
                let at = client.reserve(now, interval, limit.burst);
                assert_eq!(
                    cloud.take(at, interval, limit.burst),
                    Ok(()),
                    "{bucket_kind}"
                );
            }
        }
    }

    #[test]
    fn a_drained_bucket_gives_its_next_token_one_interval_later() {
        let mut bucket = TokenBucket::default();
        bucket.drain(SECOND, 100, 10);
        assert_eq!(bucket.ready_at(SECOND, 100, 10), SECOND + 100);
    }

    #[test]
    fn every_kind_draws_on_the_bucket_of_its_service() {
        assert_eq!(Bucket::of(Kind::Subnet, Call::Read), Bucket::Ec2Read);
        assert_eq!(
            Bucket::of(Kind::Instance, Call::of(Kind::Instance, true, true)),
            Bucket::Ec2RunInstances
        );
        assert_eq!(
            Bucket::of(Kind::Instance, Call::of(Kind::Instance, true, false)),
            Bucket::Ec2Mutate
        );
        assert_eq!(
            Bucket::of(Kind::ScalingPolicy, Call::Read),
            Bucket::AutoScaling
        );
        assert_eq!(
            Bucket::of(Kind::DnsRecord, Call::Mutate).scope("us-east-1"),
            GLOBAL_REGION
        );
        assert_eq!(Bucket::Ec2Read.throttle_code(), "RequestLimitExceeded");
        assert_eq!(Bucket::Route53.throttle_code(), "Throttling");
    }
}
