//! The local file backend: `<root>/state/<env>.json`, its backup `<env>.json.backup`, its
//! lock `<env>.lock`, the stack's audit log `<root>/audit.jsonl` and its history under
//! `<root>/history/`, where `<root>` is the stack's `.cairn` directory by default. With a key
//! set, state, backup and history are sealed.
//!
//! Promises: writes are atomic and keep the previous version as the backup; a state that is
//! corrupt, truncated, of a newer format, of another lineage or newer than the document being
//! written is refused and left byte for byte as it was; the lock file is created exclusively.
//!
//! An apply saves state after every batch of steps, so a save is kept cheap: after the run's
//! first whole write, a save appends only what the batch changed to the fsynced journal
//! `<env>.json.journal` (see [`journal`]), which the end of the run folds back into a whole
//! write and a load replays; the file this backend wrote last is not read back to check it
//! when it is still the file at the path (see [`HeldFile`]); and the previous version becomes
//! the backup by a hard link instead of a copy.

use super::atomic::{write_atomically, write_atomically_and_open};
use super::backend::{check_environment_name, refuse_migrated};
use super::codec::{decode, encode};
use super::journal;
use super::lock::describe_age;
use super::{Encryption, LockInfo, StateBackend, StateDocument, StateError, StateLock};
use crate::util::file_identity::HeldFile;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// State kept in files next to the stack.
#[derive(Debug, Clone)]
pub struct LocalBackend {
    root: PathBuf,
    directory: PathBuf,
    environment: String,
    encryption: Encryption,
    /// The state file as this backend (or a clone, writing the same file) last wrote it.
    written: Arc<Mutex<Option<Written>>>,
}

/// A state file this backend wrote (every write renames a new file into place), and what the
/// next write checks against it. Where files have no identity nothing is kept, and every
/// write reads the file back.
#[derive(Debug)]
struct Written {
    file: HeldFile,
    lineage: String,
    serial: u64,
    /// The fields other than resources as last saved, against which the next journal line
    /// is written.
    rest: journal::Rest,
}

impl LocalBackend {
    /// The backend for `environment` of the stack in `stack_dir`, under `stack_dir/.cairn`.
    ///
    /// # Errors
    /// [`StateError::InvalidEnvironment`] when the name cannot be a file name.
    pub fn new(stack_dir: impl AsRef<Path>, environment: &str) -> Result<Self, StateError> {
        Self::with_root(stack_dir.as_ref().join(".cairn"), environment)
    }

    /// The backend for `environment` under `root` (the `path` of a `backend "local"` block,
    /// already joined to the stack directory): files go to `root/state/`.
    ///
    /// # Errors
    /// [`StateError::InvalidEnvironment`] when the name cannot be a file name.
    pub fn with_root(root: impl AsRef<Path>, environment: &str) -> Result<Self, StateError> {
        check_environment_name(environment)?;
        Ok(LocalBackend {
            root: root.as_ref().to_path_buf(),
            directory: root.as_ref().join("state"),
            environment: environment.to_string(),
            encryption: Encryption::off(),
            written: Arc::new(Mutex::new(None)),
        })
    }

    /// This backend sealing and opening its files with `encryption`.
    pub fn with_encryption(mut self, encryption: Encryption) -> Self {
        self.encryption = encryption;
        self
    }

    /// `<root>/audit.jsonl`: the stack's audit log.
    pub fn audit_path(&self) -> PathBuf {
        self.root.join("audit.jsonl")
    }

    /// `<root>/history`: the stack's history of versions and the files they recorded.
    pub fn history_path(&self) -> PathBuf {
        self.root.join("history")
    }

    /// `<env>.json`.
    pub fn state_path(&self) -> PathBuf {
        self.directory.join(format!("{}.json", self.environment))
    }

    /// `<env>.json.backup`: the version before the last write.
    pub fn backup_path(&self) -> PathBuf {
        self.directory
            .join(format!("{}.json.backup", self.environment))
    }

    /// `<env>.lock`.
    pub fn lock_path(&self) -> PathBuf {
        self.directory.join(format!("{}.lock", self.environment))
    }

