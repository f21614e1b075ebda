//! Route 53: hosted zones, health checks and alias records, in the global pseudo-region
//! (Route 53 answers for every region at once, and no region's outage reaches it).
//!
//! AWS rules kept: a zone's id is `Z` and uppercase letters and digits, several zones may
//! have one name, and a zone with records of its own cannot be
//! deleted (`HostedZoneNotEmpty`). A record lies within its zone's name; the engine creates
//! and updates records with UPSERT, so writing a record that exists replaces it. Failover
//! records need a set identifier (and records with one need a routing policy); a name and
//! type have at most one PRIMARY and one SECONDARY, and no plain record beside them; an alias
//! names a load balancer that exists, in the hosted zone of its region's load balancers; a
//! health check a record names exists. Records take no tags: they are listed with their
//! zone's `cairn:stack` and `cairn:env` (copied onto them when written, and again when the
//! zone's ownership changes), and their id is `ZONE/NAME/TYPE/SET`.
//!
//! A health check of type HTTP(S) is healthy while the load balancer its domain name belongs
//! to answers on its port (see [`load_balancing::answers`]); a name resolves to its PRIMARY
//! record while that record's health check is healthy, else to its SECONDARY (and to the
//! PRIMARY still when neither is healthy), as Route 53 answers.

use super::attributes;
use super::cloud::{Cloud, Resource};
use super::error::api;
use super::load_balancing;
use super::operations::Context;
use crate::model::regions;
use crate::model::{Attributes, Kind, TAG_ENV, TAG_STACK, Tags, Value};
use crate::provider::ProviderError;
use std::collections::BTreeSet;

fn invalid_batch(message: impl Into<String>) -> ProviderError {
    api("InvalidChangeBatch", message)
}

fn no_such_zone(id: &str) -> ProviderError {
    api(
        "NoSuchHostedZone",
        format!("No hosted zone found with ID: {id}"),
    )
}

pub fn create_zone(
    cloud: &mut Cloud,
    context: &Context,
    attributes: &Attributes,
    tags: &Tags,
) -> Result<String, ProviderError> {
    let name = attributes::string(attributes, "name")?.to_string();
    let labels: Vec<&str> = name.split('.').collect();
    if labels.len() < 2 || labels.iter().any(|label| label.is_empty()) {
        return Err(api(
            "InvalidDomainName",
            format!("{name} is not a valid domain name"),
        ));
    }
    let id = format!("Z{}", cloud.new_hex().to_ascii_uppercase());
    let zone = Resource::new(Kind::DnsZone, id, attributes.clone(), tags.clone());
    Ok(cloud.add(context.region, zone))
}

pub fn delete_zone(cloud: &mut Cloud, context: &Context, id: &str) -> Result<(), ProviderError> {
    cloud.remove_unreferenced(
        context.region,
        (Kind::DnsZone, id),
        Kind::DnsRecord,
        |record| record.text("zone_id") == Some(id),
        (
            "HostedZoneNotEmpty",
            "The hosted zone contains resource records that are not SOA or NS records.".to_string(),
        ),
    )
}

fn check_health_check(attributes: &Attributes) -> Result<(), ProviderError> {
    let invalid = |message: String| api("InvalidInput", message);
    let kind = attributes::string(attributes, "type")?;
    if !matches!(kind, "HTTP" | "HTTPS") {
        return Err(invalid(format!("Invalid health check type {kind}")));
    }
    if attributes::string(attributes, "target")?.is_empty() {
        return Err(invalid("A domain name to check is required".to_string()));
    }
    let port = attributes::integer(attributes, "port")?;
    if !(1..=65535).contains(&port) {
        return Err(invalid(format!("Invalid port {port}")));
    }
    let path = attributes::string(attributes, "path")?;
    if !path.starts_with('/') {
        return Err(invalid(format!(
            "The resource path {path} must start with /"
        )));
    }
    let interval = attributes::integer(attributes, "interval")?;
    if !matches!(interval, 10 | 30) {
        return Err(invalid(format!(
            "Request interval {interval} must be 10 or 30"
        )));
    }
    let threshold = attributes::integer(attributes, "failure_threshold")?;
    if !(1..=10).contains(&threshold) {
        return Err(invalid(format!(
            "Failure threshold {threshold} must be from 1 to 10"
        )));
    }
    Ok(())
}

pub fn create_health_check(
    cloud: &mut Cloud,
    context: &Context,
    attributes: &Attributes,
    tags: &Tags,
) -> Result<String, ProviderError> {
    check_health_check(attributes)?;
    let hex = format!("{}{}", cloud.new_hex(), cloud.new_hex());
    let id = format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    );
    let check = Resource::new(Kind::DnsHealthCheck, id, attributes.clone(), tags.clone());
    Ok(cloud.add(context.region, check))
}

