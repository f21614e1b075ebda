//! Turning one evaluated block instance into resources: the attribute shapes of
//! [`crate::model::Kind`]'s table, the cloud-unique names, and the value other blocks see when
//! they refer to this one (`network.main.id`, `firewall.web`, ...).

use super::{BackupPolicySpec, RolloutSpec, RolloutStrategy};
use crate::config::diagnostics::Diagnostic;
use crate::config::eval;
use crate::config::functions::cidr_subnet;
use crate::config::tree::{Attr, BlockDef};
use crate::config::{RegionSpec, Sources};
use crate::model::{Address, Kind, Tags, Value, reference, references_in};
use serde_json::json;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

/// One resource a block produced, before the expander adds tags, dependencies and lifecycle.
#[derive(Debug, Clone)]
pub struct Produced {
    pub address: Address,
    pub kind: Kind,
    pub attributes: BTreeMap<String, Value>,
    pub sensitive: BTreeSet<String>,
    /// The `Name` tag.
    pub display_name: String,
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
    /// The block as users name it: `module.web.firewall.app["k"]`.
    pub block_path: String,
    /// The block name with its module path and key: `module.web.daily["k"]`.
    pub short_name: String,
    /// Primary zone → override zone, when a region override is active.
    pub zone_map: &'a BTreeMap<String, String>,
    pub evaluate: &'a Evaluator<'a>,
    pub is_sensitive: &'a dyn Fn(&Attr) -> bool,
    pub problems: RefCell<Vec<Diagnostic>>,
    /// Set when an attribute could not be evaluated, so the block produces nothing.
    pub failed: RefCell<bool>,
}

impl Instance<'_> {
    fn at(&self, placement: &str) -> Address {
        Address::new(format!("{}[{placement}]", self.address_base))
    }

    fn problem(&self, diagnostic: Diagnostic) {
        self.problems.borrow_mut().push(diagnostic);
        *self.failed.borrow_mut() = true;
    }

    /// The evaluated value of `name` in `block`, or `None` when absent or failed.
    fn value<'b>(&self, block: &'b BlockDef, name: &str) -> Option<(Value, &'b Attr)> {
        let attr = block.attribute(name)?;
        match (self.evaluate)(attr) {
            Ok(value) => Some((value, attr)),
            Err(diagnostic) => {
                match diagnostic {
                    Some(diagnostic) => self.problem(diagnostic),
                    None => *self.failed.borrow_mut() = true,
                }
                None
            }
        }
    }

    fn typed<T>(
        &self,
        block: &BlockDef,
        name: &str,
        convert: impl Fn(&Sources, &Attr, &Value) -> Result<T, Diagnostic>,
    ) -> Option<T> {
        let (value, attr) = self.value(block, name)?;
        convert(self.sources, attr, &value)
            .map_err(|diagnostic| self.problem(diagnostic))
            .ok()
    }

    fn string(&self, block: &BlockDef, name: &str) -> Option<String> {
        self.typed(block, name, eval::as_string)
    }

    fn count(&self, block: &BlockDef, name: &str) -> Option<u64> {
        self.typed(block, name, eval::as_count)
    }

    fn flag(&self, block: &BlockDef, name: &str, default: bool) -> bool {
        if block.attribute(name).is_none() {
            return default;
        }
        self.typed(block, name, eval::as_bool).unwrap_or(default)
    }

    fn optional_string(&self, block: &BlockDef, name: &str) -> Option<String> {
        match self.value(block, name)? {
            (Value::Null, _) => None,
            (value, attr) => eval::as_string(self.sources, attr, &value)
                .map_err(|diagnostic| self.problem(diagnostic))
                .ok(),
        }
    }

    /// An id from a value that is either a block reference object (`firewall.web`) or an id
    /// string (`firewall.web.id`, or a literal id).
    fn id_from(&self, attr: &Attr, value: &Value, whole: &Value, what: &str) -> Option<String> {
        match value {
            Value::String(text) => Some(text.clone()),
            Value::Object(map) => match map.get("id") {
                Some(Value::String(id)) => Some(id.clone()),
                _ => {
                    self.problem(eval::wrong_type(self.sources, attr, whole, what));
                    None
                }
            },
            _ => {
                self.problem(eval::wrong_type(self.sources, attr, whole, what));
                None
            }
        }
    }

    fn id(&self, block: &BlockDef, name: &str, what: &str) -> Option<String> {
        let (value, attr) = self.value(block, name)?;
        self.id_from(attr, &value, &value, what)
    }

    fn ids(&self, block: &BlockDef, name: &str, what: &str) -> Option<Vec<Value>> {
        let Some((value, attr)) = self.value(block, name) else {
            return if block.attribute(name).is_none() {
                Some(Vec::new())
            } else {
                None
            };
        };
        let Some(items) = value.as_array() else {
            self.problem(eval::wrong_type(self.sources, attr, &value, what));
            return None;
        };
        items
            .iter()
            .map(|item| self.id_from(attr, item, &value, what).map(Value::String))
            .collect()
    }

    /// Resource attribute names whose source attributes read a sensitive value.
    fn sensitive(&self, mapping: &[(&str, &str)]) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        for (source, target) in mapping {
            let hit = match self.block.attribute(source) {
                Some(attr) => (self.is_sensitive)(attr),
                None => self
                    .block
                    .blocks_named(source)
                    .flat_map(|nested| nested.attributes.values())
                    .any(|attr| (self.is_sensitive)(attr)),
            };
            if hit {
                found.insert((*target).to_string());
            }
        }
        found
    }

    fn produced(
        &self,
        address: Address,
        kind: Kind,
        attributes: BTreeMap<String, Value>,
        sensitive: BTreeSet<String>,
        display_name: String,
    ) -> Produced {
        Produced {
            address,
            kind,
            attributes,
            sensitive,
            display_name,
        }
    }
}

