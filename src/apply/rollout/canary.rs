//! Weighted canaries: behind a listener, a canary's share of the traffic is its checkpoint,
//! not its share of the instances.
//!
//! How. Before the first step the engine creates a canary target group beside the group's own
//! one (its settings and tags, another name), and the listeners forwarding to the group's
//! target group forward to both, the canary one at weight 0 (a target group a listener
//! forwards to is health-checked). Each new instance, once running, is registered in the
//! canary target group and taken out of the group's (where its autoscaling group put it), so
//! the new version serves only through the canary's weight. After a step's instances are
//! healthy there, the weights move to the step's checkpoint: `100 - p` for the group's target
//! group, `p` for the canary's. At the end every instance, all new, is registered in the
//! group's target group again and healthy there, the listeners get their configured action
//! back, and the canary target group is deleted. A rollback puts the configured action back
//! first (all the traffic to the old instances), then deletes the canary target group.
//!
//! Crash safety. The canary target group's name is fixed and saved in the rollout record
//! before it is created, and its id as soon as it is known; the record keeps it until it is
//! deleted. A resumed rollout finds it by name (a create whose answer was lost) or creates it
//! again (deleted just before the record was saved), and every call here is idempotent:
//! registering what is registered, setting the weights a listener has. The refresh neither
//! reports the listeners' weights as drift nor takes the canary target group for a duplicate
//! while the record lives (see `plan::reconcile`).

use super::{Abort, Driver, Ledger, Member, POLL, save};
use crate::apply::events::ApplyEvent;
use crate::model::{Attributes, Kind, Value};
use crate::plan::rollout::forwards_to;
use crate::provider::{CreateRequest, ProviderError, TAG_CREATE_TOKEN};
use crate::state::{CanaryTraffic, ListenerForward, RolloutRecord};
use serde_json::json;
use std::time::Duration;

/// A target group name's longest length (AWS's limit).
const NAME_LIMIT: usize = 32;

/// The canary target group of target group `name`: `-canary` appended, the name cut to fit.
pub fn canary_name(name: &str) -> String {
    const SUFFIX: &str = "-canary";
    let kept: String = name.chars().take(NAME_LIMIT - SUFFIX.len()).collect();
    format!("{}{SUFFIX}", kept.trim_end_matches('-'))
}

/// Sets the canary's traffic up before the first step (or finds it again on resume): the
/// record names the canary target group (saved), which then exists, its id saved, and the
/// listeners forward to it at weight 0 (on resume, at the weight of the last step done). Without weights, or when no listener forwards to the
/// group's target group any more, nothing: the share follows the instances.
pub(super) async fn prepare(
    driver: &mut Driver<'_>,
    record: &mut RolloutRecord,
    ledger: &mut dyn Ledger,
) -> Result<(), Abort> {
    if record.course.weights.is_empty() {
        return Ok(());
    }
    if record.canary.is_none() {
        match traffic(driver, ledger) {
            Some(canary) => record.canary = Some(canary),
            None => record.course.weights.clear(),
        }
        save(ledger, &driver.planned.address, record)
            .map_err(|error| format!("saving state failed: {error}"))?;
    }
    let Some(canary) = record.canary.clone() else {
        return Ok(());
    };
    let mut id = canary.id.clone();
    if let Some(known) = &id {
        match driver
            .provider
            .import(driver.region(), Kind::TargetGroup, known)
            .await
        {
            Ok(_) => {}
            Err(ProviderError::NotFound { .. }) => id = None,
            Err(error) => return Err(format!("reading target group `{known}` failed: {error}")),
        }
    }
    if id.is_none() {
        let created = match find(driver, &canary.name).await? {
            Some(found) => found,
            None => create(driver, &canary, ledger).await?,
        };
        id = Some(created);
        if let Some(recorded) = record.canary.as_mut() {
            recorded.id = id.clone();
        }
        save(ledger, &driver.planned.address, record)
            .map_err(|error| format!("saving state failed: {error}"))?;
    }
    driver.canary = id;
    // The weights the last completed step left (0 before the first): a target group no
    // listener forwards to is not health-checked, and a resumed run may find the configured
    // action back already (killed while settling).
    let percent = record
        .step
        .checked_sub(1)
        .and_then(|done| record.course.weights.get(done))
        .copied()
        .unwrap_or(0);
    shift(driver, record, percent, ledger).await
}