    /// The document stored at `path`, or `None` when there is no file.
    fn read_document(&self, path: &Path) -> Result<Option<StateDocument>, StateError> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(StateError::Io {
                    action: "read",
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        decode(bytes, &self.encryption, path).map(Some)
    }

    /// The stored state, migrated or not, with the journal of a run that has not written it
    /// whole yet replayed over it (see [`journal`]).
    fn read_stored(&self) -> Result<Option<StateDocument>, StateError> {
        let Some(mut document) = self.read_document(&self.state_path())? else {
            return Ok(None);
        };
        let journal = self.journal_path();
        match std::fs::read(&journal) {
            Ok(text) => {
                journal::replay(&mut document, &text, &journal)?;
            }
            Err(error) if error.kind() == ErrorKind::NotFound => {}
            Err(source) => {
                return Err(StateError::Io {
                    action: "read",
                    path: journal,
                    source,
                });
            }
        }
        Ok(Some(document))
    }

    /// `<env>.json.journal`: what the saves of a run changed since it last wrote the state
    /// whole.
    pub fn journal_path(&self) -> PathBuf {
        journal::journal_path(&self.state_path())
    }

    /// Removes the journal, once the state file holds everything in it.
    fn remove_journal(&self) -> Result<(), StateError> {
        let journal = self.journal_path();
        match std::fs::remove_file(&journal) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StateError::Io {
                action: "remove",
                path: journal,
                source,
            }),
        }
    }

    fn written(&self) -> std::sync::MutexGuard<'_, Option<Written>> {
        // Only ever replaced whole, so a panic elsewhere cannot leave it torn.
        self.written
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The lineage and serial of the state file, without reading it, when it is still the
    /// file this backend last wrote.
    fn known_on_disk(&self, path: &Path) -> Option<(String, u64)> {
        let written = self.written();
        let written = written.as_ref()?;
        // Any doubt (the metadata cannot be read) means reading the file.
        (written.file.is_at(path).ok()?).then(|| (written.lineage.clone(), written.serial))
    }

    /// Makes the state file at `path` the backup, replacing the old backup atomically. A hard
    /// link does it without copying (the file was flushed when it was written); where links
    /// are not supported it is copied. The rename is made durable by the directory flush of
    /// the state write that follows.
    fn back_up(&self, path: &Path) -> Result<(), StateError> {
        let backup = self.backup_path();
        let linked = tempfile::Builder::new()
            .prefix(".cairn-")
            .suffix(".tmp")
            .make_in(&self.directory, |temporary| {
                std::fs::hard_link(path, temporary)
            });
        match linked {
            Ok(link) => link
                .persist(&backup)
                .map(drop)
                .map_err(|error| StateError::Io {
                    action: "replace",
                    path: backup,
                    source: error.error,
                }),
            Err(_) => {
                let previous = std::fs::read(path).map_err(|source| StateError::Io {
                    action: "read",
                    path: path.to_path_buf(),
                    source,
                })?;
                write_atomically(&backup, &previous)
            }
        }
    }
}

/// Reads a lock file's holder.
fn read_holder(path: &Path) -> Result<Option<LockInfo>, StateError> {
    match std::fs::read(path) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|error| StateError::LockUnreadable {
                    path: path.to_path_buf(),
                    detail: error.to_string(),
                })
        }
        Err(error) if error.kind() == ErrorKind::NotFound => Ok(None),
        Err(error) => Err(StateError::LockUnreadable {
            path: path.to_path_buf(),
            detail: error.to_string(),
        }),
    }
}

impl StateBackend for LocalBackend {
    fn location(&self) -> String {
        self.state_path().display().to_string()
    }

    fn load(&self) -> Result<Option<StateDocument>, StateError> {
        self.read_stored()?
            .map(|document| refuse_migrated(document, &self.location()))
            .transpose()
    }

    fn load_backup(&self) -> Result<Option<StateDocument>, StateError> {
        self.read_document(&self.backup_path())
    }

