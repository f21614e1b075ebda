//! `dns_zone` → Route 53 public hosted zone (its id is the zone id, `Z…`), and what the
//! Route 53 kinds share: tags read ten resources a call, and which zones an owner owns.
//!
//! Route 53 takes no tags in CreateHostedZone, so a zone is tagged by a second call; so that
//! a crash between the two cannot leave a zone nobody owns, its comment records its ownership
//! tags as JSON, and a refresh reads ownership from the comment. Batching: ListHostedZones
//! (100 a page, comments included), then ListTagsForResources for the owned zones, ten a call.
//! The record read lists records in the same owned zones ([`owned_zones`]); inside a read
//! session the two share one listing (see [`super::shared`]). Route 53 is global: these
//! resources live in the pseudo-region `global`.

use super::context::{RegionContext, Selector, read_batches};
use super::error::CallError;
use super::shared::Zones;
use super::{attributes, tags};
use crate::model::{Attributes, Kind, Owner, TAG_ADDRESS, TAG_ENV, TAG_STACK, Tags, Value};
use crate::provider::{CreateRequest, LiveResource, ProviderError};
use aws_sdk_route53::types::{HostedZone, HostedZoneConfig, Tag, TagResourceType};
use std::collections::BTreeMap;

/// ListTagsForResources takes at most ten ids a call.
const IDS_PER_CALL: usize = 10;

/// How Cairn's note in a zone's comment starts: then come its ownership tags as JSON. The
/// note is the whole comment of a zone Cairn made, and follows the user's in one it imported.
const COMMENT_PREFIX: &str = "Managed by Cairn; its owner: ";

/// Between a user's comment and Cairn's note.
const COMMENT_SEPARATOR: &str = " | ";

/// Every item of a Route 53 listing that pages by marker (ListHostedZones, ListHealthChecks),
/// each page one counted call: `$operation` is the client's method, `$maximum` the API's page
/// limit, `$items` the page's field of items. Route 53 gives each listing an output type of its
/// own with no trait in common, hence a macro. Returns `Result<Vec<Item>, CallError>`.
macro_rules! list_route53 {
    ($context:expr, $operation:ident, $maximum:expr, $items:ident) => {{
        let context: &$crate::provider::aws::context::RegionContext = $context;
        context
            .read_pages(
                |token| {
                    context
                        .route53
                        .$operation()
                        .set_marker(token)
                        .max_items(context.page($maximum))
                        .send()
                },
                |page| page.next_marker(),
            )
            .await
            .map(|pages| {
                pages
                    .into_iter()
                    .flat_map(|page| page.$items)
                    .collect::<Vec<_>>()
            })
    }};
}
pub(super) use list_route53;

/// The zone id without the `/hostedzone/` prefix Route 53 lists it with.
pub(super) fn zone_id(id: &str) -> &str {
    id.trim_start_matches("/hostedzone/")
}

