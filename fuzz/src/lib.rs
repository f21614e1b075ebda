//! What the fuzz targets share: turning one fuzz input into a stack directory of several
//! files, modules and symlinks.
//!
//! An input is a small archive of text entries, each starting with a header line:
//!
//! ```text
//! === main.hcl
//! stack "shop" {}
//! === ../../modules/network/main.hcl
//! variable "cidr" {}
//! === modules/loop -> .
//! ```
//!
//! `=== PATH` starts a file holding the bytes up to the next header; `=== PATH -> TARGET`
//! makes a symlink. Paths are relative to the stack directory, which sits two levels below
//! the temporary root, so `../../modules/...` (how the examples call shared modules) stays
//! inside it; anything that would leave the root is dropped. `scripts/fuzz` writes the seed
//! corpus in this form from `examples/` and `tests/fixtures/`.

use std::path::{Component, Path, PathBuf};

/// Most entries one input may create, so one input cannot fill the disk.
const MAX_ENTRIES: usize = 32;

/// Writes the archive in `data` under `root` and returns the stack directory, or `None` when
/// nothing could be written.
pub fn unpack(data: &[u8], root: &Path) -> Option<PathBuf> {
    let stack = root.join("stacks").join("stack");
    std::fs::create_dir_all(&stack).ok()?;
    let mut written = 0;
    for entry in entries(data).into_iter().take(MAX_ENTRIES) {
        let header = std::str::from_utf8(entry.header).ok()?;
        let (path, link) = match header.split_once(" -> ") {
            Some((path, target)) => (path, Some(target)),
            None => (header, None),
        };
        let Some(relative) = inside(path) else {
            continue;
        };
        let destination = stack.join(&relative);
        if !destination.starts_with(root) {
            continue;
        }
        if let Some(parent) = destination.parent() {
            // A path through a file or a symlink loop cannot be created; skip the entry.
            if std::fs::create_dir_all(parent).is_err() {
                continue;
            }
        }
        let created = match link {
            Some(target) => symlink(target, &destination),
            None => std::fs::write(&destination, entry.body).is_ok(),
        };
        if created {
            written += 1;
        }
    }
    (written > 0).then_some(stack)
}

struct Entry<'a> {
    header: &'a [u8],
    body: &'a [u8],
}

/// Splits the input at lines starting with `=== `; bytes before the first header are
/// `main.hcl`, so that a plain HCL file is an input too.
fn entries(data: &[u8]) -> Vec<Entry<'_>> {
    let mut found = Vec::new();
    let mut header: &[u8] = b"main.hcl";
    let mut rest = data;
    let mut body_start = rest;
    let mut position = 0;
    loop {
        let at_line_start = position == 0 || rest.get(position - 1) == Some(&b'\n');
        if position >= rest.len() {
            found.push(Entry {
                header,
                body: body_start,
            });
            return found;
        }
        if at_line_start && rest[position..].starts_with(b"=== ") {
            let body_end = position.saturating_sub(1);
            let body_len = body_end.min(body_start.len());
            found.push(Entry {
                header,
                body: &body_start[..body_len],
            });
            let line = &rest[position + 4..];
            let line_end = line.iter().position(|b| *b == b'\n').unwrap_or(line.len());
            header = &line[..line_end];
            rest = line.get(line_end + 1..).unwrap_or(&[]);
            body_start = rest;
            position = 0;
            continue;
        }
        position += 1;
    }
}

/// The path if it stays inside the temporary root: at most two leading `..` (up to the
/// root), then plain names.
fn inside(path: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    let mut ups = 0;
    let mut names = 0;
    for component in Path::new(path).components() {
        match component {
            Component::ParentDir if names == 0 && ups < 2 => {
                ups += 1;
                out.push("..");
            }
            Component::Normal(name) => {
                names += 1;
                out.push(name);
            }
            Component::CurDir => {}
            _ => return None,
        }
    }
    (names > 0 && names <= 8).then_some(out)
}

#[cfg(unix)]
fn symlink(target: &str, destination: &Path) -> bool {
    // Targets are kept relative and inside the root, so a link never reaches the real tree.
    match inside(target) {
        Some(target) => std::os::unix::fs::symlink(target, destination).is_ok(),
        None if target == "." => std::os::unix::fs::symlink(".", destination).is_ok(),
        None => false,
    }
}

#[cfg(not(unix))]
fn symlink(_target: &str, _destination: &Path) -> bool {
    false
}
