//! Building resources: one evaluated block instance in, the resources it declares out, in the
//! attribute shapes of [`crate::model::Kind`]'s table, with their cloud-unique names and the
//! value other blocks see when they refer to this one (`network.main.id`, `firewall.web`, ...).
//!
//! One builder per block type, each in its own file, listed in [`BUILDERS`]: a new block type
//! (after its schema in `config::schema`) is a new file here and a row in that table. The
//! readers every builder uses to evaluate and check its attributes are in `read.rs`.

mod alarm;
mod autoscaling;
mod backup_policy;
mod dns_record;
mod dns_zone;
mod firewall;
mod instance;
mod launch_template;
mod limits;
pub(super) mod load_balancer;
mod network;
mod read;
mod rollout;
mod volume;

use super::{BackupPolicySpec, Deployed, RolloutSpec};
use crate::config::diagnostics::Diagnostic;
use crate::config::source::Span;
use crate::config::tree::{Attr, BlockDef};
use crate::config::{Environment, RegionSpec, Sources};
use crate::model::{Address, Kind, Value};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

/// Builds the resources of one block instance; `None` when the block failed (its problems
/// are in [`Instance::problems`]).
type Builder = fn(&Instance<'_>) -> Option<Built>;

/// The builder of every block type that declares resources, which is also what can be referred
/// to as `TYPE.NAME` in expressions.
const BUILDERS: [(&str, Builder); 11] = [
    ("network", network::build),
    ("firewall", firewall::build),
    ("launch_template", launch_template::build),
    ("autoscaling", autoscaling::build),
    ("volume", volume::build),
    ("instance", instance::build),
    ("backup_policy", backup_policy::build),
    ("load_balancer", load_balancer::build),
    ("alarm", alarm::build),
    ("dns_zone", dns_zone::build),
    ("dns_record", dns_record::build),
];

/// Block types that declare resources (and can be referred to as `TYPE.NAME`): those with a
/// builder.
pub const RESOURCE_TYPES: [&str; BUILDERS.len()] = {
    let mut names = [""; BUILDERS.len()];
    let mut index = 0;
    while index < BUILDERS.len() {
        names[index] = BUILDERS[index].0;
        index += 1;
    }
    names
};

/// One resource a block produced, before the expander adds tags, dependencies and lifecycle.
#[derive(Debug, Clone)]
pub struct Produced {
    pub address: Address,
    pub kind: Kind,
    pub attributes: BTreeMap<String, Value>,
    pub sensitive: BTreeSet<String>,
    /// The `Name` tag.
    pub display_name: String,
    /// Resources this one must come after although none of its attributes refers to them
    /// (a target group after its load balancer, so that it is deleted before it).
    pub after: BTreeSet<Address>,
}

/// A DNS record that names its zone by domain name: the expander finds the `dns_zone` of the
/// environment that declares that name, once every block is built, and gives the records
/// its id.
#[derive(Debug, Clone)]
pub struct ZoneLookup {
    /// The domain name, normalised (lower case, no trailing dot).
    pub zone: String,
    /// The records whose `zone_id` the zone fills in.
    pub records: Vec<Address>,
    /// The `zone` attribute, for the message when no zone or several declare the name.
    pub span: Span,
}

/// Everything one block instance produced.
#[derive(Debug, Default)]
pub struct Built {
    pub resources: Vec<Produced>,
    /// The value of `TYPE.NAME` in expressions.
    pub value: Value,
    /// The addresses a reference to this block depends on (the block's main resource).
    pub primary: Vec<Address>,
    pub policy: Option<BackupPolicySpec>,
    pub rollout: Option<(Address, RolloutSpec)>,
    pub zone_lookup: Option<ZoneLookup>,
}

/// How to evaluate an attribute of the block being built: `Err(None)` means the attribute
/// depends on something that already failed, which was reported where it failed.
pub type Evaluator<'a> = dyn Fn(&Attr) -> Result<Value, Option<Diagnostic>> + 'a;

/// The block instance being built and how to read its attributes.
pub struct Instance<'a> {
    pub sources: &'a Sources,
    pub block: &'a BlockDef,
    pub region: &'a RegionSpec,
    /// The address without the placement: `module.web.firewall.app["k"]`.
    pub address_base: String,
    /// The cloud-unique name: `{stack}-{env}[-{module}]-{name}[-{key}]`.
    pub name: String,
    /// The block path the object was created under, which a `moved` block makes differ from
    /// the one users name it by now (`module.web.firewall.app["k"]`): what is written into the cloud (names, descriptions) comes from it, so a
    /// move never forces a replacement.
    pub created_as: String,
    /// The block name with its module path and key: `module.web.daily["k"]`.
    pub short_name: String,
    /// Primary zone → override zone, when a region override is active.
    pub zone_map: &'a BTreeMap<String, String>,
    /// The environment being expanded (its `dr` block decides how DNS names fail over).
    pub environment: &'a Environment,
    /// Which copy of the environment this expansion builds.
    pub deployed: &'a Deployed,
    /// Whether this is the environment's first placement (its primary region, or the one
    /// region it is moved to): global resources (DNS) are declared there only.
    pub first_placement: bool,
    pub evaluate: &'a Evaluator<'a>,
    pub is_sensitive: &'a dyn Fn(&Attr) -> bool,
    pub problems: RefCell<Vec<Diagnostic>>,
    /// Set when an attribute could not be evaluated, so the block produces nothing.
    pub failed: RefCell<bool>,
}

impl Built {
    /// What a block with one resource built: that resource, which references depend on, and
    /// the value they see.
    fn one(produced: Produced, value: Value) -> Built {
        Built {
            primary: vec![produced.address.clone()],
            resources: vec![produced],
            value,
            ..Built::default()
        }
    }
}

/// Builds the resources of one block instance. Returns `None` when the block failed (its
/// problems are in `instance.problems`).
pub fn build(instance: &Instance<'_>) -> Option<Built> {
    let block_type = instance.block.ident.as_str();
    let Some((_, builder)) = BUILDERS.iter().find(|(name, _)| *name == block_type) else {
        instance.problem(Diagnostic::internal(format!(
            "block type `{block_type}` passed the schema but has no expansion"
        )));
        return None;
    };
    let built = builder(instance);
    if *instance.failed.borrow() {
        return None;
    }
    built
}

pub(super) fn attributes(pairs: Vec<(&str, Value)>) -> BTreeMap<String, Value> {
    pairs
        .into_iter()
        .map(|(name, value)| (name.to_string(), value))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::schema::{MODULE_BLOCKS, STACK_BLOCKS};
    use std::collections::BTreeSet;

    #[test]
    fn every_resource_block_of_the_language_has_exactly_one_builder() {
        let in_schema: BTreeSet<&str> = STACK_BLOCKS
            .iter()
            .chain(MODULE_BLOCKS.iter())
            .filter(|schema| schema.meta)
            .map(|schema| schema.ident)
            .collect();
        let with_builder: BTreeSet<&str> = RESOURCE_TYPES.into_iter().collect();
        assert_eq!(with_builder, in_schema);
        assert_eq!(
            with_builder.len(),
            BUILDERS.len(),
            "a block type listed twice"
        );
    }
}
