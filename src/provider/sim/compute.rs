//! Launch templates (with their versions) and instances.
//!
//! A launch template update makes a new version and bumps `latest_version`; earlier versions
//! stay available to autoscaling groups that pin them. An instance starts `pending` and is
//! `running` from the next call to its region on (with a timing profile, once its boot time
//! has passed on the cloud's clock, and its health checks pass a while later); it gets a
//! private address from its subnet (AWS reserves the first four and the last address of
//! every subnet).

use super::attributes;
use super::cloud::{Cloud, Resource};
use super::error::api;
use super::network::replace_attributes;
use super::operations::Context;
use crate::model::cloud::LAUNCH_TEMPLATE_VERSION_FIELDS;
use crate::model::{Attributes, Kind, Tags, Value, limits};
use crate::provider::ProviderError;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;
use std::net::Ipv4Addr;

/// Internal key: every version's settings, version 1 first.
const VERSIONS: &str = "versions";
/// Internal key: the zone an instance runs in.
pub const ZONE: &str = "zone";
/// Internal key: the call that launched an instance.
pub const LAUNCHED_AT: &str = "launched_sequence";
/// Internal key: with a timing profile, when a launched instance is `running` (RFC 3339, on
/// the cloud's clock).
pub const RUNNING_AT: &str = "running_at";
/// Internal key: with a timing profile, when a launched instance passes its health checks.
const HEALTHY_AT: &str = "healthy_at";
/// Internal key: the autoscaling group an instance belongs to.
pub const GROUP: &str = "group";
/// Internal key: the launch template version an instance was launched from.
pub const TEMPLATE_VERSION: &str = "launch_template_version";
/// Internal key: the launch template an instance was launched from (absent on instances of
/// older cloud files).
pub const TEMPLATE_ID: &str = "launch_template_id";
/// The tag AWS puts on instances launched by an autoscaling group.
pub const GROUP_TAG: &str = "aws:autoscaling:groupName";

pub fn create_launch_template(
    cloud: &mut Cloud,
    context: &Context,
    attributes: &Attributes,
    tags: &Tags,
) -> Result<String, ProviderError> {
    let name = attributes::string(attributes, "name")?;
    if limits::check_name(Kind::LaunchTemplate, name).is_err() {
        return Err(api(
            "InvalidLaunchTemplateName.MalformedException",
            format!("The launch template name '{name}' is malformed."),
        ));
    }
    cloud.ensure_unique_name(
        context.region,
        Kind::LaunchTemplate,
        name,
        "InvalidLaunchTemplateName.AlreadyExistsException",
        || format!("Launch template name '{name}' already in use."),
    )?;
    let version = check_version(cloud, context, attributes)?;
    let mut template = cloud.new_resource(Kind::LaunchTemplate, attributes, tags);
    template
        .attributes
        .insert("latest_version".to_string(), json!(1));
    template
        .internal
        .insert(VERSIONS.to_string(), json!([version]));
    Ok(cloud.add(context.region, template))
}

pub fn update_launch_template(
    cloud: &mut Cloud,
    context: &Context,
    id: &str,
    after: &Attributes,
) -> Result<(), ProviderError> {
    let version = check_version(cloud, context, after)?;
    let mut template = cloud.target_mut(context.region, Kind::LaunchTemplate, id)?;
    let mut versions = template
        .internal
        .get(VERSIONS)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    // Only a change of the template's settings makes a version; a tag change does not.
    if versions.last() != Some(&version) {
        versions.push(version);
    }
    let latest = versions.len();
    replace_attributes(&mut template, after);
    template
        .attributes
        .insert("latest_version".to_string(), json!(latest));
    template
        .internal
        .insert(VERSIONS.to_string(), Value::Array(versions));
    Ok(())
}

pub fn delete_launch_template(
    cloud: &mut Cloud,
    context: &Context,
    id: &str,
) -> Result<(), ProviderError> {
    cloud.remove_target(context.region, Kind::LaunchTemplate, id)
}

