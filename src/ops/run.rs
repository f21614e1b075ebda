//! Plan and apply (and destroy, which is apply of a destroy plan), and the [`Stack`] every
//! operation starts from: the configuration loaded once, the state read once (under the lock
//! when the operation changes anything), and the environment placed where that state says it
//! runs ([`crate::dr::placement`]) before anything is planned.
//!
//! The policy rules judge the placed expansion: `cairn plan` carries their findings in the
//! plan, and an apply whose [`PolicyGate`] enforces them changes nothing while an error among
//! them is not allowed.

use super::OpsError;
use super::backend::{StateStore, encryption_settings};
use super::check::{self, AuditSite, PolicyGate};
use super::history::{Ending, Recorder};
use super::provider::{open_provider, settings_for};
use crate::apply::{self, ApplyObserver, ApplyOptions, ApplyReport, StateSink};
use crate::config::{Backend, Config, Diagnostic, Environment, LoadOptions};
use crate::dr::{Deployment, Placement};
use crate::graph::{self, ExpandOptions};
use crate::model::{Moved, Owner, Removed, resolve};
use crate::plan::{self, Observed, Plan, PlanFile, PlanOptions};
use crate::provider::{CloudSettings, Provider};
use crate::state::{EncryptionSettings, StateBackend, StateDocument, StateLock, StateOutput};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// What to plan.
#[derive(Debug, Clone, Default)]
pub struct PlanRequest {
    pub dir: PathBuf,
    pub environment: String,
    pub load: LoadOptions,
    /// `--target` addresses.
    pub target: Vec<String>,
    /// `--exclude` addresses.
    pub exclude: Vec<String>,
    /// `--retry-rollout`: the groups whose rolled-back release rolls out again.
    pub retry_rollouts: Vec<String>,
    pub refresh_only: bool,
    pub destroy: bool,
    /// `false` plans against state alone, without reading the cloud.
    pub skip_refresh: bool,
    /// Plan replacements and destroys in an environment with `protect = true` instead of
    /// refusing them (`--force`).
    pub force: bool,
    /// The environment itself, placed where its state says it runs; or a separate instance of
    /// it redeployed into another region (a drill), with its own state file
    /// (`<env>-<instance>.json`) and ownership tags (`cairn:env = <env>-<instance>`), so the
    /// environment's own state and refresh never see its resources.
    pub deployment: Deployment,
}

impl PlanRequest {
    /// The name state and ownership tags use: the environment, or `<env>-<instance>`.
    pub fn state_environment(&self) -> String {
        state_environment(&self.environment, &self.deployment)
    }
}

fn state_environment(environment: &str, deployment: &Deployment) -> String {
    match deployment.instance() {
        Some(instance) => format!("{environment}-{instance}"),
        None => environment.to_string(),
    }
}

/// A stack's configuration, loaded once for one environment, and where its state lives.
/// Opening it reads no state: what is planned is placed from a state read later, under the
/// lock when the operation changes anything.
pub struct Stack {
    pub dir: PathBuf,
    pub config: Config,
    /// The environment as configured (its primary regions, its `dr` block).
    pub environment: Environment,
    store: StateStore,
}

impl Stack {
    /// Loads the stack at `request.dir` for `request.environment`.
    ///
    /// # Errors
    /// No environment given, configuration diagnostics (an unknown environment among them),
    /// or a backend this build cannot use.
    pub fn open(request: &PlanRequest) -> Result<Stack, OpsError> {
        let config = crate::config::load(&request.dir, &request.load)?;
        if request.environment.is_empty() {
            return Err(OpsError::no_environment(config.environments.keys()));
        }
        Stack::with_config(request, config)
    }

