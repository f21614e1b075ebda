//! Room reserved ahead of a file that grows by small appends, each flushed on its own.
//!
//! On ext4 each append of a journal line that needs a new block allocates it then and there,
//! between the blocks other files took meanwhile, so a journal of a few megabytes ends up in
//! many pieces; once they no longer fit in the inode, every flush writes the block that maps
//! them as well. At 10,000 resources the state journal's flushes cost half as much again per
//! line as at 1,000 (issue 14). Reserving the space in large steps keeps the file in few
//! pieces, and the appends then only fill space already there.
//!
//! The reserved space is not part of the file: its length, and so what a reader sees, is what
//! was written. It is freed with the file, which a journal is once folded into its document.

use std::fs::File;

/// The least room reserved at once; a longer file gets as much again as it holds. The
/// journal of a 10,000-resource apply (8.5 MB) fits in the first reservation: in steps of
/// 1 MiB its several pieces still needed the mapping block written with many flushes, and the
/// apply took 8% longer. The room is held only while the journal exists.
const STEP: u64 = 16 << 20;

/// Makes sure `file`, about to have `appending` bytes appended, has room reserved for them,
/// reserving more when it has not. Best effort: where space cannot be reserved (another
/// system, a file system without it, a full disk), the append simply allocates as it goes,
/// and a full disk is reported by the write itself.
pub fn reserve(file: &File, appending: u64) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        use std::os::unix::fs::MetadataExt;
        let Ok(metadata) = file.metadata() else {
            return;
        };
        let length = metadata.len();
        // Blocks of 512 bytes, the reserved ones included.
        let allocated = metadata.blocks().saturating_mul(512);
        if length.saturating_add(appending) <= allocated {
            return;
        }
        let room = STEP.max(length).max(appending);
        let (Ok(offset), Ok(room)) = (libc::off_t::try_from(length), libc::off_t::try_from(room))
        else {
            return;
        };
        // SAFETY: fallocate reads no memory of ours; the descriptor is open for as long as
        // `file` is borrowed. KEEP_SIZE leaves the file's length, and so its contents, as
        // they are.
        unsafe {
            libc::fallocate(file.as_raw_fd(), libc::FALLOC_FL_KEEP_SIZE, offset, room);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, appending);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Seek, Write};

    /// Room is reserved (on Linux), and what is read back is what was appended, nothing of the
    /// room after it.
    #[test]
    fn reserved_room_is_not_part_of_the_file() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("journal");
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&path)
            .unwrap();
        for line in ["one\n", "two\n"] {
            reserve(&file, line.len() as u64);
            file.write_all(line.as_bytes()).unwrap();
        }
        let metadata = std::fs::metadata(&path).unwrap();
        assert_eq!(metadata.len(), 8);
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::fs::MetadataExt;
            assert!(
                metadata.blocks() * 512 >= STEP,
                "{} blocks",
                metadata.blocks()
            );
        }
        let mut text = String::new();
        file.rewind().unwrap();
        file.read_to_string(&mut text).unwrap();
        assert_eq!(text, "one\ntwo\n");
    }
}
