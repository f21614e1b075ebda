//! Writing what happened into the state document: completed steps, adopted resources,
//! drift, resolved interrupted calls, outputs. Pure functions of the state and their inputs;
//! saving is the executor's job.

use crate::model::{Kind, Reference, Tags, Value, is_known, resolve};
use crate::plan::{Drift, DriftKind, Interrupted, Operation, Resolution, Step};
use crate::provider::LiveResource;
use crate::state::{StateDocument, StateOutput, StateResource};
use std::collections::BTreeMap;

/// What a step's call came back with.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CallOutcome {
    Created(LiveResource),
    Updated(LiveResource),
    Deleted,
    /// The delete found nothing to delete: the goal is reached all the same.
    AlreadyGone,
}

/// Records a completed step. `depose_existing` says the create is the new half of a
/// `create_before_destroy` replacement: the entry at its address is the old object, which
/// moves to `state.deposed` until its own delete step runs. Without it, an entry at the
/// address of a create describes an object the plan found gone, and is replaced.
pub(crate) fn record_step(
    state: &mut StateDocument,
    step: &Step,
    outcome: CallOutcome,
    depose_existing: bool,
) {
    match outcome {
        CallOutcome::Created(live) => {
            // A new object starts on its own version: nothing is held back any more.
            state.rolled_back.remove(&step.address);
            // The old entry goes before the new object's version is recorded: a create that
            // an idempotency token replayed onto the recorded object answers with its id, and
            // forgetting that id's versions after recording wiped the version just made.
            if let Some(old) = state.resources.remove(&step.address) {
                if depose_existing {
                    state.deposed.push(old);
                } else if old.id != live.id {
                    state.forget_versions(&old);
                }
            }
            if step.kind == Kind::LaunchTemplate {
                state.record_template_version(&live.id, &live.attributes);
            }
            state
                .resources
                .insert(step.address.clone(), new_entry(step, live));
        }
        CallOutcome::Updated(live) => {
            if step.kind == Kind::LaunchTemplate {
                state.record_template_version(&live.id, &live.attributes);
            }
            record_updated(state, step, live);
        }
        CallOutcome::Deleted | CallOutcome::AlreadyGone => remove_deleted(state, step),
    }
}

fn record_updated(state: &mut StateDocument, step: &Step, live: LiveResource) {
    match state.resources.get_mut(&step.address) {
        Some(entry) => {
            entry.id = live.id;
            entry.region = live.region;
            entry.attributes = live.attributes;
            entry.tags = live.tags;
            entry.dependencies = step.dependencies.clone();
            entry.lifecycle = step.lifecycle.clone();
            entry.sensitive = step.sensitive.clone();
        }
        None => {
            state
                .resources
                .insert(step.address.clone(), new_entry(step, live));
        }
    }
}

fn new_entry(step: &Step, live: LiveResource) -> StateResource {
    StateResource {
        address: step.address.clone(),
        kind: step.kind,
        region: live.region,
        id: live.id,
        attributes: live.attributes,
        tags: live.tags,
        dependencies: step.dependencies.clone(),
        lifecycle: step.lifecycle.clone(),
        sensitive: step.sensitive.clone(),
    }
}

/// Removes the object a delete step deleted. The id decides which object that was: after a
/// `create_before_destroy` create, the live entry at the address is the new object and only
/// the deposed one may go.
fn remove_deleted(state: &mut StateDocument, step: &Step) {
    debug_assert_eq!(step.operation, Operation::Delete);
    let matches = |entry: &StateResource| {
        entry.address == step.address && step.id.as_ref().is_none_or(|id| *id == entry.id)
    };
    if !step.deposed
        && let Some(entry) = state.resources.get(&step.address)
        && matches(entry)
    {
        state.remove(&step.address);
        return;
    }
    if let Some(id) = state
        .deposed
        .iter()
        .find(|entry| matches(entry))
        .map(|entry| entry.id.clone())
    {
        state.remove_deposed(&id);
    }
}

