//! `alarm` → CloudWatch metric alarm (its id is its name).
//!
//! Batching: DescribeAlarms lists the region's metric alarms (100 a page) with no tag filter,
//! and CloudWatch reads tags one alarm at a time (ListTagsForResource). So that a refresh stays
//! one listing per region, an alarm's description holds its tags as Cairn last wrote them
//! (ownership tags included), after the user's own description (an imported alarm keeps the
//! one it had), and a refresh reads ownership and tags from there; the alarm is
//! tagged as well, in the creating call and on every tag change. A tag changed behind Cairn's
//! back with TagResource is therefore not seen by a plan; a changed threshold, period or
//! dimension is.
//!
//! PutMetricAlarm creates or overwrites by name, so a retried create is safe; on an overwrite
//! AWS ignores the tags it is given, hence TagResource/UntagResource for tag changes.
//! DeleteAlarms succeeds for an alarm that is gone, so a delete looks first, to say `NotFound`.

use super::context::{RegionContext, Selector};
use super::error::CallError;
use super::{attributes, tags};
use crate::model::{Attributes, Kind, Tags, Value};
use crate::provider::{CreateRequest, LiveResource, ProviderError, UpdateRequest};
use aws_sdk_cloudwatch::types::{
    AlarmType, ComparisonOperator, Dimension, MetricAlarm, StateValue, Statistic, Tag,
};
use serde_json::Map;

/// How Cairn's note in an alarm's description starts: then come its tags as JSON. The note
/// follows the user's description (`description` of the block), if any.
const DESCRIPTION_PREFIX: &str = "Managed by Cairn; its tags: ";

/// Between the user's description and Cairn's note.
const DESCRIPTION_SEPARATOR: &str = "\n\n";

/// The description that carries the user's `own` text and `tags` (see the module
/// documentation).
fn description(own: Option<&str>, tags: &Tags) -> String {
    let json = serde_json::to_string(tags).unwrap_or_default();
    match own {
        Some(own) if !own.is_empty() => {
            format!("{own}{DESCRIPTION_SEPARATOR}{DESCRIPTION_PREFIX}{json}")
        }
        _ => format!("{DESCRIPTION_PREFIX}{json}"),
    }
}

/// An alarm's description as its user wrote it (without Cairn's note), and the tags the note
/// carries, if Cairn wrote one.
fn split_description(alarm: &MetricAlarm) -> (Option<&str>, Option<Tags>) {
    let Some(text) = alarm.alarm_description() else {
        return (None, None);
    };
    match text.rsplit_once(DESCRIPTION_PREFIX) {
        Some((own, json)) => {
            let own = own.strip_suffix(DESCRIPTION_SEPARATOR).unwrap_or(own);
            (
                (!own.is_empty()).then_some(own),
                serde_json::from_str(json).ok(),
            )
        }
        None => ((!text.is_empty()).then_some(text), None),
    }
}

/// The tags an alarm's description carries, if Cairn wrote it.
fn tags_of(alarm: &MetricAlarm) -> Option<Tags> {
    split_description(alarm).1
}

async fn alarms(
    context: &RegionContext,
    selector: Selector<'_>,
) -> Result<Vec<(MetricAlarm, Tags)>, ProviderError> {
    let pages = context
        .read_pages(
            |token| {
                let call = context
                    .cloudwatch
                    .describe_alarms()
                    .alarm_types(AlarmType::MetricAlarm)
                    .set_next_token(token);
                match selector {
                    Selector::Owner(_) | Selector::All => call.max_records(context.page(100)),
                    Selector::Id(name) => call.alarm_names(name),
                }
                .send()
            },
            |page| page.next_token(),
        )
        .await
        .map_err(|error| selector.error(Kind::Alarm, &context.region, error))?;
    let mut found = Vec::new();
    for alarm in pages
        .into_iter()
        .flat_map(|page| page.metric_alarms.unwrap_or_default())
    {
        let tags = tags_of(&alarm);
        let wanted = match selector {
            Selector::Owner(owner) => tags.as_ref().is_some_and(|tags| owner.owns(tags)),
            Selector::Id(name) => alarm.alarm_name() == Some(name),
            Selector::All => true,
        };
        if !wanted {
            continue;
        }
        // An alarm Cairn did not write (made by hand, to be discovered or imported) has its
        // tags only as tags: one ListTagsForResource each, never in a refresh.
        let tags = match (tags, alarm.alarm_arn()) {
            (Some(tags), _) => tags,
            (None, Some(arn)) => {
                let listed = context
                    .read(
                        context
                            .cloudwatch
                            .list_tags_for_resource()
                            .resource_arn(arn)
                            .send(),
                    )
                    .await
                    .map_err(|error| selector.error(Kind::Alarm, &context.region, error))?;
                to_tags(listed.tags())
            }
            (None, None) => Tags::new(),
        };
        found.push((alarm, tags));
    }
    Ok(found)
}

