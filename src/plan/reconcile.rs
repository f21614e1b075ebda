//! Reconcile: state and what the refresh observed, merged into what exists now under each
//! address.
//!
//! The plan compares against what the cloud holds now, not only what state recorded: changes
//! made outside Cairn are reported as drift; objects deleted outside Cairn are reported gone
//! (and so created again); an object carrying an address tag that state does not know (a
//! crash's trace) is adopted rather than created twice; extra objects under one address are
//! set aside for deletion; an object whose delete an interrupted run sent is deleted again,
//! never kept or adopted.

use super::order::Role;
use super::refresh::Observed;
use super::scope::Scope;
use super::{Drift, DriftKind, Kept};
use crate::model::cloud::is_cloud_tag;
use crate::model::{Address, AttributeChange, DesiredResource, Kind, Operation, Tags, Value};
use crate::provider::LiveResource;
use crate::state::{StateDocument, StateResource};
use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

/// State and refresh reconciled: what exists now under each address.
pub(super) struct Reconciled {
    /// The object each address has now: live attributes where refreshed, as recorded
    /// otherwise, adopted objects included.
    pub current: BTreeMap<Address, StateResource>,
    pub drift: Vec<Drift>,
    pub adopted: Vec<StateResource>,
    /// Objects to delete besides the current ones: duplicates and deposed objects.
    pub garbage: Vec<(StateResource, Role)>,
    /// Deposed objects whose keep deadline has not passed (or cannot be told: no refresh).
    pub kept: Vec<Kept>,
}

