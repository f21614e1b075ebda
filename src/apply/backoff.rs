//! Retry waits: exponential backoff with full jitter.
//!
//! The wait before retry `n` is uniform in `[0, min(cap, base · 2ⁿ⁻¹)]`. Full jitter spreads
//! the retries of many throttled calls instead of sending them back in one burst (see the AWS
//! architecture blog, "Exponential Backoff And Jitter").

use std::time::Duration;

/// Computes retry waits from a base, a cap and a random source.
#[derive(Debug)]
pub(crate) struct Backoff {
    base: Duration,
    cap: Duration,
    random: fastrand::Rng,
}

impl Backoff {
    pub(crate) fn new(base: Duration, cap: Duration, seed: Option<u64>) -> Self {
        let random = match seed {
            Some(seed) => fastrand::Rng::with_seed(seed),
            None => fastrand::Rng::new(),
        };
        Backoff { base, cap, random }
    }

    /// The ceiling of the wait after `failed_attempts` failures (at least 1).
    pub(crate) fn ceiling(&self, failed_attempts: u32) -> Duration {
        let doublings = failed_attempts.saturating_sub(1).min(31);
        self.base.saturating_mul(1u32 << doublings).min(self.cap)
    }

    /// A random wait in `[0, ceiling(failed_attempts)]`.
    pub(crate) fn delay(&mut self, failed_attempts: u32) -> Duration {
        let ceiling = self.ceiling(failed_attempts);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(self.random.u64(0..=nanos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
