//! `cairn dr check` (see [`crate::dr::readiness`]): the stack loaded once, the state read once
//! without the lock, and the DR region read (copies, images) and refreshed (the standby),
//! changing nothing.

use super::OpsError;
use super::backup::cloud_now;
use super::run::{PlanRequest, Stack, plan_placed};
use crate::config::DrMode;
use crate::dr::readiness::{
    self, ImageCheck, QuotaCheck, ReadinessReport, StandbyDrift, check_copies, predict,
};
use crate::dr::redeploy;
use crate::dr::{DRILL_INSTANCE, Deployment, DrError, Redeploy, catalog, read_audit, target};
use crate::graph::Expansion;
use crate::model::{Address, Kind};
use crate::plan::ChangeAction;
use crate::provider::{Provider, QuotaName, Retrying};
use std::collections::BTreeMap;

/// Whether the environment could fail over now, and how long it would take.
///
/// # Errors
/// The stack, its state or the audit log cannot be read, the environment has no DR region
/// or is failed over, or the DR region cannot be read.
pub async fn dr_check(request: &PlanRequest) -> Result<ReadinessReport, OpsError> {
    let stack = Stack::open(request)?;
    check_stack(&stack, request).await
}

/// [`dr_check`] of a stack already loaded (`dr status` shows it too).
///
/// # Errors
/// As [`dr_check`].
pub(super) async fn check_stack(
    stack: &Stack,
    request: &PlanRequest,
) -> Result<ReadinessReport, OpsError> {
    let environment = &stack.environment;
    let state = stack.state(&Deployment::Recorded)?;
    if let Some(failover) = &state.failover {
        return Err(DrError::FailedOver {
            environment: environment.name.clone(),
            region: failover.region.clone(),
        }
        .into());
    }
    let Some(dr) = environment.dr.clone() else {
        return Err(DrError::NoDrRegion {
            environment: environment.name.clone(),
        }
        .into());
    };
    let provider = stack.provider().await?;
    let cloud = Retrying::wrap(std::sync::Arc::clone(&provider));
    let now = cloud_now(cloud.as_ref()).await?;
    let placement = stack.place(&Deployment::Recorded, &state)?;

    // 1. Copies: what a failover would restore, judged against each policy's window.
    let mut windows: BTreeMap<String, u64> = BTreeMap::new();
    for policy in &placement.expansion.backup_policies {
        for resource in placement.expansion.resources.values() {
            if policy.selects(resource) {
                let window = windows
                    .entry(resource.address.block_path().to_string())
                    .or_insert(policy.every_seconds);
                *window = (*window).min(policy.every_seconds);
            }
        }
    }
    let owner = stack.owner(&Deployment::Recorded);
    let copies = if windows.is_empty() {
        Vec::new()
    } else {
        catalog::read_region(cloud.as_ref(), &owner, &dr.region).await?
    };
    let copies = check_copies(&copies, &windows, now);

    // 2. Images: what the environment launches, as it would be expanded into the DR region.
    let target = target::resolve(None, environment, cloud.as_ref()).await?;
    let in_dr = stack.place(
        &Deployment::Redeploy(Redeploy {
            instance: DRILL_INSTANCE.to_string(),
            target,
        }),
        &state,
    )?;
    let mut used: BTreeMap<String, Vec<Address>> = BTreeMap::new();
    for resource in in_dr.expansion.resources.values() {
        if !matches!(resource.kind, Kind::LaunchTemplate | Kind::Instance) {
            continue;
        }
        if let Some(image) = resource
            .attributes
            .get("image")
            .and_then(|image| image.as_str())
        {
            used.entry(image.to_string())
                .or_default()
                .push(resource.address.clone());
        }
    }
    let mut images = Vec::new();
    for (image, used_by) in used {
        let present = cloud
            .image_exists(&dr.region, &image)
            .await
            .map_err(|source| DrError::provider("describe images", &dr.region, source))?;
        images.push(ImageCheck {
            image,
            used_by,
            present,
        });
    }

    // 3. The standby: what a plan of the environment would change in the DR region.
    let standby = if dr.mode == DrMode::BackupRestore {
        Vec::new()
    } else {
        standby_drift(
            stack,
            request,
            &placement,
            &state,
            provider.as_ref(),
            &dr.region,
        )
        .await?
    };

    // 4. Quotas: what runs in the DR region now, plus what a failover adds to the standby.
    let exposed = cloud
        .quotas(&dr.region)
        .await
        .map_err(|source| DrError::provider("read account quotas", &dr.region, source))?;
    let quotas = exposed
        .into_iter()
        .map(|quota| {
            let wanted = quota_count(&in_dr.expansion, &dr.region, quota.name);
            let standby = quota_count(&placement.expansion, &dr.region, quota.name);
            QuotaCheck {
                quota: quota.name,
                limit: quota.limit,
                usage: quota.usage,
                adds: wanted.saturating_sub(standby),
            }
        })
        .collect::<Vec<_>>();

    // 5. The recovery time: the groups a failover brings up, at the cloud's timings.
    let groups = redeploy::group_minimums(&in_dr.expansion, &dr.region)
        .values()
        .filter(|min| **min > 0)
        .count();
    let predicted = predict(&cloud.timings(), groups);
    let audit = read_audit(stack.audit_log()?.as_ref())?;

    let blockers = readiness::blockers(
        &environment.name,
        &dr.region,
        &copies,
        &images,
        &standby,
        &quotas,
    );
    Ok(ReadinessReport {
        stack: stack.config.stack.clone(),
        environment: environment.name.clone(),
        region: dr.region.clone(),
        mode: dr.mode.as_str().to_string(),
        now,
        copies,
        images,
        standby,
        quotas,
        predicted,
        last_drill: readiness::last_drill(&audit, &environment.name),
        blockers,
    })
}

