//! The call log: one JSON line per API call made against the simulated cloud, appended to
//! `calls.jsonl` beside the cloud file, so tests can check the order of calls
//! (create-before-destroy) and which regions saw mutating calls.
//!
//! Promise: lines are appended under the cloud's lock, so their sequence numbers are strictly
//! increasing across processes.

use super::error::SimError;
use crate::model::Kind;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The file name of the call log.
pub const LOG_FILE_NAME: &str = "calls.jsonl";

/// One API call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallRecord {
    /// Position of the call in the cloud's history, starting at 1.
    pub sequence: u64,
    pub time: DateTime<Utc>,
    pub region: String,
    /// The AWS operation (`CreateVpc`, `DescribeSubnets`, `DeleteSecurityGroup`, …).
    pub operation: String,
    pub kind: Kind,
    /// The resource the call was about, when there is one (known after a successful create).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Whether the call asked for a change.
    pub mutating: bool,
    pub outcome: CallOutcome,
    /// The API error code, for `outcome = "api_error"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    Ok,
    Throttled,
    /// Failed before any effect.
    Transient,
    /// Took effect, then failed as if the response was lost.
    TransientAfterEffect,
    RegionUnavailable,
    NotFound,
    ApiError,
}

/// The call log of the cloud file at `cloud_file`.
pub fn log_path(cloud_file: &Path) -> PathBuf {
    cloud_file
        .parent()
        .map(|parent| parent.join(LOG_FILE_NAME))
        .unwrap_or_else(|| PathBuf::from(LOG_FILE_NAME))
}

/// Appends `records` to the log at `log`, in order, with one write.
pub(super) fn append(log: &Path, records: &[CallRecord]) -> Result<(), SimError> {
    let io = |source| SimError::Io {
        action: "append to",
        path: log.to_path_buf(),
        source,
    };
    let mut lines = String::new();
    for record in records {
        let line = serde_json::to_string(record).map_err(|source| SimError::CorruptCallLog {
            path: log.to_path_buf(),
            line: 0,
            source,
        })?;
        lines.push_str(&line);
        lines.push('\n');
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(io)?;
    file.write_all(lines.as_bytes()).map_err(io)
}

/// Reads every call recorded for a simulated cloud. `path` is the cloud file (its
/// `calls.jsonl` sibling is read) or the `calls.jsonl` file itself. A missing log is empty.
///
/// # Errors
/// [`SimError::Io`] when the log cannot be read, [`SimError::CorruptCallLog`] for a line that is
/// not a record.
pub fn read_call_log(path: &Path) -> Result<Vec<CallRecord>, SimError> {
    let log = if path.file_name().is_some_and(|name| name == LOG_FILE_NAME) {
        path.to_path_buf()
    } else {
        log_path(path)
    };
    let text = match std::fs::read_to_string(&log) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(SimError::Io {
                action: "read",
                path: log,
                source,
            });
        }
    };
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| {
            serde_json::from_str(line).map_err(|source| SimError::CorruptCallLog {
                path: log.clone(),
                line: index + 1,
                source,
            })
        })
        .collect()
}
