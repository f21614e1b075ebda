//! The stack's audit log: one JSON line per state-changing command (apply, destroy, rollback,
//! promote, import, state edits, backup runs, drills, failovers, failbacks), kept by the state
//! backend beside the states (`.cairn/audit.jsonl` locally, `<key>/audit.jsonl` on S3), so a
//! team can show who changed what and when, and when it last proved its recovery works.
//!
//! Promise: records only what was done and measured (who, what, counts, digests, outcome); no
//! attribute or variable values, so no secrets (and nothing that needs sealing when the state
//! is encrypted).

use super::DrError;
use crate::state::{StateBackend, StateError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// One audited operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub time: DateTime<Utc>,
    /// `backup run`, `dr drill`, `dr failover`, `dr failback`
    pub operation: String,
    pub stack: String,
    pub environment: String,
    pub region: String,
    /// `succeeded` or `failed: <reason>`.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rto_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpo_seconds: Option<i64>,
    /// Whether the drill was left running (`--keep`).
    pub kept: bool,
    /// `user@host` of whoever ran it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub actor: String,
    /// The version of the environment's history the command recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// The SHA-256 of the plan applied, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_digest: Option<String>,
    /// How many resources the plan created, updated, replaced and deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<crate::state::Changes>,
}

impl AuditRecord {
    /// The record of `operation` on `stack`'s `environment` in `region`, begun at `time` by
    /// the current actor, which `failure` says failed (`None`: succeeded); without measures,
    /// version, plan or changes, which an operation that has them sets.
    pub fn new(
        time: DateTime<Utc>,
        operation: impl Into<String>,
        (stack, environment): (&str, &str),
        region: impl Into<String>,
        failure: Option<&str>,
    ) -> AuditRecord {
        AuditRecord {
            time,
            operation: operation.into(),
            stack: stack.to_string(),
            environment: environment.to_string(),
            region: region.into(),
            outcome: match failure {
                None => "succeeded".to_string(),
                Some(reason) => format!("failed: {reason}"),
            },
            rto_seconds: None,
            rpo_seconds: None,
            kept: false,
            actor: crate::state::history::current_actor(),
            version: None,
            plan_digest: None,
            changes: None,
        }
    }
}

/// Where `log` keeps the audit log, for reports.
pub fn audit_path(log: &dyn StateBackend) -> PathBuf {
    PathBuf::from(log.audit_location())
}

/// Appends `record` (an [`AuditRecord`], or another operation's record with the same
/// fields and more) as one line to the audit log `log` keeps.
///
/// # Errors
/// [`DrError::Audit`] when the log cannot be written.
pub fn append_audit(log: &dyn StateBackend, record: &impl Serialize) -> Result<(), DrError> {
    let failure = |source| DrError::Audit {
        path: log.audit_location(),
        source,
    };
    let line = serde_json::to_string(record)
        .map_err(|source| failure(StateError::Serialize { source }))?;
    log.append_audit(&line).map_err(failure)
}

/// Where a DR operation puts its audit line.
pub trait AuditSink: Sync {
    /// Where the lines end up, for reports.
    fn location(&self) -> PathBuf;

    /// Keeps `record`.
    ///
    /// # Errors
    /// [`DrError::Audit`] when it cannot be kept.
    fn add(&self, record: AuditRecord) -> Result<(), DrError>;
}

/// Audit lines held until the operation that made them has recorded its version in the
/// environment's history, so that each line names that version (see `ops::history`).
#[derive(Debug, Default)]
pub struct HeldLines(std::sync::Mutex<Vec<AuditRecord>>);

impl HeldLines {
    /// The lines held so far, oldest first; none are held afterwards.
    pub fn take(&self) -> Vec<AuditRecord> {
        match self.0.lock() {
            Ok(mut held) => std::mem::take(&mut *held),
            // A panic while holding the lock left the list whole: push never panics midway.
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        }
    }
}

/// The audit log `log` keeps, its lines held in `held` until they are appended.
pub struct Deferred<'a> {
    pub log: &'a dyn StateBackend,
    pub held: &'a HeldLines,
}

impl AuditSink for Deferred<'_> {
    fn location(&self) -> PathBuf {
        audit_path(self.log)
    }

    fn add(&self, record: AuditRecord) -> Result<(), DrError> {
        match self.held.0.lock() {
            Ok(mut held) => held.push(record),
            Err(poisoned) => poisoned.into_inner().push(record),
        }
        Ok(())
    }
}

/// Every record of the audit log `log` keeps, oldest first; none when there is no log yet. A
/// line that does not parse (a crash mid-append) is skipped.
///
/// # Errors
/// [`DrError::Audit`] when the log exists but cannot be read.
pub fn read_audit(log: &dyn StateBackend) -> Result<Vec<AuditRecord>, DrError> {
    let lines = log.read_audit().map_err(|source| DrError::Audit {
        path: log.audit_location(),
        source,
    })?;
    Ok(lines
        .iter()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::LocalBackend;

    #[test]
    fn records_are_appended_one_per_line() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let log = LocalBackend::new(dir.path(), "production")?;
        let record = AuditRecord {
            time: Utc::now(),
            operation: "dr drill".to_string(),
            stack: "webapp".to_string(),
            environment: "production".to_string(),
            region: "us-west-2".to_string(),
            outcome: "succeeded".to_string(),
            rto_seconds: Some(1.5),
            rpo_seconds: Some(60),
            kept: false,
            actor: "ada@host".to_string(),
            version: Some(3),
            plan_digest: None,
            changes: None,
        };
        append_audit(&log, &record)?;
        append_audit(&log, &record)?;
        let text = std::fs::read_to_string(audit_path(&log))?;
        let lines: Vec<AuditRecord> = text
            .lines()
            .map(serde_json::from_str)
            .collect::<Result<_, _>>()?;
        assert_eq!(lines, vec![record.clone(), record.clone()]);
        // A torn last line (a crash mid-append) is skipped by the reader.
        std::fs::write(audit_path(&log), format!("{text}{{\"time\":"))?;
        assert_eq!(read_audit(&log)?, vec![record.clone(), record]);
        Ok(())
    }

    #[test]
    fn no_log_reads_as_empty() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let log = LocalBackend::new(dir.path(), "production")?;
        assert!(read_audit(&log)?.is_empty());
        Ok(())
    }
}
