//! `dns_health_check` → Route 53 health check of a domain name over HTTP(S) (its id is the
//! health check id).
//!
//! CreateHealthCheck takes no tags: a second call tags the check. Its caller reference starts
//! with a hash of the owner (`cairn-HASH-TOKEN`), so a refresh lists the account's checks
//! (ListHealthChecks, 1000 a page) and reads tags (ten a call) of the owner's, and of the
//! checks made outside Cairn (whose caller reference cannot change): one imported is the
//! owner's by its tags. A check
//! whose tagging call never happened (an answer lost, a run killed in between) carries no
//! address, so no plan adopts it by its tags; but its caller reference holds the create's
//! token, which a retry and a run resuming the interrupted create send again: a create first
//! looks for a check with its own reference and tags that one instead of making another.

use super::attributes;
use super::context::{RegionContext, Selector};
use super::dns_zone::{change_tags, list_route53, plain_name, sync_tags, tags_of};
use super::error::CallError;
use crate::model::{Attributes, Kind, Owner, TAG_ENV, TAG_STACK, Tags, Value};
use crate::provider::{CreateRequest, LiveResource, ProviderError, UpdateRequest};
use crate::util::hash::stable_hash;
use aws_sdk_route53::types::{HealthCheck, HealthCheckConfig, HealthCheckType, TagResourceType};

/// The longest caller reference Route 53 takes.
const CALLER_REFERENCE_LIMIT: usize = 64;

/// How the caller reference of every check Cairn makes starts.
const CAIRN_REFERENCE: &str = "cairn-";

/// The start of the caller references of `owner`'s health checks.
fn reference_prefix(owner: &Owner) -> String {
    let hash = stable_hash(format!("{}\n{}", owner.stack, owner.env).as_bytes());
    format!("{CAIRN_REFERENCE}{hash:016x}-")
}

/// The owner a create request's tags name.
fn owner_of(tags: &Tags) -> Owner {
    Owner {
        stack: tags.get(TAG_STACK).cloned().unwrap_or_default(),
        env: tags.get(TAG_ENV).cloned().unwrap_or_default(),
    }
}

fn invalid(error: aws_smithy_types::error::operation::BuildError) -> ProviderError {
    ProviderError::Api {
        code: "InvalidAttribute".to_string(),
        message: error.to_string(),
    }
}

async fn checks(
    context: &RegionContext,
    selector: Selector<'_>,
) -> Result<Vec<(HealthCheck, Tags)>, ProviderError> {
    let error = |error| selector.error(Kind::DnsHealthCheck, &context.region, error);
    let found: Vec<HealthCheck> = match selector {
        Selector::Owner(_) | Selector::All => {
            // An owner's checks are those whose caller reference starts with its prefix, and
            // those made outside Cairn (whose reference is not `cairn-…`) that it imported,
            // known by their tags, read below.
            let prefix = selector.owner().map(reference_prefix).unwrap_or_default();
            list_route53!(context, list_health_checks, 1000, health_checks)
                .map_err(error)?
                .into_iter()
                .filter(|check| {
                    let reference = check.caller_reference();
                    reference.starts_with(&prefix) || !reference.starts_with(CAIRN_REFERENCE)
                })
                .collect()
        }
        Selector::Id(id) => context
            .read(
                context
                    .route53
                    .get_health_check()
                    .health_check_id(id)
                    .send(),
            )
            .await
            .map_err(error)?
            .health_check
            .into_iter()
            .collect(),
    };
    let ids: Vec<String> = found.iter().map(|check| check.id().to_string()).collect();
    let mut tags = tags_of(context, TagResourceType::Healthcheck, &ids)
        .await
        .map_err(error)?;
    Ok(found
        .into_iter()
        .filter_map(|check| {
            let mut all = tags.remove(check.id()).unwrap_or_default();
            if let Selector::Owner(owner) = selector {
                if check
                    .caller_reference()
                    .starts_with(&reference_prefix(owner))
                {
                    // The prefix says whose it is, even before its tags are set.
                    all.insert(TAG_STACK.to_string(), owner.stack.clone());
                    all.insert(TAG_ENV.to_string(), owner.env.clone());
                } else if !owner.owns(&all) {
                    return None;
                }
            }
            Some((check, all))
        })
        .collect())
}

