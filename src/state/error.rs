//! Errors of the state backends: each names the file involved and says what to do.

use super::lock::LockInfo;
use std::path::PathBuf;

/// The stack and environment a state document belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateOwner {
    pub stack: String,
    pub environment: String,
}

impl std::fmt::Display for StateOwner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "environment `{}` of stack `{}`",
            self.environment, self.stack
        )
    }
}

/// What went wrong reading, writing or locking a state.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum StateError {
    /// A file system operation failed.
    #[error("could not {action} `{path}`: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The state file is not valid JSON or not a state document.
    #[error("state file `{path}` is corrupt: {source}")]
    #[diagnostic(help(
        "Cairn will not overwrite it; restore it from `{}.backup` or from your own copy",
        path.display()
    ))]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    /// The state file ends early (an interrupted copy, a full disk).
    #[error("state file `{path}` is truncated: {source}")]
    #[diagnostic(help(
        "Cairn will not overwrite it; restore it from `{}.backup` or from your own copy",
        path.display()
    ))]
    Truncated {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    /// The state was written by a newer Cairn.
    #[error(
        "state file `{path}` has format version {found}, newer than the version {supported} this Cairn understands"
    )]
    #[diagnostic(help("upgrade Cairn; this version will not overwrite it"))]
    NewerFormat {
        path: PathBuf,
        found: u64,
        supported: u32,
    },

    /// The file on disk belongs to another state than the document being written.
    #[error(
        "state file `{path}` has lineage `{on_disk}`, but the state being written has lineage `{writing}`; refusing to overwrite another environment's state"
    )]
    #[diagnostic(help(
        "check the stack directory and `-e` environment, or move the file away if it is really obsolete"
    ))]
    LineageMismatch {
        path: PathBuf,
        on_disk: String,
        writing: String,
    },

    /// The stored document records another stack or environment than the one being run: a
    /// state file copied over this one by mistake, or a remote key shared by two environments.
    #[error("state `{location}` belongs to {found}, not to {wanted}; refusing to use it")]
    #[diagnostic(help(
        "put back this environment's own state (the `.backup` beside it, or your copy); Cairn neither plans against nor overwrites another environment's state"
    ))]
    Foreign {
        location: String,
        found: Box<StateOwner>,
        wanted: Box<StateOwner>,
    },

    /// The file on disk is newer than the document being written (another run wrote it).
    #[error(
        "state file `{path}` is at serial {on_disk}, but this run's state would be written as serial {writing}; another run changed the state in the meantime"
    )]
    #[diagnostic(help("run `cairn plan` again"))]
    StaleSerial {
        path: PathBuf,
        on_disk: u64,
        writing: u64,
    },

    /// Another run holds the lock.
    #[error("state is locked by {holder}; lock file `{path}`")]
    #[diagnostic(help(
        "wait for that run to finish, or if it died: cairn force-unlock {}",
        holder.id
    ))]
    Locked {
        path: PathBuf,
        holder: Box<LockInfo>,
    },

    /// A lock file exists but cannot be read (a run died while taking it).
    #[error("state is locked, but the lock file `{path}` cannot be read: {detail}")]
    #[diagnostic(help("if no other run is active, delete `{}`", path.display()))]
    LockUnreadable { path: PathBuf, detail: String },

    /// `force-unlock` was given an id that is not the holder's.
    #[error("lock id `{given}` does not match the lock held by {holder}")]
    #[diagnostic(help("cairn force-unlock {}", holder.id))]
    LockIdMismatch {
        given: String,
        holder: Box<LockInfo>,
    },

    /// `force-unlock` found no lock.
    #[error("state is not locked (no lock file `{path}`)")]
    NotLocked { path: PathBuf },

    /// The environment name cannot be used as a file name.
    #[error("environment name `{name}` cannot name a state file")]
    #[diagnostic(help("use letters, digits, `-` and `_`"))]
    InvalidEnvironment { name: String },

    /// A document could not be serialized (an internal error).
    #[error("internal error: could not serialize the state: {source}")]
    Serialize {
        #[source]
        source: serde_json::Error,
    },
}
