//! Decide: what the plan does to each desired address — create, update in place, replace, or
//! nothing — and with which values.
//!
//! Addresses are decided in dependency order so that a reference can be resolved at plan time
//! from what its target will be: a value that stays is known, one the cloud will compute anew
//! is "known after apply". A replacement creates its new object first when the block asks for
//! it, or when a dependent that is replaced that way needs the new object first.

use super::reconcile::same_comparable_tags;
use super::{ChangeAction, PlanError};
use crate::graph::dag::Dag;
use crate::model::{
    Address, AttributeChange, Attributes, DesiredResource, Owner, Reference, Tags, Value, is_known,
    references_in, resolve,
};
use crate::state::StateResource;
use std::collections::{BTreeMap, BTreeSet};

/// What the plan does to one desired address.
pub(super) struct Decision {
    /// `None`: nothing to do.
    pub action: Option<ChangeAction>,
    /// Desired attributes with every reference that can be known at plan time resolved.
    pub resolved: Attributes,
    /// What an update sends: the resolved attributes, ignored ones kept as they are; empty
    /// unless the action is an update.
    pub step_after: Attributes,
    /// User tags plus ownership tags.
    pub tags: Tags,
    pub replace_because: Vec<String>,
    pub sensitive: BTreeSet<String>,
}

/// The decisions of a plan.
pub(super) struct Decisions {
    pub by_address: BTreeMap<Address, Decision>,
    /// The groups kept on their version because a rollback undid the one the configuration
    /// asks for.
    pub held: BTreeSet<Address>,
    /// The replaced addresses that create their new object before deleting the old one.
    pub create_before_destroy: BTreeSet<Address>,
}

/// Decides what to do to every address of `desired` (those in scope), given what exists now
/// (`current`), who owns it, and the launch template version each group in `held` must not be
/// moved to again (a rollback undid it).
///
/// # Errors
/// [`PlanError::DependencyCycle`] when the desired resources depend on each other in a circle.
pub(super) fn decide(
    desired: &BTreeMap<&Address, &DesiredResource>,
    current: &BTreeMap<Address, StateResource>,
    owner: &Owner,
    held: &BTreeMap<Address, Value>,
) -> Result<Decisions, PlanError> {
    // Dependencies first: a reference resolves against its target's decision, which must be
    // made before.
    let order = dependency_order(desired)?;
    let (by_address, held) = decide_in_order(desired, &order, current, owner, held);
    // Last, because it looks at the decisions of an address's dependents.
    let create_before_destroy = effective_create_before_destroy(desired, &order, &by_address);
    Ok(Decisions {
        by_address,
        held,
        create_before_destroy,
    })
}

/// The desired addresses in dependency order (dependencies first, ties by address).
///
/// The graph borrows the addresses: a 10,000-resource plan copied each once per node and
/// once per edge only to sort them (issue 14).
fn dependency_order<'d>(
    desired: &BTreeMap<&'d Address, &'d DesiredResource>,
) -> Result<Vec<&'d Address>, PlanError> {
    let mut dag: Dag<&Address, ()> = Dag::new();
    for &address in desired.keys() {
        dag.add_node(address);
    }
    for (address, resource) in desired {
        for dependency in &resource.depends_on {
            // What is out of scope is not planned, so nothing waits for it: every address in
            // scope is a node by now.
            if dag.contains(&dependency) {
                dag.add_edge(address, &dependency, ());
            }
        }
    }
    dag.topological_order()
        .map_err(|cycle| PlanError::DependencyCycle {
            addresses: cycle.nodes().map(|&address| address.clone()).collect(),
        })
}

