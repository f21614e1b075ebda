//! Elastic Load Balancing (application load balancers): load balancers, target groups,
//! listeners, and the health of the targets autoscaling groups register.
//!
//! AWS rules kept: names of 1 to 32 letters, digits and hyphens, unique per region; a balancer
//! spans subnets of at least two zones, one subnet per zone, all in one VPC, with security
//! groups of that VPC; its DNS name is `NAME-DIGITS.REGION.elb.amazonaws.com` in the region's
//! load balancer hosted zone; ids are ARNs. A listener port is unique on its balancer; an
//! HTTPS listener needs a certificate; a listener forwards to one to five target groups of the
//! balancer's VPC with weights from 0 to 999, and a target group serves one balancer only.
//! A target group cannot be deleted while a listener forwards to it (`ResourceInUse`);
//! deleting a balancer deletes its listeners. Deleting what is gone is `NotFound` (AWS's
//! DeleteLoadBalancer succeeds instead; the engine's contract wants to know).
//!
//! Target health follows AWS: an instance registered by a group's `target_group_ids` is
//! `initial` while pending, then `healthy` — or `unhealthy` when it fails its checks: its
//! image was marked with `cairn sim unhealthy IMAGE`, or the instance itself was; a target
//! group no listener forwards to reports its targets `unused`. RegisterTargets adds an
//! instance to a target group by hand, DeregisterTargets takes one out even where its group
//! registered it (AWS's autoscaling registers an instance once, at launch); doing either twice
//! changes nothing.

use super::attributes;
use super::cloud::{Cloud, Resource};
use super::compute::GROUP;
use super::error::api;
use super::network::replace_attributes;
use super::operations::Context;
use crate::model::cloud::forward_entries;
use crate::model::regions;
use crate::model::{Attributes, Kind, Tags, Value};
use crate::provider::ProviderError;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

/// The account every simulated ARN belongs to (moto's and the AWS documentation's).
pub const ACCOUNT: &str = "123456789012";
/// Internal key of an instance: its own health, set by `cairn sim unhealthy|healthy ID`.
pub const INSTANCE_HEALTH: &str = "health";

/// Health states of a target, as DescribeTargetHealth reports them.
pub const HEALTHY: &str = "healthy";
pub const UNHEALTHY: &str = "unhealthy";
pub const INITIAL: &str = "initial";
pub const UNUSED: &str = "unused";

/// Internal keys of a target group: the instances RegisterTargets put in it, and those
/// DeregisterTargets took out although their autoscaling group registers them.
const REGISTERED: &str = "registered";
const DEREGISTERED: &str = "deregistered";

/// A target group's longest forward list.
const FORWARD_LIMIT: usize = 5;

fn validation(message: impl Into<String>) -> ProviderError {
    api("ValidationError", message)
}

/// Refuses the name of a new load balancer or target group (`kind`) that ELB does not take,
/// or that another of its kind in `region` has.
fn check_new_name(
    cloud: &Cloud,
    region: &str,
    kind: Kind,
    name: &str,
) -> Result<(), ProviderError> {
    let (what, code) = match kind {
        Kind::TargetGroup => ("Target group", "DuplicateTargetGroupName"),
        _ => ("Load balancer", "DuplicateLoadBalancerName"),
    };
    check_name(name, what)?;
    cloud.ensure_unique_name(region, kind, name, code, || {
        format!(
            "A {} with the same name '{name}' exists, but with different settings",
            what.to_lowercase()
        )
    })
}

/// Refuses a load balancer or target group name AWS refuses.
fn check_name(name: &str, what: &str) -> Result<(), ProviderError> {
    let well_formed = (1..=32).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.starts_with("internal-");
    if well_formed {
        Ok(())
    } else {
        Err(validation(format!(
            "{what} name '{name}' cannot be longer than '32' characters, and can contain only alphanumeric characters and hyphens, not beginning or ending with a hyphen"
        )))
    }
}

/// The 16 hex digits that end an ELB ARN.
fn arn_suffix_id(cloud: &mut Cloud) -> String {
    cloud.new_hex()[..16].to_string()
}

/// Whether a load balancer of `region` lists `id` in `attribute` (its subnets or security
/// groups), which keeps those from being deleted.
pub fn uses(cloud: &Cloud, region: &str, attribute: &str, id: &str) -> bool {
    cloud.all_of(region, Kind::LoadBalancer).any(|balancer| {
        attributes::string_list(&balancer.attributes, attribute)
            .is_ok_and(|ids| ids.iter().any(|listed| listed == id))
    })
}