fn to_tags(tags: &[Tag]) -> Tags {
    tags.iter()
        .filter_map(|tag| {
            Some((
                tag.key()?.to_string(),
                tag.value().unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

pub(super) async fn describe(
    context: &RegionContext,
    selector: Selector<'_>,
) -> Result<Vec<LiveResource>, ProviderError> {
    Ok(alarms(context, selector)
        .await?
        .into_iter()
        .filter_map(|(alarm, tags)| {
            let name = alarm.alarm_name()?.to_string();
            let dimensions: Map<String, Value> = alarm
                .dimensions()
                .iter()
                .filter_map(|dimension| {
                    Some((
                        dimension.name()?.to_string(),
                        Value::from(dimension.value()?),
                    ))
                })
                .collect();
            let attributes = Attributes::from([
                ("name".to_string(), Value::from(name.as_str())),
                (
                    "namespace".to_string(),
                    Value::from(alarm.namespace().unwrap_or_default()),
                ),
                (
                    "metric".to_string(),
                    Value::from(alarm.metric_name().unwrap_or_default()),
                ),
                (
                    "statistic".to_string(),
                    Value::from(alarm.statistic().map(Statistic::as_str).unwrap_or_default()),
                ),
                (
                    "comparison".to_string(),
                    Value::from(
                        alarm
                            .comparison_operator()
                            .map(ComparisonOperator::as_str)
                            .unwrap_or_default(),
                    ),
                ),
                (
                    "threshold".to_string(),
                    attributes::number_value(alarm.threshold().unwrap_or_default()),
                ),
                (
                    "periods".to_string(),
                    Value::from(alarm.evaluation_periods().unwrap_or_default()),
                ),
                (
                    "period".to_string(),
                    Value::from(alarm.period().unwrap_or_default()),
                ),
                ("dimensions".to_string(), Value::Object(dimensions)),
                (
                    "state".to_string(),
                    Value::from(
                        alarm
                            .state_value()
                            .map(StateValue::as_str)
                            .unwrap_or_default(),
                    ),
                ),
            ]);
            // Absent without one, as an alarm written without `description` holds it.
            let mut attributes = attributes;
            if let Some(own) = split_description(&alarm).0 {
                attributes.insert("description".to_string(), Value::from(own));
            }
            Some(context.live(Kind::Alarm, &name, attributes, tags))
        })
        .collect())
}

/// PutMetricAlarm with the attributes and the description carrying `tags`; the tags
/// themselves go with a create only (AWS ignores them on an overwrite).
async fn put(
    context: &RegionContext,
    attributes: &Attributes,
    tags: &Tags,
    create: bool,
) -> Result<String, ProviderError> {
    let name = attributes::string(attributes, "name")?;
    let mut dimensions = Vec::new();
    for (key, value) in attributes::fields(attributes, "dimensions")? {
        let Some(value) = value.as_str() else {
            return Err(ProviderError::Api {
                code: "InvalidAttribute".to_string(),
                message: format!("dimension `{key}` of alarm `{name}` must be a string"),
            });
        };
        dimensions.push(Dimension::builder().name(key).value(value).build());
    }
    let mut call = context
        .cloudwatch
        .put_metric_alarm()
        .alarm_name(&name)
        .alarm_description(description(
            attributes::optional_string(attributes, "description")?.as_deref(),
            tags,
        ))
        .namespace(attributes::string(attributes, "namespace")?)
        .metric_name(attributes::string(attributes, "metric")?)
        .statistic(Statistic::from(
            attributes::string(attributes, "statistic")?.as_str(),
        ))
        .comparison_operator(ComparisonOperator::from(
            attributes::string(attributes, "comparison")?.as_str(),
        ))
        .threshold(attributes::number(attributes, "threshold")?)
        .evaluation_periods(attributes::integer32(attributes, "periods")?)
        .period(attributes::integer32(attributes, "period")?)
        .set_dimensions(Some(dimensions));
    if create {
        call = call.set_tags(Some(to_cloudwatch(tags)));
    }
    context.mutate_visible(|| call.clone().send()).await?;
    Ok(name)
}

fn to_cloudwatch(tags: &Tags) -> Vec<Tag> {
    tags.iter()
        .map(|(key, value)| Tag::builder().key(key).value(value).build())
        .collect()
}

pub(super) async fn create(
    context: &RegionContext,
    request: &CreateRequest,
) -> Result<String, ProviderError> {
    put(context, &request.attributes, &request.tags, true).await
}

pub(super) async fn update(
    context: &RegionContext,
    _current: &LiveResource,
    request: &UpdateRequest,
) -> Result<(), ProviderError> {
    put(context, &request.after, &request.tags, false)
        .await
        .map(|_| ())
}

/// Sets `set` and removes `remove` (ownership tags, an import or a release) in the alarm's
/// description and its tags, changing nothing else.
pub(super) async fn retag(
    context: &RegionContext,
    current: &LiveResource,
    set: Tags,
    remove: Vec<String>,
) -> Result<(), ProviderError> {
    let mut desired = current.tags.clone();
    desired.retain(|key, _| !remove.contains(key));
    desired.extend(set.clone());
    put(context, &current.attributes, &desired, false).await?;
    change_tags(context, current, &set, remove).await
}

/// Brings the alarm's tags to `desired` (its description says them already, after
/// [`update`]).
pub(super) async fn sync_tags(
    context: &RegionContext,
    current: &LiveResource,
    desired: &Tags,
) -> Result<(), ProviderError> {
    let (set, remove) = tags::difference(&current.tags, desired);
    change_tags(context, current, &set, remove).await
}

/// TagResource with `set` and UntagResource with `remove` on the alarm `current`.
async fn change_tags(
    context: &RegionContext,
    current: &LiveResource,
    set: &Tags,
    remove: Vec<String>,
) -> Result<(), ProviderError> {
    if set.is_empty() && remove.is_empty() {
        return Ok(());
    }
    let about = |error: CallError| error.about(Kind::Alarm, &context.region, &current.id);
    let arn = alarms(context, Selector::Id(&current.id))
        .await?
        .into_iter()
        .find_map(|(alarm, _)| alarm.alarm_arn().map(str::to_string))
        .ok_or_else(|| ProviderError::NotFound {
            kind: Kind::Alarm,
            region: context.region.clone(),
            id: current.id.clone(),
        })?;
    if !set.is_empty() {
        let call = context
            .cloudwatch
            .tag_resource()
            .resource_arn(&arn)
            .set_tags(Some(to_cloudwatch(set)));
        context.mutate(call.send()).await.map_err(about)?;
    }
    if !remove.is_empty() {
        let call = context
            .cloudwatch
            .untag_resource()
            .resource_arn(&arn)
            .set_tag_keys(Some(remove));
        context.mutate(call.send()).await.map_err(about)?;
    }
    Ok(())
}

pub(super) async fn delete(context: &RegionContext, name: &str) -> Result<(), ProviderError> {
    if alarms(context, Selector::Id(name)).await?.is_empty() {
        return Err(ProviderError::NotFound {
            kind: Kind::Alarm,
            region: context.region.clone(),
            id: name.to_string(),
        });
    }
    context
        .delete(
            Kind::Alarm,
            name,
            context.cloudwatch.delete_alarms().alarm_names(name).send(),
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_description_carries_the_tags_back() {
        let tags = Tags::from([
            ("cairn:stack".to_string(), "shop".to_string()),
            ("Name".to_string(), "shop-prod-cpu_high".to_string()),
        ]);
        let alarm = MetricAlarm::builder()
            .alarm_description(description(None, &tags))
            .build();
        assert_eq!(tags_of(&alarm), Some(tags.clone()));
        assert_eq!(split_description(&alarm).0, None);
        let foreign = MetricAlarm::builder().alarm_description("paging").build();
        assert_eq!(split_description(&foreign), (Some("paging"), None));
    }

    /// Issue 17: importing a hand-made alarm kept only Cairn's note; the user's text stays
    /// before it, and reads back as the alarm's `description`.
    #[test]
    fn the_user_s_description_stays_before_the_note() {
        let tags = Tags::from([("cairn:stack".to_string(), "shop".to_string())]);
        let alarm = MetricAlarm::builder()
            .alarm_description(description(Some("Pages the on-call"), &tags))
            .build();
        assert_eq!(
            split_description(&alarm),
            (Some("Pages the on-call"), Some(tags))
        );
    }
}
