//! `route_table` → route table; `routes` through Create/Replace/DeleteRoute, `subnet_ids`
//! through Associate/DisassociateRouteTable. The implicit `local` route and the main-table
//! association are the VPC's, not ours, and are never read or changed.

use super::context::{RegionContext, Selector, describe_pages};
use super::{attributes, tags};
use crate::model::{Attributes, Kind, Value};
use crate::provider::{CreateRequest, LiveResource, ProviderError, UpdateRequest};
use aws_sdk_ec2::types::{ResourceType, RouteOrigin, RouteTable};
use std::collections::{BTreeMap, BTreeSet};

async fn tables(
    context: &RegionContext,
    selector: Selector<'_>,
) -> Result<Vec<RouteTable>, ProviderError> {
    let pages = describe_pages!(
        context,
        Kind::RouteTable,
        selector,
        context.ec2.describe_route_tables(),
        route_table_ids,
        100
    )?;
    Ok(pages
        .into_iter()
        .flat_map(|page| page.route_tables.unwrap_or_default())
        .collect())
}

/// The table's own routes: destination CIDR → target id.
fn routes(table: &RouteTable) -> BTreeMap<String, String> {
    table
        .routes()
        .iter()
        .filter(|route| route.origin() != Some(&RouteOrigin::CreateRouteTable))
        .filter(|route| route.gateway_id() != Some("local"))
        .filter_map(|route| {
            let destination = route
                .destination_cidr_block()
                .or(route.destination_ipv6_cidr_block())?;
            let target = route
                .gateway_id()
                .or(route.nat_gateway_id())
                .or(route.transit_gateway_id())
                .or(route.instance_id())
                .unwrap_or_default();
            Some((destination.to_string(), target.to_string()))
        })
        .collect()
}

/// The table's explicit subnet associations: subnet id → association id.
fn associations(table: &RouteTable) -> BTreeMap<String, String> {
    table
        .associations()
        .iter()
        .filter(|association| association.main() != Some(true))
        .filter_map(|association| {
            Some((
                association.subnet_id()?.to_string(),
                association.route_table_association_id()?.to_string(),
            ))
        })
        .collect()
}

pub(super) async fn describe(
    context: &RegionContext,
    selector: Selector<'_>,
) -> Result<Vec<LiveResource>, ProviderError> {
    Ok(live_tables(context, &tables(context, selector).await?))
}

/// Every route table of the region, owned or not (`cairn discover`).
pub(super) async fn all(context: &RegionContext) -> Result<Vec<LiveResource>, ProviderError> {
    // DescribeRouteTables takes at most 100 results a page.
    let pages = describe_pages!(context, context.ec2.describe_route_tables(), every: 100)?;
    let tables: Vec<RouteTable> = pages
        .into_iter()
        .flat_map(|page| page.route_tables.unwrap_or_default())
        .collect();
    Ok(live_tables(context, &tables))
}

fn live_tables(context: &RegionContext, tables: &[RouteTable]) -> Vec<LiveResource> {
    tables
        .iter()
        .filter_map(|table| {
            let id = table.route_table_id()?;
            let routes: Vec<Value> = routes(table)
                .into_iter()
                .map(|(cidr, gateway_id)| {
                    attributes::object(Attributes::from([
                        ("cidr".to_string(), Value::from(cidr)),
                        ("gateway_id".to_string(), Value::from(gateway_id)),
                    ]))
                })
                .collect();
            let attributes = Attributes::from([
                (
                    "network_id".to_string(),
                    Value::from(table.vpc_id().unwrap_or_default()),
                ),
                ("routes".to_string(), Value::from(routes)),
                (
                    "subnet_ids".to_string(),
                    attributes::string_set(associations(table).into_keys()),
                ),
            ]);
            Some(context.live(
                Kind::RouteTable,
                id,
                attributes,
                tags::from_ec2(table.tags()),
            ))
        })
        .collect()
}

/// The routes the attributes ask for: destination CIDR → gateway id.
fn desired_routes(attributes: &Attributes) -> Result<BTreeMap<String, String>, ProviderError> {
    attributes::objects(attributes, "routes")?
        .iter()
        .map(|route| {
            Ok((
                attributes::string(route, "cidr")?,
                attributes::string(route, "gateway_id")?,
            ))
        })
        .collect()
}

