//! `load_balancer` → an application load balancer over the subnets it names, its target
//! groups (each with a health check) and one listener per `listener` block, whose default
//! action forwards to the target groups by weight.
//!
//! Without `target_group` blocks the balancer has one target group, `default`, checked by the
//! balancer's own `health_check` block; with them, each target group is checked by its own
//! `health_check`, or the balancer's. A listener forwards to its `forward` weights
//! (`{ blue = 90, green = 10 }`, by target group name) or, when the balancer has one target
//! group, to that one.
//!
//! Checked here, so that `validate` reports them at the source: every listener's port is
//! admitted by an ingress rule of one of the balancer's firewalls (when the firewalls are
//! blocks of the stack), health check paths start with `/`, the subnets are in the network.

use super::read::network_of;
use super::{Built, Instance, attributes};
use crate::config::diagnostics::Diagnostic;
use crate::config::eval;
use crate::config::tree::BlockDef;
use crate::model::cloud::{LOAD_BALANCER_NAME_LIMIT, short_name};
use crate::model::{Address, Kind, Value, reference};
use serde_json::{Map, json};
use std::collections::{BTreeMap, BTreeSet};

/// The target group of a balancer without `target_group` blocks.
pub const DEFAULT_TARGET_GROUP: &str = "default";

/// Protocols an application load balancer listens and forwards with.
const PROTOCOLS: [&str; 2] = ["HTTP", "HTTPS"];

/// A listener as read from its block, before its target groups are known by id.
struct ListenerSpec {
    port: u64,
    protocol: String,
    certificate: Option<String>,
    /// Target group name → weight.
    forward: BTreeMap<String, u64>,
    block_index: usize,
}

pub(super) fn build(instance: &Instance<'_>) -> Option<Built> {
    let block = instance.block;
    let network_id = instance.id(block, "network", "a network such as `network.main`");
    let subnet_ids = instance.ids(
        block,
        "subnets",
        "a list of subnets such as `network.main.subnet.public`",
    );
    let security_group_ids = instance.ids(
        block,
        "firewalls",
        "a list of firewalls such as `[firewall.lb]`",
    );
    let target_port = instance.port(block, "target_port", 80);
    let default_check = match block.blocks_named("health_check").next() {
        Some(check) => health_check(instance, check),
        None => Some(default_health_check()),
    };
    let listeners: Vec<ListenerSpec> = block
        .blocks_named("listener")
        .enumerate()
        .filter_map(|(index, listener)| listener_spec(instance, listener, index))
        .collect();
    // Checked before anything else can stop the build, so it is reported with the rest.
    check_firewalls_admit(instance, &listeners);
    let (network_id, subnet_ids, security_group_ids, target_port, default_check) = (
        network_id?,
        subnet_ids?,
        security_group_ids?,
        target_port?,
        default_check?,
    );
    check_subnets(instance, &network_id, &subnet_ids);

    let address = instance.at(&instance.region.name);
    // An imported balancer keeps its own name (a new one replaces it); the default is made
    // from the stack, environment and block names, cut to what ELB takes.
    let name = match block.attribute("name") {
        Some(_) => super::limits::cloud_name(instance, Kind::LoadBalancer)?,
        None => short_name(&instance.name, LOAD_BALANCER_NAME_LIMIT),
    };
    let mut built = Built {
        primary: vec![address.clone()],
        ..Built::default()
    };
    built.resources.push(instance.produced(
        address.clone(),
        Kind::LoadBalancer,
        attributes(vec![
            ("name", Value::String(name.clone())),
            ("subnet_ids", Value::Array(subnet_ids)),
            ("security_group_ids", Value::Array(security_group_ids)),
        ]),
        instance.sensitive(&[
            ("subnets", "subnet_ids"),
            ("firewalls", "security_group_ids"),
        ]),
        name.clone(),
    ));

    // Target groups: the declared ones, or the default one.
    let declared: Vec<&BlockDef> = block.blocks_named("target_group").collect();
    // Each group: its block name, its cloud name, port, protocol and health check.
    let mut groups: Vec<(String, String, u64, String, Value)> = Vec::new();
    if declared.is_empty() {
        // The default target group takes the balancer's name.
        groups.push((
            DEFAULT_TARGET_GROUP.to_string(),
            name.clone(),
            target_port,
            "HTTP".to_string(),
            default_check.clone(),
        ));
    }
    for group in &declared {
        let port = instance.port(group, "port", target_port);
        let protocol = instance.protocol(group, "protocol");
        let check = match group.blocks_named("health_check").next() {
            Some(check) => health_check(instance, check),
            None => Some(default_check.clone()),
        };
        let cloud_name = target_group_name(instance, group);
        if let (Some(port), Some(protocol), Some(check), Some(cloud_name)) =
            (port, protocol, check, cloud_name)
        {
            groups.push((group.name().to_string(), cloud_name, port, protocol, check));
        }
    }
    let mut group_values = Map::new();
    let mut group_ids = Map::new();
    for (group_name, cloud_name, port, protocol, check) in &groups {
        let group_address = Address::new(format!(
            "{}.target_group.{group_name}[{}]",
            instance.address_base, instance.region.name
        ));
        let mut produced = instance.produced(
            group_address.clone(),
            Kind::TargetGroup,
            attributes(vec![
                ("name", Value::String(cloud_name.clone())),
                ("network_id", Value::String(network_id.clone())),
                ("port", json!(port)),
                ("protocol", Value::String(protocol.clone())),
                ("health_check", check.clone()),
            ]),
            BTreeSet::new(),
            cloud_name.clone(),
        );
        // Deleted before the balancer, and created after it.
        produced.after.insert(address.clone());
        built.resources.push(produced);
        let group_id = Value::String(reference(&group_address, "id"));
        group_ids.insert(group_name.clone(), group_id.clone());
        group_values.insert(
            group_name.clone(),
            json!({
                "id": group_id,
                "name": cloud_name,
                "network_id": network_id,
                "target_group_ids": [group_id],
                "arn_suffix": reference(&group_address, "arn_suffix"),
                "load_balancer_arn_suffix": reference(&address, "arn_suffix"),
            }),
        );
    }

    for listener in &listeners {
        let Some(forward) = forward_of(instance, listener, &group_ids) else {
            continue;
        };
        let mut listener_attributes = attributes(vec![
            ("load_balancer_id", Value::String(reference(&address, "id"))),
            ("port", json!(listener.port)),
            ("protocol", Value::String(listener.protocol.clone())),
            ("forward", Value::Array(forward)),
        ]);
        listener_attributes.insert(
            "certificate".to_string(),
            listener
                .certificate
                .clone()
                .map_or(Value::Null, Value::String),
        );
        built.resources.push(instance.produced(
            Address::new(format!(
                "{}.listener.{}[{}]",
                instance.address_base, listener.port, instance.region.name
            )),
            Kind::Listener,
            listener_attributes,
            BTreeSet::new(),
            format!("{name}-{}", listener.port),
        ));
    }

    let first = listeners.first();
    built.value = json!({
        "id": reference(&address, "id"),
        "name": name,
        "dns_name": reference(&address, "dns_name"),
        "zone_id": reference(&address, "zone_id"),
        "arn_suffix": reference(&address, "arn_suffix"),
        "network_id": network_id,
        "target_group": group_values,
        "target_group_ids": group_ids.values().cloned().collect::<Vec<_>>(),
        "port": first.map(|listener| listener.port),
        "protocol": first.map(|listener| listener.protocol.clone()),
        "health_path": default_check.get("path").cloned().unwrap_or(Value::Null),
    });
    Some(built)
}

