//! `volume` → a block storage volume in one zone of the region (the zone mapped to the DR
//! region's during a drill).

use super::{Built, Instance, attributes};
use crate::model::{Kind, Value, reference};
use serde_json::json;

pub(super) fn build(instance: &Instance<'_>) -> Option<Built> {
    let block = instance.block;
    let zone = instance.zone(block, "zone");
    let size = instance
        .count(block, "size_gb")
        .and_then(|size| super::limits::volume_size(instance, block, size));
    let encrypted = instance.flag(block, "encrypted", false);
    let volume_type = match block.attribute("type") {
        Some(_) => instance
            .string(block, "type")
            .and_then(|volume_type| super::limits::volume_type(instance, block, volume_type)),
        None => Some("gp3".to_string()),
    };
    let snapshot = instance
        .optional_string(block, "snapshot")
        .map_or(Value::Null, Value::String);
    let (zone, size, volume_type) = (zone?, size?, volume_type?);
    let address = instance.at(&instance.region.name);
    let produced = instance.produced(
        address.clone(),
        Kind::Volume,
        attributes(vec![
            ("zone", Value::String(zone.clone())),
            ("size_gb", json!(size)),
            ("encrypted", Value::Bool(encrypted)),
            ("volume_type", Value::String(volume_type)),
            ("snapshot_id", snapshot),
        ]),
        instance.sensitive(&[("snapshot", "snapshot_id")]),
        instance.name.clone(),
    );
    Some(Built::one(
        produced,
        json!({ "id": reference(&address, "id"), "zone": zone, "size_gb": size, "name": instance.name }),
    ))
}
