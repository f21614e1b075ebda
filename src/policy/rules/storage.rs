//! Data at rest (CAIRN004): volumes and launch template volumes must be encrypted.

use super::super::catalog::UNENCRYPTED_VOLUME;
use super::super::context::Context;
use super::super::finding::Finding;
use super::super::locate::Part;
use crate::model::{Kind, Value};

/// CAIRN004: a `volume` block or a launch template's `volume` block without encryption.
pub fn unencrypted_volumes(context: &Context<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for volume in context.of_kind(Kind::Volume) {
        if volume.attributes.get("encrypted").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        let finding = Finding::new(
            UNENCRYPTED_VOLUME,
            format!("`{}` is not encrypted at rest", volume.address.block_path()),
            volume.address.clone(),
        );
        findings.push(context.locator.place(
            finding,
            &volume.address,
            Part::Attribute("encrypted"),
        ));
    }
    for template in context.of_kind(Kind::LaunchTemplate) {
        let Some(Value::Array(volumes)) = template.attributes.get("volumes") else {
            continue;
        };
        for (index, volume) in volumes.iter().enumerate() {
            if volume.get("encrypted").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            let device = volume
                .get("device")
                .and_then(Value::as_str)
                .unwrap_or("a device");
            let finding = Finding::new(
                UNENCRYPTED_VOLUME,
                format!(
                    "`{}` attaches `{device}` unencrypted",
                    template.address.block_path()
                ),
                template.address.clone(),
            );
            findings.push(context.locator.place(
                finding,
                &template.address,
                Part::Nested("volume", index),
            ));
        }
    }
    findings
}
