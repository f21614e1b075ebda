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
use super::run::{ApplyOutcome, ApplyRequest, Held, PlanRequest, apply_held, approve_all};
use super::session::Session;
use crate::apply::{ApplyEvent, ApplyObserver, ApplyOptions};
use crate::dr::backup::{self, RunOptions};
use crate::dr::failover::{self, Move};
use crate::dr::placement::restore_volumes;
use crate::dr::{
    BackupCopy, Deployment, DnsSwitch, DrError, MoveReport, Placement, catalog, redeploy, target,
};
use crate::model::{Address, Kind};
use crate::state::Failover;
use chrono::{DateTime, Utc};
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

/// `dr failover`, recorded in the environment's history (failed runs too); see [`run_failover`].
///
/// # Errors
/// As [`run_failover`]; [`OpsError::Record`] when the run cannot be recorded.
pub async fn failover(
    request: &MoveRequest,
    observer: &dyn ApplyObserver,
) -> Result<MoveReport, OpsError> {
    recorded_dr(
        &request.plan,
        "dr failover",
        run_failover(request, observer),
        |report| format!("failed over from {} to {}", report.from, report.region),
    )
    .await
}

/// Moves the environment into its DR region (or `to`): records the move and the snapshot
/// each data volume is restored from, applies, waits for the groups. A failover already
/// recorded is resumed. Never calls the primary region.
///
/// # Errors
/// No DR region or zones, a data volume without a copy in the DR region, a failover to
/// another region already recorded, the apply failed, or the groups did not come up in time;
/// the last two are audited.
async fn run_failover(
    request: &MoveRequest,
    observer: &dyn ApplyObserver,
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
            (placement, run)
        }
        None => {
            let cloud = session.cloud.as_ref();
            let target = target::resolve(request.to.as_deref(), environment, cloud).await?;
            let copies = catalog::read_region(cloud, &owner, &target.region).await?;
            let newest = catalog::newest_by_block(&copies);
            let recorded = failover::failover_to(environment, &target, &session.started_at);
            let mut run = session.move_of(
                "failover",
                recorded.primary.clone(),
                recorded.region.clone(),
            );
            let placement = record_move(&session, &mut held, Some(recorded), &newest, &mut run)?;
            (placement, run)
        }
    };
    converge(request, &session, held, &placement, run, observer).await
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
    observer: &dyn ApplyObserver,
) -> Result<MoveReport, OpsError> {
    recorded_dr(
        &request.plan,
        "dr failback",
        run_failback(request, observer),
        |report| format!("failed back from {} to {}", report.from, report.region),
    )
    .await
}

/// Moves a failed-over environment back to its primary region: snapshots the DR region's data
/// volumes and copies them home, records the primary as active with its data volumes restored
/// from those copies, applies (the DR region returns to its standby), waits for the groups.
///
/// # Errors
/// The environment is not failed over, the primary still does not answer, a backup, copy or
/// restore failed, or the groups did not come up in time.
async fn run_failback(
    request: &MoveRequest,
    observer: &dyn ApplyObserver,
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
    let backups = if failed_over.expansion.backup_policies.is_empty() {
        Vec::new()
    } else {
        let options = RunOptions {
            now: session.started_at,
            fresh: true,
        };
        backup::run(
            &failed_over.expansion,
            &held.state,
            session.cloud.as_ref(),
            options,
            stack.audit_log()?.as_ref(),
        )
        .await?
        .volumes
    };
    let copies = catalog::read_region(session.cloud.as_ref(), &owner, &recorded.primary).await?;
    let newest = failover::newest_for_failback(&copies, &backups);

    let mut run = Move {
        backups,
        ..session.move_of("failback", recorded.region, recorded.primary)
    };
    let placement = record_move(&session, &mut held, None, &newest, &mut run)?;
    converge(request, &session, held, &placement, run, observer).await
}

/// Records in the held state, still under the lock and before anything is planned, that the
/// environment now runs as `failover` says (`None`: in its primary), with each data volume
/// restored from the newest copy of its block among `newest`; notes the restored volumes in
/// `run`. Returns the environment placed there, which is what gets applied.
fn record_move(
    session: &Session,
    held: &mut Held,
    failover: Option<Failover>,
    newest: &BTreeMap<String, BackupCopy>,
    run: &mut Move,
) -> Result<Placement, OpsError> {
    held.state.failover = failover;
    held.state.restores.clear();
    let mut placement = session.stack.place(&Deployment::Recorded, &held.state)?;
    let (restores, restored) = redeploy::restores_for(
        &placement.expansion,
        newest,
        session.started_at,
        &run.region,
    )?;
    restore_volumes(&mut placement.expansion, &restores);
    held.state.restores = restores;
    held.write(&format!("dr {}", run.operation), &run.summary())?;
    run.restored = restored;
    Ok(placement)
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
            switched: Mutex::new(BTreeMap::new()),
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
        let switched = watch
            .switched
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
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
    run.finish(stack.audit_log()?.as_ref(), converged)
}

/// Passes every apply event on, noting when the records of DNS names complete: that is when
/// a name was switched.
struct DnsWatch<'a> {
    inner: &'a dyn ApplyObserver,
    watched: BTreeSet<Address>,
    switched: Mutex<BTreeMap<Address, DateTime<Utc>>>,
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
            self.switched
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .insert(address.clone(), Utc::now());
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