/// The network of the subnets, checked as CreateLoadBalancer and SetSubnets check them.
fn check_subnets(
    cloud: &Cloud,
    region: &str,
    subnet_ids: &[String],
) -> Result<String, ProviderError> {
    let mut zones = BTreeSet::new();
    let mut networks = BTreeSet::new();
    for subnet_id in subnet_ids {
        let subnet = cloud.find(region, Kind::Subnet, subnet_id).ok_or_else(|| {
            api(
                "SubnetNotFound",
                format!("The subnet ID '{subnet_id}' is not valid"),
            )
        })?;
        let zone = subnet.text("zone").unwrap_or_default().to_string();
        if !zones.insert(zone.clone()) {
            return Err(api(
                "InvalidConfigurationRequest",
                format!(
                    "A load balancer cannot be attached to multiple subnets in the same Availability Zone '{zone}'"
                ),
            ));
        }
        networks.insert(subnet.text("network_id").unwrap_or_default().to_string());
    }
    if zones.len() < 2 {
        return Err(validation(
            "At least two subnets in two different Availability Zones must be specified",
        ));
    }
    if networks.len() > 1 {
        return Err(api(
            "InvalidConfigurationRequest",
            "The subnets of a load balancer must all be in the same VPC",
        ));
    }
    Ok(networks.into_iter().next().unwrap_or_default())
}

fn check_security_groups(
    cloud: &Cloud,
    region: &str,
    network_id: &str,
    group_ids: &[String],
) -> Result<(), ProviderError> {
    for group_id in group_ids {
        cloud.in_network(
            region,
            (Kind::SecurityGroup, group_id),
            network_id,
            (
                "InvalidSecurityGroup",
                format!("Security group '{group_id}' does not exist"),
            ),
            (
                "InvalidSecurityGroup",
                format!("Security group '{group_id}' does not belong to VPC '{network_id}'"),
            ),
        )?;
    }
    Ok(())
}

pub fn create_load_balancer(
    cloud: &mut Cloud,
    context: &Context,
    attributes: &Attributes,
    tags: &Tags,
) -> Result<String, ProviderError> {
    let name = attributes::string(attributes, "name")?.to_string();
    check_new_name(cloud, context.region, Kind::LoadBalancer, &name)?;
    let subnet_ids = attributes::string_list(attributes, "subnet_ids")?;
    let network_id = check_subnets(cloud, context.region, &subnet_ids)?;
    let group_ids = attributes::string_list(attributes, "security_group_ids")?;
    check_security_groups(cloud, context.region, &network_id, &group_ids)?;
    let zone_id = regions::load_balancer_zone(context.region).ok_or_else(|| {
        api(
            "InvalidConfigurationRequest",
            format!("load balancers are not offered in {}", context.region),
        )
    })?;
    let hex = arn_suffix_id(cloud);
    let arn = format!(
        "arn:aws:elasticloadbalancing:{}:{ACCOUNT}:loadbalancer/app/{name}/{hex}",
        context.region
    );
    let digits = u64::from_str_radix(&hex[..12], 16).unwrap_or_default() % 10_000_000_000;
    let mut balancer = Resource::new(
        Kind::LoadBalancer,
        arn.clone(),
        attributes.clone(),
        tags.clone(),
    );
    balancer.attributes.extend([
        (
            "dns_name".to_string(),
            json!(format!(
                "{name}-{digits:010}.{}.elb.amazonaws.com",
                context.region
            )),
        ),
        ("zone_id".to_string(), json!(zone_id)),
        ("arn_suffix".to_string(), json!(format!("app/{name}/{hex}"))),
    ]);
    balancer
        .internal
        .insert("network_id".to_string(), json!(network_id));
    Ok(cloud.add(context.region, balancer))
}

