//! DR: backup policies (snapshot, cross-region copy, retention, restore test) and redeploying
//! an environment into its DR region (drill) with measured RTO and RPO.
//!
//! Promises:
//! - A backup run is idempotent within one `every` window of its policy: running it twice makes
//!   no second snapshot and no second copy; retention never deletes the newest copy.
//! - A drill never changes the primary region: it reads only the DR region, keeps its own state
//!   (`<env>-drill`) and ownership tags, and restores data volumes from copies made earlier.
//! - Nothing here prints; the CLI renders the returned reports.

mod audit;
mod backup;
mod catalog;
mod drill;
mod error;

pub use audit::{AUDIT_FILE, AuditRecord, append_audit, audit_path};
pub use backup::{
    BackupListing, BackupRequest, BackupRunReport, CopyAction, SnapshotAction, VerifiedCopy,
    VerifyReport, VolumeBackup, list_backups, run_backups, verify_backups,
};
pub use catalog::{
    BackupCopy, RegionListing, TAG_COPY_OF, TAG_POLICY, TAG_SOURCE_ADDRESS, TAG_TAKEN_AT,
};
pub use drill::{DrillReport, DrillRequest, GroupHealth, RestoredVolume, run_drill};
pub use error::DrError;