/// A domain name as the contract writes it: lower case, without the root's trailing dot.
pub(super) fn plain_name(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// The ownership tags a zone's comment records, if Cairn wrote it.
fn owner_of(zone: &HostedZone) -> Option<Tags> {
    let (_, json) = split_comment(zone.config()?.comment()?);
    serde_json::from_str(json?).ok()
}

/// A zone's comment as its user wrote it, and the ownership JSON Cairn appended to it (a zone
/// Cairn imported keeps the comment it had before the note).
fn split_comment(comment: &str) -> (&str, Option<&str>) {
    match comment.rsplit_once(COMMENT_PREFIX) {
        Some((own, json)) => (
            own.strip_suffix(COMMENT_SEPARATOR).unwrap_or(own),
            Some(json),
        ),
        None => (comment, None),
    }
}

/// The comment that records `ownership` after the user's `own` comment (none for a release).
fn comment(own: &str, ownership: &Tags) -> String {
    if ownership.is_empty() {
        return own.to_string();
    }
    let note = format!(
        "{COMMENT_PREFIX}{}",
        serde_json::to_string(ownership).unwrap_or_default()
    );
    if own.is_empty() {
        note
    } else {
        format!("{own}{COMMENT_SEPARATOR}{note}")
    }
}

/// Sets the ownership of zone `current` (an import, a move or a release): its comment, which
/// a refresh reads ownership from, then its tags. The records in it follow, being listed
/// with their zone's ownership.
pub(super) async fn set_ownership(
    context: &RegionContext,
    current: &LiveResource,
    ownership: &Tags,
) -> Result<(), ProviderError> {
    let about = |error: CallError| error.about(Kind::DnsZone, &context.region, &current.id);
    let zone = context
        .read(context.route53.get_hosted_zone().id(&current.id).send())
        .await
        .map_err(about)?;
    let existing = zone
        .hosted_zone()
        .and_then(|zone| zone.config()?.comment())
        .unwrap_or_default();
    let (own, _) = split_comment(existing);
    let recorded: Tags = ownership
        .iter()
        .filter(|(key, _)| [TAG_STACK, TAG_ENV, TAG_ADDRESS].contains(&key.as_str()))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    let call = context
        .route53
        .update_hosted_zone_comment()
        .id(&current.id)
        .comment(comment(own, &recorded));
    context.mutate(call.send()).await.map_err(about)?;
    let (set, remove) = tags::ownership_difference(&current.tags, ownership);
    change_tags(
        context,
        TagResourceType::Hostedzone,
        &current.id,
        &set,
        &remove,
    )
    .await
    .map_err(about)
}

/// The zones `selector` picks, with the ownership tags their comments record; an owner's are
/// those the read session listed already, if it did.
pub(super) async fn zones(
    context: &RegionContext,
    selector: Selector<'_>,
) -> Result<Zones, ProviderError> {
    context
        .shared
        .zones(selector.owner(), || list(context, selector))
        .await
}

/// Lists the zones `selector` picks, with the ownership tags their comments record.
async fn list(context: &RegionContext, selector: Selector<'_>) -> Result<Zones, ProviderError> {
    let error = |error| selector.error(Kind::DnsZone, &context.region, error);
    let found: Vec<HostedZone> = match selector {
        Selector::Owner(_) | Selector::All => {
            list_route53!(context, list_hosted_zones, 100, hosted_zones).map_err(error)?
        }
        Selector::Id(id) => context
            .read(context.route53.get_hosted_zone().id(id).send())
            .await
            .map_err(error)?
            .hosted_zone
            .into_iter()
            .collect(),
    };
    Ok(found
        .into_iter()
        .filter_map(|zone| {
            let owner = owner_of(&zone).unwrap_or_default();
            let wanted = match selector {
                Selector::Owner(wanted) => wanted.owns(&owner),
                Selector::Id(_) | Selector::All => true,
            };
            wanted.then_some((zone, owner))
        })
        .collect())
}

/// The ids of the zones `owner` owns, with their `cairn:stack` and `cairn:env` (what the
/// records in them are listed with, since records take no tags).
pub(super) async fn owned_zones(
    context: &RegionContext,
    owner: &Owner,
) -> Result<Vec<(String, Tags)>, ProviderError> {
    zones_with_ownership(context, Selector::Owner(owner)).await
}

/// The ids of the zones `selector` picks, with their `cairn:stack` and `cairn:env`.
pub(super) async fn zones_with_ownership(
    context: &RegionContext,
    selector: Selector<'_>,
) -> Result<Vec<(String, Tags)>, ProviderError> {
    Ok(zones(context, selector)
        .await?
        .into_iter()
        .map(|(zone, tags)| (zone_id(zone.id()).to_string(), ownership(tags)))
        .collect())
}

/// The `cairn:stack` and `cairn:env` of zone `id` (empty for a zone Cairn did not create):
/// what a record read by its id carries.
pub(super) async fn ownership_of(context: &RegionContext, id: &str) -> Result<Tags, ProviderError> {
    Ok(zones(context, Selector::Id(id))
        .await?
        .into_iter()
        .next()
        .map(|(_, tags)| ownership(tags))
        .unwrap_or_default())
}

fn ownership(tags: Tags) -> Tags {
    tags.into_iter()
        .filter(|(key, _)| key == TAG_STACK || key == TAG_ENV)
        .collect()
}

/// The tags of each of `ids` (of one resource type), ten a call; one deleted since it was
/// listed is left out.
pub(super) async fn tags_of(
    context: &RegionContext,
    resource_type: TagResourceType,
    ids: &[String],
) -> Result<BTreeMap<String, Tags>, CallError> {
    let sets = read_batches(ids, IDS_PER_CALL, |batch| {
        tag_sets(context, &resource_type, batch)
    })
    .await?;
    Ok(sets.into_iter().collect())
}

/// The tags of `ids` (at most ten), by id, in one ListTagsForResources call.
async fn tag_sets(
    context: &RegionContext,
    resource_type: &TagResourceType,
    ids: Vec<String>,
) -> Result<Vec<(String, Tags)>, CallError> {
    let output = context
        .read(
            context
                .route53
                .list_tags_for_resources()
                .resource_type(resource_type.clone())
                .set_resource_ids(Some(ids))
                .send(),
        )
        .await?;
    Ok(output
        .resource_tag_sets()
        .iter()
        .filter_map(|set| {
            let tags = set
                .tags()
                .iter()
                .filter_map(|tag| {
                    Some((
                        tag.key()?.to_string(),
                        tag.value().unwrap_or_default().to_string(),
                    ))
                })
                .collect();
            Some((set.resource_id()?.to_string(), tags))
        })
        .collect())
}

/// Brings the tags of a zone or health check to `desired` with ChangeTagsForResource (ten
/// changes of each sort a call).
pub(super) async fn sync_tags(
    context: &RegionContext,
    resource_type: TagResourceType,
    id: &str,
    current: &Tags,
    desired: &Tags,
) -> Result<(), CallError> {
    let (set, remove) = tags::difference(current, desired);
    change_tags(context, resource_type, id, &set, &remove).await
}

/// Sets `set` and removes `remove` on a zone or health check with ChangeTagsForResource (ten
/// changes of each sort a call).
pub(super) async fn change_tags(
    context: &RegionContext,
    resource_type: TagResourceType,
    id: &str,
    set: &Tags,
    remove: &[String],
) -> Result<(), CallError> {
    let set: Vec<Tag> = set
        .iter()
        .map(|(key, value)| Tag::builder().key(key).value(value).build())
        .collect();
    let rounds = set.len().max(remove.len()).div_ceil(IDS_PER_CALL);
    for round in 0..rounds {
        let window = round * IDS_PER_CALL..(round + 1) * IDS_PER_CALL;
        let adding = set
            .get(window.start..window.end.min(set.len()))
            .unwrap_or_default();
        let removing = remove
            .get(window.start..window.end.min(remove.len()))
            .unwrap_or_default();
        let call = context
            .route53
            .change_tags_for_resource()
            .resource_type(resource_type.clone())
            .resource_id(id)
            .set_add_tags((!adding.is_empty()).then(|| adding.to_vec()))
            .set_remove_tag_keys((!removing.is_empty()).then(|| removing.to_vec()));
        context.mutate(call.send()).await?;
    }
    Ok(())
}

pub(super) async fn describe(
    context: &RegionContext,
    selector: Selector<'_>,
) -> Result<Vec<LiveResource>, ProviderError> {
    let found = zones(context, selector).await?;
    let ids: Vec<String> = found
        .iter()
        .map(|(zone, _)| zone_id(zone.id()).to_string())
        .collect();
    let mut tags = tags_of(context, TagResourceType::Hostedzone, &ids)
        .await
        .map_err(|error| selector.error(Kind::DnsZone, &context.region, error))?;
    Ok(found
        .into_iter()
        .map(|(zone, owner)| {
            let id = zone_id(zone.id()).to_string();
            // The comment's ownership stands even when a crash kept the tags from being set.
            let mut all = tags.remove(&id).unwrap_or_default();
            all.extend(owner);
            let attributes =
                Attributes::from([("name".to_string(), Value::from(plain_name(zone.name())))]);
            context.live(Kind::DnsZone, &id, attributes, all)
        })
        .collect())
}

pub(super) async fn create(
    context: &RegionContext,
    request: &CreateRequest,
) -> Result<String, ProviderError> {
    let ownership: Tags = request
        .tags
        .iter()
        .filter(|(key, _)| [TAG_STACK, TAG_ENV, TAG_ADDRESS].contains(&key.as_str()))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    let comment = comment("", &ownership);
    // The token is the caller reference: a retry after a lost answer is refused as a
    // duplicate rather than making a second zone, and the refresh adopts the first.
    let call = context
        .route53
        .create_hosted_zone()
        .name(attributes::string(&request.attributes, "name")?)
        .caller_reference(&request.token)
        .hosted_zone_config(HostedZoneConfig::builder().comment(comment).build());
    let id = context
        .create(
            "CreateHostedZone",
            || call.clone().send(),
            |output| output.hosted_zone().map(|zone| zone_id(zone.id())),
        )
        .await?;
    sync_tags(
        context,
        TagResourceType::Hostedzone,
        &id,
        &Tags::new(),
        &request.tags,
    )
    .await
    .map_err(CallError::general)?;
    Ok(id)
}

pub(super) async fn delete(context: &RegionContext, id: &str) -> Result<(), ProviderError> {
    context
        .delete(
            Kind::DnsZone,
            id,
            context.route53.delete_hosted_zone().id(id).send(),
        )
        .await
}
