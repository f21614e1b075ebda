//! `cairn dr failover` and `cairn dr failback` (see [`crate::dr::failover`]), run through the
//! same plan and apply as `cairn apply`.
//!
//! One configuration load and one provider per operation. The environment's lock is taken
//! once and held from the state read through the record of the move to the end of the apply,
//! so the state that decides the move is the one planned from, and no other run can move or
//! apply the environment in between; the lock is released before waiting for the groups.

use super::OpsError;
use super::check::PolicyGate;
use super::history::recorded_dr;
use super::run::{
    ApplyOutcome, ApplyRequest, Held, PlanRequest, apply_held, approve_all, plan_placed,
};
use super::session::Session;
use crate::apply::{ApplyEvent, ApplyObserver, ApplyOptions};
use crate::dr::backup::{self, RunOptions};
use crate::dr::failover::{self, Move};
use crate::dr::placement::restore_volumes;
use crate::dr::{
    Deferred, Deployment, DnsSwitch, DrError, HeldLines, MoveReport, Placement, Restorable,
    RestoredVolume, SkippedCopy, catalog, redeploy, target,
};
use crate::model::{Address, Kind};
use crate::plan::Plan;
use crate::provider::{Provider, ProviderError};
use crate::state::Failover;
use crate::state::StateDocument;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What to fail over or back.
#[derive(Debug, Clone)]
pub struct MoveRequest {
    /// The stack, environment and variables (as for `plan`).
    pub plan: PlanRequest,
    /// Failover: the region to move to; the environment's DR region when `None`.
    pub to: Option<String>,
    /// How long to wait for the groups to reach their minimum in service.
    pub timeout: Duration,
    pub apply: ApplyOptions,
}

/// What a failover or failback will do, shown before it asks for confirmation (as apply shows
/// its plan): the apply's plan in the region it moves to, and what only DR does (restores,
/// the copies passed over, the fresh backups of a failback, the DNS names switched).
#[derive(Debug, Clone, Serialize)]
pub struct MovePlan {
    /// `failover` or `failback`.
    pub operation: String,
    pub environment: String,
    pub from: String,
    pub to: String,
    /// Whether it resumes a move an earlier run recorded.
    pub resumed: bool,
    /// Failback: the data volumes in `from` snapshotted now and copied to `to`, from which
    /// their volumes in `to` are restored.
    pub fresh_backups: Vec<Address>,
    pub restored: Vec<RestoredVolume>,
    pub skipped: Vec<SkippedCopy>,
    /// The DNS names that will answer from `to`.
    pub dns: Vec<String>,
    /// What the apply will create, update (resize) and delete.
    pub plan: Plan,
}

/// Asked once with the plan of a failover or failback before anything changes; `Ok(false)`
/// cancels it.
pub type MoveConfirm<'a> = &'a mut dyn FnMut(&MovePlan) -> Result<bool, OpsError>;

/// `dr failover`, recorded in the environment's history (failed runs too); see [`run_failover`].
///
/// # Errors
/// As [`run_failover`]; [`OpsError::Record`] when the run cannot be recorded.
pub async fn failover(
    request: &MoveRequest,
    confirm: MoveConfirm<'_>,
    observer: &dyn ApplyObserver,
) -> Result<MoveReport, OpsError> {
    let lines = HeldLines::default();
    recorded_dr(
        &request.plan,
        "dr failover",
        &lines,
        run_failover(request, confirm, observer, &lines),
        |report| format!("failed over from {} to {}", report.from, report.region),
    )
    .await
}

