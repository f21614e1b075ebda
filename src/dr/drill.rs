//! `cairn dr drill`: redeploy the whole environment into its DR region under a separate state,
//! with data volumes restored from the newest cross-region backup copies, wait until every
//! autoscaling group has its minimum in service, measure RTO and RPO, audit, and tear down.
//!
//! A drill left running (`keep`) is removed by [`tear_down_drill`] (`cairn dr drill --teardown`).
//!
//! Promise: a drill never calls the primary region. The configuration is expanded with a
//! region override (zones mapped by position), the backup copies are listed in the DR region
//! only, and the drill's state (`<env>-drill`) and ownership tags are its own, so neither the
//! primary's state nor its refresh ever sees a drill resource.

use super::DrError;
use super::audit::{AuditRecord, append_audit, audit_path};
use super::backup::{data_blocks, dr_zones, error_chain, open, owner_of};
use super::catalog::{self, BackupCopy};
use crate::apply::{ApplyObserver, ApplyOptions};
use crate::graph::RegionOverride;
use crate::model::{Address, Attributes, Kind, Owner, TAG_ADDRESS};
use crate::ops::{self, ApplyRequest, OpsError, PlanRequest, Stack};
use crate::plan::Plan;
use crate::provider::Provider;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The instance name of a drill: state `<env>-drill`, ownership `cairn:env = <env>-drill`.
pub const DRILL_INSTANCE: &str = "drill";

/// How often the drill looks at its autoscaling groups while waiting for them.
const HEALTH_POLL: Duration = Duration::from_millis(250);

/// What to drill.
#[derive(Debug, Clone)]
pub struct DrillRequest {
    /// The stack, environment and variables (as for `plan`).
    pub plan: PlanRequest,
    /// The region to drill into; the environment's DR region when `None`.
    pub to: Option<String>,
    /// Leave the drill running instead of tearing it down.
    pub keep: bool,
    /// How long to wait for the groups to reach their minimum in service.
    pub timeout: Duration,
    pub apply: ApplyOptions,
}

/// A data volume restored from a backup copy.
#[derive(Debug, Clone, Serialize)]
pub struct RestoredVolume {
    pub address: Address,
    pub source_address: Address,
    pub snapshot_id: String,
    pub taken_at: DateTime<Utc>,
    /// Age of the copy when the drill started: this volume's data loss.
    pub age_seconds: i64,
}

/// An autoscaling group of the drill and how many instances it had in service.
#[derive(Debug, Clone, Serialize)]
pub struct GroupHealth {
    pub address: Address,
    pub min: usize,
    pub in_service: usize,
}

/// What a drill did and measured.
#[derive(Debug, Clone, Serialize)]
pub struct DrillReport {
    pub stack: String,
    pub environment: String,
    pub region: String,
    pub started_at: DateTime<Utc>,
    /// Wall time from start until every group had its minimum in service.
    pub rto_seconds: f64,
    /// Age of the oldest of the newest restored copies (the worst data loss); `None` when
    /// nothing was restored.
    pub rpo_seconds: Option<i64>,
    pub restored: Vec<RestoredVolume>,
    pub groups: Vec<GroupHealth>,
    /// Resources the drill created.
    pub created: usize,
    pub kept: bool,
    /// Resources the teardown destroyed; `None` with `--keep`.
    pub destroyed: Option<usize>,
    /// Drill resources still in the DR region after the teardown (should be none).
    pub leftovers: Vec<String>,
    pub teardown_seconds: Option<f64>,
    pub audit_log: PathBuf,
}

