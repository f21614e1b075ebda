//! `volume` → EBS volume. `size_gb` and `volume_type` change through ModifyVolume (sizes only
//! grow); the rest replaces.

use super::consistency::until_visible;
use super::context::{RegionContext, Selector, describe_pages};
use super::{attributes, tags};
use crate::model::{Attributes, Kind, Value};
use crate::provider::{CreateRequest, LiveResource, ProviderError, UpdateRequest};
use aws_sdk_ec2::types::{ResourceType, VolumeState, VolumeType};

pub(super) async fn describe(
    context: &RegionContext,
    selector: Selector<'_>,
) -> Result<Vec<LiveResource>, ProviderError> {
    let pages = describe_pages!(
        context,
        Kind::Volume,
        selector,
        context.ec2.describe_volumes(),
        volume_ids,
        1000
    )?;
    Ok(live_volumes(
        context,
        pages.iter().flat_map(|page| page.volumes()),
    ))
}

/// Every volume of the region, owned or not (`cairn discover`): those in any state but
/// deleting or deleted.
pub(super) async fn all(context: &RegionContext) -> Result<Vec<LiveResource>, ProviderError> {
    let states = vec![
        "creating".to_string(),
        "available".to_string(),
        "in-use".to_string(),
    ];
    let pages = describe_pages!(
        context,
        context.ec2.describe_volumes(),
        filter: "status",
        states.clone(),
        1000
    )?;
    Ok(live_volumes(
        context,
        pages.iter().flat_map(|page| page.volumes()),
    ))
}

/// `volumes` as the engine sees them, those being deleted left out.
fn live_volumes<'a>(
    context: &RegionContext,
    volumes: impl Iterator<Item = &'a aws_sdk_ec2::types::Volume>,
) -> Vec<LiveResource> {
    volumes
        .filter(|volume| {
            !matches!(
                volume.state(),
                Some(VolumeState::Deleting | VolumeState::Deleted)
            )
        })
        .filter_map(|volume| {
            let id = volume.volume_id()?;
            let mut attributes = Attributes::from([
                (
                    "zone".to_string(),
                    Value::from(volume.availability_zone().unwrap_or_default()),
                ),
                (
                    "size_gb".to_string(),
                    Value::from(volume.size().unwrap_or_default()),
                ),
                (
                    "encrypted".to_string(),
                    Value::from(volume.encrypted().unwrap_or(false)),
                ),
            ]);
            if let Some(volume_type) = volume.volume_type() {
                attributes.insert("volume_type".to_string(), Value::from(volume_type.as_str()));
            }
            if let Some(snapshot_id) = volume.snapshot_id().filter(|id| !id.is_empty()) {
                attributes.insert("snapshot_id".to_string(), Value::from(snapshot_id));
            }
            Some(context.live(Kind::Volume, id, attributes, tags::from_ec2(volume.tags())))
        })
        .collect()
}

pub(super) async fn create(
    context: &RegionContext,
    request: &CreateRequest,
) -> Result<String, ProviderError> {
    let attributes = &request.attributes;
    let size = attributes::optional_integer(attributes, "size_gb")?
        .map(|size| i32::try_from(size).map_err(|_| too_large(size)))
        .transpose()?;
    let call = context
        .ec2
        .create_volume()
        .availability_zone(attributes::string(attributes, "zone")?)
        .set_size(size)
        .encrypted(attributes::flag(attributes, "encrypted")?)
        .set_snapshot_id(attributes::optional_string(attributes, "snapshot_id")?)
        .set_volume_type(
            attributes::optional_string(attributes, "volume_type")?
                .map(|volume_type| VolumeType::from(volume_type.as_str())),
        )
        .client_token(&request.token)
        .tag_specifications(tags::specification(ResourceType::Volume, &request.tags));
    context
        .create(
            "CreateVolume",
            || call.clone().send(),
            |output| output.volume_id(),
        )
        .await
}

fn too_large(size: i64) -> ProviderError {
    ProviderError::Api {
        code: "InvalidAttribute".to_string(),
        message: format!("attribute `size_gb` is too large: {size}"),
    }
}

pub(super) async fn update(
    context: &RegionContext,
    current: &LiveResource,
    request: &UpdateRequest,
) -> Result<(), ProviderError> {
    let live_size = attributes::optional_integer(&current.attributes, "size_gb")?;
    let size = attributes::optional_integer(&request.after, "size_gb")?;
    let size = match (live_size, size) {
        (Some(live), Some(wanted)) if wanted < live => {
            return Err(ProviderError::Api {
                code: "InvalidParameterValue".to_string(),
                message: format!(
                    "a volume can only grow: `size_gb` {wanted} is smaller than the current {live}; replace the volume to shrink it"
                ),
            });
        }
        (Some(live), Some(wanted)) if wanted == live => None,
        (_, wanted) => wanted,
    };
    let volume_type =
        attributes::optional_string(&request.after, "volume_type")?.filter(|wanted| {
            current.attributes.get("volume_type") != Some(&Value::from(wanted.as_str()))
        });
    if size.is_none() && volume_type.is_none() {
        return Ok(());
    }
    let size = size
        .map(|size| i32::try_from(size).map_err(|_| too_large(size)))
        .transpose()?;
    let call = context
        .ec2
        .modify_volume()
        .volume_id(&request.id)
        .set_size(size)
        .set_volume_type(volume_type.map(|volume_type| VolumeType::from(volume_type.as_str())));
    until_visible(|| context.mutate(call.clone().send()))
        .await
        .map_err(|error| error.about(Kind::Volume, &context.region, &request.id))?;
    Ok(())
}

pub(super) async fn delete(context: &RegionContext, id: &str) -> Result<(), ProviderError> {
    context
        .delete(
            Kind::Volume,
            id,
            context.ec2.delete_volume().volume_id(id).send(),
        )
        .await
}