fn attributes(pairs: Vec<(&str, Value)>) -> BTreeMap<String, Value> {
    pairs
        .into_iter()
        .map(|(name, value)| (name.to_string(), value))
        .collect()
}

/// Builds the resources of one block instance. Returns `None` when the block failed (its
/// problems are in `instance.problems`).
pub fn build(instance: &Instance<'_>) -> Option<Built> {
    let built = match instance.block.ident.as_str() {
        "network" => network(instance),
        "firewall" => firewall(instance),
        "launch_template" => launch_template(instance),
        "autoscaling" => autoscaling(instance),
        "volume" => volume(instance),
        "instance" => server(instance),
        "backup_policy" => backup_policy(instance),
        other => {
            instance.problem(Diagnostic::internal(format!(
                "block type `{other}` passed the schema but has no expansion"
            )));
            None
        }
    };
    if *instance.failed.borrow() {
        return None;
    }
    built
}

/// `network` → a network, one subnet per `subnet` block and zone, and for public subnets an
/// internet gateway and one route table per public subnet block.
fn network(instance: &Instance<'_>) -> Option<Built> {
    let block = instance.block;
    let cidr = instance.string(block, "cidr")?;
    if let Err(message) = cidr.parse::<ipnet::IpNet>() {
        let attr = block.attribute("cidr")?;
        instance.problem(
            Diagnostic::at(
                instance.sources,
                attr.value_span,
                format!("invalid CIDR block `{cidr}`"),
            )
            .expected(format!("a block such as `10.0.0.0/16` ({message})")),
        );
        return None;
    }
    let address = instance.at(&instance.region.name);
    let network_id = Value::String(reference(&address, "id"));
    let mut built = Built {
        primary: vec![address.clone()],
        ..Built::default()
    };
    built.resources.push(instance.produced(
        address.clone(),
        Kind::Network,
        attributes(vec![("cidr", Value::String(cidr.clone()))]),
        instance.sensitive(&[("cidr", "cidr")]),
        instance.name.clone(),
    ));

    let gateway = Address::new(format!(
        "{}.gateway[{}]",
        instance.address_base, instance.region.name
    ));
    let mut subnet_values = serde_json::Map::new();
    let mut public_groups: Vec<(String, Vec<Value>)> = Vec::new();
    for (index, subnet) in block.blocks_named("subnet").enumerate() {
        let Some(newbits) = instance.count(subnet, "newbits") else {
            continue;
        };
        let public = instance.flag(subnet, "public", false);
        let offset = match subnet.attribute("offset") {
            Some(_) => instance.count(subnet, "offset")?,
            None => index as u64 * 16,
        };
        let mut ids = Vec::new();
        for (position, zone) in instance.region.zones.iter().enumerate() {
            let subnet_address = Address::new(format!(
                "{}.subnet.{}[{zone}]",
                instance.address_base,
                subnet.name()
            ));
            let netnum = offset + position as u64;
            let subnet_cidr = match cidr_subnet(&cidr, newbits as i64, netnum as i64) {
                Ok(found) => found,
                Err(message) => {
                    instance.problem(
                        Diagnostic::at(
                            instance.sources,
                            subnet.label_span,
                            format!("subnet `{}` does not fit in `{cidr}`", subnet.name()),
                        )
                        .expected(message),
                    );
                    return None;
                }
            };
            ids.push(Value::String(reference(&subnet_address, "id")));
            built.resources.push(instance.produced(
                subnet_address,
                Kind::Subnet,
                attributes(vec![
                    ("network_id", network_id.clone()),
                    ("cidr", Value::String(subnet_cidr)),
                    ("zone", Value::String(zone.clone())),
                    ("public", Value::Bool(public)),
                ]),
                BTreeSet::new(),
                format!("{}-{}-{zone}", instance.name, subnet.name()),
            ));
        }
        if public {
            public_groups.push((subnet.name().to_string(), ids.clone()));
        }
        subnet_values.insert(subnet.name().to_string(), Value::Array(ids));
    }
    let mut value = json!({
        "id": network_id,
        "cidr": cidr,
        "name": instance.name,
        "subnet": subnet_values,
    });
    if !public_groups.is_empty() {
        let gateway_id = Value::String(reference(&gateway, "id"));
        built.resources.push(instance.produced(
            gateway.clone(),
            Kind::InternetGateway,
            attributes(vec![("network_id", network_id.clone())]),
            BTreeSet::new(),
            instance.name.clone(),
        ));
        for (subnet, ids) in public_groups {
            built.resources.push(instance.produced(
                Address::new(format!(
                    "{}.route_table.{subnet}[{}]",
                    instance.address_base, instance.region.name
                )),
                Kind::RouteTable,
                attributes(vec![
                    ("network_id", network_id.clone()),
                    (
                        "routes",
                        json!([{ "cidr": "0.0.0.0/0", "gateway_id": gateway_id.clone() }]),
                    ),
                    ("subnet_ids", Value::Array(ids)),
                ]),
                BTreeSet::new(),
                format!("{}-{subnet}", instance.name),
            ));
        }
        if let Some(object) = value.as_object_mut() {
            object.insert("gateway_id".to_string(), gateway_id);
        }
    }
    built.value = value;
    Some(built)
}

