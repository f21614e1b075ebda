//! Errors of refresh, planning and plan files.

use crate::model::{Address, Kind, SourceLocation};
use crate::provider::ProviderError;
use crate::state::StateError;
use std::fmt;
use std::path::PathBuf;

/// What went wrong making, saving or checking a plan.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum PlanError {
    /// A batched read failed (after retries for throttling and transient errors).
    #[error("refresh could not read {kind} resources in `{region}`: {source}")]
    Refresh {
        region: String,
        kind: Kind,
        #[source]
        source: ProviderError,
    },

    /// The plan would replace or destroy resources protected by `lifecycle.prevent_destroy`.
    #[error(
        "the plan would replace or destroy resources protected by `lifecycle {{ prevent_destroy = true }}`:{}",
        ProtectedList(.resources)
    )]
    #[diagnostic(help(
        "remove `prevent_destroy` from the block first if destroying is really intended; a `moved` block keeps a renamed block's object; `cairn state rm ADDRESS` stops managing a resource and leaves it in the cloud"
    ))]
    PreventDestroy { resources: Vec<ProtectedResource> },

    /// The plan would replace or destroy resources of an environment with `protect = true`.
    #[error(
        "environment `{environment}` is protected (`protect = true`), but the plan would replace or destroy:{}",
        ProtectedList(.resources)
    )]
    #[diagnostic(help(
        "a `moved` block keeps the object of a renamed block; `removed {{ from = ADDRESS  lifecycle {{ destroy = false }} }}` stops managing one and leaves it in the cloud; run again with `--force` if replacing or destroying is really intended"
    ))]
    ProtectedEnvironment {
        environment: String,
        resources: Vec<ProtectedResource>,
    },

    /// A `moved` block leads onto an address state records for another object.
    #[error(
        "the `moved` block at {location} moves `{from}` to `{to}`, but `{to}` is already managed"
    )]
    #[diagnostic(help(
        "one object is managed at one address: `cairn state rm {to}` releases the object there, or point the `moved` block elsewhere"
    ))]
    MoveTargetExists {
        from: Address,
        to: Address,
        location: SourceLocation,
    },

    /// A `moved` block moves an address the configuration still declares.
    #[error(
        "the `moved` block at {location} moves `{from}` to `{to}`, but the configuration still declares `{address}`"
    )]
    #[diagnostic(help(
        "rename the block `{from}` to `{to}` in the configuration (the `moved` block says it was renamed), or delete the `moved` block"
    ))]
    MovedStillDeclared {
        from: String,
        to: String,
        address: Address,
        location: SourceLocation,
    },

    /// A `removed` block names an address the configuration still declares.
    #[error(
        "the `removed` block at {location} removes `{from}`, but the configuration still declares `{address}`"
    )]
    #[diagnostic(help(
        "delete the block `{from}` from the configuration, or the `removed` block if it should stay managed"
    ))]
    RemovedStillDeclared {
        from: String,
        address: Address,
        location: SourceLocation,
    },

    /// The desired resources depend on each other in a circle.
    #[error("dependency cycle between {}", AddressList(.addresses))]
    DependencyCycle { addresses: Vec<Address> },

    /// The planned operations cannot be ordered (for example a destroy-then-create
    /// replacement that other changes must wait for in both directions).
    #[error("the planned operations cannot be ordered: {}", .steps.join(", "))]
    #[diagnostic(help(
        "set `lifecycle {{ create_before_destroy = true }}` on the replaced resources, or apply in two steps with `--target`"
    ))]
    StepCycle { steps: Vec<String> },

    /// A `--target` or `--exclude` names nothing in the configuration, the state or the
    /// cloud.
    #[error("{flag} `{target}` matches no resource")]
    #[diagnostic(help("{}", target_hint(closest.as_deref())))]
    TargetMatchesNothing {
        flag: &'static str,
        target: String,
        /// The block path or address closest to `target`, when one is close.
        closest: Option<String>,
    },

    /// A `--retry-rollout` names no group whose release a rollback undid.
    #[error("--retry-rollout `{pattern}` matches no rolled-back rollout")]
    #[diagnostic(help("{}", retry_hint(.rolled_back)))]
    RetryMatchesNothing {
        pattern: String,
        /// The groups whose release was rolled back, if any.
        rolled_back: Vec<Address>,
    },

    /// Destroy-then-create replacements of objects instances still use: the cloud refuses
    /// an old object's delete until they move to the new one, which needs it gone first.
    #[error(
        "the plan replaces what instances still run with, destroying it first:{}",
        ReplacedInUseList(.replacements)
    )]
    #[diagnostic(help(
        "add `lifecycle {{ create_before_destroy = true }}` to each block (in the same network, \
         with another `name`: a network holds one security group of a name): the new one is \
         created, the instances move to it with their next rollout, and a later apply deletes \
         the old one"
    ))]
    ReplaceInUse { replacements: Vec<ReplacedInUse> },

    /// `create_before_destroy` replacements whose new object takes the old one's name where
    /// the cloud allows one of a name: the create fails while the old object exists.
    #[error(
        "the plan creates a replacement before deleting the old object, but both would have \
         the same name:{}",
        SameNameList(.replacements)
    )]
    #[diagnostic(help(
        "set another `name` in each block (a network holds one security group of a name), or \
         drop `create_before_destroy` if nothing uses the old object"
    ))]
    ReplaceKeepsName {
        replacements: Vec<SameNameReplacement>,
    },

    /// `--retry-rollout` with `--refresh-only` or `--destroy` (`flag`), which roll nothing out.
    #[error("--retry-rollout `{pattern}` cannot be used with {flag}")]
    #[diagnostic(help("{}", retry_rolls_nothing_out_hint(flag)))]
    RetryRollsNothingOut { pattern: String, flag: &'static str },

    /// A `--retry-rollout` whose rolled-back groups the plan leaves out (`--target`,
    /// `--exclude`, a parked region): retrying them would do nothing.
    #[error(
        "--retry-rollout `{pattern}` names {}, which this plan leaves out",
        backticked(.addresses)
    )]
    #[diagnostic(help("{}", retry_out_of_scope_hint(*.parked)))]
    RetryOutOfScope {
        pattern: String,
        addresses: Vec<Address>,
        /// Whether they lie in a parked region (a failed-over environment's primary), which
        /// no flag of this plan brings back.
        parked: bool,
    },

    /// A plan file could not be read or written.
    #[error("could not {action} plan file `{path}`: {source}")]
    PlanFileIo {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Writing the plan file failed.
    #[error("could not write plan file `{path}`: {source}")]
    PlanFileWrite {
        path: PathBuf,
        #[source]
        source: StateError,
    },

    /// A plan file is not a plan.
    #[error("plan file `{path}` is not a valid plan: {source}")]
    PlanFileInvalid {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    /// A plan file was written by a newer Cairn.
    #[error(
        "plan file `{path}` has format version {found}, newer than the version {supported} this Cairn reads"
    )]
    #[diagnostic(help("apply it with the Cairn version that made it, or run `cairn plan` again"))]
    PlanFileNewer {
        path: PathBuf,
        found: u64,
        supported: u32,
    },

    /// A plan file was written by an older Cairn; plans are short-lived, so it is not
    /// converted.
    #[error(
        "plan file `{path}` has format version {found}, older than the version {supported} this Cairn reads"
    )]
    #[diagnostic(help("run `cairn plan -o FILE` again with this Cairn and apply the new file"))]
    PlanFileOlder {
        path: PathBuf,
        found: u64,
        supported: u32,
    },

    /// The saved plan was made against another state (lineage).
    #[error(
        "the saved plan was made for state lineage `{plan_lineage}`, but the current state has lineage `{state_lineage}`"
    )]
    #[diagnostic(help("run `cairn plan` again for this environment"))]
    StateLineageChanged {
        plan_lineage: String,
        state_lineage: String,
    },

    /// The state changed since the plan was made.
    #[error(
        "the saved plan is stale: it was made against state serial {plan_serial}, but the state is now at serial {state_serial}"
    )]
    #[diagnostic(help("run `cairn plan` again"))]
    StateSerialChanged { plan_serial: u64, state_serial: u64 },

    /// The state has the lineage and serial the plan was made against, but other content: it
    /// was replaced behind Cairn's back.
    #[error(
        "the state at `{location}` was replaced since this plan was made (same serial, other content)"
    )]
    #[diagnostic(help("run `cairn plan -o FILE` again against the state as it is now"))]
    StateReplaced { location: String },

    /// A sealed plan file could not be opened or a plan file could not be sealed.
    #[error("plan file `{path}`: {source}")]
    #[diagnostic(help("{}", source.hint()))]
    PlanFileSealed {
        path: PathBuf,
        #[source]
        source: crate::state::EncryptionError,
    },

    /// The saved plan belongs to another stack or environment.
    #[error(
        "the saved plan is for `{plan_stack}` environment `{plan_environment}`, not `{stack}` environment `{environment}`"
    )]
    WrongEnvironment {
        plan_stack: String,
        plan_environment: String,
        stack: String,
        environment: String,
    },

    /// A plan could not be serialized (an internal error).
    #[error("internal error: could not serialize the plan: {source}")]
    Serialize {
        #[source]
        source: serde_json::Error,
    },
}

