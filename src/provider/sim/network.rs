//! VPC networking: networks (VPCs), subnets, internet gateways and route tables.
//!
//! AWS rules kept: VPC blocks are /16 to /28; a subnet lies inside its VPC's block, in a zone
//! of the request's region, and does not overlap another subnet of the VPC; a VPC comes with a
//! default security group and a main route table, and cannot be deleted while it has subnets,
//! other security groups, gateways or route tables; a subnet with instances cannot be deleted;
//! a VPC has at most one internet gateway; a subnet is associated with at most one route table.
//!
//! The provider's delete of a gateway detaches it first and the delete of a route table
//! removes its associations first, as the engine's single "delete" stands for both calls.

use super::attributes::{self, cidr};
use super::cloud::{Cloud, Resource};
use super::error::{api, missing_reference};
use super::operations::Context;
use crate::model::{Attributes, Kind, Tags, Value};
use crate::model::{limits, regions};
use crate::provider::ProviderError;
use serde_json::json;

/// Internal key: the default security group of a VPC.
pub const DEFAULT_SECURITY_GROUP: &str = "default_security_group_id";
/// Internal key: the main route table of a VPC.
pub const MAIN_ROUTE_TABLE: &str = "main_route_table_id";
/// Internal marker of resources AWS creates with a VPC.
pub const CREATED_WITH_VPC: &str = "created_with_vpc";

pub fn create_network(
    cloud: &mut Cloud,
    context: &Context,
    attributes: &Attributes,
    tags: &Tags,
) -> Result<String, ProviderError> {
    let block_text = attributes::string(attributes, "cidr")?;
    let block = cidr(block_text, "cidrBlock")?;
    if !limits::NETWORK_PREFIX.contains(&block.prefix_len()) {
        return Err(api(
            "InvalidVpc.Range",
            format!("The CIDR '{block_text}' is invalid."),
        ));
    }
    cloud.check_quota(
        context.region,
        crate::provider::QuotaName::Vpcs,
        &context.timings,
    )?;
    let id = cloud.new_id_for(Kind::Network);
    let security_group_id = cloud.new_id_for(Kind::SecurityGroup);
    let route_table_id = cloud.new_id_for(Kind::RouteTable);

    let mut security_group = Resource::new(
        Kind::SecurityGroup,
        security_group_id.clone(),
        Attributes::from([
            ("name".to_string(), json!("default")),
            (
                "description".to_string(),
                json!("default VPC security group"),
            ),
            ("network_id".to_string(), json!(id)),
            (
                "ingress".to_string(),
                json!([{ "protocol": "all", "from_port": -1, "to_port": -1, "source_group_id": security_group_id }]),
            ),
            (
                "egress".to_string(),
                json!([{ "protocol": "all", "from_port": -1, "to_port": -1, "cidr": "0.0.0.0/0" }]),
            ),
        ]),
        Tags::new(),
    );
    security_group
        .internal
        .insert(CREATED_WITH_VPC.to_string(), json!(true));
    let mut route_table = Resource::new(
        Kind::RouteTable,
        route_table_id.clone(),
        Attributes::from([
            ("network_id".to_string(), json!(id)),
            ("routes".to_string(), json!([])),
            ("subnet_ids".to_string(), json!([])),
        ]),
        Tags::new(),
    );
    route_table
        .internal
        .insert(CREATED_WITH_VPC.to_string(), json!(true));

    let mut network = Resource::new(Kind::Network, id.clone(), attributes.clone(), tags.clone());
    network
        .internal
        .insert(DEFAULT_SECURITY_GROUP.to_string(), json!(security_group_id));
    network
        .internal
        .insert(MAIN_ROUTE_TABLE.to_string(), json!(route_table_id));
    cloud.insert(context.region, network);
    cloud.insert(context.region, security_group);
    cloud.insert(context.region, route_table);
    Ok(id)
}

pub fn delete_network(cloud: &mut Cloud, context: &Context, id: &str) -> Result<(), ProviderError> {
    let network = cloud.target(context.region, Kind::Network, id)?;
    let companions: Vec<String> = [DEFAULT_SECURITY_GROUP, MAIN_ROUTE_TABLE]
        .iter()
        .filter_map(|key| network.internal_text(key).map(str::to_string))
        .collect();
    let dependent = cloud
        .region(context.region)
        .into_iter()
        .flat_map(|state| state.referring("network_id", id))
        .any(|resource| !companions.contains(&resource.id));
    if dependent {
        return Err(api(
            "DependencyViolation",
            format!("The vpc '{id}' has dependencies and cannot be deleted."),
        ));
    }
    for companion in companions {
        cloud.remove(context.region, &companion);
    }
    cloud.remove_target(context.region, Kind::Network, id)
}