/// Merges `state` with what the refresh `observed` for every address in `scope`; out of scope,
/// what state recorded stands as it is.
///
/// The live objects are taken out of `observed` (its scopes, clock and calls stay): a current
/// object takes its live attributes and tags over rather than copying them, which a no-op
/// plan of 10,000 resources paid with a second copy of everything the refresh read
/// (issue 14).
pub(super) fn reconcile(
    desired: &BTreeMap<Address, DesiredResource>,
    state: &StateDocument,
    observed: &mut Observed,
    scope: &Scope,
) -> Reconciled {
    let mut reconciled = Reconciled {
        current: BTreeMap::new(),
        drift: Vec::new(),
        adopted: Vec::new(),
        garbage: Vec::new(),
        kept: Vec::new(),
    };
    // Deposed objects, and the second group of a blue-green rollout in progress, carry the
    // address tag of the object they stand beside without being it: neither adopted nor
    // taken for duplicates.
    let deposed_ids: BTreeSet<&str> = state
        .deposed
        .iter()
        .map(|object| object.id.as_str())
        .chain(
            state
                .rollouts
                .values()
                .filter_map(|record| record.green.as_deref()),
        )
        .collect();
    // A weighted canary in progress: its target group stands beside the group's under that
    // one's address tag (neither adopted nor a duplicate), and the listeners' weights are
    // the rollout's, not drift: compared as configured.
    let canaries: Vec<&crate::state::CanaryTraffic> = state
        .rollouts
        .values()
        .filter_map(|record| record.canary.as_ref())
        .collect();
    let is_canary = |live: &LiveResource| {
        live.kind == Kind::TargetGroup
            && canaries.iter().any(|canary| {
                canary.id.as_deref() == Some(live.id.as_str())
                    || live.attributes.get("name").and_then(Value::as_str)
                        == Some(canary.name.as_str())
            })
    };
    let configured_forward = |mut live: LiveResource| -> LiveResource {
        let listener = canaries
            .iter()
            .flat_map(|canary| &canary.listeners)
            .find(|listener| live.kind == Kind::Listener && listener.id == live.id);
        if let Some(listener) = listener {
            live.attributes
                .insert("forward".to_string(), listener.forward.clone());
        }
        live
    };
    // Objects an interrupted run was deleting: "finished, not forgotten".
    let finishing: BTreeSet<&str> = state
        .intents
        .iter()
        .filter(|intent| intent.operation == Operation::Delete && scope.contains(&intent.address))
        .filter_map(|intent| intent.id.as_deref())
        .collect();
    let live = std::mem::take(&mut observed.resources);
    for (address, found_recorded, found) in by_address(&state.resources, live) {
        let address = address.as_ref();
        if !scope.contains(address) {
            if let Some(recorded) = found_recorded {
                reconciled.current.insert(address.clone(), recorded.clone());
            }
            continue;
        }
        let wanted = desired.get(address);
        let mut recorded = found_recorded;
        if let Some(object) = recorded.filter(|object| finishing.contains(object.id.as_str())) {
            // Deleted again unless the refresh saw it gone; either way no longer current.
            if !observed.was_read(&object.region, object.kind) {
                reconciled
                    .garbage
                    .push((object.clone(), Role::FinishDelete));
            }
            recorded = None;
        }
        for live in &found {
            if finishing.contains(live.id.as_str()) && !deposed_ids.contains(live.id.as_str()) {
                let object = match found_recorded {
                    Some(entry) if entry.id == live.id => refreshed(entry, live.clone()),
                    _ => adopt(address, live, wanted),
                };
                reconciled.garbage.push((object, Role::FinishDelete));
            }
        }
        let expected_kind = wanted
            .map(|resource| resource.kind)
            .or(recorded.map(|object| object.kind));
        // A live object of another kind under this address was not made for it (a tag
        // copied by hand); Cairn neither adopts nor deletes it.
        let mut candidates: Vec<LiveResource> = found
            .into_iter()
            .filter(|live| expected_kind.is_none_or(|kind| live.kind == kind))
            .filter(|live| !deposed_ids.contains(live.id.as_str()))
            .filter(|live| !finishing.contains(live.id.as_str()))
            .filter(|live| !is_canary(live))
            .collect();
        candidates.sort_by(|left, right| left.id.cmp(&right.id));
        // What duplicates depended on: the recorded object's dependencies, else the block's
        // (borrowed: copying every record for the rare duplicate cost a no-op plan of 10,000
        // resources a copy of its state, issue 14).
        let duplicate_dependencies = recorded
            .map(|object| &object.dependencies)
            .or(wanted.map(|resource| &resource.depends_on));
        match recorded {
            Some(recorded) if !observed.was_read(&recorded.region, recorded.kind) => {
                reconciled.current.insert(address.clone(), recorded.clone());
                continue;
            }
            Some(recorded) => {
                if let Some(position) = candidates.iter().position(|live| live.id == recorded.id) {
                    let live = configured_forward(candidates.remove(position));
                    if let Some(drift) = drift_of(recorded, &live) {
                        reconciled.drift.push(drift);
                    }
                    reconciled
                        .current
                        .insert(address.clone(), refreshed(recorded, live));
                } else if candidates.is_empty() {
                    reconciled.drift.push(Drift {
                        address: address.clone(),
                        kind: recorded.kind,
                        region: recorded.region.clone(),
                        what: DriftKind::Deleted,
                        attributes: BTreeMap::new(),
                        sensitive: recorded.sensitive.clone(),
                    });
                } else {
                    // The recorded object is gone but another carries its address (a
                    // replacement a crash left unrecorded): adopting it replaces the record,
                    // so no deletion is reported (apply would drop the adopted record).
                    let live = candidates.remove(0);
                    let mut adopted = adopt(address, &live, wanted);
                    adopted.dependencies = recorded.dependencies.clone();
                    adopted.lifecycle = recorded.lifecycle.clone();
                    reconciled.adopted.push(adopted.clone());
                    reconciled.current.insert(address.clone(), adopted);
                }
            }
            None => {
                if !candidates.is_empty() {
                    let live = candidates.remove(0);
                    let adopted = adopt(address, &live, wanted);
                    reconciled.adopted.push(adopted.clone());
                    reconciled.current.insert(address.clone(), adopted);
                }
            }
        }
        for duplicate in candidates {
            let mut object = adopt(address, &duplicate, wanted);
            if let Some(dependencies) = duplicate_dependencies {
                object.dependencies = dependencies.clone();
            }
            reconciled.garbage.push((object, Role::DeleteDuplicate));
        }
    }
    for object in &state.deposed {
        if !scope.contains(&object.address) {
            continue;
        }
        if let Some(until) = state.keep_until.get(&object.id) {
            let expired = observed.now.is_some_and(|now| now >= *until);
            reconciled.kept.push(Kept {
                address: object.address.clone(),
                kind: object.kind,
                region: object.region.clone(),
                id: object.id.clone(),
                until: *until,
                expired,
            });
            if !expired {
                continue;
            }
        }
        reconciled
            .garbage
            .push((object.clone(), Role::DeleteDeposed));
    }
    reconciled
}

