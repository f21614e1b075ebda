//! The compute and traffic blocks `cairn discover` writes: `launch_template`, `autoscaling`,
//! `load_balancer` (with its target groups and listeners) and `alarm`.
//!
//! Each keeps the object's own cloud name with a `name` attribute when it is not the one the
//! stack would give the block (a new name replaces these objects), and refers to the other
//! objects written here by reference: a group's template and subnets, a balancer's subnets,
//! firewalls and network, a group's target group, an alarm's group or balancer. A listener
//! and a target group are declared by the balancer they belong to; one no balancer written
//! here forwards to, or a listener of a balancer a stack owns, is left out with why.

use super::blocks::{
    Listed, attribute, import_member, import_to, reference_or_id, user_tags, write_tags,
};
use super::hcl::{self, Block};
use super::{Discovered, Naming, identifier};
use crate::graph::{DEFAULT_TARGET_GROUP, default_health_check};
use crate::model::cloud::{LOAD_BALANCER_NAME_LIMIT, short_name};
use crate::model::{Kind, Value};
use crate::provider::LiveResource;
use std::collections::BTreeMap;

/// What a `load_balancer` block declares besides its balancer.
pub(super) struct Balancer<'a> {
    /// The target groups its listeners forward to, with their `target_group` block names
    /// (`None`: the balancer's one default group, which no block declares).
    pub groups: Vec<(Option<String>, &'a LiveResource)>,
    pub listeners: Vec<&'a LiveResource>,
}

/// How the blocks written here refer to traffic objects, besides [`super::blocks`]'s
/// references by id.
#[derive(Default)]
pub(super) struct TrafficReferences {
    /// A target group's id → the expression whose value registers a group in it
    /// (`load_balancer.web` or `load_balancer.web.target_group.blue`).
    pub target_groups: BTreeMap<String, String>,
    /// An ELB metrics dimension (`app/NAME/ID`, `targetgroup/NAME/ID`) → the expression an
    /// alarm watches it by.
    pub dimensions: BTreeMap<String, String>,
}

fn text<'a>(object: &'a LiveResource, name: &str) -> Option<&'a str> {
    attribute(object, name).and_then(Value::as_str)
}