/// Port range of a rule: `443` → 443/443, `"8080-8081"` → 8080/8081; `all` and ICMP without
/// ports → -1/-1 as AWS writes them.
fn ports(instance: &Instance<'_>, rule: &BlockDef, protocol: &str) -> Option<(i64, i64)> {
    let Some((value, attr)) = instance.value(rule, "ports") else {
        if rule.attribute("ports").is_some() {
            return None;
        }
        return match protocol {
            "all" | "icmp" => Some((-1, -1)),
            _ => {
                instance.problem(
                    Diagnostic::at(
                        instance.sources,
                        rule.ident_span,
                        format!("a `{protocol}` rule needs `ports`"),
                    )
                    .hint("add `ports = 443` or `ports = \"8000-8100\"`"),
                );
                None
            }
        };
    };
    if protocol == "all" {
        return Some((-1, -1));
    }
    let expected = "a port number or a range such as `\"8080-8081\"`";
    let parsed = match &value {
        Value::Number(number) => number.as_i64().map(|port| (port, port)),
        Value::String(text) => match text.split_once('-') {
            Some((from, to)) => from.trim().parse().ok().zip(to.trim().parse().ok()),
            None => text.trim().parse().ok().map(|port| (port, port)),
        },
        _ => None,
    };
    match parsed {
        Some((from, to)) if (0..=65535).contains(&from) && (from..=65535).contains(&to) => {
            Some((from, to))
        }
        _ => {
            instance.problem(eval::wrong_type(instance.sources, attr, &value, expected));
            None
        }
    }
}

