//! Retry waits: exponential backoff, with full jitter or without, and a retry loop built on
//! it.
//!
//! The ceiling of the wait before retry `n` is `min(cap, base · 2ⁿ⁻¹)`. With full jitter the
//! wait is uniform in `[0, ceiling]`, which spreads the retries of many throttled calls instead
//! of sending them back in one burst (see the AWS architecture blog, "Exponential Backoff And
//! Jitter"); that is the choice wherever calls compete for a rate limit. Without jitter the
//! wait is the ceiling itself, for waits that are there to let time pass (a new id spreading
//! through AWS's endpoints), where a short random wait would only be a wasted try.
//!
//! Written here rather than taken from a retry crate because the apply executor schedules
//! retries itself (it needs only the wait, from a seeded source, so tests are repeatable),
//! and the loop below is the few lines the other callers need; the waits sleep on tokio's
//! clock, so tests run on a paused clock.

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

/// How a wait is drawn below its ceiling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jitter {
    /// Uniform in `[0, ceiling]`: for calls that compete for a rate limit.
    Full,
    /// The ceiling itself: for waits that give something time to happen.
    None,
}

/// Computes retry waits from a base, a cap, a jitter and a random source.
#[derive(Debug)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    jitter: Jitter,
    random: fastrand::Rng,
}

impl Backoff {
    /// Waits with full jitter from `base` doubling up to `cap`; `seed` makes the jitter
    /// repeatable.
    pub fn new(base: Duration, cap: Duration, seed: Option<u64>) -> Self {
        let random = match seed {
            Some(seed) => fastrand::Rng::with_seed(seed),
            None => fastrand::Rng::new(),
        };
        Backoff {
            base,
            cap,
            jitter: Jitter::Full,
            random,
        }
    }

    /// The waits of `policy`.
    pub fn of(policy: &RetryPolicy) -> Self {
        Backoff {
            jitter: policy.jitter,
            ..Backoff::new(policy.base, policy.cap, None)
        }
    }

    /// The ceiling of the wait after `failed_attempts` failures (at least 1).
    pub fn ceiling(&self, failed_attempts: u32) -> Duration {
        let doublings = failed_attempts.saturating_sub(1).min(31);
        self.base.saturating_mul(1u32 << doublings).min(self.cap)
    }

    /// The wait after `failed_attempts` failures: random in `[0, ceiling(failed_attempts)]`
    /// with full jitter, the ceiling without.
    pub fn delay(&mut self, failed_attempts: u32) -> Duration {
        let ceiling = self.ceiling(failed_attempts);
        match self.jitter {
            Jitter::Full => {
                let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
                Duration::from_nanos(self.random.u64(0..=nanos))
            }
            Jitter::None => ceiling,
        }
    }
}

/// How a call is retried: how often it is tried in all, and the waits in between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first included (at least one try is always made).
    pub attempts: u32,
    /// Ceiling of the first wait.
    pub base: Duration,
    /// Ceiling of every wait.
    pub cap: Duration,
    pub jitter: Jitter,
}