pub fn create_subnet(
    cloud: &mut Cloud,
    context: &Context,
    attributes: &Attributes,
    tags: &Tags,
) -> Result<String, ProviderError> {
    let network_id = attributes::string(attributes, "network_id")?;
    let block_text = attributes::string(attributes, "cidr")?;
    let zone = attributes::string(attributes, "zone")?;
    attributes::optional_bool(attributes, "public")?;
    let network = cloud.referenced(context.region, Kind::Network, network_id)?;
    let block = cidr(block_text, "cidrBlock")?;

    if regions::region_of_zone(zone) != Some(context.region) {
        let offered = regions::zones(context.region)
            .unwrap_or_default()
            .join(", ");
        return Err(api(
            "InvalidParameterValue",
            format!(
                "Value ({zone}) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: {offered}."
            ),
        ));
    }
    let network_block = network
        .text("cidr")
        .and_then(|text| text.parse::<ipnet::Ipv4Net>().ok());
    let inside = network_block.is_some_and(|outer| outer.contains(&block));
    if !inside || !limits::NETWORK_PREFIX.contains(&block.prefix_len()) {
        return Err(api(
            "InvalidSubnet.Range",
            format!("The CIDR '{block_text}' is invalid."),
        ));
    }
    let conflict = cloud
        .all_of(context.region, Kind::Subnet)
        .filter(|subnet| subnet.text("network_id") == Some(network_id))
        .filter_map(|subnet| subnet.text("cidr")?.parse::<ipnet::Ipv4Net>().ok())
        .any(|other| other.contains(&block) || block.contains(&other));
    if conflict {
        return Err(api(
            "InvalidSubnet.Conflict",
            format!("The CIDR '{block_text}' conflicts with another subnet"),
        ));
    }
    let mut subnet = cloud.new_resource(Kind::Subnet, attributes, tags);
    subnet.internal.insert("zone".to_string(), json!(zone));
    Ok(cloud.add(context.region, subnet))
}

pub fn update_subnet(
    cloud: &mut Cloud,
    context: &Context,
    id: &str,
    after: &Attributes,
) -> Result<(), ProviderError> {
    attributes::optional_bool(after, "public")?;
    let mut subnet = cloud.target_mut(context.region, Kind::Subnet, id)?;
    replace_attributes(&mut subnet, after);
    Ok(())
}

pub fn delete_subnet(cloud: &mut Cloud, context: &Context, id: &str) -> Result<(), ProviderError> {
    cloud.target(context.region, Kind::Subnet, id)?;
    let in_use = cloud
        .region(context.region)
        .into_iter()
        .flat_map(|state| state.referring("subnet_id", id))
        .any(|resource| resource.kind == Kind::Instance)
        || super::load_balancing::uses(cloud, context.region, "subnet_ids", id);
    if in_use {
        return Err(api(
            "DependencyViolation",
            format!("The subnet '{id}' has dependencies and cannot be deleted."),
        ));
    }
    // Deleting a subnet ends its route table association, as in AWS.
    if let Some(state) = cloud.regions.get_mut(context.region) {
        // Found first and changed after, so that only the tables that change are copied out
        // of the maps a draft shares with the cloud it was made from.
        let associated: Vec<String> = state
            .of_kind(Kind::RouteTable)
            .filter(|table| {
                matches!(
                    table.attributes.get("subnet_ids"),
                    Some(Value::Array(subnet_ids))
                        if subnet_ids.iter().any(|subnet_id| subnet_id.as_str() == Some(id))
                )
            })
            .map(|table| table.id.clone())
            .collect();
        for table_id in associated {
            if let Some(mut table) = state.get_mut(&table_id)
                && let Some(Value::Array(subnet_ids)) = table.attributes.get_mut("subnet_ids")
            {
                subnet_ids.retain(|subnet_id| subnet_id.as_str() != Some(id));
            }
        }
    }
    cloud.remove_target(context.region, Kind::Subnet, id)
}

pub fn create_internet_gateway(
    cloud: &mut Cloud,
    context: &Context,
    attributes: &Attributes,
    tags: &Tags,
) -> Result<String, ProviderError> {
    let network_id = attributes::string(attributes, "network_id")?;
    cloud.referenced(context.region, Kind::Network, network_id)?;
    if let Some(existing) = cloud
        .all_of(context.region, Kind::InternetGateway)
        .find(|gateway| gateway.text("network_id") == Some(network_id))
    {
        return Err(api(
            "Resource.AlreadyAssociated",
            format!(
                "resource {network_id} is already associated with internet gateway {}",
                existing.id
            ),
        ));
    }
    let gateway = cloud.new_resource(Kind::InternetGateway, attributes, tags);
    Ok(cloud.add(context.region, gateway))
}

pub fn delete_internet_gateway(
    cloud: &mut Cloud,
    context: &Context,
    id: &str,
) -> Result<(), ProviderError> {
    // Routes through a deleted gateway stay in their tables as black holes, as in AWS.
    cloud.remove_target(context.region, Kind::InternetGateway, id)
}

