//! Ordering: turns the decided changes into primitive steps with `after_steps` edges, in an
//! order in which every step comes after all the steps it waits for.
//!
//! The edges, and why each exists:
//! 1. A create or update waits for the creates and updates of what it depends on (in the new
//!    configuration), looking through dependencies that do not change.
//! 2. A destroy-then-create replacement creates only after its old object is deleted, and so
//!    does the create of an address whose object an interrupted delete is finishing.
//! 3. A delete waits for the deletes of everything whose old object depended on it, looking
//!    through dependents that stay, so objects go in the reverse of the order they came in.
//!    The plan counts the autoscaling groups whose instances run with a security group among
//!    its old dependents ([`super::in_use`]), as state may no longer record that use.
//! 4. A delete waits for the updates of dependents that stop depending on it.
//! 5. The old object of a `create_before_destroy` replacement (and a deposed object left by an
//!    interrupted one) is deleted after the new object exists and after its dependents have
//!    moved to the new object.

use super::PlanError;
use crate::graph::dag::Dag;
use crate::model::Address;
use crate::plan::{Operation, Step};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Why a step exists, which decides the edges it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// Creates the address's new object (a create, or the create half of a replacement).
    Create,
    /// Updates the address's object in place.
    Update,
    /// Deletes the address's current object; `replacement` says whether it is the delete half
    /// of a replacement, and with `create_before_destroy`.
    DeleteCurrent { replacement: Option<Replacement> },
    /// Deletes a deposed object of an interrupted `create_before_destroy` replacement.
    DeleteDeposed,
    /// Deletes an extra object carrying the address's tag (a duplicate).
    DeleteDuplicate,
    /// Deletes again an object whose delete an earlier run sent without learning the outcome.
    FinishDelete,
}

/// Which kind of replacement a delete belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Replacement {
    DestroyFirst,
    CreateFirst,
}

/// A step before ordering, with what ordering needs to know about it.
#[derive(Debug, Clone)]
pub(super) struct StepSpec {
    pub step: Step,
    pub role: Role,
}

/// The dependency graphs the edges are drawn from.
pub(super) struct Dependencies<'a> {
    /// Each desired address's dependencies in the new configuration.
    pub new: &'a BTreeMap<Address, BTreeSet<Address>>,
    /// Each existing object's recorded dependencies (by the address it is recorded under).
    pub old: &'a BTreeMap<Address, BTreeSet<Address>>,
}

/// Orders `specs` (given in a deterministic order, which breaks ties) into plan steps.
///
/// # Errors
/// [`PlanError::StepCycle`] when the edges form a cycle.
pub(super) fn order_steps(
    specs: Vec<StepSpec>,
    dependencies: &Dependencies<'_>,
) -> Result<Vec<Step>, PlanError> {
    let mut writes: BTreeMap<&Address, usize> = BTreeMap::new();
    let mut current_deletes: BTreeMap<&Address, usize> = BTreeMap::new();
    let mut all_deletes: BTreeMap<&Address, Vec<usize>> = BTreeMap::new();
    for (index, spec) in specs.iter().enumerate() {
        let address = &spec.step.address;
        match spec.role {
            Role::Create | Role::Update => {
                writes.insert(address, index);
            }
            Role::DeleteCurrent { .. } | Role::FinishDelete => {
                current_deletes.insert(address, index);
                all_deletes.entry(address).or_default().push(index);
            }
            Role::DeleteDeposed | Role::DeleteDuplicate => {
                all_deletes.entry(address).or_default().push(index);
            }
        }
    }
    let new_dependents = reverse(dependencies.new);
    let old_dependents = reverse(dependencies.old);
    let empty = BTreeSet::new();

    let mut edges: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); specs.len()];
    for (index, spec) in specs.iter().enumerate() {
        let address = &spec.step.address;
        let after = &mut edges[index];
        match spec.role {
            Role::Create | Role::Update => {
                // Edge 1.
                let direct = dependencies.new.get(address).unwrap_or(&empty);
                for dependency in
                    nearest(direct, dependencies.new, |found| writes.contains_key(found))
                {
                    after.insert(writes[&dependency]);
                }
                // Edge 2.
                if let Some(&delete) = current_deletes.get(address)
                    && matches!(
                        specs[delete].role,
                        Role::DeleteCurrent {
                            replacement: Some(Replacement::DestroyFirst),
                        } | Role::FinishDelete
                    )
                {
                    after.insert(delete);
                }
            }
            Role::DeleteCurrent { .. }
            | Role::DeleteDeposed
            | Role::DeleteDuplicate
            | Role::FinishDelete => {
                // Edge 3.
                let direct = old_dependents.get(address).unwrap_or(&empty);
                for dependent in nearest(direct, &old_dependents, |found| {
                    all_deletes.contains_key(found)
                }) {
                    after.extend(
                        all_deletes[&dependent]
                            .iter()
                            .filter(|&&other| other != index),
                    );
                }
                if spec.role == Role::DeleteDuplicate {
                    // Nothing can refer to a duplicate: state never recorded its id.
                    continue;
                }
                // Edge 4.
                for dependent in direct {
                    let still_depends = dependencies
                        .new
                        .get(dependent)
                        .is_some_and(|new| new.contains(address));
                    if !still_depends && let Some(&write) = writes.get(dependent) {
                        after.insert(write);
                    }
                }
                // Edge 5.
                let create_first = matches!(
                    spec.role,
                    Role::DeleteCurrent {
                        replacement: Some(Replacement::CreateFirst)
                    } | Role::DeleteDeposed
                );
                if create_first {
                    if let Some(&write) = writes.get(address) {
                        after.insert(write);
                    }
                    for dependent in new_dependents.get(address).unwrap_or(&empty) {
                        if let Some(&write) = writes.get(dependent) {
                            after.insert(write);
                        }
                    }
                }
            }
        }
    }
    topological(specs, edges)
}