pub fn update_load_balancer(
    cloud: &mut Cloud,
    context: &Context,
    id: &str,
    after: &Attributes,
) -> Result<(), ProviderError> {
    cloud.target(context.region, Kind::LoadBalancer, id)?;
    let subnet_ids = attributes::string_list(after, "subnet_ids")?;
    let network_id = check_subnets(cloud, context.region, &subnet_ids)?;
    let current_network = cloud
        .target(context.region, Kind::LoadBalancer, id)?
        .internal_text("network_id")
        .unwrap_or_default()
        .to_string();
    if network_id != current_network {
        return Err(api(
            "InvalidConfigurationRequest",
            "A load balancer cannot move to subnets of another VPC",
        ));
    }
    let group_ids = attributes::string_list(after, "security_group_ids")?;
    check_security_groups(cloud, context.region, &network_id, &group_ids)?;
    let mut balancer = cloud.target_mut(context.region, Kind::LoadBalancer, id)?;
    let kept: Vec<(String, Value)> = Kind::LoadBalancer
        .computed_attributes()
        .iter()
        .filter_map(|name| Some((name.to_string(), balancer.attributes.get(*name)?.clone())))
        .collect();
    replace_attributes(&mut balancer, after);
    balancer.attributes.extend(kept);
    Ok(())
}

/// Deletes a balancer and its listeners, as DeleteLoadBalancer does.
pub fn delete_load_balancer(
    cloud: &mut Cloud,
    context: &Context,
    id: &str,
) -> Result<(), ProviderError> {
    cloud.target(context.region, Kind::LoadBalancer, id)?;
    let listeners: Vec<String> = cloud
        .region(context.region)
        .into_iter()
        .flat_map(|state| state.referring("load_balancer_id", id))
        .filter(|resource| resource.kind == Kind::Listener)
        .map(|resource| resource.id.clone())
        .collect();
    for listener in listeners {
        cloud.remove(context.region, &listener);
    }
    cloud.remove_target(context.region, Kind::LoadBalancer, id)
}

/// Refuses a health check AWS refuses.
fn check_health_check(check: &Attributes) -> Result<(), ProviderError> {
    let path = attributes::string(check, "path")?;
    if !path.starts_with('/') {
        return Err(validation(format!(
            "Health check path '{path}' must begin with a '/' character"
        )));
    }
    let interval = attributes::integer(check, "interval")?;
    let timeout = attributes::integer(check, "timeout")?;
    if !(5..=300).contains(&interval) || !(2..=120).contains(&timeout) || timeout >= interval {
        return Err(validation(format!(
            "Health check interval {interval} must be from 5 to 300 and greater than the timeout {timeout}, which must be from 2 to 120"
        )));
    }
    for threshold in ["healthy", "unhealthy"] {
        let count = attributes::integer(check, threshold)?;
        if !(2..=10).contains(&count) {
            return Err(validation(format!(
                "Health check {threshold} threshold count {count} must be from 2 to 10"
            )));
        }
    }
    let port = attributes::string(check, "port")?;
    if port != "traffic-port" && !port.parse::<u16>().is_ok_and(|number| number > 0) {
        return Err(validation(format!(
            "Health check port '{port}' must be 'traffic-port' or a port from 1 to 65535"
        )));
    }
    attributes::string(check, "matcher")?;
    check_protocol(attributes::string(check, "protocol")?)
}

fn check_protocol(protocol: &str) -> Result<(), ProviderError> {
    if matches!(protocol, "HTTP" | "HTTPS") {
        Ok(())
    } else {
        Err(validation(format!(
            "Protocol '{protocol}' must be one of 'HTTP' or 'HTTPS' for an application load balancer"
        )))
    }
}

fn check_port(port: i64) -> Result<(), ProviderError> {
    if (1..=65535).contains(&port) {
        Ok(())
    } else {
        Err(validation(format!("Port {port} must be from 1 to 65535")))
    }
}

fn health_check_of(attributes: &Attributes) -> Result<Attributes, ProviderError> {
    match attributes.get("health_check") {
        Some(Value::Object(fields)) => Ok(fields.clone().into_iter().collect()),
        Some(other) => Err(attributes::invalid(
            "health_check",
            other,
            "expected an object",
        )),
        None => Err(attributes::missing("health_check")),
    }
}

