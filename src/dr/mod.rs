//! DR: backup policies (snapshot, cross-region copy, retention, restore test), redeploying an
//! environment into its DR region (drill, failover, failback) with measured RTO and RPO, and
//! the status of all of it.
//!
//! Layering: `dr` sits below `ops`. It decides where an environment runs and what it is made
//! of there ([`placement`]), which region and zones a redeploy goes to ([`target`]), what each
//! data volume is restored from and when a redeploy is healthy ([`redeploy`]), and what each
//! operation reports and audits; it talks to the cloud only through the provider it is given.
//! It never loads the configuration, reads, locks or writes state, or plans and applies:
//! `ops`, the per-verb entry layer, does that for every verb, DR's included, and calls down
//! into `dr`. So `ops → dr → graph/state/provider` has no cycle, and a failover is planned
//! and applied by the same code as `cairn apply`.
//!
//! Promises:
//! - A backup run is idempotent within one `every` window of its policy: running it twice makes
//!   no second snapshot and no second copy; retention never deletes the newest copy.
//! - A drill never changes the primary region: it reads only the DR region, keeps its own state
//!   (`<env>-drill`) and ownership tags, and restores data volumes from copies made earlier.
//!   Beside a pilot light or warm standby it reuses what the standby has as the drill would
//!   build it, never changing it, and grows only the rest ([`grow`]).
//! - A failover never calls the primary region either; the primary's resources stay in state,
//!   untouched, until a failback brings the environment back with the DR region's data.
//! - The zones of a region the configuration does not name come from the environment's own
//!   cloud, never from the simulator's catalogue.
//! - Nothing here prints; the CLI renders the returned reports.

pub mod audit;
pub mod backup;
pub mod catalog;
pub mod drill;
mod error;
pub mod failover;
pub mod grow;
pub mod placement;
pub mod readiness;
pub mod redeploy;
pub mod status;
pub mod target;

pub use audit::{
    AuditRecord, AuditSink, Deferred, HeldLines, append_audit, audit_path, read_audit,
};
pub use backup::{
    BackupListing, BackupRunReport, CopyAction, SnapshotAction, VerifiedCopy, VerifyReport,
    VolumeBackup,
};
pub use catalog::{
    BackupCopy, RegionListing, Restorable, SkippedCopy, TAG_COPY_OF, TAG_POLICY,
    TAG_SOURCE_ADDRESS, TAG_SOURCE_STARTED_AT,
};
pub use drill::{DRILL_INSTANCE, DrillReport, DrillTeardownReport};
pub use error::DrError;
pub use failover::{DnsSwitch, MoveReport};
pub use grow::Reused;
pub use placement::{Deployment, Placement, Redeploy, place};
pub use readiness::{ReadinessReport, RtoPrediction};
pub use redeploy::{GroupHealth, RestoredVolume};
pub use status::StatusReport;
pub use target::Target;
