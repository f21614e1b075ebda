//! Security groups and their rules.
//!
//! Rules are kept in the contract's shape, one source per rule
//! (`{protocol, from_port, to_port, cidr}` or `{protocol, from_port, to_port, source_group_id}`,
//! each with a `description` when it has one),
//! sorted by protocol, from_port, to_port, cidr, then source group, so that a read returns the
//! same list whatever order the request used. Each rule also gets an `sgr-` id (kept
//! internally, as AWS reports it only through DescribeSecurityGroupRules).
//!
//! AWS rules kept: names are unique per VPC; a rule references only groups of the same VPC;
//! duplicate rules are refused (the same protocol, ports and peer, whatever the
//! descriptions); a description is at most 255 characters of AWS's set; `all` means every port (`-1`); the default group cannot be
//! deleted; a group referenced by another group's rule or used by an instance cannot be
//! deleted.

use super::attributes::{self, cidr};
use super::cloud::{Cloud, Resource};
use super::error::api;
use super::ids::RULE_PREFIX;
use super::network::{CREATED_WITH_VPC, replace_attributes};
use super::operations::Context;
use super::region::SOURCE_GROUP;
use crate::model::{Attributes, Kind, Tags, Value};
use crate::provider::ProviderError;
use serde_json::json;
use std::cmp::Ordering;

/// Internal key: rule (as canonical JSON text) → `sgr-` id.
const RULE_IDS: &str = "rule_ids";

pub fn create(
    cloud: &mut Cloud,
    context: &Context,
    attributes: &Attributes,
    tags: &Tags,
) -> Result<String, ProviderError> {
    let name = attributes::string(attributes, "name")?;
    attributes::string(attributes, "description")?;
    let network_id = attributes::string(attributes, "network_id")?;
    cloud.referenced(context.region, Kind::Network, network_id)?;
    if name.starts_with("sg-") {
        return Err(api(
            "InvalidParameterValue",
            format!("Invalid security group name '{name}': names may not start with 'sg-'"),
        ));
    }
    let duplicate = cloud.region(context.region).is_some_and(|state| {
        state
            .named(Kind::SecurityGroup, name)
            .any(|group| group.text("network_id") == Some(network_id))
    });
    if duplicate {
        return Err(api(
            "InvalidGroup.Duplicate",
            format!("The security group '{name}' already exists for VPC '{network_id}'"),
        ));
    }
    let id = cloud.new_id_for(Kind::SecurityGroup);
    let normalized = normalize_all(cloud, context, network_id, &id, attributes)?;
    let mut group = Resource::new(Kind::SecurityGroup, id.clone(), normalized, tags.clone());
    assign_rule_ids(cloud, &mut group);
    cloud.insert(context.region, group);
    Ok(id)
}

pub fn update(
    cloud: &mut Cloud,
    context: &Context,
    id: &str,
    after: &Attributes,
) -> Result<(), ProviderError> {
    let group = cloud.target(context.region, Kind::SecurityGroup, id)?;
    let network_id = group.text("network_id").unwrap_or_default().to_string();
    let normalized = normalize_all(cloud, context, &network_id, id, after)?;
    let mut group = cloud
        .target(context.region, Kind::SecurityGroup, id)?
        .clone();
    replace_attributes(&mut group, &normalized);
    assign_rule_ids(cloud, &mut group);
    cloud.insert(context.region, group);
    Ok(())
}

pub fn delete(cloud: &mut Cloud, context: &Context, id: &str) -> Result<(), ProviderError> {
    let group = cloud.target(context.region, Kind::SecurityGroup, id)?;
    if group.internal.contains_key(CREATED_WITH_VPC) {
        return Err(api(
            "CannotDelete",
            format!("the specified group: \"{id}\" name: \"default\" cannot be deleted by a user"),
        ));
    }
    // Who still names the group, from the region's lookups rather than a scan.
    let region = cloud.region(context.region);
    let referenced = region
        .into_iter()
        .flat_map(|state| state.referring(SOURCE_GROUP, id))
        .any(|other| other.kind == Kind::SecurityGroup && other.id != id);
    let used = region
        .into_iter()
        .flat_map(|state| state.referring("security_group_ids", id))
        .any(|resource| resource.kind == Kind::Instance);
    let balanced = super::load_balancing::uses(cloud, context.region, "security_group_ids", id);
    if referenced || used || balanced {
        return Err(api(
            "DependencyViolation",
            format!("resource {id} has a dependent object"),
        ));
    }
    cloud.remove_target(context.region, Kind::SecurityGroup, id)
}

fn normalize_all(
    cloud: &Cloud,
    context: &Context,
    network_id: &str,
    own_id: &str,
    attributes: &Attributes,
) -> Result<Attributes, ProviderError> {
    let mut normalized = attributes.clone();
    for direction in ["ingress", "egress"] {
        if attributes
            .get(direction)
            .is_some_and(|value| !value.is_null())
        {
            let rules = normalize_rules(cloud, context, network_id, own_id, attributes, direction)?;
            normalized.insert(direction.to_string(), Value::Array(rules));
        }
    }
    Ok(normalized)
}