    /// The stack of an already loaded `config` for `request.environment`, for operations that
    /// visit several environments of one configuration (`cairn check`) and load it once.
    ///
    /// # Errors
    /// An unknown environment, or a backend this build cannot use.
    pub fn with_config(request: &PlanRequest, config: Config) -> Result<Stack, OpsError> {
        let Some(environment) = config.environments.get(&request.environment).cloned() else {
            // The expansion's first step reports an unknown environment with the names the
            // stack has and the closest one; it stops there, before evaluating anything.
            let diagnostics =
                match graph::expand(&config, &request.environment, &ExpandOptions::default()) {
                    Err(diagnostics) => diagnostics,
                    Ok(_) => Diagnostic::internal(format!(
                        "environment `{}` was expanded but is not in the configuration",
                        request.environment
                    ))
                    .into(),
                };
            return Err(diagnostics.into());
        };
        // The configuration already resolved a local `path` against the stack directory.
        let store = StateStore::open(
            &config.backend,
            &encryption_settings(config.encryption.as_ref()),
        )?;
        Ok(Stack {
            dir: request.dir.clone(),
            config,
            environment,
            store,
        })
    }

    /// The state backend of `deployment` (the environment's, or its instance's).
    ///
    /// # Errors
    /// The environment's name cannot name a state.
    pub fn backend(&self, deployment: &Deployment) -> Result<Arc<dyn StateBackend>, OpsError> {
        self.store
            .backend(&state_environment(&self.environment.name, deployment))
    }

    /// The stack's audit log, kept by the state backend beside the states.
    ///
    /// # Errors
    /// The environment's name cannot name a state.
    pub fn audit_log(&self) -> Result<Arc<dyn StateBackend>, OpsError> {
        self.backend(&Deployment::Recorded)
    }

    /// Where the stack's states live.
    pub fn store(&self) -> &StateStore {
        &self.store
    }

    /// The state of `deployment`, or a new empty one, read without the lock: for operations
    /// that change no state (plan, backups, status).
    ///
    /// # Errors
    /// The state file is unreadable, corrupt or of a newer format.
    pub fn state(&self, deployment: &Deployment) -> Result<StateDocument, OpsError> {
        let backend = self.backend(deployment)?;
        self.stored(backend.as_ref(), deployment)
    }

    /// Takes the lock of `deployment`'s state for `operation` and reads the state under it:
    /// the one read an operation that changes anything places and plans from.
    ///
    /// # Errors
    /// The lock is held by another run, or the state cannot be read.
    pub fn hold(&self, deployment: &Deployment, operation: &str) -> Result<Held, OpsError> {
        let backend = self.backend(deployment)?;
        let lock = backend.lock(operation)?;
        let state = self.stored(backend.as_ref(), deployment)?;
        Ok(Held {
            backend,
            state,
            _lock: lock,
        })
    }

    fn stored(
        &self,
        backend: &dyn StateBackend,
        deployment: &Deployment,
    ) -> Result<StateDocument, OpsError> {
        let environment = state_environment(&self.environment.name, deployment);
        Ok(backend
            .load_for(&self.config.stack, &environment)?
            .unwrap_or_else(|| StateDocument::new(&self.config.stack, &environment)))
    }

    /// The environment placed for `deployment` as `state` records it.
    ///
    /// # Errors
    /// Configuration diagnostics of the expansion.
    pub fn place(
        &self,
        deployment: &Deployment,
        state: &StateDocument,
    ) -> Result<Placement, OpsError> {
        Ok(crate::dr::place(
            &self.config,
            &self.environment.name,
            deployment,
            state,
        )?)
    }

    /// The ownership tags of `deployment`'s resources.
    pub fn owner(&self, deployment: &Deployment) -> Owner {
        Owner {
            stack: self.config.stack.clone(),
            env: state_environment(&self.environment.name, deployment),
        }
    }

    /// Opens the environment's cloud.
    ///
    /// # Errors
    /// As [`open_provider`].
    pub async fn provider(&self) -> Result<Arc<dyn Provider>, OpsError> {
        open_provider(
            &settings_for(&self.environment, &self.dir),
            &self.environment.name,
        )
        .await
    }

