//! The errors an operation reports, each wrapping the stage that failed.

use crate::config::Diagnostics;
use crate::dr::DrError;
use crate::model::{Kind, Owner};
use crate::plan::PlanError;
use crate::provider::ProviderError;
use crate::provider::sim::SimError;
use crate::state::StateError;

/// What stopped an operation before or instead of applying.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum OpsError {
    /// The configuration has errors; the diagnostics render themselves.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Config(Diagnostics),
    #[error(transparent)]
    #[diagnostic(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Plan(#[from] PlanError),
    /// A backup or DR step failed (no DR region, no backup copy, an unhealthy group, ...).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Dr(#[from] DrError),
    /// A cloud call of an operation failed; `action` says what it was doing.
    #[error("could not {action}: {source}")]
    Cloud {
        action: String,
        #[source]
        source: ProviderError,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Sim(#[from] SimError),
    #[cfg(feature = "aws")]
    #[error(transparent)]
    #[diagnostic(transparent)]
    Aws(#[from] crate::provider::aws::AwsError),
    /// `backend "s3"` in a build without the AWS SDK.
    #[error(
        "the state backend is S3 (bucket `{bucket}`), but this build of cairn has no S3 client"
    )]
    #[diagnostic(help("build with the default features: cargo build (not --no-default-features)"))]
    S3Unavailable { bucket: String },
    /// The state passphrase is missing or unusable.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Encryption(#[from] crate::state::EncryptionError),
    /// `state migrate` to the backend the state is already in.
    #[error("the state is already in that backend (`{location}`)")]
    #[diagnostic(help("name the other backend with `--to`"))]
    SameBackend { location: String },
    /// A bug: something the engine relies on did not hold.
    #[error("internal error: {message}")]
    Internal { message: String },
    /// This binary was built without the AWS provider.
    #[error(
        "environment `{environment}` uses cloud `aws`, but this build of cairn has no AWS provider"
    )]
    #[diagnostic(help("build with the default features: cargo build (not --no-default-features)"))]
    AwsUnavailable { environment: String },
    /// `destroy` of an environment with `protect = true`.
    #[error("environment `{environment}` is protected (`protect = true`); destroy refused")]
    #[diagnostic(help(
        "run `cairn destroy -e {environment} --force` if you really mean it; `cairn state rm ADDRESS` stops managing a resource and leaves it in the cloud"
    ))]
    Protected { environment: String },
    /// Confirmation is needed and nobody can give it.
    #[error("apply needs confirmation, but standard input is not a terminal")]
    #[diagnostic(help("review the plan and run again with --auto-approve"))]
    NoConfirmation,
    /// The user answered no to a failover's or failback's plan; nothing was changed.
    #[error("the {operation} was cancelled; nothing was changed")]
    Cancelled { operation: String },
    /// An address given on the command line is unknown.
    #[error("no resource `{address}` in {place}")]
    UnknownAddress { address: String, place: String },
    /// `state mv` onto an address state already records.
    #[error("cannot move `{from}` to `{to}`: `{to}` is already in the state")]
    #[diagnostic(help(
        "one object is managed at one address; `cairn state rm {to}` first if the object there should be let go"
    ))]
    MoveTargetExists { from: String, to: String },
    /// A command that works on one environment was not told which.
    #[error("no environment given")]
    #[diagnostic(help("pass `-e ENV`, one of {environments}"))]
    NoEnvironment {
        /// The stack's environments, as a list in backticks.
        environments: String,
    },
    /// `import` of an address state already manages.
    #[error("`{address}` is already managed by cairn")]
    #[diagnostic(help(
        "remove it first with `cairn state rm {address}` if you want to import another resource there"
    ))]
    AlreadyManaged { address: String },
    /// `import` of an object state already records at another address.
    #[error("`{id}` is already managed by cairn as `{address}`")]
    #[diagnostic(help(
        "one object is managed at one address; `cairn state rm {address}` first to import it elsewhere"
    ))]
    ImportedElsewhere { id: String, address: String },
    /// `cairn discover --kind` of a block type it cannot discover.
    #[error("`cairn discover` cannot list `{kind}` objects")]
    #[diagnostic(help("it lists {known}"))]
    NotDiscoverable { kind: String, known: String },
    /// An `import` block cannot import what it names (the reason is the source).
    #[error("the `import` block at {location} cannot import: {source}")]
    #[diagnostic(help("{}", import_hint(source)))]
    ImportBlock {
        location: crate::model::SourceLocation,
        #[source]
        source: Box<OpsError>,
    },
    /// `import` of an id the cloud does not have.
    #[error("{kind} `{id}` does not exist in {region}: there is nothing to import")]
    #[diagnostic(help("check the id and that the environment's region is the object's"))]
    ImportNotFound {
        kind: Kind,
        region: String,
        id: String,
    },
    /// `import` of an object that carries another stack's or environment's ownership tags.
    #[error(
        "{kind} `{id}` is managed by {owner}{}; refusing to import it",
        owner_address.as_ref().map(|address| format!(" as `{address}`")).unwrap_or_default()
    )]
    #[diagnostic(help(
        "release it there with `cairn state rm`, or import again with `--take-over` to take it over (that environment's state still records it, and its next plan would create it again until it is removed there)"
    ))]
    OwnedElsewhere {
        kind: Kind,
        id: String,
        owner: Owner,
        owner_address: Option<String>,
        address: String,
    },
    /// `state rm` or `import` of an address an interrupted run left a call unresolved for: the
    /// cloud may hold an object of it that state does not record yet.
    #[error(
        "the {intent}, interrupted at {since}, is not resolved yet; refusing to {command} `{address}`"
    )]
    #[diagnostic(help(
        "run `cairn apply` first (`cairn plan` shows how it resolves the interrupted call), then `cairn {command}` again"
    ))]
    PendingIntent {
        intent: String,
        since: String,
        command: String,
        address: String,
    },
    /// `import` of an object that takes no tags of its own (a scaling policy carries its
    /// group's ownership, a DNS record its zone's) whose owner is not this environment.
    #[error(
        "{kind} `{id}` takes its ownership from its {parent}, which this environment does not manage"
    )]
    #[diagnostic(help("import (or take over) its {parent} first, or in the same plan"))]
    ImportUntaggable {
        kind: Kind,
        id: String,
        parent: Kind,
    },
    /// `--allow` names a rule that does not exist.
    #[error("unknown policy rule `{rule}`")]
    #[diagnostic(help("`cairn check --rules` lists the rules and their ids"))]
    UnknownRule { rule: String },
    /// The audit log could not record an apply allowed past policy errors.
    #[error("cannot record the allowed policy errors in the audit log: {source}")]
    Audit {
        #[source]
        source: DrError,
    },
    /// The stack's files could not be captured for the history, or a recorded version could
    /// not be written out to load it again.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Snapshot(#[from] crate::config::snapshot::SnapshotError),
    /// The operation ran, but its version or audit line could not be recorded.
    #[error("the {operation} ran, but it could not be recorded in the history: {source}")]
    #[diagnostic(help("`cairn history` misses this {operation}; the state itself is saved"))]
    Record {
        operation: String,
        #[source]
        source: Box<OpsError>,
    },
    /// `cairn rollback` or `cairn promote` asked for a version the history does not have.
    #[error("{what}")]
    #[diagnostic(help("{hint}"))]
    NoVersion { what: String, hint: String },
    /// A recorded version needs a sensitive variable that the history never stores.
    #[error(
        "version {version} of `{environment}` needs the sensitive variable `{name}`, which the history never stores"
    )]
    #[diagnostic(help(
        "pass `--var {name}=VALUE` or set `CAIRN_VAR_{name}`, as a plan of that configuration would need"
    ))]
    SensitiveNeeded {
        version: u64,
        environment: String,
        name: String,
    },
    /// A command that reads recorded state found none.
    #[error("no state for environment `{environment}` yet: nothing has been applied")]
    #[diagnostic(help("run `cairn apply -e {environment}` first"))]
    NoState { environment: String },
    /// `cairn output --name` of an output the state does not record.
    #[error("no output `{name}` in environment `{environment}`")]
    #[diagnostic(help("`cairn output -e {environment}` lists the outputs"))]
    NoOutput { name: String, environment: String },
    /// The plan file belongs to another environment than the one asked for.
    #[error("the plan file is for environment `{found}`, not `{wanted}`")]
    PlanEnvironment { found: String, wanted: String },
    /// Options that shape a fresh plan given with a saved one, which they cannot change.
    #[error("{flags} cannot change a saved plan: it is applied as it was made")]
    #[diagnostic(help("give them to `cairn plan -o FILE`, or apply without a plan file"))]
    PlanFileOptions { flags: String },
}

/// The hint of an `import` block's failure: the one its reason carries.
impl OpsError {
    /// No `-e` given to a command that works on one environment, naming the stack's.
    pub fn no_environment<'a>(names: impl IntoIterator<Item = &'a String>) -> OpsError {
        let mut names: Vec<&str> = names.into_iter().map(String::as_str).collect();
        names.sort_unstable();
        OpsError::NoEnvironment {
            environments: crate::config::schema::list(&names),
        }
    }
}

fn import_hint(source: &OpsError) -> String {
    use miette::Diagnostic;
    if let OpsError::PendingIntent { .. } = source {
        // The apply that resolves the call plans the `import` block too, so it must go first.
        return "take the `import` block out, run `cairn apply` to resolve the interrupted call, then put the block back".to_string();
    }
    source
        .help()
        .map(|help| help.to_string())
        .unwrap_or_else(|| "check the block's `id` and `to`".to_string())
}

impl From<Diagnostics> for OpsError {
    fn from(diagnostics: Diagnostics) -> Self {
        OpsError::Config(diagnostics)
    }
}
