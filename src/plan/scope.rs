//! Scope: which addresses a plan may touch. `--target` selects addresses and what they need
//! (their dependencies, or with `destroy` their dependents); parked regions (a failed-over
//! environment's primary) are out of every plan, so what state records there is neither read
//! as gone, changed nor deleted.

use super::refresh::Observed;
use super::{PlanError, PlanOptions};
use crate::model::{Address, DesiredResource};
use crate::state::StateDocument;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Which addresses a `--target` selects (all when there is none).
pub(super) struct Scope {
    all: bool,
    addresses: BTreeSet<Address>,
    /// Recorded objects in parked regions: never in scope.
    parked: BTreeSet<Address>,
}

impl Scope {
    /// The scope of a plan with `options`: every address, or those `--target` names with what
    /// they need, and never what lies in a parked region.
    ///
    /// # Errors
    /// [`PlanError::TargetMatchesNothing`] for a target that names nothing desired, recorded
    /// or observed.
    pub(super) fn new(
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

    /// Whether the plan may touch `address`.
    pub(super) fn contains(&self, address: &Address) -> bool {
        !self.parked.contains(address) && (self.all || self.addresses.contains(address))
    }
}