/// One rule block → normalised rules, one per source (`from`) or destination (`to`).
fn rules(instance: &Instance<'_>, ident: &str, peer: &str) -> Option<Vec<Value>> {
    let mut out = Vec::new();
    for rule in instance.block.blocks_named(ident) {
        let Some((protocol_value, protocol_attr)) = instance.value(rule, "protocol") else {
            continue;
        };
        let protocol = match protocol_value.as_str() {
            Some(text @ ("tcp" | "udp" | "icmp" | "all")) => text.to_string(),
            _ => {
                instance.problem(eval::wrong_type(
                    instance.sources,
                    protocol_attr,
                    &protocol_value,
                    "`\"tcp\"`, `\"udp\"`, `\"icmp\"` or `\"all\"`",
                ));
                continue;
            }
        };
        let Some((from_port, to_port)) = ports(instance, rule, &protocol) else {
            continue;
        };
        let Some((peers, peers_attr)) = instance.value(rule, peer) else {
            continue;
        };
        let expected = "a list of CIDR blocks or firewalls";
        let Some(items) = peers.as_array() else {
            instance.problem(eval::wrong_type(
                instance.sources,
                peers_attr,
                &peers,
                expected,
            ));
            continue;
        };
        for item in items {
            let Some(text) = instance.id_from(peers_attr, item, &peers, expected) else {
                continue;
            };
            let is_reference =
                references_in(&Value::String(text.clone())).len() == 1 && text.starts_with('\u{1}');
            let mut entry = json!({
                "protocol": protocol,
                "from_port": from_port,
                "to_port": to_port,
            });
            let key = if is_reference || text.starts_with("sg-") {
                "source_group_id"
            } else {
                if text.parse::<ipnet::IpNet>().is_err() {
                    instance.problem(
                        Diagnostic::at(instance.sources, peers_attr.value_span, format!("invalid CIDR block `{text}`"))
                            .expected("a CIDR block such as `0.0.0.0/0`, or a firewall such as `firewall.web`"),
                    );
                    continue;
                }
                "cidr"
            };
            if let Some(object) = entry.as_object_mut() {
                object.insert(key.to_string(), Value::String(text));
            }
            out.push(entry);
        }
    }
    // Sorted and deduplicated by their JSON text, so that rule order in the source never shows
    // up as a change.
    let mut keyed: Vec<(String, Value)> = out
        .into_iter()
        .map(|rule| (rule.to_string(), rule))
        .collect();
    keyed.sort_by(|left, right| left.0.cmp(&right.0));
    keyed.dedup_by(|left, right| left.0 == right.0);
    Some(keyed.into_iter().map(|(_, rule)| rule).collect())
}