/// Records resources a refresh found by their ownership tags. Returns whether state changed.
pub(crate) fn record_adopted(state: &mut StateDocument, adopted: &[StateResource]) -> bool {
    for resource in adopted {
        let replaced = state
            .resources
            .insert(resource.address.clone(), resource.clone());
        // Another object at the address (a template adopted in place of a recorded one):
        // what was recorded about the old one's versions says nothing about the new one's.
        if let Some(old) = replaced.filter(|old| old.id != resource.id) {
            state.forget_versions(&old);
        }
    }
    !adopted.is_empty()
}

/// Clears the intents of interrupted calls the plan resolved by itself: a create whose
/// object it adopted or no longer wants, an update it planned from a fresh read, a delete
/// that took effect (whose object leaves state with it). The intents a step carries on stay
/// until that step ends. Returns whether state changed.
pub(crate) fn record_resolved(state: &mut StateDocument, interrupted: &[Interrupted]) -> bool {
    let mut changed = false;
    for Interrupted { intent, resolution } in interrupted {
        match resolution {
            Resolution::LookFirst | Resolution::FinishDelete => continue,
            Resolution::Found | Resolution::NotWanted | Resolution::Reread => {}
            Resolution::Gone => {
                if let Some(id) = &intent.id {
                    if state
                        .resources
                        .get(&intent.address)
                        .is_some_and(|entry| entry.id == *id)
                    {
                        state.remove(&intent.address);
                    }
                    state.remove_deposed(id);
                }
            }
        }
        state.intents.retain(|kept| kept.token != intent.token);
        changed = true;
    }
    changed
}

/// Records what a refresh saw change outside Cairn. Returns whether state changed.
pub(crate) fn record_drift(state: &mut StateDocument, drift: &[Drift]) -> bool {
    let mut changed = false;
    for found in drift {
        match found.what {
            DriftKind::Deleted => changed |= state.remove(&found.address).is_some(),
            DriftKind::Changed => {
                let Some(entry) = state.resources.get_mut(&found.address) else {
                    continue;
                };
                for (name, (_recorded, live)) in &found.attributes {
                    changed = true;
                    if name == "tags" {
                        if let Some(tags) = tags_from(live) {
                            entry.tags = tags;
                        }
                    } else if live.is_null() {
                        entry.attributes.remove(name);
                    } else {
                        entry.attributes.insert(name.clone(), live.clone());
                    }
                }
            }
        }
    }
    changed
}

fn tags_from(value: &Value) -> Option<Tags> {
    value
        .as_object()?
        .iter()
        .map(|(key, value)| Some((key.clone(), value.as_str()?.to_string())))
        .collect()
}

