//! Production readiness (CAIRN009–014): enough instances over enough zones, backups copied
//! to another region, a DR region, a rollout strategy, and an alarm on what serves users. They apply to production
//! environments only (see [`super::super::context::is_production`]).

use super::super::catalog::{
    PRODUCTION_MIN_SIZE, PRODUCTION_NO_ALARM, PRODUCTION_NO_BACKUP_COPY, PRODUCTION_NO_DR,
    PRODUCTION_NO_ROLLOUT, PRODUCTION_ONE_ZONE,
};
use super::super::context::Context;
use super::super::finding::Finding;
use super::super::locate::Part;
use super::exposure::behind_load_balancer;
use crate::graph::RolloutStrategy;
use crate::model::cloud::forward_entries;
use crate::model::{Address, DesiredResource, Kind, Value};
use std::collections::BTreeSet;

/// Every production rule.
pub fn production(context: &Context<'_>) -> Vec<Finding> {
    if !context.production {
        return Vec::new();
    }
    let mut findings = Vec::new();
    findings.extend(group_sizes(context));
    findings.extend(backups(context));
    findings.extend(disaster_recovery(context));
    findings.extend(unwatched_groups(context));
    findings
}

/// Whether `resource` is part of the DR standby rather than of an active region: a standby is
/// scaled down and never rolled out to on purpose.
fn in_standby(context: &Context<'_>, resource: &DesiredResource) -> bool {
    !context
        .expansion
        .environment
        .regions
        .iter()
        .any(|region| region.name == resource.region)
}

/// CAIRN009 (below two instances), CAIRN010 (one zone), CAIRN013 (no rollout).
fn group_sizes(context: &Context<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for group in context.of_kind(Kind::AutoscalingGroup) {
        let name = group.address.block_path();
        let standby = in_standby(context, group);
        let min = group.attributes.get("min").and_then(Value::as_u64);
        if !standby && let Some(min) = min.filter(|min| *min < 2) {
            let finding = Finding::new(
                PRODUCTION_MIN_SIZE,
                format!("`{name}` may run {min} instance(s) in production"),
                group.address.clone(),
            );
            findings.push(
                context
                    .locator
                    .place(finding, &group.address, Part::Attribute("min")),
            );
        }
        let subnets = context.targets(group, "subnet_ids");
        let zones: BTreeSet<&str> = subnets
            .iter()
            .filter_map(|subnet| subnet.attributes.get("zone").and_then(Value::as_str))
            .collect();
        // A subnet that cannot be followed (not created yet, live) says nothing about zones.
        if zones.len() == 1 && subnets.len() == group_subnet_count(group) {
            let zone = zones.iter().next().copied().unwrap_or_default();
            let finding = Finding::new(
                PRODUCTION_ONE_ZONE,
                format!("`{name}` runs in one zone (`{zone}`) only"),
                group.address.clone(),
            );
            findings.push(context.locator.place(
                finding,
                &group.address,
                Part::Attribute("subnets"),
            ));
        }
        // `all_at_once` is what a group without a block does: the engine drives nothing and
        // a new template reaches every instance as they cycle.
        let strategy = context
            .expansion
            .rollouts
            .iter()
            .find(|(address, _)| *address == &group.address || address.block_path() == name)
            .map(|(_, rollout)| rollout.strategy);
        let driven = strategy.is_some_and(|strategy| strategy != RolloutStrategy::AllAtOnce);
        if !standby && !driven {
            let why = match strategy {
                Some(_) => "has an `all_at_once` rollout",
                None => "has no `rollout` block",
            };
            let finding = Finding::new(
                PRODUCTION_NO_ROLLOUT,
                format!("`{name}` {why}: a new template reaches every instance at once"),
                group.address.clone(),
            );
            findings.push(context.locator.place(finding, &group.address, Part::Block));
        }
    }
    findings
}

fn group_subnet_count(group: &DesiredResource) -> usize {
    group
        .attributes
        .get("subnet_ids")
        .and_then(Value::as_array)
        .map_or(0, Vec::len)
}