pub(super) async fn describe(
    context: &RegionContext,
    selector: Selector<'_>,
) -> Result<Vec<LiveResource>, ProviderError> {
    Ok(checks(context, selector)
        .await?
        .into_iter()
        .filter_map(|(check, tags)| {
            let config = check.health_check_config()?;
            let attributes = Attributes::from([
                ("type".to_string(), Value::from(config.r#type().as_str())),
                (
                    "target".to_string(),
                    Value::from(plain_name(
                        config.fully_qualified_domain_name().unwrap_or_default(),
                    )),
                ),
                (
                    "port".to_string(),
                    Value::from(config.port().unwrap_or_default()),
                ),
                (
                    "path".to_string(),
                    Value::from(config.resource_path().unwrap_or("/")),
                ),
                (
                    "interval".to_string(),
                    Value::from(config.request_interval().unwrap_or(30)),
                ),
                (
                    "failure_threshold".to_string(),
                    Value::from(config.failure_threshold().unwrap_or(3)),
                ),
            ]);
            Some(context.live(Kind::DnsHealthCheck, check.id(), attributes, tags))
        })
        .collect())
}

/// The check an earlier attempt of the same create made, found by its caller reference (the
/// request's token): its answer may have been lost before the tagging call, which leaves a
/// check no address tag leads to. Route 53 itself answers a repeated reference with the
/// check it made, but not every emulator does (moto makes a second one), and a check made by
/// a killed run is only found this way.
async fn made_by(
    context: &RegionContext,
    owner: &Owner,
    reference: &str,
) -> Result<Option<String>, ProviderError> {
    Ok(checks(context, Selector::Owner(owner))
        .await?
        .into_iter()
        .find(|(check, _)| check.caller_reference() == reference)
        .map(|(check, _)| check.id().to_string()))
}

pub(super) async fn create(
    context: &RegionContext,
    request: &CreateRequest,
) -> Result<String, ProviderError> {
    let attributes = &request.attributes;
    let config = HealthCheckConfig::builder()
        .r#type(HealthCheckType::from(
            attributes::string(attributes, "type")?.as_str(),
        ))
        .fully_qualified_domain_name(attributes::string(attributes, "target")?)
        .port(attributes::integer32(attributes, "port")?)
        .resource_path(attributes::string(attributes, "path")?)
        .request_interval(attributes::integer32(attributes, "interval")?)
        .failure_threshold(attributes::integer32(attributes, "failure_threshold")?)
        .build()
        .map_err(invalid)?;
    let owner = owner_of(&request.tags);
    let mut reference = format!("{}{}", reference_prefix(&owner), request.token);
    reference.truncate(CALLER_REFERENCE_LIMIT);
    let id = match made_by(context, &owner, &reference).await? {
        Some(id) => id,
        None => {
            let call = context
                .route53
                .create_health_check()
                .caller_reference(reference)
                .health_check_config(config);
            context
                .create(
                    "CreateHealthCheck",
                    || call.clone().send(),
                    |output| output.health_check().map(|check| check.id()),
                )
                .await?
        }
    };
    sync_tags(
        context,
        TagResourceType::Healthcheck,
        &id,
        &Tags::new(),
        &request.tags,
    )
    .await
    .map_err(CallError::general)?;
    Ok(id)
}

pub(super) async fn update(
    context: &RegionContext,
    _current: &LiveResource,
    request: &UpdateRequest,
) -> Result<(), ProviderError> {
    let attributes = &request.after;
    let call = context
        .route53
        .update_health_check()
        .health_check_id(&request.id)
        .fully_qualified_domain_name(attributes::string(attributes, "target")?)
        .port(attributes::integer32(attributes, "port")?)
        .resource_path(attributes::string(attributes, "path")?)
        .failure_threshold(attributes::integer32(attributes, "failure_threshold")?);
    context
        .mutate_on(Kind::DnsHealthCheck, &request.id, call.send())
        .await?;
    Ok(())
}

/// Sets the ownership tags of check `current` (an import, a move or a release).
pub(super) async fn set_ownership(
    context: &RegionContext,
    current: &LiveResource,
    ownership: &Tags,
) -> Result<(), ProviderError> {
    let (set, remove) = crate::provider::aws::tags::ownership_difference(&current.tags, ownership);
    change_tags(
        context,
        TagResourceType::Healthcheck,
        &current.id,
        &set,
        &remove,
    )
    .await
    .map_err(|error| error.about(Kind::DnsHealthCheck, &context.region, &current.id))
}

pub(super) async fn delete(context: &RegionContext, id: &str) -> Result<(), ProviderError> {
    // Route 53 answers `NoSuchHealthCheck` for a check that is gone; moto does not, so look.
    if checks(context, Selector::Id(id)).await?.is_empty() {
        return Err(ProviderError::NotFound {
            kind: Kind::DnsHealthCheck,
            region: context.region.clone(),
            id: id.to_string(),
        });
    }
    super::consistency::until_released(|| {
        context.mutate(
            context
                .route53
                .delete_health_check()
                .health_check_id(id)
                .send(),
        )
    })
    .await
    .map_err(|error| error.about(Kind::DnsHealthCheck, &context.region, id))?;
    Ok(())
}
