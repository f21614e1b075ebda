//! `firewall` → a security group, its `ingress` and `egress` blocks normalised into rules of
//! one source or destination each. `firewall.NAME` is `{id, name, ingress}`.

use super::{Built, Instance, attributes};
use crate::config::diagnostics::Diagnostic;
use crate::config::eval;
use crate::config::tree::BlockDef;
use crate::model::cloud::is_id_of;
use crate::model::{Kind, Value, limits, reference, references_in};
use serde_json::json;

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
    let expected = "a port from 0 to 65535 or a rising range such as `\"8080-8081\"`";
    let parsed = match &value {
        Value::Number(number) => number.as_i64().map(|port| (port, port)),
        Value::String(text) => match text.split_once('-') {
            Some((from, to)) => from.trim().parse().ok().zip(to.trim().parse().ok()),
            None => text.trim().parse().ok().map(|port| (port, port)),
        },
        _ => None,
    };
    match parsed {
        Some((from, to))
            if limits::PORTS.contains(&from) && (from..=*limits::PORTS.end()).contains(&to) =>
        {
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
            let key = if is_reference || is_id_of(Kind::SecurityGroup, &text) {
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
pub(super) fn build(instance: &Instance<'_>) -> Option<Built> {
    let block = instance.block;
    let network_id = instance.id(block, "network", "a network such as `network.main`")?;
    super::limits::check_name(instance, Kind::SecurityGroup)?;
    let ingress = rules(instance, "ingress", "from")?;
    let egress = rules(instance, "egress", "to")?;
    let address = instance.at(&instance.region.name);
    let description = format!("Managed by Cairn: {}", instance.created_as);
    let produced = instance.produced(
        address.clone(),
        Kind::SecurityGroup,
        attributes(vec![
            ("name", Value::String(instance.name.clone())),
            ("description", Value::String(description)),
            ("network_id", Value::String(network_id)),
            ("ingress", Value::Array(ingress.clone())),
            ("egress", Value::Array(egress)),
        ]),
        instance.sensitive(&[
            ("network", "network_id"),
            ("ingress", "ingress"),
            ("egress", "egress"),
        ]),
        instance.name.clone(),
    );
    Some(Built::one(
        produced,
        // The rules are in the value so that a load balancer can check that its firewalls
        // admit its listeners' ports.
        json!({ "id": reference(&address, "id"), "name": instance.name, "ingress": ingress }),
    ))
}
