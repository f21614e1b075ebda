//! `internet_gateway` → internet gateway attached to `network_id`.

use super::context::{RegionContext, Selector, describe_pages};
use super::{attributes, tags};
use crate::model::{Attributes, Kind, Value};
use crate::provider::{CreateRequest, LiveResource, ProviderError};
use aws_sdk_ec2::types::{InternetGateway, ResourceType};

async fn gateways(
    context: &RegionContext,
    selector: Selector<'_>,
) -> Result<Vec<InternetGateway>, ProviderError> {
    let pages = describe_pages!(
        context,
        Kind::InternetGateway,
        selector,
        context.ec2.describe_internet_gateways(),
        internet_gateway_ids,
        1000
    )?;
    Ok(pages
        .into_iter()
        .flat_map(|page| page.internet_gateways.unwrap_or_default())
        .collect())
}

pub(super) async fn describe(
    context: &RegionContext,
    selector: Selector<'_>,
) -> Result<Vec<LiveResource>, ProviderError> {
    Ok(live_gateways(context, &gateways(context, selector).await?))
}

/// Every internet gateway of the region, owned or not (`cairn discover`).
pub(super) async fn all(context: &RegionContext) -> Result<Vec<LiveResource>, ProviderError> {
    let pages = describe_pages!(
        context,
        context.ec2.describe_internet_gateways(),
        every: 1000
    )?;
    let gateways: Vec<InternetGateway> = pages
        .into_iter()
        .flat_map(|page| page.internet_gateways.unwrap_or_default())
        .collect();
    Ok(live_gateways(context, &gateways))
}

fn live_gateways(context: &RegionContext, gateways: &[InternetGateway]) -> Vec<LiveResource> {
    gateways
        .iter()
        .filter_map(|gateway| {
            let id = gateway.internet_gateway_id()?;
            // A detached gateway has no `network_id`; the plan then replaces it.
            let attributes: Attributes = gateway
                .attachments()
                .iter()
                .find_map(|attachment| attachment.vpc_id())
                .map(|vpc_id| ("network_id".to_string(), Value::from(vpc_id)))
                .into_iter()
                .collect();
            Some(context.live(
                Kind::InternetGateway,
                id,
                attributes,
                tags::from_ec2(gateway.tags()),
            ))
        })
        .collect()
}

pub(super) async fn create(
    context: &RegionContext,
    request: &CreateRequest,
) -> Result<String, ProviderError> {
    let network_id = attributes::string(&request.attributes, "network_id")?;
    let call = context
        .ec2
        .create_internet_gateway()
        .tag_specifications(tags::specification(
            ResourceType::InternetGateway,
            &request.tags,
        ));
    let id = context
        .create(
            "CreateInternetGateway",
            || call.clone().send(),
            |output| {
                output
                    .internet_gateway()
                    .and_then(|gateway| gateway.internet_gateway_id())
            },
        )
        .await?;
    // Attaching is a second call by API design; a crash in between leaves a tagged,
    // detached gateway that the next plan replaces.
    let attach = context
        .ec2
        .attach_internet_gateway()
        .internet_gateway_id(&id)
        .vpc_id(&network_id);
    context.mutate_visible(|| attach.clone().send()).await?;
    Ok(id)
}

pub(super) async fn delete(context: &RegionContext, id: &str) -> Result<(), ProviderError> {
    // A gateway must be detached before it can be deleted.
    for gateway in gateways(context, Selector::Id(id)).await? {
        for vpc_id in gateway
            .attachments()
            .iter()
            .filter_map(|attachment| attachment.vpc_id())
        {
            context
                .mutate(
                    context
                        .ec2
                        .detach_internet_gateway()
                        .internet_gateway_id(id)
                        .vpc_id(vpc_id)
                        .send(),
                )
                .await
                .map_err(|error| error.about(Kind::InternetGateway, &context.region, id))?;
        }
    }
    context
        .delete(
            Kind::InternetGateway,
            id,
            context
                .ec2
                .delete_internet_gateway()
                .internet_gateway_id(id)
                .send(),
        )
        .await
}
