//! `dns_record` → a name in a zone the stack declares, aliased to a load balancer.
//!
//! Where the name points depends on the environment and on which copy of it is expanded:
//! - without a `dr` block: one plain alias record, `dns_record.NAME[global]`;
//! - with a `dr` block, at home: failover records — `.primary` to the primary region's
//!   balancer with a health check (`.health_check`) on it, and, when `dr.mode` keeps a standby,
//!   `.secondary` to the DR region's balancer, which the standby keeps — so the name follows
//!   whichever region is healthy;
//! - moved (failed over): `.primary` and its health check point at the region moved to, and
//!   there is no secondary (the primary region is left alone while failed over), so a failover
//!   and a failback switch the name by updating the primary record in place;
//! - a drill: one plain record whose name carries the drill's instance (`www-drill`), so the
//!   live name is never touched.
//!
//! The zone is named by reference (`dns_zone.main`) or by domain name (`"example.com"`);
//! a name is linked to the `dns_zone` declaring it once every block is built.

use super::dns_zone::domain_name;
use super::{Built, Instance, ZoneLookup, attributes};
use crate::config::DrMode;
use crate::config::diagnostics::Diagnostic;
use crate::config::eval;
use crate::graph::Deployed;
use crate::model::cloud::GLOBAL_REGION;
use crate::model::{Address, Kind, Value, reference, references_in};
use serde_json::json;
use std::collections::BTreeSet;

/// The record type of an alias to a load balancer.
const RECORD_TYPE: &str = "A";

/// Route 53's interval and failure threshold for the health check of a primary record: a
/// check every 30 s, three failures to fail over.
const CHECK_INTERVAL: u64 = 30;
const CHECK_FAILURES: u64 = 3;

/// The zone a record names.
struct Zone {
    name: String,
    /// `None` when named by domain name: linked later.
    id: Option<String>,
}

pub(super) fn build(instance: &Instance<'_>) -> Option<Built> {
    let block = instance.block;
    let zone = zone(instance);
    let written = instance.string(block, "name");
    let target = target(instance);
    let (zone, written, target) = (zone?, written?, target?);
    let Some(name) = full_name(&written, &zone.name, instance.deployed) else {
        let attr = block.attribute("name")?;
        instance.problem(
            Diagnostic::at(
                instance.sources,
                attr.value_span,
                format!("`{written}` is not a name in `{}`", zone.name),
            )
            .expected(format!(
                "a label such as `\"www\"`, `\"@\"` for the zone itself, or a full name ending in `{}`",
                zone.name
            )),
        );
        return None;
    };
    let base = Address::new(format!("{}[{GLOBAL_REGION}]", instance.address_base));
    let value = json!({ "name": name });
    if !instance.first_placement {
        return Some(Built {
            primary: vec![base],
            value,
            ..Built::default()
        });
    }

    let zone_id = zone.id.clone().map_or(Value::Null, Value::String);
    let alias = |balancer: &Target| {
        json!({
            "dns_name": balancer.dns_name,
            "zone_id": balancer.zone_id,
            "evaluate_target_health": true,
        })
    };
    let record = |address: Address, set: Option<&str>, alias: Value, check: Value| {
        instance.produced(
            address,
            Kind::DnsRecord,
            attributes(vec![
                ("zone_id", zone_id.clone()),
                ("name", Value::String(name.clone())),
                ("type", Value::String(RECORD_TYPE.to_string())),
                ("set_identifier", set.map_or(Value::Null, Value::from)),
                (
                    "failover",
                    set.map_or(Value::Null, |set| Value::from(set.to_ascii_uppercase())),
                ),
                ("alias", alias),
                ("health_check_id", check),
            ]),
            BTreeSet::new(),
            name.clone(),
        )
    };
    let sub =
        |part: &str| Address::new(format!("{}.{part}[{GLOBAL_REGION}]", instance.address_base));

    let mut built = Built {
        value,
        ..Built::default()
    };
    let failover = instance
        .environment
        .dr
        .as_ref()
        .filter(|_| !matches!(instance.deployed, Deployed::Drill { .. }));
    match failover {
        None => {
            let mut plain = alias(&target);
            plain["evaluate_target_health"] = json!(false);
            built
                .resources
                .push(record(base.clone(), None, plain, Value::Null));
            built.primary = vec![base];
        }
        Some(dr) => {
            let check_address = sub("health_check");
            built.resources.push(instance.produced(
                check_address.clone(),
                Kind::DnsHealthCheck,
                attributes(vec![
                    ("type", Value::String(target.protocol.clone())),
                    ("target", target.dns_name.clone()),
                    ("port", json!(target.port)),
                    ("path", Value::String(target.health_path.clone())),
                    ("interval", json!(CHECK_INTERVAL)),
                    ("failure_threshold", json!(CHECK_FAILURES)),
                ]),
                BTreeSet::new(),
                format!("{name} primary"),
            ));
            let primary = sub("primary");
            built.resources.push(record(
                primary.clone(),
                Some("primary"),
                alias(&target),
                Value::String(reference(&check_address, "id")),
            ));
            built.primary = vec![primary];
            let standby = dr.mode != DrMode::BackupRestore;
            if *instance.deployed == Deployed::AtHome
                && standby
                && let Some(secondary) = target.in_region(&dr.region)
            {
                built.resources.push(record(
                    sub("secondary"),
                    Some("secondary"),
                    alias(&secondary),
                    Value::Null,
                ));
            }
        }
    }
    if zone.id.is_none() {
        built.zone_lookup = Some(ZoneLookup {
            zone: zone.name,
            records: built
                .resources
                .iter()
                .filter(|produced| produced.kind == Kind::DnsRecord)
                .map(|produced| produced.address.clone())
                .collect(),
            span: block.attribute("zone")?.value_span,
        });
    }
    Some(built)
}

