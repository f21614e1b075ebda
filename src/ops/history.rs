//! Recording what a state-changing operation did: a version in the environment's history
//! ([`crate::state::history`]) and a line in the stack's audit log ([`crate::dr::audit`]),
//! written together when the operation ends, failed ones included; and `cairn history`, which
//! reads them back.
//!
//! Promises: the stack's files and non-sensitive variable values are recorded with every
//! version that applied a configuration (content-addressed, so unchanged files are stored
//! once); sensitive values never are; the audit line carries counts and digests, never values.

use super::OpsError;
use super::backend::StateStore;
use super::run::{ApplyOutcome, Held, PlanRequest, Stack};
use crate::config::snapshot::Snapshot;
use crate::dr::{AuditRecord, HeldLines};
use crate::plan::Plan;
use crate::state::history::{current_actor, digest_of};
use crate::state::{Changes, History, Outcome, RecordedSource, StateBackend, Version};
use chrono::{DateTime, Utc};
use std::time::Instant;

/// An operation under way, to be recorded when it ends.
pub(super) struct Recorder {
    operation: String,
    started: Instant,
    time: DateTime<Utc>,
    actor: String,
    /// The configuration it applies; none for an operation that applies none.
    source: Option<Snapshot>,
    /// The state serial before a state edit, to tell whether it wrote.
    serial_before: Option<u64>,
}

/// How an operation ended, as recorded.
pub(super) struct Ending {
    pub outcome: Outcome,
    pub failure: Option<String>,
    pub summary: String,
    pub changes: Changes,
    pub plan_digest: Option<String>,
    pub state_serial: Option<u64>,
    /// The region the audit line names (the primary, or where a DR operation went).
    pub region: String,
}

impl Ending {
    /// A successful operation that applied no plan (a state edit).
    pub fn succeeded(summary: String, state_serial: Option<u64>, region: String) -> Self {
        Ending {
            outcome: Outcome::Succeeded,
            failure: None,
            summary,
            changes: Changes::default(),
            plan_digest: None,
            state_serial,
            region,
        }
    }

    /// An operation stopped by `error`.
    pub fn failed(error: &OpsError, region: String) -> Self {
        Ending {
            outcome: Outcome::Failed,
            failure: Some(error.to_string()),
            summary: "failed".to_string(),
            changes: Changes::default(),
            plan_digest: None,
            state_serial: None,
            region,
        }
    }

    /// The ending of an apply that executed `outcome`'s plan; `None` when it executed nothing
    /// (no changes, declined, held back by policy), which records no version.
    pub fn of_apply(outcome: &ApplyOutcome, region: String) -> Option<Self> {
        let report = outcome.report.as_ref()?;
        let changes = changes_of(&outcome.plan);
        let failure = if report.succeeded() {
            None
        } else if let Some(fatal) = &report.fatal {
            Some(fatal.to_string())
        } else if let Some((address, _, reason)) = report.failed.first() {
            Some(format!("{address}: {reason}"))
        } else if report.interrupted {
            Some("interrupted".to_string())
        } else {
            Some(format!("{} steps not started", report.not_started.len()))
        };
        Some(Ending {
            outcome: if failure.is_none() {
                Outcome::Succeeded
            } else {
                Outcome::Failed
            },
            failure,
            summary: describe(&changes),
            changes,
            plan_digest: Some(plan_digest(&outcome.plan)),
            state_serial: Some(report.state.serial),
            region,
        })
    }
}

/// The counts of `plan`'s changes.
pub(super) fn changes_of(plan: &Plan) -> Changes {
    let summary = plan.summary();
    Changes {
        create: summary.create,
        update: summary.update,
        replace: summary.replace,
        delete: summary.delete,
    }
}

/// `2 created, 1 updated`; `no resource changed` for none.
fn describe(changes: &Changes) -> String {
    let parts: Vec<String> = [
        (changes.create, "created"),
        (changes.update, "updated"),
        (changes.replace, "replaced"),
        (changes.delete, "deleted"),
    ]
    .into_iter()
    .filter(|(count, _)| *count > 0)
    .map(|(count, verb)| format!("{count} {verb}"))
    .collect();
    if parts.is_empty() {
        "no resource changed (outputs or state only)".to_string()
    } else {
        parts.join(", ")
    }
}

/// Whether a file of the stack directory must stay out of the history: a saved plan (it
/// holds attribute values, sensitive ones among them) or anything sealed with a state key.
pub(super) fn not_recorded(content: &[u8]) -> bool {
    matches!(
        crate::state::encryption::sealed_with(content),
        Ok(Some(_)) | Err(_)
    ) || serde_json::from_slice::<crate::plan::PlanFile>(content).is_ok()
}

/// The SHA-256 of `plan` as saved.
pub(super) fn plan_digest(plan: &Plan) -> String {
    digest_of(&serde_json::to_vec(plan).unwrap_or_default())
}

impl Recorder {
    /// Starts the clock of `operation`, which applies `source` (if any).
    pub fn start(operation: &str, source: Option<Snapshot>) -> Self {
        Recorder {
            operation: operation.to_string(),
            started: Instant::now(),
            time: Utc::now(),
            actor: current_actor(),
            source,
            serial_before: None,
        }
    }

