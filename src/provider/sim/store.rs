//! The cloud file: exclusive locking, loading and atomic saving.
//!
//! Promises: every change is load-modify-save under an exclusive lock on a sibling lock file,
//! so separate processes see one cloud; a save is atomic (a temp file in the same directory
//! renamed into place, or one line appended to the journal) and is on disk for every other
//! process by the time it returns; a file that does not parse is an error and is never
//! overwritten.
//!
//! Three choices keep a call cheap however large the cloud grows:
//! - A batch of calls saves only what it changed, as one line of the journal beside the cloud
//!   file (see `journal`); the whole cloud is written again, and the journal removed, only
//!   when the journal has grown larger than the cloud file, so the bytes written stay
//!   proportional to the changes made (issue 14).
//! - The cloud a store last loaded or saved is kept in memory with the files it came from, and
//!   is only parsed again when the path names another file or either file changed (see
//!   [`HeldFile`]). Another process's save replaces the file or appends to the journal, so it
//!   is always noticed.
//! - A save is not flushed with fsync. The simulator's durability promise is about processes:
//!   a call that returned is seen by every later call, also after the process exits or is
//!   killed (the crash tests), and the rename or append gives exactly that, because the
//!   written bytes sit in the kernel's page cache, not in the process. Only a machine crash
//!   could lose the latest calls, which would leave the simulated cloud older than a state
//!   written since; that is acceptable for a simulator, and the fsyncs were most of the cost
//!   of every call.

use super::call_log::{self, CallRecord};
use super::cloud::{Cloud, FORMAT};
use super::error::SimError;
use super::journal::{self, Entry};
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

/// A cloud in memory and the files it was read from or written to (a whole save renames a
/// new file into place and a journal save appends, so the held files are the version this
/// cloud is).
#[derive(Debug)]
struct Cached {
    file: HeldFile,
    /// The journal as replayed or last appended to; `None` when there was none.
    journal: Option<HeldFile>,
    cloud: Cloud,
}

impl Cached {
    /// Whether the files at `path` and `journal_path` are still the ones this cloud is.
    fn is_current(&self, path: &Path, journal_path: &Path) -> std::io::Result<bool> {
        if !self.file.is_at(path)? {
            return Ok(false);
        }
        match &self.journal {
            Some(journal) => journal.is_at(journal_path),
            None => Ok(!journal_path.exists()),
        }
    }
}

/// The file held (when it has an identity) and its content, read after the identity was
/// taken.
fn held_and_read(file: File) -> std::io::Result<(Option<HeldFile>, Vec<u8>)> {
    let mut reader = file.try_clone()?;
    let held = HeldFile::hold(file);
    let mut text = Vec::new();
    std::io::Read::read_to_end(&mut reader, &mut text)?;
    Ok((held, text))
}

/// A cloud as read from its files, with the files when they can be recognised again.
struct Read {
    file: Option<HeldFile>,
    journal: Option<HeldFile>,
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

    /// Reads the cloud without locking (a missing file is an empty cloud): the one kept in
    /// memory when the files are still the ones it came from, else the files' content.
    ///
    /// # Errors
    /// [`SimError::Io`], [`SimError::Corrupt`], [`SimError::CorruptJournal`] or
    /// [`SimError::UnsupportedFormat`].
    pub fn peek(&self) -> Result<Option<Cloud>, SimError> {
        if let Some(cached) = self.cache().as_ref()
            && cached
                .is_current(&self.path, &self.journal_path())
                .map_err(self.io("read"))?
        {
            // Cheap: the large maps of a clone are shared with the cached cloud.
            return Ok(Some(cached.cloud.clone()));
        }
        // Kept for the calls that follow (a process opens the cloud, asks for zones, then
        // reads): the file is parsed once, not once for each.
        Ok(self.read()?.map(|read| {
            self.keep(read.file, read.journal, read.cloud.clone());
            read.cloud
        }))
    }

    /// Keeps `cloud`, read from or written to `file` and `journal`, for the next load.
    fn keep(&self, file: Option<HeldFile>, journal: Option<HeldFile>, cloud: Cloud) {
        // Without an identity the files cannot be recognised again: nothing is kept.
        if let Some(file) = file {
            *self.cache() = Some(Cached {
                file,
                journal,
                cloud,
            });
        }
    }

    fn journal_path(&self) -> PathBuf {
        journal::journal_path(&self.path)
    }

