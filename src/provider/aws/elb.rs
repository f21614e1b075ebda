//! What the Elastic Load Balancing kinds (load balancer, target group, listener) share: tags
//! read in batches by ARN (ELB lists resources without their tags, and filters by none), the
//! ownership that decides what a refresh keeps, and the sync of tags on update.

use super::context::{RegionContext, read_batches};
use super::error::CallError;
use crate::model::{Owner, Tags};
use aws_sdk_elasticloadbalancingv2::types::Tag;
use std::collections::BTreeMap;

/// DescribeTags takes at most 20 ARNs a call.
const ARNS_PER_CALL: usize = 20;

/// The tags of each of `arns`, 20 ARNs a call; one deleted since it was listed is left out.
pub(super) async fn tags_of(
    context: &RegionContext,
    arns: &[String],
) -> Result<BTreeMap<String, Tags>, CallError> {
    let descriptions = read_batches(arns, ARNS_PER_CALL, |batch| async move {
        let output = context
            .read(
                context
                    .elbv2
                    .describe_tags()
                    .set_resource_arns(Some(batch))
                    .send(),
            )
            .await?;
        Ok(output
            .tag_descriptions()
            .iter()
            .filter_map(|description| {
                Some((
                    description.resource_arn()?.to_string(),
                    from_elb(description.tags()),
                ))
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(descriptions.into_iter().collect())
}

/// The resources among `items` (with their ARNs) that `owner` owns, each with its tags.
pub(super) async fn owned<T>(
    context: &RegionContext,
    owner: Option<&Owner>,
    items: Vec<(String, T)>,
) -> Result<Vec<(String, T, Tags)>, CallError> {
    let arns: Vec<String> = items.iter().map(|(arn, _)| arn.clone()).collect();
    let mut tags = tags_of(context, &arns).await?;
    Ok(items
        .into_iter()
        .filter_map(|(arn, item)| {
            let tags = tags.remove(&arn).unwrap_or_default();
            owner
                .is_none_or(|owner| owner.owns(&tags))
                .then_some((arn, item, tags))
        })
        .collect())
}

pub(super) fn to_elb(tags: &Tags) -> Vec<Tag> {
    tags.iter()
        .map(|(key, value)| Tag::builder().key(key).value(value).build())
        .collect()
}

fn from_elb(tags: &[Tag]) -> Tags {
    tags.iter()
        .filter_map(|tag| {
            Some((
                tag.key()?.to_string(),
                tag.value().unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

/// Brings the tags of the ELB resource `arn` to `desired` with AddTags/RemoveTags.
pub(super) async fn sync_tags(
    context: &RegionContext,
    arn: &str,
    current: &Tags,
    desired: &Tags,
) -> Result<(), CallError> {
    let (set, remove) = super::tags::difference(current, desired);
    change_tags(context, arn, &set, remove).await
}

/// Sets `set` and removes `remove` on the ELB resource `arn` with AddTags/RemoveTags.
pub(super) async fn change_tags(
    context: &RegionContext,
    arn: &str,
    set: &Tags,
    remove: Vec<String>,
) -> Result<(), CallError> {
    if !set.is_empty() {
        let call = context
            .elbv2
            .add_tags()
            .resource_arns(arn)
            .set_tags(Some(to_elb(set)));
        context.mutate(call.send()).await?;
    }
    if !remove.is_empty() {
        let call = context
            .elbv2
            .remove_tags()
            .resource_arns(arn)
            .set_tag_keys(Some(remove));
        context.mutate(call.send()).await?;
    }
    Ok(())
}
