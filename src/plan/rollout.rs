//! Which autoscaling groups an apply rolls out, and in which steps.
//!
//! A group rolls out when the plan updates it in place to another launch template version
//! (what its instances run) and its `rollout` block asks the engine to drive the replacement
//! (every strategy but `all_at_once`). A group created or replaced starts with new instances
//! anyway, and one whose version stays needs nothing. A rollout an earlier apply left
//! unfinished (its record is still in state) is planned again to resume, whatever else the
//! plan does to the group.
//!
//! Like the rest of planning this is a pure function of the plan, the rollout settings and the
//! state; the steps are counts of new-version instances, computed here so that the plan shows
//! exactly what the apply will do.

use super::{ChangeAction, Plan, PlannedRollout};
use crate::model::cloud::forward_entries;
use crate::model::rollout::{RolloutSpec, RolloutStrategy};
use crate::model::{Address, Attributes, Kind, Value};
use crate::state::{RolloutCourse, RolloutPhase, StateDocument};
use std::collections::BTreeMap;

/// Adds to `plan` the rollouts it implies: the unfinished ones of `state` first, then those of
/// groups the plan moves to another template version.
pub fn plan_rollouts(
    plan: &mut Plan,
    specs: &BTreeMap<Address, RolloutSpec>,
    state: &StateDocument,
) {
    if plan.refresh_only {
        return;
    }
    let mut rollouts = Vec::new();
    for (address, record) in &state.rollouts {
        // The plan moves the group on to another version: the rollout resumes towards it
        // once the plan's update is done, from the version the instances ran before.
        let moved = plan.changes.iter().find(|change| {
            &change.address == address
                && change.action == ChangeAction::Update
                && change.before.as_ref().map(version) != change.after.as_ref().map(version)
        });
        let forward = record.phase == RolloutPhase::Forward;
        rollouts.push(PlannedRollout {
            address: address.clone(),
            course: RolloutCourse {
                to_version: match moved.and_then(|change| change.after.as_ref()) {
                    Some(after) if forward => version(after),
                    _ => record.course.to_version.clone(),
                },
                ..record.course.clone()
            },
            resume: Some((record.phase, record.step)),
            first: !(forward && moved.is_some()),
        });
    }
    for change in &plan.changes {
        if change.kind != Kind::AutoscalingGroup
            || change.action != ChangeAction::Update
            || state.rollouts.contains_key(&change.address)
        {
            continue;
        }
        let Some(spec) = specs.get(&change.address) else {
            continue;
        };
        let (Some(before), Some(after)) = (&change.before, &change.after) else {
            continue;
        };
        let from_version = version(before);
        let to_version = version(after);
        if spec.strategy == RolloutStrategy::AllAtOnce || from_version == to_version {
            continue;
        }
        let capacity = count(after, "desired").or_else(|| count(after, "min"));
        let Some(capacity) = capacity.filter(|capacity| *capacity > 0) else {
            continue;
        };
        let (targets, weights) =
            if spec.strategy == RolloutStrategy::Canary && behind_listener(after, state) {
                weighted_targets(spec, capacity)
            } else {
                (targets(spec, capacity), Vec::new())
            };
        rollouts.push(PlannedRollout {
            address: change.address.clone(),
            course: RolloutCourse {
                region: change.region.clone(),
                spec: spec.clone(),
                capacity,
                min: count(after, "min").unwrap_or(capacity).min(capacity),
                max: count(after, "max").unwrap_or(capacity).max(capacity),
                from_version,
                to_version,
                targets,
                weights,
            },
            resume: None,
            first: false,
        });
    }
    rollouts.sort_by(|left, right| left.address.cmp(&right.address));
    plan.rollouts = rollouts;
}

