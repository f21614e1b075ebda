//! The history of an environment: one [`Version`] per state-changing operation (apply,
//! destroy, rollback, promote, import, state edits, DR operations), with who ran it, what it
//! changed, how it ended, and the stack's source as applied so that it can be applied again
//! exactly.
//!
//! Kept by the state backend beside the states ([`StateBackend::read_history`]), so it lives
//! wherever the state does (local files, S3) and is sealed when the state is:
//! - `<env>.json`: the environment's versions, oldest first;
//! - `objects/<sha256>`: the content of one recorded file, named by its SHA-256, shared by
//!   every version and environment of the stack, so a file that did not change between two
//!   versions is stored once.
//!
//! Promises: the files a version names are stored before the version is; a version is added by
//! rewriting the environment's list whole in one atomic write, so a crash leaves the list as it
//! was or with the new version complete, never a torn one; a list that cannot be read is
//! refused and never written over; a failed operation is recorded like a successful one. What
//! is given to it is stored: callers hand it non-sensitive variable values only.

use super::{StateBackend, StateError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The versions of one environment and the files they recorded, through its state backend.
pub struct History<'a> {
    backend: &'a dyn StateBackend,
    environment: String,
}

/// One recorded operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Version {
    /// 1 for the environment's first version, one more for each after it.
    pub number: u64,
    pub time: DateTime<Utc>,
    /// `user@host` of whoever ran it.
    pub actor: String,
    /// `apply`, `destroy`, `rollback`, `promote`, `import`, `state rm`, `dr drill`, …
    pub operation: String,
    /// What it did, in a few words (`2 to add, 1 to change`, `removed network.main`).
    pub summary: String,
    #[serde(default)]
    pub changes: Changes,
    pub outcome: Outcome,
    /// Why it failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    pub duration_seconds: f64,
    /// The digest of the configuration applied ([`RecordedSource::digest`]); none for an
    /// operation that applied no configuration (a state edit, a saved plan).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_digest: Option<String>,
    /// The digest of the plan applied, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_digest: Option<String>,
    /// The state serial the operation left, when it wrote state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_serial: Option<u64>,
    /// What re-applying this version needs; none when the operation applied no configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<RecordedSource>,
}

/// How an operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Succeeded,
    Failed,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
        })
    }
}

/// How many resources an operation created, updated, replaced and deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changes {
    pub create: usize,
    pub update: usize,
    pub replace: usize,
    pub delete: usize,
}

/// The stack as an operation applied it: its files and the variable values it was given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedSource {
    /// Every file of the stack and of the modules it calls, by its path relative to the stack
    /// directory (`/`-separated; modules outside it start with `..`), as the SHA-256 of its
    /// content (stored as `objects/<digest>`).
    pub files: BTreeMap<String, String>,
    /// The values of the stack's non-sensitive variables.
    pub variables: BTreeMap<String, serde_json::Value>,
    /// The sensitive variables that have no default: never stored, so applying this version
    /// again has to be given them.
    #[serde(default)]
    pub sensitive: Vec<String>,
    /// The variables the stack marks as artifacts (`artifact = true`): what `cairn promote`
    /// carries from one environment to the next.
    #[serde(default)]
    pub artifacts: Vec<String>,
}

impl RecordedSource {
    /// A SHA-256 of the files and variable values: equal for two versions that applied the
    /// same configuration.
    pub fn digest(&self) -> String {
        // Maps are ordered, so the serialization is the same for the same content.
        let bytes = serde_json::to_vec(&(&self.files, &self.variables)).unwrap_or_default();
        digest_of(&bytes)
    }
}

/// `user@host` of whoever runs this process, as history and the audit log name them.
pub fn current_actor() -> String {
    let me = super::LockInfo::for_this_process("");
    format!("{}@{}", me.user, me.host)
}

