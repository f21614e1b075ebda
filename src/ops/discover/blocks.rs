//! Objects nobody owns turned into the blocks that declare them: names first (so that blocks
//! can refer to each other), then each network's subnets guessed as `subnet` blocks, then
//! every block with its attributes, nested blocks and `import` blocks, and a comment for each
//! difference the language leaves between the object and its block.

use super::dns;
use super::hcl::{self, Block};
use super::network::{SubnetBlock, subnet_blocks};
use super::traffic::{self, TrafficReferences};
use super::{Discovered, Naming, named};
use crate::model::cloud::{GLOBAL_REGION, is_cloud_tag};
use crate::model::{Kind, OWNERSHIP_TAGS, Tags, Value};
use crate::provider::LiveResource;
use std::collections::BTreeMap;

/// The objects listed, by kind.
pub(super) type Listed = BTreeMap<Kind, Vec<LiveResource>>;

/// What a network block declares besides its network.
struct NetworkParts<'a> {
    subnets: Vec<SubnetBlock<'a>>,
    gateways: Vec<&'a LiveResource>,
    route_tables: Vec<&'a LiveResource>,
}

/// The blocks that declare `listed`, sorted by block type and name, and the objects none
/// declares with why.
pub(super) fn blocks(
    naming: &Naming,
    listed: &Listed,
) -> (Vec<Discovered>, Vec<(LiveResource, String)>) {
    let of = |kind: Kind| listed.get(&kind).map(Vec::as_slice).unwrap_or_default();
    let text_of = |object: &LiveResource, attribute: &str| -> Option<String> {
        object
            .attributes
            .get(attribute)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let mut left: Vec<(LiveResource, String)> = Vec::new();

    // Step 1: block names, which every reference below is made of. A firewall without a
    // `Name` tag is named after its group name, which people choose as carefully.
    let group_names: Vec<Option<String>> = of(Kind::SecurityGroup)
        .iter()
        .map(|group| text_of(group, "name"))
        .collect();
    let mains = of(Kind::Network)
        .iter()
        .map(|object| ("network", object, None))
        .chain(
            of(Kind::SecurityGroup)
                .iter()
                .zip(&group_names)
                .map(|(object, name)| ("firewall", object, name.as_deref())),
        )
        .chain(
            of(Kind::Instance)
                .iter()
                .map(|object| ("instance", object, None)),
        )
        .chain(
            of(Kind::Volume)
                .iter()
                .map(|object| ("volume", object, None)),
        )
        // The compute and traffic objects are named by the cloud: blocks after their names.
        .chain(
            [
                ("launch_template", Kind::LaunchTemplate),
                ("autoscaling", Kind::AutoscalingGroup),
                ("load_balancer", Kind::LoadBalancer),
                ("alarm", Kind::Alarm),
                ("dns_zone", Kind::DnsZone),
            ]
            .into_iter()
            .flat_map(|(block_type, kind)| {
                of(kind).iter().map(move |object| {
                    let name = object.attributes.get("name").and_then(Value::as_str);
                    (block_type, object, name)
                })
            }),
        );
    let names = named(naming, mains);

    // Step 2: what each network declares, and the expression each object is referred to by:
    // a subnet is its block's list of ids at its zone's position.
    let mut references: BTreeMap<String, String> = BTreeMap::new();
    let mut networks: BTreeMap<String, NetworkParts<'_>> = BTreeMap::new();
    for (block_type, name, object) in &names {
        match *block_type {
            "firewall" | "launch_template" | "autoscaling" => {
                // A group's id is its name, which an alarm's dimension names it by.
                references.insert(object.id.clone(), format!("{block_type}.{name}"));
            }
            "network" => {
                references.insert(object.id.clone(), format!("network.{name}"));
                let in_network = |kind: Kind| -> Vec<&LiveResource> {
                    of(kind)
                        .iter()
                        .filter(|member| {
                            member.region == object.region
                                && text_of(member, "network_id").as_deref()
                                    == Some(object.id.as_str())
                        })
                        .collect()
                };
                let zones = naming
                    .zones
                    .get(&object.region)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                let display = network_display(naming, name, object);
                let (subnets, unplaced) = subnet_blocks(
                    &text_of(object, "cidr").unwrap_or_default(),
                    zones,
                    &in_network(Kind::Subnet),
                    &display,
                );
                left.extend(
                    unplaced
                        .into_iter()
                        .map(|(subnet, reason)| (subnet.clone(), reason)),
                );
                for block in &subnets {
                    for (position, subnet) in block.subnets.iter().enumerate() {
                        references.insert(
                            subnet.id.clone(),
                            format!("network.{name}.subnet.{}[{position}]", block.name),
                        );
                    }
                }
                networks.insert(
                    object.id.clone(),
                    NetworkParts {
                        subnets,
                        gateways: in_network(Kind::InternetGateway),
                        route_tables: in_network(Kind::RouteTable),
                    },
                );
            }
            _ => {}
        }
    }
    let mut traffic_references = TrafficReferences::default();
    let balancers = traffic::balancers(
        &names,
        listed,
        &mut references,
        &mut traffic_references,
        &mut left,
    );
    // What belongs to a network no block declares here (owned by a stack, or not chosen by
    // `--tag`) cannot be declared on its own.
    for kind in [Kind::Subnet, Kind::InternetGateway, Kind::RouteTable] {
        for member in of(kind) {
            let network = text_of(member, "network_id").unwrap_or_default();
            let main_route_table = kind == Kind::RouteTable && is_empty_list(member, "subnet_ids");
            if !networks.contains_key(&network) && !main_route_table {
                left.push((
                    member.clone(),
                    format!(
                        "its network `{network}` is not declared here (a stack owns it, or `--tag` left it out), and a `network` block declares it"
                    ),
                ));
            }
        }
    }

    // Step 3: the blocks.
    let mut found: Vec<Discovered> = names
        .iter()
        .map(|(block_type, name, object)| {
            let mut item = Discovered {
                block_type,
                name: name.clone(),
                object: (*object).clone(),
                imports: vec![(
                    import_to(naming, &format!("{block_type}.{name}"), &object.region),
                    (*object).clone(),
                )],
                block: start(naming, block_type, name, object),
            };
            match *block_type {
                "network" => {
                    if let Some(parts) = networks.get(&object.id) {
                        network(naming, &mut item, parts, &mut left);
                    }
                }
                "firewall" => firewall(naming, &mut item, &references),
                "instance" => instance(naming, &mut item, &references),
                "launch_template" => traffic::launch_template(naming, &mut item, &references),
                "autoscaling" => traffic::autoscaling(
                    naming,
                    &mut item,
                    &references,
                    &traffic_references,
                    listed,
                ),
                "load_balancer" => {
                    if let Some(parts) = balancers.get(&object.id) {
                        traffic::load_balancer(naming, &mut item, parts, &references, listed);
                    }
                }
                "alarm" => traffic::alarm(naming, &mut item, &references, &traffic_references),
                "dns_zone" => dns::zone(naming, &mut item),
                _ => volume(naming, &mut item),
            }
            item
        })
        .collect();
    // Records come with their zones, named after themselves (see [`dns`]).
    found.extend(dns::records(naming, &names, listed, &mut left));
    found
        .sort_by(|left, right| (left.block_type, &left.name).cmp(&(right.block_type, &right.name)));
    (found, left)
}

/// The block's header and, in an environment of several regions, `regions` pinning it to
/// the object's (else it would be declared, and created, in every region).
fn start(naming: &Naming, block_type: &str, name: &str, object: &LiveResource) -> Block {
    let mut block = Block::new(format!("{block_type} {}", hcl::quoted(name)));
    // DNS belongs to no region: declared once, whatever the environment's regions.
    if naming.pinned && !object.kind.is_global() {
        block.attribute("regions", hcl::list(&[hcl::quoted(&object.region)]));
    }
    block
}

/// An `import` block's `to` for `path` in `region`: the region named unless it is the
/// primary one (or no region: DNS is declared in the primary).
pub(super) fn import_to(naming: &Naming, path: &str, region: &str) -> String {
    if region == naming.primary || region == GLOBAL_REGION {
        path.to_string()
    } else {
        format!("{path}[{}]", hcl::quoted(region))
    }
}

/// The tags the user set on `object` that a block writes: the cloud's own, ownership tags
/// and the environment's `tags` (which every block applies) left out.
pub(super) fn user_tags(naming: &Naming, object: &LiveResource) -> Tags {
    object
        .tags
        .iter()
        .filter(|(key, _)| !is_cloud_tag(key) && !OWNERSHIP_TAGS.contains(&key.as_str()))
        .filter(|(key, value)| naming.environment_tags.get(*key) != Some(*value))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

/// The environment's tags `object` lacks, which the plan adds to it (an update). One it
/// has with another value is kept by the block's own `tags`, which win.
pub(super) fn environment_missing(naming: &Naming, object: &LiveResource) -> Tags {
    naming
        .environment_tags
        .iter()
        .filter(|(key, _)| !object.tags.contains_key(*key))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

/// Writes `tags` for an object the block names `display` by default: its `Name` tag is left
/// out when it is that name already; one it lacks, like an environment tag it lacks, is a
/// change the plan will show.
pub(super) fn write_tags(naming: &Naming, item: &mut Discovered, display: &str) {
    let missing = environment_missing(naming, &item.object);
    if !missing.is_empty() {
        item.block.comments.push(format!(
            "{} `{}` lacks the environment's tags {}: the plan adds them, an update.",
            item.object.kind,
            item.object.id,
            hcl::string_map(&missing)
        ));
    }
    let mut tags = user_tags(naming, &item.object);
    match tags.get("Name") {
        Some(name) if name == display => {
            tags.remove("Name");
        }
        Some(_) => {}
        None => item.block.comments.push(format!(
            "{} `{}` has no `Name` tag: the plan gives it `Name = {}`, an update.",
            item.object.kind,
            item.object.id,
            hcl::quoted(display)
        )),
    }
    if !tags.is_empty() {
        item.block.attribute("tags", hcl::string_map(&tags));
    }
}

/// The name a network block gives its objects when its tags do not: `STACK-ENV-BLOCK`.
fn network_display(naming: &Naming, name: &str, network: &LiveResource) -> String {
    match network.tags.get("Name") {
        Some(tag) => tag.clone(),
        None => format!("{}{name}", naming.prefix),
    }
}

pub(super) fn attribute<'a>(object: &'a LiveResource, name: &str) -> Option<&'a Value> {
    object.attributes.get(name).filter(|value| !value.is_null())
}

fn is_empty_list(object: &LiveResource, name: &str) -> bool {
    attribute(object, name)
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty)
}