/// `firewall` → a security group. A firewall with no `egress` block gets no egress rules.
fn firewall(instance: &Instance<'_>) -> Option<Built> {
    let block = instance.block;
    let network_id = instance.id(block, "network", "a network such as `network.main`")?;
    let ingress = rules(instance, "ingress", "from")?;
    let egress = rules(instance, "egress", "to")?;
    let address = instance.at(&instance.region.name);
    let description = format!("Managed by Cairn: {}", instance.block_path);
    let produced = instance.produced(
        address.clone(),
        Kind::SecurityGroup,
        attributes(vec![
            ("name", Value::String(instance.name.clone())),
            ("description", Value::String(description)),
            ("network_id", Value::String(network_id)),
            ("ingress", Value::Array(ingress)),
            ("egress", Value::Array(egress)),
        ]),
        instance.sensitive(&[
            ("network", "network_id"),
            ("ingress", "ingress"),
            ("egress", "egress"),
        ]),
        instance.name.clone(),
    );
    Some(Built {
        value: json!({ "id": reference(&address, "id"), "name": instance.name }),
        primary: vec![address],
        resources: vec![produced],
        ..Built::default()
    })
}

/// Device names in order: the first volume is the root device.
fn device_name(position: usize) -> String {
    if position == 0 {
        "/dev/xvda".to_string()
    } else {
        let letter = (b'a' + (position as u8 % 26)) as char;
        format!("/dev/xvd{letter}")
    }
}

fn launch_template(instance: &Instance<'_>) -> Option<Built> {
    let block = instance.block;
    let image = instance.string(block, "image");
    let instance_type = instance.string(block, "instance_type");
    let security_group_ids = instance.ids(
        block,
        "firewalls",
        "a list of firewalls such as `[firewall.web]`",
    );
    let user_data = match block.attribute("user_data") {
        Some(_) => instance
            .optional_string(block, "user_data")
            .map_or(Value::Null, Value::String),
        None => Value::Null,
    };
    // `"required"` turns off IMDSv1 (the instance metadata service answers only requests with
    // a session token); `"optional"`, AWS's default, is kept as null so that templates written
    // before the attribute existed plan no change.
    let http_tokens = match instance.value(block, "http_tokens") {
        None | Some((Value::Null, _)) => Value::Null,
        Some((Value::String(text), _)) if text == "optional" => Value::Null,
        Some((Value::String(text), _)) if text == "required" => Value::String(text),
        Some((value, attr)) => {
            instance.problem(eval::wrong_type(
                instance.sources,
                attr,
                &value,
                "`\"required\"` (IMDSv2 only) or `\"optional\"` (IMDSv1 allowed)",
            ));
            Value::Null
        }
    };
    let mut volumes = Vec::new();
    for (position, volume) in block.blocks_named("volume").enumerate() {
        let size = instance.count(volume, "size_gb");
        let encrypted = instance.flag(volume, "encrypted", false);
        let device = match volume.attribute("device") {
            Some(_) => instance.string(volume, "device"),
            None => Some(device_name(position)),
        };
        if let (Some(size), Some(device)) = (size, device) {
            volumes.push(json!({ "device": device, "size_gb": size, "encrypted": encrypted }));
        }
    }
    let (image, instance_type, security_group_ids) = (image?, instance_type?, security_group_ids?);
    let address = instance.at(&instance.region.name);
    let produced = instance.produced(
        address.clone(),
        Kind::LaunchTemplate,
        attributes(vec![
            ("name", Value::String(instance.name.clone())),
            ("image", Value::String(image)),
            ("instance_type", Value::String(instance_type)),
            ("security_group_ids", Value::Array(security_group_ids)),
            ("user_data", user_data),
            ("http_tokens", http_tokens),
            ("volumes", Value::Array(volumes)),
        ]),
        instance.sensitive(&[
            ("image", "image"),
            ("instance_type", "instance_type"),
            ("firewalls", "security_group_ids"),
            ("user_data", "user_data"),
            ("volume", "volumes"),
        ]),
        instance.name.clone(),
    );
    Some(Built {
        value: json!({
            "id": reference(&address, "id"),
            "latest_version": reference(&address, "latest_version"),
            "name": instance.name,
        }),
        primary: vec![address],
        resources: vec![produced],
        ..Built::default()
    })
}

