//! `cairn dr failover`, `cairn dr failback` and `cairn dr status`.
//!
//! A failover records in the environment's state that it now runs in its DR region (with the
//! snapshot each data volume is restored from), then applies: every later plan expands the
//! environment into that region and leaves the primary's resources alone — neither read nor
//! changed, since the primary may not answer at all. A failback takes fresh backups of the DR
//! region's data volumes, copies them to the primary, records the primary as active again with
//! its data volumes restored from those copies, and applies: the primary is brought back (data
//! volumes replaced by the restored ones) and the DR region returns to its standby shape.
//!
//! Promises: the state is written before the apply, so an interrupted failover or failback is
//! resumed by running it again (or by `cairn apply`); no data volume is deleted before its
//! data was snapshotted and copied where the environment goes.

use super::DrError;
use super::audit::{AuditRecord, append_audit, audit_path, read_audit};
use super::backup::{
    BackupRequest, CopyAction, VolumeBackup, data_blocks, error_chain, list_backups, open,
    owner_of, run_backups,
};
use super::catalog::{self, BackupCopy, RegionListing};
use super::drill::{
    GroupHealth, RestoredVolume, approve, dr_target, failure_reason, group_minimums, restores_for,
    wait_healthy,
};
use crate::apply::{ApplyObserver, ApplyOptions};
use crate::graph::{self, ExpandOptions, Expansion, RegionOverride};
use crate::model::{Address, Kind, Owner};
use crate::ops::{self, ApplyRequest, OpsError, PlanRequest, Stack};
use crate::provider::Provider;
use crate::state::{Failover, StateBackend};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

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

/// What a failover or failback did and measured.
#[derive(Debug, Clone, Serialize)]
pub struct MoveReport {
    /// `failover` or `failback`.
    pub operation: String,
    pub stack: String,
    pub environment: String,
    /// The region the environment ran in before.
    pub from: String,
    /// The region it runs in now.
    pub region: String,
    pub started_at: DateTime<Utc>,
    /// Wall time from start until every group had its minimum in service.
    pub rto_seconds: f64,
    /// Age of the oldest restored copy when the operation started; `None` when nothing was
    /// restored (no data volumes, or a resumed operation).
    pub rpo_seconds: Option<i64>,
    /// Failback: the fresh backups of the DR region's data volumes.
    pub backups: Vec<VolumeBackup>,
    pub restored: Vec<RestoredVolume>,
    pub groups: Vec<GroupHealth>,
    /// Changes the apply made (creates, updates, deletes).
    pub changes: usize,
    /// Whether this run resumed an operation an earlier run had recorded.
    pub resumed: bool,
    pub audit_log: PathBuf,
}

/// Moves the environment into its DR region (see the module documentation). Never calls the
/// primary region.
///
/// # Errors
/// No DR region or zones, a data volume without a copy in the DR region, the apply failed, or
/// the groups did not come up in time. Every outcome is recorded in the audit log.
pub async fn run_failover(
    request: &MoveRequest,
    observer: &dyn ApplyObserver,
) -> Result<MoveReport, DrError> {
    let started = Instant::now();
    let started_at = Utc::now();
    let (stack, provider) = open(&request.plan).await?;
    let environment = stack.expansion.environment.clone();
    let owner = owner_of(&stack.expansion);

    let (failover, restored, resumed) = match &stack.failover {
        Some(failover) => {
            if request.to.as_ref().is_some_and(|to| *to != failover.region) {
                return Err(DrError::FailedOver {
                    environment: environment.name.clone(),
                    region: failover.region.clone(),
                });
            }
            (failover.clone(), Vec::new(), true)
        }
        None => {
            let (region, zones) = dr_target(request.to.as_deref(), &environment)?;
            let failover = Failover {
                primary: environment.regions[0].name.clone(),
                region: region.clone(),
                zones: zones.clone(),
                since: catalog::rfc3339(&started_at),
            };
            let options = ExpandOptions {
                region_override: Some(RegionOverride { region, zones }),
                ..Default::default()
            };
            let in_dr = expand(&request.plan, &options)?;
            let copies = catalog::read_region(provider.as_ref(), &owner, &failover.region).await?;
            let (restores, restored) = restores_for(
                &in_dr,
                &data_blocks(&stack.expansion),
                &catalog::newest_by_block(&copies),
                started_at,
                &failover.region,
            )?;
            record(
                &stack,
                "dr failover",
                None,
                Some(failover.clone()),
                restores,
                &format!(
                    "failed over from {} to {}",
                    failover.primary, failover.region
                ),
            )?;
            (failover, restored, false)
        }
    };

    let result = converge(
        request,
        "failover",
        provider.as_ref(),
        &owner,
        &failover.region,
        observer,
    )
    .await;
    finish(
        request,
        "failover",
        &stack,
        (&failover.primary, &failover.region),
        (started, started_at),
        Vec::new(),
        restored,
        resumed,
        result,
    )
}

