//! What a drill beside a standby reuses instead of building: a pilot light's or warm
//! standby's networks, subnets, gateways, route tables, firewalls and launch templates, when
//! the standby's live object is exactly what the drill would create (names and ownership
//! aside). The drill then grows only what is missing or must differ (data volumes restored
//! from copies, groups at the drill's size, load balancers, alarms, DNS), and its additions
//! reference the standby's objects by id.
//!
//! Promises:
//! - A drill never changes a standby object. What it reuses leaves its expansion (so the
//!   drill's plan neither creates, updates, tags nor deletes it, and its teardown never sees
//!   it), and nothing the drill creates attaches itself to a reused object: a subnet, gateway
//!   or route table of the drill's own on a reused network (a second gateway, an overlapping
//!   subnet, a route table taking over the standby's subnet associations) makes the whole
//!   network the drill's own instead.
//! - Traffic is never shared: load balancers, target groups, listeners, alarms and DNS are
//!   not reusable kinds, so drill instances never register with the standby's target groups,
//!   which the DNS name fails over to.
//! - A standby object that drifted from what the drill would create (a firewall rule changed
//!   by hand) is not reused: the drill builds its own, as it would without a standby.
//!
//! Pure: `ops` reads the standby's live objects (in the drill's region only) and hands them
//! here; nothing here calls a cloud.

use crate::graph::Expansion;
use crate::graph::dag::Dag;
use crate::model::{
    Address, AttributeChange, DesiredResource, Kind, Reference, Value, references_in, resolve,
};
use crate::provider::LiveResource;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The kinds a drill may take from the standby: what holds no traffic and is only read by
/// what is launched into it.
pub const REUSABLE: [Kind; 6] = [
    Kind::Network,
    Kind::Subnet,
    Kind::InternetGateway,
    Kind::RouteTable,
    Kind::SecurityGroup,
    Kind::LaunchTemplate,
];

/// The kinds whose creation changes what they reference: a subnet or gateway is placed into
/// its network (an overlapping subnet is refused, a network takes one gateway), a route
/// table takes over the associations of its subnets.
const ATTACHING: [Kind; 3] = [Kind::Subnet, Kind::InternetGateway, Kind::RouteTable];

/// A standby object a drill used instead of creating its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reused {
    pub address: Address,
    pub kind: Kind,
    /// The standby's id, which the drill's additions reference.
    pub id: String,
}

/// Takes out of `expansion` (a drill's) every resource `standby` (the standby's live
/// objects in the drill's region, by address) already has as the drill would create it, and
/// points the drill's remaining resources and outputs at the standby's objects instead.
/// Returns what was reused, by address.
pub fn reuse(expansion: &mut Expansion, standby: &BTreeMap<Address, LiveResource>) -> Vec<Reused> {
    let reused = reusable(expansion, standby);
    if reused.is_empty() {
        return Vec::new();
    }
    let lookup = |reference: &Reference| standby_value(standby, &reused, reference);
    expansion
        .resources
        .retain(|address, _| !reused.contains(address));
    for resource in expansion.resources.values_mut() {
        for value in resource.attributes.values_mut() {
            *value = resolve(value, &lookup);
        }
        resource
            .depends_on
            .retain(|dependency| !reused.contains(dependency));
    }
    for output in expansion.outputs.values_mut() {
        output.value = resolve(&output.value, &lookup);
    }
    expansion.dag = without(&expansion.dag, &reused);
    reused
        .iter()
        .filter_map(|address| {
            standby.get(address).map(|live| Reused {
                address: address.clone(),
                kind: live.kind,
                id: live.id.clone(),
            })
        })
        .collect()
}