pub fn create_target_group(
    cloud: &mut Cloud,
    context: &Context,
    attributes: &Attributes,
    tags: &Tags,
) -> Result<String, ProviderError> {
    let name = attributes::string(attributes, "name")?.to_string();
    check_new_name(cloud, context.region, Kind::TargetGroup, &name)?;
    let network_id = attributes::string(attributes, "network_id")?;
    cloud.referenced(context.region, Kind::Network, network_id)?;
    check_port(attributes::integer(attributes, "port")?)?;
    check_protocol(attributes::string(attributes, "protocol")?)?;
    check_health_check(&health_check_of(attributes)?)?;
    let hex = arn_suffix_id(cloud);
    let arn = format!(
        "arn:aws:elasticloadbalancing:{}:{ACCOUNT}:targetgroup/{name}/{hex}",
        context.region
    );
    let mut group = Resource::new(
        Kind::TargetGroup,
        arn.clone(),
        attributes.clone(),
        tags.clone(),
    );
    group.attributes.insert(
        "arn_suffix".to_string(),
        json!(format!("targetgroup/{name}/{hex}")),
    );
    Ok(cloud.add(context.region, group))
}

pub fn update_target_group(
    cloud: &mut Cloud,
    context: &Context,
    id: &str,
    after: &Attributes,
) -> Result<(), ProviderError> {
    check_health_check(&health_check_of(after)?)?;
    let mut group = cloud.target_mut(context.region, Kind::TargetGroup, id)?;
    let suffix = group.attributes.get("arn_suffix").cloned();
    replace_attributes(&mut group, after);
    if let Some(suffix) = suffix {
        group.attributes.insert("arn_suffix".to_string(), suffix);
    }
    Ok(())
}

pub fn delete_target_group(
    cloud: &mut Cloud,
    context: &Context,
    id: &str,
) -> Result<(), ProviderError> {
    cloud.remove_unreferenced(
        context.region,
        (Kind::TargetGroup, id),
        Kind::Listener,
        |listener| forwarded(listener).contains_key(id),
        (
            "ResourceInUse",
            format!("The target group '{id}' is currently in use by a listener or a rule"),
        ),
    )
}

/// A listener's target groups and their weights.
pub fn forwarded(listener: &Resource) -> BTreeMap<String, i64> {
    forward_entries(&listener.attributes)
        .filter_map(|(target_group, weight)| {
            Some((
                target_group.as_str()?.to_string(),
                attributes::as_integer(weight?)?,
            ))
        })
        .collect()
}

/// Checks a listener's settings against its balancer and the region's other listeners.
fn check_listener(
    cloud: &Cloud,
    region: &str,
    attributes: &Attributes,
    id: Option<&str>,
) -> Result<(), ProviderError> {
    let balancer_id = attributes::string(attributes, "load_balancer_id")?;
    let balancer = cloud
        .find(region, Kind::LoadBalancer, balancer_id)
        .ok_or_else(|| {
            api(
                "LoadBalancerNotFound",
                format!("Load balancer '{balancer_id}' not found"),
            )
        })?;
    let network_id = balancer.internal_text("network_id").unwrap_or_default();
    let port = attributes::integer(attributes, "port")?;
    check_port(port)?;
    let protocol = attributes::string(attributes, "protocol")?;
    check_protocol(protocol)?;
    let certificate = attributes::optional_string(attributes, "certificate")?;
    if protocol == "HTTPS" && certificate.is_none() {
        return Err(validation(
            "A certificate must be specified for HTTPS listeners",
        ));
    }
    let taken = cloud.all_of(region, Kind::Listener).any(|other| {
        Some(other.id.as_str()) != id
            && other.text("load_balancer_id") == Some(balancer_id)
            && other
                .attributes
                .get("port")
                .and_then(attributes::as_integer)
                == Some(port)
    });
    if taken {
        return Err(api(
            "DuplicateListener",
            "A listener already exists on this port for this load balancer",
        ));
    }
    let listener = Resource::new(
        Kind::Listener,
        String::new(),
        attributes.clone(),
        Tags::new(),
    );
    let forward = forwarded(&listener);
    let entries = attributes::object_list(attributes, "forward")?;
    if forward.is_empty() || forward.len() > FORWARD_LIMIT || entries.len() != forward.len() {
        return Err(validation(
            "A forward action needs one to five distinct target groups",
        ));
    }
    for (group_id, weight) in &forward {
        if !(0..=999).contains(weight) {
            return Err(validation(format!(
                "Target group weight {weight} must be from 0 to 999"
            )));
        }
        cloud.in_network(
            region,
            (Kind::TargetGroup, group_id),
            network_id,
            (
                "TargetGroupNotFound",
                format!("Target groups '{group_id}' not found"),
            ),
            (
                "InvalidConfigurationRequest",
                format!("The target group '{group_id}' is in another VPC than the load balancer"),
            ),
        )?;
        let elsewhere = cloud.all_of(region, Kind::Listener).any(|other| {
            Some(other.id.as_str()) != id
                && other.text("load_balancer_id") != Some(balancer_id)
                && forwarded(other).contains_key(group_id)
        });
        if elsewhere {
            return Err(api(
                "TargetGroupAssociationLimit",
                format!(
                    "The following target groups cannot be associated with more than one load balancer: {group_id}"
                ),
            ));
        }
    }
    if forward.values().all(|weight| *weight == 0) {
        return Err(validation(
            "At least one target group weight must be above 0",
        ));
    }
    Ok(())
}