/// The cloud name of a `target_group` block: its `name` (an imported group keeps its own, a
/// new one replaces it), else `STACK-ENV-BLOCK-GROUP` cut to what ELB takes. `None` (and a
/// problem) for a name ELB refuses.
fn target_group_name(instance: &Instance<'_>, group: &BlockDef) -> Option<String> {
    let Some(attr) = group.attribute("name") else {
        return Some(short_name(
            &format!("{}-{}", instance.name, group.name()),
            LOAD_BALANCER_NAME_LIMIT,
        ));
    };
    let name = instance.string(group, "name")?;
    match crate::model::limits::check_name(Kind::TargetGroup, &name) {
        Ok(()) => Some(name),
        Err(message) => {
            instance.problem(Diagnostic::at(instance.sources, attr.value_span, message));
            None
        }
    }
}

/// A listener block as written.
fn listener_spec(
    instance: &Instance<'_>,
    listener: &BlockDef,
    block_index: usize,
) -> Option<ListenerSpec> {
    let port = instance.port(listener, "port", 80);
    let protocol = instance.protocol(listener, "protocol");
    let certificate = instance.optional_string(listener, "certificate");
    let forward = match instance.value(listener, "forward") {
        None => Some(BTreeMap::new()),
        Some((value, attr)) => {
            let weights: Option<BTreeMap<String, u64>> = value.as_object().and_then(|map| {
                map.iter()
                    .map(|(name, weight)| {
                        weight
                            .as_u64()
                            .filter(|weight| *weight <= 999)
                            .map(|weight| (name.clone(), weight))
                    })
                    .collect()
            });
            match weights {
                Some(weights) if !weights.is_empty() && weights.values().any(|w| *w > 0) => {
                    Some(weights)
                }
                _ => {
                    instance.problem(eval::wrong_type(
                        instance.sources,
                        attr,
                        &value,
                        "weights by target group name from 0 to 999, not all 0, such as `{ blue = 90, green = 10 }`",
                    ));
                    None
                }
            }
        }
    };
    let (port, protocol, forward) = (port?, protocol?, forward?);
    if protocol == "HTTPS" && certificate.is_none() {
        instance.problem(
            Diagnostic::at(
                instance.sources,
                listener.ident_span,
                "an HTTPS listener needs a `certificate`",
            )
            .hint("add `certificate = \"arn:aws:acm:...\"` (the certificate's ARN)"),
        );
        return None;
    }
    if protocol == "HTTP"
        && let Some(attr) = listener.attribute("certificate")
    {
        instance.problem(
            Diagnostic::at(
                instance.sources,
                attr.key_span,
                "an HTTP listener takes no `certificate`",
            )
            .hint("use `protocol = \"HTTPS\"`, or remove the certificate"),
        );
        return None;
    }
    Some(ListenerSpec {
        port,
        protocol,
        certificate,
        forward,
        block_index,
    })
}

