//! The interface every state backend offers: load, lock, write, force-unlock, the audit log
//! and the history of versions kept beside the state, and what a migration needs to copy a
//! state whole.
//!
//! Two backends implement it: local files ([`super::LocalBackend`]) and S3 objects
//! (`S3Backend`, with the `aws` feature). The engine holds a backend as
//! `Arc<dyn StateBackend>` and never knows which one it has. The methods are synchronous, as
//! file I/O is: a backend that talks to a network service runs its calls on a runtime of its
//! own, so it can be called from the async executor and from plain CLI code alike.

use super::{HistoryEntry, StateDocument, StateError, StateLock, StateOwner};

/// Where one environment's state lives.
pub trait StateBackend: Send + Sync {
    /// Where the state lives, for messages (`.cairn/state/production.json`,
    /// `s3://bucket/key/production.json`).
    fn location(&self) -> String;

    /// The current state; `None` when none was ever written (a new environment).
    ///
    /// # Errors
    /// A corrupt, truncated, newer-format or undecryptable state is an error, never `None`.
    /// A state marked as migrated away is [`StateError::Migrated`].
    fn load(&self) -> Result<Option<StateDocument>, StateError>;

    /// The current state of `environment` of `stack`, as [`StateBackend::load`]; a document
    /// that records another stack or environment (a file copied over this one, a key that
    /// collides) is refused, so nothing is planned, applied or written against it.
    ///
    /// # Errors
    /// As [`StateBackend::load`], and [`StateError::Foreign`] naming both owners.
    fn load_for(
        &self,
        stack: &str,
        environment: &str,
    ) -> Result<Option<StateDocument>, StateError> {
        let document = self.load()?;
        if let Some(document) = &document
            && (document.stack != stack || document.environment != environment)
        {
            return Err(StateError::Foreign {
                location: self.location(),
                found: Box::new(StateOwner {
                    stack: document.stack.clone(),
                    environment: document.environment.clone(),
                }),
                wanted: Box::new(StateOwner {
                    stack: stack.to_string(),
                    environment: environment.to_string(),
                }),
            });
        }
        Ok(document)
    }

    /// The previous version kept by the last write, as stored (a migration copies it).
    ///
    /// # Errors
    /// As [`StateBackend::load`].
    fn load_backup(&self) -> Result<Option<StateDocument>, StateError>;

    /// Takes the environment's lock for `operation` until the returned guard is dropped.
    ///
    /// # Errors
    /// [`StateError::Locked`] naming the holder when another run holds it,
    /// [`StateError::StaleLock`] when that holder stopped refreshing it.
    fn lock(&self, operation: &str) -> Result<StateLock, StateError>;

    /// Writes `document` as the next version: sets `document.serial` to one more than before,
    /// appends a history entry for `operation` with `summary`, and stores it as
    /// [`StateBackend::persist`] does. The caller holds the lock.
    ///
    /// # Errors
    /// As [`StateBackend::persist`]; `document` is then unchanged.
    fn write(
        &self,
        document: &mut StateDocument,
        operation: &str,
        summary: &str,
    ) -> Result<(), StateError> {
        let mut next = document.clone();
        next.serial = document.serial + 1;
        next.history.push(HistoryEntry {
            serial: next.serial,
            time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            operation: operation.to_string(),
            summary: summary.to_string(),
        });
        self.persist(&next)?;
        *document = next;
        Ok(())
    }

    /// Writes `document` exactly as given (its serial already set by the caller, as the apply
    /// executor does), atomically, keeping the previous version as a backup.
    ///
    /// # Errors
    /// Refuses, leaving the stored state untouched, when it is corrupt, of a newer format, of
    /// another lineage, when `document.serial` is not larger than the stored serial, or (on a
    /// shared backend) when the stored state was replaced since this backend read it
    /// ([`StateError::StateChanged`]).
    fn persist(&self, document: &StateDocument) -> Result<(), StateError>;

    /// Saves `document` as [`StateBackend::persist`] does, knowing that of its resources only
    /// the entries at `changed` differ from the version this backend saved last in this run
    /// (any other field may differ): a backend that keeps a journal appends just those and
    /// the other fields that changed (see `journal`), the others write the whole document.
    ///
    /// # Errors
    /// As [`StateBackend::persist`].
    fn persist_changes(
        &self,
        document: &StateDocument,
        changed: &std::collections::BTreeSet<crate::model::Address>,
    ) -> Result<(), StateError> {
        let _ = changed;
        self.persist(document)
    }

    /// Stores `state` (and `backup`) exactly as given, as the destination of a migration: only
    /// where there is no state yet, or one marked as migrated away.
    ///
    /// # Errors
    /// [`StateError::DestinationInUse`] when a live state is there; storage errors.
    fn receive(
        &self,
        state: &StateDocument,
        backup: Option<&StateDocument>,
    ) -> Result<(), StateError>;

    /// Removes the lock if its id is `lock_id` (for a run that died holding it).
    ///
    /// # Errors
    /// [`StateError::LockIdMismatch`] when another lock is held, [`StateError::NotLocked`]
    /// when there is none.
    fn force_unlock(&self, lock_id: &str) -> Result<(), StateError>;

    /// Where the stack's audit log lives, beside its states.
    fn audit_location(&self) -> String;

    /// Appends one line (a JSON record, without its newline) to the stack's audit log.
    ///
    /// # Errors
    /// Storage errors, naming the log.
    fn append_audit(&self, line: &str) -> Result<(), StateError>;

    /// The audit log's lines, oldest first; none when there is no log yet.
    ///
    /// # Errors
    /// Storage errors, naming the log.
    fn read_audit(&self) -> Result<Vec<String>, StateError>;

    /// Where the stack's history lives, beside its states (`.cairn/history`,
    /// `s3://bucket/key/history`); `name` of [`StateBackend::read_history`] is relative to it.
    fn history_location(&self) -> String;

    /// The history object `name` (`staging.json`, `objects/<digest>`), opened when it is
    /// sealed; `None` when there is none. See [`super::history`] for what the objects hold.
    ///
    /// # Errors
    /// Storage errors, or [`StateError::Encryption`] when a sealed object cannot be opened.
    fn read_history(&self, name: &str) -> Result<Option<Vec<u8>>, StateError>;

    /// Stores `bytes` as the history object `name`, sealed when the state is encrypted, in one
    /// atomic step: a crash leaves the previous object or the new one, never a torn one.
    ///
    /// # Errors
    /// Storage errors, naming the object.
    fn write_history(&self, name: &str, bytes: Vec<u8>) -> Result<(), StateError>;
}

/// Refuses a document marked as migrated away: it is a record, not the state to work on.
///
/// # Errors
/// [`StateError::Migrated`] naming where it went.
pub(super) fn refuse_migrated(
    document: StateDocument,
    location: &str,
) -> Result<StateDocument, StateError> {
    match &document.migrated {
        Some(migrated) => Err(StateError::Migrated {
            path: location.into(),
            to: migrated.to.clone(),
            time: migrated.time.clone(),
        }),
        None => Ok(document),
    }
}

/// Checks that `environment` can name a state file or object: letters, digits, `-`, `_` and
/// `.`, not empty and not starting with `.` (no hidden files, no `..`).
///
/// # Errors
/// [`StateError::InvalidEnvironment`].
pub(super) fn check_environment_name(environment: &str) -> Result<(), StateError> {
    let valid = !environment.is_empty()
        && !environment.starts_with('.')
        && environment
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || "-_.".contains(character));
    if valid {
        Ok(())
    } else {
        Err(StateError::InvalidEnvironment {
            name: environment.to_string(),
        })
    }
}