    /// Where a plan of this stack applies.
    fn destination(&self) -> Destination {
        let encryption = self.store.encryption();
        Destination {
            cloud: settings_for(&self.environment, &self.dir),
            state_backend: self.store.settings().clone(),
            state_encryption: encryption.is_on().then(|| encryption.settings().clone()),
        }
    }

    /// What planning `deployment` needs of this stack besides its expansion (see
    /// [`Planning`]).
    pub(super) fn planning(&self, deployment: &Deployment) -> Planning {
        Planning {
            owner: self.owner(deployment),
            environment: self.environment.name.clone(),
            protect: self.environment.protect,
            moves: self.config.moves(),
            removed: self.config.removed(),
        }
    }
}

/// Where a plan applies: the environment's cloud and state backend, so applying the saved
/// file needs no configuration.
struct Destination {
    cloud: CloudSettings,
    state_backend: Backend,
    state_encryption: Option<EncryptionSettings>,
}

impl Destination {
    /// `plan` with where it applies.
    fn plan_file(self, plan: Plan) -> PlanFile {
        PlanFile {
            plan,
            cloud: self.cloud,
            state_backend: self.state_backend,
            state_encryption: self.state_encryption,
            // Given to `plan::save` by `Planned::save`: only a saved plan is checked against
            // its state, and digesting a 10,000-resource state is 9 MB of JSON (issue 14).
            state_digest: None,
        }
    }
}

/// What planning needs of a stack besides its expansion: whose resources the refresh reads,
/// the configuration's `moved` and `removed` blocks, and whether the environment is
/// protected. Taken from the configuration once, so that `cairn plan` can let the
/// configuration go before it reads the cloud (issue 14).
pub(super) struct Planning {
    owner: Owner,
    environment: String,
    protect: bool,
    moves: Vec<Moved>,
    removed: Vec<Removed>,
}

/// A state read under its lock; the lock is released when this is dropped.
pub struct Held {
    pub backend: Arc<dyn StateBackend>,
    pub state: StateDocument,
    _lock: StateLock,
}

impl Held {
    /// Writes the held state as its next version, still under the lock (a failover records
    /// where the environment runs before it plans).
    ///
    /// # Errors
    /// The backend refuses the write (see [`StateBackend::write`]).
    pub fn write(&mut self, operation: &str, summary: &str) -> Result<(), OpsError> {
        Ok(self.backend.write(&mut self.state, operation, summary)?)
    }
}

/// A plan with where it applies, and the state it was made against.
pub struct Planned {
    /// The plan with its cloud and state backend: what `cairn plan -o FILE` saves.
    pub file: PlanFile,
    pub state: StateDocument,
    /// The policy verdict on the configuration planned (its findings are also in the plan);
    /// none for a destroy or refresh-only plan, which the policy does not judge.
    pub policy: Option<crate::policy::Report>,
}

impl Planned {
    /// Saves the plan to `path` (see [`plan::save`]) with the digest of the state it was made
    /// against, so that applying it refuses a state replaced in the meantime.
    ///
    /// # Errors
    /// As [`plan::save`].
    pub fn save(&self, path: &std::path::Path) -> Result<(), plan::PlanError> {
        let digest = plan::state_digest(&self.state);
        plan::save(&self.file, Some(&digest), path)
    }
}