/// Runs a drill (see the module documentation).
///
/// # Errors
/// No DR region or zones, no backup copy of a data volume in the DR region, the apply failed,
/// or the groups did not come up in time. In the last two cases the drill is torn down first
/// (unless `keep`), and the failure is recorded in the audit log.
pub async fn run_drill(
    request: &DrillRequest,
    observer: &dyn ApplyObserver,
) -> Result<DrillReport, DrError> {
    let started = Instant::now();
    let started_at = Utc::now();
    let primary = Stack::load(&request.plan)?;
    let environment = primary.expansion.environment.clone();
    if let Some(failover) = &primary.failover {
        // The environment runs where a drill would go; drilling would fight the real thing.
        return Err(DrError::FailedOver {
            environment: environment.name.clone(),
            region: failover.region.clone(),
        });
    }
    let mut drill_plan = drill_request(request, &environment)?;
    let region = drill_region(&drill_plan);
    let (drill_stack, provider) = open(&drill_plan).await?;

    // Data volumes: those a backup policy selects in the primary expansion, by block path.
    let data_blocks = data_blocks(&primary.expansion);
    let primary_owner = owner_of(&primary.expansion);
    let copies = catalog::read_region(provider.as_ref(), &primary_owner, &region).await?;
    let newest = catalog::newest_by_block(&copies);
    let (overrides, restored) = restore_plan(
        &drill_stack,
        &data_blocks,
        &newest,
        started_at,
        &environment,
        &region,
    )?;
    drill_plan.attribute_overrides = overrides;

    let drill_owner = Owner {
        stack: drill_stack.expansion.stack.clone(),
        env: drill_plan.state_environment(),
    };
    let groups = group_minimums(&drill_stack.expansion);

    let brought_up = bring_up(request, &drill_plan, observer).await;
    let health = match &brought_up {
        Ok(_) => {
            wait_healthy(
                provider.as_ref(),
                &drill_owner,
                &region,
                &groups,
                request.timeout,
            )
            .await
        }
        Err(_) => Ok(Vec::new()),
    };
    let rto = started.elapsed();

    let (destroyed, teardown_seconds, leftovers) = if request.keep {
        (None, None, Vec::new())
    } else {
        let teardown_started = Instant::now();
        let destroyed = tear_down(request, &drill_plan, observer).await;
        let leftovers = leftovers(provider.as_ref(), &drill_owner, &region).await;
        (
            Some(destroyed),
            Some(teardown_started.elapsed().as_secs_f64()),
            leftovers,
        )
    };

    let rpo_seconds = restored.iter().map(|volume| volume.age_seconds).max();
    let failure = match (&brought_up, &health) {
        (Err(error), _) => Some(error_chain(error)),
        (_, Err(error)) => Some(error_chain(error)),
        (Ok(_), Ok(_)) => match &destroyed {
            Some(Err(error)) => Some(format!("teardown failed: {}", error_chain(error))),
            _ if !leftovers.is_empty() => {
                Some(format!("teardown left {} resources", leftovers.len()))
            }
            _ => None,
        },
    };
    let audit = AuditRecord {
        time: started_at,
        operation: "dr drill".to_string(),
        stack: drill_stack.expansion.stack.clone(),
        environment: environment.name.clone(),
        region: region.clone(),
        outcome: match &failure {
            Some(reason) => format!("failed: {reason}"),
            None => "succeeded".to_string(),
        },
        rto_seconds: failure.is_none().then_some(rto.as_secs_f64()),
        rpo_seconds,
        kept: request.keep,
    };
    append_audit(&request.plan.dir, &audit)?;

    let created = brought_up?;
    let groups = health?;
    let destroyed = match destroyed {
        Some(result) => Some(result?),
        None => None,
    };
    Ok(DrillReport {
        stack: drill_stack.expansion.stack.clone(),
        environment: environment.name.clone(),
        region,
        started_at,
        rto_seconds: rto.as_secs_f64(),
        rpo_seconds,
        restored,
        groups,
        created,
        kept: request.keep,
        destroyed,
        leftovers,
        teardown_seconds,
        audit_log: audit_path(&request.plan.dir),
    })
}

/// What tearing down a kept drill did.
#[derive(Debug, Clone, Serialize)]
pub struct DrillTeardownReport {
    pub stack: String,
    pub environment: String,
    pub region: String,
    /// Resources the teardown destroyed (0 when no drill was kept).
    pub destroyed: usize,
    /// Drill resources still in the drill's regions afterwards (should be none).
    pub leftovers: Vec<String>,
    pub teardown_seconds: f64,
    pub audit_log: PathBuf,
}

