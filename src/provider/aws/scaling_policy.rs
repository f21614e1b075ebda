//! `scaling_policy` → target-tracking scaling policy on average CPU.
//!
//! A policy is identified by `GROUP/NAME` rather than by its ARN: moto's PutScalingPolicy
//! returns no PolicyARN, and group + name is what DeletePolicy takes anyway.
//!
//! Policies carry no tags, so ownership is the group's: a refresh reads the owned groups
//! (one tag-filtered call per page; inside a read session, the listing the
//! `autoscaling_group` read made, see [`super::shared`]) and then every policy of the region with DescribePolicies
//! (paged), keeping those of owned groups. The tags a read returns are the group's
//! `cairn:stack` and `cairn:env`; a policy has no `cairn:address` of its own.

use super::attributes;
use super::autoscaling_group;
use super::context::{RegionContext, Selector};
use crate::model::{Attributes, Kind, TAG_ENV, TAG_STACK, Tags, Value};
use crate::provider::{CreateRequest, LiveResource, ProviderError, UpdateRequest};
use aws_sdk_autoscaling::types::{
    MetricType, PredefinedMetricSpecification, ScalingPolicy, TargetTrackingConfiguration,
};
use std::collections::BTreeMap;

const POLICY_TYPE: &str = "TargetTrackingScaling";

fn policy_id(group: &str, name: &str) -> String {
    format!("{group}/{name}")
}

/// Splits `GROUP/NAME` at the last `/`: Cairn's policy names (block labels) never contain
/// one, group names might.
fn split_id(id: &str) -> Option<(&str, &str)> {
    id.rsplit_once('/')
}

fn malformed(id: &str) -> ProviderError {
    ProviderError::Api {
        code: "InvalidAttribute".to_string(),
        message: format!("scaling policy id `{id}` is not of the form `GROUP/NAME`"),
    }
}

pub(super) async fn describe(
    context: &RegionContext,
    selector: Selector<'_>,
) -> Result<Vec<LiveResource>, ProviderError> {
    let error = |error| selector.error(Kind::ScalingPolicy, &context.region, error);
    // The owning groups, with the tags the policies inherit.
    let (owners, wanted): (BTreeMap<String, Tags>, Option<(String, String)>) = match selector {
        Selector::Owner(_) | Selector::All => {
            let groups = autoscaling_group::groups(context, selector).await?;
            let owners = groups
                .iter()
                .filter_map(|group| {
                    let tags = autoscaling_group::group_tags(group)
                        .into_iter()
                        .filter(|(key, _)| key == TAG_STACK || key == TAG_ENV)
                        .collect();
                    Some((group.auto_scaling_group_name()?.to_string(), tags))
                })
                .collect();
            (owners, None)
        }
        Selector::Id(id) => {
            let (group, name) = split_id(id).ok_or_else(|| malformed(id))?;
            let tags = autoscaling_group::groups(context, Selector::Id(group))
                .await?
                .first()
                .map(|group| {
                    autoscaling_group::group_tags(group)
                        .into_iter()
                        .filter(|(key, _)| key == TAG_STACK || key == TAG_ENV)
                        .collect()
                })
                .unwrap_or_default();
            (
                BTreeMap::from([(group.to_string(), tags)]),
                Some((group.to_string(), name.to_string())),
            )
        }
    };
    if owners.is_empty() {
        return Ok(Vec::new());
    }
    let pages = context
        .read_pages(
            |token| {
                let call = context
                    .autoscaling
                    .describe_policies()
                    .set_next_token(token);
                match &wanted {
                    None => call.max_records(context.page(50)),
                    Some((group, name)) => call.auto_scaling_group_name(group).policy_names(name),
                }
                .send()
            },
            |page| page.next_token(),
        )
        .await
        .map_err(error)?;
    Ok(pages
        .iter()
        .flat_map(|page| page.scaling_policies())
        .filter_map(|policy| live(context, policy, &owners))
        .collect())
}

fn live(
    context: &RegionContext,
    policy: &ScalingPolicy,
    owners: &BTreeMap<String, Tags>,
) -> Option<LiveResource> {
    let group = policy.auto_scaling_group_name()?;
    let tags = owners.get(group)?;
    let name = policy.policy_name()?;
    let mut attributes = Attributes::from([
        ("name".to_string(), Value::from(name)),
        ("group_name".to_string(), Value::from(group)),
    ]);
    if let Some(target) = policy
        .target_tracking_configuration()
        .and_then(|configuration| configuration.target_value())
    {
        attributes.insert("target_cpu".to_string(), attributes::number_value(target));
    }
    Some(context.live(
        Kind::ScalingPolicy,
        &policy_id(group, name),
        attributes,
        tags.clone(),
    ))
}

/// PutScalingPolicy both creates and updates; it is idempotent by group + name.
async fn put(context: &RegionContext, attributes: &Attributes) -> Result<String, ProviderError> {
    let group = attributes::string(attributes, "group_name")?;
    let name = attributes::string(attributes, "name")?;
    let call = context
        .autoscaling
        .put_scaling_policy()
        .auto_scaling_group_name(&group)
        .policy_name(&name)
        .policy_type(POLICY_TYPE)
        .target_tracking_configuration(
            TargetTrackingConfiguration::builder()
                .predefined_metric_specification(
                    PredefinedMetricSpecification::builder()
                        .predefined_metric_type(MetricType::AsgAverageCpuUtilization)
                        .build(),
                )
                .target_value(attributes::number(attributes, "target_cpu")?)
                .build(),
        );
    context.mutate_visible(|| call.clone().send()).await?;
    Ok(policy_id(&group, &name))
}

pub(super) async fn create(
    context: &RegionContext,
    request: &CreateRequest,
) -> Result<String, ProviderError> {
    put(context, &request.attributes).await
}

pub(super) async fn update(
    context: &RegionContext,
    _current: &LiveResource,
    request: &UpdateRequest,
) -> Result<(), ProviderError> {
    put(context, &request.after).await.map(|_| ())
}

pub(super) async fn delete(context: &RegionContext, id: &str) -> Result<(), ProviderError> {
    let (group, name) = split_id(id).ok_or_else(|| malformed(id))?;
    // DeletePolicy of a policy that is gone answers success on moto; a delete of what is gone
    // must say so, as every other kind's does.
    if describe(context, Selector::Id(id)).await?.is_empty() {
        return Err(ProviderError::NotFound {
            kind: Kind::ScalingPolicy,
            region: context.region.clone(),
            id: id.to_string(),
        });
    }
    context
        .mutate(
            context
                .autoscaling
                .delete_policy()
                .auto_scaling_group_name(group)
                .policy_name(name)
                .send(),
        )
        .await
        .map_err(|error| error.about(Kind::ScalingPolicy, &context.region, id))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_split_at_the_last_slash() {
        assert_eq!(
            split_id(&policy_id("web/blue", "cpu")),
            Some(("web/blue", "cpu"))
        );
        assert_eq!(split_id("no-slash"), None);
    }
}