/// A reference to the object `id` when a block written here declares it, else the id.
pub(super) fn reference_or_id(references: &BTreeMap<String, String>, id: &str) -> String {
    references
        .get(id)
        .cloned()
        .unwrap_or_else(|| hcl::quoted(id))
}

/// `network`: its CIDR and tags, a `subnet` block per set of subnets one can declare, and the
/// internet gateway and route tables its public subnets come with.
fn network(
    naming: &Naming,
    item: &mut Discovered,
    parts: &NetworkParts<'_>,
    left: &mut Vec<(LiveResource, String)>,
) {
    let name = item.name.clone();
    let own_name = format!("{}{name}", naming.prefix);
    let display = network_display(naming, &name, &item.object);
    if let Some(cidr) = attribute(&item.object, "cidr") {
        item.block.attribute("cidr", hcl::value(cidr));
    }
    write_tags(naming, item, &own_name);
    // Block tags go on every object of the block; a `Name` among them names them all.
    let mut member_tags = user_tags(naming, &item.object);
    let named_by_block = member_tags.get("Name").is_some_and(|tag| *tag != own_name);
    member_tags.remove("Name");
    let mut members: Vec<(String, &LiveResource, String)> = Vec::new();
    for (index, block) in parts.subnets.iter().enumerate() {
        let mut subnet = Block::new(format!("subnet {}", hcl::quoted(&block.name)));
        subnet.attribute("newbits", block.newbits.to_string());
        if block.public {
            subnet.attribute("public", "true".to_string());
        }
        // Blocks are numbered 16 apart unless they say otherwise.
        if u64::from(block.offset) != index as u64 * 16 {
            subnet.attribute("offset", block.offset.to_string());
        }
        item.block.blocks.push(subnet);
        let zones = naming
            .zones
            .get(&item.object.region)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for (subnet, zone) in block.subnets.iter().zip(zones) {
            members.push((
                format!(
                    "network.{name}.subnet.{}[{}]",
                    block.name,
                    hcl::quoted(zone)
                ),
                *subnet,
                format!("{display}-{}-{zone}", block.name),
            ));
        }
    }
    let public: Vec<&SubnetBlock<'_>> = parts.subnets.iter().filter(|block| block.public).collect();
    let gateway = match (public.is_empty(), parts.gateways.as_slice()) {
        (true, gateways) => {
            for gateway in gateways {
                left.push((
                    (*gateway).clone(),
                    "a `network` block has an internet gateway only with public subnets"
                        .to_string(),
                ));
            }
            None
        }
        (false, [gateway]) => {
            members.push((
                import_to(
                    naming,
                    &format!("network.{name}.gateway"),
                    &item.object.region,
                ),
                *gateway,
                display.clone(),
            ));
            Some(gateway.id.clone())
        }
        (false, _) => {
            item.block.comments.push(format!(
                "Network `{}` has no internet gateway: the plan creates one for its public subnets.",
                item.object.id
            ));
            None
        }
    };
    let mut matched = Vec::new();
    for block in &public {
        let wanted: Vec<&str> = block
            .subnets
            .iter()
            .map(|subnet| subnet.id.as_str())
            .collect();
        let found = parts.route_tables.iter().find(|table| {
            routes_to_gateway_only(table, gateway.as_deref()) && same_ids(table, &wanted)
        });
        match found {
            Some(table) => {
                matched.push(table.id.clone());
                members.push((
                    import_to(
                        naming,
                        &format!("network.{name}.route_table.{}", block.name),
                        &item.object.region,
                    ),
                    *table,
                    format!("{display}-{}", block.name),
                ));
            }
            None => item.block.comments.push(format!(
                "No route table routes exactly the `{}` subnets to the internet gateway: the plan creates one.",
                block.name
            )),
        }
    }
    for table in &parts.route_tables {
        if !matched.contains(&table.id) && !is_empty_list(table, "subnet_ids") {
            left.push((
                (*table).clone(),
                "a `network` block's route tables send its public subnets, and nothing else, to its internet gateway".to_string(),
            ));
        }
    }
    for (to, member, derived) in members {
        let mut expected = member_tags.clone();
        let name_tag = if named_by_block {
            display.clone()
        } else {
            derived
        };
        expected.insert("Name".to_string(), name_tag);
        import_member(naming, item, to, member, expected);
    }
}

