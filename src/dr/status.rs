//! `cairn dr status`: where the environment runs, its last DR operations from the audit log,
//! the backups per region with their ages, and the readiness `cairn dr check` reports.

use super::audit::AuditRecord;
use super::catalog::RegionListing;
use super::readiness::ReadinessReport;
use super::target::primary_region;
use crate::config::Environment;
use crate::state::Failover;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// What `cairn dr status` shows.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub stack: String,
    pub environment: String,
    pub primary: String,
    /// Where the environment runs now.
    pub active_region: String,
    /// RFC 3339 time of the failover, while failed over.
    pub failed_over_since: Option<String>,
    pub dr_region: Option<String>,
    pub dr_mode: Option<String>,
    pub now: DateTime<Utc>,
    pub last_drill: Option<AuditRecord>,
    pub last_failover: Option<AuditRecord>,
    pub last_failback: Option<AuditRecord>,
    pub last_backup: Option<AuditRecord>,
    /// The backup snapshots per region (empty without backup policies).
    pub backups: Vec<RegionListing>,
    /// What `cairn dr check` finds, with a DR region and while not failed over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness: Option<ReadinessReport>,
    /// Why readiness could not be checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness_error: Option<String>,
}

/// The status of `environment` (as configured) of `stack`: failed over as `failover` says,
/// with its last operations found in `audit` and its `backups` as listed at `now`.
pub fn status(
    stack: &str,
    environment: &Environment,
    failover: Option<&Failover>,
    audit: &[AuditRecord],
    backups: Vec<RegionListing>,
    now: DateTime<Utc>,
) -> StatusReport {
    let last = |operation: &str| {
        audit
            .iter()
            .rev()
            .find(|record| record.operation == operation && record.environment == environment.name)
            .cloned()
    };
    let primary = primary_region(environment);
    StatusReport {
        stack: stack.to_string(),
        environment: environment.name.clone(),
        active_region: failover.map_or_else(|| primary.clone(), |failover| failover.region.clone()),
        primary,
        failed_over_since: failover.map(|failover| failover.since.clone()),
        dr_region: environment.dr.as_ref().map(|dr| dr.region.clone()),
        dr_mode: environment
            .dr
            .as_ref()
            .map(|dr| dr.mode.as_str().to_string()),
        now,
        last_drill: last("dr drill"),
        last_failover: last("dr failover"),
        last_failback: last("dr failback"),
        last_backup: last("backup run"),
        backups,
        readiness: None,
        readiness_error: None,
    }
}
