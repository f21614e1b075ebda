//! `cairn dr drill` and `cairn dr drill --teardown`: the drill of [`crate::dr::drill`] run
//! through the same plan and apply as `cairn apply`, on the drill's own state.
//!
//! One configuration load per drill. The drill's state (`<env>-drill`) is read once under
//! its lock for the bring-up and once more for the teardown, which plans from what the
//! bring-up recorded; the environment's own state is only read, to refuse a drill while the
//! environment is failed over and to find the standby a drill beside it reuses.

use super::OpsError;
use super::check::PolicyGate;
use super::history::recorded_dr;
use super::run::{ApplyOutcome, ApplyRequest, Held, PlanRequest, Stack, apply_held, approve_all};
use super::session::Session;
use crate::apply::{ApplyObserver, ApplyOptions};
use crate::config::DrMode;
use crate::dr::drill::{self, DRILL_INSTANCE, Drill};
use crate::dr::{
    Deferred, Deployment, DrError, DrillReport, DrillTeardownReport, HeldLines, Redeploy, catalog,
    grow, readiness, redeploy, target,
};
use crate::model::Address;
use crate::plan::Operation;
use crate::provider::{LiveResource, Provider};
use crate::state::StateDocument;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// `dr drill`, recorded in the environment's history (failed runs too); see [`run_drill`].
///
/// # Errors
/// As [`run_drill`]; [`OpsError::Record`] when the run cannot be recorded.
pub async fn drill(
    request: &DrillRequest,
    observer: &dyn ApplyObserver,
) -> Result<DrillReport, OpsError> {
    let lines = HeldLines::default();
    recorded_dr(
        &request.plan,
        "dr drill",
        &lines,
        run_drill(request, observer, &lines),
        |report| {
            format!(
                "drill into {}: RTO {:.1}s",
                report.region, report.rto_seconds
            )
        },
    )
    .await
}

/// Runs a drill (see [`crate::dr::drill`]): brings the drill up from the newest backup copies
/// in the DR region, waits for its groups, tears it down unless `keep`, audits.
///
/// # Errors
/// The environment is failed over, no DR region or zones, no backup copy of a data volume in
/// the DR region (nothing applied then), the apply failed, or the groups did not come up in
/// time. In the last two cases the drill is torn down first (unless `keep`), and the failure
/// is audited.
async fn run_drill(
    request: &DrillRequest,
    observer: &dyn ApplyObserver,
    lines: &HeldLines,
) -> Result<DrillReport, OpsError> {
    let session = Session::open(&request.plan).await?;
    let stack = &session.stack;
    // The environment runs where a drill would go; drilling would fight the real thing. Only
    // its failover matters here: a state that cannot be read is for the runs that use it.
    let recorded = stack.state(&Deployment::Recorded).ok();
    if let Some(failover) = recorded.as_ref().and_then(|state| state.failover.clone()) {
        return Err(DrError::FailedOver {
            environment: stack.environment.name.clone(),
            region: failover.region,
        }
        .into());
    }
    let redeploy = drill_redeploy(request, stack, session.cloud.as_ref()).await?;
    let region = redeploy.target.region.clone();
    let deployment = Deployment::Redeploy(redeploy);

    // The environment's copies in the drill's region only: the primary is never called.
    let copies = catalog::read_region(
        session.cloud.as_ref(),
        &stack.owner(&Deployment::Recorded),
        &region,
    )
    .await?;
    let restorable = catalog::restorable(&copies);
    let held = stack.hold(&deployment, "apply")?;
    let mut placement = stack.place(&deployment, &held.state)?;
    let restored = drill::prepare(
        &mut placement.expansion,
        &restorable,
        session.started_at,
        &stack.environment,
        &region,
    )?;
    // Beside a standby, the drill takes what the standby has as the drill would build it and
    // grows the rest; the standby is read in the drill's region only, never changed.
    let standby =
        standby_objects(stack, recorded.as_ref(), session.cloud.as_ref(), &region).await?;
    let reused = grow::reuse(&mut placement.expansion, &standby);
    let groups = redeploy::group_minimums(&placement.expansion, &region);
    let predicted = readiness::predict(
        &session.cloud.timings(),
        groups.values().filter(|min| **min > 0).count(),
    );
    let owner = stack.owner(&deployment);

    let apply = apply_request(request, &deployment, false);
    let brought_up = apply_held(
        stack,
        held,
        &placement,
        &apply,
        Arc::clone(&session.provider),
        &mut approve_all,
        observer,
    )
    .await
    .and_then(created);
    let health = match &brought_up {
        Ok(_) => redeploy::wait_healthy(
            session.cloud.as_ref(),
            &owner,
            &region,
            &groups,
            request.timeout,
        )
        .await
        .map_err(OpsError::from),
        Err(_) => Ok(Vec::new()),
    };
    let rto = session.elapsed_seconds().await;

    let teardown = if request.keep {
        None
    } else {
        let teardown_started = Instant::now();
        let destroyed = tear_down(
            stack,
            request,
            &deployment,
            Arc::clone(&session.provider),
            observer,
        )
        .await;
        let leftovers = redeploy::leftovers(session.cloud.as_ref(), &owner, &region).await;
        Some((
            destroyed,
            teardown_started.elapsed().as_secs_f64(),
            leftovers,
        ))
    };
    let run = Drill {
        stack: stack.config.stack.clone(),
        environment: stack.environment.name.clone(),
        region,
        started: session.started,
        started_at: session.started_at,
        restored,
        skipped: restorable.skipped,
        predicted,
        reused,
        keep: request.keep,
    };
    run.finish(
        &Deferred {
            log: stack.audit_log()?.as_ref(),
            held: lines,
        },
        rto,
        brought_up,
        health,
        teardown,
    )
}

