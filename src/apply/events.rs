//! Progress events, so that the CLI can draw progress (indicatif) while the executor itself
//! prints nothing.

use crate::model::Address;
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