/// Tears down a drill left running by `keep`: destroys everything in state `<env>-drill`,
/// then lists what the drill's ownership tags still find in its regions.
///
/// The regions are those the drill's state records, plus the one a drill of `request` would
/// go to (`to`, else the DR region), so a drill kept with `--to` is found without it. Like the
/// drill, this never calls the primary region, and it works while the environment is failed
/// over (a drill kept from before the failover is still the drill's to remove).
///
/// # Errors
/// No DR region or zones, the drill's state cannot be read, or the destroy failed (recorded
/// in the audit log first).
pub async fn tear_down_drill(
    request: &DrillRequest,
    observer: &dyn ApplyObserver,
) -> Result<DrillTeardownReport, DrError> {
    let started = Instant::now();
    let started_at = Utc::now();
    let primary = Stack::load(&request.plan)?;
    let environment = primary.expansion.environment.clone();
    let drill_plan = drill_request(request, &environment)?;
    let region = drill_region(&drill_plan);
    let (drill_stack, provider) = open(&drill_plan).await?;
    let mut regions: BTreeSet<String> = drill_stack
        .state()?
        .resources
        .values()
        .map(|resource| resource.region.clone())
        .collect();
    regions.insert(region.clone());
    let drill_owner = Owner {
        stack: drill_stack.expansion.stack.clone(),
        env: drill_plan.state_environment(),
    };

    let destroyed = tear_down(request, &drill_plan, observer).await;
    let mut found = Vec::new();
    for region in &regions {
        found.extend(leftovers(provider.as_ref(), &drill_owner, region).await);
    }
    let failure = match &destroyed {
        Err(error) => Some(error_chain(error)),
        Ok(_) if !found.is_empty() => Some(format!("teardown left {} resources", found.len())),
        Ok(_) => None,
    };
    let audit = AuditRecord {
        time: started_at,
        operation: "dr drill teardown".to_string(),
        stack: drill_stack.expansion.stack.clone(),
        environment: environment.name.clone(),
        region: region.clone(),
        outcome: match &failure {
            Some(reason) => format!("failed: {reason}"),
            None => "succeeded".to_string(),
        },
        rto_seconds: None,
        rpo_seconds: None,
        kept: false,
    };
    append_audit(&request.plan.dir, &audit)?;
    Ok(DrillTeardownReport {
        stack: drill_stack.expansion.stack.clone(),
        environment: environment.name.clone(),
        region,
        destroyed: destroyed?,
        leftovers: found,
        teardown_seconds: started.elapsed().as_secs_f64(),
        audit_log: audit_path(&request.plan.dir),
    })
}

/// The plan request of the drill of `environment`: its own instance (state `<env>-drill`),
/// expanded into the drill's region (`--to`, else the DR region) with zones mapped by position.
fn drill_request(
    request: &DrillRequest,
    environment: &crate::config::Environment,
) -> Result<PlanRequest, DrError> {
    let (region, zones) = dr_target(request.to.as_deref(), environment)?;
    Ok(PlanRequest {
        instance: Some(DRILL_INSTANCE.to_string()),
        expand: crate::graph::ExpandOptions {
            region_override: Some(RegionOverride { region, zones }),
            ..Default::default()
        },
        attribute_overrides: BTreeMap::new(),
        destroy: false,
        ..request.plan.clone()
    })
}

/// The region to redeploy into (`to`, else the DR region) and its zones (the `dr` block's, or
/// the ones the simulated cloud knows for it).
pub(super) fn dr_target(
    to: Option<&str>,
    environment: &crate::config::Environment,
) -> Result<(String, Vec<String>), DrError> {
    let region = match (to, &environment.dr) {
        (Some(region), _) => region.to_string(),
        (None, Some(dr)) => dr.region.clone(),
        (None, None) => {
            return Err(DrError::NoDrRegion {
                environment: environment.name.clone(),
            });
        }
    };
    let mut zones = dr_zones(environment, &region);
    if zones.is_empty() {
        zones = crate::provider::sim::zones(&region).unwrap_or_default();
    }
    if zones.is_empty() {
        return Err(DrError::NoZones { region });
    }
    Ok((region, zones))
}

/// The region a drill plan expands into.
fn drill_region(plan: &PlanRequest) -> String {
    plan.expand
        .region_override
        .as_ref()
        .map(|target| target.region.clone())
        .unwrap_or_default()
}

/// Each autoscaling group of `expansion` with its `min`: what "healthy" waits for.
pub(super) fn group_minimums(expansion: &crate::graph::Expansion) -> BTreeMap<Address, usize> {
    expansion
        .resources
        .values()
        .filter(|resource| resource.kind == Kind::AutoscalingGroup)
        .map(|resource| {
            let min = resource
                .attributes
                .get("min")
                .and_then(|min| min.as_u64())
                .and_then(|min| usize::try_from(min).ok())
                .unwrap_or(0);
            (resource.address.clone(), min)
        })
        .collect()
}