/// Moves the environment into its DR region (or `to`): plans the move and asks `confirm`,
/// then records the move and the snapshot each data volume is restored from, applies, waits
/// for the groups. A failover already recorded is resumed. Never calls the primary region.
///
/// # Errors
/// No DR region or zones, a data volume without a completed copy in the DR region, a
/// failover to another region already recorded, [`OpsError::Cancelled`] when `confirm` says
/// no (nothing changed), the apply failed, or the groups did not come up in time; the last
/// two are audited.
async fn run_failover(
    request: &MoveRequest,
    confirm: MoveConfirm<'_>,
    observer: &dyn ApplyObserver,
    lines: &HeldLines,
) -> Result<MoveReport, OpsError> {
    let (session, mut held) = open_move(request, "dr failover").await?;
    let stack = &session.stack;
    let owner = stack.owner(&Deployment::Recorded);
    let environment = &stack.environment;

    let (placement, run) = match held.state.failover.clone() {
        Some(recorded) => {
            failover::resumable(&recorded, request.to.as_deref(), &environment.name)?;
            let placement = stack.place(&Deployment::Recorded, &held.state)?;
            let run = Move {
                resumed: true,
                ..session.move_of("failover", recorded.primary, recorded.region)
            };
            let plan = plan_move(request, &session, &held.state, &placement, &run, vec![]).await?;
            ask(confirm, &plan)?;
            (placement, run)
        }
        None => {
            let cloud = session.cloud.as_ref();
            let target = target::resolve(request.to.as_deref(), environment, cloud).await?;
            let copies = catalog::read_region(cloud, &owner, &target.region).await?;
            let restorable = catalog::restorable(&copies);
            let recorded = failover::failover_to(environment, &target, &session.started_at);
            let mut run = session.move_of(
                "failover",
                recorded.primary.clone(),
                recorded.region.clone(),
            );
            let (moved, placement) =
                moved_state(&session, &held.state, Some(recorded), &restorable, &mut run)?;
            let plan = plan_move(request, &session, &moved, &placement, &run, vec![]).await?;
            ask(confirm, &plan)?;
            held.state = moved;
            held.write("dr failover", &run.summary())?;
            (placement, run)
        }
    };
    converge(request, &session, held, &placement, run, observer, lines).await
}

/// Opens a failover or failback: the stack loaded and its cloud opened once, and the recorded
/// environment's state read under its lock (held until the apply ends).
async fn open_move(request: &MoveRequest, operation: &str) -> Result<(Session, Held), OpsError> {
    let session = Session::open(&request.plan).await?;
    let held = session.stack.hold(&Deployment::Recorded, operation)?;
    Ok((session, held))
}

/// `dr failback`, recorded in the environment's history (failed runs too); see [`run_failback`].
///
/// # Errors
/// As [`run_failback`]; [`OpsError::Record`] when the run cannot be recorded.
pub async fn failback(
    request: &MoveRequest,
    confirm: MoveConfirm<'_>,
    observer: &dyn ApplyObserver,
) -> Result<MoveReport, OpsError> {
    let lines = HeldLines::default();
    recorded_dr(
        &request.plan,
        "dr failback",
        &lines,
        run_failback(request, confirm, observer, &lines),
        |report| format!("failed back from {} to {}", report.from, report.region),
    )
    .await
}

/// Moves a failed-over environment back to its primary region: snapshots the DR region's data
/// volumes and copies them home, records the primary as active with its data volumes restored
/// from those copies, applies (the DR region returns to its standby), waits for the groups.
///
/// The plan is shown to `confirm` before the fresh backups are taken: its data volumes are
/// those the backups will restore.
///
/// # Errors
/// The environment is not failed over, the primary still does not answer,
/// [`OpsError::Cancelled`] when `confirm` says no (nothing changed), a backup, copy or restore
/// failed, or the groups did not come up in time.
async fn run_failback(
    request: &MoveRequest,
    confirm: MoveConfirm<'_>,
    observer: &dyn ApplyObserver,
    lines: &HeldLines,
) -> Result<MoveReport, OpsError> {
    let (session, mut held) = open_move(request, "dr failback").await?;
    let stack = &session.stack;
    let owner = stack.owner(&Deployment::Recorded);
    let environment = &stack.environment;
    let Some(recorded) = held.state.failover.clone() else {
        return Err(DrError::NotFailedOver {
            environment: environment.name.clone(),
            region: target::primary_region(environment),
        }
        .into());
    };

    session
        .cloud
        .read(&recorded.primary, Kind::Network, &owner)
        .await
        .map_err(|source| DrError::PrimaryUnavailable {
            region: recorded.primary.clone(),
            source,
        })?;

    // The data written while failed over lives in the DR region's volumes: snapshot them now
    // and copy the snapshots to the primary (while failed over, `copy_to` points there).
    let failed_over = stack.place(&Deployment::Recorded, &held.state)?;
    {
        let preview = session.move_of(
            "failback",
            recorded.region.clone(),
            recorded.primary.clone(),
        );
        // What the backups will restore is not taken yet: the preview places the primary
        // without restores, and names the volumes whose fresh copies its volumes start from.
        let mut home = held.state.clone();
        home.failover = None;
        home.restores.clear();
        let placement = stack.place(&Deployment::Recorded, &home)?;
        let fresh: Vec<Address> = failed_over
            .expansion
            .backup_policies
            .iter()
            .flat_map(|policy| {
                failed_over
                    .expansion
                    .resources
                    .values()
                    .filter(|resource| policy.selects(resource))
                    .map(|resource| resource.address.clone())
            })
            .collect();
        let plan = plan_move(request, &session, &home, &placement, &preview, fresh).await?;
        ask(confirm, &plan)?;
    }
    let backups = if failed_over.expansion.backup_policies.is_empty() {
        Vec::new()
    } else {
        let options = RunOptions {
            now: session.started_at,
            fresh: true,
            // The primary is restored from these copies, and a pending one cannot be.
            wait: Some(request.timeout),
        };
        backup::run(
            &failed_over.expansion,
            &held.state,
            session.cloud.as_ref(),
            options,
            &Deferred {
                log: stack.audit_log()?.as_ref(),
                held: lines,
            },
        )
        .await?
        .volumes
    };
    let copies = catalog::read_region(session.cloud.as_ref(), &owner, &recorded.primary).await?;
    let restorable = failover::newest_for_failback(&copies, &backups);

    let mut run = Move {
        backups,
        ..session.move_of("failback", recorded.region, recorded.primary)
    };
    let (moved, placement) = moved_state(&session, &held.state, None, &restorable, &mut run)?;
    held.state = moved;
    held.write("dr failback", &run.summary())?;
    converge(request, &session, held, &placement, run, observer, lines).await
}