/// The canary's traffic as the record will keep it: the group's one target group and the
/// listeners state knows forwarding to it, with their configured actions.
fn traffic(driver: &Driver<'_>, ledger: &mut dyn Ledger) -> Option<CanaryTraffic> {
    let state = ledger.state();
    let target_group = state
        .resources
        .get(&driver.planned.address)?
        .attributes
        .get("target_group_ids")?
        .as_array()?
        .first()?
        .as_str()?
        .to_string();
    let name = state
        .resources
        .values()
        .find(|resource| resource.kind == Kind::TargetGroup && resource.id == target_group)?
        .attributes
        .get("name")?
        .as_str()?
        .to_string();
    let listeners: Vec<ListenerForward> = state
        .resources
        .values()
        .filter(|resource| {
            resource.kind == Kind::Listener
                && resource.region == driver.planned.course.region
                && forwards_to(&resource.attributes, &target_group)
        })
        .map(|listener| ListenerForward {
            id: listener.id.clone(),
            forward: listener
                .attributes
                .get("forward")
                .cloned()
                .unwrap_or(Value::Null),
        })
        .collect();
    (!listeners.is_empty()).then(|| CanaryTraffic {
        name: canary_name(&name),
        id: None,
        target_group,
        listeners,
    })
}

/// The owned target group named `name`, if it exists.
async fn find(driver: &Driver<'_>, name: &str) -> Result<Option<String>, Abort> {
    let owned = driver
        .provider
        .read(driver.region(), Kind::TargetGroup, &driver.owner)
        .await
        .map_err(|error| format!("reading the target groups failed: {error}"))?;
    Ok(owned
        .into_iter()
        .find(|group| group.attributes.get("name").and_then(Value::as_str) == Some(name))
        .map(|group| group.id))
}

/// Creates the canary target group: the group's target group's settings and tags, the
/// canary's name.
async fn create(
    driver: &Driver<'_>,
    canary: &CanaryTraffic,
    ledger: &mut dyn Ledger,
) -> Result<String, Abort> {
    let Some(original) = ledger
        .state()
        .resources
        .values()
        .find(|resource| resource.kind == Kind::TargetGroup && resource.id == canary.target_group)
        .cloned()
    else {
        return Err(format!(
            "target group `{}` is not in state",
            canary.target_group
        ));
    };
    let mut attributes: Attributes = original.attributes.clone();
    for computed in Kind::TargetGroup.computed_attributes() {
        attributes.remove(*computed);
    }
    attributes.insert("name".to_string(), Value::from(canary.name.as_str()));
    let mut tags = crate::plan::comparable_tags(&original.tags);
    tags.remove(TAG_CREATE_TOKEN);
    let request = CreateRequest {
        kind: Kind::TargetGroup,
        region: driver.region().to_string(),
        attributes,
        tags,
        token: uuid::Uuid::new_v4().to_string(),
    };
    match driver.provider.create(&request).await {
        Ok(created) => Ok(created.id),
        // A create whose answer was lost went through: the target group is the one wanted.
        Err(error) if error.is_conflict() || error.is_retryable() => find(driver, &canary.name)
            .await?
            .ok_or_else(|| format!("creating target group `{}` failed: {error}", canary.name)),
        Err(error) => Err(format!(
            "creating target group `{}` failed: {error}",
            canary.name
        )),
    }
}