/// The attribute overrides that restore each data volume of the drill from the newest copy of
/// its block in the DR region (grown to the copy's size when configured smaller), and size
/// groups as the DR block says.
fn restore_plan(
    drill_stack: &Stack,
    data_blocks: &BTreeSet<String>,
    newest: &BTreeMap<String, BackupCopy>,
    started_at: DateTime<Utc>,
    environment: &crate::config::Environment,
    region: &str,
) -> Result<(BTreeMap<Address, Attributes>, Vec<RestoredVolume>), DrError> {
    let resources = &drill_stack.expansion.resources;
    let (restores, restored) = restores_for(
        &drill_stack.expansion,
        data_blocks,
        newest,
        started_at,
        region,
    )?;
    let mut overrides = BTreeMap::new();
    for (address, snapshot) in restores {
        let mut attributes = Attributes::from([("snapshot_id".to_string(), json!(snapshot))]);
        let configured = resources
            .get(&address)
            .and_then(|volume| volume.attributes.get("size_gb"))
            .and_then(|size| size.as_i64());
        let copied = newest
            .get(address.block_path())
            .and_then(|copy| copy.size_gb);
        if let (Some(configured), Some(copied)) = (configured, copied)
            && configured < copied
        {
            attributes.insert("size_gb".to_string(), json!(copied));
        }
        overrides.insert(address, attributes);
    }
    let groups = resources
        .values()
        .filter(|resource| resource.kind == Kind::AutoscalingGroup);
    for resource in groups {
        let size = |name: &str| {
            resource
                .attributes
                .get(name)
                .and_then(|value| value.as_u64())
        };
        let scaled = environment
            .dr
            .as_ref()
            .filter(|dr| dr.region == region)
            .and_then(|dr| dr.scaled_desired(size("desired").unwrap_or(1)));
        if let Some(scaled) = scaled {
            let min = size("min").unwrap_or(0);
            let max = size("max").unwrap_or(u64::MAX);
            let desired = scaled.clamp(min, max.max(min));
            overrides.insert(
                resource.address.clone(),
                Attributes::from([("desired".to_string(), json!(desired))]),
            );
        }
    }
    Ok((overrides, restored))
}

/// The snapshot each data volume of `expansion` is restored from: the newest copy of its
/// block in `region`.
pub(super) fn restores_for(
    expansion: &crate::graph::Expansion,
    data_blocks: &BTreeSet<String>,
    newest: &BTreeMap<String, BackupCopy>,
    started_at: DateTime<Utc>,
    region: &str,
) -> Result<(BTreeMap<Address, String>, Vec<RestoredVolume>), DrError> {
    let mut restores = BTreeMap::new();
    let mut restored = Vec::new();
    for resource in expansion.resources.values() {
        let block = resource.address.block_path();
        if resource.kind != Kind::Volume || !data_blocks.contains(block) {
            continue;
        }
        let Some(copy) = newest.get(block) else {
            return Err(DrError::NoBackup {
                address: resource.address.to_string(),
                region: region.to_string(),
                environment: expansion.environment.name.clone(),
            });
        };
        restores.insert(resource.address.clone(), copy.id.clone());
        restored.push(RestoredVolume {
            address: resource.address.clone(),
            source_address: copy.source_address.clone(),
            snapshot_id: copy.id.clone(),
            taken_at: copy.taken_at,
            age_seconds: (started_at - copy.taken_at).num_seconds().max(0),
        });
    }
    Ok((restores, restored))
}

pub(super) fn approve(_plan: &Plan) -> Result<bool, OpsError> {
    Ok(true)
}

/// Applies the drill; returns how many resources it created.
async fn bring_up(
    request: &DrillRequest,
    plan: &PlanRequest,
    observer: &dyn ApplyObserver,
) -> Result<usize, DrError> {
    let apply = ApplyRequest {
        plan: plan.clone(),
        plan_file: None,
        options: request.apply.clone(),
        force: false,
        // A drill or failover proves or restores service; a checklist must not stop it.
        policy: ops::PolicyGate::Off,
    };
    let outcome = ops::apply(&apply, &mut approve, observer).await?;
    match outcome.report {
        None => Ok(0),
        Some(report) if report.succeeded() => Ok(report
            .completed
            .iter()
            .filter(|(_, operation)| *operation == crate::plan::Operation::Create)
            .count()),
        Some(report) => Err(DrError::DrillApply {
            reason: failure_reason(&report),
        }),
    }
}