fn autoscaling(instance: &Instance<'_>) -> Option<Built> {
    let block = instance.block;
    let template_id = instance.id(
        block,
        "template",
        "a launch template such as `launch_template.web`",
    );
    let subnet_ids = instance.ids(
        block,
        "subnets",
        "a list of subnets such as `network.main.subnet.public`",
    );
    let min = instance.count(block, "min");
    let max = instance.count(block, "max");
    let desired = match block.attribute("desired") {
        Some(_) => instance.count(block, "desired"),
        None => min,
    };
    let (template_id, subnet_ids, min, max, desired) =
        (template_id?, subnet_ids?, min?, max?, desired?);
    if !(min <= desired && desired <= max) {
        let span = block
            .attribute("desired")
            .or(block.attribute("max"))?
            .value_span;
        instance.problem(
            Diagnostic::at(
                instance.sources,
                span,
                format!("`{}` needs min <= desired <= max", block.display()),
            )
            .expected(format!(
                "a size between {min} and {max}, found min {min}, desired {desired}, max {max}"
            )),
        );
        return None;
    }
    if subnet_ids.is_empty() {
        let attr = block.attribute("subnets")?;
        instance.problem(Diagnostic::at(
            instance.sources,
            attr.value_span,
            "an autoscaling group needs at least one subnet",
        ));
        return None;
    }
    let template_version = match references_in(&Value::String(template_id.clone())).first() {
        Some(found) => Value::String(reference(&found.address, "latest_version")),
        None => Value::String("$Latest".to_string()),
    };
    let address = instance.at(&instance.region.name);
    let group_id = Value::String(reference(&address, "id"));
    let mut built = Built {
        primary: vec![address.clone()],
        value: json!({ "id": group_id, "name": instance.name, "min": min, "max": max, "desired": desired }),
        ..Built::default()
    };
    built.resources.push(instance.produced(
        address.clone(),
        Kind::AutoscalingGroup,
        attributes(vec![
            ("name", Value::String(instance.name.clone())),
            ("launch_template_id", Value::String(template_id)),
            ("launch_template_version", template_version),
            ("subnet_ids", Value::Array(subnet_ids)),
            ("min", json!(min)),
            ("max", json!(max)),
            ("desired", json!(desired)),
        ]),
        instance.sensitive(&[
            ("template", "launch_template_id"),
            ("subnets", "subnet_ids"),
            ("min", "min"),
            ("max", "max"),
            ("desired", "desired"),
        ]),
        instance.name.clone(),
    ));
    for scaling in block.blocks_named("scaling") {
        let Some(target) = instance.count(scaling, "target_cpu") else {
            continue;
        };
        if !(1..=100).contains(&target) {
            if let Some(attr) = scaling.attribute("target_cpu") {
                instance.problem(
                    Diagnostic::at(
                        instance.sources,
                        attr.value_span,
                        "`target_cpu` is a percentage",
                    )
                    .expected(format!("a number from 1 to 100, found {target}")),
                );
            }
            continue;
        }
        let name = format!("{}-{}", instance.name, scaling.name());
        built.resources.push(instance.produced(
            Address::new(format!(
                "{}.scaling.{}[{}]",
                instance.address_base,
                scaling.name(),
                instance.region.name
            )),
            Kind::ScalingPolicy,
            attributes(vec![
                ("name", Value::String(name.clone())),
                ("group_name", group_id.clone()),
                ("target_cpu", json!(target)),
            ]),
            BTreeSet::new(),
            name,
        ));
    }
    if let Some(rollout) = block.blocks_named("rollout").next() {
        let strategy = match instance.value(rollout, "strategy") {
            Some((Value::String(text), _)) if text == "rolling" => Some(RolloutStrategy::Rolling),
            Some((Value::String(text), _)) if text == "canary" => Some(RolloutStrategy::Canary),
            Some((Value::String(text), _)) if text == "all_at_once" => {
                Some(RolloutStrategy::AllAtOnce)
            }
            Some((value, attr)) => {
                instance.problem(eval::wrong_type(
                    instance.sources,
                    attr,
                    &value,
                    "`\"rolling\"`, `\"canary\"` or `\"all_at_once\"`",
                ));
                None
            }
            None => None,
        };
        let checkpoints = match instance.value(rollout, "checkpoints") {
            None => Some(vec![100]),
            Some((value, attr)) => {
                let parsed: Option<Vec<u32>> = value.as_array().and_then(|items| {
                    items
                        .iter()
                        .map(|item| item.as_u64().and_then(|n| u32::try_from(n).ok()))
                        .collect()
                });
                match parsed {
                    Some(list)
                        if !list.is_empty()
                            && list.windows(2).all(|pair| pair[0] < pair[1])
                            && list.last() == Some(&100) =>
                    {
                        Some(list)
                    }
                    _ => {
                        instance.problem(eval::wrong_type(
                            instance.sources,
                            attr,
                            &value,
                            "rising percentages ending at 100, such as `[10, 50, 100]`",
                        ));
                        None
                    }
                }
            }
        };
        let min_healthy = match rollout.attribute("min_healthy") {
            None => Some(90),
            Some(attr) => instance.count(rollout, "min_healthy").and_then(|value| {
                if value <= 100 {
                    Some(value as u32)
                } else {
                    instance.problem(
                        Diagnostic::at(
                            instance.sources,
                            attr.value_span,
                            "`min_healthy` is a percentage",
                        )
                        .expected(format!("a number from 0 to 100, found {value}")),
                    );
                    None
                }
            }),
        };
        if let (Some(strategy), Some(checkpoints), Some(min_healthy)) =
            (strategy, checkpoints, min_healthy)
        {
            built.rollout = Some((
                address,
                RolloutSpec {
                    strategy,
                    checkpoints,
                    min_healthy,
                    source: instance.sources.location(rollout.ident_span),
                },
            ));
        }
    }
    Some(built)
}

