//! `autoscaling_group` → Auto Scaling group (its id is its name).
//!
//! Batching: DescribeAutoScalingGroups filters by tag (`tag:cairn:stack`, `tag:cairn:env`),
//! 100 groups per page; the computed `instances` need each instance's subnet, which only EC2
//! knows, so one DescribeInstances call (by instance id, paged) covers the instances of all
//! groups read.
//!
//! Ownership tags are set with `PropagateAtLaunch = false`: instances the group launches are
//! the group's, and must not look like standalone instances this stack owns (a refresh of
//! `instance` would otherwise adopt them). User tags do propagate.

use super::consistency::until_visible;
use super::context::{RegionContext, Selector};
use super::shared::Groups;
use super::{attributes, instance};
use crate::model::{Attributes, Kind, TAG_ENV, TAG_STACK, Tags, Value};
use crate::provider::{CreateRequest, LiveResource, ProviderError, UpdateRequest};
use aws_sdk_autoscaling::types::{AutoScalingGroup, Filter, LaunchTemplateSpecification, Tag};

const RESOURCE_TYPE: &str = "auto-scaling-group";

/// The groups `selector` picks; an owner's are those the read session listed already, if it
/// did (the scaling policy read lists them too).
pub(super) async fn groups(
    context: &RegionContext,
    selector: Selector<'_>,
) -> Result<Groups, ProviderError> {
    context
        .shared
        .groups(&context.region, selector.owner(), || {
            list(context, selector)
        })
        .await
}

/// Lists the groups `selector` picks.
async fn list(context: &RegionContext, selector: Selector<'_>) -> Result<Groups, ProviderError> {
    let pages = context
        .read_pages(
            |token| {
                let call = context
                    .autoscaling
                    .describe_auto_scaling_groups()
                    .set_next_token(token);
                match selector {
                    Selector::Owner(owner) => call
                        .filters(
                            Filter::builder()
                                .name(format!("tag:{TAG_STACK}"))
                                .values(&owner.stack)
                                .build(),
                        )
                        .filters(
                            Filter::builder()
                                .name(format!("tag:{TAG_ENV}"))
                                .values(&owner.env)
                                .build(),
                        )
                        .max_records(context.page(100)),
                    Selector::Id(name) => call.auto_scaling_group_names(name),
                    Selector::All => call.max_records(context.page(100)),
                }
                .send()
            },
            |page| page.next_token(),
        )
        .await
        .map_err(|error| selector.error(Kind::AutoscalingGroup, &context.region, error))?;
    Ok(pages
        .into_iter()
        .flat_map(|page| page.auto_scaling_groups.unwrap_or_default())
        // A group being deleted (ForceDelete is asynchronous on AWS) is already gone for
        // the plan.
        .filter(|group| group.status().is_none())
        .collect())
}

/// The tags of a group, ownership tags included.
pub(super) fn group_tags(group: &AutoScalingGroup) -> Tags {
    group
        .tags()
        .iter()
        .filter_map(|tag| {
            Some((
                tag.key()?.to_string(),
                tag.value().unwrap_or("").to_string(),
            ))
        })
        .collect()
}

/// A launch template version as the contract holds it: a number when it is one, otherwise
/// the alias (`$Latest`, `$Default`).
fn version_value(version: &str) -> Value {
    version
        .parse::<i64>()
        .map(Value::from)
        .unwrap_or_else(|_| Value::from(version))
}

fn version_text(attributes: &Attributes) -> Result<String, ProviderError> {
    match attributes.get("launch_template_version") {
        Some(Value::String(text)) => Ok(text.clone()),
        Some(Value::Number(number)) => Ok(number.to_string()),
        // No version means the template's default one, as AWS does.
        None | Some(Value::Null) => Ok("$Default".to_string()),
        Some(other) => Err(ProviderError::Api {
            code: "InvalidAttribute".to_string(),
            message: format!(
                "attribute `launch_template_version` must be a version number or alias, found `{other}`"
            ),
        }),
    }
}

