//! `autoscaling` → an autoscaling group, a target-tracking scaling policy per `scaling` block,
//! and the group's `rollout` settings. With `load_balancer`, the group registers its instances
//! in the balancer's target group and takes the balancer's health check for its own; with
//! `target_groups = [...]` (Terraform's `target_group_arns`) in each of several, balancers
//! with one target group or target groups of balancers.
//! `name` keeps an imported group's own name (a new one replaces the group) and
//! `template_version` the template version it runs; by default the group is named after the
//! stack, environment and block, and runs its template's latest version.

use super::read::network_of;
use super::{Built, Instance, attributes};
use crate::config::diagnostics::Diagnostic;
use crate::config::eval;
use crate::model::{Address, Kind, Value, reference, references_in};
use serde_json::json;
use std::collections::BTreeSet;

pub(super) fn build(instance: &Instance<'_>) -> Option<Built> {
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
    let target_groups = target_groups(instance, subnet_ids.as_deref().unwrap_or_default());
    let (template_id, subnet_ids, min, max, desired, target_groups) = (
        template_id?,
        subnet_ids?,
        min?,
        max?,
        desired?,
        target_groups?,
    );
    let name = super::limits::cloud_name(instance, Kind::AutoscalingGroup)?;
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
            .expected(if min > max {
                format!("`min` of at most `max`, found min {min} and max {max}")
            } else {
                format!("`desired` from {min} to {max}, found {desired}")
            }),
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
    // `template_version` pins a version (an imported group keeps the one it runs); by
    // default the group follows the template's latest, so a template change rolls it out.
    let template_version = match block.attribute("template_version") {
        Some(_) => template_version(instance)?,
        None => match references_in(&Value::String(template_id.clone())).first() {
            Some(found) => Value::String(reference(&found.address, "latest_version")),
            None => Value::String("$Latest".to_string()),
        },
    };
    let address = instance.at(&instance.region.name);
    let group_id = Value::String(reference(&address, "id"));
    let mut built = Built {
        primary: vec![address.clone()],
        // `name` by reference: a blue-green rollout alternates the group between two names,
        // and what names the group (an alarm's dimension) must name the one that serves.
        value: json!({
            "id": group_id,
            "name": reference(&address, "name"),
            "min": min,
            "max": max,
            "desired": desired,
        }),
        ..Built::default()
    };
    built.resources.push(instance.produced(
        address.clone(),
        Kind::AutoscalingGroup,
        attributes(vec![
            ("name", Value::String(name.clone())),
            ("launch_template_id", Value::String(template_id)),
            ("launch_template_version", template_version),
            ("subnet_ids", Value::Array(subnet_ids)),
            ("min", json!(min)),
            ("max", json!(max)),
            ("desired", json!(desired)),
            // Behind a load balancer the group replaces what the balancer finds unhealthy.
            (
                "health_check_type",
                json!(if target_groups.is_empty() {
                    "EC2"
                } else {
                    "ELB"
                }),
            ),
            ("target_group_ids", Value::Array(target_groups)),
        ]),
        instance.sensitive(&[
            ("template", "launch_template_id"),
            ("subnets", "subnet_ids"),
            ("min", "min"),
            ("max", "max"),
            ("desired", "desired"),
        ]),
        name.clone(),
    ));
    for scaling in block.blocks_named("scaling") {
        let Some(target) = instance.percentage(scaling, "target_cpu", 1) else {
            continue;
        };
        let name = format!("{name}-{}", scaling.name());
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
    if let Some(block) = block.blocks_named("rollout").next() {
        built.rollout = Some((address, super::rollout::read(instance, block)?));
    }
    Some(built)
}

/// `template_version`: a version number, or `"$Latest"` / `"$Default"` as AWS names them.
fn template_version(instance: &Instance<'_>) -> Option<Value> {
    let (value, attr) = instance.value(instance.block, "template_version")?;
    match &value {
        Value::Number(number) if number.as_u64().is_some_and(|version| version >= 1) => Some(value),
        Value::String(text) if text == "$Latest" || text == "$Default" => Some(value),
        _ => {
            instance.problem(eval::wrong_type(
                instance.sources,
                attr,
                &value,
                "a launch template version such as `3`, or `\"$Latest\"` or `\"$Default\"`",
            ));
            None
        }
    }
}

/// Where the group registers its instances: the target group `load_balancer` names, or each
/// of `target_groups` (not both); none without either.
fn target_groups(instance: &Instance<'_>, subnet_ids: &[Value]) -> Option<Vec<Value>> {
    let block = instance.block;
    match (
        block.attribute("load_balancer"),
        block.attribute("target_groups"),
    ) {
        (None, None) => Some(Vec::new()),
        (Some(_), None) => {
            let (value, attr) = instance.value(block, "load_balancer")?;
            target_group(instance, attr, &value, subnet_ids).map(|id| vec![id])
        }
        (None, Some(_)) => {
            let (value, attr) = instance.value(block, "target_groups")?;
            let Value::Array(items) = &value else {
                instance.problem(eval::wrong_type(
                    instance.sources,
                    attr,
                    &value,
                    "a list of load balancers or target groups such as `[load_balancer.web.target_group.blue, load_balancer.api]`",
                ));
                return None;
            };
            let mut ids: Vec<Value> = Vec::new();
            let mut failed = false;
            for item in items {
                match target_group(instance, attr, item, subnet_ids) {
                    Some(id) if !ids.contains(&id) => ids.push(id),
                    Some(_) => {}
                    None => failed = true,
                }
            }
            (!failed).then_some(ids)
        }
        (Some(_), Some(attr)) => {
            instance.problem(
                Diagnostic::at(
                    instance.sources,
                    attr.key_span,
                    "`load_balancer` and `target_groups` both say where the group registers",
                )
                .expected("one of them")
                .hint("list the load balancer in `target_groups` beside the others"),
            );
            None
        }
    }
}

/// The target group `value` (of attribute `attr`) names: a balancer with one target group
/// (`load_balancer.web`) or one target group of it (`load_balancer.web.target_group.blue`),
/// in the network of the group's subnets.
fn target_group(
    instance: &Instance<'_>,
    attr: &crate::config::tree::Attr,
    value: &Value,
    subnet_ids: &[Value],
) -> Option<Value> {
    let expected = "a load balancer such as `load_balancer.web`, or one of its target groups such as `load_balancer.web.target_group.blue`";
    let Some(ids) = value.get("target_group_ids").and_then(Value::as_array) else {
        instance.problem(eval::wrong_type(instance.sources, attr, value, expected));
        return None;
    };
    let [id] = ids.as_slice() else {
        // In a list, the balancer is one of its items: named by its own reference.
        let written = match instance.sources.text(attr.value_span).trim() {
            list if list.starts_with('[') => value
                .get("id")
                .map(references_in)
                .and_then(|found| {
                    found
                        .first()
                        .map(|found| found.address.block_path().to_string())
                })
                .unwrap_or_else(|| "load_balancer.NAME".to_string()),
            written => written.to_string(),
        };
        let names: Vec<String> = value
            .get("target_group")
            .and_then(Value::as_object)
            .map(|groups| groups.keys().cloned().collect())
            .unwrap_or_default();
        instance.problem(
            Diagnostic::at(
                instance.sources,
                attr.value_span,
                format!(
                    "the load balancer has {} target groups; a group registers in one",
                    ids.len()
                ),
            )
            .expected(expected)
            .hint(format!(
                "name one: {}",
                names
                    .iter()
                    .map(|name| format!("`{written}.target_group.{name}`"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            )),
        );
        return None;
    };
    let network = value
        .get("network_id")
        .and_then(Value::as_str)
        .and_then(network_of);
    if let Some(network) = network {
        let elsewhere = subnet_ids
            .iter()
            .filter_map(Value::as_str)
            .filter_map(network_of)
            .find(|other| *other != network);
        if let Some(other) = elsewhere {
            instance.problem(
                Diagnostic::at(
                    instance.sources,
                    attr.value_span,
                    format!(
                        "the target group is in network `{network}`, but the group's subnets are in `{other}`"
                    ),
                )
                .expected(format!("a load balancer of `{other}`, or subnets of `{network}`"))
                .hint("a target group registers instances of its own network only"),
            );
            return None;
        }
    }
    Some(id.clone())
}