/// Imports `member`, another object of `item`'s block, which gives it the block's tags
/// `expected` (and the environment's): a comment announces the update when it lacks them.
pub(super) fn import_member(
    naming: &Naming,
    item: &mut Discovered,
    to: String,
    member: &LiveResource,
    mut expected: Tags,
) {
    if user_tags(naming, member) != expected || !environment_missing(naming, member).is_empty() {
        expected.extend(naming.environment_tags.clone());
        item.block.comments.push(format!(
            "{} `{}` gets the block's tags {}, an update.",
            member.kind,
            member.id,
            hcl::string_map(&expected)
        ));
    }
    item.imports.push((to, member.clone()));
}

/// Whether `table`'s only route sends everything to `gateway`.
fn routes_to_gateway_only(table: &LiveResource, gateway: Option<&str>) -> bool {
    let Some(gateway) = gateway else { return false };
    let routes = attribute(table, "routes").and_then(Value::as_array);
    matches!(routes.map(Vec::as_slice), Some([route])
        if route.get("cidr").and_then(Value::as_str) == Some("0.0.0.0/0")
            && route.get("gateway_id").and_then(Value::as_str) == Some(gateway))
}

/// Whether `table` is associated with exactly the subnets `wanted`.
fn same_ids(table: &LiveResource, wanted: &[&str]) -> bool {
    let mut ids: Vec<&str> = attribute(table, "subnet_ids")
        .and_then(Value::as_array)
        .map(|ids| ids.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut wanted = wanted.to_vec();
    ids.sort_unstable();
    wanted.sort_unstable();
    ids == wanted
}

/// `firewall`: its network, its name and description where they are not the stack's own,
/// its tags and its rules.
fn firewall(naming: &Naming, item: &mut Discovered, references: &BTreeMap<String, String>) {
    let name = item.name.clone();
    let own_name = format!("{}{name}", naming.prefix);
    let text = |attribute_name: &str| {
        attribute(&item.object, attribute_name)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let group_name = text("name").unwrap_or_else(|| own_name.clone());
    let (network, description) = (text("network_id"), text("description"));
    if let Some(network) = network {
        item.block
            .attribute("network", reference_or_id(references, &network));
    }
    // Both replace the group when they change, so they are kept as they are.
    if group_name != own_name {
        item.block.attribute("name", hcl::quoted(&group_name));
    }
    if let Some(description) = description
        && description != format!("Managed by Cairn: firewall.{name}")
    {
        item.block
            .attribute("description", hcl::quoted(&description));
    }
    write_tags(naming, item, &group_name);
    let id = item.object.id.clone();
    for (ident, peer) in [("ingress", "from"), ("egress", "to")] {
        let rules = attribute(&item.object, ident)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        rule_blocks(item, ident, peer, &rules, references, &id);
    }
}

/// One `ingress` or `egress` block per protocol, port range and description, with every
/// source or destination of the rules that share them.
fn rule_blocks(
    item: &mut Discovered,
    ident: &str,
    peer: &str,
    rules: &[Value],
    references: &BTreeMap<String, String>,
    own_id: &str,
) {
    let mut grouped: BTreeMap<(String, i64, i64, Option<String>), Vec<String>> = BTreeMap::new();
    for rule in rules {
        let protocol = rule
            .get("protocol")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let from = rule.get("from_port").and_then(Value::as_i64).unwrap_or(-1);
        let to = rule.get("to_port").and_then(Value::as_i64).unwrap_or(-1);
        let description = rule
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_string);
        let target = match (
            rule.get("cidr").and_then(Value::as_str),
            rule.get("source_group_id").and_then(Value::as_str),
        ) {
            (Some(cidr), _) => hcl::quoted(cidr),
            // A group that refers to itself names its own id: `firewall.NAME` in its own
            // block would be a cycle.
            (None, Some(group)) if group == own_id => hcl::quoted(group),
            (None, Some(group)) => reference_or_id(references, group),
            (None, None) => continue,
        };
        let expressible = match protocol {
            "all" => true,
            "icmp" if (from, to) == (-1, -1) => true,
            "tcp" | "udp" | "icmp" => 0 <= from && from <= to && to <= 65535,
            _ => false,
        };
        if !expressible {
            item.block.comments.push(format!(
                "An {ident} rule of `{}` (protocol `{protocol}`, ports {from} to {to}, {peer} {target}) cannot be written as a rule block: the plan removes it, an update.",
                item.object.id
            ));
            continue;
        }
        grouped
            .entry((protocol.to_string(), from, to, description))
            .or_default()
            .push(target);
    }
    for ((protocol, from, to, description), targets) in grouped {
        let mut block = Block::new(ident);
        block.attribute("protocol", hcl::quoted(&protocol));
        match (protocol.as_str(), from, to) {
            ("all", _, _) | ("icmp", -1, -1) => {}
            (_, from, to) if from == to => block.attribute("ports", from.to_string()),
            (_, from, to) => block.attribute("ports", hcl::quoted(&format!("{from}-{to}"))),
        }
        block.attribute(peer, hcl::list(&targets));
        if let Some(description) = description {
            block.attribute("description", hcl::quoted(&description));
        }
        item.block.blocks.push(block);
    }
}

/// `instance`: its image, type, subnet and firewalls (references where blocks written here
/// declare them) and its tags.
fn instance(naming: &Naming, item: &mut Discovered, references: &BTreeMap<String, String>) {
    for (name, attribute_name) in [("image", "image"), ("instance_type", "instance_type")] {
        if let Some(value) = attribute(&item.object, attribute_name) {
            item.block.attribute(name, hcl::value(value));
        }
    }
    if let Some(subnet) = attribute(&item.object, "subnet_id").and_then(Value::as_str) {
        let subnet = reference_or_id(references, subnet);
        item.block.attribute("subnet", subnet);
    }
    let mut groups: Vec<String> = attribute(&item.object, "security_group_ids")
        .and_then(Value::as_array)
        .map(|ids| {
            ids.iter()
                .filter_map(Value::as_str)
                .map(|id| reference_or_id(references, id))
                .collect()
        })
        .unwrap_or_default();
    groups.sort();
    if !groups.is_empty() {
        item.block.attribute("firewalls", hcl::list(&groups));
    }
    let display = format!("{}{}", naming.prefix, item.name);
    write_tags(naming, item, &display);
}

/// `volume`: its zone, size, encryption, type, snapshot and tags.
fn volume(naming: &Naming, item: &mut Discovered) {
    for (name, attribute_name) in [
        ("zone", "zone"),
        ("size_gb", "size_gb"),
        ("encrypted", "encrypted"),
        ("type", "volume_type"),
        ("snapshot", "snapshot_id"),
    ] {
        if let Some(value) = attribute(&item.object, attribute_name) {
            item.block.attribute(name, hcl::value(value));
        }
    }
    let display = format!("{}{}", naming.prefix, item.name);
    write_tags(naming, item, &display);
}