/// Whether a canary of the group can weight its traffic: the group registers in one target
/// group, and a listener state knows forwards to it. (A group in several target groups keeps
/// the share of the targets: which of them would the canary stand beside?)
fn behind_listener(group: &Attributes, state: &StateDocument) -> bool {
    let target_groups: Vec<&str> = group
        .get("target_group_ids")
        .and_then(Value::as_array)
        .map(|ids| ids.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let [target_group] = target_groups[..] else {
        return false;
    };
    state
        .resources
        .values()
        .filter(|resource| resource.kind == Kind::Listener)
        .any(|listener| forwards_to(&listener.attributes, target_group))
}

/// Whether a listener's forward action (`[{target_group_id, weight}]`) names `target_group`.
pub fn forwards_to(listener: &Attributes, target_group: &str) -> bool {
    forward_entries(listener).any(|(id, _)| id.as_str() == Some(target_group))
}

fn version(attributes: &Attributes) -> Value {
    attributes
        .get("launch_template_version")
        .cloned()
        .unwrap_or(Value::Null)
}

fn count(attributes: &Attributes, name: &str) -> Option<u32> {
    attributes
        .get(name)
        .and_then(Value::as_u64)
        .and_then(|value| u32::try_from(value).ok())
}

/// Instances of `capacity` that may be out of service at once: what `min_healthy` leaves.
pub fn spare(spec: &RolloutSpec, capacity: u32) -> u32 {
    capacity - in_service(spec, capacity)
}

/// Instances of `capacity` that must stay healthy at every step: `min_healthy` percent,
/// rounded up.
pub fn in_service(spec: &RolloutSpec, capacity: u32) -> u32 {
    (u64::from(capacity) * u64::from(spec.min_healthy)).div_ceil(100) as u32
}

/// Instances launched beyond capacity at each step: canary and blue-green launch every new
/// instance before an old one goes; rolling launches `max_surge`, and at least one when
/// `min_healthy` leaves no instance to spare (so that a batch can replace anything).
pub fn surge(spec: &RolloutSpec, capacity: u32) -> u32 {
    match spec.strategy {
        RolloutStrategy::Rolling if spare(spec, capacity) == 0 => spec.max_surge.max(1),
        RolloutStrategy::Rolling => spec.max_surge,
        _ => capacity,
    }
}

/// New-version instances after each step, rising, ending at `capacity`: the checkpoints'
/// shares of capacity (rounded up, at least one) for a canary, batches of `max_surge` plus
/// the spare instances for a rolling rollout, everything at once for blue-green.
pub fn targets(spec: &RolloutSpec, capacity: u32) -> Vec<u32> {
    let mut targets: Vec<u32> = match spec.strategy {
        RolloutStrategy::Canary => spec
            .checkpoints
            .iter()
            .map(|percent| {
                ((u64::from(capacity) * u64::from(*percent)).div_ceil(100) as u32).max(1)
            })
            .collect(),
        RolloutStrategy::Rolling => {
            let batch = (surge(spec, capacity) + spare(spec, capacity)).max(1);
            (1..=capacity.div_ceil(batch))
                .map(|step| (step * batch).min(capacity))
                .collect()
        }
        RolloutStrategy::BlueGreen | RolloutStrategy::AllAtOnce => vec![capacity],
    };
    targets.dedup();
    if targets.last() != Some(&capacity) {
        targets.push(capacity);
    }
    targets
}

/// A canary behind a listener: one step per checkpoint, each with its share of capacity
/// (rounded up, at least one) and the checkpoint as the percent of the traffic the new
/// instances take, ending with every instance and all the traffic. Two checkpoints may share
/// an instance count (10 % and 50 % of two instances are one each): the second step launches
/// nothing and only moves the weights.
pub fn weighted_targets(spec: &RolloutSpec, capacity: u32) -> (Vec<u32>, Vec<u32>) {
    let mut steps: Vec<(u32, u32)> = spec
        .checkpoints
        .iter()
        .map(|percent| {
            let share = (u64::from(capacity) * u64::from(*percent)).div_ceil(100) as u32;
            (share.clamp(1, capacity.max(1)), (*percent).min(100))
        })
        .collect();
    steps.dedup();
    if steps.last() != Some(&(capacity, 100)) {
        steps.push((capacity, 100));
    }
    steps.into_iter().unzip()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SourceLocation;

    fn spec(strategy: RolloutStrategy) -> RolloutSpec {
        RolloutSpec {
            strategy,
            checkpoints: vec![10, 50, 100],
            min_healthy: 90,
            max_surge: 1,
            warmup_seconds: 0,
            bake_seconds: 0,
            keep_old_seconds: 0,
            abort_on: Vec::new(),
            timeout_seconds: 60,
            source: SourceLocation {
                file: "main.hcl".to_string(),
                line: 1,
                column: 1,
            },
        }
    }

    #[test]
    fn canary_steps_are_the_checkpoints_shares_of_capacity_rounded_up() {
        let canary = spec(RolloutStrategy::Canary);
        assert_eq!(targets(&canary, 10), vec![1, 5, 10]);
        assert_eq!(targets(&canary, 2), vec![1, 2]);
        assert_eq!(targets(&canary, 1), vec![1]);
    }

    #[test]
    fn a_weighted_canary_keeps_every_checkpoint_as_the_traffic_share_of_its_step() {
        let canary = spec(RolloutStrategy::Canary);
        assert_eq!(
            weighted_targets(&canary, 10),
            (vec![1, 5, 10], vec![10, 50, 100])
        );
        // Two instances: 10 % and 50 % both run on one, the weights tell them apart.
        assert_eq!(
            weighted_targets(&canary, 2),
            (vec![1, 1, 2], vec![10, 50, 100])
        );
        let mut partial = canary.clone();
        partial.checkpoints = vec![25];
        assert_eq!(weighted_targets(&partial, 4), (vec![1, 4], vec![25, 100]));
    }

    #[test]
    fn rolling_batches_are_the_surge_plus_what_min_healthy_spares() {
        let mut rolling = spec(RolloutStrategy::Rolling);
        // 90 % of 10 must stay: one spare plus one surge per batch.
        assert_eq!(targets(&rolling, 10), vec![2, 4, 6, 8, 10]);
        rolling.min_healthy = 50;
        rolling.max_surge = 0;
        assert_eq!(targets(&rolling, 4), vec![2, 4]);
        // Nothing to spare and no surge asked: one instance at a time, surged.
        rolling.min_healthy = 100;
        assert_eq!(surge(&rolling, 3), 1);
        assert_eq!(targets(&rolling, 3), vec![1, 2, 3]);
    }
}
