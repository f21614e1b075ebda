//! Progress events, so that the CLI can draw progress (indicatif) while the executor itself
//! prints nothing.

use crate::model::rollout::RolloutStrategy;
use crate::model::{Address, Value};
use crate::plan::Operation;
use std::time::Duration;

/// Something that happened during an apply, in the order it happened.
#[derive(Debug, Clone, PartialEq)]
pub enum ApplyEvent {
    /// A step was scheduled: its dependencies are done and it has a concurrency slot.
    StepStarted {
        index: usize,
        address: Address,
        operation: Operation,
    },
    /// A call failed with a retryable error; it is attempted again after `delay`.
    StepRetrying {
        index: usize,
        address: Address,
        operation: Operation,
        /// The attempt that failed, counting from 1.
        attempt: u32,
        delay: Duration,
        error: String,
    },
    /// A step finished and its result is in state.
    StepCompleted {
        index: usize,
        address: Address,
        operation: Operation,
        /// False when nothing needed calling: an update whose resolved attributes already
        /// matched, or a delete of something already gone.
        called_provider: bool,
        /// Time from start to completion, retries included.
        elapsed: Duration,
    },
    /// A step failed; nothing new is scheduled after this.
    StepFailed {
        index: usize,
        address: Address,
        operation: Operation,
        error: String,
    },
    /// The provider throttled (limit lowered) or calls succeeded long enough (limit raised).
    ConcurrencyChanged { limit: usize },
    /// State was saved with this serial.
    StatePersisted { serial: u64 },
    /// A rollout starts (or resumes) replacing a group's instances.
    RolloutStarted {
        address: Address,
        strategy: RolloutStrategy,
        from_version: Value,
        to_version: Value,
        /// New-version instances after each step.
        targets: Vec<u32>,
        resumed: bool,
    },
    /// A rollout step completed: `target` of `capacity` instances run the version it brings.
    RolloutStep {
        address: Address,
        /// Counting from 1.
        step: usize,
        steps: usize,
        target: u32,
        capacity: u32,
        old_healthy: usize,
        new_healthy: usize,
        elapsed: Duration,
        /// The step of a rollback: `target` instances run the old version again.
        rolling_back: bool,
    },
    /// A gate failed (or an earlier apply was rolling back): the old version comes back.
    RolloutRollingBack { address: Address, reason: String },
    /// A blue-green rollout moved traffic from group `from` to group `to` (`to` back to
    /// `from` when `rolling_back`); `healthy` instances of the serving group are healthy.
    RolloutSwitched {
        address: Address,
        from: String,
        to: String,
        healthy: usize,
        rolling_back: bool,
    },
    /// A weighted canary moved its listeners' weights: the group's target group (the old
    /// instances) takes `old_weight` percent of the traffic, the canary's `new_weight`; or,
    /// `configured`, the listeners have their configured action back (the canary is over).
    RolloutTraffic {
        address: Address,
        old_weight: u32,
        new_weight: u32,
        configured: bool,
    },
    /// A rollout ended.
    RolloutEnded {
        address: Address,
        end: RolloutEnd,
        elapsed: Duration,
    },
}

/// How a rollout ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RolloutEnd {
    /// Every instance runs the new version.
    Completed,
    /// A gate failed and every instance runs the old version again.
    RolledBack { reason: String },
    /// The rollout could not finish either way; its record stays in state and the next apply
    /// resumes it.
    Failed { reason: String },
}

/// Receives [`ApplyEvent`]s. Called from the executor's own task, never concurrently.
pub trait ApplyObserver: Sync {
    fn on_event(&self, event: &ApplyEvent);
}

/// An observer that ignores every event.
#[derive(Debug, Clone, Copy, Default)]
pub struct SilentObserver;

impl ApplyObserver for SilentObserver {
    fn on_event(&self, _event: &ApplyEvent) {}
}