/// Refreshes and plans; reads state but takes no lock and changes nothing.
///
/// Each large input is let go once its last user is done, so they are never all alive at
/// once (issue 14): the configuration once expanded and judged, the provider (with the
/// simulated cloud it holds in memory) once the cloud is read, and what the refresh read
/// as the diff takes it over. The state stays: the plan is saved against it.
///
/// # Errors
/// Configuration, state, refresh or planning errors.
pub async fn make_plan(request: &PlanRequest) -> Result<Planned, OpsError> {
    // `CAIRN_LOG=cairn=debug` logs how long each phase took (issue 14).
    let stack = phase("parse", || Stack::open(request))?;
    let state = phase("state load", || stack.state(&request.deployment))?;
    let placement = phase("expand", || stack.place(&request.deployment, &state))?;
    let policy = if judged(request) {
        Some(phase("policy", || {
            crate::policy::check(&stack.config, &placement.expansion)
        })?)
    } else {
        None
    };
    let planning = stack.planning(&request.deployment);
    let destination = stack.destination();
    drop(stack);
    let provider = phase_of(
        "provider",
        open_provider(&destination.cloud, &planning.environment),
    )
    .await?;
    let observed = observe(&planning, &placement, &state, request, provider.as_ref()).await?;
    drop(provider);
    let mut plan = diff_placed(
        &planning,
        &placement,
        &state,
        request,
        observed,
        request.force,
    )?;
    if let Some(report) = &policy {
        plan.policy = check::plan_findings(report);
    }
    Ok(Planned {
        file: destination.plan_file(plan),
        state,
        policy,
    })
}

/// Runs `work` as the phase `name` of a command: `CAIRN_LOG=cairn=debug` logs how long it
/// took, to tell where a slow command's time goes (issue 14).
pub fn phase<T>(name: &'static str, work: impl FnOnce() -> T) -> T {
    let started = std::time::Instant::now();
    let result = work();
    log_phase(name, started);
    result
}

/// [`phase`] for work that waits.
pub async fn phase_of<T>(name: &'static str, work: impl std::future::Future<Output = T>) -> T {
    let started = std::time::Instant::now();
    let result = work.await;
    log_phase(name, started);
    result
}

fn log_phase(name: &'static str, started: std::time::Instant) {
    let milliseconds = started.elapsed().as_secs_f64() * 1000.0;
    // The resident set now and at its peak so far, to tell which phase holds the memory
    // (issue 14); read only when the line is logged.
    if tracing::enabled!(tracing::Level::DEBUG) {
        let (resident_mb, peak_mb) = resident_megabytes().unwrap_or_default();
        tracing::debug!(
            phase = name,
            milliseconds,
            resident_mb,
            peak_mb,
            "phase done"
        );
    }
}

/// The process's resident set and its peak so far, in MB, as Linux reports them in
/// `/proc/self/status`; `None` where there is no such file.
fn resident_megabytes() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|line| line.starts_with(name))?;
        let kilobytes: u64 = line
            .trim_start_matches(name)
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kilobytes / 1024)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// Whether the policy judges what `request` plans. A refresh-only plan changes nothing in the
/// cloud, and a destroy removes what the checks complain about: neither carries findings, so
/// neither is held back, whether applied at once or from a saved file.
fn judged(request: &PlanRequest) -> bool {
    !request.destroy && !request.refresh_only
}

/// What the refresh reads of `placement` (parked regions left out) for `owner`.
///
/// # Errors
/// A read fails.
pub(super) async fn refresh_placed(
    owner: &Owner,
    placement: &Placement,
    state: &StateDocument,
    provider: &dyn Provider,
) -> Result<Observed, OpsError> {
    let mut scopes = plan::refresh_scopes(&placement.expansion.resources, state);
    scopes.retain(|(region, _)| !placement.parked_regions.contains(region));
    Ok(phase_of("refresh", plan::refresh(provider, owner, &scopes, state)).await?)
}

/// Refreshes what `state` and `placement` cover (parked regions left out) and plans; with
/// `force`, a protected environment's resources may be replaced or destroyed.
pub(super) async fn plan_placed(
    stack: &Stack,
    placement: &Placement,
    state: &StateDocument,
    request: &PlanRequest,
    provider: &dyn Provider,
    force: bool,
) -> Result<Plan, OpsError> {
    let planning = stack.planning(&request.deployment);
    let observed = observe(&planning, placement, state, request, provider).await?;
    diff_placed(&planning, placement, state, request, observed, force)
}

