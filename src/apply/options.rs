//! How an apply runs: parallelism bound, retry policy and the history label.

use std::time::Duration;

/// Settings for [`super::execute`]. `ApplyOptions::default()` is what `cairn apply` uses
/// without flags.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// The most provider calls in flight at once (`--parallelism`). The executor lowers its
    /// working limit when the provider throttles and raises it again on successes, never
    /// above this bound. Zero is treated as one.
    pub parallelism: usize,
    /// How many times one step's call is attempted in total before a retryable error
    /// (throttling, transient failure) counts as the step's failure.
    pub max_attempts: u32,
    /// The first retry waits up to this long; each further retry doubles the ceiling.
    pub backoff_base: Duration,
    /// The ceiling a retry's wait never exceeds.
    pub backoff_cap: Duration,
    /// Seed for the retry jitter, so that tests and benchmarks see one sequence of waits.
    /// `None` seeds from the system.
    pub jitter_seed: Option<u64>,
    /// What the history entry written at the end calls this run (`apply`, `destroy`, …).
    pub operation: String,
    /// When this turns `true` (the CLI sets it on Ctrl-C), nothing new is scheduled; steps in
    /// flight finish and are recorded, and the report lists the rest as not started.
    pub stop: Option<tokio::sync::watch::Receiver<bool>>,
    /// How long a create whose answer was lost looks for its object before it is sent again;
    /// `None` takes the provider's own window ([`crate::provider::Provider::consistency_window`]).
    pub consistency_window: Option<Duration>,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            parallelism: 10,
            max_attempts: 8,
            backoff_base: Duration::from_millis(200),
            backoff_cap: Duration::from_secs(20),
            jitter_seed: None,
            operation: "apply".to_string(),
            stop: None,
            consistency_window: None,
        }
    }
}
