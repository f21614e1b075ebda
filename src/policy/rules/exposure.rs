//! What the internet can reach: world-open ingress (CAIRN001–003), instance metadata v1
//! (CAIRN005), instances in public subnets (CAIRN006) and rules admitting a whole network
//! (CAIRN015).

use super::super::catalog::{
    INSTANCE_METADATA_V1, NETWORK_CIDR_RULE, PUBLIC_SUBNET, WORLD_OPEN_ALL_PORTS, WORLD_OPEN_RDP,
    WORLD_OPEN_SSH,
};
use super::super::context::Context;
use super::super::finding::Finding;
use super::super::locate::Part;
use crate::config::tree::BlockDef;
use crate::model::{DesiredResource, Kind, Value};
use ipnet::IpNet;

/// One ingress rule of a security group, as the model writes it.
struct IngressRule<'v> {
    protocol: &'v str,
    from_port: i64,
    to_port: i64,
    cidr: Option<IpNet>,
    json: &'v Value,
}

fn ingress_rules(group: &DesiredResource) -> Vec<IngressRule<'_>> {
    let Some(Value::Array(rules)) = group.attributes.get("ingress") else {
        return Vec::new();
    };
    rules
        .iter()
        .filter_map(|rule| {
            Some(IngressRule {
                protocol: rule.get("protocol")?.as_str()?,
                from_port: rule.get("from_port")?.as_i64()?,
                to_port: rule.get("to_port")?.as_i64()?,
                cidr: rule
                    .get("cidr")
                    .and_then(Value::as_str)
                    .and_then(|text| text.parse().ok()),
                json: rule,
            })
        })
        .collect()
}

impl IngressRule<'_> {
    fn all_ports(&self) -> bool {
        self.protocol == "all"
            || (matches!(self.protocol, "tcp" | "udp")
                && self.from_port <= 0
                && self.to_port >= 65535)
    }

    fn covers(&self, protocols: &[&str], port: i64) -> bool {
        protocols.contains(&self.protocol) && self.from_port <= port && port <= self.to_port
    }

    fn ports_text(&self) -> String {
        if self.from_port == self.to_port {
            format!("{} {}", self.protocol, self.from_port)
        } else {
            format!("{} {}-{}", self.protocol, self.from_port, self.to_port)
        }
    }
}

/// CAIRN001–003: ingress from 0.0.0.0/0 or ::/0 to SSH, RDP, or every port.
pub fn world_open_ingress(context: &Context<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for group in context.of_kind(Kind::SecurityGroup) {
        let name = group.address.block_path();
        for rule in ingress_rules(group) {
            let Some(cidr) = rule.cidr.filter(|cidr| cidr.prefix_len() == 0) else {
                continue;
            };
            let (id, what) = if rule.all_ports() {
                (
                    WORLD_OPEN_ALL_PORTS,
                    format!("every port ({})", rule.protocol),
                )
            } else if rule.covers(&["tcp"], 22) {
                (WORLD_OPEN_SSH, format!("SSH ({})", rule.ports_text()))
            } else if rule.covers(&["tcp", "udp"], 3389) {
                (WORLD_OPEN_RDP, format!("RDP ({})", rule.ports_text()))
            } else {
                continue;
            };
            let message = format!("`{name}` admits {what} from anywhere (`{cidr}`)");
            findings.push(at_ingress(context, group, &rule, id, message));
        }
    }
    findings
}

/// CAIRN015: an ingress rule whose CIDR is exactly a network's address range.
pub fn network_cidr_rules(context: &Context<'_>) -> Vec<Finding> {
    let networks: Vec<(IpNet, &str)> = context
        .of_kind(Kind::Network)
        .filter_map(|network| {
            let cidr = network.attributes.get("cidr")?.as_str()?.parse().ok()?;
            Some((cidr, network.address.block_path()))
        })
        .collect();
    let mut findings = Vec::new();
    for group in context.of_kind(Kind::SecurityGroup) {
        for rule in ingress_rules(group) {
            let Some(cidr) = rule.cidr.filter(|cidr| cidr.prefix_len() > 0) else {
                continue;
            };
            let Some((_, network)) = networks.iter().find(|(range, _)| *range == cidr) else {
                continue;
            };
            let message = format!(
                "`{}` admits `{cidr}`, the whole of `{network}`",
                group.address.block_path()
            );
            findings.push(at_ingress(
                context,
                group,
                &rule,
                NETWORK_CIDR_RULE,
                message,
            ));
        }
    }
    findings
}

/// A finding of `rule_id` placed at the `ingress` block that wrote `rule`.
fn at_ingress(
    context: &Context<'_>,
    group: &DesiredResource,
    rule: &IngressRule<'_>,
    rule_id: &'static str,
    message: String,
) -> Finding {
    let finding = Finding::new(rule_id, message, group.address.clone());
    let index = ingress_block(context, group, rule);
    context
        .locator
        .place(finding, &group.address, Part::Nested("ingress", index))
}

