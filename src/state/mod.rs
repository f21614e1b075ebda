//! State: the per-environment state document, its backends (local files, S3), locking,
//! atomic writes, encryption, and the history of versions kept beside it.
//!
//! Promises: a write is atomic (temp file, fsync, rename; a conditional put on S3) and keeps
//! the previous version as a backup; a state that is corrupt, truncated, of a newer format, of
//! another lineage, or replaced since it was read is refused and never overwritten; two runs
//! cannot hold one environment's lock at once; with a key set, what is stored is encrypted.

mod atomic;
mod backend;
mod codec;
mod document;
pub mod encryption;
mod error;
pub mod history;
pub mod intent;
mod journal;
mod local;
mod lock;
pub mod rollout;
#[cfg(feature = "aws")]
mod s3;

pub use atomic::write_atomically;
pub use backend::StateBackend;
pub use codec::{decode, encode};
pub use document::{
    FORMAT_VERSION, Failover, HistoryEntry, Migrated, StateDocument, StateOutput, StateResource,
};
pub use encryption::{Encryption, EncryptionError, EncryptionSettings};
pub use error::{StateError, StateOwner};
pub use history::{Changes, History, Outcome, RecordedSource, Version};
pub use intent::Intent;
pub use local::LocalBackend;
pub use lock::{LockInfo, StateLock};
pub use rollout::{
    CanaryTraffic, ListenerForward, RolledBack, RolloutCourse, RolloutPhase, RolloutRecord,
};
#[cfg(feature = "aws")]
pub use s3::{S3Backend, S3Location};

/// How long an S3 lock may go without a heartbeat before it is reported as stale, when the
/// backend block does not say.
#[cfg(feature = "aws")]
pub fn s3_default_stale_after() -> std::time::Duration {
    s3::DEFAULT_STALE_AFTER
}
