//! `cairn discover`: what exists in an environment's regions that no stack owns (no
//! `cairn:stack` tag), and the configuration that takes it over: one block per object (a
//! network with its subnets, gateway and route tables), blocks referring to each other where
//! the objects do (a firewall's network, an instance's subnet and firewalls), plus an
//! `import` block for every object, so the plan right after shows the imports. Launch
//! templates, autoscaling groups, load balancers (with their target groups and listeners)
//! and alarms keep their cloud names with a `name` attribute (see [`traffic`]).
//!
//! Promise: discovering reads only (batched lists, never a write). The configuration written
//! declares each object with the values the cloud reports, its tags included; what the
//! language cannot say exactly (a subnet no `subnet` block can declare, a rule no firewall
//! can hold, a tag the block will change) is written as the nearest block with a comment
//! naming the difference, which the plan then shows as a create or an update — never left
//! out silently. Objects the cloud makes with others and deletes with them (a network's
//! default security group and main route table) and instances of autoscaling groups are not
//! listed: no block declares them.

mod blocks;
mod dns;
mod hcl;
mod network;
mod traffic;

use super::OpsError;
use super::run::{PlanRequest, Stack};
use crate::config::DrMode;
use crate::model::cloud::GLOBAL_REGION;
use crate::model::{Kind, TAG_STACK};
use crate::provider::{LiveResource, Retrying};
use std::collections::{BTreeMap, BTreeSet};

/// The block types `cairn discover` lists and writes, with the kinds each declares (its main
/// one first).
pub const DISCOVERABLE: [(&str, &[Kind]); 9] = [
    (
        "network",
        &[
            Kind::Network,
            Kind::Subnet,
            Kind::InternetGateway,
            Kind::RouteTable,
        ],
    ),
    ("firewall", &[Kind::SecurityGroup]),
    ("instance", &[Kind::Instance]),
    ("volume", &[Kind::Volume]),
    ("launch_template", &[Kind::LaunchTemplate]),
    (
        "autoscaling",
        &[Kind::AutoscalingGroup, Kind::ScalingPolicy],
    ),
    (
        "load_balancer",
        &[Kind::LoadBalancer, Kind::TargetGroup, Kind::Listener],
    ),
    ("alarm", &[Kind::Alarm]),
    // A zone comes with its records (which take no tags: they belong to whoever owns their
    // zone) and the health checks they use; see [`dns`].
    (
        "dns_zone",
        &[Kind::DnsZone, Kind::DnsRecord, Kind::DnsHealthCheck],
    ),
];

/// The tag the cloud puts on the instances an autoscaling group launches.
const GROUP_TAG: &str = "aws:autoscaling:groupName";

/// What to discover.
#[derive(Debug, Clone, Default)]
pub struct DiscoverRequest {
    pub stack: PlanRequest,
    /// `--kind`: block types (`network`, `volume`); every discoverable one when empty.
    pub kinds: Vec<String>,
    /// `--tag KEY=VALUE`: objects carrying every one of these tags (a network's subnets,
    /// gateway and route tables come with it).
    pub tags: Vec<(String, String)>,
}

/// One block of configuration for objects nobody owns.
#[derive(Debug, Clone, PartialEq)]
pub struct Discovered {
    /// The block type (`network`).
    pub block_type: &'static str,
    /// The block name: the object's `Name` tag made an identifier, or its id.
    pub name: String,
    /// The block's main object (a network's VPC).
    pub object: LiveResource,
    /// What the block imports: the `to` of each `import` block, with the object.
    pub imports: Vec<(String, LiveResource)>,
    /// The block as written.
    block: hcl::Block,
}

/// What `cairn discover` found, and the configuration that imports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Discovery {
    /// The blocks, sorted by block type and name.
    pub found: Vec<Discovered>,
    /// Objects nobody owns that no block written here declares, with why.
    pub left: Vec<(LiveResource, String)>,
    /// The HCL that declares and imports `found`, for `--write`.
    pub configuration: String,
}

/// How the environment names what it makes, which the blocks written follow so that an
/// object the stack once made (and let go of) comes back under its old name unchanged.
#[derive(Debug, Clone)]
struct Naming {
    /// `STACK-ENV-`: the start of the cloud names the stack gives its blocks.
    prefix: String,
    /// The primary region: a block without `regions` is instantiated there first.
    primary: String,
    /// Whether the environment has several regions, so each block is pinned to its own.
    pinned: bool,
    /// Each region's zones, in the environment's order.
    zones: BTreeMap<String, Vec<String>>,
    /// The environment's `tags`, which every block applies: not written per block.
    environment_tags: crate::model::Tags,
    /// The environment's `dr` mode, which decides the records a `dns_record` block declares.
    dr: Option<DrMode>,
}