/// CAIRN011: every volume backed up with a copy in another region.
fn backups(context: &Context<'_>) -> Vec<Finding> {
    let policies = &context.expansion.backup_policies;
    let mut findings = Vec::new();
    for volume in context.of_kind(Kind::Volume) {
        let name = volume.address.block_path();
        let selecting: Vec<&str> = policies
            .iter()
            .filter(|policy| policy.selects(volume))
            .map(|policy| policy.name.as_str())
            .collect();
        let copied = policies
            .iter()
            .any(|policy| policy.selects(volume) && policy.copy_to.is_some());
        if copied {
            continue;
        }
        let message = if selecting.is_empty() {
            format!("`{name}` is not selected by any backup policy")
        } else {
            format!(
                "`{name}` is backed up by `{}` without a copy in another region (`copy_to`)",
                selecting.join("`, `")
            )
        };
        let finding = Finding::new(PRODUCTION_NO_BACKUP_COPY, message, volume.address.clone());
        findings.push(context.locator.place(finding, &volume.address, Part::Block));
    }
    findings
}

/// CAIRN012: a production environment needs a `dr` block.
fn disaster_recovery(context: &Context<'_>) -> Vec<Finding> {
    let environment = &context.expansion.environment;
    if environment.dr.is_some() {
        return Vec::new();
    }
    let finding = Finding::new(
        PRODUCTION_NO_DR,
        format!(
            "production environment `{}` has no `dr` block",
            environment.name
        ),
        context.environment_address(),
    );
    vec![context.locator.place_location(finding, &environment.source)]
}

/// CAIRN014: a production group behind a load balancer needs an alarm that watches it: on the
/// group itself (`AutoScalingGroupName`), on a target group it is registered in
/// (`TargetGroup`), or on a load balancer whose listeners forward to one (`LoadBalancer`).
fn unwatched_groups(context: &Context<'_>) -> Vec<Finding> {
    let alarms: Vec<&DesiredResource> = context.of_kind(Kind::Alarm).collect();
    let mut findings = Vec::new();
    for group in context.of_kind(Kind::AutoscalingGroup) {
        if in_standby(context, group) || !behind_load_balancer(group) {
            continue;
        }
        let target_groups: BTreeSet<&Address> = context
            .targets(group, "target_group_ids")
            .into_iter()
            .map(|target_group| &target_group.address)
            .collect();
        let balancers: BTreeSet<&Address> = context
            .of_kind(Kind::Listener)
            .filter(|listener| {
                forward_entries(&listener.attributes)
                    .filter_map(|(target_group, _)| context.target(target_group))
                    .any(|target_group| target_groups.contains(&target_group.address))
            })
            .filter_map(|listener| context.target(listener.attributes.get("load_balancer_id")?))
            .map(|balancer| &balancer.address)
            .collect();
        let group_name = group.attributes.get("name");
        let watched = alarms.iter().any(|alarm| {
            let Some(Value::Object(dimensions)) = alarm.attributes.get("dimensions") else {
                return false;
            };
            let points_into = |dimension: &str, addresses: &BTreeSet<&Address>| {
                dimensions
                    .get(dimension)
                    .and_then(|value| context.target(value))
                    .is_some_and(|resource| addresses.contains(&resource.address))
            };
            // The dimension names the group by a reference to it (its serving name, which a
            // blue-green rollout alternates), or by its name written out.
            (group_name.is_some() && dimensions.get("AutoScalingGroupName") == group_name)
                || points_into("AutoScalingGroupName", &BTreeSet::from([&group.address]))
                || points_into("TargetGroup", &target_groups)
                || points_into("LoadBalancer", &balancers)
        });
        if watched {
            continue;
        }
        let finding = Finding::new(
            PRODUCTION_NO_ALARM,
            format!(
                "`{}` serves users through a load balancer and no alarm watches it or its load balancer",
                group.address.block_path()
            ),
            group.address.clone(),
        );
        findings.push(context.locator.place(
            finding,
            &group.address,
            Part::Attribute("load_balancer"),
        ));
    }
    findings
}