fn decide_in_order(
    desired: &BTreeMap<&Address, &DesiredResource>,
    order: &[&Address],
    current: &BTreeMap<Address, StateResource>,
    owner: &Owner,
    held: &BTreeMap<Address, Value>,
) -> (BTreeMap<Address, Decision>, BTreeSet<Address>) {
    let mut decisions: BTreeMap<Address, Decision> = BTreeMap::new();
    let mut holding = BTreeSet::new();
    // A secret travels only from a resource that has one: without any, no attribute's
    // references need parsing to find one (most stacks; issue 14).
    let any_secret = desired
        .values()
        .any(|resource| !resource.sensitive.is_empty())
        || current
            .values()
            .any(|resource| !resource.sensitive.is_empty());
    for &address in order {
        let resource = desired[address];
        let existing = current.get(address);
        let lookup =
            |reference: &Reference| lookup_planned(reference, desired, &decisions, current);
        let mut resolved: Attributes = resource
            .attributes
            .iter()
            .map(|(name, value)| (name.clone(), resolve(value, &lookup)))
            .collect();
        blue_green_name(resource, existing, &mut resolved);
        if hold_version(held.get(address), existing, &mut resolved) {
            holding.insert(address.clone());
        }
        let mut sensitive = resource.sensitive.clone();
        for (name, value) in resource.attributes.iter().filter(|_| any_secret) {
            let carries_secret = references_in(value).iter().any(|reference| {
                desired
                    .get(&reference.address)
                    .map(|other| &other.sensitive)
                    .or_else(|| {
                        current
                            .get(&reference.address)
                            .map(|other| &other.sensitive)
                    })
                    .is_some_and(|names| names.contains(&reference.attribute))
            });
            if carries_secret {
                sensitive.insert(name.clone());
            }
        }
        let mut tags = resource.tags.clone();
        tags.extend(owner.tags_for(address));

        let mut decision = Decision {
            action: None,
            step_after: Attributes::new(),
            resolved,
            tags,
            replace_because: Vec::new(),
            sensitive,
        };
        match existing {
            None => decision.action = Some(ChangeAction::Create),
            Some(existing) => {
                let mut changed = false;
                for (name, value) in &decision.resolved {
                    let change = resource.kind.change_for(name);
                    if change == AttributeChange::Computed
                        || resource.lifecycle.ignore_changes.contains(name)
                    {
                        continue;
                    }
                    // An unknown value is a change: it cannot be shown to be equal.
                    let before = existing.attributes.get(name);
                    if !resource.kind.same_value(name, before, Some(value)) {
                        changed = true;
                        if change == AttributeChange::Replace {
                            decision.replace_because.push(name.clone());
                        }
                    }
                }
                // A kind the cloud keeps no tags on can never match the wanted tags.
                let tags_changed = resource.kind.takes_tags()
                    && !same_comparable_tags(&existing.tags, &decision.tags);
                decision.action = if !decision.replace_because.is_empty() {
                    Some(ChangeAction::Replace)
                } else if changed || tags_changed {
                    Some(ChangeAction::Update)
                } else {
                    None
                };
                // Built only for an update, the one step that sends it: a no-op plan of
                // 10,000 resources copied every attribute map once more for nothing (issue 14).
                if decision.action == Some(ChangeAction::Update) {
                    decision.step_after = update_values(resource, &decision.resolved, existing);
                }
            }
        }
        decisions.insert(address.clone(), decision);
    }
    (decisions, holding)
}

/// Keeps a group on the launch template version it runs when the configuration asks for
/// `rolled_back`, the version a rollback undid: moving it there would only roll the same
/// release out again. A template changed since asks for another version, and another
/// template for versions of its own (numbers start at 1 in every template): both go ahead.
/// Returns whether the version was held.
fn hold_version(
    rolled_back: Option<&Value>,
    existing: Option<&StateResource>,
    resolved: &mut Attributes,
) -> bool {
    const VERSION: &str = "launch_template_version";
    const TEMPLATE: &str = "launch_template_id";
    let (Some(rolled_back), Some(existing)) = (rolled_back, existing) else {
        return false;
    };
    if resolved.get(TEMPLATE) != existing.attributes.get(TEMPLATE) {
        return false;
    }
    let Some(running) = existing.attributes.get(VERSION) else {
        return false;
    };
    let asked = resolved.get(VERSION);
    if !asked.is_some_and(|asked| same_version(asked, rolled_back))
        || same_version(running, rolled_back)
    {
        return false;
    }
    resolved.insert(VERSION.to_string(), running.clone());
    true
}

/// Whether two launch template versions are the same, written as numbers or as text (AWS
/// answers `"2"` where a template's `latest_version` is `2`).
pub(super) fn same_version(left: &Value, right: &Value) -> bool {
    let number = |value: &Value| {
        value
            .as_i64()
            .or_else(|| value.as_str().and_then(|text| text.parse().ok()))
    };
    left == right || number(left).is_some_and(|left| Some(left) == number(right))
}

/// What an update of `existing` to `resolved` sends: the attributes the cloud does not
/// compute, those whose changes are ignored kept as they are recorded.
fn update_values(
    resource: &DesiredResource,
    resolved: &Attributes,
    existing: &StateResource,
) -> Attributes {
    let mut after = Attributes::new();
    for (name, value) in resolved {
        if resource.kind.change_for(name) == AttributeChange::Computed {
            continue;
        }
        if resource.lifecycle.ignore_changes.contains(name) {
            if let Some(before) = existing.attributes.get(name) {
                after.insert(name.clone(), before.clone());
            }
            continue;
        }
        after.insert(name.clone(), value.clone());
    }
    after
}

/// An autoscaling group that a blue-green rollout moved to its second name (see
/// [`crate::model::rollout::alternate_group_name`]) is the configured group under that name:
/// its address names whichever of the two serves. The name it has is the one wanted, so the
/// group is neither replaced nor renamed, and what references its name or id (alarms,
/// scaling policies) reads the serving group's.
fn blue_green_name(
    resource: &DesiredResource,
    existing: Option<&StateResource>,
    resolved: &mut Attributes,
) {
    let (Some(existing), Some(Value::String(configured))) = (existing, resolved.get("name")) else {
        return;
    };
    if resource.kind == crate::model::Kind::AutoscalingGroup
        && existing.id == crate::model::rollout::alternate_group_name(configured)
    {
        resolved.insert("name".to_string(), Value::String(existing.id.clone()));
    }
}

