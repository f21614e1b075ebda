//! State: the per-environment state document, its backends, locking and atomic writes.
//!
//! Promises: a write is atomic (temp file, fsync, rename) and keeps the previous version as a
//! backup; a state that is corrupt, truncated, of a newer format or of another lineage is
//! refused and never overwritten; two runs cannot hold one environment's lock at once.

mod atomic;
mod backend;
mod document;
mod error;
pub mod intent;
mod local;
mod lock;

pub use atomic::write_atomically;
pub use backend::StateBackend;
pub use document::{
    FORMAT_VERSION, Failover, HistoryEntry, StateDocument, StateOutput, StateResource,
};
pub use error::StateError;
pub use intent::Intent;
pub use local::LocalBackend;
pub use lock::{LockInfo, StateLock};