    fn lock(&self, operation: &str) -> Result<StateLock, StateError> {
        let path = self.lock_path();
        fs_err::create_dir_all(&self.directory).map_err(|source| StateError::Io {
            action: "create directory",
            path: self.directory.clone(),
            source,
        })?;
        let info = LockInfo::for_this_process(operation);
        let mut file = match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(file) => file,
            Err(error) if error.kind() == ErrorKind::AlreadyExists => {
                if let Some(holder) = read_holder(&path)?
                    && holder.is_stale()
                {
                    // The holder was killed on this very host (a crash, `kill -9`): nothing can
                    // be writing any more, so its lock is taken over instead of making every
                    // crash need a force-unlock. A lock held from another host is never broken.
                    tracing::warn!("breaking the stale lock of dead process {}", holder.pid);
                    let _ = std::fs::remove_file(&path);
                    return self.lock(operation);
                }
                return Err(match read_holder(&path)? {
                    Some(holder) => StateError::Locked {
                        path,
                        age: describe_age(holder.age()),
                        holder: Box::new(holder),
                        environment: self.environment.clone(),
                    },
                    // Released between our attempt and the read: report it rather than retry,
                    // the user simply runs again.
                    None => StateError::LockUnreadable {
                        path,
                        detail: "it disappeared while being read; run again".to_string(),
                    },
                });
            }
            Err(source) => {
                return Err(StateError::Io {
                    action: "create lock file",
                    path,
                    source,
                });
            }
        };
        let written = serde_json::to_vec_pretty(&info)
            .map_err(|source| StateError::Serialize { source })
            .and_then(|bytes| {
                file.write_all(&bytes)
                    .and_then(|()| file.sync_all())
                    .map_err(|source| StateError::Io {
                        action: "write lock file",
                        path: path.clone(),
                        source,
                    })
            });
        if let Err(error) = written {
            // A half-written lock would block every later run; it is ours, so remove it.
            let _ = std::fs::remove_file(&path);
            return Err(error);
        }
        let id = info.id.clone();
        Ok(StateLock::new(info, move || {
            // Only remove the file if it is still ours: after a force-unlock it may belong to
            // another run.
            if let Ok(Some(holder)) = read_holder(&path)
                && holder.id == id
            {
                let _ = std::fs::remove_file(&path);
            }
        }))
    }

    fn persist(&self, document: &StateDocument) -> Result<(), StateError> {
        let path = self.state_path();
        let on_disk = match self.known_on_disk(&path) {
            Some(known) => Some(known),
            None => self
                .read_stored()?
                .map(|stored| (stored.lineage, stored.serial)),
        };
        if let Some((lineage, serial)) = on_disk.as_ref() {
            if *lineage != document.lineage {
                return Err(StateError::LineageMismatch {
                    path,
                    on_disk: lineage.clone(),
                    writing: document.lineage.clone(),
                });
            }
            if *serial >= document.serial {
                return Err(StateError::StaleSerial {
                    path,
                    on_disk: *serial,
                    writing: document.serial,
                });
            }
        }
        let bytes = encode(document, &self.encryption, &path)?;
        // With a journal pending, the file is a version in the middle of a run; the backup
        // made by that run's first write holds the state from before it, and stays.
        if on_disk.is_some() && !self.journal_path().exists() {
            self.back_up(&path)?;
        }
        let rest =
            journal::Rest::of(document).map_err(|source| StateError::Serialize { source })?;
        let file = write_atomically_and_open(&path, &bytes)?;
        // Lines older than the file are skipped on replay, so a stop before this is harmless.
        self.remove_journal()?;
        *self.written() = HeldFile::hold(file).map(|file| Written {
            file,
            lineage: document.lineage.clone(),
            serial: document.serial,
            rest,
        });
        Ok(())
    }

    /// Appends what changed to the journal, fsynced, when this backend wrote the state file
    /// in this run and it is still there; otherwise (the run's first save, which also
    /// compacts the journal a crashed run left, or an encrypted state, whose journal would
    /// have to be sealed line by line) writes the whole document.
    fn persist_changes(
        &self,
        document: &StateDocument,
        changed: &std::collections::BTreeSet<crate::model::Address>,
    ) -> Result<(), StateError> {
        let path = self.state_path();
        let Some((lineage, serial)) = self.known_on_disk(&path) else {
            return self.persist(document);
        };
        if self.encryption.is_on() {
            return self.persist(document);
        }
        if lineage != document.lineage {
            return Err(StateError::LineageMismatch {
                path,
                on_disk: lineage,
                writing: document.lineage.clone(),
            });
        }
        if serial >= document.serial {
            return Err(StateError::StaleSerial {
                path,
                on_disk: serial,
                writing: document.serial,
            });
        }
        let journal = self.journal_path();
        let io = |action: &'static str| {
            let path = journal.clone();
            move |source| StateError::Io {
                action,
                path,
                source,
            }
        };
        // Taken, not copied: it is put back (as `document`'s) once the line is written. Lost
        // on a failure in between, the next line compares with nothing, and holds every
        // field: more than needed, never less.
        let saved = match self.written().as_mut() {
            Some(written) => std::mem::take(&mut written.rest),
            None => return self.persist(document),
        };
        let (entry, rest) = journal::Entry::of(document, changed, &saved)
            .map_err(|source| StateError::Serialize { source })?;
        let mut line =
            serde_json::to_vec(&entry).map_err(|source| StateError::Serialize { source })?;
        line.push(b'\n');
        let created = !journal.exists();
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&journal)
            .map_err(io("open"))?;
        crate::util::append_room::reserve(&file, line.len() as u64);
        file.write_all(&line).map_err(io("append to"))?;
        file.sync_data().map_err(io("flush"))?;
        if created {
            super::atomic::sync_directory(&self.directory)?;
        }
        if let Some(written) = self.written().as_mut() {
            written.serial = document.serial;
            written.rest = rest;
        }
        Ok(())
    }

    fn force_unlock(&self, lock_id: &str) -> Result<(), StateError> {
        let path = self.lock_path();
        match read_holder(&path)? {
            None => Err(StateError::NotLocked { path }),
            Some(holder) if holder.id != lock_id => Err(StateError::LockIdMismatch {
                given: lock_id.to_string(),
                holder: Box::new(holder),
            }),
            Some(_) => std::fs::remove_file(&path).map_err(|source| StateError::Io {
                action: "remove lock file",
                path,
                source,
            }),
        }
    }

    fn receive(
        &self,
        state: &StateDocument,
        backup: Option<&StateDocument>,
    ) -> Result<(), StateError> {
        let path = self.state_path();
        if let Some(existing) = self.read_stored()?
            && existing.migrated.is_none()
        {
            return Err(StateError::DestinationInUse {
                path,
                lineage: existing.lineage,
                serial: existing.serial,
            });
        }
        match backup {
            Some(backup) => {
                let bytes = encode(backup, &self.encryption, &self.backup_path())?;
                write_atomically(&self.backup_path(), &bytes)?;
            }
            None => match std::fs::remove_file(self.backup_path()) {
                Ok(()) => {}
                Err(error) if error.kind() == ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(StateError::Io {
                        action: "remove",
                        path: self.backup_path(),
                        source,
                    });
                }
            },
        }
        let bytes = encode(state, &self.encryption, &path)?;
        write_atomically(&path, &bytes)?;
        // Whatever was known of the file before is stale now.
        *self.written() = None;
        Ok(())
    }

    fn audit_location(&self) -> String {
        self.audit_path().display().to_string()
    }

    fn append_audit(&self, line: &str) -> Result<(), StateError> {
        let path = self.audit_path();
        let failure = |action: &'static str| {
            let path = path.clone();
            move |source| StateError::Io {
                action,
                path,
                source,
            }
        };
        fs_err::create_dir_all(&self.root).map_err(failure("create directory for"))?;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(failure("open"))?;
        file.write_all(format!("{line}\n").as_bytes())
            .map_err(failure("append to"))
    }

    fn read_audit(&self) -> Result<Vec<String>, StateError> {
        let path = self.audit_path();
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(text.lines().map(str::to_string).collect()),
            Err(error) if error.kind() == ErrorKind::NotFound => Ok(Vec::new()),
            Err(source) => Err(StateError::Io {
                action: "read",
                path,
                source,
            }),
        }
    }

    fn history_location(&self) -> String {
        self.history_path().display().to_string()
    }

    fn read_history(&self, name: &str) -> Result<Option<Vec<u8>>, StateError> {
        let path = self.history_path().join(name);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(StateError::Io {
                    action: "read",
                    path,
                    source,
                });
            }
        };
        self.encryption
            .open(bytes)
            .map(Some)
            .map_err(|source| StateError::Encryption { path, source })
    }

    fn write_history(&self, name: &str, bytes: Vec<u8>) -> Result<(), StateError> {
        let path = self.history_path().join(name);
        let sealed = self
            .encryption
            .seal(bytes)
            .map_err(|source| StateError::Encryption {
                path: path.clone(),
                source,
            })?;
        write_atomically(&path, &sealed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::FORMAT_VERSION;

    fn backend() -> (tempfile::TempDir, LocalBackend) {
        let directory = tempfile::tempdir().unwrap();
        let backend = LocalBackend::new(directory.path(), "staging").unwrap();
        (directory, backend)
    }

    fn write_raw(backend: &LocalBackend, bytes: &[u8]) {
        std::fs::create_dir_all(backend.state_path().parent().unwrap()).unwrap();
        std::fs::write(backend.state_path(), bytes).unwrap();
    }

    #[test]
    fn missing_file_is_a_new_state() {
        let (_directory, backend) = backend();
        assert_eq!(backend.load().unwrap(), None);
    }

    #[test]
    fn writes_increment_serial_append_history_and_keep_a_backup() {
        let (directory, backend) = backend();
        let mut document = StateDocument::new("shop", "staging");
        backend.write(&mut document, "apply", "1 added").unwrap();
        assert_eq!(document.serial, 1);
        assert!(!backend.backup_path().exists());
        let first = std::fs::read(backend.state_path()).unwrap();

        backend.write(&mut document, "apply", "1 changed").unwrap();
        assert_eq!(document.serial, 2);
        assert_eq!(std::fs::read(backend.backup_path()).unwrap(), first);
        let loaded = backend.load().unwrap().unwrap();
        assert_eq!(loaded, document);
        let serials: Vec<_> = loaded.history.iter().map(|entry| entry.serial).collect();
        assert_eq!(serials, vec![1, 2]);
        assert_eq!(loaded.history[1].summary, "1 changed");
        assert!(directory.path().join(".cairn/state/staging.json").is_file());
    }

    #[test]
    fn the_backup_is_always_the_version_before_the_last_write() {
        let (_directory, backend) = backend();
        let mut document = StateDocument::new("shop", "staging");
        let mut versions = Vec::new();
        for summary in ["first", "second", "third"] {
            backend.write(&mut document, "apply", summary).unwrap();
            versions.push(std::fs::read(backend.state_path()).unwrap());
        }
        assert_eq!(std::fs::read(backend.backup_path()).unwrap(), versions[1]);
        assert_eq!(std::fs::read(backend.state_path()).unwrap(), versions[2]);
    }

    #[test]
    fn a_state_replaced_by_another_writer_is_read_again_before_writing() {
        let (directory, backend) = backend();
        let mut document = StateDocument::new("shop", "staging");
        backend.write(&mut document, "apply", "x").unwrap();
        // Another process (a run that broke the lock) writes a newer version.
        let other = LocalBackend::new(directory.path(), "staging").unwrap();
        let mut newer = document.clone();
        newer.serial = 7;
        other.persist(&newer).unwrap();
        std::fs::remove_file(backend.backup_path()).unwrap();

        document.serial = 2;
        let before = std::fs::read(backend.state_path()).unwrap();
        let error = backend.persist(&document).unwrap_err();
        assert!(
            matches!(
                error,
                StateError::StaleSerial {
                    on_disk: 7,
                    writing: 2,
                    ..
                }
            ),
            "{error}"
        );
        assert_eq!(std::fs::read(backend.state_path()).unwrap(), before);
    }

    #[test]
    fn a_state_changed_in_place_is_read_again_before_writing() {
        let (_directory, backend) = backend();
        let mut document = StateDocument::new("shop", "staging");
        backend.write(&mut document, "apply", "x").unwrap();
        let mut other = StateDocument::new("shop", "staging");
        other.serial = 1;
        write_raw(&backend, &serde_json::to_vec(&other).unwrap());
        std::fs::remove_file(backend.backup_path()).ok();

        document.serial = 2;
        let before = std::fs::read(backend.state_path()).unwrap();
        let error = backend.persist(&document).unwrap_err();
        assert!(
            matches!(error, StateError::LineageMismatch { .. }),
            "{error}"
        );
        assert_eq!(std::fs::read(backend.state_path()).unwrap(), before);
    }

    /// Asserts that a write is refused with an error `check` accepts and leaves the file as
    /// it was.
    fn assert_refused(
        backend: &LocalBackend,
        document: &mut StateDocument,
        check: impl Fn(&StateError) -> bool,
    ) {
        let before = std::fs::read(backend.state_path()).unwrap();
        let error = backend.write(document, "apply", "x").unwrap_err();
        assert!(check(&error), "unexpected error: {error}");
        assert!(error.to_string().contains("staging.json"), "{error}");
        assert_eq!(std::fs::read(backend.state_path()).unwrap(), before);
        assert!(!backend.backup_path().exists());
    }

    #[test]
    fn corrupt_file_is_refused_and_untouched() {
        let (_directory, backend) = backend();
        write_raw(&backend, b"{ this is not json");
        assert!(matches!(backend.load(), Err(StateError::Corrupt { .. })));
        let mut document = StateDocument::new("shop", "staging");
        assert_refused(&backend, &mut document, |error| {
            matches!(error, StateError::Corrupt { .. })
        });
    }

    #[test]
    fn truncated_file_is_refused_and_untouched() {
        let (_directory, backend) = backend();
        let mut document = StateDocument::new("shop", "staging");
        backend.write(&mut document, "apply", "x").unwrap();
        let full = std::fs::read(backend.state_path()).unwrap();
        std::fs::remove_file(backend.state_path()).unwrap();
        write_raw(&backend, &full[..full.len() / 2]);
        assert!(matches!(backend.load(), Err(StateError::Truncated { .. })));
        assert_refused(&backend, &mut document, |error| {
            matches!(error, StateError::Truncated { .. })
        });

        write_raw(&backend, b"");
        assert_refused(&backend, &mut document, |error| {
            matches!(error, StateError::Truncated { .. })
        });
    }

    #[test]
    fn wrong_shape_is_corrupt() {
        let (_directory, backend) = backend();
        write_raw(&backend, br#"{"format_version": 1, "lineage": 3}"#);
        assert!(matches!(backend.load(), Err(StateError::Corrupt { .. })));
        write_raw(&backend, br#"[1, 2]"#);
        assert!(matches!(backend.load(), Err(StateError::Corrupt { .. })));
    }

    #[test]
    fn newer_format_is_refused_and_untouched() {
        let (_directory, backend) = backend();
        let mut document = StateDocument::new("shop", "staging");
        let mut newer = serde_json::to_value(&document).unwrap();
        newer["format_version"] = serde_json::json!(FORMAT_VERSION + 1);
        newer["something_new"] = serde_json::json!({"shape": "unknown"});
        write_raw(&backend, &serde_json::to_vec(&newer).unwrap());
        let error = backend.load().unwrap_err();
        assert!(
            matches!(error, StateError::NewerFormat { found: 2, .. }),
            "{error}"
        );
        let help = miette::Diagnostic::help(&error).map(|help| help.to_string());
        assert!(help.is_some_and(|help| help.contains("upgrade Cairn")));
        assert_refused(&backend, &mut document, |error| {
            matches!(error, StateError::NewerFormat { .. })
        });
    }

    #[test]
    fn other_lineage_is_refused_and_untouched() {
        let (_directory, backend) = backend();
        let mut stored = StateDocument::new("shop", "staging");
        backend.write(&mut stored, "apply", "x").unwrap();
        std::fs::remove_file(backend.backup_path()).ok();
        let mut other = StateDocument::new("shop", "staging");
        other.serial = 10;
        assert_refused(&backend, &mut other, |error| {
            matches!(error, StateError::LineageMismatch { .. })
        });
    }

    /// Issue 16: a state copied over another environment's was planned against.
    #[test]
    fn a_state_of_another_stack_or_environment_is_refused_on_load_naming_both() {
        let (_directory, backend) = backend();
        let mut stored = StateDocument::new("shop", "production");
        backend.persist(&stored).unwrap();
        let error = backend.load_for("shop", "staging").unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "state `{}` belongs to environment `production` of stack `shop`, not to environment `staging` of stack `shop`; refusing to use it",
                backend.state_path().display()
            )
        );
        stored.stack = "other".to_string();
        stored.environment = "staging".to_string();
        stored.serial = 1;
        backend.persist(&stored).unwrap();
        let error = backend.load_for("shop", "staging").unwrap_err();
        assert!(
            matches!(&error, StateError::Foreign { found, .. } if found.stack == "other"),
            "{error}"
        );
        stored.stack = "shop".to_string();
        stored.serial = 2;
        backend.persist(&stored).unwrap();
        assert_eq!(backend.load_for("shop", "staging").unwrap(), Some(stored));
    }

    #[test]
    fn serial_that_does_not_increase_is_refused() {
        let (_directory, backend) = backend();
        let mut first = StateDocument::new("shop", "staging");
        let mut stale = first.clone();
        backend.write(&mut first, "apply", "x").unwrap();
        backend.write(&mut first, "apply", "y").unwrap();
        std::fs::remove_file(backend.backup_path()).unwrap();
        stale.serial = 1;
        assert_refused(&backend, &mut stale, |error| {
            matches!(
                error,
                StateError::StaleSerial {
                    on_disk: 2,
                    writing: 2,
                    ..
                }
            )
        });
    }

    #[test]
    fn persist_writes_the_serial_given_and_refuses_one_that_does_not_increase() {
        let (_directory, backend) = backend();
        let mut document = StateDocument::new("shop", "staging");
        document.serial = 5;
        backend.persist(&document).unwrap();
        assert_eq!(backend.load().unwrap().unwrap().serial, 5);
        assert_refused_persist(&backend, &document);
        document.serial = 6;
        backend.persist(&document).unwrap();
        assert_eq!(backend.load().unwrap().unwrap().serial, 6);
    }

    fn assert_refused_persist(backend: &LocalBackend, document: &StateDocument) {
        let before = std::fs::read(backend.state_path()).unwrap();
        let error = backend.persist(document).unwrap_err();
        assert!(
            matches!(
                error,
                StateError::StaleSerial {
                    on_disk: 5,
                    writing: 5,
                    ..
                }
            ),
            "{error}"
        );
        assert_eq!(std::fs::read(backend.state_path()).unwrap(), before);
    }

    #[test]
    fn second_lock_is_refused_naming_the_holder_until_released() {
        let (_directory, backend) = backend();
        let lock = backend.lock("apply").unwrap();
        let error = backend.lock("plan").unwrap_err();
        let message = error.to_string();
        let info = lock.info();
        assert!(
            message.contains(&format!(
                "state is locked by {}@{} (pid {}) for apply since {}",
                info.user, info.host, info.pid, info.time
            )),
            "{message}"
        );
        let help = miette::Diagnostic::help(&error).map(|help| help.to_string());
        assert_eq!(
            help,
            Some(format!(
                "wait for that run to finish; if it died, remove its lock with: cairn force-unlock -e staging {}",
                info.id
            ))
        );
        drop(lock);
        assert!(!backend.lock_path().exists());
        let again = backend.lock("plan").unwrap();
        assert_eq!(again.info().operation, "plan");
    }

    #[test]
    fn force_unlock_needs_the_holders_id() {
        let (_directory, backend) = backend();
        let lock = backend.lock("apply").unwrap();
        let id = lock.info().id.clone();
        // The holder died: its guard is never dropped.
        std::mem::forget(lock);

        let error = backend.force_unlock("not-the-id").unwrap_err();
        assert!(
            matches!(error, StateError::LockIdMismatch { .. }),
            "{error}"
        );
        assert!(backend.lock_path().exists());

        backend.force_unlock(&id).unwrap();
        assert!(!backend.lock_path().exists());
        assert!(matches!(
            backend.force_unlock(&id),
            Err(StateError::NotLocked { .. })
        ));
    }

    #[test]
    fn releasing_a_force_unlocked_lock_keeps_the_new_holders_lock() {
        let (_directory, backend) = backend();
        let old = backend.lock("apply").unwrap();
        backend.force_unlock(&old.info().id.clone()).unwrap();
        let new = backend.lock("apply").unwrap();
        drop(old);
        assert_eq!(
            read_holder(&backend.lock_path())
                .unwrap()
                .map(|holder| holder.id),
            Some(new.info().id.clone())
        );
    }

    #[test]
    fn unreadable_lock_file_still_blocks() {
        let (_directory, backend) = backend();
        std::fs::create_dir_all(backend.lock_path().parent().unwrap()).unwrap();
        std::fs::write(backend.lock_path(), b"").unwrap();
        let error = backend.lock("apply").unwrap_err();
        assert!(
            matches!(error, StateError::LockUnreadable { .. }),
            "{error}"
        );
    }

    #[test]
    fn environment_names_cannot_escape_the_directory() {
        for name in ["", "../prod", "a/b", ".hidden"] {
            assert!(LocalBackend::new("/tmp", name).is_err(), "{name}");
        }
        assert!(LocalBackend::new("/tmp", "prod-eu_1").is_ok());
    }

    fn encrypted(backend: LocalBackend, passphrase: &str) -> LocalBackend {
        let settings = crate::state::EncryptionSettings {
            required: true,
            ..crate::state::EncryptionSettings::default()
        };
        let encryption =
            Encryption::with_passphrases(settings, Some(passphrase.to_string()), None).unwrap();
        backend.with_encryption(encryption)
    }

    #[test]
    fn an_encrypted_state_and_its_backup_hide_their_content_and_read_back() {
        let (directory, backend) = backend();
        let backend = encrypted(backend, "correct horse");
        let mut document = StateDocument::new("shop", "needle-stack");
        backend.write(&mut document, "apply", "first").unwrap();
        backend.write(&mut document, "apply", "second").unwrap();
        for path in [backend.state_path(), backend.backup_path()] {
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(!text.contains("needle-stack"), "{text}");
            assert!(text.contains("cairn_encrypted"), "{text}");
        }
        assert_eq!(backend.load().unwrap().unwrap(), document);
        assert_eq!(backend.load_backup().unwrap().unwrap().serial, 1);

        let wrong = encrypted(
            LocalBackend::new(directory.path(), "staging").unwrap(),
            "battery staple",
        );
        let before = std::fs::read(backend.state_path()).unwrap();
        assert!(matches!(wrong.load(), Err(StateError::Encryption { .. })));
        let mut next = document.clone();
        assert!(matches!(
            wrong.write(&mut next, "apply", "x"),
            Err(StateError::Encryption { .. })
        ));
        assert_eq!(std::fs::read(backend.state_path()).unwrap(), before);
    }

    #[test]
    fn a_plain_state_is_read_with_a_key_and_sealed_by_the_next_write() {
        let (directory, plain) = backend();
        let mut document = StateDocument::new("shop", "staging");
        plain.write(&mut document, "apply", "plain").unwrap();
        let sealed = encrypted(
            LocalBackend::new(directory.path(), "staging").unwrap(),
            "key",
        );
        let mut loaded = sealed.load().unwrap().unwrap();
        sealed.write(&mut loaded, "apply", "sealed").unwrap();
        let text = std::fs::read_to_string(sealed.state_path()).unwrap();
        assert!(text.contains("cairn_encrypted"), "{text}");
    }

    #[test]
    fn a_migrated_state_is_refused_naming_where_it_went_and_can_be_received_again() {
        let (_directory, backend) = backend();
        let mut document = StateDocument::new("shop", "staging");
        backend.write(&mut document, "apply", "x").unwrap();
        let live = document.clone();
        assert!(matches!(
            backend.receive(&live, None),
            Err(StateError::DestinationInUse { serial: 1, .. })
        ));

        document.migrated = Some(crate::state::Migrated {
            to: "s3://bucket/shop/staging.json".to_string(),
            time: "2026-11-30T06:00:00Z".to_string(),
        });
        backend
            .write(&mut document, "state migrate", "moved")
            .unwrap();
        let error = backend.load().unwrap_err();
        assert!(
            error
                .to_string()
                .contains("was migrated to `s3://bucket/shop/staging.json`"),
            "{error}"
        );
        // A migration back replaces the marked copy with the state exactly as given.
        backend.receive(&live, None).unwrap();
        assert_eq!(backend.load().unwrap(), Some(live));
        assert!(!backend.backup_path().exists());
    }

    #[test]
    fn the_audit_log_is_kept_beside_the_state_directory() {
        let (directory, backend) = backend();
        backend.append_audit("{\"a\": 1}").unwrap();
        backend.append_audit("{\"b\": 2}").unwrap();
        assert_eq!(
            backend.read_audit().unwrap(),
            vec!["{\"a\": 1}".to_string(), "{\"b\": 2}".to_string()]
        );
        assert!(directory.path().join(".cairn/audit.jsonl").is_file());
    }
}