/// The listener's weighted forward by target group id: its `forward` weights, or the only
/// target group at full weight.
fn forward_of(
    instance: &Instance<'_>,
    listener: &ListenerSpec,
    group_ids: &Map<String, Value>,
) -> Option<Vec<Value>> {
    let block = instance
        .block
        .blocks_named("listener")
        .nth(listener.block_index)?;
    if listener.forward.is_empty() {
        if let [(_, only)] = group_ids.iter().collect::<Vec<_>>().as_slice() {
            return Some(vec![json!({ "target_group_id": only, "weight": 100 })]);
        }
        instance.problem(
            Diagnostic::at(
                instance.sources,
                block.ident_span,
                format!(
                    "the listener on port {} has {} target groups to choose from",
                    listener.port,
                    group_ids.len()
                ),
            )
            .hint("say where it sends traffic: `forward = { blue = 100 }`"),
        );
        return None;
    }
    let mut forward = Vec::new();
    for (name, weight) in &listener.forward {
        let Some(id) = group_ids.get(name) else {
            let attr = block.attribute("forward")?;
            let names: Vec<&str> = group_ids.keys().map(String::as_str).collect();
            instance.problem(
                Diagnostic::at(
                    instance.sources,
                    attr.value_span,
                    format!("no target group `{name}` in `{}`", instance.block.display()),
                )
                .expected(format!("one of {}", crate::config::schema::list(&names))),
            );
            return None;
        };
        forward.push(json!({ "target_group_id": id, "weight": weight }));
    }
    Some(forward)
}

/// The health check of a target group as the balancer's `health_check` block (or a target
/// group's) writes it, with AWS's defaults for what it leaves out.
fn health_check(instance: &Instance<'_>, check: &BlockDef) -> Option<Value> {
    let defaults = default_health_check();
    let path = match check.attribute("path") {
        None => Some("/".to_string()),
        Some(attr) => match instance.string(check, "path") {
            Some(path) if path.starts_with('/') => Some(path),
            Some(path) => {
                instance.problem(
                    Diagnostic::at(
                        instance.sources,
                        attr.value_span,
                        format!("health check path `{path}` does not start with `/`"),
                    )
                    .expected("a path from the root of the site, such as `\"/health\"`")
                    .hint(format!("write `\"/{path}\"`")),
                );
                None
            }
            None => None,
        },
    };
    let port = match check.attribute("port") {
        None => Some("traffic-port".to_string()),
        Some(_) => instance
            .port(check, "port", 80)
            .map(|port| port.to_string()),
    };
    let protocol = match check.attribute("protocol") {
        None => Some("HTTP".to_string()),
        Some(_) => instance.protocol(check, "protocol"),
    };
    let interval = match check.attribute("interval") {
        None => defaults["interval"].as_u64(),
        Some(_) => instance.duration(check, "interval", "`\"15s\"`"),
    };
    let timeout = match check.attribute("timeout") {
        None => defaults["timeout"].as_u64(),
        Some(_) => instance.duration(check, "timeout", "`\"5s\"`"),
    };
    let healthy = instance.bounded(check, "healthy", 2..=10, 5);
    let unhealthy = instance.bounded(check, "unhealthy", 2..=10, 2);
    let matcher = match check.attribute("matcher") {
        None => Some("200".to_string()),
        Some(_) => instance.string(check, "matcher"),
    };
    let (path, port, protocol, interval, timeout, healthy, unhealthy, matcher) = (
        path?, port?, protocol?, interval?, timeout?, healthy?, unhealthy?, matcher?,
    );
    if !(5..=300).contains(&interval) || !(2..=120).contains(&timeout) || timeout >= interval {
        let attr = check.attribute("interval").or(check.attribute("timeout"))?;
        instance.problem(
            Diagnostic::at(
                instance.sources,
                attr.value_span,
                "health check timing out of range",
            )
            .expected(format!(
                "an interval from 5 s to 300 s and a timeout from 2 s to 120 s shorter than it, found interval {interval} s and timeout {timeout} s"
            )),
        );
        return None;
    }
    Some(json!({
        "path": path,
        "port": port,
        "protocol": protocol,
        "interval": interval,
        "timeout": timeout,
        "healthy": healthy,
        "unhealthy": unhealthy,
        "matcher": matcher,
    }))
}

