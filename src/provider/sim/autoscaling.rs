//! Autoscaling groups and their target-tracking scaling policies.
//!
//! A group keeps `desired` instances: on create, on update, and on every later call to its
//! region (AWS replaces terminated instances on its own). New instances go to the zone of the
//! group's subnets that has the fewest, so they spread round-robin; scale-in takes from the
//! zone with the most, oldest template version first, then the oldest instance. Instances in
//! a subnet the group no longer lists are replaced. Instances carry the tag
//! `aws:autoscaling:groupName` and none of Cairn's ownership tags. Deleting a group terminates
//! its instances and deletes its policies (like `ForceDelete`).
//!
//! Groups and policies are identified by name, unique per region. (AWS scopes policy names
//! to their group and `PutScalingPolicy` overwrites; the sim refuses a second policy of the
//! same name in a region so that an id names one policy.)

use super::attributes;
use super::cloud::Cloud;
use super::cloud::Resource;
use super::compute::{self, GROUP, GROUP_TAG, LAUNCHED_AT, TEMPLATE_ID, TEMPLATE_VERSION, ZONE};
use super::error::api;
use super::load_balancing;
use super::network::replace_attributes;
use super::operations::Context;
use crate::model::{Attributes, Kind, TAG_ENV, TAG_STACK, Tags, Value};
use crate::provider::ProviderError;
use serde_json::json;
use std::collections::BTreeMap;

pub fn create_group(
    cloud: &mut Cloud,
    context: &Context,
    attributes: &Attributes,
    tags: &Tags,
) -> Result<String, ProviderError> {
    let name = attributes::string(attributes, "name")?.to_string();
    if cloud
        .find(context.region, Kind::AutoscalingGroup, &name)
        .is_some()
    {
        return Err(api(
            "AlreadyExists",
            format!(
                "AutoScalingGroup by this name already exists - A group with the name {name} already exists"
            ),
        ));
    }
    check_group(cloud, context, attributes)?;
    cloud.insert(
        context.region,
        Resource::new(
            Kind::AutoscalingGroup,
            name.clone(),
            attributes.clone(),
            tags.clone(),
        ),
    );
    reconcile(cloud, context, &name)?;
    Ok(name)
}

pub fn update_group(
    cloud: &mut Cloud,
    context: &Context,
    name: &str,
    after: &Attributes,
) -> Result<(), ProviderError> {
    cloud.target(context.region, Kind::AutoscalingGroup, name)?;
    check_group(cloud, context, after)?;
    let mut group = cloud.target_mut(context.region, Kind::AutoscalingGroup, name)?;
    replace_attributes(&mut group, after);
    // Filed again under its new attributes before the group reconciles.
    drop(group);
    reconcile(cloud, context, name)
}

pub fn delete_group(cloud: &mut Cloud, context: &Context, name: &str) -> Result<(), ProviderError> {
    cloud.target(context.region, Kind::AutoscalingGroup, name)?;
    // The group's instances and policies, from the region's lookups rather than a scan.
    let owned: Vec<String> = cloud
        .region(context.region)
        .into_iter()
        .flat_map(|state| {
            let policies = state
                .referring("group_name", name)
                .filter(|resource| resource.kind == Kind::ScalingPolicy);
            state.members(name).chain(policies)
        })
        .map(|resource| resource.id.clone())
        .collect();
    for id in owned {
        cloud.remove(context.region, &id);
    }
    cloud.remove_target(context.region, Kind::AutoscalingGroup, name)
}

