//! Apply: executes a saved plan's steps with bounded, throttle-adaptive parallelism, writing
//! state after every completed step.
//!
//! Promises:
//! - Moves (`moved` blocks) run first: tags rewritten in place, state entries renamed, no
//!   object touched otherwise ([`moves`]); then what `removed` blocks forget is released from
//!   its ownership tags and dropped from state ([`forget`]), and what `import` blocks import
//!   is tagged as owned and recorded ([`import`]).
//! - A step starts only after every step in its `after_steps` completed, and its references
//!   are resolved from the state those steps wrote.
//! - At most `ApplyOptions::parallelism` provider calls are in flight; throttling lowers that
//!   limit (AIMD) until calls succeed again.
//! - Retryable errors are retried with exponential backoff and full jitter, with the same
//!   idempotency token every time. A create whose answer never came is only sent again once
//!   its object has been looked for by its ownership tags, through the cloud's consistency
//!   window (see [`ambiguity`]), so a retried create never makes a second resource, whether
//!   the API honours tokens or not.
//! - The intent of every mutating call is in saved state before the call is sent, and leaves
//!   it with the call's result; a run that stops without knowing how a call ended leaves the
//!   intent for the next plan to resolve.
//! - State is saved after every step that changed it; a crash loses at most the steps in
//!   flight, and their resources carry ownership tags for the next refresh to adopt.
//! - On a failure nothing new starts, calls in flight finish and are recorded, state is saved
//!   and the report says what was done, what failed and what never started.
//! - The executor prints nothing: progress goes to an [`ApplyObserver`].
//!
//! Apply runs the plan, never the configuration: everything it needs is in [`crate::plan::Plan`].

mod ambiguity;
mod concurrency;
mod error;
mod events;
mod executor;
mod forget;
mod import;
mod moves;
mod options;
mod prepare;
mod ready;
mod record;
mod report;
mod rollout;
mod sink;

#[cfg(test)]
mod tests;

pub use error::{ApplyError, StepError};
pub use events::{ApplyEvent, ApplyObserver, RolloutEnd, SilentObserver};
pub use executor::execute;
pub use forget::{ForgetError, Release, release};
pub use import::ImportError;
pub use moves::{MoveError, MoveTag, retag};
pub use options::ApplyOptions;
pub use report::ApplyReport;
pub use rollout::RolloutResult;
pub use sink::StateSink;