pub fn create_listener(
    cloud: &mut Cloud,
    context: &Context,
    attributes: &Attributes,
    tags: &Tags,
) -> Result<String, ProviderError> {
    check_listener(cloud, context.region, attributes, None)?;
    let balancer_id = attributes::string(attributes, "load_balancer_id")?;
    let hex = arn_suffix_id(cloud);
    let balancer_part = balancer_id
        .split_once(":loadbalancer/")
        .map(|(_, part)| part.to_string())
        .unwrap_or_default();
    let arn = format!(
        "arn:aws:elasticloadbalancing:{}:{ACCOUNT}:listener/{balancer_part}/{hex}",
        context.region
    );
    let listener = Resource::new(Kind::Listener, arn, attributes.clone(), tags.clone());
    Ok(cloud.add(context.region, listener))
}

pub fn update_listener(
    cloud: &mut Cloud,
    context: &Context,
    id: &str,
    after: &Attributes,
) -> Result<(), ProviderError> {
    cloud.target(context.region, Kind::Listener, id)?;
    check_listener(cloud, context.region, after, Some(id))?;
    cloud.replace_target(context.region, Kind::Listener, id, after)
}

pub fn delete_listener(
    cloud: &mut Cloud,
    context: &Context,
    id: &str,
) -> Result<(), ProviderError> {
    cloud.remove_target(context.region, Kind::Listener, id)
}

/// RegisterTargets (`register`) or DeregisterTargets of `instances` in target group
/// `group_id`.
pub fn set_registered(
    cloud: &mut Cloud,
    context: &Context,
    group_id: &str,
    instances: &[String],
    register: bool,
) -> Result<(), ProviderError> {
    cloud.target(context.region, Kind::TargetGroup, group_id)?;
    if register {
        for instance in instances {
            let known = cloud
                .find(context.region, Kind::Instance, instance)
                .is_some_and(|found| found.text("state") != Some("terminated"));
            if !known {
                return Err(api(
                    "InvalidTarget",
                    format!(
                        "The following targets are not in a running state and cannot be registered: '{instance}'"
                    ),
                ));
            }
        }
    }
    let (added, removed) = if register {
        (REGISTERED, DEREGISTERED)
    } else {
        (DEREGISTERED, REGISTERED)
    };
    let mut group = cloud.target_mut(context.region, Kind::TargetGroup, group_id)?;
    let mut add = attributes::string_list(&group.internal, added).unwrap_or_default();
    let mut remove = attributes::string_list(&group.internal, removed).unwrap_or_default();
    for instance in instances {
        remove.retain(|listed| listed != instance);
        if !add.contains(instance) {
            add.push(instance.clone());
        }
    }
    group.internal.insert(added.to_string(), json!(add));
    group.internal.insert(removed.to_string(), json!(remove));
    Ok(())
}

/// Whether an instance fails its health checks: its own mark, else its image's.
fn fails_checks(cloud: &Cloud, instance: &Resource) -> bool {
    match instance.internal_text(INSTANCE_HEALTH) {
        Some(health) => health == UNHEALTHY,
        None => instance
            .text("image")
            .is_some_and(|image| cloud.unhealthy_images.contains(image)),
    }
}

