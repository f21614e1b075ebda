//! `snapshot` → EBS snapshot: of a volume (`volume_id`), or a cross-region copy of another
//! snapshot (`source_region` + `source_snapshot_id`), made by CopySnapshot in the destination
//! region.
//!
//! AWS does not report where a copy came from, so the copy call also tags the new snapshot
//! with its source (tags under [`tags::INTERNAL_PREFIX`]); reads turn those tags back into
//! the `source_*` attributes and leave them out of the returned tags.

use super::context::{RegionContext, Selector, describe_pages};
use super::{attributes, tags};
use crate::model::{Attributes, Kind, Tags, Value};
use crate::provider::{CreateRequest, LiveResource, ProviderError};
use aws_sdk_ec2::types::ResourceType;
use aws_smithy_types::date_time::Format;

fn source_region_tag() -> String {
    format!("{}source_region", tags::INTERNAL_PREFIX)
}

fn source_snapshot_tag() -> String {
    format!("{}source_snapshot_id", tags::INTERNAL_PREFIX)
}

pub(super) async fn describe(
    context: &RegionContext,
    selector: Selector<'_>,
) -> Result<Vec<LiveResource>, ProviderError> {
    let pages = describe_pages!(
        context,
        Kind::Snapshot,
        selector,
        context.ec2.describe_snapshots().owner_ids("self"),
        snapshot_ids,
        1000
    )?;
    Ok(pages
        .iter()
        .flat_map(|page| page.snapshots())
        .filter_map(|snapshot| {
            let id = snapshot.snapshot_id()?;
            let raw_tags = snapshot.tags();
            let mut attributes = Attributes::from([
                (
                    "state".to_string(),
                    Value::from(
                        snapshot
                            .state()
                            .map(|state| state.as_str())
                            .unwrap_or("pending"),
                    ),
                ),
                (
                    "size_gb".to_string(),
                    Value::from(snapshot.volume_size().unwrap_or_default()),
                ),
            ]);
            if let Some(started_at) = snapshot
                .start_time()
                .and_then(|time| time.fmt(Format::DateTime).ok())
            {
                attributes.insert("started_at".to_string(), Value::from(started_at));
            }
            // How far a pending snapshot or copy is (`35%`): what `cairn backup` reports.
            if let Some(progress) = snapshot.progress().filter(|text| !text.is_empty()) {
                attributes.insert("progress".to_string(), Value::from(progress));
            }
            if let Some(description) = snapshot.description().filter(|text| !text.is_empty()) {
                attributes.insert("description".to_string(), Value::from(description));
            }
            match (
                tags::ec2_tag(raw_tags, &source_region_tag()),
                tags::ec2_tag(raw_tags, &source_snapshot_tag()),
            ) {
                (Some(region), Some(source)) => {
                    attributes.insert("source_region".to_string(), Value::from(region));
                    attributes.insert("source_snapshot_id".to_string(), Value::from(source));
                }
                _ => {
                    if let Some(volume_id) = snapshot.volume_id() {
                        attributes.insert("volume_id".to_string(), Value::from(volume_id));
                    }
                }
            }
            Some(context.live(Kind::Snapshot, id, attributes, tags::from_ec2(raw_tags)))
        })
        .collect())
}

pub(super) async fn create(
    context: &RegionContext,
    request: &CreateRequest,
) -> Result<String, ProviderError> {
    let attributes = &request.attributes;
    let description = attributes::optional_string(attributes, "description")?;
    if let Some(source_snapshot_id) = attributes::optional_string(attributes, "source_snapshot_id")?
    {
        let source_region = attributes::string(attributes, "source_region")?;
        super::region::check_region(&source_region)?;
        let mut tags: Tags = request.tags.clone();
        tags.insert(source_region_tag(), source_region.clone());
        tags.insert(source_snapshot_tag(), source_snapshot_id.clone());
        // CopySnapshot takes no token; a retried copy makes a second, tagged copy that the
        // next refresh shows (and the plan deletes as a duplicate address).
        let call = context
            .ec2
            .copy_snapshot()
            .source_region(source_region)
            .source_snapshot_id(source_snapshot_id)
            .set_description(description)
            .tag_specifications(tags::specification(ResourceType::Snapshot, &tags));
        return context
            .create(
                "CopySnapshot",
                || call.clone().send(),
                |output| output.snapshot_id(),
            )
            .await;
    }
    let call = context
        .ec2
        .create_snapshot()
        .volume_id(attributes::string(attributes, "volume_id")?)
        .set_description(description)
        .tag_specifications(tags::specification(ResourceType::Snapshot, &request.tags));
    context
        .create(
            "CreateSnapshot",
            || call.clone().send(),
            |output| output.snapshot_id(),
        )
        .await
}

pub(super) async fn delete(context: &RegionContext, id: &str) -> Result<(), ProviderError> {
    context
        .delete(
            Kind::Snapshot,
            id,
            context.ec2.delete_snapshot().snapshot_id(id).send(),
        )
        .await
}