/// A zone value, mapped to the override region's zone at the same position during a drill.
fn zone(instance: &Instance<'_>, block: &BlockDef, name: &str) -> Option<String> {
    let zone = instance.string(block, name)?;
    let zone = instance.zone_map.get(&zone).cloned().unwrap_or(zone);
    if instance.region.zones.contains(&zone) {
        return Some(zone);
    }
    let attr = block.attribute(name)?;
    instance.problem(
        Diagnostic::at(
            instance.sources,
            attr.value_span,
            format!(
                "zone `{zone}` is not a zone of region `{}`",
                instance.region.name
            ),
        )
        .expected(format!("one of {:?}", instance.region.zones))
        .hint("use `region.zones[0]` to pick a zone of whichever region the block is in"),
    );
    None
}

fn volume(instance: &Instance<'_>) -> Option<Built> {
    let block = instance.block;
    let zone = zone(instance, block, "zone");
    let size = instance.count(block, "size_gb");
    let encrypted = instance.flag(block, "encrypted", false);
    let volume_type = match block.attribute("type") {
        Some(_) => instance.string(block, "type"),
        None => Some("gp3".to_string()),
    };
    let snapshot = match block.attribute("snapshot") {
        Some(_) => instance
            .optional_string(block, "snapshot")
            .map_or(Value::Null, Value::String),
        None => Value::Null,
    };
    let (zone, size, volume_type) = (zone?, size?, volume_type?);
    let address = instance.at(&instance.region.name);
    let produced = instance.produced(
        address.clone(),
        Kind::Volume,
        attributes(vec![
            ("zone", Value::String(zone.clone())),
            ("size_gb", json!(size)),
            ("encrypted", Value::Bool(encrypted)),
            ("volume_type", Value::String(volume_type)),
            ("snapshot_id", snapshot),
        ]),
        instance.sensitive(&[("snapshot", "snapshot_id")]),
        instance.name.clone(),
    );
    Some(Built {
        value: json!({ "id": reference(&address, "id"), "zone": zone, "size_gb": size, "name": instance.name }),
        primary: vec![address],
        resources: vec![produced],
        ..Built::default()
    })
}

