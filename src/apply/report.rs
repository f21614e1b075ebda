//! What an apply did and did not do, for the CLI to print and for the next plan to start from.

use super::error::ApplyError;
use crate::model::Address;
use crate::plan::Operation;
use crate::state::StateDocument;
use std::time::Duration;

/// The outcome of [`super::execute`].
#[derive(Debug)]
pub struct ApplyReport {
    /// Steps whose result is in state, in the order they completed.
    pub completed: Vec<(Address, Operation)>,
    /// Steps that failed, in the order they failed, with the reason.
    pub failed: Vec<(Address, Operation, String)>,
    /// Steps never started (a step failed first, or the plan was refresh-only), in plan order.
    pub not_started: Vec<(Address, Operation)>,
    /// The state as the executor left it. Normally this is what was last persisted; after a
    /// [`ApplyError::Persist`] it also holds the change that could not be saved, so the CLI
    /// can write it somewhere for recovery.
    pub state: StateDocument,
    /// Outputs that could not be resolved because what they refer to does not exist yet.
    pub unresolved_outputs: Vec<String>,
    /// Why the apply stopped as a whole (state could not be saved, or the plan was
    /// inconsistent). `None` when only individual steps failed, or nothing did.
    pub fatal: Option<ApplyError>,
    /// Whether a stop was requested (`ApplyOptions::stop`) and steps were left unstarted
    /// because of it.
    pub interrupted: bool,
    /// Provider calls made, retries included.
    pub provider_calls: u64,
    /// How many of those calls were retries.
    pub retries: u64,
    /// The rollouts the apply ran, in the order they ran.
    pub rollouts: Vec<super::rollout::RolloutResult>,
    /// Wall-clock (tokio) time the apply took.
    pub elapsed: Duration,
}

impl ApplyReport {
    /// Whether every step completed and state was saved.
    pub fn succeeded(&self) -> bool {
        self.failed.is_empty() && self.not_started.is_empty() && self.fatal.is_none()
    }
}