    /// Reads the cloud file and replays its journal over it. Without the lock, another
    /// process may write the whole cloud anew between the two reads; the file is then no
    /// longer the one read, and it is read again.
    fn read(&self) -> Result<Option<Read>, SimError> {
        loop {
            let file = match File::open(&self.path) {
                Ok(file) => file,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(source) => return Err(self.io("read")(source)),
            };
            // Each file's identity is taken before it is read: a change made while reading
            // then makes the cloud read look stale, never a stale cloud look current.
            let (file, text) = held_and_read(file).map_err(self.io("read"))?;
            let mut cloud = self.parse(&text)?;
            let journal_path = self.journal_path();
            let journal = match File::open(&journal_path) {
                Ok(journal) => {
                    let (journal, lines) =
                        held_and_read(journal).map_err(self.io("read the journal of"))?;
                    journal::replay_text(&mut cloud, &lines, &journal_path)?;
                    journal
                }
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
                Err(source) => return Err(self.io("read the journal of")(source)),
            };
            let Some(file) = file else {
                // Without identities a rewrite cannot be noticed; what was read stands.
                return Ok(Some(Read {
                    file: None,
                    journal,
                    cloud,
                }));
            };
            if file.is_at(&self.path).map_err(self.io("read"))? {
                return Ok(Some(Read {
                    file: Some(file),
                    journal,
                    cloud,
                }));
            }
        }
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
    /// the files are still the ones it came from, else the files' content.
    ///
    /// # Errors
    /// As [`Store::peek`].
    pub fn load(&self) -> Result<Cloud, SimError> {
        let store = self.store;
        if let Some(cached) = store.cache().take()
            && cached
                .is_current(&store.path, &store.journal_path())
                .map_err(store.io("read"))?
        {
            return Ok(cached.cloud);
        }
        Ok(store.read()?.map(|read| read.cloud).unwrap_or_default())
    }

    /// Saves the whole cloud atomically under a new epoch (see the module header on why
    /// without fsync), removes the journal it makes obsolete, and keeps it in memory for the
    /// next [`Locked::load`].
    ///
    /// # Errors
    /// [`SimError::Io`] when writing or renaming fails; the old file is then intact.
    pub fn save(&self, mut cloud: Cloud) -> Result<(), SimError> {
        cloud.saved();
        let store = self.store;
        // Lines of the old journal name the old epoch, so none applies to the new file, also
        // when a stop comes before the journal is removed.
        cloud.epoch = fastrand::u64(..);
        // Compact, not pretty: every command parses the whole file, and indenting made a
        // 10,000-resource cloud twice the size to read (issue 14); `cairn sim` shows it.
        let text = serde_json::to_vec(&cloud).map_err(|source| SimError::Corrupt {
            path: store.path.clone(),
            source,
        })?;
        let mut temporary = tempfile::NamedTempFile::new_in(store.directory())
            .map_err(store.io("create a temporary file beside"))?;
        temporary.write_all(&text).map_err(store.io("write"))?;
        let file = temporary
            .persist(&store.path)
            .map_err(|error| store.io("replace")(error.error))?;
        let journal = store.journal_path();
        match std::fs::remove_file(&journal) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(SimError::Io {
                    action: "remove",
                    path: journal,
                    source,
                });
            }
        }
        store.keep(HeldFile::hold(file), None, cloud);
        Ok(())
    }

    /// Writes the cloud whole and removes its journal, when it has one: what a command does
    /// once it made its last call, so that the next one parses one document instead of the
    /// file and the lines a large apply appended (issue 14). Without a journal there is
    /// nothing to fold in, and nothing is written.
    ///
    /// # Errors
    /// As [`Locked::load`] and [`Locked::save`].
    pub fn compact(&self) -> Result<(), SimError> {
        if !self.store.journal_path().exists() {
            return Ok(());
        }
        let cloud = self.load()?;
        self.save(cloud)
    }

    /// Saves `cloud`, loaded and changed since, by appending what it noted as changed (see
    /// [`Cloud::saved`]) to the journal; writes it whole instead when there is no cloud file
    /// yet or the journal has grown larger than the file (so the bytes written stay
    /// proportional to the changes).
    ///
    /// # Errors
    /// As [`Locked::save`]; [`SimError::Io`] when the journal cannot be appended to.
    pub fn save_changes(&self, mut cloud: Cloud) -> Result<(), SimError> {
        let store = self.store;
        let journal_path = store.journal_path();
        let file_length = match std::fs::metadata(&store.path) {
            Ok(metadata) => metadata.len(),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return self.save(cloud);
            }
            Err(source) => return Err(store.io("read")(source)),
        };
        let journal_length = std::fs::metadata(&journal_path).map_or(0, |metadata| metadata.len());
        if journal_length > file_length {
            return self.save(cloud);
        }
        let mut line =
            serde_json::to_vec(&Entry::unsaved(&cloud)).map_err(|source| SimError::Corrupt {
                path: journal_path.clone(),
                source,
            })?;
        line.push(b'\n');
        let io = |action: &'static str| {
            let path = journal_path.clone();
            move |source| SimError::Io {
                action,
                path,
                source,
            }
        };
        let mut journal = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&journal_path)
            .map_err(io("open"))?;
        // One write of the whole line: a reader never sees half of it unless the machine
        // stops, and a cut-short last line is ignored (see `journal`).
        journal.write_all(&line).map_err(io("append to"))?;
        cloud.saved();
        let held_journal = File::open(&journal_path).ok().and_then(HeldFile::hold);
        let held_file = File::open(&store.path).ok().and_then(HeldFile::hold);
        match (held_file, held_journal) {
            (Some(file), Some(journal)) => store.keep(Some(file), Some(journal), cloud),
            // Without identities nothing is kept; the next load reads the files.
            _ => *store.cache() = None,
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
        assert_eq!(same_epoch(locked.load()?, &cloud), cloud);
        Ok(())
    }

    /// Adds a new volume to `cloud`, in `us-east-1`.
    fn add_volume(cloud: &mut Cloud) {
        let resource = cloud.new_resource(
            crate::model::Kind::Volume,
            &crate::model::Attributes::new(),
            &crate::model::Tags::new(),
        );
        cloud.add("us-east-1", resource);
    }

    /// `loaded` with the epoch of `cloud`: a whole save draws a new one.
    fn same_epoch(mut loaded: Cloud, cloud: &Cloud) -> Cloud {
        loaded.epoch = cloud.epoch;
        loaded
    }

    #[test]
    fn changes_saved_to_the_journal_are_seen_by_another_store()
    -> Result<(), Box<dyn std::error::Error>> {
        let directory = tempfile::tempdir()?;
        let path = directory.path().join("cloud.json");
        let (mine, theirs) = (Store::new(&path), Store::new(&path));
        let first = mine.lock()?.load()?;
        mine.lock()?.save(first)?;

        let before = mine.lock()?.load()?;
        let mut after = before.clone();
        after.sequence = 3;
        add_volume(&mut after);
        mine.lock()?.save_changes(after.clone())?;

        assert!(journal::journal_path(&path).exists());
        assert_eq!(theirs.lock()?.load()?, after);
        assert_eq!(theirs.peek()?, Some(after.clone()));
        assert_eq!(mine.lock()?.load()?, after);
        Ok(())
    }

    #[test]
    fn a_journal_larger_than_the_file_is_folded_into_it() -> Result<(), Box<dyn std::error::Error>>
    {
        let directory = tempfile::tempdir()?;
        let path = directory.path().join("cloud.json");
        let store = Store::new(&path);
        let first = store.lock()?.load()?;
        store.lock()?.save(first)?;
        let mut cloud = store.lock()?.load()?;
        // Each batch adds a volume; the journal outgrows the file and is folded in.
        for _ in 0..50 {
            add_volume(&mut cloud);
            store.lock()?.save_changes(cloud.clone())?;
            cloud = store.lock()?.load()?;
        }
        let journal = std::fs::metadata(journal::journal_path(&path)).map_or(0, |m| m.len());
        assert!(journal <= std::fs::metadata(&path)?.len() * 2);
        assert_eq!(Store::new(&path).peek()?, Some(cloud));
        Ok(())
    }

    #[test]
    fn compacting_folds_the_journal_into_the_file() -> Result<(), Box<dyn std::error::Error>> {
        let directory = tempfile::tempdir()?;
        let path = directory.path().join("cloud.json");
        let store = Store::new(&path);
        let first = store.lock()?.load()?;
        store.lock()?.save(first)?;
        let before = store.lock()?.load()?;
        let mut after = before.clone();
        add_volume(&mut after);
        store.lock()?.save_changes(after.clone())?;
        assert!(journal::journal_path(&path).exists());

        store.lock()?.compact()?;

        assert!(!journal::journal_path(&path).exists());
        let written: Cloud = serde_json::from_slice(&std::fs::read(&path)?)?;
        assert_eq!(same_epoch(written, &after), after);
        assert_eq!(same_epoch(Store::new(&path).lock()?.load()?, &after), after);
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

        assert_eq!(same_epoch(mine.lock()?.load()?, &cloud), cloud);
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