    /// Starts the clock of the state edit `operation`, made on a state at `serial`.
    pub fn start_edit(operation: &str, serial: u64) -> Self {
        Recorder {
            serial_before: Some(serial),
            ..Recorder::start(operation, None)
        }
    }

    /// Records the operation's version in `environment`'s history kept by `backend`, then its
    /// audit line; returns the version. The caller still holds the environment's lock.
    ///
    /// # Errors
    /// [`OpsError::Record`] when either cannot be written.
    pub fn finish(
        self,
        backend: &dyn StateBackend,
        stack: &str,
        environment: &str,
        ending: Ending,
    ) -> Result<Version, OpsError> {
        let operation = self.operation.clone();
        self.write(backend, stack, environment, ending, true)
            .map_err(|source| OpsError::Record {
                operation,
                source: Box::new(source),
            })
    }

    /// The version, then (when `audited`) the audit line.
    fn write(
        self,
        backend: &dyn StateBackend,
        stack: &str,
        environment: &str,
        ending: Ending,
        audited: bool,
    ) -> Result<Version, OpsError> {
        let history = History::new(backend, environment);
        // The files first: a version is only ever listed once everything it names is stored.
        let source = match self.source {
            Some(snapshot) => {
                let mut files = std::collections::BTreeMap::new();
                for (path, content) in &snapshot.files {
                    files.insert(path.clone(), history.store_file(content)?);
                }
                Some(RecordedSource {
                    files,
                    variables: snapshot.variables,
                    sensitive: snapshot.sensitive,
                    artifacts: snapshot.artifacts,
                })
            }
            None => None,
        };
        let version = history.record(Version {
            number: 0,
            time: self.time,
            actor: self.actor.clone(),
            operation: self.operation.clone(),
            summary: ending.summary,
            changes: ending.changes,
            outcome: ending.outcome,
            failure: ending.failure.clone(),
            duration_seconds: self.started.elapsed().as_secs_f64(),
            config_digest: source.as_ref().map(RecordedSource::digest),
            plan_digest: ending.plan_digest.clone(),
            state_serial: ending.state_serial,
            source,
        })?;
        if !audited {
            return Ok(version);
        }
        let record = AuditRecord {
            actor: self.actor,
            version: Some(version.number),
            plan_digest: ending.plan_digest,
            changes: Some(ending.changes),
            ..AuditRecord::new(
                self.time,
                self.operation,
                (stack, environment),
                ending.region,
                ending.failure.as_deref(),
            )
        };
        crate::dr::append_audit(backend, &record)?;
        Ok(version)
    }
}

/// Records a state edit (`import`, `state rm`, …) made under `held`'s lock, with the outcome
/// `result` had: its summary is the one the edit wrote into the state's own history.
///
/// # Errors
/// [`OpsError::Record`] when the version or the audit line cannot be written.
pub(super) fn record_edit<T>(
    stack: &Stack,
    held: &Held,
    recorder: Recorder,
    result: &Result<T, OpsError>,
) -> Result<(), OpsError> {
    let region = primary_region(stack);
    let ending = match result {
        Ok(_) => {
            let written = held
                .state
                .history
                .last()
                .filter(|entry| Some(entry.serial) > recorder.serial_before);
            Ending::succeeded(
                written.map_or_else(
                    || "nothing changed".to_string(),
                    |entry| entry.summary.clone(),
                ),
                written.map(|entry| entry.serial),
                region,
            )
        }
        Err(error) => Ending::failed(error, region),
    };
    recorder
        .finish(
            held.backend.as_ref(),
            &stack.config.stack,
            &held.state.environment,
            ending,
        )
        .map(drop)
}

/// Records a DR operation (`dr drill`, `backup run`, …) of `request`'s environment in its
/// history, with the outcome `result` had and the summary `summary` gives of its report; the
/// audit line is the DR operation's own. Applies no configuration, so it records none. An
/// operation that failed because the stack itself cannot be read is reported as it failed,
/// unrecorded.
///
/// # Errors
/// [`OpsError::Record`] when the version cannot be written.
/// Runs a backup or DR operation `run` and records it as `operation` in the environment's
/// history and audit log, failed runs too, with `summary` of a run that succeeded.
///
/// # Errors
/// The operation's error; [`OpsError::Record`] when a successful run cannot be recorded.
pub(super) async fn recorded_dr<T>(
    request: &PlanRequest,
    operation: &str,
    held: &HeldLines,
    run: impl Future<Output = Result<T, OpsError>>,
    summary: impl FnOnce(&T) -> String,
) -> Result<T, OpsError> {
    let recorder = Recorder::start(operation, None);
    let result = run.await;
    record_dr(request, recorder, held, &result, summary)?;
    result
}