/// TerminateInstanceInAutoScalingGroup with ShouldDecrementDesiredCapacity: the instance
/// goes and the group wants one fewer, refused (as AWS does) below the group's `min`.
pub fn terminate_in_group(
    cloud: &mut Cloud,
    context: &Context,
    name: &str,
    instance_id: &str,
) -> Result<(), ProviderError> {
    let group = cloud.target(context.region, Kind::AutoscalingGroup, name)?;
    let min = attributes::integer(&group.attributes, "min")?;
    let desired = attributes::optional_integer(&group.attributes, "desired")?.unwrap_or(min);
    let member = cloud
        .find(context.region, Kind::Instance, instance_id)
        .is_some_and(|instance| instance.internal_text(GROUP) == Some(name));
    if !member {
        return Err(ProviderError::NotFound {
            kind: Kind::Instance,
            region: context.region.to_string(),
            id: instance_id.to_string(),
        });
    }
    if desired - 1 < min {
        return Err(api(
            "ValidationError",
            format!(
                "Currently, desiredSize equals minSize ({min}). Terminating instance without replacement will violate group's min size constraint. Either set shouldDecrementDesiredCapacity flag to false or lower group's min size."
            ),
        ));
    }
    cloud.remove(context.region, instance_id);
    let mut group = cloud.target_mut(context.region, Kind::AutoscalingGroup, name)?;
    group
        .attributes
        .insert("desired".to_string(), json!(desired - 1));
    Ok(())
}

fn check_group(
    cloud: &Cloud,
    context: &Context,
    attributes: &Attributes,
) -> Result<(), ProviderError> {
    let validation = |message: String| api("ValidationError", message);
    let template_id = attributes::string(attributes, "launch_template_id")?;
    let (_, settings) = compute::template_version(
        cloud,
        context.region,
        template_id,
        attributes.get("launch_template_version"),
    )?;
    if let Some(malformed) =
        attributes::optional_string(&settings, "image")?.and_then(compute::malformed_image)
    {
        return Err(validation(format!(
            "You must use a valid fully-formed launch template. {malformed}"
        )));
    }
    let subnet_ids = attributes::string_list(attributes, "subnet_ids")?;
    if subnet_ids.is_empty() {
        return Err(validation(
            "At least one Availability Zone or VPC Subnet is required.".to_string(),
        ));
    }
    let mut networks = Vec::new();
    for subnet_id in &subnet_ids {
        let subnet = cloud
            .find(context.region, Kind::Subnet, subnet_id)
            .ok_or_else(|| validation(format!("The subnet ID '{subnet_id}' does not exist")))?;
        let network = subnet.text("network_id").unwrap_or_default();
        if !networks.contains(&network) {
            networks.push(network);
        }
    }
    if networks.len() > 1 {
        return Err(validation(
            "The subnets of an autoscaling group must all be in the same VPC.".to_string(),
        ));
    }
    let min = attributes::integer(attributes, "min")?;
    let max = attributes::integer(attributes, "max")?;
    let desired = attributes::optional_integer(attributes, "desired")?.unwrap_or(min);
    if min < 0 || max < min {
        return Err(validation(format!(
            "Max bound, {max}, must be greater than or equal to min bound, {min}"
        )));
    }
    if desired < min || desired > max {
        return Err(validation(format!(
            "Desired capacity:{desired} must be between the specified min size:{min} and max size:{max}"
        )));
    }
    for group_id in attributes::string_list(attributes, "target_group_ids")? {
        let target_group = cloud
            .find(context.region, Kind::TargetGroup, &group_id)
            .ok_or_else(|| {
                validation(format!(
                    "Provided Target Groups may not be valid: {group_id}"
                ))
            })?;
        if networks
            .iter()
            .any(|network| Some(*network) != target_group.text("network_id"))
        {
            return Err(validation(format!(
                "Target group {group_id} is in another VPC than the group's subnets"
            )));
        }
    }
    match attributes::optional_string(attributes, "health_check_type")? {
        None | Some("EC2" | "ELB") => Ok(()),
        Some(other) => Err(validation(format!(
            "Health check type {other} must be EC2 or ELB"
        ))),
    }
}