/// A destroy-then-create replacement refused because instances still use the old object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplacedInUse {
    pub address: Address,
    /// The old object's cloud id.
    pub id: String,
    /// The block to change; `None` only if the configuration has none (never for a
    /// replacement, which the configuration asks for).
    pub source: Option<SourceLocation>,
    /// The attributes whose change forces the replacement.
    pub replace_because: Vec<String>,
    /// The groups whose instances run with the old object.
    pub users: Vec<Address>,
}

/// One line each: ``changing `description` replaces `a` (`sg-1`, defined at main.hcl:3:1),
/// but the instances of `b` still run with it``.
struct ReplacedInUseList<'a>(&'a [ReplacedInUse]);

impl fmt::Display for ReplacedInUseList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for replaced in self.0 {
            let id = format!("`{}`", replaced.id);
            let details = [Some(id), replaced.source.as_ref().map(defined_at)];
            write_replacement(f, &replaced.replace_because, &replaced.address, &details)?;
            write!(
                f,
                ", but the instances of {} still run with it",
                backticked(&replaced.users)
            )?;
        }
        Ok(())
    }
}

/// A `create_before_destroy` replacement whose new object would take the old one's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SameNameReplacement {
    pub address: Address,
    /// The name both objects would have.
    pub name: String,
    pub source: Option<SourceLocation>,
    /// The attributes whose change forces the replacement.
    pub replace_because: Vec<String>,
}