pub fn update_health_check(
    cloud: &mut Cloud,
    context: &Context,
    id: &str,
    after: &Attributes,
) -> Result<(), ProviderError> {
    check_health_check(after)?;
    cloud.replace_target(context.region, Kind::DnsHealthCheck, id, after)
}

pub fn delete_health_check(
    cloud: &mut Cloud,
    context: &Context,
    id: &str,
) -> Result<(), ProviderError> {
    cloud.remove_unreferenced(
        context.region,
        (Kind::DnsHealthCheck, id),
        Kind::DnsRecord,
        |record| record.text("health_check_id") == Some(id),
        (
            "HealthCheckInUse",
            format!("The health check {id} is still referenced from a resource record set"),
        ),
    )
}

/// A record's id: `ZONE/NAME/TYPE/SET` (`-` without a set identifier).
pub fn record_id(attributes: &Attributes) -> Result<String, ProviderError> {
    let zone = attributes::string(attributes, "zone_id")?;
    let name = attributes::string(attributes, "name")?;
    let kind = attributes::string(attributes, "type")?;
    let set = attributes::optional_string(attributes, "set_identifier")?.unwrap_or("-");
    Ok(format!("{zone}/{name}/{kind}/{set}"))
}

/// ChangeResourceRecordSets with UPSERT: creates the record or replaces the one with its id.
pub fn upsert_record(
    cloud: &mut Cloud,
    context: &Context,
    attributes: &Attributes,
) -> Result<String, ProviderError> {
    let id = record_id(attributes)?;
    let zone_id = attributes::string(attributes, "zone_id")?;
    let zone = cloud
        .find(context.region, Kind::DnsZone, zone_id)
        .ok_or_else(|| no_such_zone(zone_id))?;
    let zone_name = zone.text("name").unwrap_or_default().to_string();
    let owner: Tags = zone
        .tags
        .iter()
        .filter(|(key, _)| *key == TAG_STACK || *key == TAG_ENV)
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    let name = attributes::string(attributes, "name")?;
    if name != zone_name && !name.ends_with(&format!(".{zone_name}")) {
        return Err(invalid_batch(format!(
            "RRSet with DNS name {name}. is not permitted in zone {zone_name}."
        )));
    }
    let kind = attributes::string(attributes, "type")?;
    if kind != "A" {
        return Err(invalid_batch(format!(
            "Only alias records of type A are supported here, found {kind}"
        )));
    }
    check_routing(cloud, context.region, attributes, &id, zone_id, name, kind)?;
    check_alias(cloud, attributes)?;
    if let Some(check) = attributes::optional_string(attributes, "health_check_id")? {
        cloud
            .find(context.region, Kind::DnsHealthCheck, check)
            .ok_or_else(|| {
                api(
                    "NoSuchHealthCheck",
                    format!("A health check with id {check} does not exist."),
                )
            })?;
    }
    let record = Resource::new(Kind::DnsRecord, id.clone(), attributes.clone(), owner);
    cloud.insert(context.region, record);
    Ok(id)
}

/// Failover records: a set identifier with a failover role, one of each role per name.
fn check_routing(
    cloud: &Cloud,
    region: &str,
    attributes: &Attributes,
    id: &str,
    zone_id: &str,
    name: &str,
    kind: &str,
) -> Result<(), ProviderError> {
    let set = attributes::optional_string(attributes, "set_identifier")?;
    let failover = attributes::optional_string(attributes, "failover")?;
    match (set, failover) {
        (Some(_), Some("PRIMARY" | "SECONDARY")) | (None, None) => {}
        (Some(_), None) => {
            return Err(invalid_batch(
                "A record with a set identifier needs a routing policy (failover)",
            ));
        }
        (None, Some(_)) => {
            return Err(invalid_batch("A failover record needs a set identifier"));
        }
        (Some(_), Some(other)) => {
            return Err(invalid_batch(format!(
                "Failover must be PRIMARY or SECONDARY, found {other}"
            )));
        }
    }
    for other in cloud.all_of(region, Kind::DnsRecord) {
        if other.id == id
            || other.text("zone_id") != Some(zone_id)
            || other.text("name") != Some(name)
            || other.text("type") != Some(kind)
        {
            continue;
        }
        let other_failover = other.text("failover");
        if failover.is_none() || other_failover.is_none() {
            return Err(invalid_batch(format!(
                "RRSet of type {kind} with DNS name {name}. is not permitted because a conflicting RRSet of type {kind} with the same DNS name already exists"
            )));
        }
        if other_failover == failover {
            return Err(invalid_batch(format!(
                "The name {name}. already has a {} failover record",
                failover.unwrap_or_default()
            )));
        }
    }
    Ok(())
}