/// Lists the objects of the environment's regions that no stack owns and the blocks that
/// declare them.
///
/// # Errors
/// An unknown `--kind`, configuration errors, or the cloud's errors.
pub async fn discover(request: &DiscoverRequest) -> Result<Discovery, OpsError> {
    let mut wanted: Vec<(&'static str, &'static [Kind])> = Vec::new();
    for kind in &request.kinds {
        let found = DISCOVERABLE
            .iter()
            .find(|(block_type, _)| block_type == kind)
            .ok_or_else(|| OpsError::NotDiscoverable {
                kind: kind.clone(),
                known: DISCOVERABLE
                    .iter()
                    .map(|(block_type, _)| format!("`{block_type}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        wanted.push(*found);
    }
    if wanted.is_empty() {
        wanted = DISCOVERABLE.to_vec();
    }
    let stack = Stack::open(&request.stack)?;
    // An environment that failed over runs in its failover region alone (its configured
    // regions parked): that is where what it would own is listed, and imported into.
    let state = stack.state(&request.stack.deployment)?;
    let regions: Vec<(String, Vec<String>)> = match &state.failover {
        Some(failover) => vec![(failover.region.clone(), failover.zones.clone())],
        None => stack
            .environment
            .regions
            .iter()
            .map(|region| (region.name.clone(), region.zones.clone()))
            .collect(),
    };
    let provider = Retrying::wrap(stack.provider().await?);
    let mut listed: BTreeMap<Kind, Vec<LiveResource>> = BTreeMap::new();
    for (_, kinds) in &wanted {
        for (position, kind) in kinds.iter().enumerate() {
            // DNS belongs to no region: listed once, whatever the environment's regions.
            let listed_in: Vec<&str> = if kind.is_global() {
                vec![GLOBAL_REGION]
            } else {
                regions.iter().map(|(region, _)| region.as_str()).collect()
            };
            for region in listed_in {
                let objects =
                    provider
                        .discover(region, *kind)
                        .await
                        .map_err(|source| OpsError::Cloud {
                            action: format!("list {kind} resources in {region}"),
                            source,
                        })?;
                // A block's main objects are chosen by `--tag`; the others come with them.
                let main = position == 0;
                listed.entry(*kind).or_default().extend(
                    objects
                        .into_iter()
                        .filter(|object| !object.tags.contains_key(TAG_STACK))
                        .filter(listable)
                        .filter(|object| {
                            !main
                                || request
                                    .tags
                                    .iter()
                                    .all(|(key, value)| object.tags.get(key) == Some(value))
                        }),
                );
            }
        }
    }
    let naming = Naming {
        prefix: format!("{}-{}-", stack.config.stack, request.stack.environment),
        primary: regions
            .first()
            .map(|(region, _)| region.clone())
            .unwrap_or_default(),
        pinned: regions.len() > 1,
        zones: regions.into_iter().collect(),
        environment_tags: stack.environment.tags.clone(),
        dr: stack.environment.dr.as_ref().map(|dr| dr.mode),
    };
    let (found, left) = blocks::blocks(&naming, &listed);
    let configuration = configuration(&found, &left);
    Ok(Discovery {
        found,
        left,
        configuration,
    })
}

/// Whether `object` is one a block can declare: not an instance an autoscaling group runs,
/// nor what the cloud makes with a network (its default security group, its main route
/// table, which has no subnets of its own).
fn listable(object: &LiveResource) -> bool {
    match object.kind {
        Kind::Instance => !object.tags.contains_key(GROUP_TAG),
        Kind::SecurityGroup => {
            object.attributes.get("name").and_then(|name| name.as_str()) != Some("default")
        }
        _ => true,
    }
}

/// Gives each object a block name, unique per block type: its `Name` tag, else `fallback`
/// (its cloud name), as an identifier (without the `STACK-ENV-` the environment starts names
/// with, when what follows is one already), else its id, with `_2`, `_3`... after a name
/// taken already.
fn named<'a>(
    naming: &Naming,
    objects: impl IntoIterator<Item = (&'static str, &'a LiveResource, Option<&'a str>)>,
) -> Vec<(&'static str, String, &'a LiveResource)> {
    let mut taken: BTreeSet<(&str, String)> = BTreeSet::new();
    objects
        .into_iter()
        .map(|(block_type, object, fallback)| {
            let base = match object.tags.get("Name").map(String::as_str).or(fallback) {
                Some(name) => match name.strip_prefix(naming.prefix.as_str()) {
                    Some(rest) if !rest.is_empty() && identifier(rest) == rest => rest.to_string(),
                    _ => identifier(name),
                },
                None => identifier(&object.id),
            };
            let mut name = base.clone();
            let mut counter = 2;
            while !taken.insert((block_type, name.clone())) {
                name = format!("{base}_{counter}");
                counter += 1;
            }
            (block_type, name, object)
        })
        .collect()
}

/// `text` as a block name: lowercase letters, digits and `_`, starting with a letter.
fn identifier(text: &str) -> String {
    let mut name: String = text
        .chars()
        .map(|character| {
            if character.is_ascii_alphanumeric() {
                character.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if !name.starts_with(|character: char| character.is_ascii_alphabetic()) {
        name.insert_str(0, "x_");
    }
    name
}

/// The configuration that declares and imports `found`, in HCL as `cairn fmt` writes it,
/// ending with what it leaves out and why.
pub fn configuration(found: &[Discovered], left: &[(LiveResource, String)]) -> String {
    let mut text = String::from(
        "# Written by `cairn discover --write`: objects no stack owned, declared as the cloud\n\
         # reports them, each with an `import` block. Review, then `cairn plan`: it should\n\
         # show the imports, and the changes the comments below announce. The `import` blocks\n\
         # can go once applied.\n",
    );
    for item in found {
        text.push('\n');
        item.block.write(0, &mut text);
        for (to, object) in &item.imports {
            text.push('\n');
            let mut import = hcl::Block::new("import");
            import.attribute("to", to.clone());
            import.attribute("id", hcl::quoted(&object.id));
            import.write(0, &mut text);
        }
    }
    if !left.is_empty() {
        text.push_str("\n# Not declared here, so left as they are and unmanaged:\n");
        for (object, reason) in left {
            text.push_str(&format!(
                "# - {} `{}` in {}: {reason}\n",
                object.kind, object.id, object.region
            ));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn volume(id: &str, name: Option<&str>) -> LiveResource {
        let mut tags = crate::model::Tags::new();
        if let Some(name) = name {
            tags.insert("Name".to_string(), name.to_string());
        }
        LiveResource {
            kind: Kind::Volume,
            region: "us-east-1".to_string(),
            id: id.to_string(),
            attributes: serde_json::from_value(serde_json::json!({
                "zone": "us-east-1a", "size_gb": 10, "encrypted": true, "volume_type": "gp3",
            }))
            .unwrap_or_default(),
            tags,
        }
    }

    fn naming() -> Naming {
        Naming {
            prefix: "shop-dev-".to_string(),
            primary: "us-east-1".to_string(),
            pinned: false,
            zones: BTreeMap::from([(
                "us-east-1".to_string(),
                vec!["us-east-1a".to_string(), "us-east-1b".to_string()],
            )]),
            environment_tags: crate::model::Tags::new(),
            dr: None,
        }
    }

    #[test]
    fn names_come_from_name_tags_or_ids_and_stay_unique() {
        let volumes = [
            volume("vol-1", Some("Build Cache")),
            volume("vol-2", Some("build-cache")),
            volume("vol-3", None),
            volume("vol-4", Some("shop-dev-logs")),
        ];
        let discovered = named(
            &naming(),
            volumes.iter().map(|volume| ("volume", volume, None)),
        );
        let names: Vec<&str> = discovered
            .iter()
            .map(|(_, name, _)| name.as_str())
            .collect();
        assert_eq!(names, ["build_cache", "build_cache_2", "vol_3", "logs"]);
    }

    #[test]
    fn the_configuration_declares_and_imports_each_object() {
        let listed = BTreeMap::from([(Kind::Volume, vec![volume("vol-1", Some("logs"))])]);
        let (found, left) = blocks::blocks(&naming(), &listed);
        let text = configuration(&found, &left);
        assert!(
            text.ends_with(
                "volume \"logs\" {\n  zone      = \"us-east-1a\"\n  size_gb   = 10\n  encrypted = true\n  type      = \"gp3\"\n  tags      = { Name = \"logs\" }\n}\n\nimport {\n  to = volume.logs\n  id = \"vol-1\"\n}\n"
            ),
            "{text}"
        );
    }
}