/// Serves `members` (new instances) from the canary target group only: registered there,
/// taken out of the group's. Only running instances (AWS registers no other), each once per
/// run; registering again is harmless, so a resumed run does it again.
pub(super) async fn admit(
    driver: &mut Driver<'_>,
    record: &RolloutRecord,
    members: &[&Member],
) -> Result<bool, Abort> {
    let (Some(canary), Some(id)) = (&record.canary, driver.canary.clone()) else {
        return Ok(false);
    };
    let instances: Vec<String> = members
        .iter()
        .filter(|member| member.running && !driver.admitted.contains(&member.id))
        .map(|member| member.id.clone())
        .collect();
    if instances.is_empty() {
        return Ok(false);
    }
    let region = driver.region().to_string();
    driver
        .provider
        .register_targets(&region, &id, &instances)
        .await
        .map_err(|error| format!("registering the new instances in `{id}` failed: {error}"))?;
    driver
        .provider
        .deregister_targets(&region, &canary.target_group, &instances)
        .await
        .map_err(|error| {
            format!(
                "taking the new instances out of `{}` failed: {error}",
                canary.target_group
            )
        })?;
    driver.admitted.extend(instances);
    Ok(true)
}

/// Moves the listeners' weights to step `step`'s checkpoint (`100 - p` / `p`), `p` being 0
/// before the first step's instances serve.
pub(super) async fn shift(
    driver: &Driver<'_>,
    record: &RolloutRecord,
    percent: u32,
    ledger: &mut dyn Ledger,
) -> Result<(), Abort> {
    let (Some(canary), Some(id)) = (&record.canary, &driver.canary) else {
        return Ok(());
    };
    for listener in &canary.listeners {
        let forward = weighted(&listener.forward, &canary.target_group, id, percent);
        set_forward(driver, &listener.id, forward).await?;
    }
    ledger.emit(ApplyEvent::RolloutTraffic {
        address: driver.planned.address.clone(),
        old_weight: 100 - percent.min(100),
        new_weight: percent.min(100),
        configured: false,
    });
    Ok(())
}

/// The configured forward action with `target_group`'s entry split: `100 - percent` stays,
/// `percent` goes to `canary`. Other target groups keep their weights.
fn weighted(configured: &Value, target_group: &str, canary: &str, percent: u32) -> Value {
    let percent = percent.min(100);
    let mut entries: Vec<Value> = configured
        .as_array()
        .into_iter()
        .flatten()
        .filter(|entry| entry.get("target_group_id").and_then(Value::as_str) != Some(canary))
        .map(|entry| {
            if entry.get("target_group_id").and_then(Value::as_str) == Some(target_group) {
                json!({"target_group_id": target_group, "weight": 100 - percent})
            } else {
                entry.clone()
            }
        })
        .collect();
    entries.push(json!({"target_group_id": canary, "weight": percent}));
    Value::Array(entries)
}

/// Sets listener `id`'s forward action, as read now otherwise.
async fn set_forward(driver: &Driver<'_>, id: &str, forward: Value) -> Result<(), Abort> {
    let live = driver
        .provider
        .import(driver.region(), Kind::Listener, id)
        .await
        .map_err(|error| format!("reading listener `{id}` failed: {error}"))?;
    driver
        .update(&live, |after| {
            after.insert("forward".to_string(), forward);
        })
        .await
        .map_err(|error| format!("changing the weights of listener `{id}` failed: {error}"))
}

/// The end of a weighted canary that went forward: every instance in the group's target group
/// again and healthy there, the configured actions back, the canary target group deleted.
pub(super) async fn settle(
    driver: &mut Driver<'_>,
    record: &mut RolloutRecord,
    ledger: &mut dyn Ledger,
) -> Result<(), Abort> {
    let Some(canary) = record.canary.clone() else {
        return Ok(());
    };
    let (_, members) = driver.members().await?;
    let instances: Vec<String> = members.iter().map(|member| member.id.clone()).collect();
    if !instances.is_empty() {
        driver
            .provider
            .register_targets(driver.region(), &canary.target_group, &instances)
            .await
            .map_err(|error| {
                format!(
                    "registering the instances in `{}` again failed: {error}",
                    canary.target_group
                )
            })?;
    }
    serving(driver, record, &canary.target_group, &instances).await?;
    close(driver, record, ledger).await
}