/// What a plan of `placement` sees of the cloud: the refresh (unless skipped) and the objects
/// `import` blocks import.
async fn observe(
    planning: &Planning,
    placement: &Placement,
    state: &StateDocument,
    request: &PlanRequest,
    provider: &dyn Provider,
) -> Result<Observed, OpsError> {
    let mut observed = if request.skip_refresh {
        Observed::not_refreshed()
    } else {
        refresh_placed(&planning.owner, placement, state, provider).await?
    };
    // What `import` blocks import is read by id even without a refresh: without it, the
    // plan would create what exists. A destroy, a refresh-only plan or a drill (a copy of
    // the environment, which must not take its objects) imports nothing.
    if !request.destroy && !request.refresh_only && request.deployment.instance().is_none() {
        observed.imports = super::state_ops::read_imports(
            provider,
            &planning.owner,
            state,
            &placement.expansion.resources,
            &placement.expansion.imports,
        )
        .await?;
    }
    Ok(observed)
}

/// Plans `placement` against `state` and what was `observed` of the cloud; with `force`, a
/// protected environment's resources may be replaced or destroyed.
fn diff_placed(
    planning: &Planning,
    placement: &Placement,
    state: &StateDocument,
    request: &PlanRequest,
    observed: Observed,
    force: bool,
) -> Result<Plan, OpsError> {
    let desired = &placement.expansion.resources;
    // A destroyed environment has no outputs left to record.
    let outputs: BTreeMap<String, StateOutput> = placement
        .expansion
        .outputs
        .iter()
        .filter(|_| !request.destroy)
        .map(|(name, output)| {
            let value = StateOutput {
                value: output.value.clone(),
                sensitive: output.sensitive,
            };
            (name.clone(), value)
        })
        .collect();
    let options = PlanOptions {
        target: request.target.clone(),
        exclude: request.exclude.clone(),
        refresh_only: request.refresh_only,
        destroy: request.destroy,
        parked_regions: placement.parked_regions.clone(),
        // A destroy deletes what state records wherever it is recorded: nothing to move.
        moves: if request.destroy {
            Vec::new()
        } else {
            planning.moves.clone()
        },
        // Forgetting holds in a destroy too: what a `removed` block lets go of stays alive.
        removed: planning.removed.clone(),
        retry_rollouts: request.retry_rollouts.clone(),
        // A destroy of a protected environment is refused (or forced) before planning; a
        // drill is a copy of the environment, not the protected environment itself.
        protected_environment: (planning.protect
            && !force
            && !request.destroy
            && request.deployment.instance().is_none())
        .then(|| planning.environment.clone()),
    };
    let mut planned = phase("diff", || {
        plan::plan(desired, &outputs, state, observed, &options)
    })?;
    if !request.destroy {
        plan::plan_rollouts(&mut planned, &placement.expansion.rollouts, state);
    }
    Ok(planned)
}

/// What to apply: a fresh plan of `plan`, or the saved plan in `plan_file`.
#[derive(Debug, Clone, Default)]
pub struct ApplyRequest {
    pub plan: PlanRequest,
    pub plan_file: Option<PathBuf>,
    pub options: ApplyOptions,
    /// Destroy even a protected environment (and replace or destroy its resources, as
    /// `plan.force`).
    pub force: bool,
    /// Whether policy errors hold the apply back.
    pub policy: PolicyGate,
}

/// Asked once with the plan before anything changes; `Ok(false)` cancels.
pub type Confirm<'a> = &'a mut dyn FnMut(&Plan) -> Result<bool, OpsError>;

/// What an apply did.
pub struct ApplyOutcome {
    pub plan: Plan,
    /// `None` when there was nothing to do, the user declined or policy errors held it back.
    pub report: Option<ApplyReport>,
    pub declined: bool,
    /// The policy errors that held the apply back (nothing was changed); every finding is in
    /// `plan.policy`.
    pub blocked: Vec<crate::plan::PolicyFinding>,
}