fn normalize_rules(
    cloud: &Cloud,
    context: &Context,
    network_id: &str,
    own_id: &str,
    attributes: &Attributes,
    direction: &str,
) -> Result<Vec<Value>, ProviderError> {
    let mut rules = Vec::new();
    for rule in attributes::object_list(attributes, direction)? {
        let rule = normalize_rule(&rule)?;
        if let Some(source) = rule.get("source_group_id").and_then(Value::as_str)
            && source != own_id
        {
            let group = cloud
                .find(context.region, Kind::SecurityGroup, source)
                .ok_or_else(|| {
                    api(
                        "InvalidGroup.NotFound",
                        format!("The security group '{source}' does not exist"),
                    )
                })?;
            if group.text("network_id") != Some(network_id) {
                return Err(api(
                    "InvalidGroup.NotFound",
                    format!(
                        "You have specified two resources that belong to different networks: {own_id} is in {network_id}, {source} is not."
                    ),
                ));
            }
        }
        if rules
            .iter()
            .any(|existing| identity(existing) == identity(&rule))
        {
            return Err(api(
                "InvalidPermission.Duplicate",
                format!("the specified rule {rule} already exists"),
            ));
        }
        rules.push(rule);
    }
    rules.sort_by(compare_rules);
    Ok(rules)
}

/// Checks one rule and puts it in the contract's shape.
fn normalize_rule(rule: &Attributes) -> Result<Value, ProviderError> {
    for key in rule.keys() {
        if ![
            "protocol",
            "from_port",
            "to_port",
            "cidr",
            "source_group_id",
            "description",
        ]
        .contains(&key.as_str())
        {
            return Err(api(
                "InvalidParameterValue",
                format!("Unknown rule field '{key}'"),
            ));
        }
    }
    let protocol = attributes::string(rule, "protocol")?;
    let (from_port, to_port) = match protocol {
        // AWS ignores ports for "all protocols" and reports -1.
        "all" => (-1, -1),
        "tcp" | "udp" => {
            let from = attributes::integer(rule, "from_port")?;
            let to = attributes::integer(rule, "to_port")?;
            if !(0..=65535).contains(&from) || !(0..=65535).contains(&to) || from > to {
                return Err(api(
                    "InvalidParameterValue",
                    format!("Invalid port range {from}-{to} for protocol {protocol}"),
                ));
            }
            (from, to)
        }
        "icmp" => {
            let from = attributes::integer(rule, "from_port")?;
            let to = attributes::integer(rule, "to_port")?;
            if !(-1..=255).contains(&from) || !(-1..=255).contains(&to) {
                return Err(api(
                    "InvalidParameterValue",
                    format!("Invalid ICMP type {from} or code {to}"),
                ));
            }
            (from, to)
        }
        other => {
            return Err(api(
                "InvalidParameterValue",
                format!("Invalid value '{other}' for IP protocol. Unknown protocol."),
            ));
        }
    };
    let block = attributes::optional_string(rule, "cidr")?;
    let source = attributes::optional_string(rule, "source_group_id")?;
    let source_field = match (block, source) {
        (Some(block), None) => {
            cidr(block, "cidrIp")?;
            ("cidr", block)
        }
        (None, Some(group)) => ("source_group_id", group),
        (Some(_), Some(_)) => {
            return Err(api(
                "InvalidParameterCombination",
                "A rule has either a cidr or a source_group_id, not both",
            ));
        }
        (None, None) => {
            return Err(api(
                "MissingParameter",
                "A rule needs a cidr or a source_group_id",
            ));
        }
    };
    let mut normalized = json!({
        "protocol": protocol,
        "from_port": from_port,
        "to_port": to_port,
        source_field.0: source_field.1,
    });
    // Kept only when it says something, as AWS reports a rule without one.
    if let Some(description) = attributes::optional_string(rule, "description")?
        && !description.is_empty()
    {
        crate::model::limits::check_rule_description(description)
            .map_err(|problem| api("InvalidParameterValue", problem))?;
        if let Some(object) = normalized.as_object_mut() {
            object.insert("description".to_string(), json!(description));
        }
    }
    Ok(normalized)
}

/// A rule without its description: AWS keeps one rule per protocol, ports and peer.
fn identity(rule: &Value) -> Value {
    let mut identity = rule.clone();
    if let Some(object) = identity.as_object_mut() {
        object.remove("description");
    }
    identity
}

/// The order rules are reported in: protocol, from_port, to_port, cidr, source group.
pub fn compare_rules(left: &Value, right: &Value) -> Ordering {
    let key = |rule: &Value| {
        (
            rule.get("protocol")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            rule.get("from_port")
                .and_then(Value::as_i64)
                .unwrap_or_default(),
            rule.get("to_port")
                .and_then(Value::as_i64)
                .unwrap_or_default(),
            rule.get("cidr")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            rule.get("source_group_id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        )
    };
    key(left).cmp(&key(right))
}

/// Gives every rule an `sgr-` id, keeping the ids of rules that already had one.
fn assign_rule_ids(cloud: &mut Cloud, group: &mut Resource) {
    let previous = group
        .internal
        .get(RULE_IDS)
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut ids = serde_json::Map::new();
    for direction in ["ingress", "egress"] {
        let rules = group
            .attributes
            .get(direction)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for rule in rules {
            let key = format!("{direction} {rule}");
            let id = previous
                .get(&key)
                .cloned()
                .unwrap_or_else(|| json!(cloud.new_id(RULE_PREFIX)));
            ids.insert(key, id);
        }
    }
    group
        .internal
        .insert(RULE_IDS.to_string(), Value::Object(ids));
}