/// `to → from` for every `from → to`.
fn reverse(graph: &BTreeMap<Address, BTreeSet<Address>>) -> BTreeMap<Address, BTreeSet<Address>> {
    let mut reversed: BTreeMap<Address, BTreeSet<Address>> = BTreeMap::new();
    for (from, targets) in graph {
        for to in targets {
            reversed.entry(to.clone()).or_default().insert(from.clone());
        }
    }
    reversed
}

/// The addresses reachable from `start` through `graph` that `has_step` accepts, looking
/// through (but not past) the ones it accepts.
fn nearest(
    start: &BTreeSet<Address>,
    graph: &BTreeMap<Address, BTreeSet<Address>>,
    has_step: impl Fn(&Address) -> bool,
) -> BTreeSet<Address> {
    let mut found = BTreeSet::new();
    let mut seen: BTreeSet<&Address> = BTreeSet::new();
    let mut queue: VecDeque<&Address> = start.iter().collect();
    while let Some(address) = queue.pop_front() {
        if !seen.insert(address) {
            continue;
        }
        if has_step(address) {
            found.insert(address.clone());
        } else if let Some(next) = graph.get(address) {
            queue.extend(next);
        }
    }
    found
}

/// Sorts the steps so that each comes after the steps it waits for, taking the earliest
/// given step whenever several are ready (the graph's order is by key, here the index), and
/// renumbers the edges.
fn topological(specs: Vec<StepSpec>, edges: Vec<BTreeSet<usize>>) -> Result<Vec<Step>, PlanError> {
    let count = specs.len();
    let mut graph: Dag<usize, ()> = Dag::new();
    for (index, after) in edges.iter().enumerate() {
        graph.add_node(index);
        for &before in after {
            graph.add_edge(&index, &before, ());
        }
    }
    let order = graph
        .topological_order()
        .map_err(|cycle| PlanError::StepCycle {
            steps: cycle
                .nodes()
                .map(|&index| describe(&specs[index].step))
                .collect(),
        })?;
    let mut position = vec![0; count];
    for (new_index, &old_index) in order.iter().enumerate() {
        position[old_index] = new_index;
    }
    let mut slots: Vec<Option<StepSpec>> = specs.into_iter().map(Some).collect();
    let mut steps = Vec::with_capacity(count);
    for (new_index, &old_index) in order.iter().enumerate() {
        let Some(spec) = slots[old_index].take() else {
            continue;
        };
        let mut step = spec.step;
        step.index = new_index;
        let mut after: Vec<usize> = edges[old_index]
            .iter()
            .map(|&before| position[before])
            .collect();
        after.sort_unstable();
        step.after_steps = after;
        steps.push(step);
    }
    Ok(steps)
}

/// `delete network.main[us-east-1]`, for messages.
fn describe(step: &Step) -> String {
    let operation = match step.operation {
        Operation::Create => "create",
        Operation::Update => "update",
        Operation::Delete if step.deposed => "delete old",
        Operation::Delete => "delete",
    };
    format!("{operation} `{}`", step.address)
}