/// Plans (or loads a saved plan), asks `confirm`, and executes, holding the state lock for
/// the whole run and saving state after every completed step. A fresh plan is made from the
/// state read once under that lock.
///
/// # Errors
/// Anything that stops the run before execution starts; failures during execution are in the
/// returned report instead, with state saved.
pub async fn apply(
    request: &ApplyRequest,
    confirm: Confirm<'_>,
    observer: &dyn ApplyObserver,
) -> Result<ApplyOutcome, OpsError> {
    if let Some(file) = &request.plan_file {
        return apply_saved(file, request, confirm, observer).await;
    }
    let stack = phase("parse", || Stack::open(&request.plan))?;
    let recorded = apply_recorded(&stack, request, confirm, observer, operation(request)).await?;
    Ok(recorded.outcome)
}

/// An apply with the version it recorded in the environment's history.
pub struct Recorded {
    pub outcome: ApplyOutcome,
    /// `None` when nothing was executed (no changes, declined, held back by policy).
    pub version: Option<crate::state::Version>,
}

/// Applies `stack` as [`apply`] does and records the run as `label` (`apply`, `destroy`,
/// `rollback to 3`, `promote from staging`) in the environment's history and audit log, with
/// the stack's files and variable values unless it is a destroy. Runs that fail after the
/// lock is taken are recorded too; runs that execute nothing are not.
///
/// # Errors
/// As [`apply`]; the failure is recorded first. [`OpsError::Record`] when the run could not
/// be recorded.
pub(super) async fn apply_recorded(
    stack: &Stack,
    request: &ApplyRequest,
    confirm: Confirm<'_>,
    observer: &dyn ApplyObserver,
    label: &str,
) -> Result<Recorded, OpsError> {
    let deployment = &request.plan.deployment;
    if request.plan.destroy && stack.environment.protect && !request.force {
        return Err(OpsError::Protected {
            environment: stack.environment.name.clone(),
        });
    }
    // What a destroy applies is the absence of the configuration: nothing to apply again.
    let snapshot = if request.plan.destroy {
        None
    } else {
        Some(crate::config::snapshot::capture(
            &stack.config,
            &request.plan.load,
            &super::history::not_recorded,
        )?)
    };
    let held = phase("state load", || stack.hold(deployment, operation(request)))?;
    let recorder = Recorder::start(label, snapshot);
    let result = async {
        let placement = phase("expand", || stack.place(deployment, &held.state))?;
        let provider = stack.provider().await?;
        apply_placed(
            stack, &held, &placement, request, provider, confirm, observer,
        )
        .await
    }
    .await;
    let region = super::history::primary_region(stack);
    let ending = match &result {
        Ok(outcome) => Ending::of_apply(outcome, region),
        Err(error) => Some(Ending::failed(error, region)),
    };
    let version = match ending {
        Some(ending) => Some(phase("record", || {
            recorder.finish(
                held.backend.as_ref(),
                &stack.config.stack,
                &held.state.environment,
                ending,
            )
        })?),
        None => None,
    };
    Ok(Recorded {
        outcome: result?,
        version,
    })
}

/// Approves every plan, for operations confirmed before they started (a drill, a failover):
/// their applies do not ask again.
///
/// # Errors
/// Never; the signature is [`Confirm`]'s.
pub(super) fn approve_all(_plan: &Plan) -> Result<bool, OpsError> {
    Ok(true)
}

/// The lock and history name of an apply.
fn operation(request: &ApplyRequest) -> &'static str {
    if request.plan.destroy {
        "destroy"
    } else {
        "apply"
    }
}