/// Validates a template's settings and returns them as one version.
fn check_version(
    cloud: &Cloud,
    context: &Context,
    attributes: &Attributes,
) -> Result<Value, ProviderError> {
    attributes::optional_string(attributes, "image")?;
    attributes::optional_string(attributes, "instance_type")?;
    attributes::optional_string(attributes, "user_data")?;
    if let Some(tokens) = attributes::optional_string(attributes, "http_tokens")?
        && tokens != "required"
        && tokens != "optional"
    {
        return Err(api(
            "InvalidParameterValue",
            format!("Value ({tokens}) for parameter HttpTokens is invalid"),
        ));
    }
    for group_id in attributes::string_list(attributes, "security_group_ids")? {
        cloud.referenced(context.region, Kind::SecurityGroup, &group_id)?;
    }
    for volume in attributes::object_list(attributes, "volumes")? {
        attributes::string(&volume, "device")?;
        let size = attributes::integer(&volume, "size_gb")?;
        if !limits::VOLUME_SIZE_GB.contains(&u64::try_from(size).unwrap_or(0)) {
            return Err(api(
                "InvalidParameterValue",
                format!("Volume of {size} GiB is out of the range 1-16384"),
            ));
        }
        attributes::optional_bool(&volume, "encrypted")?;
    }
    let version: serde_json::Map<String, Value> = LAUNCH_TEMPLATE_VERSION_FIELDS
        .iter()
        .filter_map(|field| Some((field.to_string(), attributes.get(*field)?.clone())))
        .collect();
    Ok(Value::Object(version))
}

/// The settings of `version` of a template: `$Latest`, `$Default` (version 1), or a number
/// (given as a number or as text).
///
/// # Errors
/// `ValidationError` when the template or the version does not exist.
pub fn template_version(
    cloud: &Cloud,
    region: &str,
    template_id: &str,
    version: Option<&Value>,
) -> Result<(i64, Attributes), ProviderError> {
    let template = cloud
        .find(region, Kind::LaunchTemplate, template_id)
        .ok_or_else(|| {
            api(
                "ValidationError",
                format!(
                    "The specified launch template, with template ID {template_id}, does not exist."
                ),
            )
        })?;
    let versions = template
        .internal
        .get(VERSIONS)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let latest = versions.len() as i64;
    let number = match version {
        None | Some(Value::Null) => Some(1),
        Some(Value::String(text)) if text == "$Latest" => Some(latest),
        Some(Value::String(text)) if text == "$Default" => Some(1),
        Some(Value::String(text)) => text.parse().ok(),
        Some(other) => attributes::as_integer(other),
    };
    let Some(number) = number.filter(|number| (1..=latest).contains(number)) else {
        return Err(api(
            "ValidationError",
            format!(
                "The specified launch template version {} of {template_id} does not exist.",
                version.map(Value::to_string).unwrap_or_default()
            ),
        ));
    };
    let settings = versions
        .get((number - 1) as usize)
        .and_then(Value::as_object)
        .map(|map| map.clone().into_iter().collect())
        .unwrap_or_default();
    Ok((number, settings))
}

pub fn create_instance(
    cloud: &mut Cloud,
    context: &Context,
    attributes: &Attributes,
    tags: &Tags,
) -> Result<String, ProviderError> {
    attributes::string(attributes, "image")?;
    attributes::string(attributes, "instance_type")?;
    let subnet_id = attributes::string(attributes, "subnet_id")?;
    let subnet = cloud.referenced(context.region, Kind::Subnet, subnet_id)?;
    let network_id = subnet.text("network_id").unwrap_or_default().to_string();
    check_instance_groups(cloud, context, &network_id, attributes)?;
    launch(
        cloud,
        context,
        attributes.clone(),
        tags.clone(),
        Attributes::new(),
    )
}

