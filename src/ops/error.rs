//! The errors an operation reports, each wrapping the stage that failed.

use crate::config::Diagnostics;
use crate::dr::DrError;
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
    #[error("cannot reach the cloud: {0}")]
    Provider(#[source] ProviderError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Sim(#[from] SimError),
    #[cfg(feature = "aws")]
    #[error(transparent)]
    #[diagnostic(transparent)]
    Aws(#[from] crate::provider::aws::AwsError),
    /// `backend "s3"` is parsed but not implemented yet.
    #[error("the `s3` state backend (bucket `{bucket}`) is not supported by this version")]
    #[diagnostic(help("use `backend \"local\"` for now"))]
    S3Unsupported { bucket: String },
    /// This binary was built without the AWS provider.
    #[error(
        "environment `{environment}` uses cloud `aws`, but this build of cairn has no AWS provider"
    )]
    #[diagnostic(help("build with the default features: cargo build (not --no-default-features)"))]
    AwsUnavailable { environment: String },
    /// `destroy` of an environment with `protect = true`.
    #[error("environment `{environment}` is protected (`protect = true`); destroy refused")]
    #[diagnostic(help("run `cairn destroy -e {environment} --force` if you really mean it"))]
    Protected { environment: String },
    /// Confirmation is needed and nobody can give it.
    #[error("apply needs confirmation, but standard input is not a terminal")]
    #[diagnostic(help("review the plan and run again with --auto-approve"))]
    NoConfirmation,
    /// An address given on the command line is unknown.
    #[error("no resource `{address}` in {place}")]
    UnknownAddress { address: String, place: String },
    /// A command that works on one environment was not told which.
    #[error("no environment given")]
    #[diagnostic(help("pass `-e ENV`; `cairn validate` lists the environments of a stack"))]
    NoEnvironment,
    /// `import` of an address state already manages.
    #[error("`{address}` is already managed by cairn")]
    #[diagnostic(help(
        "remove it first with `cairn state rm {address}` if you want to import another resource there"
    ))]
    AlreadyManaged { address: String },
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
}

impl From<Diagnostics> for OpsError {
    fn from(diagnostics: Diagnostics) -> Self {
        OpsError::Config(diagnostics)
    }
}