/// One line each: ``changing `description` replaces `a` (defined at main.hcl:3:1): the new
/// object would be named `web` too``.
struct SameNameList<'a>(&'a [SameNameReplacement]);

impl fmt::Display for SameNameList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for replaced in self.0 {
            let details = [replaced.source.as_ref().map(defined_at)];
            write_replacement(f, &replaced.replace_because, &replaced.address, &details)?;
            write!(f, ": the new object would be named `{}` too", replaced.name)?;
        }
        Ok(())
    }
}

/// Writes a line ``changing `a`, `b` replaces `address` (details)``, the details that are
/// known separated by commas.
fn write_replacement(
    f: &mut fmt::Formatter<'_>,
    replace_because: &[String],
    address: &Address,
    details: &[Option<String>],
) -> fmt::Result {
    write!(
        f,
        "\n  changing {} replaces `{address}`",
        backticked(replace_because)
    )?;
    let known: Vec<&str> = details.iter().flatten().map(String::as_str).collect();
    if !known.is_empty() {
        write!(f, " ({})", known.join(", "))?;
    }
    Ok(())
}

fn defined_at(source: &SourceLocation) -> String {
    format!("defined at {source}")
}

/// A protected resource a plan would replace or destroy, where it was defined and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedResource {
    pub address: Address,
    /// `None` when the block is gone from the configuration (only state remembers it).
    pub source: Option<SourceLocation>,
    /// The attributes whose change forces a replacement; empty for a destroy.
    pub replace_because: Vec<String>,
}

/// One line each: `replace `a` (defined at main.hcl:3:1; `cidr` forces replacement)`,
/// `destroy `b` (...)`.
struct ProtectedList<'a>(&'a [ProtectedResource]);

impl fmt::Display for ProtectedList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for resource in self.0 {
            f.write_str("\n  ")?;
            let verb = if resource.replace_because.is_empty() {
                "destroy"
            } else {
                "replace"
            };
            write!(f, "{verb} `{}` (", resource.address)?;
            match &resource.source {
                Some(source) => write!(f, "defined at {source}")?,
                None => {
                    f.write_str("recorded in state; its block is no longer in the configuration")?
                }
            }
            if !resource.replace_because.is_empty() {
                let names: Vec<String> = resource
                    .replace_because
                    .iter()
                    .map(|name| format!("`{name}`"))
                    .collect();
                let forces = if names.len() == 1 { "forces" } else { "force" };
                write!(f, "; {} {forces} replacement", names.join(", "))?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

struct AddressList<'a>(&'a [Address]);

impl fmt::Display for AddressList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self
            .0
            .iter()
            .map(|address| format!("`{address}`"))
            .collect();
        f.write_str(&names.join(" -> "))
    }
}

/// The hint of [`PlanError::RetryMatchesNothing`]: the groups it could name.
fn retry_hint(rolled_back: &[Address]) -> String {
    if rolled_back.is_empty() {
        return "no rollout of this environment was rolled back; a plain `cairn apply` rolls \
                out what changed"
            .to_string();
    }
    format!("rolled back: {}", backticked(rolled_back))
}

/// The hint of [`PlanError::RetryRollsNothingOut`]: why the plan `flag` makes rolls nothing out.
fn retry_rolls_nothing_out_hint(flag: &str) -> &'static str {
    if flag == "--destroy" {
        "a destroy deletes the groups; drop `--retry-rollout` to destroy, or `--destroy` to roll \
         the release out again"
    } else {
        "a refresh-only plan changes nothing in the cloud; drop `--refresh-only` to roll the \
         release out again"
    }
}

/// The hint of [`PlanError::RetryOutOfScope`]: how to bring the groups into the plan.
fn retry_out_of_scope_hint(parked: bool) -> &'static str {
    if parked {
        "the environment failed over, and its groups in the region it left are out of every \
         plan until `cairn dr failback`; retry the rollout after it"
    } else {
        "include the group in `--target` (or drop it from `--exclude`) to roll it out again"
    }
}

/// `items` in backticks, separated by commas.
fn backticked<T: fmt::Display>(items: &[T]) -> String {
    let names: Vec<String> = items.iter().map(|item| format!("`{item}`")).collect();
    names.join(", ")
}

/// The hint of [`PlanError::TargetMatchesNothing`]: the closest name when a typo is likely.
fn target_hint(closest: Option<&str>) -> String {
    match closest {
        Some(candidate) => format!("did you mean `{candidate}`?"),
        None => "addresses look like `network.main` or `network.main[us-east-1]`".to_string(),
    }
}
