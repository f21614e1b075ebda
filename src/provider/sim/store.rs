//! The cloud file: exclusive locking, loading and atomic saving.
//!
//! Promises: every change is load-modify-save under an exclusive lock on a sibling lock file,
//! so separate processes see one cloud; a save is atomic (temp file in the same directory,
//! then rename) and is on disk for every other process by the time it returns; a file that
//! does not parse is an error and is never overwritten.
//!
//! Two choices keep a call cheap however large the cloud grows:
//! - The cloud a store last loaded or saved is kept in memory with the file it came from, and
//!   is only parsed again when the path names another file or the file changed (see
//!   [`HeldFile`]). Another process's save replaces the file, so it is always noticed.
//! - A save is not flushed with fsync. The simulator's durability promise is about processes:
//!   a call that returned is seen by every later call, also after the process exits or is
//!   killed (the crash tests), and the rename gives exactly that, because the written bytes
//!   sit in the kernel's page cache, not in the process. Only a machine crash could lose the
//!   latest calls, which would leave the simulated cloud older than a state written since;
//!   that is acceptable for a simulator, and the fsyncs were most of the cost of every call.

use super::call_log::{self, CallRecord};
use super::cloud::{Cloud, FORMAT};
use super::error::SimError;
use crate::util::file_identity::HeldFile;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Where a cloud lives on disk.
#[derive(Debug, Clone)]
pub struct Store {
    path: PathBuf,
    /// The cloud as this store last loaded or saved it; taken out by a load and put back by a
    /// save, so a call that fails in between leaves it empty and the next one reads the file.
    cache: Arc<Mutex<Option<Cached>>>,
}

/// A cloud in memory and the file it was read from or written to (every save renames a new
/// file into place, so the held file is the version this cloud is).
#[derive(Debug)]
struct Cached {
    file: HeldFile,
    cloud: Cloud,
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
            cache: Arc::new(Mutex::new(None)),
        }
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Option<Cached>> {
        // The cache is only ever replaced whole, so a panic elsewhere cannot leave it torn.
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
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
        let text = match std::fs::read(&self.path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(self.io("read")(source)),
        };
        self.parse(&text).map(Some)
    }

    fn io(&self, action: &'static str) -> impl FnOnce(std::io::Error) -> SimError + '_ {
        move |source| SimError::Io {
            action,
            path: self.path.clone(),
            source,
        }
    }

    fn parse(&self, text: &[u8]) -> Result<Cloud, SimError> {
        let cloud: Cloud = serde_json::from_slice(text).map_err(|source| SimError::Corrupt {
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
        Ok(cloud)
    }
}

impl Locked<'_> {
    /// Loads the cloud (a missing file is a new, empty cloud): the one kept in memory when
    /// the file is still the one it came from, else the file's content.
    ///
    /// # Errors
    /// As [`Store::peek`].
    pub fn load(&self) -> Result<Cloud, SimError> {
        let store = self.store;
        if let Some(cached) = store.cache().take()
            && cached.file.is_at(&store.path).map_err(store.io("read"))?
        {
            return Ok(cached.cloud);
        }
        Ok(store.peek()?.unwrap_or_default())
    }

    /// Saves the cloud atomically (see the module header on why without fsync) and keeps it
    /// in memory for the next [`Locked::load`].
    ///
    /// # Errors
    /// [`SimError::Io`] when writing or renaming fails; the old file is then intact.
    pub fn save(&self, cloud: Cloud) -> Result<(), SimError> {
        let store = self.store;
        let text = serde_json::to_vec_pretty(&cloud).map_err(|source| SimError::Corrupt {
            path: store.path.clone(),
            source,
        })?;
        let mut temporary = tempfile::NamedTempFile::new_in(store.directory())
            .map_err(store.io("create a temporary file beside"))?;
        temporary.write_all(&text).map_err(store.io("write"))?;
        let file = temporary
            .persist(&store.path)
            .map_err(|error| store.io("replace")(error.error))?;
        // The cloud is saved whatever happens here; without an identity it is simply not kept.
        if let Some(file) = HeldFile::hold(file) {
            *store.cache() = Some(Cached { file, cloud });
        }
        Ok(())
    }

    /// Appends records, in order, to the call log beside the cloud file.
    ///
    /// # Errors
    /// [`SimError::Io`] when the log cannot be written.
    pub fn append_calls(&self, records: &[CallRecord]) -> Result<(), SimError> {
        call_log::append(&call_log::log_path(&self.store.path), records)
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
        let directory = temporary_directory()?;
        let store = Store::new(&directory.path().join("sim/cloud.json"));
        let locked = store.lock()?;
        let mut cloud = locked.load()?;
        cloud.sequence = 41;
        locked.save(cloud.clone())?;
        assert_eq!(locked.load()?, cloud);
        Ok(())
    }

    fn temporary_directory() -> Result<tempfile::TempDir, SimError> {
        tempfile::tempdir().map_err(|source| SimError::Io {
            action: "create",
            path: PathBuf::new(),
            source,
        })
    }

    #[test]
    fn a_save_by_another_store_is_seen() -> Result<(), SimError> {
        let directory = temporary_directory()?;
        let path = directory.path().join("cloud.json");
        let (mine, theirs) = (Store::new(&path), Store::new(&path));
        let mut cloud = mine.lock()?.load()?;
        mine.lock()?.save(cloud.clone())?;

        cloud.sequence = 7;
        theirs.lock()?.save(cloud.clone())?;

        assert_eq!(mine.lock()?.load()?, cloud);
        Ok(())
    }

    #[test]
    fn a_file_changed_in_place_is_read_again() -> Result<(), Box<dyn std::error::Error>> {
        let directory = tempfile::tempdir()?;
        let path = directory.path().join("cloud.json");
        let store = Store::new(&path);
        let mut cloud = store.lock()?.load()?;
        store.lock()?.save(cloud.clone())?;

        // Written into the same file rather than renamed over it, as an editor might.
        cloud.sequence = 12_345;
        std::fs::write(&path, serde_json::to_vec(&cloud)?)?;

        assert_eq!(store.lock()?.load()?, cloud);
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
