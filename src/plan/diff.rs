//! Diff: the pure function from desired resources, state and what the refresh observed to a
//! [`Plan`].
//!
//! The plan compares against what the cloud holds now, not only what state recorded: changes
//! made outside Cairn are reported as drift and set back; objects deleted outside Cairn are
//! created again; an object carrying an address tag that state does not know (a crash's trace)
//! is adopted rather than created twice; extra objects under one address are deleted.

use super::order::{Dependencies, Replacement, Role, StepSpec, order_steps};
use super::refresh::Observed;
use super::{
    Change, ChangeAction, Drift, DriftKind, Operation, PLAN_FORMAT_VERSION, Plan, PlanError,
    ProtectedResource, Step,
};
use crate::model::{
    Address, AttributeChange, Attributes, DesiredResource, Owner, Reference, Tags, Value, is_known,
    references_in, resolve,
};
use crate::provider::LiveResource;
use crate::state::{StateDocument, StateOutput, StateResource};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// How to plan.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlanOptions {
    /// `--target`: plan only these addresses (see [`Address::matches_target`]) and what they
    /// depend on; with `destroy`, these and what depends on them.
    pub target: Vec<String>,
    /// `--refresh-only`: report drift and adoptions, plan no cloud change.
    pub refresh_only: bool,
    /// `destroy`: delete everything the state (and the refresh) knows.
    pub destroy: bool,
    /// The cloud the environment runs on, copied into the plan for apply.
    pub cloud: String,
    /// How to reach the cloud, copied into the plan for apply.
    pub provider_settings: BTreeMap<String, String>,
    /// Regions left out entirely (a failed-over environment's primary): what state records
    /// there is neither read, changed nor deleted, and stays in state as it is.
    pub parked_regions: BTreeSet<String>,
}

/// Tags the cloud adds by itself and that Cairn neither sets nor diffs.
fn is_cloud_tag(key: &str) -> bool {
    key.starts_with("aws:")
}

