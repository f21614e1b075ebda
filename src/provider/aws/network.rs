//! `network` → VPC.

use super::context::{RegionContext, Selector, describe_pages};
use super::{attributes, tags};
use crate::model::{Attributes, Kind, Value};
use crate::provider::{CreateRequest, LiveResource, ProviderError};
use aws_sdk_ec2::types::{ResourceType, Vpc};

pub(super) async fn describe(
    context: &RegionContext,
    selector: Selector<'_>,
) -> Result<Vec<LiveResource>, ProviderError> {
    let pages = describe_pages!(
        context,
        Kind::Network,
        selector,
        context.ec2.describe_vpcs(),
        vpc_ids,
        1000
    )?;
    Ok(live_networks(
        context,
        pages.iter().flat_map(|page| page.vpcs()),
    ))
}

/// Every VPC of the region, owned or not (`cairn discover`), the region's default VPC (which
/// AWS makes and no block declares) apart: the ids of default VPCs, and the others.
pub(super) async fn all(
    context: &RegionContext,
) -> Result<(Vec<String>, Vec<LiveResource>), ProviderError> {
    let pages = describe_pages!(context, context.ec2.describe_vpcs(), every: 1000)?;
    let (defaults, others): (Vec<&Vpc>, Vec<&Vpc>) = pages
        .iter()
        .flat_map(|page| page.vpcs())
        .partition(|vpc| vpc.is_default() == Some(true));
    Ok((
        defaults
            .iter()
            .filter_map(|vpc| vpc.vpc_id().map(str::to_string))
            .collect(),
        live_networks(context, others.into_iter()),
    ))
}

fn live_networks<'a>(
    context: &RegionContext,
    vpcs: impl Iterator<Item = &'a Vpc>,
) -> Vec<LiveResource> {
    vpcs.filter_map(|vpc| {
        let id = vpc.vpc_id()?;
        let attributes = Attributes::from([(
            "cidr".to_string(),
            Value::from(vpc.cidr_block().unwrap_or_default()),
        )]);
        Some(context.live(Kind::Network, id, attributes, tags::from_ec2(vpc.tags())))
    })
    .collect()
}

pub(super) async fn create(
    context: &RegionContext,
    request: &CreateRequest,
) -> Result<String, ProviderError> {
    let cidr = attributes::string(&request.attributes, "cidr")?;
    let call = context
        .ec2
        .create_vpc()
        .cidr_block(cidr)
        .tag_specifications(tags::specification(ResourceType::Vpc, &request.tags));
    context
        .create(
            "CreateVpc",
            || call.clone().send(),
            |output| output.vpc().and_then(|vpc| vpc.vpc_id()),
        )
        .await
}

pub(super) async fn delete(context: &RegionContext, id: &str) -> Result<(), ProviderError> {
    context
        .delete(
            Kind::Network,
            id,
            context.ec2.delete_vpc().vpc_id(id).send(),
        )
        .await
}