/// Launches or terminates instances of group `name` until it has `desired` of them.
///
/// # Errors
/// When the group's template version is gone or a subnet is full; instances launched before
/// the failure stay.
pub fn reconcile(cloud: &mut Cloud, context: &Context, name: &str) -> Result<(), ProviderError> {
    let group = cloud.target(context.region, Kind::AutoscalingGroup, name)?;
    let attributes = group.attributes.clone();
    let min = attributes::integer(&attributes, "min")?;
    let desired = attributes::optional_integer(&attributes, "desired")?
        .unwrap_or(min)
        .max(0) as usize;
    let subnets: Vec<(String, String)> = attributes::string_list(&attributes, "subnet_ids")?
        .into_iter()
        .filter_map(|subnet_id| {
            let zone = cloud
                .find(context.region, Kind::Subnet, &subnet_id)?
                .internal_text(ZONE)?
                .to_string();
            Some((subnet_id, zone))
        })
        .collect();

    // Instances in subnets the group no longer uses are replaced (AZ rebalancing).
    let stray: Vec<String> = members(cloud, context.region, name)
        .into_iter()
        .filter(|member| {
            !subnets
                .iter()
                .any(|(subnet_id, _)| *subnet_id == member.subnet_id)
        })
        .map(|member| member.id)
        .collect();
    for id in stray {
        cloud.remove(context.region, &id);
    }

    loop {
        let current = members(cloud, context.region, name);
        if current.len() <= desired {
            break;
        }
        let Some(victim) = pick_victim(&current) else {
            break;
        };
        cloud.remove(context.region, &victim);
    }

    let mut count = members(cloud, context.region, name).len();
    if count < desired && !subnets.is_empty() {
        let template_id = attributes::string(&attributes, "launch_template_id")?;
        let (version, settings) = compute::template_version(
            cloud,
            context.region,
            template_id,
            attributes.get("launch_template_version"),
        )?;
        while count < desired {
            let current = members(cloud, context.region, name);
            let subnet_id = pick_subnet(&subnets, &current);
            let mut instance = Attributes::new();
            for field in ["image", "instance_type", "security_group_ids"] {
                if let Some(value) = settings.get(field) {
                    instance.insert(field.to_string(), value.clone());
                }
            }
            instance.insert("subnet_id".to_string(), json!(subnet_id));
            let internal = Attributes::from([
                (GROUP.to_string(), json!(name)),
                (TEMPLATE_VERSION.to_string(), json!(version)),
                (TEMPLATE_ID.to_string(), json!(template_id)),
            ]);
            let tags = Tags::from([(GROUP_TAG.to_string(), name.to_string())]);
            compute::launch(cloud, context, instance, tags, internal)?;
            count += 1;
        }
    }
    Ok(())
}

/// An instance of a group, as the group reports it.
#[derive(Debug, Clone)]
struct Member {
    id: String,
    zone: String,
    subnet_id: String,
    state: String,
    version: i64,
    /// `None` for an instance of an older cloud file, which did not record it.
    template_id: Option<String>,
    launched: u64,
    checking_health: bool,
}

fn members(cloud: &Cloud, region: &str, name: &str) -> Vec<Member> {
    cloud
        .region(region)
        .into_iter()
        .flat_map(|state| state.members(name))
        .map(|instance| Member {
            id: instance.id.clone(),
            zone: instance.internal_text(ZONE).unwrap_or_default().to_string(),
            subnet_id: instance.text("subnet_id").unwrap_or_default().to_string(),
            state: instance.text("state").unwrap_or_default().to_string(),
            version: instance
                .internal
                .get(TEMPLATE_VERSION)
                .and_then(Value::as_i64)
                .unwrap_or_default(),
            template_id: instance.internal_text(TEMPLATE_ID).map(str::to_string),
            launched: instance
                .internal
                .get(LAUNCHED_AT)
                .and_then(Value::as_u64)
                .unwrap_or_default(),
            checking_health: super::compute::checking_health(instance, cloud.now()),
        })
        .collect()
}

