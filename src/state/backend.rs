//! The interface every state backend offers: load, lock, write, force-unlock.
//!
//! Only the local file backend exists today; an S3 backend (object plus a conditional-put
//! lock) fits the same trait.

use super::{StateDocument, StateError, StateLock, StateOwner};

/// Where one environment's state lives.
pub trait StateBackend: Send + Sync {
    /// Where the state lives, for messages (`.cairn/state/production.json`).
    fn location(&self) -> String;

    /// The current state; `None` when none was ever written (a new environment).
    ///
    /// # Errors
    /// A corrupt, truncated or newer-format state is an error, never `None`.
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

    /// Takes the environment's lock for `operation` until the returned guard is dropped.
    ///
    /// # Errors
    /// [`StateError::Locked`] naming the holder when another run holds it.
    fn lock(&self, operation: &str) -> Result<StateLock, StateError>;

    /// Writes `document` as the next version: sets `document.serial` to one more than before,
    /// appends a history entry for `operation` with `summary`, and replaces the stored state
    /// atomically, keeping the previous version as a backup. The caller holds the lock.
    ///
    /// # Errors
    /// Refuses, leaving the stored state untouched, when it is corrupt, of a newer format, of
    /// another lineage, or newer than `document` (its serial is larger).
    fn write(
        &self,
        document: &mut StateDocument,
        operation: &str,
        summary: &str,
    ) -> Result<(), StateError>;

    /// Writes `document` exactly as given (its serial already set by the caller, as the apply
    /// executor does), atomically, keeping the previous version as a backup.
    ///
    /// # Errors
    /// Refuses, leaving the stored state untouched, when it is corrupt, of a newer format, of
    /// another lineage, or when `document.serial` is not larger than the stored serial.
    fn persist(&self, document: &StateDocument) -> Result<(), StateError>;

    /// Removes the lock if its id is `lock_id` (for a run that died holding it).
    ///
    /// # Errors
    /// [`StateError::LockIdMismatch`] when another lock is held, [`StateError::NotLocked`]
    /// when there is none.
    fn force_unlock(&self, lock_id: &str) -> Result<(), StateError>;
}