/// The addresses of `expansion` the drill can take from `standby`, closed under the rules
/// of the module documentation: start from every reusable kind the standby has as the drill
/// would create it, and drop until nothing changes.
fn reusable(expansion: &Expansion, standby: &BTreeMap<Address, LiveResource>) -> BTreeSet<Address> {
    let mut reused: BTreeSet<Address> = expansion
        .resources
        .values()
        .filter(|resource| REUSABLE.contains(&resource.kind))
        .filter(|resource| {
            standby
                .get(&resource.address)
                .is_some_and(|live| live.kind == resource.kind)
        })
        .map(|resource| resource.address.clone())
        .collect();
    loop {
        let dropped: BTreeSet<Address> = reused
            .iter()
            .filter(|address| !keeps(expansion, standby, &reused, address))
            .cloned()
            .collect();
        if dropped.is_empty() {
            return reused;
        }
        reused.retain(|address| !dropped.contains(address));
    }
}

/// Whether `address` can stay reused while `reused` are.
fn keeps(
    expansion: &Expansion,
    standby: &BTreeMap<Address, LiveResource>,
    reused: &BTreeSet<Address>,
    address: &Address,
) -> bool {
    let (Some(resource), Some(live)) = (expansion.resources.get(address), standby.get(address))
    else {
        return false;
    };
    // What it stands on must be the standby's too: the standby's object references the
    // standby's, never the drill's.
    let stands_on_standby = resource.depends_on.iter().all(|dependency| {
        reused.contains(dependency) || !expansion.resources.contains_key(dependency)
    });
    stands_on_standby
        && same_as_standby(resource, live, standby, reused)
        && expansion.resources.values().all(|other| {
            reused.contains(&other.address) || !attaches_to(other, address, standby, reused)
        })
}

/// Whether `resource`, created by the drill, would attach itself to `address`, or reference
/// something of it the standby's object cannot answer.
fn attaches_to(
    resource: &DesiredResource,
    address: &Address,
    standby: &BTreeMap<Address, LiveResource>,
    reused: &BTreeSet<Address>,
) -> bool {
    if !resource.depends_on.contains(address) {
        return false;
    }
    ATTACHING.contains(&resource.kind)
        || resource
            .attributes
            .values()
            .flat_map(references_in)
            .filter(|reference| &reference.address == address)
            .any(|reference| standby_value(standby, reused, &reference).is_none())
}

/// Whether the standby's live object is what the drill would create: every attribute the
/// drill sets, with its references to reused objects resolved, is the same, except the name
/// (the drill's carry its instance), what the cloud computes, and what the configuration
/// ignores changes to.
fn same_as_standby(
    resource: &DesiredResource,
    live: &LiveResource,
    standby: &BTreeMap<Address, LiveResource>,
    reused: &BTreeSet<Address>,
) -> bool {
    let lookup = |reference: &Reference| standby_value(standby, reused, reference);
    resource.attributes.iter().all(|(name, value)| {
        name == "name"
            || resource.kind.change_for(name) == AttributeChange::Computed
            || resource.lifecycle.ignore_changes.contains(name)
            || resource.kind.same_value(
                name,
                Some(&resolve(value, &lookup)),
                live.attributes.get(name),
            )
    })
}

/// The value of `reference` when it names a reused standby object: its id, or the attribute
/// its live object has.
fn standby_value(
    standby: &BTreeMap<Address, LiveResource>,
    reused: &BTreeSet<Address>,
    reference: &Reference,
) -> Option<Value> {
    if !reused.contains(&reference.address) {
        return None;
    }
    let live = standby.get(&reference.address)?;
    match reference.attribute.as_str() {
        "id" => Some(Value::String(live.id.clone())),
        attribute => live.attributes.get(attribute).cloned(),
    }
}

/// `dag` without the nodes of `removed` and their edges.
fn without<E: Clone>(dag: &Dag<Address, E>, removed: &BTreeSet<Address>) -> Dag<Address, E> {
    let mut kept = Dag::new();
    for node in dag.nodes().filter(|node| !removed.contains(*node)) {
        kept.add_node(node.clone());
    }
    for (from, to, label) in dag.edges() {
        if !removed.contains(from) && !removed.contains(to) {
            kept.add_edge(from, to, label.clone());
        }
    }
    kept
}
