//! The DNS blocks `cairn discover` writes: `dns_zone`, and a `dns_record` for each record of
//! a zone written here.
//!
//! Ownership: Route 53 keeps no tags on a record, so a record belongs to whoever owns its
//! zone. Both clouds list a record with its zone's `cairn:stack` and `cairn:env` (the sim
//! copies them onto the record, AWS reads them from the zone's comment), and importing the
//! zone gives its records this environment's. So records are discovered with their zone and
//! imported with it, never alone: one in a zone a stack owns is that stack's already.
//!
//! A `dns_record` block declares, without a `dr` block, one plain alias record to a load
//! balancer; with one, a PRIMARY failover record (set identifier `primary`) watched by a
//! health check of the balancer's DNS name, which the block declares too (and, with a
//! standby, a SECONDARY to the DR region's copy of the balancer, which the stack keeps and
//! `discover` does not list). Each record's zone is written as `dns_zone.NAME`, its target as
//! the `load_balancer` written here whose DNS name the alias names; the health check's
//! target follows from it. What no block can declare (a record aliasing something else, a
//! health check no primary record uses) is left with why.

use super::blocks::{Listed, attribute, import_member, import_to, user_tags};
use super::hcl::{self, Block};
use super::{Discovered, Naming, identifier};
use crate::config::DrMode;
use crate::model::{Kind, Tags, Value};
use crate::provider::LiveResource;
use std::collections::{BTreeMap, BTreeSet};

/// Route 53's interval and failure threshold a `dns_record` block gives its health check
/// (as `graph::resources::dns_record` does).
const CHECK_INTERVAL: u64 = 30;
const CHECK_FAILURES: u64 = 3;

fn text<'a>(object: &'a LiveResource, name: &str) -> Option<&'a str> {
    attribute(object, name).and_then(Value::as_str)
}

/// `dns_zone`: its domain name and tags.
pub(super) fn zone(naming: &Naming, item: &mut Discovered) {
    if let Some(name) = text(&item.object, "name") {
        item.block.attribute("name", hcl::quoted(name));
    }
    let display = format!("{}{}", naming.prefix, item.name);
    super::blocks::write_tags(naming, item, &display);
}

/// A load balancer written here, as a record's alias names it.
struct Balancer<'a> {
    reference: String,
    object: &'a LiveResource,
}