fn server(instance: &Instance<'_>) -> Option<Built> {
    let block = instance.block;
    let image = instance.string(block, "image");
    let instance_type = instance.string(block, "instance_type");
    let subnet_id = instance.id(
        block,
        "subnet",
        "a subnet id such as `network.main.subnet.public[0]`",
    );
    let security_group_ids = instance.ids(
        block,
        "firewalls",
        "a list of firewalls such as `[firewall.web]`",
    );
    let (image, instance_type, subnet_id, security_group_ids) =
        (image?, instance_type?, subnet_id?, security_group_ids?);
    let address = instance.at(&instance.region.name);
    let produced = instance.produced(
        address.clone(),
        Kind::Instance,
        attributes(vec![
            ("image", Value::String(image)),
            ("instance_type", Value::String(instance_type)),
            ("subnet_id", Value::String(subnet_id)),
            ("security_group_ids", Value::Array(security_group_ids)),
        ]),
        instance.sensitive(&[
            ("image", "image"),
            ("instance_type", "instance_type"),
            ("subnet", "subnet_id"),
            ("firewalls", "security_group_ids"),
        ]),
        instance.name.clone(),
    );
    Some(Built {
        value: json!({
            "id": reference(&address, "id"),
            "private_ip": reference(&address, "private_ip"),
            "name": instance.name,
        }),
        primary: vec![address],
        resources: vec![produced],
        ..Built::default()
    })
}

fn backup_policy(instance: &Instance<'_>) -> Option<Built> {
    let block = instance.block;
    let select = match block.attribute("select") {
        Some(_) => instance.typed(block, "select", eval::as_tags),
        None => Some(Tags::new()),
    };
    let volumes: Option<Vec<Address>> = instance
        .ids(
            block,
            "volumes",
            "a list of volumes such as `[volume.data]`",
        )
        .map(|ids| {
            ids.iter()
                .flat_map(|id| references_in(id).into_iter().map(|found| found.address))
                .collect()
        });
    if block.attribute("select").is_none() && block.attribute("volumes").is_none() {
        instance.problem(
            Diagnostic::at(instance.sources, block.label_span, format!("`{}` selects no volumes", block.display()))
                .hint("add `select = { tier = \"data\" }` (volumes with these tags) or `volumes = [volume.NAME]`"),
        );
    }
    let every = match instance.value(block, "every") {
        Some((Value::String(text), attr)) => match humantime::parse_duration(&text) {
            Ok(duration) if duration.as_secs() > 0 => Some(duration.as_secs()),
            _ => {
                instance.problem(
                    Diagnostic::at(
                        instance.sources,
                        attr.value_span,
                        format!("invalid duration `{text}`"),
                    )
                    .expected("a duration such as `\"24h\"`, `\"30m\"` or `\"7d\"`"),
                );
                None
            }
        },
        Some((value, attr)) => {
            instance.problem(eval::wrong_type(
                instance.sources,
                attr,
                &value,
                "a duration such as `\"24h\"`",
            ));
            None
        }
        None => None,
    };
    let retain = instance.count(block, "retain");
    let copy_to = match block.attribute("copy_to") {
        Some(_) => instance.optional_string(block, "copy_to"),
        None => None,
    };
    let (select, volumes, every_seconds, retain) = (select?, volumes?, every?, retain?);
    Some(Built {
        value: json!({ "name": instance.short_name }),
        policy: Some(BackupPolicySpec {
            name: instance.short_name.clone(),
            select,
            volumes,
            every_seconds,
            retain: u32::try_from(retain).unwrap_or(u32::MAX),
            copy_to,
            source: instance.sources.location(block.label_span),
        }),
        ..Built::default()
    })
}
