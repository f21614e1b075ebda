//! The DR drill: the whole environment redeployed into its DR region as a separate instance
//! (`<env>-drill`), with data volumes restored from the newest cross-region backup copies and
//! groups sized as the `dr` block says, measured (RTO, RPO), audited, and torn down. Beside a
//! pilot light or warm standby the drill reuses the standby's networks, firewalls and
//! templates and grows only what is missing ([`super::grow`]).
//!
//! This module decides what the drill's instance is made of and what its outcome was; `ops`
//! runs it (one configuration load, the drill's own state under its own lock).
//!
//! Promise: a drill never calls the primary region. The configuration is expanded with a
//! region override (zones mapped by position), the backup copies are listed in the DR region
//! only, and the drill's state (`<env>-drill`) and ownership tags are its own, so neither the
//! primary's state nor its refresh ever sees a drill resource.

use super::DrError;
use super::audit::{AuditRecord, AuditSink};
use super::catalog::{Restorable, SkippedCopy};
use super::grow::Reused;
use super::readiness::RtoPrediction;
use super::redeploy::{GroupHealth, RestoredVolume, restores_for};
use crate::config::Environment;
use crate::graph::Expansion;
use crate::model::{Address, Kind};
use crate::util::errors::error_chain;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;

/// The instance name of a drill: state `<env>-drill`, ownership `cairn:env = <env>-drill`.
pub const DRILL_INSTANCE: &str = "drill";

/// What a drill did and measured.
#[derive(Debug, Clone, Serialize)]
pub struct DrillReport {
    pub stack: String,
    pub environment: String,
    pub region: String,
    pub started_at: DateTime<Utc>,
    /// Time from start until every group had its minimum in service, on the cloud's clock.
    pub rto_seconds: f64,
    /// What the cloud's timing profile predicted for it.
    pub predicted: RtoPrediction,
    /// Age of the oldest of the newest restored copies (the worst data loss); `None` when
    /// nothing was restored.
    pub rpo_seconds: Option<i64>,
    pub restored: Vec<RestoredVolume>,
    /// Newer copies the drill could not restore from (still pending), and why.
    pub skipped: Vec<SkippedCopy>,
    pub groups: Vec<GroupHealth>,
    /// Resources the drill created.
    pub created: usize,
    /// What the drill created, by address: what it grew beside the standby, or the whole
    /// environment without one.
    pub grown: Vec<Address>,
    /// The standby's objects the drill used instead of creating its own (none without a
    /// standby in the drill's region); the teardown leaves them as they were.
    pub reused: Vec<Reused>,
    pub kept: bool,
    /// Resources the teardown destroyed; `None` with `--keep`.
    pub destroyed: Option<usize>,
    /// Drill resources still in the DR region after the teardown (should be none).
    pub leftovers: Vec<String>,
    pub teardown_seconds: Option<f64>,
    pub audit_log: PathBuf,
}

/// What tearing down a kept drill did.
#[derive(Debug, Clone, Serialize)]
pub struct DrillTeardownReport {
    pub stack: String,
    pub environment: String,
    pub region: String,
    /// Resources the teardown destroyed (0 when no drill was kept).
    pub destroyed: usize,
    /// Drill resources still in the drill's regions afterwards (should be none).
    pub leftovers: Vec<String>,
    pub teardown_seconds: f64,
    pub audit_log: PathBuf,
}

/// Makes the drill's expansion (the environment placed as the drill instance in `region`)
/// start each data volume from the newest completed copy of its block in `region`, grown to the copy's
/// size when configured smaller, and sizes each autoscaling group as the `dr` block's
/// `capacity` says when `region` is the DR region. Returns the restored volumes.
///
/// # Errors
/// [`DrError::NoBackup`] when a data volume has no copy in `region`,
/// [`DrError::NoCompletedBackup`] when its copies are all pending.
pub fn prepare(
    expansion: &mut Expansion,
    restorable: &Restorable,
    started_at: DateTime<Utc>,
    environment: &Environment,
    region: &str,
) -> Result<Vec<RestoredVolume>, DrError> {
    let (restores, restored) = restores_for(expansion, restorable, started_at, region)?;
    for (address, snapshot) in restores {
        let Some(volume) = expansion.resources.get_mut(&address) else {
            continue;
        };
        volume
            .attributes
            .insert("snapshot_id".to_string(), json!(snapshot));
        let configured = volume
            .attributes
            .get("size_gb")
            .and_then(|size| size.as_i64());
        let copied = restorable
            .newest
            .get(address.block_path())
            .and_then(|copy| copy.size_gb);
        if let (Some(configured), Some(copied)) = (configured, copied)
            && configured < copied
        {
            volume
                .attributes
                .insert("size_gb".to_string(), json!(copied));
        }
    }
    let dr = environment.dr.as_ref().filter(|dr| dr.region == region);
    let groups = expansion
        .resources
        .values_mut()
        .filter(|resource| resource.kind == Kind::AutoscalingGroup);
    for group in groups {
        let size = |name: &str| group.attributes.get(name).and_then(|value| value.as_u64());
        let Some(scaled) = dr.and_then(|dr| dr.scaled_desired(size("desired").unwrap_or(1))) else {
            continue;
        };
        let min = size("min").unwrap_or(0);
        let max = size("max").unwrap_or(u64::MAX);
        let desired = scaled.clamp(min, max.max(min));
        group
            .attributes
            .insert("desired".to_string(), json!(desired));
    }
    Ok(restored)
}

