//! A stack's source as applied: every file of the stack directory and of the modules it
//! calls, with its variable values, so that the history can record it and a rollback can load
//! exactly that configuration again ([`materialize`]).
//!
//! Promises: the values of sensitive variables are never captured (their names are, when a
//! re-apply needs them given); files given with `--var-file` are never captured (they may hold
//! secrets, and their values are captured as variable values instead), nor files the caller's
//! `skip` recognises (saved plans, which hold attribute values); hidden entries (`.cairn`,
//! `.git`) are left out. A snapshot read back is checked: a path that would leave the directory
//! it is written into is refused.

use super::{Config, LoadOptions};
use crate::model::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

/// Largest file captured: stacks are text; a bigger file in the stack directory (a disk image,
/// a build output) is left out with a warning rather than copied into every version.
const FILE_LIMIT_BYTES: u64 = 1024 * 1024;

/// Most files captured from one stack, so that a stack directory pointed at a large tree fails
/// clearly instead of copying it.
const FILE_COUNT_LIMIT: usize = 2000;

/// What re-applying a configuration needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// Files by their `/`-separated path relative to the stack directory (`..` first for the
    /// files of a module outside it).
    pub files: BTreeMap<String, Vec<u8>>,
    /// The values of the non-sensitive variables.
    pub variables: BTreeMap<String, Value>,
    /// The sensitive variables a re-apply must be given: those without a default, and those
    /// given a value on the command line or in the environment.
    pub sensitive: Vec<String>,
    /// The variables marked `artifact = true`.
    pub artifacts: Vec<String>,
}

/// Why a snapshot cannot be captured or written out.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SnapshotError {
    #[error("cannot {action} `{path}` to record the stack in its history: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("the stack directory `{dir}` holds more than {FILE_COUNT_LIMIT} files")]
    #[diagnostic(help(
        "history records every file of the stack directory; keep other files out of it"
    ))]
    TooManyFiles { dir: PathBuf },

    #[error("the recorded file path `{path}` is not a path inside the stack")]
    #[diagnostic(help("the history is damaged; roll back to another version"))]
    BadPath { path: String },

    #[error("cannot write the recorded variable values: {detail}")]
    Variables { detail: String },
}

/// The error of failing to `action` `path`.
fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> SnapshotError {
    let path = path.to_path_buf();
    move |source| SnapshotError::Io {
        action,
        path,
        source,
    }
}

/// The snapshot of `config` as loaded with `options`, without the files whose content `skip`
/// refuses.
///
/// # Errors
/// A file or directory of the stack cannot be read, or the stack directory is too large.
pub fn capture(
    config: &Config,
    options: &LoadOptions,
    skip: &dyn Fn(&[u8]) -> bool,
) -> Result<Snapshot, SnapshotError> {
    let stack_dir = std::fs::canonicalize(&config.dir).map_err(io("read", &config.dir))?;
    let skipped: BTreeSet<PathBuf> = options
        .var_files
        .iter()
        .filter_map(|path| std::fs::canonicalize(path).ok())
        .collect();
    let mut directories = vec![stack_dir.clone()];
    // A module's directory is already joined to the directory of the file that calls it (it
    // is where the module was loaded from), so it is not joined to the stack's again.
    for module_dir in config.modules.keys() {
        let canonical = std::fs::canonicalize(module_dir).map_err(io("read", module_dir))?;
        if !canonical.starts_with(&stack_dir) {
            directories.push(canonical);
        }
    }
    let mut found = BTreeSet::new();
    for directory in &directories {
        walk(directory, &mut found, &stack_dir)?;
    }
    let mut files = BTreeMap::new();
    for path in found.difference(&skipped) {
        let content = std::fs::read(path).map_err(io("read", path))?;
        if skip(&content) {
            tracing::debug!("`{}` is not recorded in the history", path.display());
            continue;
        }
        files.insert(relative(&stack_dir, path), content);
    }

    let given: BTreeSet<&str> = options
        .vars
        .iter()
        .chain(&options.env_vars)
        .map(|(name, _)| name.as_str())
        .collect();
    let mut snapshot = Snapshot {
        files,
        variables: BTreeMap::new(),
        sensitive: Vec::new(),
        artifacts: Vec::new(),
    };
    for variable in config.root.variables.values() {
        if variable.artifact {
            snapshot.artifacts.push(variable.name.clone());
        }
        if variable.sensitive {
            if variable.default.is_none() || given.contains(variable.name.as_str()) {
                snapshot.sensitive.push(variable.name.clone());
            }
        } else if let Some(value) = config.variables.get(&variable.name) {
            snapshot
                .variables
                .insert(variable.name.clone(), value.clone());
        }
    }
    Ok(snapshot)
}

/// Adds the regular files under `directory` to `found`, hidden entries and large files left
/// out.
fn walk(
    directory: &Path,
    found: &mut BTreeSet<PathBuf>,
    stack_dir: &Path,
) -> Result<(), SnapshotError> {
    let entries = std::fs::read_dir(directory).map_err(io("list", directory))?;
    for entry in entries.filter_map(Result::ok) {
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        // Follows symlinks: a linked file is part of the stack as the loader sees it.
        let Ok(metadata) = std::fs::metadata(&path) else {
            continue;
        };
        if metadata.is_dir() {
            walk(&path, found, stack_dir)?;
        } else if metadata.is_file() {
            if metadata.len() > FILE_LIMIT_BYTES {
                tracing::warn!(
                    "`{}` is larger than {FILE_LIMIT_BYTES} bytes; the history does not record it",
                    path.display()
                );
                continue;
            }
            found.insert(path);
            if found.len() > FILE_COUNT_LIMIT {
                return Err(SnapshotError::TooManyFiles {
                    dir: stack_dir.to_path_buf(),
                });
            }
        }
    }
    Ok(())
}