/// The SHA-256 of `bytes`, as hex: the name a file's content is stored under.
pub fn digest_of(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// An environment's list of versions as stored.
#[derive(Debug, Serialize, Deserialize)]
struct VersionList {
    environment: String,
    versions: Vec<Version>,
}

impl<'a> History<'a> {
    /// The history of `environment`, kept by `backend`.
    pub fn new(backend: &'a dyn StateBackend, environment: &str) -> Self {
        History {
            backend,
            environment: environment.to_string(),
        }
    }

    fn list_name(&self) -> String {
        format!("{}.json", self.environment)
    }

    fn location(&self, name: &str) -> PathBuf {
        PathBuf::from(format!("{}/{name}", self.backend.history_location()))
    }

    /// The environment's versions, oldest first; none before its first operation.
    ///
    /// # Errors
    /// Storage errors, or [`StateError::HistoryDamaged`] when the list does not parse.
    pub fn versions(&self) -> Result<Vec<Version>, StateError> {
        let name = self.list_name();
        let Some(bytes) = self.backend.read_history(&name)? else {
            return Ok(Vec::new());
        };
        let list: VersionList =
            serde_json::from_slice(&bytes).map_err(|error| StateError::HistoryDamaged {
                path: self.location(&name),
                detail: error.to_string(),
            })?;
        Ok(list.versions)
    }

    /// Stores `content` as a recorded file unless a file with the same content is stored
    /// already; returns its digest.
    ///
    /// # Errors
    /// Storage errors.
    pub fn store_file(&self, content: &[u8]) -> Result<String, StateError> {
        let digest = digest_of(content);
        let name = format!("objects/{digest}");
        // Content-addressed: a stored object with this name holds these very bytes.
        if self.backend.read_history(&name)?.is_none() {
            self.backend.write_history(&name, content.to_vec())?;
        }
        Ok(digest)
    }

    /// The content of the recorded file with `digest`.
    ///
    /// # Errors
    /// Storage errors, or [`StateError::HistoryDamaged`] when the object is missing or its
    /// content does not have that digest.
    pub fn read_file(&self, digest: &str) -> Result<Vec<u8>, StateError> {
        let name = format!("objects/{digest}");
        let damaged = |detail: &str| StateError::HistoryDamaged {
            path: self.location(&name),
            detail: detail.to_string(),
        };
        let content = self
            .backend
            .read_history(&name)?
            .ok_or_else(|| damaged("the recorded file is missing"))?;
        if digest_of(&content) != digest {
            return Err(damaged("its content does not match its digest"));
        }
        Ok(content)
    }

    /// Copies the environment's versions and every file they recorded to `target` (a
    /// migration's destination): the files first, then the list, which replaces any list the
    /// destination had (the source's is the live one). Returns how many versions it copied.
    ///
    /// # Errors
    /// Storage errors on either side, or a damaged list or file in the source.
    pub fn copy_to(&self, target: &dyn StateBackend) -> Result<usize, StateError> {
        let versions = self.versions()?;
        if versions.is_empty() {
            return Ok(0);
        }
        let destination = History::new(target, &self.environment);
        let digests: std::collections::BTreeSet<&String> = versions
            .iter()
            .filter_map(|version| version.source.as_ref())
            .flat_map(|source| source.files.values())
            .collect();
        for digest in digests {
            destination.store_file(&self.read_file(digest)?)?;
        }
        let name = self.list_name();
        let list = self
            .backend
            .read_history(&name)?
            .ok_or_else(|| StateError::HistoryDamaged {
                path: self.location(&name),
                detail: "the list disappeared while it was copied".to_string(),
            })?;
        target.write_history(&name, list)?;
        Ok(versions.len())
    }

    /// Adds `version` as the environment's next version (its `number` is set here) and returns
    /// it as recorded. The caller holds the environment's lock.
    ///
    /// # Errors
    /// Storage errors; a list that cannot be read is not written over.
    pub fn record(&self, mut version: Version) -> Result<Version, StateError> {
        let mut versions = self.versions()?;
        version.number = versions.last().map_or(1, |last| last.number + 1);
        versions.push(version.clone());
        let list = VersionList {
            environment: self.environment.clone(),
            versions,
        };
        let mut bytes =
            serde_json::to_vec_pretty(&list).map_err(|source| StateError::Serialize { source })?;
        bytes.push(b'\n');
        self.backend.write_history(&self.list_name(), bytes)?;
        Ok(version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::LocalBackend;

    fn version(operation: &str) -> Version {
        Version {
            number: 0,
            time: Utc::now(),
            actor: "ada@host".to_string(),
            operation: operation.to_string(),
            summary: String::new(),
            changes: Changes::default(),
            outcome: Outcome::Succeeded,
            failure: None,
            duration_seconds: 0.5,
            config_digest: None,
            plan_digest: None,
            state_serial: None,
            source: None,
        }
    }

    #[test]
    fn versions_are_numbered_in_order_and_kept() -> Result<(), Box<dyn std::error::Error>> {
        let directory = tempfile::tempdir()?;
        let backend = LocalBackend::new(directory.path(), "staging")?;
        let history = History::new(&backend, "staging");
        assert!(history.versions()?.is_empty());
        assert_eq!(history.record(version("apply"))?.number, 1);
        let mut failed = version("destroy");
        failed.outcome = Outcome::Failed;
        assert_eq!(history.record(failed)?.number, 2);
        let operations: Vec<(u64, String, Outcome)> = history
            .versions()?
            .into_iter()
            .map(|version| (version.number, version.operation, version.outcome))
            .collect();
        assert_eq!(
            operations,
            vec![
                (1, "apply".to_string(), Outcome::Succeeded),
                (2, "destroy".to_string(), Outcome::Failed)
            ]
        );
        Ok(())
    }

    #[test]
    fn a_damaged_list_is_refused_and_not_written_over() -> Result<(), Box<dyn std::error::Error>> {
        let directory = tempfile::tempdir()?;
        let backend = LocalBackend::new(directory.path(), "staging")?;
        let history = History::new(&backend, "staging");
        history.record(version("apply"))?;
        let path = backend.history_path().join("staging.json");
        let torn = std::fs::read(&path)?[..20].to_vec();
        std::fs::write(&path, &torn)?;
        assert!(matches!(
            history.record(version("apply")),
            Err(StateError::HistoryDamaged { .. })
        ));
        assert_eq!(std::fs::read(&path)?, torn);
        Ok(())
    }

    #[test]
    fn a_file_is_stored_once_and_read_back_checked() -> Result<(), Box<dyn std::error::Error>> {
        let directory = tempfile::tempdir()?;
        let backend = LocalBackend::new(directory.path(), "staging")?;
        let history = History::new(&backend, "staging");
        let first = history.store_file(b"network \"main\" {}\n")?;
        let second = history.store_file(b"network \"main\" {}\n")?;
        assert_eq!(first, second);
        let objects = std::fs::read_dir(backend.history_path().join("objects"))?.count();
        assert_eq!(objects, 1);
        assert_eq!(history.read_file(&first)?, b"network \"main\" {}\n");
        std::fs::write(
            backend.history_path().join("objects").join(&first),
            b"changed",
        )?;
        assert!(matches!(
            history.read_file(&first),
            Err(StateError::HistoryDamaged { .. })
        ));
        Ok(())
    }
}