/// Which `ingress` block of the firewall most likely wrote `rule`: the first whose literal
/// protocol, ports and sources agree with it. Values from variables cannot be compared
/// without evaluating again, so a block that does not contradict the rule is a candidate, and
/// one whose literals match it wins.
fn ingress_block(context: &Context<'_>, group: &DesiredResource, rule: &IngressRule<'_>) -> usize {
    let Some(origin) = context.locator.origin(&group.address) else {
        return 0;
    };
    let mut best: Option<(i32, usize)> = None;
    for (index, block) in origin.block.blocks_named("ingress").enumerate() {
        let Some(score) = agreement(block, rule) else {
            continue;
        };
        if best.is_none_or(|(top, _)| score > top) {
            best = Some((score, index));
        }
    }
    best.map_or(0, |(_, index)| index)
}

/// How well an `ingress` block's literals agree with a rule; `None` when they contradict it.
fn agreement(block: &BlockDef, rule: &IngressRule<'_>) -> Option<i32> {
    let mut score = 0;
    if let Some(hcl::Expression::String(protocol)) = block.attribute("protocol").map(|a| &a.expr) {
        if protocol != rule.protocol {
            return None;
        }
        score += 1;
    }
    let ports = block.attribute("ports").map(|attr| &attr.expr);
    let literal_ports = match ports {
        Some(hcl::Expression::Number(number)) => number.as_i64().map(|port| (port, port)),
        Some(hcl::Expression::String(text)) => match text.split_once('-') {
            Some((from, to)) => from.trim().parse().ok().zip(to.trim().parse().ok()),
            None => text.trim().parse().ok().map(|port| (port, port)),
        },
        _ => None,
    };
    if rule.protocol != "all"
        && let Some((from, to)) = literal_ports
    {
        if (from, to) != (rule.from_port, rule.to_port) {
            return None;
        }
        score += 2;
    }
    let wanted = rule.json.get("cidr").and_then(Value::as_str);
    if let (Some(wanted), Some(hcl::Expression::Array(items))) =
        (wanted, block.attribute("from").map(|attr| &attr.expr))
    {
        let literals: Vec<&str> = items
            .iter()
            .filter_map(|item| match item {
                hcl::Expression::String(text) => Some(text.as_str()),
                _ => None,
            })
            .collect();
        if literals.contains(&wanted) {
            score += 2;
        } else if literals.len() == items.len() {
            return None;
        }
    }
    Some(score)
}

/// CAIRN005: a launch template that does not require IMDSv2 session tokens.
pub fn instance_metadata_v1(context: &Context<'_>) -> Vec<Finding> {
    context
        .of_kind(Kind::LaunchTemplate)
        .filter(|template| {
            template
                .attributes
                .get("http_tokens")
                .and_then(Value::as_str)
                != Some("required")
        })
        .map(|template| {
            let finding = Finding::new(
                INSTANCE_METADATA_V1,
                format!(
                    "`{}` lets instances answer IMDSv1 requests",
                    template.address.block_path()
                ),
                template.address.clone(),
            );
            context
                .locator
                .place(finding, &template.address, Part::Attribute("http_tokens"))
        })
        .collect()
}

/// Whether a group receives its traffic through a load balancer (its instances are
/// registered in a target group), so that users reach it through the balancer.
pub(super) fn behind_load_balancer(group: &DesiredResource) -> bool {
    group
        .attributes
        .get("target_group_ids")
        .and_then(Value::as_array)
        .is_some_and(|groups| !groups.is_empty())
}

/// CAIRN006: groups (not behind a load balancer) and instances placed in public subnets.
pub fn public_subnets(context: &Context<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    let public = |subnet: &DesiredResource| {
        subnet.attributes.get("public").and_then(Value::as_bool) == Some(true)
    };
    for group in context.of_kind(Kind::AutoscalingGroup) {
        if behind_load_balancer(group) {
            continue;
        }
        let subnets = context.targets(group, "subnet_ids");
        let mut names: Vec<&str> = subnets
            .iter()
            .filter(|subnet| public(subnet))
            .map(|subnet| subnet.address.block_path())
            .collect();
        names.dedup();
        if names.is_empty() {
            continue;
        }
        let finding = Finding::new(
            PUBLIC_SUBNET,
            format!(
                "`{}` places its instances in public subnets (`{}`) with no load balancer in front",
                group.address.block_path(),
                names.join("`, `")
            ),
            group.address.clone(),
        );
        findings.push(
            context
                .locator
                .place(finding, &group.address, Part::Attribute("subnets")),
        );
    }
    for server in context.of_kind(Kind::Instance) {
        let Some(subnet) = server
            .attributes
            .get("subnet_id")
            .and_then(|value| context.target(value))
            .filter(|subnet| public(subnet))
        else {
            continue;
        };
        let finding = Finding::new(
            PUBLIC_SUBNET,
            format!(
                "`{}` runs in the public subnet `{}`",
                server.address.block_path(),
                subnet.address.block_path()
            ),
            server.address.clone(),
        );
        findings.push(
            context
                .locator
                .place(finding, &server.address, Part::Attribute("subnet")),
        );
    }
    findings
}
