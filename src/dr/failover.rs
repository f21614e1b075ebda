//! Failover and failback: what they record in the environment's state, what the data volumes
//! are restored from, and what they report and audit.
//!
//! A failover records in the environment's state that it now runs in its DR region (with the
//! snapshot each data volume is restored from), then applies: every later plan expands the
//! environment into that region and leaves the primary's resources alone (see
//! [`super::placement`]). A failback takes fresh backups of the DR region's data volumes,
//! copies them to the primary, records the primary as active again with its data volumes
//! restored from those copies, and applies: the primary is brought back and the DR region
//! returns to its standby shape. `ops` runs both under the environment's lock, through the
//! same plan and apply as `cairn apply`.
//!
//! DNS names move with the environment: the expansion of the region moved to points each
//! name's primary record at that region's load balancer, so the apply switches it; the report
//! says when each name was switched.
//!
//! Promises: the state is written before the apply, so an interrupted failover or failback is
//! resumed by running it again (or by `cairn apply`); no data volume is deleted before its
//! data was snapshotted and copied where the environment goes; every outcome is audited.

use super::DrError;
use super::audit::{AuditRecord, AuditSink};
use super::backup::{CopyAction, VolumeBackup};
use super::catalog::{self, BackupCopy, Restorable, SkippedCopy};
use super::redeploy::{GroupHealth, RestoredVolume};
use super::target::{Target, primary_region};
use crate::config::Environment;
use crate::graph::Expansion;
use crate::model::{Address, Kind, references_in};
use crate::state::Failover;
use crate::util::errors::error_chain;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Instant;

/// What a failover or failback did and measured.
#[derive(Debug, Clone, Serialize)]
pub struct MoveReport {
    /// `failover` or `failback`.
    pub operation: String,
    pub stack: String,
    pub environment: String,
    /// The region the environment ran in before.
    pub from: String,
    /// The region it runs in now.
    pub region: String,
    pub started_at: DateTime<Utc>,
    /// Wall time from start until every group had its minimum in service.
    pub rto_seconds: f64,
    /// Age of the oldest restored copy when the operation started; `None` when nothing was
    /// restored (no data volumes, or a resumed operation).
    pub rpo_seconds: Option<i64>,
    /// Failback: the fresh backups of the DR region's data volumes.
    pub backups: Vec<VolumeBackup>,
    pub restored: Vec<RestoredVolume>,
    /// Newer copies that could not be restored from (still pending), and why.
    pub skipped: Vec<SkippedCopy>,
    pub groups: Vec<GroupHealth>,
    /// Changes the apply made (creates, updates, deletes).
    pub changes: usize,
    /// The DNS names that now answer from `region`, and when they were switched.
    pub dns: Vec<DnsSwitch>,
    /// Whether this run resumed an operation an earlier run had recorded.
    pub resumed: bool,
    pub audit_log: PathBuf,
}

/// A DNS name a failover or failback points at the region the environment moved to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DnsSwitch {
    /// The full name (`www.example.com`).
    pub name: String,
    /// The region whose load balancer answers for it now.
    pub region: String,
    /// When its record was switched; `None` when it already pointed there (a resumed move).
    pub switched_at: Option<DateTime<Utc>>,
}

/// The records that answer for a DNS name once `expansion` is applied (a primary failover
/// record, or a plain one), with the name and the region of the load balancer each aliases.
pub fn answering_records(expansion: &Expansion) -> Vec<(Address, String, String)> {
    expansion
        .resources
        .values()
        .filter(|resource| resource.kind == Kind::DnsRecord)
        .filter(|resource| {
            resource
                .attributes
                .get("failover")
                .is_none_or(|role| role.is_null() || role == "PRIMARY")
        })
        .filter_map(|resource| {
            let name = resource.attributes.get("name")?.as_str()?.to_string();
            let alias = resource.attributes.get("alias")?.get("dns_name")?;
            let balancer = references_in(alias).into_iter().next()?.address;
            let region = balancer.placement()?.to_string();
            Some((resource.address.clone(), name, region))
        })
        .collect()
}

/// What a failover records: the environment runs in `target` from `started_at` on.
pub fn failover_to(
    environment: &Environment,
    target: &Target,
    started_at: &DateTime<Utc>,
) -> Failover {
    Failover {
        primary: primary_region(environment),
        region: target.region.clone(),
        zones: target.zones.clone(),
        since: catalog::rfc3339(started_at),
    }
}

/// Whether a failover already recorded may be resumed by a failover asked to go `to`.
///
/// # Errors
/// [`DrError::FailedOver`] when `to` names another region than the one failed over to.
pub fn resumable(recorded: &Failover, to: Option<&str>, environment: &str) -> Result<(), DrError> {
    match to {
        Some(to) if to != recorded.region => Err(DrError::FailedOver {
            environment: environment.to_string(),
            region: recorded.region.clone(),
        }),
        _ => Ok(()),
    }
}

