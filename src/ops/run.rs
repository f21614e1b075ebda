//! Plan and apply (and destroy, which is apply of a destroy plan).

use super::OpsError;
use super::check::{self, PolicyGate};
use super::provider::{open_provider, settings_for};
use crate::apply::{self, ApplyObserver, ApplyOptions, ApplyReport, StateSink};
use crate::config::{Backend, Config, DrMode, LoadOptions};
use crate::graph::{self, ExpandOptions, Expansion, RegionOverride};
use crate::model::{Address, Attributes, Kind, Owner, Value, resolve};
use crate::plan::{self, Observed, Plan, PlanOptions};
use crate::provider::Provider;
use crate::state::{Failover, LocalBackend, StateBackend, StateDocument, StateOutput};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

/// Setting key in a plan: the directory the state backend keeps its files in, so a saved plan
/// finds its state without reading the configuration.
const STATE_ROOT: &str = "state_root";

/// What to plan.
#[derive(Debug, Clone, Default)]
pub struct PlanRequest {
    pub dir: PathBuf,
    pub environment: String,
    pub load: LoadOptions,
    /// `--target` addresses.
    pub target: Vec<String>,
    pub refresh_only: bool,
    pub destroy: bool,
    /// `false` plans against state alone, without reading the cloud.
    pub skip_refresh: bool,
    /// Where the environment runs instead of its configured regions (DR).
    pub expand: ExpandOptions,
    /// A separate instance of the environment (`drill`): its own state file
    /// (`<env>-<instance>.json`) and its own ownership tags (`cairn:env = <env>-<instance>`),
    /// so the environment's own state and refresh never see its resources.
    pub instance: Option<String>,
    /// Attributes set on desired resources after expansion, before planning (a drill restores
    /// volumes from snapshots and sizes groups for the DR region).
    pub attribute_overrides: BTreeMap<Address, Attributes>,
}

impl PlanRequest {
    /// The name state and ownership tags use: the environment, or `<env>-<instance>`.
    pub fn state_environment(&self) -> String {
        match &self.instance {
            Some(instance) => format!("{}-{instance}", self.environment),
            None => self.environment.clone(),
        }
    }
}

/// A loaded, expanded stack for one environment, with its state backend.
pub struct Stack {
    pub dir: PathBuf,
    /// The configuration the expansion came from (policy findings point into it).
    pub config: Config,
    pub expansion: Expansion,
    pub backend: LocalBackend,
    state_root: PathBuf,
    /// The environment name in state and ownership tags (see [`PlanRequest::instance`]).
    state_environment: String,
    /// Where the environment runs when its state says it failed over.
    pub failover: Option<Failover>,
    /// Regions whose recorded resources the plan leaves alone (the primary while failed over).
    pub parked_regions: BTreeSet<String>,
}