/// The standby's resources in `region` that a plan of the environment would change, with
/// the attributes the refresh saw changed behind Cairn's back.
async fn standby_drift(
    stack: &Stack,
    request: &PlanRequest,
    placement: &crate::dr::Placement,
    state: &crate::state::StateDocument,
    provider: &dyn Provider,
    region: &str,
) -> Result<Vec<StandbyDrift>, OpsError> {
    let request = PlanRequest {
        deployment: Deployment::Recorded,
        ..request.clone()
    };
    let plan = plan_placed(stack, placement, state, &request, provider, false).await?;
    let drifted: BTreeMap<&Address, Vec<String>> = plan
        .drift
        .iter()
        .filter(|drift| drift.region == region)
        .map(|drift| (&drift.address, drift.attributes.keys().cloned().collect()))
        .collect();
    Ok(plan
        .changes
        .iter()
        .filter(|change| change.region == region)
        .map(|change| StandbyDrift {
            address: change.address.clone(),
            action: match change.action {
                ChangeAction::Create => "create",
                ChangeAction::Update => "update",
                ChangeAction::Replace => "replace",
                ChangeAction::Delete => "delete",
            }
            .to_string(),
            attributes: drifted.get(&change.address).cloned().unwrap_or_default(),
        })
        .collect())
}

/// How much of quota `name` what `expansion` places in `region` takes: its VPCs, or its
/// instances and each autoscaling group's desired capacity (its `min` when it sets none).
fn quota_count(expansion: &Expansion, region: &str, name: QuotaName) -> u64 {
    let number = |resource: &crate::model::DesiredResource, attribute: &str| {
        resource
            .attributes
            .get(attribute)
            .and_then(crate::model::Value::as_u64)
    };
    expansion
        .resources
        .values()
        .filter(|resource| resource.region == region)
        .map(|resource| match (name, resource.kind) {
            (QuotaName::Vpcs, Kind::Network) | (QuotaName::RunningInstances, Kind::Instance) => 1,
            (QuotaName::RunningInstances, Kind::AutoscalingGroup) => number(resource, "desired")
                .or_else(|| number(resource, "min"))
                .unwrap_or(0),
            _ => 0,
        })
        .sum()
}