/// The `dns_record` blocks for the records of the zones among `names`; what none declares
/// goes to `left`.
pub(super) fn records(
    naming: &Naming,
    names: &[(&'static str, String, &LiveResource)],
    listed: &Listed,
    left: &mut Vec<(LiveResource, String)>,
) -> Vec<Discovered> {
    let of = |kind: Kind| listed.get(&kind).map(Vec::as_slice).unwrap_or_default();
    let zones: BTreeMap<&str, (&str, &str)> = names
        .iter()
        .filter(|(block_type, _, _)| *block_type == "dns_zone")
        .map(|(_, name, zone)| {
            (
                zone.id.as_str(),
                (name.as_str(), text(zone, "name").unwrap_or_default()),
            )
        })
        .collect();
    let balancers: BTreeMap<&str, Balancer<'_>> = names
        .iter()
        .filter(|(block_type, _, _)| *block_type == "load_balancer")
        .filter_map(|(_, name, balancer)| {
            Some((
                text(balancer, "dns_name")?,
                Balancer {
                    reference: format!("load_balancer.{name}"),
                    object: balancer,
                },
            ))
        })
        .collect();
    // The records of one name and type go into one block (a failover pair).
    let mut sets: BTreeMap<(&str, &str, &str), Vec<&LiveResource>> = BTreeMap::new();
    for record in of(Kind::DnsRecord) {
        let key = (
            text(record, "zone_id").unwrap_or_default(),
            text(record, "name").unwrap_or_default(),
            text(record, "type").unwrap_or_default(),
        );
        sets.entry(key).or_default().push(record);
    }
    let mut used_checks: BTreeSet<String> = BTreeSet::new();
    let mut taken: BTreeSet<String> = BTreeSet::new();
    let mut found = Vec::new();
    for ((zone_id, name, _), records) in sets {
        let Some((zone_block, zone_name)) = zones.get(zone_id) else {
            for record in records {
                left.push((
                    record.clone(),
                    format!(
                        "its zone `{zone_id}` is not declared here (a stack owns it, or `--tag` left it out): a record takes no tags, and belongs to whoever owns its zone"
                    ),
                ));
            }
            continue;
        };
        let relative = relative_name(name, zone_name);
        let base = match relative.as_str() {
            "@" => identifier(zone_name),
            label => identifier(label),
        };
        let mut block_name = base.clone();
        let mut counter = 2;
        while !taken.insert(block_name.clone()) {
            block_name = format!("{base}_{counter}");
            counter += 1;
        }
        let declared = match naming.dr {
            None => plain(naming, &block_name, &records, &balancers, left),
            Some(mode) => failover(
                naming,
                &block_name,
                mode,
                &records,
                &balancers,
                listed,
                left,
            ),
        };
        let Some(mut item) = declared else { continue };
        used_checks.extend(
            item.imports
                .iter()
                .filter(|(_, object)| object.kind == Kind::DnsHealthCheck)
                .map(|(_, check)| check.id.clone()),
        );
        let mut attributes = vec![
            ("zone".to_string(), format!("dns_zone.{zone_block}")),
            ("name".to_string(), hcl::quoted(&relative)),
        ];
        attributes.append(&mut item.block.attributes);
        item.block.attributes = attributes;
        found.push(item);
    }
    for check in of(Kind::DnsHealthCheck) {
        if !used_checks.contains(&check.id) {
            left.push((
                check.clone(),
                "no failover record written here uses it, and a `dns_record` block declares the health check of its primary record (in an environment with a `dr` block)".to_string(),
            ));
        }
    }
    found
}

/// `name` relative to `zone`: `www` for `www.example.com`, `@` for the zone itself.
fn relative_name(name: &str, zone: &str) -> String {
    if name == zone {
        "@".to_string()
    } else {
        name.strip_suffix(&format!(".{zone}"))
            .unwrap_or(name)
            .to_string()
    }
}

/// The balancer a record aliases, or why it cannot be written (to `left`).
fn target<'a, 'b>(
    record: &LiveResource,
    balancers: &'b BTreeMap<&str, Balancer<'a>>,
    left: &mut Vec<(LiveResource, String)>,
) -> Option<&'b Balancer<'a>> {
    let dns_name = attribute(record, "alias")
        .and_then(|alias| alias.get("dns_name"))
        .and_then(Value::as_str);
    match dns_name.and_then(|dns_name| balancers.get(dns_name)) {
        Some(balancer) => Some(balancer),
        None => {
            left.push((
                record.clone(),
                format!(
                    "it aliases `{}`, which no `load_balancer` block written here answers for, and a `dns_record` block's target is a load balancer",
                    dns_name.unwrap_or("nothing")
                ),
            ));
            None
        }
    }
}

fn start(name: &str, record: &LiveResource) -> Discovered {
    Discovered {
        block_type: "dns_record",
        name: name.to_string(),
        object: record.clone(),
        imports: Vec::new(),
        block: Block::new(format!("dns_record {}", hcl::quoted(name))),
    }
}

/// Whether the alias of `record` evaluates its target's health.
fn evaluates_health(record: &LiveResource) -> bool {
    attribute(record, "alias")
        .and_then(|alias| alias.get("evaluate_target_health"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// Without a `dr` block: one plain alias record (no set identifier, not evaluating its
/// target's health).
fn plain(
    naming: &Naming,
    name: &str,
    records: &[&LiveResource],
    balancers: &BTreeMap<&str, Balancer<'_>>,
    left: &mut Vec<(LiveResource, String)>,
) -> Option<Discovered> {
    let [record] = records else {
        for record in records {
            left.push((
                (*record).clone(),
                "a failover record is declared by a `dns_record` block of an environment with a `dr` block, and this one has none".to_string(),
            ));
        }
        return None;
    };
    if attribute(record, "set_identifier").is_some() {
        left.push((
            (*record).clone(),
            "it has a set identifier (a routing policy), and a `dns_record` block of an environment without a `dr` block declares a plain record".to_string(),
        ));
        return None;
    }
    let balancer = target(record, balancers, left)?;
    let mut item = start(name, record);
    item.block.attribute("target", balancer.reference.clone());
    if evaluates_health(record) {
        item.block.comments.push(format!(
            "Record `{}` evaluates its target's health; a plain record of a block does not: the plan changes it, an update.",
            record.id
        ));
    }
    if attribute(record, "health_check_id").is_some() {
        item.block.comments.push(format!(
            "Record `{}` names a health check; a plain record of a block names none: the plan removes it, an update.",
            record.id
        ));
    }
    let path = format!("dns_record.{name}");
    item.imports
        .push((import_to(naming, &path, &record.region), (*record).clone()));
    Some(item)
}

/// With a `dr` block: the PRIMARY failover record and its health check (a SECONDARY aliases
/// the DR region's copy of the balancer, which the stack keeps: it is left).
fn failover(
    naming: &Naming,
    name: &str,
    mode: DrMode,
    records: &[&LiveResource],
    balancers: &BTreeMap<&str, Balancer<'_>>,
    listed: &Listed,
    left: &mut Vec<(LiveResource, String)>,
) -> Option<Discovered> {
    let mut primary = None;
    for record in records {
        match text(record, "failover") {
            Some("PRIMARY") if primary.is_none() => primary = Some(*record),
            Some("SECONDARY") => left.push((
                (*record).clone(),
                match mode {
                    DrMode::BackupRestore => "with `dr.mode = \"backup_restore\"` a `dns_record` block declares no secondary record".to_string(),
                    _ => "it aliases the DR region's copy of the load balancer, which the stack keeps: once the primary is imported, remove it and let the next apply make the stack's own".to_string(),
                },
            )),
            _ => left.push((
                (*record).clone(),
                "with a `dr` block, a `dns_record` block declares failover records (a PRIMARY with a health check), and this one is not".to_string(),
            )),
        }
    }
    let record = primary?;
    let balancer = target(record, balancers, left)?;
    let mut item = start(name, record);
    item.block.attribute("target", balancer.reference.clone());
    if text(record, "set_identifier") != Some("primary") {
        item.block.comments.push(format!(
            "Record `{}` has the set identifier `{}`; a block's primary record has `primary`: the plan replaces it.",
            record.id,
            text(record, "set_identifier").unwrap_or_default()
        ));
    }
    if !evaluates_health(record) {
        item.block.comments.push(format!(
            "Record `{}` does not evaluate its target's health; a block's primary record does: the plan changes it, an update.",
            record.id
        ));
    }
    let path = format!("dns_record.{name}");
    item.imports.push((
        import_to(naming, &format!("{path}.primary"), &record.region),
        record.clone(),
    ));
    let check = text(record, "health_check_id").and_then(|id| {
        listed
            .get(&Kind::DnsHealthCheck)?
            .iter()
            .find(|check| check.id == id)
    });
    match check {
        Some(check) => {
            for (attribute_name, expected) in expected_check(balancer, listed) {
                let found = attribute(check, attribute_name);
                if found != Some(&expected) {
                    let effect = if Kind::DnsHealthCheck
                        .replace_attributes()
                        .contains(&attribute_name)
                    {
                        "the plan replaces it"
                    } else {
                        "the plan changes it, an update"
                    };
                    item.block.comments.push(format!(
                        "Health check `{}` has `{attribute_name}` {}; the block's is {expected}: {effect}.",
                        check.id,
                        found.map_or_else(|| "unset".to_string(), Value::to_string)
                    ));
                }
            }
            let record_name = text(record, "name").unwrap_or_default();
            let expected = Tags::from([("Name".to_string(), format!("{record_name} primary"))]);
            let mut tags = user_tags(naming, check);
            tags.remove("Name");
            let mut expected_tags = tags.clone();
            expected_tags.extend(expected);
            let to = import_to(naming, &format!("{path}.health_check"), &check.region);
            // A block gives its health check no tags of its own but its `Name`.
            if !tags.is_empty() {
                item.block.comments.push(format!(
                    "Health check `{}` has tags {} a block does not give it: the plan removes them, an update.",
                    check.id,
                    hcl::string_map(&tags)
                ));
            }
            import_member(naming, &mut item, to, check, expected_tags);
        }
        None => item.block.comments.push(format!(
            "Record `{}` has no health check written here: the plan creates one and updates the record.",
            record.id
        )),
    }
    Some(item)
}

/// What a `dns_record` block's health check of `balancer` says: the protocol and port of its
/// lowest listener, the path of the balancer block's `health_check` (its default target
/// group's), a check every 30 s, three failures.
fn expected_check(balancer: &Balancer<'_>, listed: &Listed) -> Vec<(&'static str, Value)> {
    let of = |kind: Kind| listed.get(&kind).map(Vec::as_slice).unwrap_or_default();
    let listener = of(Kind::Listener)
        .iter()
        .filter(|listener| text(listener, "load_balancer_id") == Some(balancer.object.id.as_str()))
        .min_by_key(|listener| attribute(listener, "port").and_then(Value::as_u64));
    let group = listener
        .and_then(|listener| attribute(listener, "forward")?.as_array()?.first())
        .and_then(|forward| forward.get("target_group_id")?.as_str())
        .and_then(|id| of(Kind::TargetGroup).iter().find(|group| group.id == id));
    // The block's own `health_check`, which discover writes for a balancer's default group
    // (named as the balancer) only; `target_group` blocks keep theirs.
    let path = group
        .filter(|group| text(group, "name") == text(balancer.object, "name"))
        .and_then(|group| attribute(group, "health_check")?.get("path"))
        .cloned()
        .unwrap_or_else(|| Value::from("/"));
    vec![
        (
            "type",
            listener
                .and_then(|listener| attribute(listener, "protocol"))
                .cloned()
                .unwrap_or_else(|| Value::from("HTTP")),
        ),
        (
            "target",
            attribute(balancer.object, "dns_name")
                .cloned()
                .unwrap_or(Value::Null),
        ),
        (
            "port",
            listener
                .and_then(|listener| attribute(listener, "port"))
                .cloned()
                .unwrap_or_else(|| Value::from(80)),
        ),
        ("path", path),
        ("interval", Value::from(CHECK_INTERVAL)),
        ("failure_threshold", Value::from(CHECK_FAILURES)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_written_relative_to_their_zone() {
        assert_eq!(relative_name("www.example.com", "example.com"), "www");
        assert_eq!(relative_name("example.com", "example.com"), "@");
        assert_eq!(relative_name("api.eu.example.com", "example.com"), "api.eu");
    }
}