/// `dr drill teardown`, recorded in the environment's history (failed runs too); see
/// [`run_tear_down_drill`].
///
/// # Errors
/// As [`run_tear_down_drill`]; [`OpsError::Record`] when the run cannot be recorded.
pub async fn tear_down_drill(
    request: &DrillRequest,
    observer: &dyn ApplyObserver,
) -> Result<DrillTeardownReport, OpsError> {
    let lines = HeldLines::default();
    recorded_dr(
        &request.plan,
        "dr drill teardown",
        &lines,
        run_tear_down_drill(request, observer, &lines),
        |report| {
            format!(
                "{} resources of the drill in {} destroyed",
                report.destroyed, report.region
            )
        },
    )
    .await
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
/// No DR region or zones, the drill's state cannot be read, or the destroy failed (audited
/// first).
async fn run_tear_down_drill(
    request: &DrillRequest,
    observer: &dyn ApplyObserver,
    lines: &HeldLines,
) -> Result<DrillTeardownReport, OpsError> {
    let session = Session::open(&request.plan).await?;
    let stack = &session.stack;
    let redeploy = drill_redeploy(request, stack, session.cloud.as_ref()).await?;
    let region = redeploy.target.region.clone();
    let deployment = Deployment::Redeploy(redeploy);
    let held = stack.hold(&deployment, "destroy")?;
    let mut regions: BTreeSet<String> = held
        .state
        .resources
        .values()
        .map(|resource| resource.region.clone())
        .collect();
    regions.insert(region.clone());
    let destroyed = tear_down_held(
        stack,
        request,
        &deployment,
        held,
        Arc::clone(&session.provider),
        observer,
    )
    .await;
    let owner = stack.owner(&deployment);
    let mut found = Vec::new();
    for region in &regions {
        found.extend(redeploy::leftovers(session.cloud.as_ref(), &owner, region).await);
    }
    let run = Drill {
        stack: stack.config.stack.clone(),
        environment: stack.environment.name.clone(),
        region,
        started: session.started,
        started_at: session.started_at,
        restored: Vec::new(),
        skipped: Vec::new(),
        predicted: readiness::predict(&session.cloud.timings(), 0),
        reused: Vec::new(),
        keep: false,
    };
    let log = stack.audit_log()?;
    let audit = Deferred {
        log: log.as_ref(),
        held: lines,
    };
    drill::finish_teardown(&audit, run, destroyed, found)
}

/// The standby's live objects of the kinds a drill may reuse, by the address the
/// environment's state (`recorded`) gives them in `region`: none unless `region` is the DR
/// region of a pilot light or warm standby. Read by the environment's ownership tags in
/// `region` alone, one call per kind the state records there; an object the state does not
/// record (or records under another id) is not the standby's to lend.
///
/// # Errors
/// [`DrError::Provider`] when the standby cannot be read.
async fn standby_objects(
    stack: &Stack,
    recorded: Option<&StateDocument>,
    cloud: &dyn Provider,
    region: &str,
) -> Result<BTreeMap<Address, LiveResource>, OpsError> {
    let has_standby = stack
        .environment
        .dr
        .as_ref()
        .is_some_and(|dr| dr.region == region && dr.mode != DrMode::BackupRestore);
    let (true, Some(recorded)) = (has_standby, recorded) else {
        return Ok(BTreeMap::new());
    };
    let owner = stack.owner(&Deployment::Recorded);
    let mut found = BTreeMap::new();
    for kind in grow::REUSABLE {
        let addresses: BTreeMap<&str, &Address> = recorded
            .resources
            .values()
            .filter(|resource| resource.region == region && resource.kind == kind)
            .map(|resource| (resource.id.as_str(), &resource.address))
            .collect();
        if addresses.is_empty() {
            continue;
        }
        let live = cloud
            .read(region, kind, &owner)
            .await
            .map_err(|source| DrError::provider("read the standby", region, source))?;
        for object in live {
            if let Some(address) = addresses.get(object.id.as_str()) {
                found.insert((*address).clone(), object);
            }
        }
    }
    Ok(found)
}

/// The drill: its own instance in `--to`, else the DR region, with zones from the `dr` block
/// or the cloud.
async fn drill_redeploy(
    request: &DrillRequest,
    stack: &Stack,
    cloud: &dyn Provider,
) -> Result<Redeploy, OpsError> {
    let target = target::resolve(request.to.as_deref(), &stack.environment, cloud).await?;
    Ok(Redeploy {
        instance: DRILL_INSTANCE.to_string(),
        target,
    })
}

/// The apply of the drill: brought up, or destroyed.
fn apply_request(request: &DrillRequest, deployment: &Deployment, destroy: bool) -> ApplyRequest {
    ApplyRequest {
        plan: PlanRequest {
            deployment: deployment.clone(),
            destroy,
            ..request.plan.clone()
        },
        plan_file: None,
        options: request.apply.clone(),
        // The drill is not the protected environment itself; `protect` guards the primary.
        force: true,
        // A drill proves the environment can come up elsewhere; a checklist must not stop it.
        policy: PolicyGate::Off,
    }
}

/// Destroys the drill; returns how many resources it destroyed.
async fn tear_down(
    stack: &Stack,
    request: &DrillRequest,
    deployment: &Deployment,
    provider: Arc<dyn Provider>,
    observer: &dyn ApplyObserver,
) -> Result<usize, OpsError> {
    let held = stack.hold(deployment, "destroy")?;
    tear_down_held(stack, request, deployment, held, provider, observer).await
}

/// Destroys the drill whose state is `held`; returns how many resources it destroyed.
async fn tear_down_held(
    stack: &Stack,
    request: &DrillRequest,
    deployment: &Deployment,
    held: Held,
    provider: Arc<dyn Provider>,
    observer: &dyn ApplyObserver,
) -> Result<usize, OpsError> {
    let placement = stack.place(deployment, &held.state)?;
    let apply = apply_request(request, deployment, true);
    apply_held(
        stack,
        held,
        &placement,
        &apply,
        provider,
        &mut approve_all,
        observer,
    )
    .await
    .and_then(destroyed_count)
}

/// The resources the drill's apply created, or why it did not complete.
fn created(outcome: ApplyOutcome) -> Result<Vec<Address>, OpsError> {
    match outcome.report {
        None => Ok(Vec::new()),
        Some(report) if report.succeeded() => {
            let mut created: Vec<Address> = report
                .completed
                .iter()
                .filter(|(_, operation)| *operation == Operation::Create)
                .map(|(address, _)| address.clone())
                .collect();
            // By address, not by when each completed: the same drill reports the same way.
            created.sort();
            Ok(created)
        }
        Some(report) => Err(DrError::DrillApply {
            reason: redeploy::failure_reason(&report),
        }
        .into()),
    }
}

/// How many resources a teardown's apply destroyed, or why it failed.
fn destroyed_count(outcome: ApplyOutcome) -> Result<usize, OpsError> {
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
        }
        .into()),
    }
}