pub(super) async fn describe(
    context: &RegionContext,
    selector: Selector<'_>,
) -> Result<Vec<LiveResource>, ProviderError> {
    let groups = groups(context, selector).await?;
    let instance_ids: Vec<String> = groups
        .iter()
        .flat_map(|group| group.instances())
        .filter_map(|instance| instance.instance_id().map(str::to_string))
        .collect();
    let details = instance::placements(context, &instance_ids).await?;
    Ok(groups
        .iter()
        .filter_map(|group| {
            let name = group.auto_scaling_group_name()?;
            let template = group.launch_template();
            let subnet_ids = group
                .vpc_zone_identifier()
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|subnet| !subnet.is_empty())
                .map(str::to_string);
            let mut instances: Vec<(String, Value)> = group
                .instances()
                .iter()
                .filter_map(|member| {
                    let id = member.instance_id()?;
                    let placement = details.get(id);
                    Some((
                        id.to_string(),
                        attributes::object(Attributes::from([
                            ("id".to_string(), Value::from(id)),
                            (
                                "zone".to_string(),
                                Value::from(member.availability_zone().unwrap_or_default()),
                            ),
                            (
                                "subnet_id".to_string(),
                                Value::from(
                                    placement
                                        .map(|placement| placement.subnet_id.as_str())
                                        .unwrap_or_default(),
                                ),
                            ),
                            (
                                "state".to_string(),
                                Value::from(
                                    placement
                                        .map(|placement| placement.state.as_str())
                                        .unwrap_or("pending"),
                                ),
                            ),
                            (
                                "health".to_string(),
                                Value::from(
                                    member
                                        .health_status()
                                        .unwrap_or("Healthy")
                                        .to_ascii_lowercase(),
                                ),
                            ),
                            // What the instance runs, for rollouts to tell old from new.
                            (
                                "launch_template_version".to_string(),
                                member
                                    .launch_template()
                                    .and_then(|template| template.version())
                                    .map(version_value)
                                    .unwrap_or(Value::Null),
                            ),
                            // And from which template: after a template is replaced, old
                            // instances run a version of the one that is gone.
                            (
                                "launch_template_id".to_string(),
                                member
                                    .launch_template()
                                    .and_then(|template| template.launch_template_id())
                                    .map(Value::from)
                                    .unwrap_or(Value::Null),
                            ),
                        ])),
                    ))
                })
                .collect();
            instances.sort_by(|left, right| left.0.cmp(&right.0));
            let attributes = Attributes::from([
                ("name".to_string(), Value::from(name)),
                (
                    "launch_template_id".to_string(),
                    Value::from(
                        template
                            .and_then(|template| template.launch_template_id())
                            .unwrap_or_default(),
                    ),
                ),
                (
                    "launch_template_version".to_string(),
                    version_value(
                        template
                            .and_then(|template| template.version())
                            .unwrap_or("$Default"),
                    ),
                ),
                ("subnet_ids".to_string(), attributes::string_set(subnet_ids)),
                (
                    "min".to_string(),
                    Value::from(group.min_size().unwrap_or_default()),
                ),
                (
                    "max".to_string(),
                    Value::from(group.max_size().unwrap_or_default()),
                ),
                (
                    "desired".to_string(),
                    Value::from(group.desired_capacity().unwrap_or_default()),
                ),
                (
                    "target_group_ids".to_string(),
                    attributes::string_set(group.target_group_arns().iter().cloned()),
                ),
                (
                    "health_check_type".to_string(),
                    Value::from(group.health_check_type().unwrap_or("EC2")),
                ),
                (
                    "instances".to_string(),
                    Value::from(
                        instances
                            .into_iter()
                            .map(|(_, instance)| instance)
                            .collect::<Vec<_>>(),
                    ),
                ),
            ]);
            Some(context.live(Kind::AutoscalingGroup, name, attributes, group_tags(group)))
        })
        .collect())
}

fn tag(name: &str, key: &str, value: &str) -> Tag {
    Tag::builder()
        .resource_id(name)
        .resource_type(RESOURCE_TYPE)
        .key(key)
        .value(value)
        .propagate_at_launch(!key.starts_with("cairn:"))
        .build()
}

/// The group's sizes, template and subnets as the attributes ask for them.
struct Shape {
    template: LaunchTemplateSpecification,
    subnets: String,
    min: i32,
    max: i32,
    desired: i32,
    /// The target groups its instances are registered in.
    target_groups: Vec<String>,
    /// `EC2`, or `ELB` to replace what the load balancer finds unhealthy.
    health_check_type: String,
}

fn shape(attributes: &Attributes) -> Result<Shape, ProviderError> {
    Ok(Shape {
        template: LaunchTemplateSpecification::builder()
            .launch_template_id(attributes::string(attributes, "launch_template_id")?)
            .version(version_text(attributes)?)
            .build(),
        subnets: attributes::strings(attributes, "subnet_ids")?.join(","),
        min: attributes::integer32(attributes, "min")?,
        max: attributes::integer32(attributes, "max")?,
        desired: attributes::integer32(attributes, "desired")?,
        // A state written before groups had target groups holds neither attribute.
        target_groups: match attributes.get("target_group_ids") {
            None | Some(Value::Null) => Vec::new(),
            Some(_) => attributes::strings(attributes, "target_group_ids")?,
        },
        health_check_type: attributes::optional_string(attributes, "health_check_type")?
            .unwrap_or_else(|| "EC2".to_string()),
    })
}

pub(super) async fn create(
    context: &RegionContext,
    request: &CreateRequest,
) -> Result<String, ProviderError> {
    let name = attributes::string(&request.attributes, "name")?;
    let shape = shape(&request.attributes)?;
    // CreateAutoScalingGroup takes no token; a retry after a lost answer fails with
    // AlreadyExists, and the refresh adopts the group by its tags.
    let call = context
        .autoscaling
        .create_auto_scaling_group()
        .auto_scaling_group_name(&name)
        .launch_template(shape.template)
        .vpc_zone_identifier(shape.subnets)
        .min_size(shape.min)
        .max_size(shape.max)
        .desired_capacity(shape.desired)
        .set_target_group_arns((!shape.target_groups.is_empty()).then_some(shape.target_groups))
        .health_check_type(shape.health_check_type)
        .set_tags(Some(
            request
                .tags
                .iter()
                .map(|(key, value)| tag(&name, key, value))
                .collect(),
        ));
    context.mutate_visible(|| call.clone().send()).await?;
    Ok(name)
}

