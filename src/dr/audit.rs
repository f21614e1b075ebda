//! The audit log: one JSON line per DR operation (backup runs, drills, failovers, failbacks),
//! appended to
//! `<stack>/.cairn/audit.jsonl`, so a team can show when it last proved its recovery works.
//!
//! Promise: records only what was done and measured; no attribute values, so no secrets.

use super::DrError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The audit log's file name, in the stack's `.cairn` directory.
pub const AUDIT_FILE: &str = "audit.jsonl";

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
}

/// `<stack_dir>/.cairn/audit.jsonl`.
pub fn audit_path(stack_dir: &Path) -> PathBuf {
    stack_dir.join(".cairn").join(AUDIT_FILE)
}

/// Appends `record` (an [`AuditRecord`], or another operation's record with the same
/// fields and more) as one line to the audit log of the stack in `stack_dir`.
///
/// # Errors
/// [`DrError::Audit`] when the file cannot be created or written.
pub fn append_audit(stack_dir: &Path, record: &impl Serialize) -> Result<(), DrError> {
    let path = audit_path(stack_dir);
    let failure = |source| DrError::Audit {
        path: path.display().to_string(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(failure)?;
    }
    let mut line = serde_json::to_string(record).map_err(|error| failure(error.into()))?;
    line.push('\n');
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(failure)?;
    file.write_all(line.as_bytes()).map_err(failure)
}

/// Every record of the stack's audit log, oldest first; none when there is no log yet. A line
/// that does not parse (a crash mid-append) is skipped.
///
/// # Errors
/// [`DrError::Audit`] when the log exists but cannot be read.
pub fn read_audit(stack_dir: &Path) -> Result<Vec<AuditRecord>, DrError> {
    let path = audit_path(stack_dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(DrError::Audit {
                path: path.display().to_string(),
                source,
            });
        }
    };
    Ok(text
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_appended_one_per_line() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
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
        };
        append_audit(dir.path(), &record)?;
        append_audit(dir.path(), &record)?;
        let text = std::fs::read_to_string(audit_path(dir.path()))?;
        let lines: Vec<AuditRecord> = text
            .lines()
            .map(serde_json::from_str)
            .collect::<Result<_, _>>()?;
        assert_eq!(lines, vec![record.clone(), record.clone()]);
        // A torn last line (a crash mid-append) is skipped by the reader.
        std::fs::write(audit_path(dir.path()), format!("{text}{{\"time\":"))?;
        assert_eq!(read_audit(dir.path())?, vec![record.clone(), record]);
        Ok(())
    }

    #[test]
    fn no_log_reads_as_empty() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        assert!(read_audit(dir.path())?.is_empty());
        Ok(())
    }
}