/// Plans `placement` against the held state, asks `confirm` and executes: the core of every
/// apply, the DR operations' included. The lock is released when this returns.
///
/// # Errors
/// Refresh or planning errors, or `confirm`'s; failures during execution are in the report.
pub(super) async fn apply_held(
    stack: &Stack,
    held: Held,
    placement: &Placement,
    request: &ApplyRequest,
    provider: Arc<dyn Provider>,
    confirm: Confirm<'_>,
    observer: &dyn ApplyObserver,
) -> Result<ApplyOutcome, OpsError> {
    apply_placed(
        stack, &held, placement, request, provider, confirm, observer,
    )
    .await
}

/// As [`apply_held`], leaving the lock to the caller (which records the run under it).
async fn apply_placed(
    stack: &Stack,
    held: &Held,
    placement: &Placement,
    request: &ApplyRequest,
    provider: Arc<dyn Provider>,
    confirm: Confirm<'_>,
    observer: &dyn ApplyObserver,
) -> Result<ApplyOutcome, OpsError> {
    let mut plan = plan_placed(
        stack,
        placement,
        &held.state,
        &request.plan,
        provider.as_ref(),
        request.force || request.plan.force,
    )
    .await?;
    if request.policy != PolicyGate::Off && judged(&request.plan) {
        let report = crate::policy::check(&stack.config, &placement.expansion)?;
        plan.policy = check::plan_findings(&report);
    }
    let site = AuditSite {
        log: stack.audit_log()?,
        region: stack
            .environment
            .regions
            .first()
            .map(|primary| primary.name.clone())
            .unwrap_or_default(),
    };
    execute(plan, provider, held, &site, request, confirm, observer).await
}

/// Applies the saved plan in `file` to the state it was made against.
async fn apply_saved(
    file: &std::path::Path,
    request: &ApplyRequest,
    confirm: Confirm<'_>,
    observer: &dyn ApplyObserver,
) -> Result<ApplyOutcome, OpsError> {
    // What shapes a fresh plan would be silently ignored here.
    let shaping: Vec<&str> = [
        ("`--target`", !request.plan.target.is_empty()),
        ("`--exclude`", !request.plan.exclude.is_empty()),
        ("`--retry-rollout`", !request.plan.retry_rollouts.is_empty()),
        ("`--refresh-only`", request.plan.refresh_only),
        ("`--var`", !request.plan.load.vars.is_empty()),
        ("`--var-file`", !request.plan.load.var_files.is_empty()),
    ]
    .into_iter()
    .filter_map(|(flag, given)| given.then_some(flag))
    .collect();
    if !shaping.is_empty() {
        return Err(OpsError::PlanFileOptions {
            flags: shaping.join(", "),
        });
    }
    let PlanFile {
        plan,
        cloud,
        state_backend,
        state_encryption,
        state_digest,
    } = plan::load(file)?;
    if plan.environment != request.plan.environment && !request.plan.environment.is_empty() {
        return Err(OpsError::PlanEnvironment {
            found: plan.environment.clone(),
            wanted: request.plan.environment.clone(),
        });
    }
    let store = StateStore::open(&state_backend, &state_encryption.unwrap_or_default())?;
    let backend = store.backend(&plan.environment)?;
    let site = AuditSite {
        // Every environment's backend keeps the stack's one audit log.
        log: Arc::clone(&backend),
        region: plan
            .changes
            .first()
            .map(|change| change.region.clone())
            .unwrap_or_default(),
    };
    let lock = backend.lock(operation(request))?;
    let state = backend
        .load_for(&plan.stack, &plan.environment)?
        .unwrap_or_else(|| StateDocument::new(&plan.stack, &plan.environment));
    plan::ensure_applicable(&plan, &state)?;
    // Same lineage and serial, yet other content: the state was replaced behind Cairn's back
    // (restored, edited). The plan was made against something else; it is not applied.
    if let Some(digest) = state_digest
        && state.serial != 0
        && digest != plan::state_digest(&state)
    {
        return Err(OpsError::Plan(plan::PlanError::StateReplaced {
            location: backend.location(),
        }));
    }
    let held = Held {
        backend,
        state,
        _lock: lock,
    };
    // A saved plan carries no configuration: its version records none, and a rollback to it
    // says so.
    let recorder = Recorder::start(operation(request), None);
    let result = async {
        let provider = open_provider(&cloud, &plan.environment).await?;
        execute(plan, provider, &held, &site, request, confirm, observer).await
    }
    .await;
    let ending = match &result {
        Ok(outcome) => Ending::of_apply(outcome, site.region.clone()),
        Err(error) => Some(Ending::failed(error, site.region.clone())),
    };
    if let Some(ending) = ending {
        recorder.finish(
            held.backend.as_ref(),
            &held.state.stack,
            &held.state.environment,
            ending,
        )?;
    }
    result
}

