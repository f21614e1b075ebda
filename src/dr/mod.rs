//! DR: backup policies (snapshot, cross-region copy, retention, restore test), redeploying an
//! environment into its DR region (drill, failover, failback) with measured RTO and RPO, and
//! the status of all of it.
//!
//! Promises:
//! - A backup run is idempotent within one `every` window of its policy: running it twice makes
//!   no second snapshot and no second copy; retention never deletes the newest copy.
//! - A drill never changes the primary region: it reads only the DR region, keeps its own state
//!   (`<env>-drill`) and ownership tags, and restores data volumes from copies made earlier.
//! - A failover never calls the primary region either; the primary's resources stay in state,
//!   untouched, until a failback brings the environment back with the DR region's data.
//! - Nothing here prints; the CLI renders the returned reports.

mod audit;
mod backup;
mod catalog;
mod drill;
mod error;
mod failover;
pub mod placement;
pub mod target;

pub use audit::{AUDIT_FILE, AuditRecord, append_audit, audit_path, read_audit};
pub use backup::{
    BackupListing, BackupRequest, BackupRunReport, CopyAction, SnapshotAction, VerifiedCopy,
    VerifyReport, VolumeBackup, list_backups, run_backups, verify_backups,
};
pub use catalog::{
    BackupCopy, RegionListing, TAG_COPY_OF, TAG_POLICY, TAG_SOURCE_ADDRESS, TAG_TAKEN_AT,
};
pub use drill::{
    DrillReport, DrillRequest, DrillTeardownReport, GroupHealth, RestoredVolume, run_drill,
    tear_down_drill,
};
pub use error::DrError;
pub use failover::{MoveReport, MoveRequest, StatusReport, run_failback, run_failover, status};