pub(super) async fn update(
    context: &RegionContext,
    current: &LiveResource,
    request: &UpdateRequest,
) -> Result<(), ProviderError> {
    let about = |error: super::error::CallError| {
        error.about(Kind::AutoscalingGroup, &context.region, &request.id)
    };
    let registered = shape(&current.attributes)?.target_groups;
    let shape = shape(&request.after)?;
    let call = context
        .autoscaling
        .update_auto_scaling_group()
        .auto_scaling_group_name(&request.id)
        .launch_template(shape.template)
        .vpc_zone_identifier(shape.subnets)
        .min_size(shape.min)
        .max_size(shape.max)
        .desired_capacity(shape.desired)
        .health_check_type(shape.health_check_type);
    until_visible(|| context.mutate(call.clone().send()))
        .await
        .map_err(about)?;
    // Target groups are attached and detached by their own calls; registering the group's
    // instances is then AWS's work.
    let attach: Vec<String> = shape
        .target_groups
        .iter()
        .filter(|group| !registered.contains(group))
        .cloned()
        .collect();
    let detach: Vec<String> = registered
        .iter()
        .filter(|group| !shape.target_groups.contains(group))
        .cloned()
        .collect();
    if !attach.is_empty() {
        let call = context
            .autoscaling
            .attach_load_balancer_target_groups()
            .auto_scaling_group_name(&request.id)
            .set_target_group_arns(Some(attach));
        context.mutate(call.send()).await.map_err(about)?;
    }
    if !detach.is_empty() {
        let call = context
            .autoscaling
            .detach_load_balancer_target_groups()
            .auto_scaling_group_name(&request.id)
            .set_target_group_arns(Some(detach));
        context.mutate(call.send()).await.map_err(about)?;
    }
    Ok(())
}

/// Brings the group's tags to `desired` with CreateOrUpdateTags/DeleteTags.
pub(super) async fn sync_tags(
    context: &RegionContext,
    current: &LiveResource,
    desired: &Tags,
) -> Result<(), ProviderError> {
    let (set, remove) = super::tags::difference(&current.tags, desired);
    change_tags(context, &current.id, &set, &remove).await
}

/// Makes the group's ownership tags exactly `ownership` (see
/// [`crate::provider::Provider::set_ownership`]).
pub(super) async fn set_ownership(
    context: &RegionContext,
    current: &LiveResource,
    ownership: &Tags,
) -> Result<(), ProviderError> {
    let (set, remove) = super::tags::ownership_difference(&current.tags, ownership);
    change_tags(context, &current.id, &set, &remove).await
}

/// Sets `set` and removes `remove` on the group with CreateOrUpdateTags/DeleteTags, making
/// no call for an empty change.
async fn change_tags(
    context: &RegionContext,
    name: &str,
    set: &Tags,
    remove: &[String],
) -> Result<(), ProviderError> {
    let about =
        |error: super::error::CallError| error.about(Kind::AutoscalingGroup, &context.region, name);
    if !set.is_empty() {
        let call = context.autoscaling.create_or_update_tags().set_tags(Some(
            set.iter()
                .map(|(key, value)| tag(name, key, value))
                .collect(),
        ));
        context.mutate(call.send()).await.map_err(about)?;
    }
    if !remove.is_empty() {
        let call = context.autoscaling.delete_tags().set_tags(Some(
            remove
                .iter()
                .map(|key| {
                    Tag::builder()
                        .resource_id(name)
                        .resource_type(RESOURCE_TYPE)
                        .key(key)
                        .build()
                })
                .collect(),
        ));
        context.mutate(call.send()).await.map_err(about)?;
    }
    Ok(())
}

/// TerminateInstanceInAutoScalingGroup, lowering the desired capacity (see
/// [`crate::provider::Provider::terminate_in_group`]).
pub(super) async fn terminate_instance(
    context: &RegionContext,
    instance: &str,
) -> Result<(), ProviderError> {
    context
        .mutate(
            context
                .autoscaling
                .terminate_instance_in_auto_scaling_group()
                .instance_id(instance)
                .should_decrement_desired_capacity(true)
                .send(),
        )
        .await
        .map_err(|error| error.about(Kind::Instance, &context.region, instance))?;
    Ok(())
}

pub(super) async fn delete(context: &RegionContext, name: &str) -> Result<(), ProviderError> {
    // ForceDelete terminates the group's instances with it; without it AWS refuses to
    // delete a group that still has instances.
    context
        .mutate(
            context
                .autoscaling
                .delete_auto_scaling_group()
                .auto_scaling_group_name(name)
                .force_delete(true)
                .send(),
        )
        .await
        .map_err(|error| error.about(Kind::AutoscalingGroup, &context.region, name))?;
    Ok(())
}