/// The balancers among `names`, each with its listeners and the target groups they forward
/// to; what none declares goes to `left`.
pub(super) fn balancers<'a>(
    names: &[(&'static str, String, &'a LiveResource)],
    listed: &'a Listed,
    references: &mut BTreeMap<String, String>,
    traffic: &mut TrafficReferences,
    left: &mut Vec<(LiveResource, String)>,
) -> BTreeMap<String, Balancer<'a>> {
    let of = |kind: Kind| listed.get(&kind).map(Vec::as_slice).unwrap_or_default();
    let mut found: BTreeMap<String, Balancer<'a>> = BTreeMap::new();
    for (block_type, name, balancer) in names {
        if *block_type != "load_balancer" {
            continue;
        }
        let path = format!("load_balancer.{name}");
        references.insert(balancer.id.clone(), path.clone());
        if let Some(suffix) = text(balancer, "arn_suffix") {
            traffic.dimensions.insert(suffix.to_string(), path.clone());
        }
        let listeners: Vec<&LiveResource> = of(Kind::Listener)
            .iter()
            .filter(|listener| {
                listener.region == balancer.region
                    && text(listener, "load_balancer_id") == Some(balancer.id.as_str())
            })
            .collect();
        let mut group_ids: Vec<&str> = listeners
            .iter()
            .flat_map(|listener| forwarded(listener))
            .map(|(id, _)| id)
            .collect();
        group_ids.sort_unstable();
        group_ids.dedup();
        let members: Vec<&LiveResource> = group_ids
            .iter()
            .filter_map(|id| {
                of(Kind::TargetGroup)
                    .iter()
                    .find(|group| group.id == *id && group.region == balancer.region)
            })
            .collect();
        let balancer_name = text(balancer, "name").unwrap_or_default();
        let default =
            matches!(members.as_slice(), [only] if text(only, "name") == Some(balancer_name));
        let mut groups: Vec<(Option<String>, &LiveResource)> = Vec::new();
        for group in members {
            let block = if default {
                None
            } else {
                let group_name = text(group, "name").unwrap_or(&group.id);
                let base = group_name
                    .strip_prefix(&format!("{balancer_name}-"))
                    .map_or_else(|| identifier(group_name), identifier);
                let mut unique = base.clone();
                let mut counter = 2;
                while groups
                    .iter()
                    .any(|(taken, _)| taken.as_deref() == Some(unique.as_str()))
                {
                    unique = format!("{base}_{counter}");
                    counter += 1;
                }
                Some(unique)
            };
            let (registers, watched) = match &block {
                None => (
                    path.clone(),
                    format!("{path}.target_group.{DEFAULT_TARGET_GROUP}"),
                ),
                Some(block) => {
                    let expression = format!("{path}.target_group.{block}");
                    (expression.clone(), expression)
                }
            };
            traffic
                .target_groups
                .insert(group.id.clone(), registers.clone());
            if let Some(suffix) = text(group, "arn_suffix") {
                traffic.dimensions.insert(suffix.to_string(), watched);
            }
            references.insert(group.id.clone(), registers);
            groups.push((block, group));
        }
        found.insert(balancer.id.clone(), Balancer { groups, listeners });
    }
    // Listeners and target groups belong to their balancer's block.
    for listener in of(Kind::Listener) {
        let balancer = text(listener, "load_balancer_id").unwrap_or_default();
        if !found.contains_key(balancer) {
            left.push((
                listener.clone(),
                format!(
                    "its load balancer `{balancer}` is not declared here (a stack owns it, or `--tag` left it out), and a `load_balancer` block declares its listeners"
                ),
            ));
        }
    }
    for group in of(Kind::TargetGroup) {
        if !traffic.target_groups.contains_key(&group.id) {
            left.push((
                group.clone(),
                "no listener of a load balancer declared here forwards to it, and a `load_balancer` block declares the target groups its listeners forward to".to_string(),
            ));
        }
    }
    found
}