/// A rollback of a weighted canary, before anything else: the configured actions back (all
/// the traffic to the old instances), the canary target group deleted.
pub(super) async fn restore(
    driver: &mut Driver<'_>,
    record: &mut RolloutRecord,
    ledger: &mut dyn Ledger,
) -> Result<(), Abort> {
    close(driver, record, ledger).await
}

/// The configured actions back, the canary target group deleted, the record without it.
async fn close(
    driver: &mut Driver<'_>,
    record: &mut RolloutRecord,
    ledger: &mut dyn Ledger,
) -> Result<(), Abort> {
    let Some(canary) = record.canary.clone() else {
        return Ok(());
    };
    for listener in &canary.listeners {
        set_forward(driver, &listener.id, listener.forward.clone()).await?;
    }
    ledger.emit(ApplyEvent::RolloutTraffic {
        address: driver.planned.address.clone(),
        old_weight: 100,
        new_weight: 0,
        configured: true,
    });
    let id = match &canary.id {
        Some(id) => Some(id.clone()),
        None => find(driver, &canary.name).await?,
    };
    if let Some(id) = id {
        match driver
            .provider
            .delete(driver.region(), Kind::TargetGroup, &id)
            .await
        {
            Ok(()) | Err(ProviderError::NotFound { .. }) => {}
            Err(error) => return Err(format!("deleting target group `{id}` failed: {error}")),
        }
    }
    record.canary = None;
    driver.canary = None;
    save(ledger, &driver.planned.address, record)
        .map_err(|error| format!("saving state failed: {error}"))
}

/// Waits until every one of `instances` is healthy in `target_group`, within the timeout.
async fn serving(
    driver: &mut Driver<'_>,
    record: &RolloutRecord,
    target_group: &str,
    instances: &[String],
) -> Result<(), Abort> {
    let timeout = Duration::from_secs(record.course.spec.timeout_seconds);
    driver.waited = Duration::ZERO;
    loop {
        let health = driver
            .provider
            .target_health(driver.region(), target_group)
            .await
            .map_err(|error| {
                format!("reading the target health of `{target_group}` failed: {error}")
            })?;
        let healthy = instances
            .iter()
            .filter(|id| {
                health
                    .iter()
                    .any(|(listed, state)| listed == *id && state == "healthy")
            })
            .count();
        if healthy == instances.len() {
            return Ok(());
        }
        if driver.waited >= timeout {
            return Err(format!(
                "{healthy} of {} instances healthy in `{target_group}` after {}",
                instances.len(),
                humantime::format_duration(timeout)
            ));
        }
        driver.pause(POLL).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_canary_target_group_name_fits_the_limit_and_ends_with_canary() {
        assert_eq!(canary_name("webapp-web"), "webapp-web-canary");
        let long = "a".repeat(32);
        let name = canary_name(&long);
        assert!(name.len() <= NAME_LIMIT, "{name}");
        assert!(name.ends_with("-canary"));
        // A cut that ends in a hyphen drops it: no `--` before the suffix.
        assert_eq!(
            canary_name(&format!("{}-b", "a".repeat(24))),
            format!("{}-canary", "a".repeat(24))
        );
    }

    #[test]
    fn weights_split_the_group_target_group_and_leave_the_others() {
        let configured = json!([
            {"target_group_id": "tg-web", "weight": 1},
            {"target_group_id": "tg-other", "weight": 5},
        ]);
        assert_eq!(
            weighted(&configured, "tg-web", "tg-canary", 10),
            json!([
                {"target_group_id": "tg-web", "weight": 90},
                {"target_group_id": "tg-other", "weight": 5},
                {"target_group_id": "tg-canary", "weight": 10},
            ])
        );
    }
}