/// The subnet for the next instance: the zone with the fewest instances (the earlier listed on
/// a tie), then the subnet of that zone with the fewest.
fn pick_subnet(subnets: &[(String, String)], current: &[Member]) -> String {
    let in_zone = |zone: &str| current.iter().filter(|member| member.zone == zone).count();
    let in_subnet = |subnet: &str| {
        current
            .iter()
            .filter(|member| member.subnet_id == subnet)
            .count()
    };
    let zone = subnets
        .iter()
        .map(|(_, zone)| zone)
        .min_by_key(|zone| in_zone(zone))
        .cloned()
        .unwrap_or_default();
    subnets
        .iter()
        .filter(|(_, subnet_zone)| *subnet_zone == zone)
        .min_by_key(|(subnet_id, _)| in_subnet(subnet_id))
        .map(|(subnet_id, _)| subnet_id.clone())
        .unwrap_or_default()
}

/// The instance to terminate on scale-in: from the zone with the most instances, the oldest
/// template version, then the oldest launch (AWS's default termination policy).
fn pick_victim(current: &[Member]) -> Option<String> {
    let mut per_zone: BTreeMap<&str, usize> = BTreeMap::new();
    for member in current {
        *per_zone.entry(&member.zone).or_default() += 1;
    }
    let most = per_zone.values().copied().max()?;
    current
        .iter()
        .filter(|member| per_zone.get(member.zone.as_str()) == Some(&most))
        .min_by(|left, right| {
            (left.version, left.launched, &left.id).cmp(&(right.version, right.launched, &right.id))
        })
        .map(|member| member.id.clone())
}

/// The group as read: its `instances` (sorted by id, each healthy or not as the group judges
/// it: with the `ELB` health check type, as its target groups do), and the load balancing
/// settings a group stored before they existed reads with as AWS reports them for a group
/// without: no target groups, `EC2` health checks.
pub fn complete_live(cloud: &Cloud, region: &str, group: &Resource, live: &mut Attributes) {
    live.entry("target_group_ids".to_string())
        .or_insert_with(|| json!([]));
    live.entry("health_check_type".to_string())
        .or_insert_with(|| json!("EC2"));
    let by_balancer = group.text("health_check_type") == Some("ELB");
    let instances = members(cloud, region, &group.id)
        .into_iter()
        .map(|member| {
            let unhealthy =
                by_balancer && load_balancing::judged_unhealthy(cloud, region, group, &member.id);
            let health = if unhealthy {
                "unhealthy"
            } else if member.checking_health {
                // Under a timing profile: booted, its health checks not passed yet.
                "initial"
            } else {
                "healthy"
            };
            json!({
                "id": member.id,
                "zone": member.zone,
                "subnet_id": member.subnet_id,
                "state": member.state,
                "health": health,
                "launch_template_version": member.version,
                "launch_template_id": member.template_id,
            })
        })
        .collect();
    live.insert("instances".to_string(), Value::Array(instances));
}

/// Brings every group of the region back to its desired size, as AWS does in the
/// background. A group that cannot launch stays short, as in AWS.
///
/// Runs before every call to the region, so it looks only at the groups that changed, or
/// whose instances changed, since it last found them settled (the region keeps them apart):
/// looking at every group cost groups × instances per call, which made a large apply
/// quadratic (issue 14). A group it cannot settle stays to be looked at on the next call.
pub fn reconcile_all(cloud: &mut Cloud, context: &Context) {
    let region = context.region;
    let unchecked = cloud
        .region(region)
        .map(|state| state.unchecked_groups())
        .unwrap_or_default();
    for name in unchecked {
        if !settled(cloud, region, &name) {
            // A launch that fails leaves nothing behind.
            let _ = cloud.attempt(|cloud| reconcile(cloud, context, &name));
        }
        if settled(cloud, region, &name) {
            cloud.region_mut(region).checked_group(&name);
        }
    }
}