impl Stack {
    /// Loads and expands the stack at `request.dir` for `request.environment`.
    ///
    /// # Errors
    /// Configuration diagnostics, or a backend this build cannot use.
    pub fn load(request: &PlanRequest) -> Result<Stack, OpsError> {
        if request.environment.is_empty() {
            return Err(OpsError::NoEnvironment);
        }
        // A separate instance (a drill) names its cloud resources after itself.
        let mut expand = request.expand.clone();
        if expand.instance.is_none() {
            expand.instance.clone_from(&request.instance);
        }
        let (config, mut expansion) =
            graph::load_and_expand(&request.dir, &request.load, &request.environment, &expand)?;
        let state_root = match &expansion.backend {
            // The configuration already resolved `path` against the stack directory; joining
            // it again put the state under `DIR/DIR/.cairn` whenever DIR was relative.
            Backend::Local { path } => path.clone(),
            Backend::S3 { bucket, .. } => {
                return Err(OpsError::S3Unsupported {
                    bucket: bucket.clone(),
                });
            }
        };
        let state_root = std::path::absolute(&state_root).unwrap_or(state_root);
        let state_environment = request.state_environment();
        let backend = LocalBackend::with_root(&state_root, &state_environment)?;

        // Where the environment runs decides what it is made of, so the state is read here
        // already. An unreadable state is reported by whoever reads it for real (plan, apply).
        let recorded = backend.load().ok().flatten();
        let failover = recorded
            .as_ref()
            .and_then(|state| state.failover.clone())
            .filter(|_| request.expand.region_override.is_none());
        let mut parked_regions = BTreeSet::new();
        if let Some(failover) = &failover {
            // The whole environment runs in the failover region; the primary's resources
            // stay in state untouched until failback (the primary may not even answer).
            parked_regions = expansion
                .environment
                .regions
                .iter()
                .map(|region| region.name.clone())
                .collect();
            let options = ExpandOptions {
                region_override: Some(RegionOverride {
                    region: failover.region.clone(),
                    zones: failover.zones.clone(),
                }),
                ..Default::default()
            };
            expansion = graph::expand(&config, &request.environment, &options)?;
            // Backups taken while failed over go back to the primary, for failback.
            for policy in &mut expansion.backup_policies {
                if policy.copy_to.as_deref() == Some(failover.region.as_str()) {
                    policy.copy_to = Some(failover.primary.clone());
                }
            }
        } else if request.instance.is_none()
            && request.expand.region_override.is_none()
            && let Some(dr) = expansion.environment.dr.clone()
            && dr.mode != DrMode::BackupRestore
        {
            let options = ExpandOptions {
                region_override: Some(RegionOverride {
                    region: dr.region.clone(),
                    zones: dr.zones.clone(),
                }),
                ..Default::default()
            };
            let in_dr = graph::expand(&config, &request.environment, &options)?;
            let standby = graph::standby(&expansion, in_dr, &dr);
            expansion.resources.extend(standby);
        }

        // Volumes restored from backups keep starting from their snapshot (a volume created
        // again after a failover must not come back empty).
        let restores = recorded
            .iter()
            .flat_map(|state| &state.restores)
            .filter(|_| request.instance.is_none());
        for (address, snapshot) in restores {
            if let Some(resource) = expansion.resources.get_mut(address)
                && resource.kind == Kind::Volume
                && resource
                    .attributes
                    .get("snapshot_id")
                    .is_none_or(Value::is_null)
            {
                resource
                    .attributes
                    .insert("snapshot_id".to_string(), Value::String(snapshot.clone()));
            }
        }
        for (address, attributes) in &request.attribute_overrides {
            let Some(resource) = expansion.resources.get_mut(address) else {
                return Err(OpsError::UnknownAddress {
                    address: address.to_string(),
                    place: format!("environment `{}`", request.environment),
                });
            };
            resource.attributes.extend(attributes.clone());
        }
        Ok(Stack {
            dir: request.dir.clone(),
            config,
            expansion,
            backend,
            state_root,
            state_environment,
            failover,
            parked_regions,
        })
    }

    /// The environment's state, or a new empty one.
    ///
    /// # Errors
    /// The state file is unreadable, corrupt or of a newer format.
    pub fn state(&self) -> Result<StateDocument, OpsError> {
        Ok(self
            .backend
            .load()?
            .unwrap_or_else(|| StateDocument::new(&self.expansion.stack, &self.state_environment)))
    }

    fn owner(&self) -> Owner {
        Owner {
            stack: self.expansion.stack.clone(),
            env: self.state_environment.clone(),
        }
    }
}

/// A plan with the state it was made against.
pub struct Planned {
    pub plan: Plan,
    pub state: StateDocument,
    /// The policy verdict on the configuration planned; its errors are also in the plan.
    pub policy: crate::policy::Report,
}

/// Refreshes and plans; reads state but takes no lock and changes nothing.
///
/// # Errors
/// Configuration, state, refresh or planning errors.
pub async fn make_plan(request: &PlanRequest) -> Result<Planned, OpsError> {
    let stack = Stack::load(request)?;
    let policy = crate::policy::check(&stack.config, &stack.expansion)?;
    let state = stack.state()?;
    let (mut plan, _) = plan_stack(&stack, &state, request).await?;
    plan.policy = check::plan_findings(&policy);
    Ok(Planned {
        plan,
        state,
        policy,
    })
}

/// What the refresh reads of the stack's environment (every region but parked ones).
///
/// # Errors
/// The provider cannot be opened or a read fails.
pub(super) async fn observe(stack: &Stack, state: &StateDocument) -> Result<Observed, OpsError> {
    let environment = &stack.expansion.environment;
    let (cloud, settings) = settings_for(environment, &stack.dir);
    let provider = open_provider(&cloud, &settings, &environment.name).await?;
    refresh_stack(provider.as_ref(), stack, state).await
}

/// One refresh of the stack's regions through `provider`.
async fn refresh_stack(
    provider: &dyn Provider,
    stack: &Stack,
    state: &StateDocument,
) -> Result<Observed, OpsError> {
    let mut scopes = plan::refresh_scopes(&stack.expansion.resources, state);
    scopes.retain(|(region, _)| !stack.parked_regions.contains(region));
    Ok(plan::refresh(provider, &stack.owner(), &scopes, state).await?)
}