/// What failed in an apply, on one line: each failed step, then the fatal error if any.
pub(super) fn failure_reason(report: &crate::apply::ApplyReport) -> String {
    report
        .failed
        .iter()
        .map(|(address, _, error)| format!("{address}: {error}"))
        .chain(report.fatal.as_ref().map(ToString::to_string))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Destroys the drill; returns how many resources it destroyed.
async fn tear_down(
    request: &DrillRequest,
    plan: &PlanRequest,
    observer: &dyn ApplyObserver,
) -> Result<usize, DrError> {
    let apply = ApplyRequest {
        plan: PlanRequest {
            destroy: true,
            ..plan.clone()
        },
        plan_file: None,
        options: request.apply.clone(),
        // The drill is not the protected environment itself; `protect` guards the primary.
        force: true,
        policy: ops::PolicyGate::Off,
    };
    let outcome = ops::apply(&apply, &mut approve, observer).await?;
    match outcome.report {
        None => Ok(0),
        Some(report) if report.succeeded() => Ok(report.completed.len()),
        Some(report) => Err(DrError::DrillApply {
            reason: format!(
                "teardown: {}",
                report
                    .failed
                    .iter()
                    .map(|(address, _, error)| format!("{address}: {error}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        }),
    }
}

/// Polls the drill's groups until each has `min` instances running.
pub(super) async fn wait_healthy(
    provider: &dyn Provider,
    owner: &Owner,
    region: &str,
    groups: &BTreeMap<Address, usize>,
    timeout: Duration,
) -> Result<Vec<GroupHealth>, DrError> {
    let started = Instant::now();
    loop {
        let live = provider
            .read(region, Kind::AutoscalingGroup, owner)
            .await
            .map_err(|source| DrError::provider("read autoscaling groups", region, source))?;
        let health: Vec<GroupHealth> = groups
            .iter()
            .map(|(address, min)| {
                let in_service = live
                    .iter()
                    .find(|group| group.tags.get(TAG_ADDRESS) == Some(&address.to_string()))
                    .and_then(|group| group.attributes.get("instances"))
                    .and_then(|instances| instances.as_array())
                    .map(|instances| {
                        instances
                            .iter()
                            .filter(|instance| {
                                matches!(
                                    instance.get("state").and_then(|state| state.as_str()),
                                    Some("running" | "InService")
                                )
                            })
                            .count()
                    })
                    .unwrap_or(0);
                GroupHealth {
                    address: address.clone(),
                    min: *min,
                    in_service,
                }
            })
            .collect();
        match health.iter().find(|group| group.in_service < group.min) {
            None => return Ok(health),
            Some(group) if started.elapsed() >= timeout => {
                return Err(DrError::Unhealthy {
                    group: group.address.to_string(),
                    in_service: group.in_service,
                    min: group.min,
                    waited_seconds: started.elapsed().as_secs(),
                });
            }
            Some(_) => tokio::time::sleep(HEALTH_POLL).await,
        }
    }
}

/// Every drill resource still in `region`, as `kind id`; a kind that cannot be read counts as
/// a leftover too, since nothing proves it is empty.
async fn leftovers(provider: &dyn Provider, owner: &Owner, region: &str) -> Vec<String> {
    let mut found = Vec::new();
    for kind in Kind::ALL {
        match provider.read(region, kind, owner).await {
            Ok(resources) => found.extend(
                resources
                    .into_iter()
                    .filter(|resource| !is_gone(resource))
                    .map(|resource| format!("{kind} {}", resource.id)),
            ),
            Err(error) => found.push(format!("{kind} (unreadable: {error})")),
        }
    }
    found
}

/// Terminated instances linger in listings for a while, as on AWS; they are not leftovers.
fn is_gone(resource: &crate::provider::LiveResource) -> bool {
    matches!(
        resource
            .attributes
            .get("state")
            .and_then(|state| state.as_str()),
        Some("terminated" | "shutting-down")
    )
}