/// Whether the group `name` of `region` has its desired number of instances, all in its
/// subnets; a group that is gone is settled.
fn settled(cloud: &Cloud, region: &str, name: &str) -> bool {
    let Some(state) = cloud.region(region) else {
        return true;
    };
    let Some(group) = state
        .get(name)
        .filter(|group| group.kind == Kind::AutoscalingGroup)
    else {
        return true;
    };
    let member_subnets: Vec<&str> = state
        .members(name)
        .map(|instance| instance.text("subnet_id").unwrap_or_default())
        .collect();
    is_settled(&group.attributes, &member_subnets)
}

/// Whether a group with `attributes` whose instances are in `member_subnets` has its desired
/// number of instances, all in its subnets.
fn is_settled(attributes: &Attributes, member_subnets: &[&str]) -> bool {
    let Ok(min) = attributes::integer(attributes, "min") else {
        return true;
    };
    let desired = attributes::optional_integer(attributes, "desired")
        .ok()
        .flatten()
        .unwrap_or(min)
        .max(0) as usize;
    let subnet_ids = attributes::string_list(attributes, "subnet_ids").unwrap_or_default();
    member_subnets.len() == desired
        && member_subnets
            .iter()
            .all(|subnet| subnet_ids.iter().any(|id| id == subnet))
}

pub fn create_policy(
    cloud: &mut Cloud,
    context: &Context,
    attributes: &Attributes,
) -> Result<String, ProviderError> {
    let name = attributes::string(attributes, "name")?.to_string();
    let group_name = attributes::string(attributes, "group_name")?;
    let Some(group) = cloud.find(context.region, Kind::AutoscalingGroup, group_name) else {
        return Err(api(
            "ValidationError",
            format!("Group {group_name} not found"),
        ));
    };
    // AWS scaling policies take no tags: the AWS provider reads a policy with its group's
    // stack and env, and no address. The sim does the same so that the engine never relies
    // on a policy's `cairn:address`, which real AWS cannot keep.
    let owner_tags: Tags = group
        .tags
        .iter()
        .filter(|(key, _)| *key == TAG_STACK || *key == TAG_ENV)
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    check_target(attributes)?;
    if let Some(existing) = cloud.find(context.region, Kind::ScalingPolicy, &name) {
        // PutScalingPolicy is an upsert in AWS: putting a policy the group already has
        // replaces it. That is also what lets an apply that crashed right after the call
        // (leaving an untaggable policy the next refresh cannot adopt) simply put it again.
        if existing.attributes.get("group_name") == attributes.get("group_name") {
            update_policy(cloud, context, &name, attributes)?;
            return Ok(name);
        }
        return Err(api(
            "AlreadyExists",
            format!("A scaling policy named {name} already exists in this region"),
        ));
    }
    cloud.insert(
        context.region,
        Resource::new(
            Kind::ScalingPolicy,
            name.clone(),
            attributes.clone(),
            owner_tags,
        ),
    );
    Ok(name)
}

pub fn update_policy(
    cloud: &mut Cloud,
    context: &Context,
    name: &str,
    after: &Attributes,
) -> Result<(), ProviderError> {
    check_target(after)?;
    cloud.replace_target(context.region, Kind::ScalingPolicy, name, after)
}

pub fn delete_policy(
    cloud: &mut Cloud,
    context: &Context,
    name: &str,
) -> Result<(), ProviderError> {
    cloud.remove_target(context.region, Kind::ScalingPolicy, name)
}

fn check_target(attributes: &Attributes) -> Result<(), ProviderError> {
    let target = attributes::optional_number(attributes, "target_cpu")?
        .ok_or_else(|| attributes::missing("target_cpu"))?;
    if !(target > 0.0 && target <= 100.0) {
        return Err(api(
            "ValidationError",
            format!("target_cpu {target} must be above 0 and at most 100"),
        ));
    }
    Ok(())
}