/// Asks `confirm` about `plan`.
///
/// # Errors
/// [`OpsError::Cancelled`] when the answer is no; what `confirm` fails with.
fn ask(confirm: MoveConfirm<'_>, plan: &MovePlan) -> Result<(), OpsError> {
    if confirm(plan)? {
        Ok(())
    } else {
        Err(OpsError::Cancelled {
            operation: plan.operation.clone(),
        })
    }
}

/// Plans the environment as `state` places it (`placement`), without changing anything, for
/// the question a failover or failback asks first.
async fn plan_move(
    request: &MoveRequest,
    session: &Session,
    state: &StateDocument,
    placement: &Placement,
    run: &Move,
    fresh_backups: Vec<Address>,
) -> Result<MovePlan, OpsError> {
    let plan_request = PlanRequest {
        deployment: Deployment::Recorded,
        ..request.plan.clone()
    };
    let plan = plan_placed(
        &session.stack,
        placement,
        state,
        &plan_request,
        session.provider.as_ref(),
        true,
    )
    .await?;
    Ok(MovePlan {
        operation: run.operation.to_string(),
        environment: run.environment.clone(),
        from: run.from.clone(),
        to: run.region.clone(),
        resumed: run.resumed,
        fresh_backups,
        restored: run.restored.clone(),
        skipped: run.skipped.clone(),
        dns: failover::answering_records(&placement.expansion)
            .into_iter()
            .filter(|(_, _, region)| *region == run.region)
            .map(|(_, name, _)| name)
            .collect(),
        plan,
    })
}

/// The held `state` as it is once the environment runs as `failover` says (`None`: in its
/// primary), with each data volume restored from the newest completed copy of its block in
/// `restorable`, and the environment placed there, which is what gets planned and applied;
/// notes the restored volumes and the copies passed over in `run`. Nothing is written: the
/// caller writes the state, still under the lock, once the move is confirmed.
fn moved_state(
    session: &Session,
    state: &StateDocument,
    failover: Option<Failover>,
    restorable: &Restorable,
    run: &mut Move,
) -> Result<(StateDocument, Placement), OpsError> {
    let mut moved = state.clone();
    moved.failover = failover;
    moved.restores.clear();
    let mut placement = session.stack.place(&Deployment::Recorded, &moved)?;
    let (restores, restored) = redeploy::restores_for(
        &placement.expansion,
        restorable,
        session.started_at,
        &run.region,
    )?;
    restore_volumes(&mut placement.expansion, &restores);
    moved.restores = restores;
    run.restored = restored;
    run.skipped = restorable.skipped.clone();
    Ok((moved, placement))
}