fn comparable_tags(tags: &Tags) -> Tags {
    tags.iter()
        .filter(|(key, _)| !is_cloud_tag(key))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

/// Plans the changes that make the cloud match `desired`.
///
/// `desired` holds every resource instance of the environment, keyed by address; `outputs`
/// are the configuration's outputs (copied into the plan); `observed` is what
/// [`super::refresh`] saw (or [`Observed::not_refreshed`]).
///
/// # Errors
/// [`PlanError::PreventDestroy`] when the plan would destroy a protected resource,
/// [`PlanError::DependencyCycle`] / [`PlanError::StepCycle`] when nothing can be ordered, and
/// [`PlanError::TargetMatchesNothing`] for a `--target` that names nothing.
pub fn plan(
    desired: &BTreeMap<Address, DesiredResource>,
    outputs: &BTreeMap<String, StateOutput>,
    state: &StateDocument,
    observed: &Observed,
    options: &PlanOptions,
) -> Result<Plan, PlanError> {
    let owner = Owner {
        stack: state.stack.clone(),
        env: state.environment.clone(),
    };
    let scope = Scope::new(desired, state, observed, options)?;
    let reconciled = reconcile(desired, state, observed, &scope);

    let mut plan = Plan {
        format_version: PLAN_FORMAT_VERSION,
        stack: state.stack.clone(),
        environment: state.environment.clone(),
        state_lineage: state.lineage.clone(),
        state_serial: state.serial,
        cloud: options.cloud.clone(),
        provider_settings: options.provider_settings.clone(),
        changes: Vec::new(),
        steps: Vec::new(),
        drift: reconciled.drift.clone(),
        adopted: reconciled.adopted.clone(),
        outputs: outputs.clone(),
        refresh_calls: observed.calls.clone(),
        refresh_only: options.refresh_only,
        policy: Vec::new(),
    };
    if options.refresh_only {
        return Ok(plan);
    }

    let in_scope: BTreeMap<&Address, &DesiredResource> = if options.destroy {
        BTreeMap::new()
    } else {
        desired
            .iter()
            .filter(|(address, _)| scope.contains(address))
            .collect()
    };
    let order = topological_order(&in_scope)?;
    let decisions = decide(&in_scope, &order, &reconciled.current, &owner);
    let create_before_destroy = effective_create_before_destroy(&in_scope, &order, &decisions);

    let mut protected = Vec::new();
    for (address, decision) in &decisions {
        if decision.action == Some(ChangeAction::Replace)
            && in_scope[address].lifecycle.prevent_destroy
        {
            protected.push(ProtectedResource {
                address: address.clone(),
                source: in_scope[address].source.clone(),
            });
        }
    }
    let deletes: Vec<&StateResource> = reconciled
        .current
        .values()
        .filter(|object| scope.contains(&object.address) && !in_scope.contains_key(&object.address))
        .collect();
    for object in &deletes {
        if object.lifecycle.prevent_destroy {
            protected.push(ProtectedResource {
                address: object.address.clone(),
                source: desired
                    .get(&object.address)
                    .and_then(|resource| resource.source.clone()),
            });
        }
    }
    if !protected.is_empty() {
        protected.sort_by(|left, right| left.address.cmp(&right.address));
        return Err(PlanError::PreventDestroy {
            resources: protected,
        });
    }

    let mut changes = Vec::new();
    let mut specs = Vec::new();
    let mut addresses: BTreeSet<&Address> = decisions.keys().collect();
    addresses.extend(deletes.iter().map(|object| &object.address));
    addresses.extend(reconciled.garbage.iter().map(|(object, _)| &object.address));
    for address in addresses {
        if let Some(decision) = decisions.get(address)
            && let Some(action) = decision.action
        {
            let resource = in_scope[address];
            let current = reconciled.current.get(address);
            let cbd = create_before_destroy.contains(address);
            changes.push(Change {
                address: address.clone(),
                kind: resource.kind,
                region: resource.region.clone(),
                action,
                before: current.map(attributes_with_id),
                after: Some(decision.resolved.clone()),
                before_tags: current
                    .map(|object| object.tags.clone())
                    .unwrap_or_default(),
                after_tags: decision.tags.clone(),
                replace_because: decision.replace_because.clone(),
                create_before_destroy: action == ChangeAction::Replace && cbd,
                sensitive: decision.sensitive.clone(),
            });
            let write = |operation, role, after: &Attributes| StepSpec {
                step: Step {
                    index: 0,
                    address: address.clone(),
                    kind: resource.kind,
                    region: resource.region.clone(),
                    operation,
                    id: match operation {
                        Operation::Update => current.map(|object| object.id.clone()),
                        _ => None,
                    },
                    before: match operation {
                        Operation::Update => current.map(|object| object.attributes.clone()),
                        _ => None,
                    },
                    after: Some(after.clone()),
                    tags: decision.tags.clone(),
                    deposed: false,
                    after_steps: Vec::new(),
                    dependencies: resource.depends_on.clone(),
                    lifecycle: resource.lifecycle.clone(),
                    sensitive: decision.sensitive.clone(),
                },
                role,
            };
            match (action, current) {
                (ChangeAction::Update, _) => {
                    specs.push(write(Operation::Update, Role::Update, &decision.step_after));
                }
                (ChangeAction::Replace, Some(current)) => {
                    let replacement = if cbd {
                        Replacement::CreateFirst
                    } else {
                        Replacement::DestroyFirst
                    };
                    specs.push(write(Operation::Create, Role::Create, &decision.resolved));
                    specs.push(delete_spec(
                        current,
                        Role::DeleteCurrent {
                            replacement: Some(replacement),
                        },
                        cbd,
                    ));
                }
                _ => specs.push(write(Operation::Create, Role::Create, &decision.resolved)),
            }
        }
        if let Some(current) = reconciled.current.get(address)
            && scope.contains(address)
            && !in_scope.contains_key(address)
        {
            changes.push(delete_change(current));
            specs.push(delete_spec(
                current,
                Role::DeleteCurrent { replacement: None },
                false,
            ));
        }
        for (object, role) in reconciled
            .garbage
            .iter()
            .filter(|(object, _)| &object.address == address)
        {
            changes.push(delete_change(object));
            specs.push(delete_spec(object, *role, true));
        }
    }

    let new_dependencies: BTreeMap<Address, BTreeSet<Address>> = in_scope
        .iter()
        .map(|(address, resource)| ((*address).clone(), resource.depends_on.clone()))
        .collect();
    let mut old_dependencies: BTreeMap<Address, BTreeSet<Address>> = BTreeMap::new();
    for object in reconciled
        .current
        .values()
        .chain(reconciled.garbage.iter().map(|(object, _)| object))
    {
        old_dependencies
            .entry(object.address.clone())
            .or_default()
            .extend(object.dependencies.iter().cloned());
    }
    plan.steps = order_steps(
        specs,
        &Dependencies {
            new: &new_dependencies,
            old: &old_dependencies,
        },
    )?;
    plan.changes = changes;
    Ok(plan)
}

/// The recorded attributes plus the cloud id, as a change's `before`.
fn attributes_with_id(object: &StateResource) -> Attributes {
    let mut attributes = object.attributes.clone();
    attributes
        .entry("id".to_string())
        .or_insert_with(|| Value::String(object.id.clone()));
    attributes
}

fn delete_change(object: &StateResource) -> Change {
    Change {
        address: object.address.clone(),
        kind: object.kind,
        region: object.region.clone(),
        action: ChangeAction::Delete,
        before: Some(attributes_with_id(object)),
        after: None,
        before_tags: object.tags.clone(),
        after_tags: Tags::new(),
        replace_because: Vec::new(),
        create_before_destroy: false,
        sensitive: object.sensitive.clone(),
    }
}

fn delete_spec(object: &StateResource, role: Role, deposed: bool) -> StepSpec {
    StepSpec {
        step: Step {
            index: 0,
            address: object.address.clone(),
            kind: object.kind,
            region: object.region.clone(),
            operation: Operation::Delete,
            id: Some(object.id.clone()),
            before: Some(object.attributes.clone()),
            after: None,
            tags: object.tags.clone(),
            deposed,
            after_steps: Vec::new(),
            dependencies: object.dependencies.clone(),
            lifecycle: object.lifecycle.clone(),
            sensitive: object.sensitive.clone(),
        },
        role,
    }
}

/// Which addresses a `--target` selects (all when there is none).
struct Scope {
    all: bool,
    addresses: BTreeSet<Address>,
    /// Recorded objects in parked regions: never in scope.
    parked: BTreeSet<Address>,
}

impl Scope {
    fn new(
        desired: &BTreeMap<Address, DesiredResource>,
        state: &StateDocument,
        observed: &Observed,
        options: &PlanOptions,
    ) -> Result<Self, PlanError> {
        let parked: BTreeSet<Address> = state
            .resources
            .values()
            .chain(&state.deposed)
            .filter(|object| options.parked_regions.contains(&object.region))
            .map(|object| object.address.clone())
            .collect();
        if options.target.is_empty() {
            return Ok(Scope {
                all: true,
                addresses: BTreeSet::new(),
                parked,
            });
        }
        let universe: BTreeSet<&Address> = desired
            .keys()
            .chain(state.resources.keys())
            .chain(state.deposed.iter().map(|object| &object.address))
            .chain(observed.resources.keys())
            .collect();
        let mut selected = BTreeSet::new();
        for target in &options.target {
            let matched: Vec<&Address> = universe
                .iter()
                .copied()
                .filter(|address| address.matches_target(target))
                .collect();
            if matched.is_empty() {
                return Err(PlanError::TargetMatchesNothing {
                    target: target.clone(),
                });
            }
            selected.extend(matched.into_iter().cloned());
        }
        // Destroying a resource needs what depends on it gone first; creating or updating
        // one needs what it depends on in place.
        let graph: BTreeMap<Address, BTreeSet<Address>> = if options.destroy {
            let mut dependents: BTreeMap<Address, BTreeSet<Address>> = BTreeMap::new();
            for address in &universe {
                let dependencies = state
                    .resources
                    .get(*address)
                    .map(|object| &object.dependencies)
                    .or_else(|| desired.get(*address).map(|resource| &resource.depends_on));
                for dependency in dependencies.into_iter().flatten() {
                    dependents
                        .entry(dependency.clone())
                        .or_default()
                        .insert((*address).clone());
                }
            }
            dependents
        } else {
            desired
                .iter()
                .map(|(address, resource)| (address.clone(), resource.depends_on.clone()))
                .collect()
        };
        let mut queue: VecDeque<Address> = selected.iter().cloned().collect();
        while let Some(address) = queue.pop_front() {
            for next in graph.get(&address).into_iter().flatten() {
                if selected.insert(next.clone()) {
                    queue.push_back(next.clone());
                }
            }
        }
        Ok(Scope {
            all: false,
            addresses: selected,
            parked,
        })
    }

    fn contains(&self, address: &Address) -> bool {
        !self.parked.contains(address) && (self.all || self.addresses.contains(address))
    }
}

/// State and refresh reconciled: what exists now under each address.
struct Reconciled {
    /// The object each address has now: live attributes where refreshed, as recorded
    /// otherwise, adopted objects included.
    current: BTreeMap<Address, StateResource>,
    drift: Vec<Drift>,
    adopted: Vec<StateResource>,
    /// Objects to delete besides the current ones: duplicates and deposed objects.
    garbage: Vec<(StateResource, Role)>,
}

fn reconcile(
    desired: &BTreeMap<Address, DesiredResource>,
    state: &StateDocument,
    observed: &Observed,
    scope: &Scope,
) -> Reconciled {
    let mut reconciled = Reconciled {
        current: BTreeMap::new(),
        drift: Vec::new(),
        adopted: Vec::new(),
        garbage: Vec::new(),
    };
    let deposed_ids: BTreeSet<&str> = state
        .deposed
        .iter()
        .map(|object| object.id.as_str())
        .collect();
    let addresses: BTreeSet<&Address> = state
        .resources
        .keys()
        .chain(observed.resources.keys())
        .collect();
    for address in addresses {
        let recorded = state.resources.get(address);
        if !scope.contains(address) {
            if let Some(recorded) = recorded {
                reconciled.current.insert(address.clone(), recorded.clone());
            }
            continue;
        }
        let wanted = desired.get(address);
        let expected_kind = wanted
            .map(|resource| resource.kind)
            .or(recorded.map(|object| object.kind));
        // A live object of another kind under this address was not made for it (a tag
        // copied by hand); Cairn neither adopts nor deletes it.
        let mut candidates: Vec<&LiveResource> = observed
            .resources
            .get(address)
            .into_iter()
            .flatten()
            .filter(|live| expected_kind.is_none_or(|kind| live.kind == kind))
            .filter(|live| !deposed_ids.contains(live.id.as_str()))
            .collect();
        candidates.sort_by(|left, right| left.id.cmp(&right.id));
        let template = recorded
            .cloned()
            .or_else(|| candidates.first().map(|live| adopt(address, live, wanted)));
        match recorded {
            Some(recorded) if !observed.was_read(&recorded.region, recorded.kind) => {
                reconciled.current.insert(address.clone(), recorded.clone());
                continue;
            }
            Some(recorded) => {
                if let Some(position) = candidates.iter().position(|live| live.id == recorded.id) {
                    let live = candidates.remove(position);
                    if let Some(drift) = drift_of(recorded, live) {
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
                    let mut adopted = adopt(address, live, wanted);
                    adopted.dependencies = recorded.dependencies.clone();
                    adopted.lifecycle = recorded.lifecycle.clone();
                    reconciled.adopted.push(adopted.clone());
                    reconciled.current.insert(address.clone(), adopted);
                }
            }
            None => {
                if !candidates.is_empty() {
                    let live = candidates.remove(0);
                    let adopted = adopt(address, live, wanted);
                    reconciled.adopted.push(adopted.clone());
                    reconciled.current.insert(address.clone(), adopted);
                }
            }
        }
        for duplicate in candidates {
            let mut object = adopt(address, duplicate, wanted);
            if let Some(template) = &template {
                object.dependencies = template.dependencies.clone();
            }
            reconciled.garbage.push((object, Role::DeleteDuplicate));
        }
    }
    for object in &state.deposed {
        if scope.contains(&object.address) {
            reconciled
                .garbage
                .push((object.clone(), Role::DeleteDeposed));
        }
    }
    reconciled
}

/// A live object found by its address tag, as it would be recorded.
fn adopt(
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

/// The recorded object with what the cloud reports now.
fn refreshed(recorded: &StateResource, live: &LiveResource) -> StateResource {
    StateResource {
        region: live.region.clone(),
        attributes: live.attributes.clone(),
        tags: live.tags.clone(),
        ..recorded.clone()
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
    let recorded_tags = comparable_tags(&recorded.tags);
    let live_tags = comparable_tags(&live.tags);
    if recorded.kind.takes_tags() && recorded_tags != live_tags {
        attributes.insert(
            "tags".to_string(),
            (tags_value(&recorded_tags), tags_value(&live_tags)),
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

/// The desired addresses in dependency order (dependencies first, ties by address).
fn topological_order(
    desired: &BTreeMap<&Address, &DesiredResource>,
) -> Result<Vec<Address>, PlanError> {
    let mut waiting: BTreeMap<&Address, usize> = BTreeMap::new();
    let mut dependents: BTreeMap<&Address, Vec<&Address>> = BTreeMap::new();
    for (address, resource) in desired {
        let inside: Vec<&Address> = resource
            .depends_on
            .iter()
            .filter(|dependency| desired.contains_key(dependency))
            .collect();
        waiting.insert(address, inside.len());
        for dependency in inside {
            dependents.entry(dependency).or_default().push(address);
        }
    }
    let mut ready: BTreeSet<&Address> = waiting
        .iter()
        .filter(|(_, count)| **count == 0)
        .map(|(address, _)| *address)
        .collect();
    let mut order = Vec::with_capacity(desired.len());
    while let Some(address) = ready.pop_first() {
        order.push(address.clone());
        for dependent in dependents.get(address).into_iter().flatten() {
            if let Some(count) = waiting.get_mut(dependent) {
                *count -= 1;
                if *count == 0 {
                    ready.insert(dependent);
                }
            }
        }
    }
    if order.len() < desired.len() {
        let placed: BTreeSet<&Address> = order.iter().collect();
        let addresses = desired
            .keys()
            .filter(|address| !placed.contains(*address))
            .map(|address| (*address).clone())
            .collect();
        return Err(PlanError::DependencyCycle { addresses });
    }
    Ok(order)
}

/// What the plan does to one desired address.
struct Decision {
    /// `None`: nothing to do.
    action: Option<ChangeAction>,
    /// Desired attributes with every reference that can be known at plan time resolved.
    resolved: Attributes,
    /// What an update sends: the resolved attributes, ignored ones kept as they are.
    step_after: Attributes,
    /// User tags plus ownership tags.
    tags: Tags,
    replace_because: Vec<String>,
    sensitive: BTreeSet<String>,
}

fn decide(
    desired: &BTreeMap<&Address, &DesiredResource>,
    order: &[Address],
    current: &BTreeMap<Address, StateResource>,
    owner: &Owner,
) -> BTreeMap<Address, Decision> {
    let mut decisions: BTreeMap<Address, Decision> = BTreeMap::new();
    for address in order {
        let resource = desired[address];
        let existing = current.get(address);
        let lookup =
            |reference: &Reference| lookup_planned(reference, desired, &decisions, current);
        let resolved: Attributes = resource
            .attributes
            .iter()
            .map(|(name, value)| (name.clone(), resolve(value, &lookup)))
            .collect();
        let mut sensitive = resource.sensitive.clone();
        for (name, value) in &resource.attributes {
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
            step_after: resolved.clone(),
            resolved,
            tags,
            replace_because: Vec::new(),
            sensitive,
        };
        match existing {
            None => decision.action = Some(ChangeAction::Create),
            Some(existing) => {
                let mut changed = false;
                let mut step_after = Attributes::new();
                for (name, value) in &decision.resolved {
                    let change = resource.kind.change_for(name);
                    if change == AttributeChange::Computed {
                        continue;
                    }
                    let before = existing.attributes.get(name);
                    if resource.lifecycle.ignore_changes.contains(name) {
                        if let Some(before) = before {
                            step_after.insert(name.clone(), before.clone());
                        }
                        continue;
                    }
                    step_after.insert(name.clone(), value.clone());
                    // An unknown value is a change: it cannot be shown to be equal.
                    if !resource.kind.same_value(name, before, Some(value)) {
                        changed = true;
                        if change == AttributeChange::Replace {
                            decision.replace_because.push(name.clone());
                        }
                    }
                }
                // A kind the cloud keeps no tags on can never match the wanted tags.
                let tags_changed =
                    resource.kind.takes_tags() && comparable_tags(&existing.tags) != decision.tags;
                decision.step_after = step_after;
                decision.action = if !decision.replace_because.is_empty() {
                    Some(ChangeAction::Replace)
                } else if changed || tags_changed {
                    Some(ChangeAction::Update)
                } else {
                    None
                };
            }
        }
        decisions.insert(address.clone(), decision);
    }
    decisions
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
    order: &[Address],
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
    for address in order.iter().rev() {
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
#[path = "diff_tests.rs"]
mod tests;
