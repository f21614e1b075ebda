//! Blue-green rollouts: a second ("green") group with the new launch template version beside
//! the serving ("blue") one, traffic switched to it once it is healthy, the old group kept for
//! `keep_old`.
//!
//! How traffic switches. Both groups register in the target groups the configuration gives
//! the group, and the switch is the blue group leaving them. A load balancer sends no request
//! to a target before it passes its health check, so the green group takes traffic only once
//! healthy; the rollout waits for every green instance to be healthy as the group judges it
//! (its target groups' health behind a balancer), then the warmup and the gates, before the
//! blue group leaves. One set of target groups keeps the listeners and target groups exactly
//! as configured: nothing drifts, nothing else is created or left to clean up. The price is a
//! window, between the green targets turning healthy and the blue ones draining, in which both
//! versions serve (as in CodeDeploy's blue/green deployments on EC2). A weighted switch between
//! two target groups (listener weights 0/100 → 100/0) is not done.
//!
//! Names and addresses. The green group's name is the blue one's with `-green` appended, or
//! removed when it has it ([`alternate_group_name`]), so the next release goes back to the
//! first name. After the switch the group's address (`autoscaling.web`) names the green group:
//! state records it there, the plan takes the alternate name for the configured one (see
//! `plan::decide`), and what names the old group moves with it: its scaling policies are put
//! on the green group (the old group keeps its instances as they are, without a policy that
//! would scale it) and alarms watching it by name watch the green group. The old group becomes
//! a deposed object kept until `keep_old` has passed on the cloud's clock (state's
//! `keep_until`): plans show it kept, and the first plan after the deadline deletes it. A
//! release that needs the name of a group still kept deletes that group first: it is two
//! releases old.
//!
//! Crash safety. The record, with the green group's name, is saved before any call, and every
//! stage is computed from what the cloud shows (the green group exists or not, the blue group
//! is registered or not), so a resumed rollout repeats nothing harmful. While the record lives
//! the green group carries the group's address tag without being it: the refresh neither
//! adopts it nor deletes it as a duplicate (see `plan::reconcile`). State moves from blue to
//! green in one save, with the record's removal. A failed gate, or a resumed rollback, puts
//! the blue group back in its target groups, waits until it is healthy there, then deletes the
//! green group.
//!
//! Switching back within `keep_old`. A release that brings back what the kept group runs (a
//! `cairn rollback` to the version before the blue-green release, the old image applied
//! again) finds that group under the name it would give its green group, with its instances
//! still running: instead of deleting it and launching new ones, the rollout puts it back
//! (its version and sizes as configured, its target groups), waits until it is healthy there,
//! switches, and deletes the group it switched away from rather than keeping it. Nothing is
//! launched. Whether the kept group runs what the release brings is told by the settings of
//! the two launch template versions (image, instance type, …), not their numbers: the
//! rollback made a new version with the old settings. The record says so (`returning`), so
//! that an abort leaves the kept group kept, out of the target groups, and the group it was
//! replacing serving.

use super::{Abort, Driver, Ledger, save};
use crate::apply::error::ApplyError;
use crate::apply::events::{ApplyEvent, RolloutEnd};
use crate::model::cloud::LAUNCH_TEMPLATE_VERSION_FIELDS;
use crate::model::rollout::alternate_group_name;
use crate::model::{Address, Kind, Value};
use crate::provider::{
    CreateRequest, LiveResource, ProviderError, TAG_CREATE_TOKEN, UpdateRequest,
};
use crate::state::{RolloutPhase, RolloutRecord, StateResource};
use std::time::Duration;
use tokio::time::Instant;