/// Moves a failed-over environment back to its primary region (see the module
/// documentation).
///
/// # Errors
/// The environment is not failed over, the primary still does not answer, a backup, copy or
/// restore failed, or the groups did not come up in time.
pub async fn run_failback(
    request: &MoveRequest,
    observer: &dyn ApplyObserver,
) -> Result<MoveReport, DrError> {
    let started = Instant::now();
    let started_at = Utc::now();
    let (stack, provider) = open(&request.plan).await?;
    let owner = owner_of(&stack.expansion);
    let primary_expansion = expand(&request.plan, &ExpandOptions::default())?;
    let primary = primary_expansion.environment.regions[0].name.clone();
    let Some(failover) = stack.failover.clone() else {
        return Err(DrError::NotFailedOver {
            environment: primary_expansion.environment.name.clone(),
            region: primary,
        });
    };

    provider
        .read(&failover.primary, Kind::Network, &owner)
        .await
        .map_err(|source| DrError::PrimaryUnavailable {
            region: failover.primary.clone(),
            source,
        })?;

    // The data written while failed over lives in the DR region's volumes: snapshot them now
    // and copy the snapshots to the primary (while failed over, `copy_to` points there).
    let backups = if stack.expansion.backup_policies.is_empty() {
        Vec::new()
    } else {
        let backup = BackupRequest {
            plan: request.plan.clone(),
            now: Utc::now(),
            fresh: true,
        };
        run_backups(&backup).await?.volumes
    };
    let copies = catalog::read_region(provider.as_ref(), &owner, &failover.primary).await?;
    // The copies this failback just made win over anything else in the primary (an older
    // backup taken within the same second would otherwise tie with them).
    let fresh: BTreeSet<&str> = backups
        .iter()
        .filter_map(|volume| match &volume.copy {
            Some(CopyAction::Created(id) | CopyAction::Existing(id)) => Some(id.as_str()),
            None => None,
        })
        .collect();
    let mut newest = catalog::newest_by_block(&copies);
    let fresh_copies: Vec<BackupCopy> = copies
        .iter()
        .filter(|copy| fresh.contains(copy.id.as_str()))
        .cloned()
        .collect();
    newest.extend(catalog::newest_by_block(&fresh_copies));
    let (restores, restored) = restores_for(
        &primary_expansion,
        &data_blocks(&primary_expansion),
        &newest,
        started_at,
        &failover.primary,
    )?;
    record(
        &stack,
        "dr failback",
        Some(&failover),
        None,
        restores,
        &format!(
            "failed back from {} to {}",
            failover.region, failover.primary
        ),
    )?;
    let result = converge(
        request,
        "failback",
        provider.as_ref(),
        &owner,
        &failover.primary,
        observer,
    )
    .await;
    finish(
        request,
        "failback",
        &stack,
        (&failover.region, &failover.primary),
        (started, started_at),
        backups,
        restored,
        false,
        result,
    )
}

/// Applies the environment where its state now says it runs and waits for its groups.
/// Returns the number of changes made and the groups' health.
async fn converge(
    request: &MoveRequest,
    operation: &str,
    provider: &dyn Provider,
    owner: &Owner,
    region: &str,
    observer: &dyn ApplyObserver,
) -> Result<(usize, Vec<GroupHealth>), DrError> {
    let apply = ApplyRequest {
        plan: request.plan.clone(),
        plan_file: None,
        options: request.apply.clone(),
        force: false,
        // A drill or failover proves or restores service; a checklist must not stop it.
        policy: ops::PolicyGate::Off,
    };
    let outcome = ops::apply(&apply, &mut approve, observer).await?;
    let changes = match outcome.report {
        None => 0,
        Some(report) if report.succeeded() => report.completed.len(),
        Some(report) => {
            return Err(DrError::Apply {
                operation: operation.to_string(),
                reason: failure_reason(&report),
            });
        }
    };
    // Only the groups of the region the environment moved to: a standby left in the other
    // region is not what "healthy" means here.
    let now_running = Stack::load(&request.plan)?;
    let groups: BTreeMap<Address, usize> = group_minimums(&now_running.expansion)
        .into_iter()
        .filter(|(address, _)| {
            now_running
                .expansion
                .resources
                .get(address)
                .is_some_and(|group| group.region == region)
        })
        .collect();
    let health = wait_healthy(provider, owner, region, &groups, request.timeout).await?;
    Ok((changes, health))
}

