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

    /// A line of the state journal, before its last, does not parse.
    #[error("line {line} of the state journal `{path}` is corrupt: {source}")]
    #[diagnostic(help(
        "Cairn will not overwrite it; the state file beside it holds everything up to the run that wrote the journal"
    ))]
    CorruptJournal {
        path: PathBuf,
        line: usize,
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
    #[error("state is locked by {holder} ({age} ago); lock `{path}`")]
    #[diagnostic(help(
        "wait for that run to finish; if it died, remove its lock with: cairn force-unlock -e {environment} {}",
        holder.id
    ))]
    Locked {
        path: PathBuf,
        holder: Box<LockInfo>,
        /// How long ago the holder took (or last refreshed) the lock, for people to read.
        age: String,
        environment: String,
    },

    /// A lock whose holder stopped refreshing it: the run is most likely gone. It is never
    /// broken silently.
    #[error(
        "state is locked by {holder}, but its heartbeat stopped {age} ago: the run holding it is probably gone; lock `{path}`"
    )]
    #[diagnostic(help(
        "if that run is really gone, remove its lock with: cairn force-unlock -e {environment} {}",
        holder.id
    ))]
    StaleLock {
        path: PathBuf,
        holder: Box<LockInfo>,
        age: String,
        environment: String,
    },

    /// The stored state was replaced since this run read it (a compare-and-swap write was
    /// refused); nothing was overwritten.
    #[error(
        "state `{path}` changed under you: someone replaced it after this run read it, so this run's write was refused and nothing was overwritten"
    )]
    #[diagnostic(help(
        "another run or a person wrote the state while this one worked; see `cairn show`, then run `cairn plan` again (resources this run created are adopted by their tags)"
    ))]
    StateChanged { path: PathBuf },

    /// The storage refused access.
    #[error("access denied: cannot {action} `{path}` (bucket `{bucket}`, key `{key}`)")]
    #[diagnostic(help(
        "check that the credentials in use allow s3:GetObject, s3:PutObject and s3:DeleteObject on `{bucket}/{key}`"
    ))]
    AccessDenied {
        action: &'static str,
        path: PathBuf,
        bucket: String,
        key: String,
    },

    /// A remote storage call failed (after retries when the failure was transient).
    #[error("could not {action} `{path}`: {detail}")]
    Remote {
        action: &'static str,
        path: PathBuf,
        detail: String,
    },

    /// The bucket of an S3 backend does not exist.
    #[error("bucket `{bucket}` of the state backend does not exist")]
    #[diagnostic(help(
        "create it (with versioning on) or fix `bucket` in the `backend \"s3\"` block"
    ))]
    NoBucket { bucket: String },

    /// The state was moved to another backend by `cairn state migrate`.
    #[error("the state at `{path}` was migrated to `{to}` at {time}; this copy is only a record")]
    #[diagnostic(help(
        "point the `backend` block of the stack at `{to}` (or migrate it back with `cairn state migrate`)"
    ))]
    Migrated {
        path: PathBuf,
        to: String,
        time: String,
    },

    /// A migration's destination already holds a state of its own.
    #[error(
        "`{path}` already holds a state (lineage `{lineage}`, serial {serial}); refusing to overwrite it"
    )]
    #[diagnostic(help("migrate to an empty location, or move that state away first"))]
    DestinationInUse {
        path: PathBuf,
        lineage: String,
        serial: u64,
    },

    /// The copy a migration wrote does not read back as the state it copied.
    #[error("the copy at `{path}` does not match the state it was copied from: {detail}")]
    CopyMismatch { path: PathBuf, detail: String },

    /// The state cannot be opened (encrypted without the right key) or sealed.
    #[error("cannot read or write `{path}`: {source}")]
    #[diagnostic(help("{}", source.hint()))]
    Encryption {
        path: PathBuf,
        #[source]
        source: super::encryption::EncryptionError,
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

    /// The history of versions, or a file it recorded, cannot be used as stored.
    #[error("the history at `{path}` is damaged: {detail}")]
    #[diagnostic(help(
        "restore it from a backup of the state location; Cairn does not write over it"
    ))]
    HistoryDamaged { path: PathBuf, detail: String },

    /// A document could not be serialized (an internal error).
    #[error("internal error: could not serialize the state: {source}")]
    Serialize {
        #[source]
        source: serde_json::Error,
    },
}
