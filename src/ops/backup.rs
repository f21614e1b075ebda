//! `cairn backup run|list|verify` (see [`crate::dr::backup`]): the stack loaded once, the
//! state read once, without the lock (backups change no state), and the environment placed
//! where that state says it runs, so backups taken while failed over are of the volumes in
//! the failover region and go back to the primary.

use super::OpsError;
use super::history::recorded_dr;
use super::run::{PlanRequest, Stack};
use crate::dr::backup::{self, RunOptions};
use crate::dr::{
    BackupListing, BackupRunReport, Deferred, Deployment, HeldLines, Placement, VerifyReport,
};
use crate::provider::{Provider, Retrying};
use crate::state::StateDocument;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;

/// What to back up, list or verify. The time it happens at is the cloud's
/// ([`Provider::now`]): on `sim`, `cairn sim clock` sets it.
#[derive(Debug, Clone)]
pub struct BackupRequest {
    pub plan: PlanRequest,
    /// `backup run`: wait up to this long for each pending snapshot and copy.
    pub wait: Option<Duration>,
}

/// `backup run`, recorded in the environment's history (failed runs too); see [`take_backups`].
///
/// # Errors
/// As [`take_backups`]; [`OpsError::Record`] when the run cannot be recorded.
pub async fn run_backups(request: &BackupRequest) -> Result<BackupRunReport, OpsError> {
    let held = HeldLines::default();
    recorded_dr(
        &request.plan,
        "backup run",
        &held,
        take_backups(request, &held),
        |report| format!("{} snapshots taken", report.taken()),
    )
    .await
}

/// Runs every backup policy of the environment once: snapshot, copy, prune; audited.
///
/// # Errors
/// The stack or its state cannot be loaded, the environment has no backup policy, or a cloud
/// call fails (what was done before the failure stays done; the next run carries on).
async fn take_backups(
    request: &BackupRequest,
    held: &HeldLines,
) -> Result<BackupRunReport, OpsError> {
    let (stack, state, placement, cloud) = open(request).await?;
    let options = RunOptions {
        now: cloud_now(cloud.as_ref()).await?,
        fresh: false,
        wait: request.wait,
    };
    let report = backup::run(
        &placement.expansion,
        &state,
        cloud.as_ref(),
        options,
        &Deferred {
            log: stack.audit_log()?.as_ref(),
            held,
        },
    )
    .await?;
    Ok(report)
}

/// Lists the environment's backup snapshots per region.
///
/// # Errors
/// The stack cannot be loaded or the environment has no backup policy.
pub async fn list_backups(request: &BackupRequest) -> Result<BackupListing, OpsError> {
    let (_, _, placement, cloud) = open(request).await?;
    let now = cloud_now(cloud.as_ref()).await?;
    Ok(backup::list(&placement.expansion, cloud.as_ref(), now).await?)
}

/// Restores the newest copy of every backed-up volume in the DR region into a scratch volume,
/// checks it and deletes it again.
///
/// # Errors
/// The stack cannot be loaded, the environment has no backup policy, or a region cannot be
/// listed; a failed restore is in the report instead.
pub async fn verify_backups(request: &BackupRequest) -> Result<VerifyReport, OpsError> {
    let (_, _, placement, cloud) = open(request).await?;
    let now = cloud_now(cloud.as_ref()).await?;
    Ok(backup::verify(&placement.expansion, cloud.as_ref(), now).await?)
}

/// The stack, its state, the environment placed, and its cloud behind the retrying wrapper:
/// backups run outside the apply executor, so they get its patience with throttling and
/// transient errors from the wrapper.
async fn open(
    request: &BackupRequest,
) -> Result<(Stack, StateDocument, Placement, Arc<dyn Provider>), OpsError> {
    let stack = Stack::open(&request.plan)?;
    let state = stack.state(&Deployment::Recorded)?;
    let placement = stack.place(&Deployment::Recorded, &state)?;
    let cloud = Retrying::wrap(stack.provider().await?);
    Ok((stack, state, placement, cloud))
}

/// What the cloud's clock says now, which backup windows, ages and RPOs are measured on.
///
/// # Errors
/// [`OpsError::Cloud`] when the clock cannot be read.
pub(super) async fn cloud_now(cloud: &dyn Provider) -> Result<DateTime<Utc>, OpsError> {
    cloud.now().await.map_err(|source| OpsError::Cloud {
        action: "read the cloud's clock".to_string(),
        source,
    })
}
