//! `subnet` → subnet; `public` is the MapPublicIpOnLaunch attribute.

use super::consistency::until_visible;
use super::context::{RegionContext, Selector, describe_pages};
use super::{attributes, tags};
use crate::model::{Attributes, Kind, Value};
use crate::provider::{CreateRequest, LiveResource, ProviderError, UpdateRequest};
use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType, Subnet};

pub(super) async fn describe(
    context: &RegionContext,
    selector: Selector<'_>,
) -> Result<Vec<LiveResource>, ProviderError> {
    let pages = describe_pages!(
        context,
        Kind::Subnet,
        selector,
        context.ec2.describe_subnets(),
        subnet_ids,
        1000
    )?;
    Ok(live_subnets(
        context,
        pages.iter().flat_map(|page| page.subnets()),
    ))
}

/// Every subnet of the region, owned or not (`cairn discover`).
pub(super) async fn all(context: &RegionContext) -> Result<Vec<LiveResource>, ProviderError> {
    let pages = describe_pages!(context, context.ec2.describe_subnets(), every: 1000)?;
    Ok(live_subnets(
        context,
        pages.iter().flat_map(|page| page.subnets()),
    ))
}

fn live_subnets<'a>(
    context: &RegionContext,
    subnets: impl Iterator<Item = &'a Subnet>,
) -> Vec<LiveResource> {
    subnets
        .filter_map(|subnet| {
            let id = subnet.subnet_id()?;
            let attributes = Attributes::from([
                (
                    "network_id".to_string(),
                    Value::from(subnet.vpc_id().unwrap_or_default()),
                ),
                (
                    "cidr".to_string(),
                    Value::from(subnet.cidr_block().unwrap_or_default()),
                ),
                (
                    "zone".to_string(),
                    Value::from(subnet.availability_zone().unwrap_or_default()),
                ),
                (
                    "public".to_string(),
                    Value::from(subnet.map_public_ip_on_launch().unwrap_or(false)),
                ),
            ]);
            Some(context.live(Kind::Subnet, id, attributes, tags::from_ec2(subnet.tags())))
        })
        .collect()
}

pub(super) async fn create(
    context: &RegionContext,
    request: &CreateRequest,
) -> Result<String, ProviderError> {
    let attributes = &request.attributes;
    let call = context
        .ec2
        .create_subnet()
        .vpc_id(attributes::string(attributes, "network_id")?)
        .cidr_block(attributes::string(attributes, "cidr")?)
        .availability_zone(attributes::string(attributes, "zone")?)
        .tag_specifications(tags::specification(ResourceType::Subnet, &request.tags));
    let id = context
        .create(
            "CreateSubnet",
            || call.clone().send(),
            |output| output.subnet().and_then(|subnet| subnet.subnet_id()),
        )
        .await?;
    // CreateSubnet has no parameter for it: public addressing is a second call. A crash in
    // between leaves a tagged private subnet, which the next plan updates.
    if attributes::flag(attributes, "public")? {
        set_public(context, &id, true).await?;
    }
    Ok(id)
}

pub(super) async fn update(
    context: &RegionContext,
    current: &LiveResource,
    request: &UpdateRequest,
) -> Result<(), ProviderError> {
    let public = attributes::flag(&request.after, "public")?;
    if current.attributes.get("public") != Some(&Value::from(public)) {
        set_public(context, &request.id, public).await?;
    }
    Ok(())
}

async fn set_public(context: &RegionContext, id: &str, public: bool) -> Result<(), ProviderError> {
    let call = context
        .ec2
        .modify_subnet_attribute()
        .subnet_id(id)
        .map_public_ip_on_launch(AttributeBooleanValue::builder().value(public).build());
    until_visible(|| context.mutate(call.clone().send()))
        .await
        .map_err(|error| error.about(Kind::Subnet, &context.region, id))?;
    Ok(())
}

pub(super) async fn delete(context: &RegionContext, id: &str) -> Result<(), ProviderError> {
    context
        .delete(
            Kind::Subnet,
            id,
            context.ec2.delete_subnet().subnet_id(id).send(),
        )
        .await
}
