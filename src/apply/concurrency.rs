//! Throttle-adaptive concurrency: additive increase, multiplicative decrease (AIMD), as TCP
//! congestion control and the AWS SDKs' adaptive retry mode do.
//!
//! The working limit starts at the configured bound. A throttled call halves it (never below
//! one); a run of successes as long as the limit raises it by one (never above the bound).
//! Only one halving happens per "generation": calls launched before the last halving were
//! sent at the old rate, and their throttles say nothing new, so ten calls throttled at once
//! halve the limit once, not ten times.

/// The working concurrency limit.
#[derive(Debug)]
pub(crate) struct Concurrency {
    bound: usize,
    limit: usize,
    successes: usize,
    generation: u64,
}

/// What a report to the controller did to the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LimitChange {
    Unchanged,
    Changed(usize),
}

impl Concurrency {
    pub(crate) fn new(bound: usize) -> Self {
        let bound = bound.max(1);
        Concurrency {
            bound,
            limit: bound,
            successes: 0,
            generation: 0,
        }
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// The generation a call launched now belongs to; pass it back to [`Self::throttled`].
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// A call launched in `generation` was throttled.
    pub(crate) fn throttled(&mut self, generation: u64) -> LimitChange {
        self.successes = 0;
        if generation < self.generation {
            return LimitChange::Unchanged;
        }
        self.generation += 1;
        let halved = (self.limit / 2).max(1);
        if halved == self.limit {
            return LimitChange::Unchanged;
        }
        self.limit = halved;
        LimitChange::Changed(halved)
    }

    /// A call succeeded.
    pub(crate) fn succeeded(&mut self) -> LimitChange {
        if self.limit >= self.bound {
            return LimitChange::Unchanged;
        }
        self.successes += 1;
        if self.successes < self.limit {
            return LimitChange::Unchanged;
        }
        self.successes = 0;
        self.limit += 1;
        LimitChange::Changed(self.limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttles_halve_once_per_generation_down_to_one() {
        let mut concurrency = Concurrency::new(10);
        let generation = concurrency.generation();
        assert_eq!(concurrency.throttled(generation), LimitChange::Changed(5));
        // Calls launched before the halving report their throttles too: no further change.
        assert_eq!(concurrency.throttled(generation), LimitChange::Unchanged);
        assert_eq!(concurrency.limit(), 5);

        for expected in [2, 1] {
            let generation = concurrency.generation();
            assert_eq!(
                concurrency.throttled(generation),
                LimitChange::Changed(expected)
            );
        }
        let generation = concurrency.generation();
        assert_eq!(concurrency.throttled(generation), LimitChange::Unchanged);
        assert_eq!(concurrency.limit(), 1);
    }

    #[test]
    fn successes_raise_the_limit_slowly_up_to_the_bound() {
        let mut concurrency = Concurrency::new(4);
        let generation = concurrency.generation();
        concurrency.throttled(generation);
        assert_eq!(concurrency.limit(), 2);

        // Two successes at limit 2 raise it to 3; three more raise it to 4, the bound.
        assert_eq!(concurrency.succeeded(), LimitChange::Unchanged);
        assert_eq!(concurrency.succeeded(), LimitChange::Changed(3));
        assert_eq!(concurrency.succeeded(), LimitChange::Unchanged);
        assert_eq!(concurrency.succeeded(), LimitChange::Unchanged);
        assert_eq!(concurrency.succeeded(), LimitChange::Changed(4));
        for _ in 0..20 {
            assert_eq!(concurrency.succeeded(), LimitChange::Unchanged);
        }
        assert_eq!(concurrency.limit(), 4);
    }

    #[test]
    fn a_zero_bound_still_runs_one_call() {
        assert_eq!(Concurrency::new(0).limit(), 1);
    }
}
