//! `cairn rollback` and `cairn promote`: applying a configuration the history recorded.
//!
//! A rollback loads the files and variable values a version recorded (written out to a
//! temporary directory), keeps the stack's own state location and cloud, and goes through the
//! same apply entry point as `cairn apply`: the plan is shown and confirmed the same way, the
//! policy gate applies, and the run is recorded as a new version. A promote plans the target
//! environment from the current files with the artifact values the source environment last
//! applied successfully.
//!
//! Promises: a sensitive variable a version needs is asked for (it is never stored); a version
//! that recorded no configuration, or a source without a successful version, is refused with
//! the reason, before anything is locked or planned.

use super::OpsError;
use super::history::Located;
use super::run::{ApplyOutcome, ApplyRequest, Confirm, Stack, apply_recorded};
use crate::apply::ApplyObserver;
use crate::config::LoadOptions;
use crate::config::snapshot::materialize;
use crate::state::{Outcome, RecordedSource, Version};

/// A rollback or a promote that ran.
pub struct Released {
    pub outcome: ApplyOutcome,
    /// The version whose configuration (or artifacts) was applied.
    pub from: Version,
    /// The version this run recorded; `None` when it executed nothing.
    pub recorded: Option<Version>,
}

/// What to roll back.
#[derive(Debug, Clone, Default)]
pub struct RollbackRequest {
    /// The stack, the environment, and the variables given on the command line (a sensitive
    /// one the version needs among them).
    pub apply: ApplyRequest,
    /// The version to go back to; the one before the current one when `None`.
    pub to: Option<u64>,
}

/// Plans the configuration `request.to` recorded against the live cloud, asks `confirm`,
/// applies and records a new version.
///
/// # Errors
/// No such version, a version without a configuration, a sensitive variable not given, the
/// recorded files cannot be loaded, or anything an apply reports before it executes.
pub async fn rollback(
    request: &RollbackRequest,
    confirm: Confirm<'_>,
    observer: &dyn ApplyObserver,
) -> Result<Released, OpsError> {
    let environment = request.apply.plan.environment.clone();
    let located = Located::open(&request.apply.plan, &environment)?;
    let versions = located.versions(&environment)?;
    let target = choose(&versions, request.to, &environment)?;
    let source = applied_source(&target, &environment)?;
    let given = &request.apply.plan.load;
    // Variable files given on the command line may hold the value; the loader then decides.
    if given.var_files.is_empty()
        && let Some(name) = source.sensitive.iter().find(|name| {
            !given
                .vars
                .iter()
                .chain(&given.env_vars)
                .any(|(given, _)| given == *name)
        })
    {
        return Err(OpsError::SensitiveNeeded {
            version: target.number,
            environment,
            name: name.clone(),
        });
    }
    let files = located.files(&environment, source)?;
    let written = materialize(&files, &source.variables, &request.apply.plan.dir)?;
    // The recorded values come in as a variable file: above the environment's
    // `CAIRN_VAR_*`, below the command line's `--var`.
    let load = LoadOptions {
        vars: given.vars.clone(),
        var_files: std::iter::once(written.var_file.clone())
            .chain(given.var_files.iter().cloned())
            .collect(),
        env_vars: given.env_vars.clone(),
    };
    let mut config = crate::config::load(&written.dir, &load)?;
    // The recorded files name the state location relative to where they were applied from:
    // the stack's own location (and cloud, from the stack directory) is kept.
    config.backend = located.location.backend.clone();
    config.encryption = located.location.encryption.clone();
    let mut apply = request.apply.clone();
    apply.plan.load = load;
    let stack = Stack::with_config(&apply.plan, config)?;
    let label = format!("rollback to {}", target.number);
    let recorded = apply_recorded(&stack, &apply, confirm, observer, &label).await?;
    Ok(Released {
        outcome: recorded.outcome,
        from: target,
        recorded: recorded.version,
    })
}