pub fn update_instance(
    cloud: &mut Cloud,
    context: &Context,
    id: &str,
    after: &Attributes,
) -> Result<(), ProviderError> {
    let instance = cloud.target(context.region, Kind::Instance, id)?;
    let subnet_id = instance.text("subnet_id").unwrap_or_default();
    let network_id = cloud
        .find(context.region, Kind::Subnet, subnet_id)
        .and_then(|subnet| subnet.text("network_id"))
        .unwrap_or_default()
        .to_string();
    check_instance_groups(cloud, context, &network_id, after)?;
    let mut instance = cloud.target_mut(context.region, Kind::Instance, id)?;
    let kept: Vec<(String, Value)> = ["state", "private_ip"]
        .iter()
        .filter_map(|name| Some((name.to_string(), instance.attributes.get(*name)?.clone())))
        .collect();
    replace_attributes(&mut instance, after);
    instance.attributes.extend(kept);
    Ok(())
}

pub fn delete_instance(
    cloud: &mut Cloud,
    context: &Context,
    id: &str,
) -> Result<(), ProviderError> {
    // A terminated instance leaves at once; an autoscaling group replaces it on a later call.
    cloud.remove_target(context.region, Kind::Instance, id)
}

fn check_instance_groups(
    cloud: &Cloud,
    context: &Context,
    network_id: &str,
    attributes: &Attributes,
) -> Result<(), ProviderError> {
    for group_id in attributes::string_list(attributes, "security_group_ids")? {
        let group = cloud.referenced(context.region, Kind::SecurityGroup, &group_id)?;
        if group.text("network_id") != Some(network_id) {
            return Err(api(
                "InvalidParameter",
                format!("Security group {group_id} and subnet belong to different networks."),
            ));
        }
    }
    Ok(())
}

/// AWS's message for an image id that is not `ami-` and 8 or 17 lowercase hexadecimal digits,
/// or `None` for a well-formed one. A launch template takes such an id (AWS only warns); the
/// launch refuses it.
pub fn malformed_image(image: &str) -> Option<String> {
    (!limits::is_image_id(image))
        .then(|| format!("Invalid id: \"{image}\" (expecting \"ami-...\")"))
}

/// Starts one instance in `attributes["subnet_id"]`: `pending`, with a private address.
///
/// # Errors
/// `InsufficientFreeAddressesInSubnet` when the subnet is full.
pub fn launch(
    cloud: &mut Cloud,
    context: &Context,
    mut attributes: Attributes,
    tags: Tags,
    mut internal: Attributes,
) -> Result<String, ProviderError> {
    let subnet_id = attributes::string(&attributes, "subnet_id")?.to_string();
    if let Some(image) = attributes::optional_string(&attributes, "image")? {
        if let Some(malformed) = malformed_image(image) {
            return Err(api("InvalidAMIID.Malformed", malformed));
        }
        if cloud.image_missing(context.region, image) {
            return Err(api(
                "InvalidAMIID.NotFound",
                format!("The image id '[{image}]' does not exist"),
            ));
        }
    }
    cloud.check_quota(
        context.region,
        crate::provider::QuotaName::RunningInstances,
        &context.timings,
    )?;
    let subnet = cloud.referenced(context.region, Kind::Subnet, &subnet_id)?;
    let zone = subnet.internal_text(ZONE).unwrap_or_default().to_string();
    let address = free_address(cloud, context.region, subnet)?;
    let id = cloud.new_id_for(Kind::Instance);
    attributes.insert("state".to_string(), json!("pending"));
    attributes.insert("private_ip".to_string(), json!(address.to_string()));
    internal.insert(ZONE.to_string(), json!(zone));
    internal.insert(LAUNCHED_AT.to_string(), json!(context.sequence));
    if !context.timings.is_instant() {
        let after = |duration: std::time::Duration| {
            chrono::Duration::from_std(duration)
                .ok()
                .and_then(|duration| context.now.checked_add_signed(duration))
                .map(|time| json!(time.to_rfc3339_opts(SecondsFormat::Secs, true)))
        };
        let boot = context.timings.boot();
        if let Some(running_at) = after(boot) {
            internal.insert(RUNNING_AT.to_string(), running_at);
        }
        if let Some(healthy_at) = after(boot + context.timings.health_check()) {
            internal.insert(HEALTHY_AT.to_string(), healthy_at);
        }
    }
    let mut instance = Resource::new(Kind::Instance, id.clone(), attributes, tags);
    instance.internal = internal;
    cloud.insert(context.region, instance);
    Ok(id)
}