async fn plan_stack(
    stack: &Stack,
    state: &StateDocument,
    request: &PlanRequest,
) -> Result<(Plan, Arc<dyn Provider>), OpsError> {
    let environment = &stack.expansion.environment;
    let (cloud, mut settings) = settings_for(environment, &stack.dir);
    let provider = open_provider(&cloud, &settings, &environment.name).await?;
    let desired = &stack.expansion.resources;
    let observed = if request.skip_refresh {
        Observed::not_refreshed()
    } else {
        refresh_stack(provider.as_ref(), stack, state).await?
    };
    // A destroyed environment has no outputs left to record.
    let outputs: BTreeMap<String, StateOutput> = stack
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
    settings.insert(
        STATE_ROOT.to_string(),
        stack.state_root.display().to_string(),
    );
    let options = PlanOptions {
        target: request.target.clone(),
        refresh_only: request.refresh_only,
        destroy: request.destroy,
        cloud,
        provider_settings: settings,
        parked_regions: stack.parked_regions.clone(),
    };
    let plan = plan::plan(desired, &outputs, state, &observed, &options)?;
    Ok((plan, provider))
}

/// What to apply: a fresh plan of `plan`, or the saved plan in `plan_file`.
#[derive(Debug, Clone, Default)]
pub struct ApplyRequest {
    pub plan: PlanRequest,
    pub plan_file: Option<PathBuf>,
    pub options: ApplyOptions,
    /// Destroy even a protected environment.
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
/// the whole run and saving state after every completed step.
///
/// # Errors
/// Anything that stops the run before execution starts; failures during execution are in the
/// returned report instead, with state saved.
pub async fn apply(
    request: &ApplyRequest,
    confirm: Confirm<'_>,
    observer: &dyn ApplyObserver,
) -> Result<ApplyOutcome, OpsError> {
    let operation = if request.plan.destroy {
        "destroy"
    } else {
        "apply"
    };
    let mut audit_dir = request.plan.dir.clone();
    let mut region = String::new();
    let (mut plan, provider, backend, _lock, state) = match &request.plan_file {
        Some(file) => {
            let plan = plan::load(file)?;
            if let Some(change) = plan.changes.first() {
                region.clone_from(&change.region);
            }
            if plan.environment != request.plan.environment && !request.plan.environment.is_empty()
            {
                return Err(OpsError::PlanEnvironment {
                    found: plan.environment.clone(),
                    wanted: request.plan.environment.clone(),
                });
            }
            let root = plan
                .provider_settings
                .get(STATE_ROOT)
                .map(PathBuf::from)
                .unwrap_or_else(|| request.plan.dir.join(".cairn"));
            let backend = LocalBackend::with_root(&root, &plan.environment)?;
            // The audit log lives beside the state directory, in the stack's directory.
            if let Some(stack_dir) = root.parent() {
                audit_dir = stack_dir.to_path_buf();
            }
            let lock = backend.lock(operation)?;
            let state = backend
                .load()?
                .unwrap_or_else(|| StateDocument::new(&plan.stack, &plan.environment));
            plan::ensure_applicable(&plan, &state)?;
            let provider =
                open_provider(&plan.cloud, &plan.provider_settings, &plan.environment).await?;
            (plan, provider, backend, lock, state)
        }
        None => {
            let stack = Stack::load(&request.plan)?;
            if request.plan.destroy && stack.expansion.environment.protect && !request.force {
                return Err(OpsError::Protected {
                    environment: stack.expansion.environment.name.clone(),
                });
            }
            let lock = stack.backend.lock(operation)?;
            let state = stack.state()?;
            // The configuration was expanded for where the state said the environment runs;
            // a failover or failback in between makes that expansion wrong.
            if state.failover != stack.failover {
                return Err(OpsError::FailoverChanged {
                    environment: stack.expansion.environment.name.clone(),
                });
            }
            let (mut plan, provider) = plan_stack(&stack, &state, &request.plan).await?;
            // A refresh-only apply changes nothing in the cloud, and destroying removes what the
            // checks complain about: neither is held back.
            if request.policy != PolicyGate::Off
                && !request.plan.destroy
                && !request.plan.refresh_only
            {
                let report = crate::policy::check(&stack.config, &stack.expansion)?;
                plan.policy = check::plan_findings(&report);
            }
            if let Some(primary) = stack.expansion.environment.regions.first() {
                region.clone_from(&primary.name);
            }
            (plan, provider, stack.backend, lock, state)
        }
    };
    if request.plan.destroy || plan.refresh_only {
        plan.policy.clear();
    }
    let changes = plan.has_changes() || outputs_changed(&plan, &state);
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
        check::record_allowed(&audit_dir, &plan, &region, &allowed)?;
    }
    let mut options = request.options.clone();
    options.operation = operation.to_string();
    let mut sink = BackendSink(&backend);
    let report = apply::execute(&plan, provider, state, &mut sink, &options, observer).await;
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

/// Saves state through the backend after every step; the executor already set the serial.
struct BackendSink<'a>(&'a LocalBackend);

impl StateSink for BackendSink<'_> {
    fn persist(
        &mut self,
        state: &StateDocument,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.0.persist(state).map_err(Into::into)
    }
}
