//! Apply: executes a saved plan's steps with bounded, throttle-adaptive parallelism, writing
//! state after every completed step.
//!
//! Promises:
//! - A step starts only after every step in its `after_steps` completed, and its references
//!   are resolved from the state those steps wrote.
//! - At most `ApplyOptions::parallelism` provider calls are in flight; throttling lowers that
//!   limit (AIMD) until calls succeed again.
//! - Retryable errors are retried with exponential backoff and full jitter, with the same
//!   idempotency token every time, so a retried create never makes a second resource.
//! - State is saved after every step that changed it; a crash loses at most the steps in
//!   flight, and their resources carry ownership tags for the next refresh to adopt.
//! - On a failure nothing new starts, calls in flight finish and are recorded, state is saved
//!   and the report says what was done, what failed and what never started.
//! - The executor prints nothing: progress goes to an [`ApplyObserver`].
//!
//! Apply runs the plan, never the configuration: everything it needs is in [`crate::plan::Plan`].

mod concurrency;
mod error;
mod events;
mod executor;
mod options;
mod prepare;
mod record;
mod report;
mod rollout;
mod sink;

#[cfg(test)]
mod tests;

pub use error::{ApplyError, StepError};
pub use events::{ApplyEvent, ApplyObserver, RolloutEnd, SilentObserver};
pub use executor::execute;
pub use options::ApplyOptions;
pub use report::ApplyReport;
pub use rollout::RolloutResult;
pub use sink::StateSink;