/// Calls `call` until it succeeds, fails with an error `is_retryable` refuses, or has been
/// tried `policy.attempts` times; waits a jittered backoff between tries. Returns the last
/// result. `what` names the call in the debug log of each retry.
///
/// # Errors
/// The error of the last try.
pub async fn retry<T, E, F, Fut>(
    policy: RetryPolicy,
    what: impl Display,
    is_retryable: impl Fn(&E) -> bool,
    mut call: F,
) -> Result<T, E>
where
    E: Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut backoff = Backoff::of(&policy);
    let mut attempt = 1;
    loop {
        match call().await {
            Err(error) if is_retryable(&error) && attempt < policy.attempts => {
                let wait = backoff.delay(attempt);
                tracing::debug!(%what, %error, attempt, ?wait, "retrying");
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            result => return result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn ceiling_doubles_from_the_base_up_to_the_cap() {
        let backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(20), Some(1));
        let ceilings: Vec<u128> = (1..=9).map(|n| backoff.ceiling(n).as_millis()).collect();
        assert_eq!(
            ceilings,
            [200, 400, 800, 1600, 3200, 6400, 12800, 20000, 20000]
        );
        assert_eq!(backoff.ceiling(1000), Duration::from_secs(20));
    }

    #[test]
    fn delays_stay_within_the_ceiling_and_vary() {
        let mut backoff =
            Backoff::new(Duration::from_millis(200), Duration::from_secs(20), Some(7));
        let delays: Vec<Duration> = (0..50).map(|_| backoff.delay(3)).collect();
        assert!(
            delays
                .iter()
                .all(|delay| *delay <= Duration::from_millis(800))
        );
        let first = delays[0];
        assert!(delays.iter().any(|delay| *delay != first));
    }

    #[test]
    fn the_same_seed_gives_the_same_waits() {
        let mut one = Backoff::new(Duration::from_millis(200), Duration::from_secs(20), Some(3));
        let mut two = Backoff::new(Duration::from_millis(200), Duration::from_secs(20), Some(3));
        for attempt in 1..=8 {
            assert_eq!(one.delay(attempt), two.delay(attempt));
        }
    }

    const POLICY: RetryPolicy = RetryPolicy {
        attempts: 4,
        base: Duration::from_millis(100),
        cap: Duration::from_secs(1),
        jitter: Jitter::Full,
    };

    /// An error that says whether it may be retried.
    #[derive(Debug, PartialEq)]
    struct Failure {
        retryable: bool,
    }

    impl Display for Failure {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "retryable: {}", self.retryable)
        }
    }

    /// Retries a call that fails `failures` times, with `retryable` errors, then answers how
    /// often it ran; the result, and how often it ran in all.
    async fn tries(failures: u32, retryable: bool) -> (Result<u32, Failure>, u32) {
        let calls = Cell::new(0);
        let result = retry(
            POLICY,
            "test",
            |error: &Failure| error.retryable,
            || {
                calls.set(calls.get() + 1);
                let outcome = if calls.get() <= failures {
                    Err(Failure { retryable })
                } else {
                    Ok(calls.get())
                };
                async move { outcome }
            },
        )
        .await;
        (result, calls.get())
    }

    #[tokio::test(start_paused = true)]
    async fn a_retryable_failure_is_tried_again_until_the_call_succeeds() {
        assert_eq!(tries(2, true).await, (Ok(3), 3));
    }

    #[tokio::test(start_paused = true)]
    async fn retries_stop_at_the_attempt_limit_and_return_the_last_error() {
        let (result, calls) = tries(u32::MAX, true).await;
        assert_eq!(result, Err(Failure { retryable: true }));
        assert_eq!(calls, POLICY.attempts);
    }

    #[tokio::test(start_paused = true)]
    async fn a_permanent_failure_is_returned_at_once() {
        assert_eq!(
            tries(u32::MAX, false).await,
            (Err(Failure { retryable: false }), 1)
        );
    }

    /// How long, on the paused clock, `policy` waits in all for a call that always fails.
    async fn time_spent_failing(policy: RetryPolicy) -> Duration {
        let started = tokio::time::Instant::now();
        let _: Result<(), Failure> = retry(
            policy,
            "test",
            |_: &Failure| true,
            || async { Err(Failure { retryable: true }) },
        )
        .await;
        started.elapsed()
    }

    #[tokio::test(start_paused = true)]
    async fn the_waits_between_tries_stay_under_their_ceilings() {
        // Three waits with ceilings 100, 200 and 400 ms: at most their sum.
        assert!(time_spent_failing(POLICY).await <= Duration::from_millis(700));
    }

    #[tokio::test(start_paused = true)]
    async fn without_jitter_each_wait_is_its_ceiling() {
        let exact = RetryPolicy {
            jitter: Jitter::None,
            ..POLICY
        };
        assert_eq!(
            time_spent_failing(exact).await,
            Duration::from_millis(100 + 200 + 400)
        );
    }
}
