//! Diff: the pure function from desired resources, state and what the refresh observed to a
//! [`Plan`].
//!
//! [`plan`] is a list of steps, each in a file of its own: the scope a plan may touch
//! ([`super::scope`]), state reconciled with the refresh ([`super::reconcile`]), a decision per
//! desired address ([`super::decide`]), the changes and primitive steps built here, and their
//! order ([`super::order`]).

use super::decide::{Decisions, decide};
use super::order::{Dependencies, Replacement, Role, StepSpec, order_steps};
use super::reconcile::{Reconciled, reconcile};
use super::refresh::Observed;
use super::scope::Scope;
use super::{
    Change, ChangeAction, Operation, PLAN_FORMAT_VERSION, Plan, PlanError, ProtectedResource, Step,
};
use crate::model::{Address, Attributes, DesiredResource, Owner, Tags, Value};
use crate::state::{StateDocument, StateOutput, StateResource};
use std::collections::{BTreeMap, BTreeSet};

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
    /// Regions left out entirely (a failed-over environment's primary): what state records
    /// there is neither read, changed nor deleted, and stays in state as it is.
    pub parked_regions: BTreeSet<String>,
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
    // Step 1: the scope. `--target` and parked regions decide which addresses may be read as
    // gone, changed or deleted, so they come before anything is compared.
    let scope = Scope::new(desired, state, observed, options)?;

    // Step 2: state reconciled with what the refresh saw. Drift and adoptions are part of
    // every plan, a refresh-only one included, so they are found before deciding anything.
    let reconciled = reconcile(desired, state, observed, &scope);
    let mut plan = Plan {
        format_version: PLAN_FORMAT_VERSION,
        stack: state.stack.clone(),
        environment: state.environment.clone(),
        state_lineage: state.lineage.clone(),
        state_serial: state.serial,
        changes: Vec::new(),
        steps: Vec::new(),
        drift: reconciled.drift.clone(),
        adopted: reconciled.adopted.clone(),
        outputs: outputs.clone(),
        refresh_calls: observed.calls.clone(),
        refresh_only: options.refresh_only,
        policy: Vec::new(),
        rollouts: Vec::new(),
    };
    if options.refresh_only {
        return Ok(plan);
    }

    // Step 3: a decision per desired address in scope, against what exists now (a destroy
    // wants nothing, so everything in scope is deleted).
    let in_scope: BTreeMap<&Address, &DesiredResource> = if options.destroy {
        BTreeMap::new()
    } else {
        desired
            .iter()
            .filter(|(address, _)| scope.contains(address))
            .collect()
    };
    let owner = Owner {
        stack: state.stack.clone(),
        env: state.environment.clone(),
    };
    let decisions = decide(&in_scope, &reconciled.current, &owner)?;
    let deletes: Vec<&StateResource> = reconciled
        .current
        .values()
        .filter(|object| scope.contains(&object.address) && !in_scope.contains_key(&object.address))
        .collect();

    // Step 4: refuse the plan if it destroys a protected resource, before building anything
    // that would suggest otherwise.
    refuse_protected(desired, &in_scope, &decisions, &deletes)?;

    // Step 5: the changes users read and the steps apply runs, address by address.
    let (changes, specs) = changes_and_steps(&in_scope, &decisions, &reconciled, &deletes);

    // Step 6: the steps ordered by the dependencies of the new configuration (creates and
    // updates) and of what was recorded (deletes).
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

/// Refuses replacements and deletes of resources with `prevent_destroy`.
fn refuse_protected(
    desired: &BTreeMap<Address, DesiredResource>,
    in_scope: &BTreeMap<&Address, &DesiredResource>,
    decisions: &Decisions,
    deletes: &[&StateResource],
) -> Result<(), PlanError> {
    let mut protected = Vec::new();
    for (address, decision) in &decisions.by_address {
        if decision.action == Some(ChangeAction::Replace)
            && in_scope[address].lifecycle.prevent_destroy
        {
            protected.push(ProtectedResource {
                address: address.clone(),
                source: in_scope[address].source.clone(),
            });
        }
    }
    for object in deletes {
        if object.lifecycle.prevent_destroy {
            protected.push(ProtectedResource {
                address: object.address.clone(),
                source: desired
                    .get(&object.address)
                    .and_then(|resource| resource.source.clone()),
            });
        }
    }
    if protected.is_empty() {
        return Ok(());
    }
    protected.sort_by(|left, right| left.address.cmp(&right.address));
    Err(PlanError::PreventDestroy {
        resources: protected,
    })
}

/// The changes and the unordered steps of the plan, by address: the decided create, update or
/// replacement, the delete of what is no longer wanted, and the deletes of duplicates and
/// deposed objects.
fn changes_and_steps(
    in_scope: &BTreeMap<&Address, &DesiredResource>,
    decisions: &Decisions,
    reconciled: &Reconciled,
    deletes: &[&StateResource],
) -> (Vec<Change>, Vec<StepSpec>) {
    let mut changes = Vec::new();
    let mut specs = Vec::new();
    let deleted: BTreeSet<&Address> = deletes.iter().map(|object| &object.address).collect();
    let mut addresses: BTreeSet<&Address> = decisions.by_address.keys().collect();
    addresses.extend(deleted.iter().copied());
    addresses.extend(reconciled.garbage.iter().map(|(object, _)| &object.address));
    for address in addresses {
        if let Some(decision) = decisions.by_address.get(address)
            && let Some(action) = decision.action
        {
            let resource = in_scope[address];
            let current = reconciled.current.get(address);
            let cbd = decisions.create_before_destroy.contains(address);
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
            && deleted.contains(address)
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
    (changes, specs)
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

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