/// A free private address of `subnet`: the one after the highest taken, or when that is the
/// last usable one, the lowest free. AWS picks any free address; starting above the highest
/// makes a launch cost a lookup rather than a walk over the subnet's instances, which made
/// filling a large subnet quadratic (issue 14).
fn free_address(cloud: &Cloud, region: &str, subnet: &Resource) -> Result<Ipv4Addr, ProviderError> {
    let block: ipnet::Ipv4Net = subnet
        .text("cidr")
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| {
            api(
                "InvalidSubnet",
                format!("subnet {} has no valid cidr", subnet.id),
            )
        })?;
    let first = u32::from(block.network()) + 4;
    let last = u32::from(block.broadcast()).saturating_sub(1);
    let Some(state) = cloud.region(region) else {
        return Ok(Ipv4Addr::from(first));
    };
    let highest = state.addresses_in(&subnet.id).next_back().map(u32::from);
    let free = match highest {
        None => Some(first),
        Some(highest) if highest < last => Some(first.max(highest + 1)),
        Some(_) => lowest_free(state.addresses_in(&subnet.id).map(u32::from), first, last),
    };
    free.map(Ipv4Addr::from).ok_or_else(|| {
        api(
            "InsufficientFreeAddressesInSubnet",
            format!("There are not enough free addresses in subnet '{}' to satisfy the requested number of instances.", subnet.id),
        )
    })
}

/// The lowest address in `first..=last` not in `taken` (in ascending order).
fn lowest_free(taken: impl Iterator<Item = u32>, first: u32, last: u32) -> Option<u32> {
    let mut candidate = first;
    for address in taken.filter(|address| *address >= first) {
        if address > candidate {
            break;
        }
        candidate = address + 1;
    }
    (candidate <= last).then_some(candidate)
}

/// The time an internal key of `instance` holds.
fn internal_time(instance: &Resource, key: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(instance.internal_text(key)?)
        .ok()
        .map(|time| time.with_timezone(&Utc))
}

/// Whether `instance` is still within its health-check delay at `now` (launched under a
/// timing profile, not yet past its checks): its targets are `initial`.
pub fn checking_health(instance: &Resource, now: DateTime<Utc>) -> bool {
    internal_time(instance, HEALTHY_AT).is_some_and(|healthy_at| now < healthy_at)
}

/// Moves instances launched by earlier calls from `pending` to `running` (under a timing
/// profile, those whose boot time has passed).
pub fn start_pending(cloud: &mut Cloud, context: &Context) {
    let Some(state) = cloud.regions.get_mut(context.region) else {
        return;
    };
    // Only the pending instances whose boot time has come are looked at (the region keeps
    // them apart by that time), so a call costs what is starting, not the size of the region
    // nor the number of instances still booting.
    let now = context.now.to_rfc3339_opts(SecondsFormat::Secs, true);
    for id in state.booting_by(&now) {
        let Some(instance) = state.get(&id) else {
            continue;
        };
        let launched = instance
            .internal
            .get(LAUNCHED_AT)
            .and_then(Value::as_u64)
            .unwrap_or_default();
        let booted = match internal_time(instance, RUNNING_AT) {
            Some(running_at) => context.now >= running_at,
            None => launched < context.sequence,
        };
        if booted && let Some(mut instance) = state.get_mut(&id) {
            instance
                .attributes
                .insert("state".to_string(), json!("running"));
        }
    }
}