/// Runs a blue-green rollout to its end: switched to the green group, or back on the blue one.
/// Returns how it ended and the steps done (the switch is the one step).
///
/// # Errors
/// Only a failed save of state.
pub(super) async fn run(
    driver: &mut Driver<'_>,
    record: &mut RolloutRecord,
    ledger: &mut dyn Ledger,
) -> Result<(RolloutEnd, usize), ApplyError> {
    let address = driver.planned.address.clone();
    let blue = driver.group.clone();
    let green = record
        .green
        .get_or_insert_with(|| alternate_group_name(&blue))
        .clone();
    // Where the group registers, as configured (and as the blue group had it before).
    let target_groups = ledger
        .state()
        .resources
        .get(&address)
        .and_then(|group| group.attributes.get("target_group_ids"))
        .cloned()
        .unwrap_or_else(|| Value::Array(Vec::new()));
    save(ledger, &address, record)?;

    if record.phase == RolloutPhase::Forward {
        let started = Instant::now();
        let outcome = forward(driver, record, &green, &target_groups, ledger).await;
        match outcome {
            Ok((old, new)) => {
                ledger.emit(ApplyEvent::RolloutStep {
                    address: address.clone(),
                    step: 1,
                    steps: 1,
                    target: record.course.capacity,
                    capacity: record.course.capacity,
                    old_healthy: old,
                    new_healthy: new,
                    elapsed: started.elapsed(),
                    rolling_back: false,
                });
                return match finish(driver, record, &green, ledger).await {
                    Ok(()) => {
                        ledger.persist()?;
                        if record.returning
                            && let Err(reason) = retire(driver, &blue, ledger).await
                        {
                            return Ok((RolloutEnd::Failed { reason }, 1));
                        }
                        Ok((RolloutEnd::Completed, 1))
                    }
                    Err(reason) => Ok((RolloutEnd::Failed { reason }, 1)),
                };
            }
            Err(reason) => {
                record.phase = RolloutPhase::RollingBack;
                record.reason = Some(reason);
                save(ledger, &address, record)?;
            }
        }
    }

    let reason = record
        .reason
        .clone()
        .unwrap_or_else(|| "an earlier apply was rolling back".to_string());
    ledger.emit(ApplyEvent::RolloutRollingBack {
        address: address.clone(),
        reason: reason.clone(),
    });
    match back(driver, record, &green, &target_groups, ledger).await {
        // Saved with the memory of the release rolled back, in one save (`rollout::remember`).
        Ok(()) => Ok((RolloutEnd::RolledBack { reason }, 0)),
        Err(failure) => Ok((
            RolloutEnd::Failed {
                reason: format!("{reason}; then the rollback failed: {failure}"),
            },
            0,
        )),
    }
}

/// Up to the switch and through the bake: the green group created and healthy, the blue group
/// out of the target groups. Returns the healthy blue and green instances at the end.
async fn forward(
    driver: &mut Driver<'_>,
    record: &mut RolloutRecord,
    green: &str,
    target_groups: &Value,
    ledger: &mut dyn Ledger,
) -> Result<(usize, usize), Abort> {
    let blue = driver.group.clone();
    if !record.returning && runs_what_comes(driver, record, green, ledger).await? {
        record.returning = true;
        save(ledger, &driver.planned.address, record)
            .map_err(|error| format!("saving state failed: {error}"))?;
    }
    if !record.returning {
        supersede(driver, green, ledger).await?;
    }
    // The plan's update gave the blue group the new version; kept as it was, it must not
    // launch that version when it replaces an instance.
    driver.set_version(&record.course.from_version).await?;
    match driver
        .provider
        .import(driver.region(), Kind::AutoscalingGroup, green)
        .await
    {
        Ok(kept) if record.returning => {
            reinstate(driver, record, &kept, target_groups).await?;
        }
        Ok(_) => {}
        Err(ProviderError::NotFound { .. }) => {
            // A kept group deleted meanwhile: an ordinary release after all.
            if record.returning {
                record.returning = false;
                save(ledger, &driver.planned.address, record)
                    .map_err(|error| format!("saving state failed: {error}"))?;
            }
            let blue_live = driver.read().await?;
            create_green(driver, record, &blue_live, green, target_groups).await?;
        }
        Err(error) => return Err(format!("reading group `{green}` failed: {error}")),
    }
    healthy(driver, record, green, true).await?;
    driver
        .watch(record, record.course.spec.warmup_seconds, None)
        .await?;

    // The switch: the blue group leaves the target groups, where the green one is healthy.
    let blue_live = driver.read().await?;
    if !is_empty_list(blue_live.attributes.get("target_group_ids")) {
        set_target_groups(driver, &blue_live, &Value::Array(Vec::new())).await?;
    }
    let serving = healthy_count(driver, green).await?;
    ledger.emit(ApplyEvent::RolloutSwitched {
        address: driver.planned.address.clone(),
        from: blue.clone(),
        to: green.to_string(),
        healthy: serving,
        rolling_back: false,
    });
    driver
        .watch(record, record.course.spec.bake_seconds, None)
        .await?;
    let old = healthy_count(driver, &blue).await?;
    let new = healthy_count(driver, green).await?;
    Ok((old, new))
}

