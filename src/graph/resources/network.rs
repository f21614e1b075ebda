//! `network` → a network, one subnet per `subnet` block and zone of the region, and for public
//! subnets an internet gateway and a route table per public `subnet` block.

use super::{Built, Instance, attributes};
use crate::config::diagnostics::Diagnostic;
use crate::config::functions::cidr_subnet;
use crate::model::{Address, Kind, Value, limits, reference};
use serde_json::json;
use std::collections::BTreeSet;

/// `network` → a network, one subnet per `subnet` block and zone, and for public subnets an
/// internet gateway and one route table per public subnet block.
pub(super) fn build(instance: &Instance<'_>) -> Option<Built> {
    let block = instance.block;
    let cidr = instance.string(block, "cidr")?;
    if let Err(message) = limits::check_network_block(&cidr) {
        let attr = block.attribute("cidr")?;
        instance.problem(
            Diagnostic::at(instance.sources, attr.value_span, message)
                .expected("an IPv4 block from /16 to /28 such as `10.0.0.0/16`"),
        );
        return None;
    }
    let address = instance.at(&instance.region.name);
    let network_id = Value::String(reference(&address, "id"));
    let mut built = Built {
        primary: vec![address.clone()],
        ..Built::default()
    };
    built.resources.push(instance.produced(
        address.clone(),
        Kind::Network,
        attributes(vec![("cidr", Value::String(cidr.clone()))]),
        instance.sensitive(&[("cidr", "cidr")]),
        instance.name.clone(),
    ));

    let gateway = Address::new(format!(
        "{}.gateway[{}]",
        instance.address_base, instance.region.name
    ));
    let mut subnet_values = serde_json::Map::new();
    let mut public_groups: Vec<(String, Vec<Value>)> = Vec::new();
    let mut subnet_blocks = Vec::new();
    for (index, subnet) in block.blocks_named("subnet").enumerate() {
        let Some(newbits) = instance.count(subnet, "newbits") else {
            continue;
        };
        let public = instance.flag(subnet, "public", false);
        let offset = match subnet.attribute("offset") {
            Some(_) => instance.count(subnet, "offset")?,
            None => index as u64 * 16,
        };
        let mut ids = Vec::new();
        for (position, zone) in instance.region.zones.iter().enumerate() {
            let subnet_address = Address::new(format!(
                "{}.subnet.{}[{zone}]",
                instance.address_base,
                subnet.name()
            ));
            // Saturating: `offset` and `newbits` are the user's and may be near u64::MAX.
            let netnum = offset.saturating_add(position as u64);
            let as_i64 = |number: u64| i64::try_from(number).unwrap_or(i64::MAX);
            let subnet_cidr = match cidr_subnet(&cidr, as_i64(newbits), as_i64(netnum)) {
                Ok(found) => found,
                Err(message) => {
                    instance.problem(
                        Diagnostic::at(
                            instance.sources,
                            subnet.label_span,
                            format!(
                                "subnet `{}` does not fit in `{cidr}`: {message}",
                                subnet.name()
                            ),
                        )
                        .note(super::limits::subnet_numbers_note(
                            instance.region.zones.len(),
                            offset,
                            newbits,
                        )),
                    );
                    return None;
                }
            };
            if let Some(problem) = super::limits::check_subnet(
                instance.sources,
                subnet,
                zone,
                &subnet_cidr,
                &mut subnet_blocks,
            ) {
                instance.problem(problem);
                return None;
            }
            ids.push(Value::String(reference(&subnet_address, "id")));
            built.resources.push(instance.produced(
                subnet_address,
                Kind::Subnet,
                attributes(vec![
                    ("network_id", network_id.clone()),
                    ("cidr", Value::String(subnet_cidr)),
                    ("zone", Value::String(zone.clone())),
                    ("public", Value::Bool(public)),
                ]),
                BTreeSet::new(),
                format!("{}-{}-{zone}", instance.name, subnet.name()),
            ));
        }
        if public {
            public_groups.push((subnet.name().to_string(), ids.clone()));
        }
        subnet_values.insert(subnet.name().to_string(), Value::Array(ids));
    }
    let mut value = json!({
        "id": network_id,
        "cidr": cidr,
        "name": instance.name,
        "subnet": subnet_values,
    });
    if !public_groups.is_empty() {
        let gateway_id = Value::String(reference(&gateway, "id"));
        built.resources.push(instance.produced(
            gateway.clone(),
            Kind::InternetGateway,
            attributes(vec![("network_id", network_id.clone())]),
            BTreeSet::new(),
            instance.name.clone(),
        ));
        for (subnet, ids) in public_groups {
            built.resources.push(instance.produced(
                Address::new(format!(
                    "{}.route_table.{subnet}[{}]",
                    instance.address_base, instance.region.name
                )),
                Kind::RouteTable,
                attributes(vec![
                    ("network_id", network_id.clone()),
                    (
                        "routes",
                        json!([{ "cidr": "0.0.0.0/0", "gateway_id": gateway_id.clone() }]),
                    ),
                    ("subnet_ids", Value::Array(ids)),
                ]),
                BTreeSet::new(),
                format!("{}-{subnet}", instance.name),
            ));
        }
        if let Some(object) = value.as_object_mut() {
            object.insert("gateway_id".to_string(), gateway_id);
        }
    }
    built.value = value;
    Some(built)
}