/// Applies the environment where the held state now says it runs (the apply executor gets
/// the plain provider, with its own retries; the health checks the retrying one), waits for
/// the groups of the region it moved to, and audits the outcome of `run`.
async fn converge(
    request: &MoveRequest,
    session: &Session,
    held: Held,
    placement: &Placement,
    run: Move,
    observer: &dyn ApplyObserver,
    lines: &HeldLines,
) -> Result<MoveReport, OpsError> {
    let stack = &session.stack;
    let converged = async {
        let apply = ApplyRequest {
            plan: PlanRequest {
                deployment: Deployment::Recorded,
                ..request.plan.clone()
            },
            plan_file: None,
            options: request.apply.clone(),
            // A failover or failback is itself the confirmed move of the environment: what
            // it replaces or removes in the region it leaves is the point, not a mistake.
            force: true,
            // A failover or failback restores service; a checklist must not stop it.
            policy: PolicyGate::Off,
        };
        let provider = Arc::clone(&session.provider);
        let records = failover::answering_records(&placement.expansion);
        let watch = DnsWatch {
            inner: observer,
            watched: records
                .iter()
                .map(|(address, _, _)| address.clone())
                .collect(),
            cloud: Arc::clone(&session.cloud),
            readings: Mutex::new(Vec::new()),
        };
        let outcome = apply_held(
            stack,
            held,
            placement,
            &apply,
            provider,
            &mut approve_all,
            &watch,
        )
        .await?;
        let changes = changes(outcome, run.operation)?;
        let switched = watch.switch_times().await;
        let dns = records
            .into_iter()
            .map(|(address, name, region)| DnsSwitch {
                name,
                region,
                switched_at: switched.get(&address).copied(),
            })
            .collect();
        let groups = redeploy::group_minimums(&placement.expansion, &run.region);
        let owner = stack.owner(&Deployment::Recorded);
        let cloud = session.cloud.as_ref();
        let health =
            redeploy::wait_healthy(cloud, &owner, &run.region, &groups, request.timeout).await?;
        Ok((changes, health, dns))
    }
    .await;
    let rto = session.elapsed_seconds().await;
    let log = stack.audit_log()?;
    let audit = Deferred {
        log: log.as_ref(),
        held: lines,
    };
    run.finish(&audit, rto, converged)
}

/// Passes every apply event on, reading the cloud's clock when the record of a DNS name
/// completes: that is when the name was switched. The time is the cloud's, as every other
/// time of a move (its start, the RPO, the RTO), so a simulated cloud whose clock is set
/// reports the switch on that clock, not the wall clock's.
struct DnsWatch<'a> {
    inner: &'a dyn ApplyObserver,
    watched: BTreeSet<Address>,
    cloud: Arc<dyn Provider>,
    /// Events are not awaited, so each reading runs as a task of its own, started when the
    /// record completed (`None`: no runtime to start it on; the clock is read at the end).
    readings: Mutex<Vec<(Address, Option<ClockReading>)>>,
}

type ClockReading = tokio::task::JoinHandle<Result<DateTime<Utc>, ProviderError>>;

impl DnsWatch<'_> {
    /// When each watched record completed. Only recorded, after the move is made: a clock the
    /// cloud could not answer then is the wall clock's reading, not the move's failure.
    async fn switch_times(&self) -> BTreeMap<Address, DateTime<Utc>> {
        let readings = std::mem::take(
            &mut *self
                .readings
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        let mut switched = BTreeMap::new();
        for (address, reading) in readings {
            let time = match reading {
                Some(reading) => match reading.await {
                    Ok(Ok(time)) => time,
                    Ok(Err(_)) => Utc::now(),
                    // The reading's task was cancelled: the clock now is the nearest answer.
                    Err(_) => crate::provider::recorded_time(self.cloud.as_ref()).await,
                },
                None => crate::provider::recorded_time(self.cloud.as_ref()).await,
            };
            switched.insert(address, time);
        }
        switched
    }
}

impl ApplyObserver for DnsWatch<'_> {
    fn on_event(&self, event: &ApplyEvent) {
        if let ApplyEvent::StepCompleted {
            address,
            called_provider: true,
            ..
        } = event
            && self.watched.contains(address)
        {
            let reading = tokio::runtime::Handle::try_current().ok().map(|runtime| {
                let cloud = Arc::clone(&self.cloud);
                runtime.spawn(async move { cloud.now().await })
            });
            self.readings
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push((address.clone(), reading));
        }
        self.inner.on_event(event);
    }
}

/// The number of changes an apply made, or why it did not complete.
fn changes(outcome: ApplyOutcome, operation: &str) -> Result<usize, OpsError> {
    match outcome.report {
        None => Ok(0),
        Some(report) if report.succeeded() => Ok(report.completed.len()),
        Some(report) => Err(DrError::Apply {
            operation: operation.to_string(),
            reason: redeploy::failure_reason(&report),
        }
        .into()),
    }
}
