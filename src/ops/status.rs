//! `cairn dr status` (see [`crate::dr::status`]): the stack loaded once, the state read once
//! without the lock, the backups listed where the placed environment keeps them.

use super::OpsError;
use super::backup::cloud_now;
use super::run::{PlanRequest, Stack};
use crate::dr::{Deployment, StatusReport, backup, read_audit, status};
use crate::provider::Retrying;
use crate::util::errors::error_chain;
use chrono::Utc;

/// Where the environment runs, its last DR operations and how old its backups are.
///
/// # Errors
/// The stack, its state or the audit log cannot be read.
pub async fn dr_status(request: &PlanRequest) -> Result<StatusReport, OpsError> {
    let stack = Stack::open(request)?;
    let state = stack.state(&Deployment::Recorded)?;
    let placement = stack.place(&Deployment::Recorded, &state)?;
    let audit = read_audit(stack.audit_log()?.as_ref())?;
    // Ages are measured on the cloud's clock, as the audit log's times are; without backups
    // to list the cloud is not opened, and the wall clock stands in for it.
    let (now, backups) = if placement.expansion.backup_policies.is_empty() {
        (Utc::now(), Vec::new())
    } else {
        let cloud = Retrying::wrap(stack.provider().await?);
        let now = cloud_now(cloud.as_ref()).await?;
        let listing = backup::list(&placement.expansion, cloud.as_ref(), now).await?;
        (now, listing.regions)
    };
    let mut report = status::status(
        &stack.config.stack,
        &stack.environment,
        placement.failover.as_ref(),
        &audit,
        backups,
        now,
    );
    // Readiness is about failing over: nothing to say without a DR region or once failed over.
    if stack.environment.dr.is_some() && placement.failover.is_none() {
        match super::readiness::check_stack(&stack, request).await {
            Ok(readiness) => report.readiness = Some(readiness),
            Err(error) => report.readiness_error = Some(error_chain(&error)),
        }
    }
    Ok(report)
}