pub fn create_route_table(
    cloud: &mut Cloud,
    context: &Context,
    attributes: &Attributes,
    tags: &Tags,
) -> Result<String, ProviderError> {
    let network_id = attributes::string(attributes, "network_id")?;
    cloud.referenced(context.region, Kind::Network, network_id)?;
    check_routes(cloud, context, network_id, attributes)?;
    check_associations(cloud, context, network_id, None, attributes)?;
    let table = cloud.new_resource(Kind::RouteTable, attributes, tags);
    Ok(cloud.add(context.region, table))
}

pub fn update_route_table(
    cloud: &mut Cloud,
    context: &Context,
    id: &str,
    after: &Attributes,
) -> Result<(), ProviderError> {
    let table = cloud.target(context.region, Kind::RouteTable, id)?;
    let network_id = table.text("network_id").unwrap_or_default().to_string();
    check_routes(cloud, context, &network_id, after)?;
    check_associations(cloud, context, &network_id, Some(id), after)?;
    let mut table = cloud.target_mut(context.region, Kind::RouteTable, id)?;
    replace_attributes(&mut table, after);
    Ok(())
}

pub fn delete_route_table(
    cloud: &mut Cloud,
    context: &Context,
    id: &str,
) -> Result<(), ProviderError> {
    let table = cloud.target(context.region, Kind::RouteTable, id)?;
    if table.internal.contains_key(CREATED_WITH_VPC) {
        return Err(api(
            "DependencyViolation",
            format!(
                "The routeTable '{id}' is the main route table of its VPC and cannot be deleted."
            ),
        ));
    }
    cloud.remove_target(context.region, Kind::RouteTable, id)
}

fn check_routes(
    cloud: &Cloud,
    context: &Context,
    network_id: &str,
    attributes: &Attributes,
) -> Result<(), ProviderError> {
    let mut destinations = Vec::new();
    for route in attributes::object_list(attributes, "routes")? {
        let destination = attributes::string(&route, "cidr")?;
        cidr(destination, "destinationCidrBlock")?;
        if destinations.contains(&destination.to_string()) {
            return Err(api(
                "RouteAlreadyExists",
                format!("The route identified by {destination} already exists."),
            ));
        }
        destinations.push(destination.to_string());
        let gateway_id = attributes::string(&route, "gateway_id")?;
        let gateway = cloud
            .find(context.region, Kind::InternetGateway, gateway_id)
            .ok_or_else(|| {
                api(
                    "InvalidGatewayID.NotFound",
                    format!("The gateway ID '{gateway_id}' does not exist"),
                )
            })?;
        if gateway.text("network_id") != Some(network_id) {
            return Err(api(
                "InvalidParameterValue",
                format!(
                    "route table and network gateway {gateway_id} belong to different networks"
                ),
            ));
        }
    }
    Ok(())
}

fn check_associations(
    cloud: &Cloud,
    context: &Context,
    network_id: &str,
    table_id: Option<&str>,
    attributes: &Attributes,
) -> Result<(), ProviderError> {
    let subnet_ids = attributes::string_list(attributes, "subnet_ids")?;
    for (index, subnet_id) in subnet_ids.iter().enumerate() {
        let subnet = cloud
            .find(context.region, Kind::Subnet, subnet_id)
            .ok_or_else(|| missing_reference(Kind::Subnet, subnet_id))?;
        if subnet.text("network_id") != Some(network_id) {
            return Err(api(
                "InvalidParameterValue",
                format!("route table and subnet {subnet_id} belong to different networks"),
            ));
        }
        let taken_elsewhere = cloud
            .all_of(context.region, Kind::RouteTable)
            .filter(|table| Some(table.id.as_str()) != table_id)
            .find(|table| {
                table
                    .attributes
                    .get("subnet_ids")
                    .and_then(Value::as_array)
                    .is_some_and(|ids| ids.iter().any(|id| id.as_str() == Some(subnet_id)))
            });
        if let Some(table) = taken_elsewhere {
            return Err(api(
                "Resource.AlreadyAssociated",
                format!(
                    "the specified association for route table {} conflicts with an existing association: subnet {subnet_id}",
                    table.id
                ),
            ));
        }
        if subnet_ids[..index].contains(subnet_id) {
            return Err(api(
                "Resource.AlreadyAssociated",
                format!("subnet {subnet_id} is listed twice"),
            ));
        }
    }
    Ok(())
}

/// Replaces a resource's contract attributes with `after`, keeping its `id`. Used by updates
/// whose computed attributes are only the id.
pub fn replace_attributes(resource: &mut Resource, after: &Attributes) {
    let mut attributes = after.clone();
    attributes.insert("id".to_string(), json!(resource.id));
    resource.attributes = attributes;
}
