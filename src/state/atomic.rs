//! Atomic file replacement: a reader sees either the old or the new content, never a mix, and
//! after a crash the file is whole.
//!
//! The new bytes go to a temporary file in the same directory (so the rename stays on one file
//! system), which is flushed to disk, renamed over the target, and then the directory itself is
//! flushed so the rename survives a power loss.

use super::StateError;
use std::io::Write;
use std::path::Path;

/// Replaces `path` with `bytes` atomically, creating the parent directory if needed.
///
/// # Errors
/// [`StateError::Io`] naming the file when any step fails; the target is then unchanged.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    write_atomically_and_open(path, bytes).map(drop)
}

/// As [`write_atomically`], returning the new file open.
///
/// # Errors
/// As [`write_atomically`].
pub(super) fn write_atomically_and_open(
    path: &Path,
    bytes: &[u8],
) -> Result<std::fs::File, StateError> {
    let io = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| StateError::Io {
            action,
            path,
            source,
        }
    };
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    fs_err::create_dir_all(directory).map_err(|source| StateError::Io {
        action: "create directory",
        path: directory.to_path_buf(),
        source,
    })?;
    let mut temporary = tempfile::Builder::new()
        .prefix(".cairn-")
        .suffix(".tmp")
        .tempfile_in(directory)
        .map_err(io("create a temporary file in", directory))?;
    temporary
        .write_all(bytes)
        .map_err(io("write a temporary file in", directory))?;
    temporary
        .as_file()
        .sync_all()
        .map_err(io("flush a temporary file in", directory))?;
    let file = temporary.persist(path).map_err(|error| StateError::Io {
        action: "replace",
        path: path.to_path_buf(),
        source: error.error,
    })?;
    sync_directory(directory)?;
    Ok(file)
}

#[cfg(unix)]
pub(super) fn sync_directory(directory: &Path) -> Result<(), StateError> {
    std::fs::File::open(directory)
        .and_then(|handle| handle.sync_all())
        .map_err(|source| StateError::Io {
            action: "flush directory",
            path: directory.to_path_buf(),
            source,
        })
}

#[cfg(not(unix))]
pub(super) fn sync_directory(_directory: &Path) -> Result<(), StateError> {
    // Directories cannot be opened for flushing on every platform; the rename is still atomic.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_leaves_no_temporary_file() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("nested").join("file.json");
        write_atomically(&path, b"first").unwrap();
        write_atomically(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("file.json")]);
    }
}