/// Audits the outcome and builds the report.
#[allow(clippy::too_many_arguments)]
fn finish(
    request: &MoveRequest,
    operation: &str,
    stack: &Stack,
    (from, region): (&str, &str),
    (started, started_at): (Instant, DateTime<Utc>),
    backups: Vec<VolumeBackup>,
    restored: Vec<RestoredVolume>,
    resumed: bool,
    result: Result<(usize, Vec<GroupHealth>), DrError>,
) -> Result<MoveReport, DrError> {
    let rto = started.elapsed().as_secs_f64();
    let rpo_seconds = restored.iter().map(|volume| volume.age_seconds).max();
    let record = AuditRecord {
        time: started_at,
        operation: format!("dr {operation}"),
        stack: stack.expansion.stack.clone(),
        environment: request.plan.environment.clone(),
        region: region.to_string(),
        outcome: match &result {
            Ok(_) => "succeeded".to_string(),
            Err(error) => format!("failed: {}", error_chain(error)),
        },
        rto_seconds: result.is_ok().then_some(rto),
        rpo_seconds,
        kept: true,
    };
    append_audit(&request.plan.dir, &record)?;
    let (changes, groups) = result?;
    Ok(MoveReport {
        operation: operation.to_string(),
        stack: stack.expansion.stack.clone(),
        environment: request.plan.environment.clone(),
        from: from.to_string(),
        region: region.to_string(),
        started_at,
        rto_seconds: rto,
        rpo_seconds,
        backups,
        restored,
        groups,
        changes,
        resumed,
        audit_log: audit_path(&request.plan.dir),
    })
}

/// Writes where the environment runs into its state, under the lock. `expected` is the
/// failover the caller saw; anything else means another run moved the environment meanwhile.
fn record(
    stack: &Stack,
    operation: &str,
    expected: Option<&Failover>,
    failover: Option<Failover>,
    restores: BTreeMap<Address, String>,
    summary: &str,
) -> Result<(), DrError> {
    let _lock = stack.backend.lock(operation).map_err(OpsError::from)?;
    let mut state = stack.state()?;
    if state.failover.as_ref() != expected {
        return Err(OpsError::FailoverChanged {
            environment: state.environment.clone(),
        }
        .into());
    }
    state.failover = failover;
    state.restores = restores;
    stack
        .backend
        .write(&mut state, operation, summary)
        .map_err(OpsError::from)?;
    Ok(())
}

/// The environment of `request` expanded with `options` alone (no failover, no standby).
fn expand(request: &PlanRequest, options: &ExpandOptions) -> Result<Expansion, DrError> {
    let (_, expansion) =
        graph::load_and_expand(&request.dir, &request.load, &request.environment, options)
            .map_err(OpsError::from)?;
    Ok(expansion)
}

/// What `cairn dr status` shows.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub stack: String,
    pub environment: String,
    pub primary: String,
    /// Where the environment runs now.
    pub active_region: String,
    /// RFC 3339 time of the failover, while failed over.
    pub failed_over_since: Option<String>,
    pub dr_region: Option<String>,
    pub dr_mode: Option<String>,
    pub now: DateTime<Utc>,
    pub last_drill: Option<AuditRecord>,
    pub last_failover: Option<AuditRecord>,
    pub last_failback: Option<AuditRecord>,
    pub last_backup: Option<AuditRecord>,
    /// The backup snapshots per region (empty without backup policies).
    pub backups: Vec<RegionListing>,
}

/// Where the environment runs, its last DR operations and how old its backups are.
///
/// # Errors
/// The stack, its state or the audit log cannot be read.
pub async fn status(request: &PlanRequest) -> Result<StatusReport, DrError> {
    let now = Utc::now();
    let stack = Stack::load(request)?;
    let primary = expand(request, &ExpandOptions::default())?;
    let environment = &primary.environment;
    let audit = read_audit(&request.dir)?;
    let last = |operation: &str| {
        audit
            .iter()
            .rev()
            .find(|record| record.operation == operation && record.environment == environment.name)
            .cloned()
    };
    let backups = if stack.expansion.backup_policies.is_empty() {
        Vec::new()
    } else {
        let listing = BackupRequest {
            plan: request.clone(),
            now,
            fresh: false,
        };
        list_backups(&listing).await?.regions
    };
    Ok(StatusReport {
        stack: primary.stack.clone(),
        environment: environment.name.clone(),
        primary: environment.regions[0].name.clone(),
        active_region: stack
            .failover
            .as_ref()
            .map_or_else(|| environment.regions[0].name.clone(), |f| f.region.clone()),
        failed_over_since: stack.failover.as_ref().map(|f| f.since.clone()),
        dr_region: environment.dr.as_ref().map(|dr| dr.region.clone()),
        dr_mode: environment
            .dr
            .as_ref()
            .map(|dr| dr.mode.as_str().to_string()),
        now,
        last_drill: last("dr drill"),
        last_failover: last("dr failover"),
        last_failback: last("dr failback"),
        last_backup: last("backup run"),
        backups,
    })
}