/// `path` relative to `base` (both canonical), `/`-separated, with `..` where it leaves `base`.
fn relative(base: &Path, path: &Path) -> String {
    let base: Vec<Component> = base.components().collect();
    let target: Vec<Component> = path.components().collect();
    let common = base
        .iter()
        .zip(&target)
        .take_while(|(left, right)| left == right)
        .count();
    let mut parts: Vec<String> = vec!["..".to_string(); base.len() - common];
    parts.extend(
        target[common..]
            .iter()
            .map(|component| component.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

/// A recorded configuration written out to load it again; removed when dropped.
pub struct Materialized {
    _root: tempfile::TempDir,
    /// The stack directory, at the same depth below the root as the recorded paths need.
    pub dir: PathBuf,
    /// A variable file (outside the stack directory) with the recorded values.
    pub var_file: PathBuf,
}

/// Writes `files` and `variables` into a new temporary directory. The stack directory is
/// placed as deep as the recorded `..` paths need, under the names of the last components of
/// `original` (the stack's own directory), so modules outside the stack resolve as they did.
///
/// # Errors
/// A recorded path that would leave the directory, or the files cannot be written.
pub fn materialize(
    files: &BTreeMap<String, Vec<u8>>,
    variables: &BTreeMap<String, Value>,
    original: &Path,
) -> Result<Materialized, SnapshotError> {
    let mut depth = 0;
    for path in files.keys() {
        depth = depth.max(checked_depth(path)?);
    }
    let root = tempfile::Builder::new()
        .prefix("cairn-version-")
        .tempdir()
        .map_err(io("create", &std::env::temp_dir()))?;
    let names: Vec<String> = std::fs::canonicalize(original)
        .unwrap_or_else(|_| original.to_path_buf())
        .components()
        .filter_map(|component| match component {
            Component::Normal(name) => Some(name.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    let mut dir = root.path().join("stack");
    for level in 0..depth {
        let name = names
            .len()
            .checked_sub(depth - level)
            .and_then(|index| names.get(index))
            .cloned()
            .unwrap_or_else(|| format!("level{level}"));
        dir.push(name);
    }
    std::fs::create_dir_all(&dir).map_err(io("create", &dir))?;
    for (path, content) in files {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(io("create", parent))?;
        }
        std::fs::write(&target, content).map_err(io("write", &target))?;
    }
    let mut body = hcl::Body::builder();
    for (name, value) in variables {
        body = body.add_attribute((name.as_str(), super::value::from_model(value)));
    }
    let text = hcl::to_string(&body.build()).map_err(|error| SnapshotError::Variables {
        detail: error.to_string(),
    })?;
    let var_file = root.path().join("recorded.vars");
    std::fs::write(&var_file, text).map_err(io("write", &var_file))?;
    Ok(Materialized {
        _root: root,
        dir,
        var_file,
    })
}

/// How many leading `..` a recorded path has; a path with `..` elsewhere, an absolute path or
/// an empty one is refused.
fn checked_depth(path: &str) -> Result<usize, SnapshotError> {
    let bad = || SnapshotError::BadPath {
        path: path.to_string(),
    };
    let mut depth = 0;
    let mut named = 0;
    for component in Path::new(path).components() {
        match component {
            Component::ParentDir if named == 0 => depth += 1,
            Component::Normal(_) => named += 1,
            _ => return Err(bad()),
        }
    }
    if named == 0 { Err(bad()) } else { Ok(depth) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_climb_out_of_the_stack_for_modules_beside_it() {
        let base = Path::new("/work/examples/webapp");
        assert_eq!(
            relative(base, Path::new("/work/examples/webapp/main.hcl")),
            "main.hcl"
        );
        assert_eq!(
            relative(base, Path::new("/work/modules/alarms/main.hcl")),
            "../../modules/alarms/main.hcl"
        );
    }

    #[test]
    fn materialized_files_resolve_as_recorded() -> Result<(), Box<dyn std::error::Error>> {
        let files = BTreeMap::from([
            ("main.hcl".to_string(), b"stack".to_vec()),
            (
                "../../modules/alarms/main.hcl".to_string(),
                b"module".to_vec(),
            ),
        ]);
        let variables = BTreeMap::from([
            ("image".to_string(), Value::from("ami-2")),
            ("sizes".to_string(), serde_json::json!([1, 2])),
        ]);
        let written = materialize(&files, &variables, Path::new("/work/examples/webapp"))?;
        assert!(written.dir.ends_with("examples/webapp"));
        assert_eq!(std::fs::read(written.dir.join("main.hcl"))?, b"stack");
        assert_eq!(
            std::fs::read(written.dir.join("../../modules/alarms/main.hcl"))?,
            b"module"
        );
        let text = std::fs::read_to_string(&written.var_file)?;
        let body: hcl::Body = hcl::from_str(&text)?;
        assert_eq!(body.attributes().count(), 2);
        assert!(text.contains("\"ami-2\""));
        Ok(())
    }

    #[test]
    fn a_recorded_path_that_leaves_the_stack_is_refused() {
        for path in ["/etc/passwd", "a/../../b", "", ".."] {
            let files = BTreeMap::from([(path.to_string(), Vec::new())]);
            assert!(
                matches!(
                    materialize(&files, &BTreeMap::new(), Path::new("/x")),
                    Err(SnapshotError::BadPath { .. })
                ),
                "{path}"
            );
        }
    }
}