/// Records the version, then appends the audit lines the run `held`, each naming it (none when
/// the version could not be recorded: the lines are never lost for it).
fn record_dr<T>(
    request: &PlanRequest,
    recorder: Recorder,
    held: &HeldLines,
    result: &Result<T, OpsError>,
    summary: impl FnOnce(&T) -> String,
) -> Result<(), OpsError> {
    let operation = recorder.operation.clone();
    let backend = Located::open(request, &request.environment)
        .ok()
        .and_then(|located| located.store.backend(&request.environment).ok());
    // A run the user cancelled before anything changed is no version of the environment.
    let cancelled = matches!(result, Err(OpsError::Cancelled { .. }));
    let write = || -> Result<Version, OpsError> {
        let located = Located::open(request, &request.environment)?;
        let backend = located.store.backend(&request.environment)?;
        let ending = match result {
            Ok(value) => Ending::succeeded(summary(value), None, String::new()),
            Err(error) => Ending::failed(error, String::new()),
        };
        let stack = &located.location.stack;
        recorder.write(backend.as_ref(), stack, &request.environment, ending, false)
    };
    let written = if cancelled { None } else { Some(write()) };
    let number = match &written {
        Some(Ok(version)) => Some(version.number),
        _ => None,
    };
    let lines = held.take();
    if let Some(backend) = &backend {
        for mut line in lines {
            line.version = number;
            let appended = crate::dr::append_audit(backend.as_ref(), &line);
            if let Err(source) = appended
                && result.is_ok()
            {
                return Err(OpsError::Record {
                    operation,
                    source: Box::new(OpsError::from(source)),
                });
            }
        }
    }
    let Some(written) = written else {
        return Ok(());
    };
    match written.map(drop) {
        Ok(()) => Ok(()),
        // The operation's own error says more than that of recording it.
        Err(_) if result.is_err() => Ok(()),
        Err(source) => Err(OpsError::Record {
            operation,
            source: Box::new(source),
        }),
    }
}

/// The primary region of `stack`'s environment, which audit lines name.
pub(super) fn primary_region(stack: &Stack) -> String {
    stack
        .environment
        .regions
        .first()
        .map(|primary| primary.name.clone())
        .unwrap_or_default()
}

/// An environment's history, for `cairn history`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HistoryReport {
    pub stack: String,
    pub environment: String,
    /// Where it is kept.
    pub location: String,
    /// Newest first.
    pub versions: Vec<Version>,
}

/// Where a stack's history lives, found from its `stack` block alone (see
/// [`crate::config::locate`]), for one environment.
pub(super) struct Located {
    pub location: crate::config::StackLocation,
    pub store: StateStore,
}

impl Located {
    /// Reads the `stack` block of `request.dir` and opens its state store; `environment`
    /// must be one of the stack's.
    ///
    /// # Errors
    /// Configuration errors of the `stack` block, an unknown environment, or a backend this
    /// build cannot use.
    pub fn open(request: &PlanRequest, environment: &str) -> Result<Located, OpsError> {
        let location = crate::config::locate(&request.dir, &request.load)?;
        if environment.is_empty() {
            return Err(OpsError::no_environment(&location.environments));
        }
        if !location.environments.iter().any(|name| name == environment) {
            let mut diagnostic = crate::config::Diagnostic::error(format!(
                "environment `{environment}` is not declared in stack `{}`",
                location.stack
            ));
            if let Some(hint) = crate::config::diagnostics::did_you_mean(
                environment,
                location.environments.iter().map(String::as_str),
            ) {
                diagnostic = diagnostic.hint(hint);
            }
            return Err(OpsError::Config(diagnostic.into()));
        }
        let store = StateStore::open(
            &location.backend,
            &super::encryption_settings(location.encryption.as_ref()),
        )?;
        Ok(Located { location, store })
    }

    /// The versions of `environment`, oldest first.
    ///
    /// # Errors
    /// The history cannot be read.
    pub fn versions(&self, environment: &str) -> Result<Vec<Version>, OpsError> {
        let backend = self.store.backend(environment)?;
        Ok(History::new(backend.as_ref(), environment).versions()?)
    }

    /// The files `source` recorded, read back and checked against their digests.
    ///
    /// # Errors
    /// A file is missing or damaged.
    pub fn files(
        &self,
        environment: &str,
        source: &RecordedSource,
    ) -> Result<std::collections::BTreeMap<String, Vec<u8>>, OpsError> {
        let backend = self.store.backend(environment)?;
        let history = History::new(backend.as_ref(), environment);
        let mut files = std::collections::BTreeMap::new();
        for (path, digest) in &source.files {
            files.insert(path.clone(), history.read_file(digest)?);
        }
        Ok(files)
    }
}

/// The versions of `request`'s environment, newest first.
///
/// # Errors
/// The stack's `stack` block cannot be read, or the history cannot be read.
pub fn history(request: &PlanRequest) -> Result<HistoryReport, OpsError> {
    let located = Located::open(request, &request.environment)?;
    let mut versions = located.versions(&request.environment)?;
    versions.reverse();
    Ok(HistoryReport {
        stack: located.location.stack.clone(),
        environment: request.environment.clone(),
        location: located
            .store
            .backend(&request.environment)?
            .history_location(),
        versions,
    })
}