/// The newest completed copy of each data volume's block among `copies` (the primary's),
/// where the copies a failback's fresh `backups` just made win over anything else: an older
/// backup taken within the same second would otherwise tie with them.
pub fn newest_for_failback(copies: &[BackupCopy], backups: &[VolumeBackup]) -> Restorable {
    let fresh: BTreeSet<&str> = backups
        .iter()
        .filter_map(|volume| match &volume.copy {
            Some(CopyAction::Created(id) | CopyAction::Existing(id)) => Some(id.as_str()),
            None => None,
        })
        .collect();
    let mut restorable = catalog::restorable(copies);
    let fresh_copies: Vec<BackupCopy> = copies
        .iter()
        .filter(|copy| fresh.contains(copy.id.as_str()) && copy.is_completed())
        .cloned()
        .collect();
    let fresh = catalog::newest_by_block(&fresh_copies);
    restorable
        .skipped
        .retain(|skipped| !fresh.contains_key(skipped.source_address.block_path()));
    restorable.newest.extend(fresh);
    restorable
}

/// One failover or failback in progress: what it moves and what it has done so far.
pub struct Move {
    /// `failover` or `failback`.
    pub operation: &'static str,
    pub stack: String,
    pub environment: String,
    pub from: String,
    pub region: String,
    pub started: Instant,
    pub started_at: DateTime<Utc>,
    pub backups: Vec<VolumeBackup>,
    pub restored: Vec<RestoredVolume>,
    pub skipped: Vec<SkippedCopy>,
    pub resumed: bool,
}

impl Move {
    /// The state history's summary of the move: `failed over from A to B`.
    pub fn summary(&self) -> String {
        let verb = if self.operation == "failover" {
            "failed over"
        } else {
            "failed back"
        };
        format!("{verb} from {} to {}", self.from, self.region)
    }

    /// Audits the outcome of converging (changes applied, groups' health), which took
    /// `rto_seconds` on the cloud's clock, and builds the report.
    ///
    /// # Errors
    /// The failure of converging (audited first); [`DrError::Audit`] when the audit log
    /// cannot be written.
    pub fn finish<E>(
        self,
        audit_log: &dyn AuditSink,
        rto_seconds: f64,
        converged: Result<(usize, Vec<GroupHealth>, Vec<DnsSwitch>), E>,
    ) -> Result<MoveReport, E>
    where
        E: std::error::Error + From<DrError>,
    {
        let rto = rto_seconds;
        let rpo_seconds = self.restored.iter().map(|volume| volume.age_seconds).max();
        let failure = converged.as_ref().err().map(|error| error_chain(error));
        let record = AuditRecord {
            rto_seconds: converged.is_ok().then_some(rto),
            rpo_seconds,
            kept: true,
            ..AuditRecord::new(
                self.started_at,
                format!("dr {}", self.operation),
                (&self.stack, &self.environment),
                self.region.clone(),
                failure.as_deref(),
            )
        };
        audit_log.add(record)?;
        let (changes, groups, dns) = converged?;
        Ok(MoveReport {
            operation: self.operation.to_string(),
            stack: self.stack,
            environment: self.environment,
            from: self.from,
            region: self.region,
            started_at: self.started_at,
            rto_seconds: rto,
            rpo_seconds,
            backups: self.backups,
            restored: self.restored,
            skipped: self.skipped,
            groups,
            changes,
            dns,
            resumed: self.resumed,
            audit_log: audit_log.location(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Address;
    use chrono::TimeZone;

    fn copy(id: &str, hour: u32) -> BackupCopy {
        BackupCopy {
            id: id.to_string(),
            region: "us-east-1".to_string(),
            policy: "daily".to_string(),
            source_address: Address::new("volume.data[us-west-2]"),
            taken_at: Utc.with_ymd_and_hms(2026, 1, 1, hour, 0, 0).unwrap(),
            copy_of: Some("snap-source".to_string()),
            size_gb: Some(10),
            pending: None,
        }
    }

    #[test]
    fn the_copy_a_failback_just_made_wins_over_one_taken_in_the_same_second() {
        // `snap-b` sorts after `snap-a` at the same time, so it would win a plain tie.
        let copies = vec![copy("snap-a", 5), copy("snap-b", 5), copy("snap-old", 1)];
        let backups = vec![VolumeBackup {
            policy: "daily".to_string(),
            address: Address::new("volume.data[us-west-2]"),
            region: "us-west-2".to_string(),
            snapshot: None,
            copy_region: Some("us-east-1".to_string()),
            copy: Some(CopyAction::Existing("snap-a".to_string())),
            pruned: Vec::new(),
            skipped: None,
            pending: None,
        }];
        assert_eq!(
            newest_for_failback(&copies, &[]).newest["volume.data"].id,
            "snap-b"
        );
        assert_eq!(
            newest_for_failback(&copies, &backups).newest["volume.data"].id,
            "snap-a"
        );
    }

    #[test]
    fn a_recorded_failover_resumes_unless_asked_elsewhere() {
        let recorded = Failover {
            region: "us-west-2".to_string(),
            zones: vec!["us-west-2a".to_string()],
            primary: "us-east-1".to_string(),
            since: "2026-01-01T00:00:00Z".to_string(),
        };
        assert!(resumable(&recorded, None, "prod").is_ok());
        assert!(resumable(&recorded, Some("us-west-2"), "prod").is_ok());
        assert!(matches!(
            resumable(&recorded, Some("eu-west-1"), "prod"),
            Err(DrError::FailedOver { region, .. }) if region == "us-west-2"
        ));
    }
}