/// The version `to`, or the one before the current one: the newest successful version that
/// applied a configuration before the newest one that did.
fn choose(versions: &[Version], to: Option<u64>, environment: &str) -> Result<Version, OpsError> {
    let missing = |what: String| OpsError::NoVersion {
        what,
        hint: format!("`cairn history -e {environment}` lists the versions"),
    };
    if let Some(number) = to {
        return versions
            .iter()
            .find(|version| version.number == number)
            .cloned()
            .ok_or_else(|| missing(format!("`{environment}` has no version {number}")));
    }
    let mut applied = versions
        .iter()
        .rev()
        .filter(|version| version.outcome == Outcome::Succeeded && version.source.is_some());
    let current = applied.next();
    match (current, applied.next()) {
        (Some(_), Some(before)) => Ok(before.clone()),
        _ => Err(missing(format!(
            "`{environment}` has no earlier successfully applied version to roll back to"
        ))),
    }
}

/// The configuration `version` recorded.
fn applied_source<'a>(
    version: &'a Version,
    environment: &str,
) -> Result<&'a RecordedSource, OpsError> {
    version.source.as_ref().ok_or_else(|| OpsError::NoVersion {
        what: format!(
            "version {} of `{environment}` ({}) recorded no configuration to apply again",
            version.number, version.operation
        ),
        hint: "roll back to a version made by apply, rollback or promote".to_string(),
    })
}

/// What to promote.
#[derive(Debug, Clone, Default)]
pub struct PromoteRequest {
    /// The target environment (`apply.plan.environment`) and the variables given.
    pub apply: ApplyRequest,
    /// The source environment.
    pub from: String,
}

/// Plans the target environment with the artifact values the source environment last applied
/// successfully, asks `confirm`, applies and records a new version in the target's history.
///
/// # Errors
/// The source has no successful version, or it recorded no artifact; anything an apply
/// reports before it executes.
pub async fn promote(
    request: &PromoteRequest,
    confirm: Confirm<'_>,
    observer: &dyn ApplyObserver,
) -> Result<Released, OpsError> {
    let target_environment = &request.apply.plan.environment;
    let located = Located::open(&request.apply.plan, &request.from)?;
    if target_environment.is_empty() {
        return Err(OpsError::no_environment(&located.location.environments));
    }
    if *target_environment == request.from {
        return Err(OpsError::NoVersion {
            what: format!("cannot promote `{}` to itself", request.from),
            hint: "name another environment with `--to`".to_string(),
        });
    }
    let source_version = located
        .versions(&request.from)?
        .into_iter()
        .rev()
        .find(|version| version.outcome == Outcome::Succeeded && version.source.is_some())
        .ok_or_else(|| OpsError::NoVersion {
            what: format!(
                "`{}` has no successfully applied version to promote from",
                request.from
            ),
            hint: format!(
                "apply `{}` first: `cairn apply -e {}`",
                request.from, request.from
            ),
        })?;
    let artifacts: Vec<(String, String)> = source_version
        .source
        .iter()
        .flat_map(|source| {
            source.artifacts.iter().filter_map(|name| {
                let value = source.variables.get(name)?;
                Some((name.clone(), variable_text(value)))
            })
        })
        .collect();
    if artifacts.is_empty() {
        return Err(OpsError::NoVersion {
            what: format!(
                "version {} of `{}` recorded no artifact to promote",
                source_version.number, request.from
            ),
            hint: "mark the variables that name a build artifact with `artifact = true` (`variable \"image\" { artifact = true }`) and apply the source again".to_string(),
        });
    }
    let mut apply = request.apply.clone();
    // Last, so they win over any value given for them: the same artifact everywhere.
    apply.plan.load.vars.extend(artifacts);
    let stack = Stack::open(&apply.plan)?;
    let label = format!("promote from {}", request.from);
    let recorded = apply_recorded(&stack, &apply, confirm, observer, &label).await?;
    Ok(Released {
        outcome: recorded.outcome,
        from: source_version,
        recorded: recorded.version,
    })
}

/// `value` as a `--var` flag gives it: the text of a string, HCL for anything else.
fn variable_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        other => hcl::format::to_string(&crate::config::value::from_model(other))
            .unwrap_or_else(|_| other.to_string()),
    }
}