/// A live object found by its address tag (or imported there), as it would be recorded.
pub(super) fn adopt(
    address: &Address,
    live: &LiveResource,
    wanted: Option<&DesiredResource>,
) -> StateResource {
    StateResource {
        address: address.clone(),
        kind: live.kind,
        region: live.region.clone(),
        id: live.id.clone(),
        attributes: live.attributes.clone(),
        tags: live.tags.clone(),
        dependencies: wanted
            .map(|resource| resource.depends_on.clone())
            .unwrap_or_default(),
        lifecycle: wanted
            .map(|resource| resource.lifecycle.clone())
            .unwrap_or_default(),
        sensitive: wanted
            .map(|resource| resource.sensitive.clone())
            .unwrap_or_default(),
    }
}

/// Every address state records or the refresh found, in address order, with its record and
/// the live objects found under it (taken over, not copied).
fn by_address(
    recorded: &BTreeMap<Address, StateResource>,
    live: BTreeMap<Address, Vec<LiveResource>>,
) -> impl Iterator<Item = (Cow<'_, Address>, Option<&StateResource>, Vec<LiveResource>)> {
    let mut recorded = recorded.iter().peekable();
    let mut live = live.into_iter().peekable();
    std::iter::from_fn(move || {
        let order = match (recorded.peek(), live.peek()) {
            (None, None) => return None,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some((recorded, _)), Some((found, _))) => (*recorded).cmp(found),
        };
        match order {
            Ordering::Less => {
                let (address, object) = recorded.next()?;
                Some((Cow::Borrowed(address), Some(object), Vec::new()))
            }
            Ordering::Greater => {
                let (address, found) = live.next()?;
                Some((Cow::Owned(address), None, found))
            }
            Ordering::Equal => {
                let (address, object) = recorded.next()?;
                let (_, found) = live.next()?;
                Some((Cow::Borrowed(address), Some(object), found))
            }
        }
    })
}

/// The recorded object with what the cloud reports now. Built field by field from the record
/// and the live object taken over: copying the whole record first copied the attributes and
/// tags it then threw away, and copying the live ones doubled what the refresh read
/// (issue 14).
fn refreshed(recorded: &StateResource, live: LiveResource) -> StateResource {
    StateResource {
        address: recorded.address.clone(),
        kind: recorded.kind,
        region: live.region,
        id: recorded.id.clone(),
        attributes: live.attributes,
        tags: live.tags,
        dependencies: recorded.dependencies.clone(),
        lifecycle: recorded.lifecycle.clone(),
        sensitive: recorded.sensitive.clone(),
    }
}

/// Differences between what state recorded and what the cloud reports, in the attributes
/// the state recorded (computed ones aside: the cloud changes those by design).
fn drift_of(recorded: &StateResource, live: &LiveResource) -> Option<Drift> {
    let mut attributes = BTreeMap::new();
    for (name, value) in &recorded.attributes {
        if recorded.kind.change_for(name) == AttributeChange::Computed {
            continue;
        }
        let now = live.attributes.get(name).cloned().unwrap_or(Value::Null);
        if !recorded.kind.same_value(name, Some(&now), Some(value)) {
            attributes.insert(name.clone(), (value.clone(), now));
        }
    }
    if recorded.kind.takes_tags() && !comparable(&recorded.tags).eq(comparable(&live.tags)) {
        attributes.insert(
            "tags".to_string(),
            (
                tags_value(&comparable_tags(&recorded.tags)),
                tags_value(&comparable_tags(&live.tags)),
            ),
        );
    }
    (!attributes.is_empty()).then(|| Drift {
        address: recorded.address.clone(),
        kind: recorded.kind,
        region: recorded.region.clone(),
        what: DriftKind::Changed,
        attributes,
        sensitive: recorded.sensitive.clone(),
    })
}

fn tags_value(tags: &Tags) -> Value {
    Value::Object(
        tags.iter()
            .map(|(key, value)| (key.clone(), Value::String(value.clone())))
            .collect(),
    )
}

/// The tags Cairn compares: those the cloud adds by itself are neither set nor diffed.
pub fn comparable_tags(tags: &Tags) -> Tags {
    comparable(tags)
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

/// Whether `tags`, those the cloud adds by itself aside, are exactly `wanted`; compared in
/// place, as a plan compares every resource's tags (issue 14).
pub fn same_comparable_tags(tags: &Tags, wanted: &Tags) -> bool {
    comparable(tags).eq(wanted.iter())
}

fn comparable(tags: &Tags) -> impl Iterator<Item = (&String, &String)> {
    tags.iter().filter(|(key, _)| !is_cloud_tag(key))
}
