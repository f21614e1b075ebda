//! Graph: expands a config for one environment (and region) into resource instances with
//! stable addresses, finds their references, builds the dependency DAG, reports cycles with
//! their path, and exports DOT.
//!
//! What it promises the planner and the providers:
//! - every block is instantiated once per active region, at `TYPE.NAME[REGION]`
//!   (`TYPE.NAME["KEY"][REGION]` with `for_each`, `module.NAME.` in front inside modules),
//!   except DNS, which belongs to no region: its blocks are instantiated once, at
//!   `TYPE.NAME[global]`, in the environment's first region;
//! - attribute names and shapes are exactly those of [`crate::model::Kind`]'s table;
//! - values the cloud assigns are [`crate::model::reference`] strings;
//! - firewall rules are one source per rule, sorted; a `firewall` without `egress` blocks gets
//!   no egress rules at all (unlike AWS's default allow-all), so write the egress you want;
//! - the same config always gives the same addresses, attributes and DOT, byte for byte.

mod analysis;
pub mod dag;
mod dot;
mod expand;
mod resources;
mod standby;

pub use dot::to_dot;
pub use expand::expand;
pub use resources::RESOURCE_TYPES;
/// What a `load_balancer` block declares when it says nothing, which `cairn discover` leaves
/// out of the blocks it writes.
pub use resources::load_balancer::{DEFAULT_TARGET_GROUP, default_health_check};
pub use standby::standby;

use crate::config::{Backend, Config, Diagnostics, Environment, LoadOptions};
pub use crate::model::rollout::{RolloutGate, RolloutSpec, RolloutStrategy};
use crate::model::{Address, DesiredResource, SourceLocation, Tags, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// Instantiate everything in another region than the environment's (a DR drill or failover).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionOverride {
    pub region: String,
    /// Zones of `region`; the n-th zone of the primary region maps to the n-th of these.
    pub zones: Vec<String>,
}

/// Options of [`expand`].
#[derive(Debug, Clone, Default)]
pub struct ExpandOptions {
    /// When set, the environment's primary region is replaced by this one and every block
    /// active in the primary region is instantiated here instead, with the same addresses
    /// except for the region or zone in brackets.
    pub region_override: Option<RegionOverride>,
    /// A separate instance of the environment (a drill): cloud names carry it after the
    /// environment (`webapp-production-drill-web`), so they never clash with the
    /// environment's own resources in the same region (a warm standby's group).
    pub instance: Option<String>,
}

/// Which copy of an environment an expansion builds: where its DNS names point depends on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deployed {
    /// In its own regions. With a `dr` block a DNS name fails over from the primary region's
    /// load balancer to the one the DR region's standby keeps.
    AtHome,
    /// Moved whole into another region in place of the primary (a failover, or the DR
    /// region's standby being expanded): DNS names point at that region.
    Moved,
    /// A separate instance (a drill): DNS names carry the instance's name, so the live names
    /// are never touched.
    Drill { instance: String },
}

impl ExpandOptions {
    /// Which copy of the environment these options build.
    pub fn deployed(&self) -> Deployed {
        match (&self.instance, &self.region_override) {
            (Some(instance), _) => Deployed::Drill {
                instance: instance.clone(),
            },
            (None, Some(_)) => Deployed::Moved,
            (None, None) => Deployed::AtHome,
        }
    }
}

/// An `output` as the configuration defines it. The value may hold references that are only
/// known after apply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputSpec {
    pub value: Value,
    /// Declared `sensitive`, or computed from a sensitive variable.
    pub sensitive: bool,
}

/// A `backup_policy` block, merged over the regions it is active in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupPolicySpec {
    /// The block name (`module.NAME.` in front inside modules, `["KEY"]` after with `for_each`).
    pub name: String,
    /// Volumes carrying all these tags are backed up.
    pub select: Tags,
    /// Volumes named explicitly (`volumes = [volume.data]`).
    pub volumes: Vec<Address>,
    pub every_seconds: u64,
    /// How many snapshots to keep.
    pub retain: u32,
    /// Region to copy each snapshot to.
    pub copy_to: Option<String>,
    pub source: SourceLocation,
}

impl BackupPolicySpec {
    /// Whether the policy backs up `resource`: a volume named in `volumes` (by address or
    /// block) or carrying every `select` tag.
    pub fn selects(&self, resource: &DesiredResource) -> bool {
        if resource.kind != crate::model::Kind::Volume {
            return false;
        }
        let named = self.volumes.iter().any(|address| {
            address == &resource.address || address.as_str() == resource.address.block_path()
        });
        let tagged = !self.select.is_empty()
            && self
                .select
                .iter()
                .all(|(key, value)| resource.tags.get(key) == Some(value));
        named || tagged
    }
}

/// One object an `import` block imports: the desired resource at `address` is the existing
/// object `id` (in the resource's region).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSpec {
    pub address: Address,
    pub id: String,
    /// Where the `import` block is.
    pub source: SourceLocation,
}

/// One environment's configuration, expanded into resource instances.
#[derive(Debug, Clone)]
pub struct Expansion {
    pub stack: String,
    pub backend: Backend,
    /// The environment; with a region override its `regions` hold the override region.
    pub environment: Environment,
    pub resources: BTreeMap<Address, DesiredResource>,
    pub outputs: BTreeMap<String, OutputSpec>,
    pub backup_policies: Vec<BackupPolicySpec>,
    /// Rollout settings by autoscaling group address.
    pub rollouts: BTreeMap<Address, RolloutSpec>,
    /// What the `import` blocks import, evaluated in the primary region (their targets in any).
    pub imports: Vec<ImportSpec>,
    /// Every resource, with an edge from each resource to each of its dependencies, labelled
    /// with where the dependency was written.
    pub dag: dag::Dag<Address, SourceLocation>,
}

/// What `cairn validate` reports on success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationSummary {
    pub dir: String,
    pub environments: usize,
    pub blocks: usize,
    pub resources: usize,
}

/// Loads the stack in `dir` and expands every environment, reporting every problem.
///
/// # Errors
///
/// All diagnostics of loading, or of expanding any environment.
pub fn validate(dir: &Path, options: &LoadOptions) -> Result<ValidationSummary, Diagnostics> {
    let config = crate::config::load(dir, options)?;
    let mut diagnostics = Diagnostics::new();
    let mut resources = 0;
    for name in config.environments.keys() {
        match expand(&config, name, &ExpandOptions::default()) {
            Ok(expansion) => resources += expansion.resources.len(),
            Err(found) => diagnostics.extend(found),
        }
    }
    diagnostics.into_result(ValidationSummary {
        dir: dir.display().to_string(),
        environments: config.environments.len(),
        blocks: config.block_count,
        resources,
    })
}

/// Loads the stack in `dir` and expands one environment.
///
/// # Errors
///
/// All diagnostics of loading or expanding.
pub fn load_and_expand(
    dir: &Path,
    options: &LoadOptions,
    environment: &str,
    expand_options: &ExpandOptions,
) -> Result<(Config, Expansion), Diagnostics> {
    let config = crate::config::load(dir, options)?;
    let expansion = expand(&config, environment, expand_options)?;
    Ok((config, expansion))
}
