//! `cairn dr status` (see [`crate::dr::status`]): the stack loaded once, the state read once
//! without the lock, the backups listed where the placed environment keeps them.

use super::OpsError;
use super::run::{PlanRequest, Stack};
use crate::dr::{Deployment, StatusReport, backup, read_audit, status};
use crate::provider::Retrying;
use chrono::Utc;

/// Where the environment runs, its last DR operations and how old its backups are.
///
/// # Errors
/// The stack, its state or the audit log cannot be read.
pub async fn dr_status(request: &PlanRequest) -> Result<StatusReport, OpsError> {
    let now = Utc::now();
    let stack = Stack::open(request)?;
    let state = stack.state(&Deployment::Recorded)?;
    let placement = stack.place(&Deployment::Recorded, &state)?;
    let audit = read_audit(stack.audit_log()?.as_ref())?;
    let backups = if placement.expansion.backup_policies.is_empty() {
        Vec::new()
    } else {
        let cloud = Retrying::wrap(stack.provider().await?);
        backup::list(&placement.expansion, cloud.as_ref(), now)
            .await?
            .regions
    };
    Ok(status::status(
        &stack.config.stack,
        &stack.environment,
        placement.failover.as_ref(),
        &audit,
        backups,
        now,
    ))
}