/// `zone`: a `dns_zone` block, or the domain name of one.
fn zone(instance: &Instance<'_>) -> Option<Zone> {
    let (value, attr) = instance.value(instance.block, "zone")?;
    let expected =
        "a zone such as `dns_zone.main`, or the domain name of one such as `\"example.com\"`";
    match &value {
        Value::String(text) => match domain_name(text) {
            Some(name) => Some(Zone { name, id: None }),
            None => {
                instance.problem(eval::wrong_type(instance.sources, attr, &value, expected));
                None
            }
        },
        Value::Object(map) => match (map.get("name"), map.get("id")) {
            (Some(Value::String(name)), Some(Value::String(id))) => Some(Zone {
                name: name.clone(),
                id: Some(id.clone()),
            }),
            _ => {
                instance.problem(eval::wrong_type(instance.sources, attr, &value, expected));
                None
            }
        },
        _ => {
            instance.problem(eval::wrong_type(instance.sources, attr, &value, expected));
            None
        }
    }
}

/// The load balancer a record aliases, as its value tells it.
struct Target {
    dns_name: Value,
    zone_id: Value,
    /// The balancer's address, to find its copy in another region.
    address: Option<Address>,
    protocol: String,
    port: u64,
    health_path: String,
}

impl Target {
    /// The same balancer as kept in `region` (the DR region's standby), under the address a
    /// failover gives it.
    fn in_region(&self, region: &str) -> Option<Target> {
        let address = self.address.as_ref()?;
        let moved = Address::new(format!("{}[{region}]", address.block_path()));
        Some(Target {
            dns_name: Value::String(reference(&moved, "dns_name")),
            zone_id: Value::String(reference(&moved, "zone_id")),
            address: Some(moved),
            protocol: self.protocol.clone(),
            port: self.port,
            health_path: self.health_path.clone(),
        })
    }
}

fn target(instance: &Instance<'_>) -> Option<Target> {
    let (value, attr) = instance.value(instance.block, "target")?;
    let (Some(dns_name), Some(zone_id)) = (value.get("dns_name"), value.get("zone_id")) else {
        instance.problem(eval::wrong_type(
            instance.sources,
            attr,
            &value,
            "a load balancer such as `load_balancer.web`",
        ));
        return None;
    };
    let address = value
        .get("id")
        .map(references_in)
        .and_then(|found| found.first().map(|reference| reference.address.clone()));
    Some(Target {
        dns_name: dns_name.clone(),
        zone_id: zone_id.clone(),
        address,
        protocol: value
            .get("protocol")
            .and_then(Value::as_str)
            .unwrap_or("HTTP")
            .to_string(),
        port: value.get("port").and_then(Value::as_u64).unwrap_or(80),
        health_path: value
            .get("health_path")
            .and_then(Value::as_str)
            .unwrap_or("/")
            .to_string(),
    })
}

/// The full name of `written` in `zone`: `"www"` → `www.example.com`, `"@"` → the zone
/// itself, a name already ending in the zone as it is. A drill's names carry its instance
/// (`www-drill.example.com`, `drill.example.com` for the zone itself).
fn full_name(written: &str, zone: &str, deployed: &Deployed) -> Option<String> {
    let written = written.trim_end_matches('.').to_ascii_lowercase();
    let relative = if written.is_empty() || written == "@" || written == zone {
        ""
    } else if let Some(label) = written.strip_suffix(&format!(".{zone}")) {
        label
    } else {
        written.as_str()
    };
    let relative = match deployed {
        Deployed::Drill { instance } if relative.is_empty() => instance.clone(),
        Deployed::Drill { instance } => match relative.split_once('.') {
            Some((first, rest)) => format!("{first}-{instance}.{rest}"),
            None => format!("{relative}-{instance}"),
        },
        _ => relative.to_string(),
    };
    let name = if relative.is_empty() {
        zone.to_string()
    } else {
        format!("{relative}.{zone}")
    };
    domain_name(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_completed_in_their_zone_and_a_drill_s_carry_its_instance() {
        let home = Deployed::AtHome;
        let drill = Deployed::Drill {
            instance: "drill".to_string(),
        };
        assert_eq!(
            full_name("www", "example.com", &home).as_deref(),
            Some("www.example.com")
        );
        assert_eq!(
            full_name("@", "example.com", &home).as_deref(),
            Some("example.com")
        );
        assert_eq!(
            full_name("WWW.Example.com.", "example.com", &home).as_deref(),
            Some("www.example.com")
        );
        assert_eq!(
            full_name("www", "example.com", &drill).as_deref(),
            Some("www-drill.example.com")
        );
        assert_eq!(
            full_name("api.eu", "example.com", &drill).as_deref(),
            Some("api-drill.eu.example.com")
        );
        assert_eq!(
            full_name("@", "example.com", &drill).as_deref(),
            Some("drill.example.com")
        );
        assert_eq!(full_name("bad name", "example.com", &home), None);
    }
}
