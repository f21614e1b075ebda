//! Short retries for AWS's eventual consistency.
//!
//! EC2 and Auto Scaling answer a create before every endpoint knows the new id: a call that
//! names an id created a moment ago (attaching a gateway just created, a subnet in a VPC the
//! previous apply step created, describing the resource we just made) can fail with
//! `InvalidVpcID.NotFound` and friends for a second or two. The SDK's own retries do not
//! cover this (a `NotFound` is not a retryable error to it), so calls that may see a fresh id
//! go through [`until_visible`], which retries only "not found" answers, a few times, with a
//! doubling delay. Throttling and 5xx are left to the SDK's retry policy and then to the
//! engine; everything else fails at once.
//!
//! Deletes have the mirror image: a target group whose listener was deleted a moment ago can
//! still read as in use; [`until_released`] retries those answers the same way.

use super::error::CallError;
use crate::provider::ProviderError;
use crate::util::backoff::{Jitter, RetryPolicy, retry};
use std::future::Future;
use std::time::Duration;

/// Five tries in all; waits of 0.25, 0.5, 1 and 2 s (3.75 s at most), without jitter: the
/// wait is there to let the new id spread, so every wait is spent in full.
pub(crate) const VISIBILITY: RetryPolicy = RetryPolicy {
    attempts: 5,
    base: Duration::from_millis(250),
    cap: Duration::from_secs(2),
    jitter: Jitter::None,
};

/// Runs `call` until it succeeds, fails with something other than "not found", or
/// [`VISIBILITY`]'s attempts have seen "not found".
///
/// # Errors
/// The last attempt's error.
pub(crate) async fn until_visible<T, E, F, Fut>(call: F) -> Result<T, E>
where
    E: NotVisible + std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    retry(VISIBILITY, "a call naming a fresh id", E::not_visible, call).await
}

/// The codes that say a resource is still used by one whose delete has not spread yet (a
/// target group by the listener just deleted, a health check by the record just deleted).
const STILL_IN_USE: [&str; 2] = ["ResourceInUse", "HealthCheckInUse"];

/// Runs the delete `call` until it succeeds, fails with something other than "still in use",
/// or [`VISIBILITY`]'s attempts have seen "still in use". The plan deletes what uses a
/// resource first; this only waits for the cloud to notice.
///
/// # Errors
/// The last attempt's error.
pub(crate) async fn until_released<T, F, Fut>(call: F) -> Result<T, CallError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, CallError>>,
{
    retry(
        VISIBILITY,
        "a delete of something just released",
        |error: &CallError| STILL_IN_USE.contains(&error.code.as_str()),
        call,
    )
    .await
}

/// Errors that can mean "the id exists but is not visible here yet".
pub(crate) trait NotVisible {
    fn not_visible(&self) -> bool;
}

impl NotVisible for CallError {
    fn not_visible(&self) -> bool {
        self.is_not_found()
    }
}

impl NotVisible for ProviderError {
    fn not_visible(&self) -> bool {
        matches!(self, ProviderError::NotFound { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use tokio::time::Instant;

    fn not_found() -> CallError {
        CallError::from_code("InvalidVpcID.NotFound", "vpc-1 does not exist", Some(400))
    }

    #[tokio::test(start_paused = true)]
    async fn a_fresh_id_becomes_visible_after_two_misses() {
        let attempts = AtomicU32::new(0);
        let started = Instant::now();
        let result = until_visible(|| async {
            if attempts.fetch_add(1, Ordering::SeqCst) < 2 {
                Err(not_found())
            } else {
                Ok("vpc-1")
            }
        })
        .await;
        assert_eq!(result, Ok("vpc-1"));
        assert_eq!(attempts.load(Ordering::SeqCst), 3);
        // Waited 0.25 s, then 0.5 s, on the paused clock.
        assert_eq!(started.elapsed(), Duration::from_millis(750));
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_the_last_attempt_with_its_error() {
        let attempts = AtomicU32::new(0);
        let result: Result<(), _> = until_visible(|| async {
            attempts.fetch_add(1, Ordering::SeqCst);
            Err(not_found())
        })
        .await;
        assert_eq!(result, Err(not_found()));
        assert_eq!(attempts.load(Ordering::SeqCst), VISIBILITY.attempts);
    }

    #[tokio::test(start_paused = true)]
    async fn other_errors_fail_at_once() {
        let attempts = AtomicU32::new(0);
        let refused = CallError::from_code("InvalidParameterValue", "bad cidr", Some(400));
        let result: Result<(), _> = until_visible(|| async {
            attempts.fetch_add(1, Ordering::SeqCst);
            Err(refused.clone())
        })
        .await;
        assert_eq!(result, Err(refused));
        assert_eq!(attempts.load(Ordering::SeqCst), 1);
    }
}