pub(super) async fn create(
    context: &RegionContext,
    request: &CreateRequest,
) -> Result<String, ProviderError> {
    let network_id = attributes::string(&request.attributes, "network_id")?;
    let routes = desired_routes(&request.attributes)?;
    let subnet_ids = attributes::strings(&request.attributes, "subnet_ids")?;
    let call = context
        .ec2
        .create_route_table()
        .vpc_id(network_id)
        .client_token(&request.token)
        .tag_specifications(tags::specification(ResourceType::RouteTable, &request.tags));
    let id = context
        .create(
            "CreateRouteTable",
            || call.clone().send(),
            |output| {
                output
                    .route_table()
                    .and_then(|table| table.route_table_id())
            },
        )
        .await?;
    // Routes and associations have no place in CreateRouteTable. A crash part-way leaves a
    // tagged table whose missing routes the next plan adds.
    for (cidr, gateway_id) in &routes {
        create_route(context, &id, cidr, gateway_id).await?;
    }
    for subnet_id in &subnet_ids {
        associate(context, &id, subnet_id).await?;
    }
    Ok(id)
}

pub(super) async fn update(
    context: &RegionContext,
    _current: &LiveResource,
    request: &UpdateRequest,
) -> Result<(), ProviderError> {
    let id = request.id.as_str();
    let wanted_routes = desired_routes(&request.after)?;
    let wanted_subnets: BTreeSet<String> = attributes::strings(&request.after, "subnet_ids")?
        .into_iter()
        .collect();
    // The association ids are not part of the contract's attributes, so read the table.
    for table in tables(context, Selector::Id(id)).await? {
        let live_routes = routes(&table);
        for cidr in live_routes.keys() {
            if !wanted_routes.contains_key(cidr) {
                let call = context
                    .ec2
                    .delete_route()
                    .route_table_id(id)
                    .destination_cidr_block(cidr);
                context
                    .mutate(call.send())
                    .await
                    .map_err(|error| error.about(Kind::RouteTable, &context.region, id))?;
            }
        }
        for (cidr, gateway_id) in &wanted_routes {
            match live_routes.get(cidr) {
                Some(live) if live == gateway_id => {}
                Some(_) => {
                    let call = context
                        .ec2
                        .replace_route()
                        .route_table_id(id)
                        .destination_cidr_block(cidr)
                        .gateway_id(gateway_id);
                    context.mutate_visible(|| call.clone().send()).await?;
                }
                None => create_route(context, id, cidr, gateway_id).await?,
            }
        }
        let live_associations = associations(&table);
        for (subnet_id, association_id) in &live_associations {
            if !wanted_subnets.contains(subnet_id) {
                let call = context
                    .ec2
                    .disassociate_route_table()
                    .association_id(association_id);
                context
                    .mutate(call.send())
                    .await
                    .map_err(|error| error.general())?;
            }
        }
        for subnet_id in &wanted_subnets {
            if !live_associations.contains_key(subnet_id) {
                associate(context, id, subnet_id).await?;
            }
        }
    }
    Ok(())
}

async fn create_route(
    context: &RegionContext,
    id: &str,
    cidr: &str,
    gateway_id: &str,
) -> Result<(), ProviderError> {
    let call = context
        .ec2
        .create_route()
        .route_table_id(id)
        .destination_cidr_block(cidr)
        .gateway_id(gateway_id);
    context.mutate_visible(|| call.clone().send()).await?;
    Ok(())
}

async fn associate(
    context: &RegionContext,
    id: &str,
    subnet_id: &str,
) -> Result<(), ProviderError> {
    let call = context
        .ec2
        .associate_route_table()
        .route_table_id(id)
        .subnet_id(subnet_id);
    context.mutate_visible(|| call.clone().send()).await?;
    Ok(())
}

pub(super) async fn delete(context: &RegionContext, id: &str) -> Result<(), ProviderError> {
    // A table with subnet associations cannot be deleted; its routes go with it.
    for table in tables(context, Selector::Id(id)).await? {
        for association_id in associations(&table).values() {
            context
                .mutate(
                    context
                        .ec2
                        .disassociate_route_table()
                        .association_id(association_id)
                        .send(),
                )
                .await
                .map_err(|error| error.general())?;
        }
    }
    context
        .delete(
            Kind::RouteTable,
            id,
            context.ec2.delete_route_table().route_table_id(id).send(),
        )
        .await
}