/// A listener's weighted forward: target group ids with their weights.
fn forwarded(listener: &LiveResource) -> Vec<(&str, u64)> {
    attribute(listener, "forward")
        .and_then(Value::as_array)
        .map(|targets| {
            targets
                .iter()
                .filter_map(|target| {
                    Some((
                        target.get("target_group_id")?.as_str()?,
                        target.get("weight").and_then(Value::as_u64).unwrap_or(1),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `name = "..."` when the object's cloud name is not `derived`, the one the block would
/// give it; either way the cloud name, which its `Name` tag defaults to.
fn keep_name(item: &mut Discovered, derived: &str) -> String {
    let own = text(&item.object, "name").unwrap_or(derived).to_string();
    if own != derived {
        item.block.attribute("name", hcl::quoted(&own));
    }
    own
}

/// A list of ids as references where blocks written here declare them: a subnet block's
/// whole list (`network.main.subnet.public`) when the ids are all of its subnets.
fn id_list(references: &BTreeMap<String, String>, ids: &[&str]) -> String {
    let mut written: Vec<String> = ids
        .iter()
        .map(|id| reference_or_id(references, id))
        .collect();
    written.sort();
    let lists: Vec<&str> = written
        .iter()
        .filter_map(|reference| reference.strip_suffix(']')?.rsplit_once('['))
        .map(|(list, _)| list)
        .collect();
    if let [first, rest @ ..] = lists.as_slice()
        && lists.len() == written.len()
        && rest.iter().all(|list| list == first)
    {
        let members = references
            .values()
            .filter(|reference| {
                reference
                    .strip_prefix(*first)
                    .is_some_and(|index| index.starts_with('['))
            })
            .count();
        if members == written.len() {
            return (*first).to_string();
        }
    }
    hcl::list(&written)
}

fn strings(object: &LiveResource, name: &str) -> Vec<String> {
    attribute(object, name)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// `launch_template`: its name, image, type, firewalls, user data, metadata setting, volumes
/// and tags.
pub(super) fn launch_template(
    naming: &Naming,
    item: &mut Discovered,
    references: &BTreeMap<String, String>,
) {
    let display = keep_name(item, &format!("{}{}", naming.prefix, item.name));
    for name in ["image", "instance_type"] {
        if let Some(value) = attribute(&item.object, name) {
            item.block.attribute(name, hcl::value(value));
        }
    }
    let groups = strings(&item.object, "security_group_ids");
    if !groups.is_empty() {
        let ids: Vec<&str> = groups.iter().map(String::as_str).collect();
        item.block.attribute("firewalls", id_list(references, &ids));
    }
    if let Some(user_data) = text(&item.object, "user_data") {
        item.block.attribute("user_data", hcl::quoted(user_data));
    }
    if text(&item.object, "http_tokens") == Some("required") {
        item.block.attribute("http_tokens", hcl::quoted("required"));
    }
    let volumes = attribute(&item.object, "volumes")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (position, volume) in volumes.iter().enumerate() {
        let mut block = Block::new("volume");
        if let Some(size) = volume.get("size_gb") {
            block.attribute("size_gb", hcl::value(size));
        }
        if volume.get("encrypted").and_then(Value::as_bool) == Some(true) {
            block.attribute("encrypted", "true".to_string());
        }
        let device = volume.get("device").and_then(Value::as_str);
        if let Some(device) = device
            && device != crate::model::cloud::device_name(position)
        {
            block.attribute("device", hcl::quoted(device));
        }
        item.block.blocks.push(block);
    }
    write_tags(naming, item, &display);
}

/// `autoscaling`: its name, template (and the version it runs when not the template's
/// latest), subnets, sizes, target groups (`load_balancer` for one, `target_groups` for
/// several) and tags.
pub(super) fn autoscaling(
    naming: &Naming,
    item: &mut Discovered,
    references: &BTreeMap<String, String>,
    traffic: &TrafficReferences,
    listed: &Listed,
) {
    let display = keep_name(item, &format!("{}{}", naming.prefix, item.name));
    let template = text(&item.object, "launch_template_id").unwrap_or_default();
    item.block
        .attribute("template", reference_or_id(references, template));
    let version = attribute(&item.object, "launch_template_version").cloned();
    // Without `template_version` a group runs its template's latest version, or `$Latest`
    // for a template given by id.
    let default = match references.get(template) {
        Some(_) => listed
            .get(&Kind::LaunchTemplate)
            .and_then(|templates| templates.iter().find(|found| found.id == template))
            .and_then(|found| attribute(found, "latest_version").cloned()),
        None => Some(Value::from("$Latest")),
    };
    if let Some(version) = version
        && Some(&version) != default.as_ref()
    {
        item.block
            .attribute("template_version", hcl::value(&version));
    }
    let subnets = strings(&item.object, "subnet_ids");
    let ids: Vec<&str> = subnets.iter().map(String::as_str).collect();
    item.block.attribute("subnets", id_list(references, &ids));
    for name in ["min", "max", "desired"] {
        if let Some(value) = attribute(&item.object, name) {
            item.block.attribute(name, hcl::value(value));
        }
    }
    // Its target-tracking policies, named `GROUP-NAME` as a `scaling` block names them.
    let policies = listed
        .get(&Kind::ScalingPolicy)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|policy| {
            policy.region == item.object.region
                && text(policy, "group_name") == Some(item.object.id.as_str())
        });
    for policy in policies {
        let policy_name = text(policy, "name").unwrap_or_default();
        match policy_name.strip_prefix(&format!("{display}-")) {
            Some(scaling) if !scaling.is_empty() && identifier(scaling) == scaling => {
                let mut block = Block::new(format!("scaling {}", hcl::quoted(scaling)));
                if let Some(target) = attribute(policy, "target_cpu") {
                    block.attribute("target_cpu", hcl::value(target));
                }
                item.block.blocks.push(block);
                let path = format!("autoscaling.{}.scaling.{scaling}", item.name);
                item.imports
                    .push((import_to(naming, &path, &policy.region), policy.clone()));
            }
            _ => item.block.comments.push(format!(
                "Scaling policy `{}` is named `{policy_name}`, and a `scaling` block names its policy `{display}-NAME`: it is left as it is, unmanaged.",
                policy.id
            )),
        }
    }
    let target_groups = strings(&item.object, "target_group_ids");
    let registered = match target_groups.as_slice() {
        [] => false,
        [group] => match traffic.target_groups.get(group) {
            Some(expression) => {
                item.block.attribute("load_balancer", expression.clone());
                true
            }
            None => {
                item.block.comments.push(format!(
                    "Group `{}` registers its instances in target group `{group}`, which no `load_balancer` block here declares: the plan stops registering them, an update.",
                    item.object.id
                ));
                false
            }
        },
        several => {
            let expressions: Option<Vec<String>> = several
                .iter()
                .map(|group| traffic.target_groups.get(group).cloned())
                .collect();
            match expressions {
                Some(mut expressions) => {
                    expressions.sort();
                    item.block
                        .attribute("target_groups", hcl::list(&expressions));
                    true
                }
                None => {
                    item.block.comments.push(format!(
                        "Group `{}` registers its instances in {} target groups, not all of which a `load_balancer` block here declares: the plan stops registering them, an update.",
                        item.object.id,
                        several.len()
                    ));
                    false
                }
            }
        }
    };
    let expected = if registered { "ELB" } else { "EC2" };
    if let Some(found) = text(&item.object, "health_check_type")
        && found != expected
    {
        item.block.comments.push(format!(
            "Group `{}` checks health by `{found}`; the block's is `{expected}` (`ELB` behind a load balancer): the plan changes it, an update.",
            item.object.id
        ));
    }
    write_tags(naming, item, &display);
}

/// `load_balancer`: its name, network, subnets and firewalls, its target groups (the default
/// one as the block's own `target_port` and `health_check`) and listeners, and tags.
pub(super) fn load_balancer(
    naming: &Naming,
    item: &mut Discovered,
    parts: &Balancer<'_>,
    references: &BTreeMap<String, String>,
    listed: &Listed,
) {
    let own_name = format!("{}{}", naming.prefix, item.name);
    let display = keep_name(item, &short_name(&own_name, LOAD_BALANCER_NAME_LIMIT));
    let subnets = strings(&item.object, "subnet_ids");
    // A balancer's network is its subnets' (or its target groups').
    let network = subnets
        .iter()
        .find_map(|id| {
            listed
                .get(&Kind::Subnet)?
                .iter()
                .find(|subnet| subnet.id == *id)
                .and_then(|subnet| text(subnet, "network_id"))
        })
        .or_else(|| {
            parts
                .groups
                .iter()
                .find_map(|(_, group)| text(group, "network_id"))
        });
    match network {
        Some(network) => item
            .block
            .attribute("network", reference_or_id(references, network)),
        None => item.block.comments.push(format!(
            "The network of balancer `{}` is not known (its subnets are not listed): write its `network`.",
            item.object.id
        )),
    }
    let ids: Vec<&str> = subnets.iter().map(String::as_str).collect();
    item.block.attribute("subnets", id_list(references, &ids));
    let firewalls = strings(&item.object, "security_group_ids");
    let ids: Vec<&str> = firewalls.iter().map(String::as_str).collect();
    item.block.attribute("firewalls", id_list(references, &ids));
    let mut members: Vec<(String, &LiveResource, String)> = Vec::new();
    for (block_name, group) in &parts.groups {
        let group_name = text(group, "name").unwrap_or_default().to_string();
        let port = attribute(group, "port")
            .and_then(Value::as_u64)
            .unwrap_or(80);
        let check = health_check_block(group);
        match block_name {
            None => {
                if port != 80 {
                    item.block.attribute("target_port", port.to_string());
                }
                item.block.blocks.extend(check);
                members.push((
                    format!(
                        "load_balancer.{}.target_group.{DEFAULT_TARGET_GROUP}",
                        item.name
                    ),
                    *group,
                    group_name,
                ));
            }
            Some(block_name) => {
                let mut block = Block::new(format!("target_group {}", hcl::quoted(block_name)));
                let derived = short_name(
                    &format!("{own_name}-{block_name}"),
                    LOAD_BALANCER_NAME_LIMIT,
                );
                if group_name != derived {
                    block.attribute("name", hcl::quoted(&group_name));
                }
                if port != 80 {
                    block.attribute("port", port.to_string());
                }
                if let Some(protocol) = text(group, "protocol")
                    && protocol != "HTTP"
                {
                    block.attribute("protocol", hcl::quoted(protocol));
                }
                block.blocks.extend(check);
                item.block.blocks.push(block);
                members.push((
                    format!("load_balancer.{}.target_group.{block_name}", item.name),
                    *group,
                    group_name,
                ));
            }
        }
    }
    // Target group id → the name a listener's `forward` gives it.
    let group_blocks: BTreeMap<&str, &str> = parts
        .groups
        .iter()
        .map(|(block, group)| {
            (
                group.id.as_str(),
                block.as_deref().unwrap_or(DEFAULT_TARGET_GROUP),
            )
        })
        .collect();
    let mut listeners = parts.listeners.clone();
    listeners.sort_by_key(|listener| attribute(listener, "port").and_then(Value::as_u64));
    for listener in listeners {
        let port = attribute(listener, "port")
            .and_then(Value::as_u64)
            .unwrap_or(80);
        let mut block = Block::new("listener");
        block.attribute("port", port.to_string());
        if let Some(protocol) = text(listener, "protocol") {
            block.attribute("protocol", hcl::quoted(protocol));
        }
        if let Some(certificate) = text(listener, "certificate") {
            block.attribute("certificate", hcl::quoted(certificate));
        }
        let forward = forwarded(listener);
        // One target group at full weight is what a listener forwards to by default.
        let plain = matches!(forward.as_slice(), [(_, 100)]) && parts.groups.len() == 1;
        if !plain {
            let weights: Vec<String> = forward
                .iter()
                .filter_map(|(id, weight)| Some(format!("{} = {weight}", group_blocks.get(id)?)))
                .collect();
            block.attribute("forward", format!("{{ {} }}", weights.join(", ")));
        }
        item.block.blocks.push(block);
        members.push((
            format!("load_balancer.{}.listener.{port}", item.name),
            listener,
            format!("{display}-{port}"),
        ));
    }
    write_tags(naming, item, &display);
    // The block's tags go on its target groups and listeners, each named after itself.
    let mut block_tags = user_tags(naming, &item.object);
    block_tags.remove("Name");
    for (path, member, name) in members {
        let mut expected = block_tags.clone();
        expected.insert("Name".to_string(), name);
        let to = import_to(naming, &path, &member.region);
        import_member(naming, item, to, member, expected);
    }
}

/// A `health_check` block with what differs from the default check, or none.
fn health_check_block(group: &LiveResource) -> Option<Block> {
    let check = attribute(group, "health_check")?;
    let default = default_health_check();
    let mut block = Block::new("health_check");
    for name in [
        "path",
        "port",
        "protocol",
        "interval",
        "timeout",
        "healthy",
        "unhealthy",
        "matcher",
    ] {
        let Some(value) = check
            .get(name)
            .filter(|value| Some(*value) != default.get(name))
        else {
            continue;
        };
        let written = match (name, value) {
            ("interval" | "timeout", Value::Number(seconds)) => hcl::quoted(&format!("{seconds}s")),
            // The traffic port is the default; another is a number.
            ("port", Value::String(port)) => match port.parse::<u64>() {
                Ok(port) => port.to_string(),
                Err(_) => continue,
            },
            _ => hcl::value(value),
        };
        block.attribute(name, written);
    }
    (!block.attributes.is_empty()).then_some(block)
}

/// `alarm`: its name, description, metric, statistic, threshold, periods, what it watches (a group or
/// balancer written here by reference, else its namespace and dimensions) and tags.
pub(super) fn alarm(
    naming: &Naming,
    item: &mut Discovered,
    references: &BTreeMap<String, String>,
    traffic: &TrafficReferences,
) {
    let display = keep_name(item, &format!("{}{}", naming.prefix, item.name));
    if let Some(description) = text(&item.object, "description") {
        item.block
            .attribute("description", hcl::quoted(description));
    }
    if let Some(metric) = attribute(&item.object, "metric") {
        item.block.attribute("metric", hcl::value(metric));
    }
    if let Some(statistic) = text(&item.object, "statistic")
        && statistic != "Average"
    {
        item.block.attribute("statistic", hcl::quoted(statistic));
    }
    let threshold = attribute(&item.object, "threshold")
        .map(hcl::value)
        .unwrap_or_else(|| "0".to_string());
    match text(&item.object, "comparison") {
        Some("LessThanThreshold") => item.block.attribute("below", threshold),
        Some("GreaterThanThreshold") => item.block.attribute("above", threshold),
        other => {
            item.block.comments.push(format!(
                "Alarm `{}` compares with `{}`; a block says `above` (greater than) or `below` (less than): the plan changes it, an update.",
                item.object.id,
                other.unwrap_or("nothing")
            ));
            item.block.attribute("above", threshold);
        }
    }
    if let Some(periods) = attribute(&item.object, "periods").and_then(Value::as_u64)
        && periods != 1
    {
        item.block.attribute("periods", periods.to_string());
    }
    if let Some(period) = attribute(&item.object, "period").and_then(Value::as_u64)
        && period != 60
    {
        let written = if period % 60 == 0 {
            format!("{}m", period / 60)
        } else {
            format!("{period}s")
        };
        item.block.attribute("period", hcl::quoted(&written));
    }
    let namespace = text(&item.object, "namespace").unwrap_or_default();
    let dimensions: BTreeMap<String, String> = attribute(&item.object, "dimensions")
        .and_then(Value::as_object)
        .map(|map| {
            map.iter()
                .filter_map(|(key, value)| Some((key.clone(), value.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let dimension = |key: &str| dimensions.get(key).map(String::as_str);
    let watched = match (namespace, dimensions.len()) {
        ("AWS/EC2", 1) => dimension("AutoScalingGroupName")
            .and_then(|group| references.get(group))
            .map(|group| ("autoscaling", group.clone())),
        ("AWS/ApplicationELB", 1) => dimension("LoadBalancer")
            .and_then(|balancer| traffic.dimensions.get(balancer))
            .map(|balancer| ("load_balancer", balancer.clone())),
        // A target group's dimension with its balancer's: the group's block.
        ("AWS/ApplicationELB", 2) => match (
            dimension("LoadBalancer").and_then(|suffix| traffic.dimensions.get(suffix)),
            dimension("TargetGroup").and_then(|suffix| traffic.dimensions.get(suffix)),
        ) {
            (Some(balancer), Some(group)) if group.starts_with(&format!("{balancer}.")) => {
                Some(("load_balancer", group.clone()))
            }
            _ => None,
        },
        _ => None,
    };
    match watched {
        Some((name, expression)) => item.block.attribute(name, expression),
        None => {
            item.block.attribute("namespace", hcl::quoted(namespace));
            if !dimensions.is_empty() {
                item.block
                    .attribute("dimensions", hcl::string_map(&dimensions));
            }
        }
    }
    write_tags(naming, item, &display);
}
