//! Why a step failed, and why a whole apply stopped.

use crate::provider::ProviderError;

/// Why one step failed. The report carries its text.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The provider refused the call, or kept failing with retryable errors.
    #[error("{source}{}{}", gave_up_note(*attempts), unknown_outcome_note(source))]
    Provider {
        #[source]
        source: ProviderError,
        /// How many calls were made in total.
        attempts: u32,
    },
    /// A reference in the step's attributes has no value in state when the step runs: the
    /// plan ordered the step before the resource it refers to.
    #[error(
        "internal error: attribute `{attribute}` refers to `{reference}`, which has no value in state when this step runs"
    )]
    UnresolvedReference {
        attribute: String,
        reference: String,
    },
    /// The step lacks a field its operation needs (attributes for a create, an id for a
    /// delete).
    #[error("internal error: {operation} step has no {field}")]
    Incomplete {
        operation: &'static str,
        field: &'static str,
    },
    /// The task running the call panicked.
    #[error("internal error: the provider call panicked")]
    Panicked,
    /// The call was abandoned because state could not be saved; it may or may not have
    /// happened in the cloud (ownership tags let the next refresh adopt a created resource).
    #[error("outcome unknown: apply stopped because state could not be saved")]
    Abandoned,
}

/// What to do about a step that gave up without knowing whether its call took effect.
fn unknown_outcome_note(source: &ProviderError) -> &'static str {
    if matches!(source, ProviderError::Ambiguous { .. }) {
        "; apply again: the next run looks for what the call may have done before sending it again"
    } else {
        ""
    }
}

fn gave_up_note(attempts: u32) -> String {
    if attempts > 1 {
        format!(" (gave up after {attempts} attempts)")
    } else {
        String::new()
    }
}

/// Why an apply stopped as a whole, before or apart from any single step.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// Saving state failed; nothing more was scheduled.
    #[error("could not save state (serial {serial}): {source}")]
    Persist {
        serial: u64,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The plan's steps are inconsistent (a step waits on one that does not exist, or steps
    /// wait on each other); nothing was run.
    #[error("internal error: the plan's steps are inconsistent: {reason}")]
    InvalidPlan { reason: String },
    /// A move's tag rewrite failed; no step was run.
    #[error(transparent)]
    Move(Box<super::moves::MoveError>),
    /// Releasing an object a `removed` block forgets failed; no step was run.
    #[error(transparent)]
    Forget(Box<super::forget::ForgetError>),
    /// Tagging an object an `import` block imports failed; no step was run.
    #[error(transparent)]
    Import(Box<super::import::ImportError>),
}