/// Asks `confirm` and runs `plan`, saving state through the held backend, unless policy
/// errors the request's gate does not allow hold it back. The lock is released when this
/// returns.
async fn execute(
    plan: Plan,
    provider: Arc<dyn Provider>,
    held: &Held,
    site: &AuditSite,
    request: &ApplyRequest,
    confirm: Confirm<'_>,
    observer: &dyn ApplyObserver,
) -> Result<ApplyOutcome, OpsError> {
    let changes = plan.has_changes() || outputs_changed(&plan, &held.state);
    // Policy errors hold back changes; with nothing to change there is nothing to hold.
    let blocked = if changes {
        request.policy.blocked(&plan.policy)
    } else {
        Vec::new()
    };
    if !changes || !blocked.is_empty() {
        return Ok(ApplyOutcome {
            plan,
            report: None,
            declined: false,
            blocked,
        });
    }
    if !confirm(&plan)? {
        return Ok(ApplyOutcome {
            plan,
            report: None,
            declined: true,
            blocked,
        });
    }
    let allowed = request.policy.allowed(&plan.policy);
    if !allowed.is_empty() {
        check::record_allowed(site, &plan, &allowed)?;
    }
    let mut options = request.options.clone();
    options.operation = operation(request).to_string();
    let mut sink = BackendSink(held.backend.as_ref());
    let report = phase_of(
        "execute",
        apply::execute(
            &plan,
            Arc::clone(&provider),
            held.state.clone(),
            &mut sink,
            &options,
            observer,
        ),
    )
    .await;
    // The apply's calls are all made and saved: the cloud may now put its files in the shape
    // the next command reads fastest (issue 14). A failure costs only that command's time, so
    // it is a warning, not the apply's failure.
    if let Err(error) = phase_of("finish", provider.finish()).await {
        tracing::warn!(
            "could not compact the cloud's files after the apply: {}",
            crate::util::errors::error_chain(&error)
        );
    }
    Ok(ApplyOutcome {
        plan,
        report: Some(report),
        declined: false,
        blocked,
    })
}

/// Whether applying would change the recorded outputs even though no resource changes.
fn outputs_changed(plan: &Plan, state: &StateDocument) -> bool {
    let resolved: BTreeMap<String, StateOutput> = plan
        .outputs
        .iter()
        .map(|(name, output)| {
            let value = resolve(&output.value, &|reference| state.lookup(reference));
            let output = StateOutput {
                value,
                sensitive: output.sensitive,
            };
            (name.clone(), output)
        })
        .collect();
    resolved != state.outputs
}

/// Saves state through the backend after every batch of steps; the executor already set the
/// serial.
struct BackendSink<'a>(&'a dyn StateBackend);

impl StateSink for BackendSink<'_> {
    fn persist(
        &mut self,
        state: &StateDocument,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.0.persist(state).map_err(Into::into)
    }

    fn persist_changes(
        &mut self,
        state: &StateDocument,
        changed: &std::collections::BTreeSet<crate::model::Address>,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.0.persist_changes(state, changed).map_err(Into::into)
    }
}
