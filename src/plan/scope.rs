//! Scope: which addresses a plan may touch. `--target` selects addresses and what they need
//! (their dependencies, or with `destroy` their dependents); `--exclude` leaves addresses out
//! with what needs them (their dependents, or with `destroy` their dependencies, which must
//! outlive them); parked regions (a failed-over environment's primary) are out of every plan,
//! so what state records there is neither read as gone, changed nor deleted.

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
    /// What `--exclude` leaves out, with what needs it: never in scope.
    excluded: BTreeSet<Address>,
}

impl Scope {
    /// The scope of a plan with `options`: every address, or those `--target` names with what
    /// they need, never what `--exclude` names with what needs it, and never what lies in a
    /// parked region.
    ///
    /// # Errors
    /// [`PlanError::TargetMatchesNothing`] for a target or an exclude that names nothing
    /// desired, recorded or observed.
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
        // Without `--target` or `--exclude` every address is in scope: the dependency maps
        // below only serve to close a selection, and building them cost every plan a copy of
        // the whole graph twice over (issue 14).
        if options.target.is_empty() && options.exclude.is_empty() {
            return Ok(Scope {
                all: true,
                addresses: BTreeSet::new(),
                parked,
                excluded: BTreeSet::new(),
            });
        }
        let universe: BTreeSet<&Address> = desired
            .keys()
            .chain(state.resources.keys())
            .chain(state.deposed.iter().map(|object| &object.address))
            .chain(observed.resources.keys())
            .collect();
        let dependencies = dependencies(desired, state, &universe, options.destroy);
        let dependents = reversed(&dependencies);
        // Destroying a resource needs what depends on it gone first; creating or updating
        // one needs what it depends on in place. An excluded address is the other way round:
        // what needs it cannot change without it.
        let (needed, needing) = if options.destroy {
            (&dependents, &dependencies)
        } else {
            (&dependencies, &dependents)
        };
        let excluded = closure(matching(&universe, "--exclude", &options.exclude)?, needing);
        if options.target.is_empty() {
            return Ok(Scope {
                all: true,
                addresses: BTreeSet::new(),
                parked,
                excluded,
            });
        }
        let selected = closure(matching(&universe, "--target", &options.target)?, needed);
        Ok(Scope {
            all: false,
            addresses: selected,
            parked,
            excluded,
        })
    }

    /// Whether `address` lies in a parked region, out of every plan whatever its flags.
    pub(super) fn is_parked(&self, address: &Address) -> bool {
        self.parked.contains(address)
    }

    /// Whether the plan may touch `address`.
    pub(super) fn contains(&self, address: &Address) -> bool {
        !self.parked.contains(address)
            && !self.excluded.contains(address)
            && (self.all || self.addresses.contains(address))
    }
}

/// The addresses of `universe` that `patterns` (`--target` or `--exclude` values) match.
///
/// # Errors
/// [`PlanError::TargetMatchesNothing`] for a pattern that matches nothing.
fn matching(
    universe: &BTreeSet<&Address>,
    flag: &'static str,
    patterns: &[String],
) -> Result<BTreeSet<Address>, PlanError> {
    let mut selected = BTreeSet::new();
    for pattern in patterns {
        let matched: Vec<&Address> = universe
            .iter()
            .copied()
            .filter(|address| address.matches_target(pattern))
            .collect();
        if matched.is_empty() {
            // A typo (`network.mian`) is told the name it missed: a block path, or a whole
            // address when the pattern names a region or zone.
            let names: BTreeSet<&str> = universe
                .iter()
                .map(|address| {
                    if pattern.ends_with(']') {
                        address.as_str()
                    } else {
                        address.block_path()
                    }
                })
                .collect();
            return Err(PlanError::TargetMatchesNothing {
                flag,
                target: pattern.clone(),
                closest: crate::config::diagnostics::closest(pattern, names).map(str::to_string),
            });
        }
        selected.extend(matched.into_iter().cloned());
    }
    Ok(selected)
}

/// What each address of `universe` depends on: as the configuration wants it, or for a
/// destroy, which deletes what exists, as recorded in state (as desired for what state does
/// not record).
fn dependencies(
    desired: &BTreeMap<Address, DesiredResource>,
    state: &StateDocument,
    universe: &BTreeSet<&Address>,
    destroy: bool,
) -> BTreeMap<Address, BTreeSet<Address>> {
    if !destroy {
        return desired
            .iter()
            .map(|(address, resource)| (address.clone(), resource.depends_on.clone()))
            .collect();
    }
    universe
        .iter()
        .filter_map(|address| {
            let edges = state
                .resources
                .get(*address)
                .map(|object| &object.dependencies)
                .or_else(|| desired.get(*address).map(|resource| &resource.depends_on))?;
            Some(((*address).clone(), edges.clone()))
        })
        .collect()
}

/// The same edges the other way round.
fn reversed(edges: &BTreeMap<Address, BTreeSet<Address>>) -> BTreeMap<Address, BTreeSet<Address>> {
    let mut reversed: BTreeMap<Address, BTreeSet<Address>> = BTreeMap::new();
    for (from, targets) in edges {
        for target in targets {
            reversed
                .entry(target.clone())
                .or_default()
                .insert(from.clone());
        }
    }
    reversed
}

/// `start` with everything reachable from it along `edges`.
fn closure(
    start: BTreeSet<Address>,
    edges: &BTreeMap<Address, BTreeSet<Address>>,
) -> BTreeSet<Address> {
    let mut reached = start;
    let mut queue: VecDeque<Address> = reached.iter().cloned().collect();
    while let Some(address) = queue.pop_front() {
        for next in edges.get(&address).into_iter().flatten() {
            if reached.insert(next.clone()) {
                queue.push_back(next.clone());
            }
        }
    }
    reached
}