/// AWS's health check when none is written: `/` on the traffic port every 30 s.
pub fn default_health_check() -> Value {
    json!({
        "path": "/",
        "port": "traffic-port",
        "protocol": "HTTP",
        "interval": 30,
        "timeout": 5,
        "healthy": 5,
        "unhealthy": 2,
        "matcher": "200",
    })
}

/// Reports subnets outside the balancer's network (when both are references).
fn check_subnets(instance: &Instance<'_>, network_id: &str, subnet_ids: &[Value]) {
    let Some(network) = network_of(network_id) else {
        return;
    };
    for subnet in subnet_ids.iter().filter_map(Value::as_str) {
        if let Some(other) = network_of(subnet)
            && other != network
            && let Some(attr) = instance.block.attribute("subnets")
        {
            instance.problem(
                Diagnostic::at(
                    instance.sources,
                    attr.value_span,
                    format!(
                        "the subnets are in `{other}`, not in the balancer's network `{network}`"
                    ),
                )
                .expected(format!(
                    "subnets of `{network}`, such as `{network}.subnet.public`"
                )),
            );
            return;
        }
    }
}

/// Reports each listener whose port no ingress rule of the balancer's firewalls admits.
/// Only firewalls that are blocks of the stack are known; with a literal id among them,
/// nothing is checked.
fn check_firewalls_admit(instance: &Instance<'_>, listeners: &[ListenerSpec]) {
    let Some(firewalls) = instance.objects(instance.block, "firewalls") else {
        return;
    };
    if firewalls
        .iter()
        .any(|firewall| !firewall.contains_key("ingress"))
    {
        return;
    }
    let admits = |port: u64| {
        firewalls.iter().any(|firewall| {
            firewall["ingress"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|rule| rule_admits(rule, port))
        })
    };
    for listener in listeners {
        if admits(listener.port) {
            continue;
        }
        let Some(block) = instance
            .block
            .blocks_named("listener")
            .nth(listener.block_index)
        else {
            continue;
        };
        let Some(port_attr) = block.attribute("port") else {
            continue;
        };
        let names: Vec<String> = firewalls
            .iter()
            .filter_map(|firewall| firewall.get("name")?.as_str().map(str::to_string))
            .collect();
        instance.problem(
            Diagnostic::at(
                instance.sources,
                port_attr.value_span,
                format!(
                    "no firewall of `{}` admits its listener's port {}",
                    instance.block.display(),
                    listener.port
                ),
            )
            .expected(format!(
                "a firewall in `firewalls` with an ingress rule for tcp port {}",
                listener.port
            ))
            .note(format!("its firewalls are `{}`", names.join("`, `")))
            .hint(format!(
                "add `ingress {{ protocol = \"tcp\", ports = {}, from = [\"0.0.0.0/0\"] }}` to one of them (one attribute a line)",
                listener.port
            )),
        );
    }
}

/// Whether a normalised ingress rule (see `firewall.rs`) admits TCP traffic to `port`.
fn rule_admits(rule: &Value, port: u64) -> bool {
    let protocol = rule["protocol"].as_str().unwrap_or_default();
    let from = rule["from_port"].as_i64().unwrap_or(-2);
    let to = rule["to_port"].as_i64().unwrap_or(-2);
    match protocol {
        "all" => true,
        "tcp" => from <= port as i64 && port as i64 <= to,
        _ => false,
    }
}

impl Instance<'_> {
    /// A port number from 1 to 65535, `default` when absent.
    pub(super) fn port(&self, block: &BlockDef, name: &str, default: u64) -> Option<u64> {
        self.bounded(block, name, 1..=65535, default)
    }

    /// `"HTTP"` or `"HTTPS"` (any case), `HTTP` when absent.
    pub(super) fn protocol(&self, block: &BlockDef, name: &str) -> Option<String> {
        if block.attribute(name).is_none() {
            return Some("HTTP".to_string());
        }
        let (value, attr) = self.value(block, name)?;
        let upper = value.as_str().map(str::to_ascii_uppercase);
        match upper {
            Some(protocol) if PROTOCOLS.contains(&protocol.as_str()) => Some(protocol),
            _ => {
                self.problem(eval::wrong_type(
                    self.sources,
                    attr,
                    &value,
                    "`\"HTTP\"` or `\"HTTPS\"`",
                ));
                None
            }
        }
    }
}