/// Whether the group an earlier release kept under the name the green group needs runs what
/// this release brings: the same launch template, and a version with the same settings as the
/// one being rolled out. A cloud that cannot read versions answers no (a new group then).
async fn runs_what_comes(
    driver: &Driver<'_>,
    record: &RolloutRecord,
    green: &str,
    ledger: &mut dyn Ledger,
) -> Result<bool, Abort> {
    let region = driver.region().to_string();
    let kept = ledger.state().deposed.iter().any(|object| {
        object.kind == Kind::AutoscalingGroup && object.region == region && object.id == green
    });
    if !kept {
        return Ok(false);
    }
    let live = match driver
        .provider
        .import(&region, Kind::AutoscalingGroup, green)
        .await
    {
        Ok(live) => live,
        Err(ProviderError::NotFound { .. }) => return Ok(false),
        Err(error) => return Err(format!("reading group `{green}` failed: {error}")),
    };
    let template = |attributes: &crate::model::Attributes| {
        attributes
            .get("launch_template_id")
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let blue = driver.read().await?;
    let (Some(template), true) = (
        template(&blue.attributes),
        template(&blue.attributes) == template(&live.attributes),
    ) else {
        return Ok(false);
    };
    let kept_version = live
        .attributes
        .get("launch_template_version")
        .cloned()
        .unwrap_or(Value::Null);
    let settings = |version: Value| {
        let template = template.clone();
        let region = region.clone();
        async move {
            driver
                .provider
                .launch_template_version(&region, &template, &version)
                .await
        }
    };
    let (kept, coming) = match (
        settings(kept_version).await,
        settings(record.course.to_version.clone()).await,
    ) {
        (Ok(kept), Ok(coming)) => (kept, coming),
        (Err(ProviderError::Api { code, .. }), _) | (_, Err(ProviderError::Api { code, .. }))
            if code == "UnsupportedOperation" =>
        {
            return Ok(false);
        }
        (Err(error), _) | (_, Err(error)) => {
            return Err(format!(
                "reading the versions of launch template `{template}` failed: {error}"
            ));
        }
    };
    Ok(LAUNCH_TEMPLATE_VERSION_FIELDS
        .iter()
        .all(|field| Kind::LaunchTemplate.same_value(field, kept.get(*field), coming.get(*field))))
}

/// Puts the kept group `kept` back for this release: the version being rolled out (the same
/// settings as its own, so nothing is replaced), the configured sizes and target groups. Its
/// instances kept running: nothing is launched unless the configured capacity grew.
async fn reinstate(
    driver: &Driver<'_>,
    record: &RolloutRecord,
    kept: &LiveResource,
    target_groups: &Value,
) -> Result<(), Abort> {
    driver
        .update(kept, |after| {
            after.insert(
                "launch_template_version".to_string(),
                record.course.to_version.clone(),
            );
            after.insert("desired".to_string(), Value::from(record.course.capacity));
            after.insert("min".to_string(), Value::from(record.course.min));
            after.insert("max".to_string(), Value::from(record.course.max));
            after.insert("target_group_ids".to_string(), target_groups.clone());
        })
        .await
        .map_err(|error| format!("putting the kept group `{}` back failed: {error}", kept.id))
}

/// After switching back to a kept group: the group switched away from is deleted (state
/// recorded it as a deposed object without a deadline, so that a crash leaves it to the next
/// plan to delete), then forgotten.
async fn retire(driver: &Driver<'_>, old: &str, ledger: &mut dyn Ledger) -> Result<(), Abort> {
    let region = driver.region().to_string();
    match driver
        .provider
        .delete(&region, Kind::AutoscalingGroup, old)
        .await
    {
        Ok(()) | Err(ProviderError::NotFound { .. }) => {}
        Err(error) => return Err(format!("deleting group `{old}` failed: {error}")),
    }
    ledger.state().deposed.retain(|object| {
        !(object.kind == Kind::AutoscalingGroup && object.region == region && object.id == old)
    });
    ledger
        .persist()
        .map_err(|error| format!("saving state failed: {error}"))
}

/// Deletes the group kept from an earlier release under the name the green group needs.
async fn supersede(driver: &Driver<'_>, green: &str, ledger: &mut dyn Ledger) -> Result<(), Abort> {
    let region = driver.region().to_string();
    let kept = ledger.state().deposed.iter().position(|object| {
        object.kind == Kind::AutoscalingGroup && object.region == region && object.id == green
    });
    let Some(position) = kept else {
        return Ok(());
    };
    match driver
        .provider
        .delete(&region, Kind::AutoscalingGroup, green)
        .await
    {
        Ok(()) | Err(ProviderError::NotFound { .. }) => {}
        Err(error) => {
            return Err(format!(
                "deleting the kept group `{green}`, whose name the new group takes, failed: {error}"
            ));
        }
    }
    let state = ledger.state();
    state.deposed.remove(position);
    state.keep_until.remove(green);
    ledger
        .persist()
        .map_err(|error| format!("saving state failed: {error}"))
}

/// Creates the green group: the blue group's settings and tags (its address included), the
/// new version, the configured sizes and target groups.
async fn create_green(
    driver: &Driver<'_>,
    record: &RolloutRecord,
    blue: &LiveResource,
    green: &str,
    target_groups: &Value,
) -> Result<(), Abort> {
    let mut attributes = blue.attributes.clone();
    for computed in Kind::AutoscalingGroup.computed_attributes() {
        attributes.remove(*computed);
    }
    attributes.insert("name".to_string(), Value::from(green));
    attributes.insert(
        "launch_template_version".to_string(),
        record.course.to_version.clone(),
    );
    attributes.insert("desired".to_string(), Value::from(record.course.capacity));
    attributes.insert("min".to_string(), Value::from(record.course.min));
    attributes.insert("max".to_string(), Value::from(record.course.max));
    attributes.insert("target_group_ids".to_string(), target_groups.clone());
    let mut tags = crate::plan::comparable_tags(&blue.tags);
    tags.remove(TAG_CREATE_TOKEN);
    let request = CreateRequest {
        kind: Kind::AutoscalingGroup,
        region: driver.region().to_string(),
        attributes,
        tags,
        token: uuid::Uuid::new_v4().to_string(),
    };
    match driver.provider.create(&request).await {
        Ok(_) => Ok(()),
        // A create whose answer was lost went through: the group is the one wanted.
        Err(error) if error.is_conflict() => Ok(()),
        Err(error) => Err(format!("creating group `{green}` failed: {error}")),
    }
}

/// Waits until every instance of capacity in group `name` is healthy, within the timeout;
/// with `gated`, the gates are checked at each poll.
async fn healthy(
    driver: &mut Driver<'_>,
    record: &RolloutRecord,
    name: &str,
    gated: bool,
) -> Result<usize, Abort> {
    let wanted = record.course.capacity as usize;
    let what = format!("instances of group `{name}`");
    driver.waited = Duration::ZERO;
    loop {
        let healthy = healthy_count(driver, name).await?;
        if driver
            .healthy_or_wait(record, (healthy, wanted), gated, &what)
            .await?
        {
            return Ok(healthy);
        }
    }
}

async fn healthy_count(driver: &Driver<'_>, name: &str) -> Result<usize, Abort> {
    let (_, members) = driver.members_of(name).await?;
    Ok(members.iter().filter(|member| member.healthy).count())
}

/// Registers group `live` in `target_groups` only.
async fn set_target_groups(
    driver: &Driver<'_>,
    live: &LiveResource,
    target_groups: &Value,
) -> Result<(), Abort> {
    driver
        .update(live, |after| {
            after.insert("target_group_ids".to_string(), target_groups.clone());
        })
        .await
        .map_err(|error| {
            format!(
                "changing the target groups of `{}` failed: {error}",
                live.id
            )
        })
}

/// Back on blue: the blue group in its target groups again on its old version, healthy there,
/// then the green group deleted; state records the blue group as read and no rollout.
async fn back(
    driver: &mut Driver<'_>,
    record: &RolloutRecord,
    green: &str,
    target_groups: &Value,
    ledger: &mut dyn Ledger,
) -> Result<(), Abort> {
    let blue_live = driver.read().await?;
    if !Kind::AutoscalingGroup.same_value(
        "target_group_ids",
        blue_live.attributes.get("target_group_ids"),
        Some(target_groups),
    ) {
        set_target_groups(driver, &blue_live, target_groups).await?;
    }
    driver.set_version(&record.course.from_version).await?;
    let blue = driver.group.clone();
    let serving = healthy(driver, record, &blue, false).await?;
    ledger.emit(ApplyEvent::RolloutSwitched {
        address: driver.planned.address.clone(),
        from: green.to_string(),
        to: blue,
        healthy: serving,
        rolling_back: true,
    });
    if record.returning {
        // The kept group stays kept, as it was: out of the target groups.
        match driver
            .provider
            .import(driver.region(), Kind::AutoscalingGroup, green)
            .await
        {
            Ok(kept) if !is_empty_list(kept.attributes.get("target_group_ids")) => {
                set_target_groups(driver, &kept, &Value::Array(Vec::new())).await?;
            }
            Ok(_) | Err(ProviderError::NotFound { .. }) => {}
            Err(error) => return Err(format!("reading group `{green}` failed: {error}")),
        }
    } else {
        match driver
            .provider
            .delete(driver.region(), Kind::AutoscalingGroup, green)
            .await
        {
            Ok(()) | Err(ProviderError::NotFound { .. }) => {}
            Err(error) => return Err(format!("deleting group `{green}` failed: {error}")),
        }
    }
    let live = driver.read().await?;
    let state = ledger.state();
    if let Some(resource) = state.resources.get_mut(&driver.planned.address) {
        resource.attributes = live.attributes;
    }
    state.rollouts.remove(&driver.planned.address);
    Ok(())
}

/// After the bake: what names the blue group moves to the green one, then state records the
/// green group at the address and the blue one as kept until `keep_old` has passed, and no
/// rollout (the caller saves).
async fn finish(
    driver: &Driver<'_>,
    record: &RolloutRecord,
    green: &str,
    ledger: &mut dyn Ledger,
) -> Result<(), Abort> {
    let blue = driver.group.clone();
    repoint(driver, &blue, green, ledger).await?;
    let green_live = driver.read_group(green).await?;
    let blue_live = driver.read().await?;
    let now = driver
        .provider
        .now()
        .await
        .map_err(|error| format!("reading the cloud's clock failed: {error}"))?;
    let until = i64::try_from(record.course.spec.keep_old_seconds)
        .ok()
        .and_then(chrono::Duration::try_seconds)
        .and_then(|keep| now.checked_add_signed(keep))
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
    let address = driver.planned.address.clone();
    let state = ledger.state();
    let Some(recorded) = state.resources.get(&address).cloned() else {
        return Err("the group is not in state".to_string());
    };
    let old = StateResource {
        id: blue_live.id,
        attributes: blue_live.attributes,
        tags: blue_live.tags,
        ..recorded.clone()
    };
    let new = StateResource {
        id: green_live.id,
        attributes: green_live.attributes,
        tags: green_live.tags,
        ..recorded
    };
    state.resources.insert(address.clone(), new);
    state
        .deposed
        .retain(|object| !(object.kind == old.kind && (object.id == old.id || object.id == green)));
    state.keep_until.remove(green);
    // Switched back to a kept group: the old one is deleted next (see `retire`), not kept.
    if !record.returning {
        state.keep_until.insert(old.id.clone(), until);
    }
    state.deposed.push(old);
    state.rollouts.remove(&address);
    Ok(())
}

/// Moves what names group `blue` in the group's region to `green`: scaling policies (put on
/// the green group, taken off the blue one) and alarms watching it by name. Saved at once, so
/// that a policy's new id is never lost; a resumed rollout finds nothing left to move.
async fn repoint(
    driver: &Driver<'_>,
    blue: &str,
    green: &str,
    ledger: &mut dyn Ledger,
) -> Result<(), Abort> {
    let region = driver.region().to_string();
    let naming: Vec<Address> = ledger
        .state()
        .resources
        .values()
        .filter(|object| object.region == region && names_group(object, blue))
        .map(|object| object.address.clone())
        .collect();
    for address in naming {
        let Some(object) = ledger.state().resources.get(&address).cloned() else {
            continue;
        };
        let live = match object.kind {
            Kind::ScalingPolicy => {
                match driver
                    .provider
                    .delete(&region, object.kind, &object.id)
                    .await
                {
                    Ok(()) | Err(ProviderError::NotFound { .. }) => {}
                    Err(error) => {
                        return Err(format!("taking `{address}` off `{blue}` failed: {error}"));
                    }
                }
                let mut attributes = object.attributes.clone();
                attributes.insert("group_name".to_string(), Value::from(green));
                let request = CreateRequest {
                    kind: object.kind,
                    region: region.clone(),
                    attributes,
                    tags: object.tags.clone(),
                    token: uuid::Uuid::new_v4().to_string(),
                };
                driver.provider.create(&request).await
            }
            Kind::Alarm => {
                let mut after = object.attributes.clone();
                if let Some(Value::Object(dimensions)) = after.get_mut("dimensions") {
                    dimensions.insert("AutoScalingGroupName".to_string(), Value::from(green));
                }
                let request = UpdateRequest {
                    kind: object.kind,
                    region: region.clone(),
                    id: object.id.clone(),
                    before: object.attributes.clone(),
                    after,
                    tags: object.tags.clone(),
                    token: uuid::Uuid::new_v4().to_string(),
                };
                driver.provider.update(&request).await
            }
            _ => continue,
        }
        .map_err(|error| format!("moving `{address}` to group `{green}` failed: {error}"))?;
        if let Some(entry) = ledger.state().resources.get_mut(&address) {
            entry.id = live.id;
            entry.attributes = live.attributes;
        }
        ledger
            .persist()
            .map_err(|error| format!("saving state failed: {error}"))?;
    }
    Ok(())
}

/// Whether `object` names group `group`: a scaling policy of it, or an alarm on its metrics.
fn names_group(object: &StateResource, group: &str) -> bool {
    let named = |value: Option<&Value>| value.and_then(Value::as_str) == Some(group);
    match object.kind {
        Kind::ScalingPolicy => named(object.attributes.get("group_name")),
        Kind::Alarm => named(
            object
                .attributes
                .get("dimensions")
                .and_then(|dimensions| dimensions.get("AutoScalingGroupName")),
        ),
        _ => false,
    }
}

fn is_empty_list(value: Option<&Value>) -> bool {
    value
        .and_then(Value::as_array)
        .is_none_or(|items| items.is_empty())
}
