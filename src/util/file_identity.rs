//! Telling whether the file at a path is still the one we wrote or read, without reading it.
//!
//! A file that is written by renaming a new file into place gets a new inode each time, and a
//! change made in place shows in its length or its modification and change times. A file held
//! open keeps its inode from being reused by another file, so the same identity at the path
//! really is the same, unchanged file.

use std::fs::{File, Metadata};
use std::io::ErrorKind;
use std::path::Path;

/// What tells one version of a file from another without reading it: the file (device and
/// inode) and its length and modification and change times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileIdentity {
    device: u64,
    inode: u64,
    length: u64,
    modified: Option<std::time::SystemTime>,
    changed: (i64, i64),
}

impl FileIdentity {
    /// The identity of a file with this metadata; `None` where files have no inode numbers
    /// (callers then always read the file).
    #[cfg(unix)]
    pub fn of(metadata: &Metadata) -> Option<FileIdentity> {
        use std::os::unix::fs::MetadataExt;
        Some(FileIdentity {
            device: metadata.dev(),
            inode: metadata.ino(),
            length: metadata.len(),
            modified: metadata.modified().ok(),
            changed: (metadata.ctime(), metadata.ctime_nsec()),
        })
    }

    /// The identity of a file with this metadata; `None` where files have no inode numbers
    /// (callers then always read the file).
    #[cfg(not(unix))]
    pub fn of(_metadata: &Metadata) -> Option<FileIdentity> {
        None
    }
}

/// A file held open with the identity it had when it was taken.
#[derive(Debug)]
pub struct HeldFile {
    /// Held open so that its inode cannot be reused by another file.
    _file: File,
    identity: FileIdentity,
}

impl HeldFile {
    /// Holds `file`; `None` when its identity cannot be known (no metadata, no inodes).
    pub fn hold(file: File) -> Option<HeldFile> {
        let identity = file.metadata().ok().as_ref().and_then(FileIdentity::of)?;
        Some(HeldFile {
            _file: file,
            identity,
        })
    }

    /// Whether the file at `path` is still this file, unchanged. A missing file is not.
    ///
    /// # Errors
    /// Reading the metadata at `path` failed for another reason than the file being missing.
    pub fn is_at(&self, path: &Path) -> std::io::Result<bool> {
        match std::fs::metadata(path) {
            Ok(metadata) => Ok(FileIdentity::of(&metadata).as_ref() == Some(&self.identity)),
            Err(error) if error.kind() == ErrorKind::NotFound => Ok(false),
            Err(error) => Err(error),
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::io::Write;

    fn written(path: &Path, text: &str) -> Result<HeldFile, Box<dyn std::error::Error>> {
        let mut file = File::create(path)?;
        file.write_all(text.as_bytes())?;
        HeldFile::hold(File::open(path)?).ok_or_else(|| "no identity".into())
    }

    #[test]
    fn the_file_itself_is_recognised() -> Result<(), Box<dyn std::error::Error>> {
        let directory = tempfile::tempdir()?;
        let path = directory.path().join("cloud.json");
        let held = written(&path, "{}")?;
        assert!(held.is_at(&path)?);
        Ok(())
    }

    #[test]
    fn a_file_renamed_into_place_is_another_file() -> Result<(), Box<dyn std::error::Error>> {
        let directory = tempfile::tempdir()?;
        let path = directory.path().join("cloud.json");
        let held = written(&path, "{}")?;
        let replacement = directory.path().join("next.json");
        std::fs::write(&replacement, "{}")?;
        std::fs::rename(&replacement, &path)?;
        assert!(!held.is_at(&path)?);
        Ok(())
    }

    #[test]
    fn a_file_changed_in_place_is_changed() -> Result<(), Box<dyn std::error::Error>> {
        let directory = tempfile::tempdir()?;
        let path = directory.path().join("cloud.json");
        let held = written(&path, "{}")?;
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)?
            .write_all(b"\n")?;
        assert!(!held.is_at(&path)?);
        Ok(())
    }

    #[test]
    fn a_missing_file_is_not_the_held_one() -> Result<(), Box<dyn std::error::Error>> {
        let directory = tempfile::tempdir()?;
        let path = directory.path().join("cloud.json");
        let held = written(&path, "{}")?;
        std::fs::remove_file(&path)?;
        assert!(!held.is_at(&path)?);
        Ok(())
    }
}
