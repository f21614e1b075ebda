//! A discovered network's subnets guessed as `subnet` blocks. A `subnet` block declares one
//! subnet in each zone of the region, the one in the zone at position `i` numbered
//! `offset + i` among the network's subnets of its size (`cidrsubnet(cidr, newbits, offset +
//! i)`), all public or all not. So subnets go into one block exactly when they are of one
//! size and publicness, one per zone, at consecutive numbers in zone order; any other subnet
//! cannot be declared, and is returned with the reason.

use crate::provider::LiveResource;
use ipnet::Ipv4Net;
use std::collections::{BTreeMap, BTreeSet};

/// A subnet with its number among the network's subnets of its size and its zone's position.
type Numbered<'a> = (u32, usize, &'a LiveResource);

/// One `subnet` block: its subnets in the order of the region's zones.
#[derive(Debug, Clone, PartialEq)]
pub struct SubnetBlock<'a> {
    pub name: String,
    pub newbits: u8,
    pub offset: u32,
    pub public: bool,
    pub subnets: Vec<&'a LiveResource>,
}

/// The `subnet` blocks that declare `subnets` of a network of `cidr` in a region of `zones`,
/// in offset order, and the subnets no block can declare with why. `display` is the name the
/// network's objects are named after: a subnet named `{display}-{block}-{zone}` gives its
/// block that name (as the stack names subnets it makes).
pub fn subnet_blocks<'a>(
    cidr: &str,
    zones: &[String],
    subnets: &[&'a LiveResource],
    display: &str,
) -> (Vec<SubnetBlock<'a>>, Vec<(&'a LiveResource, String)>) {
    let mut left = Vec::new();
    let Ok(network) = cidr.parse::<Ipv4Net>() else {
        let reason = format!("its network's CIDR `{cidr}` is not an IPv4 block");
        return (
            Vec::new(),
            subnets
                .iter()
                .map(|subnet| (*subnet, reason.clone()))
                .collect(),
        );
    };
    // (newbits, public) → (number, zone position, subnet).
    let mut sizes: BTreeMap<(u8, bool), Vec<Numbered<'a>>> = BTreeMap::new();
    for subnet in subnets {
        let text = subnet
            .attributes
            .get("cidr")
            .and_then(|value| value.as_str());
        let zone = subnet
            .attributes
            .get("zone")
            .and_then(|value| value.as_str());
        let public = subnet
            .attributes
            .get("public")
            .and_then(|value| value.as_bool())
            .unwrap_or(false);
        let Some(block) = text
            .and_then(|text| text.parse::<Ipv4Net>().ok())
            .filter(|block| network.contains(block))
        else {
            left.push((
                *subnet,
                format!("its CIDR is not inside the network's `{cidr}`"),
            ));
            continue;
        };
        let Some(position) = zones.iter().position(|known| Some(known.as_str()) == zone) else {
            left.push((
                *subnet,
                format!(
                    "its zone `{}` is not one of the region's ({})",
                    zone.unwrap_or_default(),
                    zones.join(", ")
                ),
            ));
            continue;
        };
        let newbits = block.prefix_len() - network.prefix_len();
        let distance = u32::from(block.network()) - u32::from(network.network());
        let number = distance
            .checked_shr(32 - u32::from(block.prefix_len()))
            .unwrap_or(0);
        sizes
            .entry((newbits, public))
            .or_default()
            .push((number, position, subnet));
    }
    let mut blocks = Vec::new();
    for ((newbits, public), mut candidates) in sizes {
        candidates.sort_by_key(|(number, position, _)| (*number, *position));
        let mut claimed: BTreeSet<usize> = BTreeSet::new();
        for start in 0..candidates.len() {
            let (number, position, _) = candidates[start];
            if claimed.contains(&start) || (number as usize) < position {
                continue;
            }
            let offset = number - position as u32;
            let members: Option<Vec<usize>> = (0..zones.len())
                .map(|zone| {
                    candidates
                        .iter()
                        .enumerate()
                        .position(|(index, (number, at, _))| {
                            !claimed.contains(&index)
                                && *at == zone
                                && *number == offset + zone as u32
                        })
                })
                .collect();
            let Some(members) = members else { continue };
            claimed.extend(members.iter().copied());
            blocks.push(SubnetBlock {
                name: String::new(),
                newbits,
                offset,
                public,
                subnets: members.iter().map(|index| candidates[*index].2).collect(),
            });
        }
        for (index, (_, _, subnet)) in candidates.iter().enumerate() {
            if !claimed.contains(&index) {
                left.push((
                    *subnet,
                    format!(
                        "a `subnet` block declares one subnet of a size in each of the region's zones ({}) at consecutive numbers, and no such set holds this one",
                        zones.join(", ")
                    ),
                ));
            }
        }
    }
    blocks.sort_by_key(|block| (block.offset, block.newbits));
    name_blocks(&mut blocks, zones, display);
    (blocks, left)
}