/// The targets of target group `group_id`: the instances of every group that registers in
/// it but those deregistered by hand, and those registered by hand, each with its health, in
/// instance id order.
pub fn targets(cloud: &Cloud, region: &str, group_id: &str) -> Vec<(String, &'static str)> {
    let by_hand = |key: &str| {
        cloud
            .find(region, Kind::TargetGroup, group_id)
            .and_then(|group| attributes::string_list(&group.internal, key).ok())
            .unwrap_or_default()
    };
    let (registered, deregistered) = (by_hand(REGISTERED), by_hand(DEREGISTERED));
    let registering: BTreeSet<&str> = cloud
        .all_of(region, Kind::AutoscalingGroup)
        .filter(|group| {
            attributes::string_list(&group.attributes, "target_group_ids")
                .is_ok_and(|ids| ids.iter().any(|id| id == group_id))
        })
        .map(|group| group.id.as_str())
        .collect();
    let used = cloud
        .all_of(region, Kind::Listener)
        .any(|listener| forwarded(listener).contains_key(group_id));
    cloud
        .all_of(region, Kind::Instance)
        .filter(|instance| {
            let by_group = instance
                .internal_text(GROUP)
                .is_some_and(|group| registering.contains(group));
            (by_group && !deregistered.contains(&instance.id)) || registered.contains(&instance.id)
        })
        .map(|instance| {
            let health = if !used {
                UNUSED
            } else if instance.text("state") != Some("running")
                || super::compute::checking_health(instance, cloud.now())
            {
                INITIAL
            } else if fails_checks(cloud, instance) {
                UNHEALTHY
            } else {
                HEALTHY
            };
            (instance.id.clone(), health)
        })
        .collect()
}

/// Whether the balancer's target groups judge `instance` unhealthy (how a group with the
/// `ELB` health check type sees it).
pub fn judged_unhealthy(cloud: &Cloud, region: &str, group: &Resource, instance_id: &str) -> bool {
    attributes::string_list(&group.attributes, "target_group_ids")
        .unwrap_or_default()
        .iter()
        .any(|group_id| {
            targets(cloud, region, group_id)
                .iter()
                .any(|(id, health)| id == instance_id && *health == UNHEALTHY)
        })
}

/// The balancer whose DNS name is `dns_name`, with its region, wherever it is.
pub fn balancer_named<'a>(cloud: &'a Cloud, dns_name: &str) -> Option<(&'a str, &'a Resource)> {
    cloud.regions.iter().find_map(|(region, state)| {
        state
            .of_kind(Kind::LoadBalancer)
            .find(|resource| {
                resource
                    .text("dns_name")
                    .is_some_and(|name| name.eq_ignore_ascii_case(dns_name.trim_end_matches('.')))
            })
            .map(|resource| (region.as_str(), resource))
    })
}

/// How the traffic of a balancer's listeners fares right now: for each listener, its target
/// groups' share of the traffic (by weight) with their healthy and unhealthy targets.
pub fn traffic(cloud: &Cloud, region: &str, balancer_id: &str) -> Vec<Vec<(f64, usize, usize)>> {
    cloud
        .all_of(region, Kind::Listener)
        .filter(|listener| listener.text("load_balancer_id") == Some(balancer_id))
        .map(|listener| {
            let forward = forwarded(listener);
            let total: i64 = forward.values().sum();
            forward
                .iter()
                .map(|(group_id, weight)| {
                    let share = if total > 0 {
                        *weight as f64 / total as f64
                    } else {
                        0.0
                    };
                    let found = targets(cloud, region, group_id);
                    let healthy = found
                        .iter()
                        .filter(|(_, health)| *health == HEALTHY)
                        .count();
                    let unhealthy = found
                        .iter()
                        .filter(|(_, health)| *health == UNHEALTHY)
                        .count();
                    (share, healthy, unhealthy)
                })
                .collect()
        })
        .collect()
}

/// Whether the balancer at `dns_name` answers health checks on `port`: its region is up and a
/// listener on that port forwards to a target group with a healthy target.
pub fn answers(cloud: &Cloud, outages: &BTreeSet<String>, dns_name: &str, port: i64) -> bool {
    let Some((region, balancer)) = balancer_named(cloud, dns_name) else {
        return false;
    };
    if outages.contains(region) {
        return false;
    }
    cloud
        .all_of(region, Kind::Listener)
        .filter(|listener| {
            listener.text("load_balancer_id") == Some(balancer.id.as_str())
                && listener
                    .attributes
                    .get("port")
                    .and_then(attributes::as_integer)
                    == Some(port)
        })
        .any(|listener| {
            forwarded(listener).keys().any(|group_id| {
                targets(cloud, region, group_id)
                    .iter()
                    .any(|(_, health)| *health == HEALTHY)
            })
        })
}
