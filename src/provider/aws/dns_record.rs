//! `dns_record` → Route 53 alias record, plain or failover (its id is `ZONE/NAME/TYPE/SET`,
//! `-` for no set identifier).
//!
//! Records take no tags: a refresh lists the records of the zones the owner owns (see
//! [`super::dns_zone::owned_zones`]; inside a read session, the listing the `dns_zone` read
//! made), one ListResourceRecordSets a zone (and page of 300), and gives
//! each its zone's `cairn:stack` and `cairn:env`; the plan matches them to state by id.
//! Creates and updates are UPSERTs, so writing a record again (a retry, a run that crashed
//! before recording it) replaces it instead of failing. A delete sends the record as it is
//! now, which Route 53 requires.

use super::attributes;
use super::context::{RegionContext, Selector};
use super::dns_zone::{owned_zones, ownership_of, plain_name, zones_with_ownership};
use super::error::CallError;
use crate::model::{Attributes, Kind, Tags, Value};
use crate::provider::{CreateRequest, LiveResource, ProviderError, UpdateRequest};
use aws_sdk_route53::types::{
    AliasTarget, Change, ChangeAction, ChangeBatch, ResourceRecordSet, ResourceRecordSetFailover,
    RrType,
};
use serde_json::json;

/// The id of a record: `ZONE/NAME/TYPE/SET`.
fn record_id(zone: &str, name: &str, kind: &str, set: Option<&str>) -> String {
    format!("{zone}/{name}/{kind}/{}", set.unwrap_or("-"))
}

/// The parts of a record id; the name may hold no `/`, so the split is unambiguous.
fn split_id(id: &str) -> Option<(&str, &str, &str, Option<&str>)> {
    let mut parts = id.splitn(4, '/');
    let (zone, name, kind, set) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    Some((zone, name, kind, (set != "-").then_some(set)))
}

fn malformed(id: &str) -> ProviderError {
    ProviderError::Api {
        code: "InvalidAttribute".to_string(),
        message: format!("DNS record id `{id}` is not of the form `ZONE/NAME/TYPE/SET`"),
    }
}

fn invalid(error: aws_smithy_types::error::operation::BuildError) -> ProviderError {
    ProviderError::Api {
        code: "InvalidAttribute".to_string(),
        message: error.to_string(),
    }
}

/// Every alias record of zone `zone`, or those from `start` on (name, type, set) when looking
/// for one.
async fn records(
    context: &RegionContext,
    zone: &str,
    start: Option<(&str, &str, Option<&str>)>,
) -> Result<Vec<ResourceRecordSet>, CallError> {
    let mut found = Vec::new();
    let mut next: Option<(String, RrType, Option<String>)> = start.map(|(name, kind, set)| {
        (
            name.to_string(),
            RrType::from(kind),
            set.map(str::to_string),
        )
    });
    loop {
        let mut call = context
            .route53
            .list_resource_record_sets()
            .hosted_zone_id(zone)
            .max_items(context.page(300));
        if let Some((name, kind, set)) = next.take() {
            call = call
                .start_record_name(name)
                .start_record_type(kind)
                .set_start_record_identifier(set);
        }
        let page = context.read(call.send()).await?;
        found.extend(
            page.resource_record_sets()
                .iter()
                .filter(|record| record.alias_target().is_some())
                .cloned(),
        );
        // Looking for one record, the first page holds it if it exists.
        if !page.is_truncated() || start.is_some() {
            return Ok(found);
        }
        let Some(name) = page.next_record_name() else {
            return Ok(found);
        };
        next = Some((
            name.to_string(),
            page.next_record_type().cloned().unwrap_or(RrType::A),
            page.next_record_identifier().map(str::to_string),
        ));
    }
}

fn live(
    context: &RegionContext,
    zone: &str,
    record: &ResourceRecordSet,
    tags: &Tags,
) -> LiveResource {
    let name = plain_name(record.name());
    let kind = record.r#type().as_str().to_string();
    let set = record.set_identifier();
    let alias = record.alias_target().map_or(Value::Null, |alias| {
        json!({
            "dns_name": plain_name(alias.dns_name()),
            "zone_id": alias.hosted_zone_id(),
            "evaluate_target_health": alias.evaluate_target_health(),
        })
    });
    let attributes = Attributes::from([
        ("zone_id".to_string(), Value::from(zone)),
        ("name".to_string(), Value::from(name.as_str())),
        ("type".to_string(), Value::from(kind.as_str())),
        (
            "set_identifier".to_string(),
            set.map_or(Value::Null, Value::from),
        ),
        (
            "failover".to_string(),
            record
                .failover()
                .map_or(Value::Null, |failover| Value::from(failover.as_str())),
        ),
        ("alias".to_string(), alias),
        (
            "health_check_id".to_string(),
            record.health_check_id().map_or(Value::Null, Value::from),
        ),
    ]);
    context.live(
        Kind::DnsRecord,
        &record_id(zone, &name, &kind, set),
        attributes,
        tags.clone(),
    )
}