/// Names each block after its subnets' `Name` tags when they all read
/// `{display}-{name}-{zone}`, else `public` or `private`; `_2`, `_3`... after a name taken.
fn name_blocks(blocks: &mut [SubnetBlock<'_>], zones: &[String], display: &str) {
    let mut taken = BTreeSet::new();
    for block in blocks.iter_mut() {
        let from_tags: BTreeSet<Option<&str>> = block
            .subnets
            .iter()
            .zip(zones)
            .map(|(subnet, zone)| {
                subnet
                    .tags
                    .get("Name")
                    .and_then(|name| name.strip_prefix(display)?.strip_prefix('-'))
                    .and_then(|rest| rest.strip_suffix(zone.as_str())?.strip_suffix('-'))
                    .filter(|name| super::identifier(name) == *name)
            })
            .collect();
        let base = match from_tags.into_iter().collect::<Vec<_>>().as_slice() {
            [Some(name)] => name.to_string(),
            _ if block.public => "public".to_string(),
            _ => "private".to_string(),
        };
        let mut name = base.clone();
        let mut counter = 2;
        while !taken.insert(name.clone()) {
            name = format!("{base}_{counter}");
            counter += 1;
        }
        block.name = name;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;

    fn subnet(id: &str, cidr: &str, zone: &str, public: bool) -> LiveResource {
        LiveResource {
            kind: Kind::Subnet,
            region: "us-east-1".to_string(),
            id: id.to_string(),
            attributes: serde_json::from_value(
                serde_json::json!({ "cidr": cidr, "zone": zone, "public": public }),
            )
            .unwrap_or_default(),
            tags: crate::model::Tags::new(),
        }
    }

    fn zones() -> Vec<String> {
        vec!["us-east-1a".to_string(), "us-east-1b".to_string()]
    }

    #[test]
    fn one_subnet_per_zone_at_consecutive_numbers_is_one_block() {
        let subnets = [
            subnet("subnet-b", "10.0.1.0/24", "us-east-1b", true),
            subnet("subnet-a", "10.0.0.0/24", "us-east-1a", true),
            subnet("subnet-c", "10.0.16.0/24", "us-east-1a", false),
            subnet("subnet-d", "10.0.17.0/24", "us-east-1b", false),
        ];
        let listed: Vec<&LiveResource> = subnets.iter().collect();
        let (blocks, left) = subnet_blocks("10.0.0.0/16", &zones(), &listed, "legacy");
        assert!(left.is_empty(), "{left:?}");
        let summary: Vec<(&str, u8, u32, bool, Vec<&str>)> = blocks
            .iter()
            .map(|block| {
                let ids = block
                    .subnets
                    .iter()
                    .map(|subnet| subnet.id.as_str())
                    .collect();
                (
                    block.name.as_str(),
                    block.newbits,
                    block.offset,
                    block.public,
                    ids,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("public", 8, 0, true, vec!["subnet-a", "subnet-b"]),
                ("private", 8, 16, false, vec!["subnet-c", "subnet-d"]),
            ]
        );
    }

    #[test]
    fn subnets_that_no_block_can_declare_are_left_with_the_reason() {
        let mut named = subnet("subnet-a", "10.0.4.0/24", "us-east-1a", false);
        named
            .tags
            .insert("Name".to_string(), "legacy-data-us-east-1a".to_string());
        let mut other = subnet("subnet-b", "10.0.5.0/24", "us-east-1b", false);
        other
            .tags
            .insert("Name".to_string(), "legacy-data-us-east-1b".to_string());
        let subnets = [
            named,
            other,
            subnet("subnet-c", "10.0.9.0/24", "us-east-1b", false),
            subnet("subnet-d", "10.0.7.0/24", "us-east-1z", false),
            subnet("subnet-e", "10.9.0.0/24", "us-east-1a", false),
        ];
        let listed: Vec<&LiveResource> = subnets.iter().collect();
        let (blocks, left) = subnet_blocks("10.0.0.0/16", &zones(), &listed, "legacy");
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].name, "data");
        assert_eq!(blocks[0].offset, 4);
        let left: Vec<(&str, &str)> = left
            .iter()
            .map(|(subnet, reason)| (subnet.id.as_str(), reason.as_str()))
            .collect();
        assert_eq!(left.len(), 3, "{left:?}");
        assert!(left.contains(&(
            "subnet-e",
            "its CIDR is not inside the network's `10.0.0.0/16`"
        )));
        assert!(left.contains(&(
            "subnet-d",
            "its zone `us-east-1z` is not one of the region's (us-east-1a, us-east-1b)"
        )));
        assert!(
            left.iter()
                .any(|(id, reason)| *id == "subnet-c" && reason.contains("consecutive numbers"))
        );
    }
}