/// One drill in progress: what it is and what it has measured so far.
pub struct Drill {
    pub stack: String,
    pub environment: String,
    pub region: String,
    pub started: Instant,
    pub started_at: DateTime<Utc>,
    pub restored: Vec<RestoredVolume>,
    pub skipped: Vec<SkippedCopy>,
    pub predicted: RtoPrediction,
    /// The standby's objects the drill uses instead of its own.
    pub reused: Vec<Reused>,
    pub keep: bool,
}

/// How a drill's teardown went: resources destroyed, seconds taken, what was left.
pub type Teardown<E> = (Result<usize, E>, f64, Vec<String>);

impl Drill {
    /// Audits the drill's outcome (failed ones too: the log shows when recovery was last
    /// proven) and builds its report. `teardown` is `None` when the drill was kept.
    ///
    /// # Errors
    /// The first failure of bringing the drill up, waiting for it, or tearing it down; a
    /// teardown that left resources is reported, not an error. [`DrError::Audit`] when the
    /// audit log cannot be written.
    pub fn finish<E>(
        self,
        audit_log: &dyn AuditSink,
        rto_seconds: f64,
        brought_up: Result<Vec<Address>, E>,
        health: Result<Vec<GroupHealth>, E>,
        teardown: Option<Teardown<E>>,
    ) -> Result<DrillReport, E>
    where
        E: std::error::Error + From<DrError>,
    {
        let rpo_seconds = self.restored.iter().map(|volume| volume.age_seconds).max();
        let failure = match (&brought_up, &health) {
            (Err(error), _) | (_, Err(error)) => Some(error_chain(error)),
            (Ok(_), Ok(_)) => match &teardown {
                Some((Err(error), _, _)) => {
                    Some(format!("teardown failed: {}", error_chain(error)))
                }
                Some((Ok(_), _, leftovers)) if !leftovers.is_empty() => {
                    Some(format!("teardown left {} resources", leftovers.len()))
                }
                _ => None,
            },
        };
        let record = AuditRecord {
            rto_seconds: failure.is_none().then_some(rto_seconds),
            rpo_seconds,
            kept: self.keep,
            ..AuditRecord::new(
                self.started_at,
                "dr drill",
                (&self.stack, &self.environment),
                self.region.clone(),
                failure.as_deref(),
            )
        };
        audit_log.add(record)?;

        let grown = brought_up?;
        let groups = health?;
        let (destroyed, teardown_seconds, leftovers) = match teardown {
            Some((destroyed, seconds, leftovers)) => (Some(destroyed?), Some(seconds), leftovers),
            None => (None, None, Vec::new()),
        };
        Ok(DrillReport {
            stack: self.stack,
            environment: self.environment,
            region: self.region,
            started_at: self.started_at,
            rto_seconds,
            predicted: self.predicted,
            rpo_seconds,
            restored: self.restored,
            skipped: self.skipped,
            groups,
            created: grown.len(),
            grown,
            reused: self.reused,
            kept: self.keep,
            destroyed,
            leftovers,
            teardown_seconds,
            audit_log: audit_log.location(),
        })
    }
}

/// Audits the teardown of a kept drill and builds its report.
///
/// # Errors
/// The destroy's failure (audited first); [`DrError::Audit`] when the audit log cannot be
/// written.
pub fn finish_teardown<E>(
    audit_log: &dyn AuditSink,
    drill: Drill,
    destroyed: Result<usize, E>,
    leftovers: Vec<String>,
) -> Result<DrillTeardownReport, E>
where
    E: std::error::Error + From<DrError>,
{
    let failure = match &destroyed {
        Err(error) => Some(error_chain(error)),
        Ok(_) if !leftovers.is_empty() => {
            Some(format!("teardown left {} resources", leftovers.len()))
        }
        Ok(_) => None,
    };
    let record = AuditRecord::new(
        drill.started_at,
        "dr drill teardown",
        (&drill.stack, &drill.environment),
        drill.region.clone(),
        failure.as_deref(),
    );
    audit_log.add(record)?;
    Ok(DrillTeardownReport {
        stack: drill.stack,
        environment: drill.environment,
        region: drill.region,
        destroyed: destroyed?,
        leftovers,
        teardown_seconds: drill.started.elapsed().as_secs_f64(),
        audit_log: audit_log.location(),
    })
}
