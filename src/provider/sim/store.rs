//! The cloud file: exclusive locking, loading and atomic saving.
//!
//! Promises: every change is load-modify-save under an exclusive lock on a sibling lock file,
//! so separate processes see one cloud; a save is atomic (temp file in the same directory,
//! fsync, rename); a file that does not parse is an error and is never overwritten.

use super::call_log::{self, CallRecord};
use super::cloud::{Cloud, FORMAT};
use super::error::SimError;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where a cloud lives on disk.
#[derive(Debug, Clone)]
pub struct Store {
    path: PathBuf,
}

/// An exclusive hold on the cloud file; released when dropped.
pub struct Locked<'a> {
    store: &'a Store,
    // Held for its lock; the lock is released when the handle closes.
    _lock: File,
}

impl Store {
    pub fn new(path: &Path) -> Store {
        Store {
            path: path.to_path_buf(),
        }
    }

    /// The cloud file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn directory(&self) -> &Path {
        match self.path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        }
    }

    fn lock_path(&self) -> PathBuf {
        let mut name = self
            .path
            .file_name()
            .map(|name| name.to_os_string())
            .unwrap_or_default();
        name.push(".lock");
        self.directory().join(name)
    }

    /// Takes the exclusive lock, waiting for other holders (in any process).
    ///
    /// # Errors
    /// [`SimError::Io`] when the directory or lock file cannot be created or locked.
    pub fn lock(&self) -> Result<Locked<'_>, SimError> {
        let directory = self.directory();
        std::fs::create_dir_all(directory).map_err(|source| SimError::Io {
            action: "create the directory",
            path: directory.to_path_buf(),
            source,
        })?;
        let lock_path = self.lock_path();
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|source| SimError::Io {
                action: "open the lock file",
                path: lock_path.clone(),
                source,
            })?;
        file.lock().map_err(|source| SimError::Io {
            action: "lock",
            path: lock_path,
            source,
        })?;
        Ok(Locked {
            store: self,
            _lock: file,
        })
    }

    /// Reads the cloud without locking (a missing file is an empty cloud).
    ///
    /// # Errors
    /// [`SimError::Io`], [`SimError::Corrupt`] or [`SimError::UnsupportedFormat`].
    pub fn peek(&self) -> Result<Option<Cloud>, SimError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(SimError::Io {
                    action: "read",
                    path: self.path.clone(),
                    source,
                });
            }
        };
        let cloud: Cloud = serde_json::from_str(&text).map_err(|source| SimError::Corrupt {
            path: self.path.clone(),
            source,
        })?;
        if cloud.format > FORMAT {
            return Err(SimError::UnsupportedFormat {
                path: self.path.clone(),
                found: cloud.format,
                supported: FORMAT,
            });
        }
        Ok(Some(cloud))
    }
}

impl Locked<'_> {
    /// Loads the cloud (a missing file is a new, empty cloud).
    ///
    /// # Errors
    /// As [`Store::peek`].
    pub fn load(&self) -> Result<Cloud, SimError> {
        Ok(self.store.peek()?.unwrap_or_default())
    }

    /// Saves the cloud atomically.
    ///
    /// # Errors
    /// [`SimError::Io`] when writing, syncing or renaming fails; the old file is then intact.
    pub fn save(&self, cloud: &Cloud) -> Result<(), SimError> {
        let path = &self.store.path;
        let io = |action| {
            move |source| SimError::Io {
                action,
                path: path.clone(),
                source,
            }
        };
        let text = serde_json::to_vec_pretty(cloud).map_err(|source| SimError::Corrupt {
            path: path.clone(),
            source,
        })?;
        let mut temporary = tempfile::NamedTempFile::new_in(self.store.directory())
            .map_err(io("create a temporary file beside"))?;
        temporary.write_all(&text).map_err(io("write"))?;
        temporary.as_file().sync_all().map_err(io("sync"))?;
        temporary
            .persist(path)
            .map_err(|error| io("replace")(error.error))?;
        // The rename is durable only once the directory entry is synced; not every platform
        // lets a directory be opened for that, so a failure here is not an error.
        if let Ok(directory) = File::open(self.store.directory()) {
            let _ = directory.sync_all();
        }
        Ok(())
    }

    /// Appends one record to the call log beside the cloud file.
    ///
    /// # Errors
    /// [`SimError::Io`] when the log cannot be written.
    pub fn append_call(&self, record: &CallRecord) -> Result<(), SimError> {
        call_log::append(&call_log::log_path(&self.store.path), record)
    }

    /// Empties the call log.
    ///
    /// # Errors
    /// [`SimError::Io`] when the log cannot be removed.
    pub fn clear_calls(&self) -> Result<(), SimError> {
        let log = call_log::log_path(&self.store.path);
        match std::fs::remove_file(&log) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(SimError::Io {
                action: "remove",
                path: log,
                source,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_and_loads_the_same_cloud() -> Result<(), SimError> {
        let directory = tempfile::tempdir().map_err(|source| SimError::Io {
            action: "create",
            path: PathBuf::new(),
            source,
        })?;
        let store = Store::new(&directory.path().join("sim/cloud.json"));
        let locked = store.lock()?;
        let mut cloud = locked.load()?;
        cloud.sequence = 41;
        locked.save(&cloud)?;
        assert_eq!(locked.load()?, cloud);
        Ok(())
    }

    #[test]
    fn a_corrupt_file_is_an_error_and_is_left_alone() -> Result<(), Box<dyn std::error::Error>> {
        let directory = tempfile::tempdir()?;
        let path = directory.path().join("cloud.json");
        std::fs::write(&path, "{ not json")?;
        let store = Store::new(&path);
        let locked = store.lock()?;
        assert!(matches!(locked.load(), Err(SimError::Corrupt { .. })));
        assert_eq!(std::fs::read_to_string(&path)?, "{ not json");
        Ok(())
    }
}