pub(super) async fn describe(
    context: &RegionContext,
    selector: Selector<'_>,
) -> Result<Vec<LiveResource>, ProviderError> {
    let error = |error| selector.error(Kind::DnsRecord, &context.region, error);
    match selector {
        Selector::Owner(_) | Selector::All => {
            let zones = match selector {
                Selector::Owner(owner) => owned_zones(context, owner).await?,
                _ => zones_with_ownership(context, Selector::All).await?,
            };
            let mut found = Vec::new();
            for (zone, tags) in zones {
                let records = match records(context, &zone, None).await {
                    // A zone deleted between listing the zones and its records has no records
                    // left to report (someone else's delete, or a concurrent run's).
                    Err(failure) if failure.is_not_found() => continue,
                    records => records.map_err(error)?,
                };
                for record in records {
                    found.push(live(context, &zone, &record, &tags));
                }
            }
            Ok(found)
        }
        Selector::Id(id) => {
            let (zone, name, kind, set) = split_id(id).ok_or_else(|| malformed(id))?;
            let found = records(context, zone, Some((name, kind, set)))
                .await
                .map_err(error)?;
            let tags = if found.is_empty() {
                Tags::new()
            } else {
                ownership_of(context, zone).await?
            };
            Ok(found
                .iter()
                .map(|record| live(context, zone, record, &tags))
                .filter(|record| record.id == id)
                .collect())
        }
    }
}

/// The record set the attributes describe.
fn record_set(attributes: &Attributes) -> Result<ResourceRecordSet, ProviderError> {
    let alias = attributes::fields(attributes, "alias")?;
    let target = AliasTarget::builder()
        .hosted_zone_id(attributes::string(&alias, "zone_id")?)
        .dns_name(attributes::string(&alias, "dns_name")?)
        .evaluate_target_health(attributes::flag(&alias, "evaluate_target_health")?)
        .build()
        .map_err(invalid)?;
    let failover = attributes::optional_string(attributes, "failover")?
        .map(|role| ResourceRecordSetFailover::from(role.as_str()));
    ResourceRecordSet::builder()
        .name(attributes::string(attributes, "name")?)
        .r#type(RrType::from(
            attributes::string(attributes, "type")?.as_str(),
        ))
        .set_set_identifier(attributes::optional_string(attributes, "set_identifier")?)
        .set_failover(failover)
        .alias_target(target)
        .set_health_check_id(attributes::optional_string(attributes, "health_check_id")?)
        .build()
        .map_err(invalid)
}

/// Sends one change of the record in `zone`.
async fn change(
    context: &RegionContext,
    zone: &str,
    action: ChangeAction,
    record: ResourceRecordSet,
) -> Result<(), CallError> {
    let batch = ChangeBatch::builder()
        .changes(
            Change::builder()
                .action(action)
                .resource_record_set(record)
                .build()
                .map_err(|error| {
                    CallError::from_code("InvalidChangeBatch", &error.to_string(), None)
                })?,
        )
        .build()
        .map_err(|error| CallError::from_code("InvalidChangeBatch", &error.to_string(), None))?;
    let call = context
        .route53
        .change_resource_record_sets()
        .hosted_zone_id(zone)
        .change_batch(batch);
    context.mutate(call.send()).await?;
    Ok(())
}

async fn upsert(context: &RegionContext, attributes: &Attributes) -> Result<String, ProviderError> {
    let zone = attributes::string(attributes, "zone_id")?;
    let record = record_set(attributes)?;
    let id = record_id(
        &zone,
        &plain_name(record.name()),
        record.r#type().as_str(),
        record.set_identifier(),
    );
    super::consistency::until_visible(|| {
        change(context, &zone, ChangeAction::Upsert, record.clone())
    })
    .await
    .map_err(CallError::general)?;
    Ok(id)
}

pub(super) async fn create(
    context: &RegionContext,
    request: &CreateRequest,
) -> Result<String, ProviderError> {
    upsert(context, &request.attributes).await
}

pub(super) async fn update(
    context: &RegionContext,
    _current: &LiveResource,
    request: &UpdateRequest,
) -> Result<(), ProviderError> {
    upsert(context, &request.after).await.map(|_| ())
}

pub(super) async fn delete(context: &RegionContext, id: &str) -> Result<(), ProviderError> {
    let (zone, name, kind, set) = split_id(id).ok_or_else(|| malformed(id))?;
    let about = |error: CallError| error.about(Kind::DnsRecord, &context.region, id);
    let current = records(context, zone, Some((name, kind, set)))
        .await
        .map_err(about)?
        .into_iter()
        .find(|record| {
            plain_name(record.name()) == name
                && record.r#type().as_str() == kind
                && record.set_identifier() == set
        })
        .ok_or_else(|| ProviderError::NotFound {
            kind: Kind::DnsRecord,
            region: context.region.clone(),
            id: id.to_string(),
        })?;
    change(context, zone, ChangeAction::Delete, current)
        .await
        .map_err(about)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_name_zone_name_type_and_set() {
        let id = record_id("Z1", "www.example.com", "A", Some("primary"));
        assert_eq!(id, "Z1/www.example.com/A/primary");
        assert_eq!(
            split_id(&id),
            Some(("Z1", "www.example.com", "A", Some("primary")))
        );
        assert_eq!(
            split_id(&record_id("Z1", "example.com", "A", None)),
            Some(("Z1", "example.com", "A", None))
        );
        assert_eq!(split_id("Z1/www"), None);
    }
}
