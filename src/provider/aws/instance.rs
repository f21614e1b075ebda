//! `instance` → EC2 instance. Terminated and terminating instances are gone for the plan.

use super::context::{RegionContext, Selector, describe_pages};
use super::{attributes, tags};
use crate::model::{Attributes, Kind, Value};
use crate::provider::{CreateRequest, LiveResource, ProviderError, UpdateRequest};
use aws_sdk_ec2::operation::describe_instances::DescribeInstancesOutput;
use aws_sdk_ec2::types::{Instance, InstanceStateName, InstanceType, ResourceType};
use std::collections::BTreeMap;

/// The states of an instance that still exists for the plan.
const LIVE_STATES: [&str; 4] = ["pending", "running", "stopping", "stopped"];

/// DescribeInstances takes at most 200 values per filter.
const IDS_PER_CALL: usize = 200;

fn state_of(instance: &Instance) -> &str {
    instance
        .state()
        .and_then(|state| state.name())
        .map(InstanceStateName::as_str)
        .unwrap_or("pending")
}

pub(super) async fn describe(
    context: &RegionContext,
    selector: Selector<'_>,
) -> Result<Vec<LiveResource>, ProviderError> {
    let pages = describe_pages!(
        context,
        Kind::Instance,
        selector,
        context.ec2.describe_instances().filters(tags::filter(
            "instance-state-name",
            LIVE_STATES.map(str::to_string)
        )),
        instance_ids,
        1000
    )?;
    Ok(live_instances(context, &pages))
}

/// Every instance of the region that still exists, owned or not (`cairn discover`).
pub(super) async fn all(context: &RegionContext) -> Result<Vec<LiveResource>, ProviderError> {
    let pages = describe_pages!(
        context,
        context.ec2.describe_instances(),
        filter: "instance-state-name",
        LIVE_STATES.map(str::to_string).to_vec(),
        1000
    )?;
    Ok(live_instances(context, &pages))
}

/// The instances of `pages` as the engine sees them.
fn live_instances(context: &RegionContext, pages: &[DescribeInstancesOutput]) -> Vec<LiveResource> {
    pages
        .iter()
        .flat_map(|page| page.reservations())
        .flat_map(|reservation| reservation.instances())
        .filter_map(|instance| {
            let id = instance.instance_id()?;
            let mut attributes = Attributes::from([
                (
                    "image".to_string(),
                    Value::from(instance.image_id().unwrap_or_default()),
                ),
                (
                    "instance_type".to_string(),
                    Value::from(
                        instance
                            .instance_type()
                            .map(InstanceType::as_str)
                            .unwrap_or_default(),
                    ),
                ),
                (
                    "subnet_id".to_string(),
                    Value::from(instance.subnet_id().unwrap_or_default()),
                ),
                (
                    "security_group_ids".to_string(),
                    attributes::string_set(
                        instance
                            .security_groups()
                            .iter()
                            .filter_map(|group| group.group_id().map(str::to_string)),
                    ),
                ),
                ("state".to_string(), Value::from(state_of(instance))),
            ]);
            if let Some(private_ip) = instance.private_ip_address() {
                attributes.insert("private_ip".to_string(), Value::from(private_ip));
            }
            Some(context.live(
                Kind::Instance,
                id,
                attributes,
                tags::from_ec2(instance.tags()),
            ))
        })
        .collect()
}

/// Where an instance runs and its state, for the instances of autoscaling groups.
pub(super) struct Placement {
    pub subnet_id: String,
    pub state: String,
}

/// The placements of `ids`, in one DescribeInstances call per 200 ids (and page).
pub(super) async fn placements(
    context: &RegionContext,
    ids: &[String],
) -> Result<BTreeMap<String, Placement>, ProviderError> {
    let mut placements = BTreeMap::new();
    for chunk in ids.chunks(IDS_PER_CALL) {
        let pages = describe_pages!(
            context,
            context.ec2.describe_instances(),
            filter: "instance-id",
            chunk.iter().cloned(),
            1000
        )?;
        for instance in pages
            .iter()
            .flat_map(|page| page.reservations())
            .flat_map(|reservation| reservation.instances())
        {
            if let Some(id) = instance.instance_id() {
                placements.insert(
                    id.to_string(),
                    Placement {
                        subnet_id: instance.subnet_id().unwrap_or_default().to_string(),
                        state: state_of(instance).to_string(),
                    },
                );
            }
        }
    }
    Ok(placements)
}

pub(super) async fn create(
    context: &RegionContext,
    request: &CreateRequest,
) -> Result<String, ProviderError> {
    let attributes = &request.attributes;
    // The token makes AWS return the first launch when an answer was lost and the call is
    // retried (moto ignores it; tags on create plus adoption on refresh cover that case).
    let call = context
        .ec2
        .run_instances()
        .image_id(attributes::string(attributes, "image")?)
        .instance_type(InstanceType::from(
            attributes::string(attributes, "instance_type")?.as_str(),
        ))
        .subnet_id(attributes::string(attributes, "subnet_id")?)
        .set_security_group_ids(Some(attributes::strings(attributes, "security_group_ids")?))
        .min_count(1)
        .max_count(1)
        .client_token(&request.token)
        .tag_specifications(tags::specification(ResourceType::Instance, &request.tags))
        .tag_specifications(tags::specification(ResourceType::Volume, &request.tags));
    context
        .create(
            "RunInstances",
            || call.clone().send(),
            |output| {
                output
                    .instances()
                    .first()
                    .and_then(|instance| instance.instance_id())
            },
        )
        .await
}

pub(super) async fn update(
    context: &RegionContext,
    current: &LiveResource,
    request: &UpdateRequest,
) -> Result<(), ProviderError> {
    let wanted = attributes::strings(&request.after, "security_group_ids")?;
    if current.attributes.get("security_group_ids") == Some(&attributes::string_set(wanted.clone()))
    {
        return Ok(());
    }
    let call = context
        .ec2
        .modify_instance_attribute()
        .instance_id(&request.id)
        .set_groups(Some(wanted));
    context.mutate_visible(|| call.clone().send()).await?;
    Ok(())
}

pub(super) async fn delete(context: &RegionContext, id: &str) -> Result<(), ProviderError> {
    // TerminateInstances answers success for an instance terminated already (AWS and moto
    // alike); a delete of what is gone must say so, as every other kind's does.
    if describe(context, Selector::Id(id)).await?.is_empty() {
        return Err(ProviderError::NotFound {
            kind: Kind::Instance,
            region: context.region.clone(),
            id: id.to_string(),
        });
    }
    context
        .delete(
            Kind::Instance,
            id,
            context.ec2.terminate_instances().instance_ids(id).send(),
        )
        .await
}