/// Resolves the configured outputs against state and stores them, replacing the outputs of
/// earlier applies (an output removed from the config disappears). An output that still
/// holds a reference (its resource was not created, because a step failed) keeps its previous
/// value if it had one. Returns the names of those unresolved outputs.
pub(crate) fn record_outputs(
    state: &mut StateDocument,
    configured: &BTreeMap<String, StateOutput>,
) -> Vec<String> {
    let lookup = |reference: &Reference| state.lookup(reference);
    let mut outputs = BTreeMap::new();
    let mut unresolved = Vec::new();
    for (name, output) in configured {
        let value = resolve(&output.value, &lookup);
        if is_known(&value) {
            outputs.insert(
                name.clone(),
                StateOutput {
                    value,
                    sensitive: output.sensitive,
                },
            );
        } else {
            unresolved.push(name.clone());
            if let Some(previous) = state.outputs.get(name) {
                outputs.insert(name.clone(), previous.clone());
            }
        }
    }
    state.outputs = outputs;
    unresolved
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Address, Attributes, Kind, Lifecycle};
    use std::collections::BTreeSet;

    fn entry(id: &str) -> StateResource {
        StateResource {
            address: Address::new("volume.data[us-east-1a]"),
            kind: Kind::Volume,
            region: "us-east-1".into(),
            id: id.into(),
            attributes: Attributes::new(),
            tags: Tags::new(),
            dependencies: BTreeSet::new(),
            lifecycle: Lifecycle::default(),
            sensitive: BTreeSet::new(),
        }
    }

    /// A recorded launch template `id`, with its version 1 recorded.
    fn template(state: &mut StateDocument, id: &str) -> StateResource {
        state.record_template_version(
            id,
            &Attributes::from([
                ("latest_version".to_string(), Value::from(1)),
                ("security_group_ids".to_string(), Value::from(vec!["sg-1"])),
            ]),
        );
        StateResource {
            address: Address::new(TEMPLATE),
            kind: Kind::LaunchTemplate,
            ..entry(id)
        }
    }

    const TEMPLATE: &str = "launch_template.web[us-east-1]";

    fn delete_step(id: &str, deposed: bool) -> Step {
        Step {
            index: 0,
            address: Address::new("volume.data[us-east-1a]"),
            kind: Kind::Volume,
            region: "us-east-1".into(),
            operation: Operation::Delete,
            id: Some(id.into()),
            before: None,
            after: None,
            tags: Tags::new(),
            deposed,
            after_steps: Vec::new(),
            dependencies: BTreeSet::new(),
            lifecycle: Lifecycle::default(),
            sensitive: BTreeSet::new(),
            resumes: None,
        }
    }

    #[test]
    fn a_delete_removes_the_object_with_its_id_and_never_the_new_one() {
        let mut state = StateDocument::new("shop", "staging");
        state
            .resources
            .insert(Address::new("volume.data[us-east-1a]"), entry("vol-new"));
        state.deposed.push(entry("vol-old"));

        // Even without the deposed flag, the old id must not take the new object with it.
        record_step(
            &mut state,
            &delete_step("vol-old", false),
            CallOutcome::Deleted,
            false,
        );
        assert!(state.deposed.is_empty());
        assert_eq!(
            state.resources[&Address::new("volume.data[us-east-1a]")].id,
            "vol-new"
        );

        record_step(
            &mut state,
            &delete_step("vol-new", false),
            CallOutcome::AlreadyGone,
            false,
        );
        assert!(state.resources.is_empty());
    }

    /// Some paths left a launch template's recorded versions behind, or wiped the one just
    /// recorded (review): an interrupted create of a deposed template resolved as gone, a
    /// template adopted in place of another, a create replayed onto the recorded object.
    #[test]
    fn a_templates_versions_leave_with_it_on_every_path_and_stay_with_the_same_object() {
        use crate::plan::{Interrupted, Resolution};
        use crate::state::Intent;

        let mut state = StateDocument::new("shop", "staging");
        let old = template(&mut state, "lt-old");
        state.deposed.push(old);
        let gone = Interrupted {
            intent: Intent {
                operation: Operation::Delete,
                address: Address::new(TEMPLATE),
                kind: Kind::LaunchTemplate,
                region: "us-east-1".into(),
                id: Some("lt-old".into()),
                token: "t-1".into(),
                since: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
            },
            resolution: Resolution::Gone,
        };
        assert!(record_resolved(&mut state, &[gone]));
        assert!(state.deposed.is_empty() && state.template_versions.is_empty());

        let recorded = template(&mut state, "lt-1");
        state.resources.insert(Address::new(TEMPLATE), recorded);
        let adopted = StateResource {
            id: "lt-2".into(),
            ..state.resources[&Address::new(TEMPLATE)].clone()
        };
        record_adopted(&mut state, &[adopted]);
        assert!(!state.template_versions.contains_key("lt-1"));

        let replayed = LiveResource {
            id: "lt-2".into(),
            kind: Kind::LaunchTemplate,
            region: "us-east-1".into(),
            attributes: Attributes::from([
                ("latest_version".to_string(), Value::from(1)),
                ("security_group_ids".to_string(), Value::from(vec!["sg-2"])),
            ]),
            tags: Tags::new(),
        };
        let create = Step {
            operation: Operation::Create,
            kind: Kind::LaunchTemplate,
            address: Address::new(TEMPLATE),
            id: None,
            ..delete_step("lt-2", false)
        };
        record_step(&mut state, &create, CallOutcome::Created(replayed), false);
        assert_eq!(
            state.template_version_groups("lt-2", &Value::from(1)),
            Some(["sg-2".to_string()].as_slice())
        );
    }
}