/// An alias names an existing load balancer, in its region's hosted zone.
fn check_alias(cloud: &Cloud, attributes: &Attributes) -> Result<(), ProviderError> {
    let alias = match attributes.get("alias") {
        Some(Value::Object(fields)) => fields.clone().into_iter().collect::<Attributes>(),
        Some(other) => {
            return Err(attributes::invalid("alias", other, "expected an object"));
        }
        None => return Err(attributes::missing("alias")),
    };
    let dns_name = attributes::string(&alias, "dns_name")?;
    let zone_id = attributes::string(&alias, "zone_id")?;
    attributes::optional_bool(&alias, "evaluate_target_health")?;
    let target = load_balancing::balancer_named(cloud, dns_name);
    match target {
        Some((region, _)) if regions::load_balancer_zone(region) == Some(zone_id) => Ok(()),
        _ => Err(invalid_batch(format!(
            "Tried to create an alias that targets {dns_name}., type A in zone {zone_id}, but the alias target name does not lie within the target zone"
        ))),
    }
}

pub fn update_record(
    cloud: &mut Cloud,
    context: &Context,
    id: &str,
    after: &Attributes,
) -> Result<(), ProviderError> {
    cloud.target(context.region, Kind::DnsRecord, id)?;
    if record_id(after)? != id {
        return Err(invalid_batch(
            "A record's zone, name, type and set identifier cannot change",
        ));
    }
    upsert_record(cloud, context, after).map(|_| ())
}

/// Gives the records of zone `id` the zone's new `ownership` (its `cairn:stack` and
/// `cairn:env`): records take no tags, and are listed as their zone's owner's, so importing
/// or releasing a zone takes its records with it, as on Route 53.
pub fn own_records(
    cloud: &mut Cloud,
    context: &Context,
    id: &str,
    ownership: &Tags,
) -> Result<(), ProviderError> {
    let records: Vec<String> = cloud
        .all_of(context.region, Kind::DnsRecord)
        .filter(|record| record.text("zone_id") == Some(id))
        .map(|record| record.id.clone())
        .collect();
    for record in records {
        let mut resource = cloud.target_mut(context.region, Kind::DnsRecord, &record)?;
        resource.tags = ownership
            .iter()
            .filter(|(key, _)| *key == TAG_STACK || *key == TAG_ENV)
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
    }
    Ok(())
}

pub fn delete_record(cloud: &mut Cloud, context: &Context, id: &str) -> Result<(), ProviderError> {
    cloud.remove_target(context.region, Kind::DnsRecord, id)
}

/// Whether the health check `id` is healthy now.
pub fn check_is_healthy(cloud: &Cloud, outages: &BTreeSet<String>, check: &Resource) -> bool {
    let target = check.text("target").unwrap_or_default();
    let port = check
        .attributes
        .get("port")
        .and_then(attributes::as_integer)
        .unwrap_or(80);
    load_balancing::answers(cloud, outages, target, port)
}

/// Whether `record` is what Route 53 answers for its name now (see the module documentation).
pub fn answering(
    cloud: &Cloud,
    outages: &BTreeSet<String>,
    region: &str,
    record: &Resource,
) -> bool {
    let healthy = |candidate: &Resource| match candidate.text("health_check_id") {
        Some(id) => cloud
            .find(region, Kind::DnsHealthCheck, id)
            .is_some_and(|check| check_is_healthy(cloud, outages, check)),
        // Without a health check, a failover record counts as healthy.
        None => true,
    };
    match record.text("failover") {
        None => true,
        Some(role) => {
            let partner = cloud.all_of(region, Kind::DnsRecord).find(|other| {
                other.id != record.id
                    && other.text("zone_id") == record.text("zone_id")
                    && other.text("name") == record.text("name")
                    && other.text("type") == record.text("type")
            });
            let (primary, secondary) = if role == "PRIMARY" {
                (Some(record), partner)
            } else {
                (partner, Some(record))
            };
            let primary_answers = match (primary, secondary) {
                (Some(primary), Some(secondary)) => healthy(primary) || !healthy(secondary),
                (Some(_), None) => true,
                (None, _) => false,
            };
            (role == "PRIMARY") == primary_answers
        }
    }
}