/// The value a reference has at plan time, or `None` while it is "known after apply".
fn lookup_planned(
    reference: &Reference,
    desired: &BTreeMap<&Address, &DesiredResource>,
    decisions: &BTreeMap<Address, Decision>,
    current: &BTreeMap<Address, StateResource>,
) -> Option<Value> {
    let recorded = || {
        let object = current.get(&reference.address)?;
        if reference.attribute == "id" {
            return Some(Value::String(object.id.clone()));
        }
        object.attributes.get(&reference.attribute).cloned()
    };
    let (Some(decision), Some(resource)) = (
        decisions.get(&reference.address),
        desired.get(&reference.address),
    ) else {
        return recorded();
    };
    let attribute = reference.attribute.as_str();
    let computed = resource.kind.change_for(attribute) == AttributeChange::Computed;
    let configured = || {
        decision
            .resolved
            .get(attribute)
            .filter(|value| is_known(value))
            .cloned()
    };
    match decision.action {
        Some(ChangeAction::Create | ChangeAction::Replace) => {
            if computed {
                None
            } else {
                configured()
            }
        }
        Some(ChangeAction::Update) => {
            if attribute == "id" || resource.lifecycle.ignore_changes.contains(attribute) {
                recorded()
            } else if computed {
                // An update may change what the cloud computes (a launch template's new
                // `latest_version`).
                None
            } else {
                configured()
            }
        }
        Some(ChangeAction::Delete) | None => recorded().or_else(configured),
    }
}

/// The replaced addresses that create their new object first: those that ask for it, and,
/// as Terraform does, those whose dependents (looking through unchanged ones) do, because a
/// dependent created first needs its dependency's new object first.
fn effective_create_before_destroy(
    desired: &BTreeMap<&Address, &DesiredResource>,
    order: &[&Address],
    decisions: &BTreeMap<Address, Decision>,
) -> BTreeSet<Address> {
    let mut dependents: BTreeMap<&Address, Vec<&Address>> = BTreeMap::new();
    for (address, resource) in desired {
        for dependency in &resource.depends_on {
            dependents.entry(dependency).or_default().push(address);
        }
    }
    let replaced = |address: &Address| {
        decisions
            .get(address)
            .is_some_and(|decision| decision.action == Some(ChangeAction::Replace))
    };
    let mut create_first: BTreeSet<Address> = BTreeSet::new();
    // Addresses with a create-first replacement downstream.
    let mut forced: BTreeSet<Address> = BTreeSet::new();
    for &address in order.iter().rev() {
        let downstream = dependents
            .get(address)
            .into_iter()
            .flatten()
            .any(|dependent| {
                if replaced(dependent) {
                    create_first.contains(*dependent)
                } else {
                    forced.contains(*dependent)
                }
            });
        if downstream {
            forced.insert(address.clone());
        }
        if replaced(address) && (desired[address].lifecycle.create_before_destroy || downstream) {
            create_first.insert(address.clone());
        }
    }
    create_first
}

#[cfg(test)]
mod tests {
    use super::hold_version;
    use crate::model::{Address, Attributes, Kind, Value};
    use crate::state::StateResource;
    use serde_json::json;

    fn attributes(template: &str, version: i64) -> Attributes {
        [
            ("launch_template_id".to_string(), json!(template)),
            ("launch_template_version".to_string(), json!(version)),
        ]
        .into_iter()
        .collect()
    }

    /// A group running version `version` of template `template`.
    fn group(template: &str, version: i64) -> StateResource {
        StateResource {
            address: Address::new("autoscaling.web[us-east-1]"),
            kind: Kind::AutoscalingGroup,
            region: "us-east-1".to_string(),
            id: "web".to_string(),
            attributes: attributes(template, version),
            tags: Default::default(),
            dependencies: Default::default(),
            lifecycle: Default::default(),
            sensitive: Default::default(),
        }
    }

    #[test]
    fn the_version_rolled_back_is_held_only_in_the_template_it_was_rolled_back_in() {
        let rolled_back: Value = json!(3);
        let running = group("lt-a", 2);

        let mut same_template = attributes("lt-a", 3);
        assert!(hold_version(
            Some(&rolled_back),
            Some(&running),
            &mut same_template
        ));
        assert_eq!(same_template["launch_template_version"], json!(2));

        // Another template's version 3 is another release: it goes ahead.
        let mut other_template = attributes("lt-b", 3);
        assert!(!hold_version(
            Some(&rolled_back),
            Some(&running),
            &mut other_template
        ));
        assert_eq!(other_template["launch_template_version"], json!(3));

        // A newer version of the same template goes ahead too.
        let mut newer = attributes("lt-a", 4);
        assert!(!hold_version(
            Some(&rolled_back),
            Some(&running),
            &mut newer
        ));
    }
}
