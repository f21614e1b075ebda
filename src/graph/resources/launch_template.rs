//! `launch_template` → a launch template: image, instance type, firewalls, user data, the
//! instance metadata setting and the volumes of every instance launched from it. `name`
//! keeps an imported template's own name (a new name replaces it); by default the template
//! is named after the stack, environment and block.

use super::{Built, Instance, attributes};
use crate::config::eval;
use crate::model::cloud::device_name;
use crate::model::{Kind, Value, reference};
use serde_json::json;

pub(super) fn build(instance: &Instance<'_>) -> Option<Built> {
    let block = instance.block;
    let image = instance
        .string(block, "image")
        .and_then(|image| super::limits::image(instance, block, image));
    let instance_type = instance.string(block, "instance_type");
    let security_group_ids = instance.ids(
        block,
        "firewalls",
        "a list of firewalls such as `[firewall.web]`",
    );
    let user_data = instance
        .optional_string(block, "user_data")
        .map_or(Value::Null, Value::String);
    // `"required"` turns off IMDSv1 (the instance metadata service answers only requests with
    // a session token); `"optional"`, AWS's default, is kept as null so that templates written
    // before the attribute existed plan no change.
    let http_tokens = match instance.value(block, "http_tokens") {
        None | Some((Value::Null, _)) => Value::Null,
        Some((Value::String(text), _)) if text == "optional" => Value::Null,
        Some((Value::String(text), _)) if text == "required" => Value::String(text),
        Some((value, attr)) => {
            instance.problem(eval::wrong_type(
                instance.sources,
                attr,
                &value,
                "`\"required\"` (IMDSv2 only) or `\"optional\"` (IMDSv1 allowed)",
            ));
            Value::Null
        }
    };
    let mut volumes = Vec::new();
    for (position, volume) in block.blocks_named("volume").enumerate() {
        let size = instance
            .count(volume, "size_gb")
            .and_then(|size| super::limits::volume_size(instance, volume, size));
        let encrypted = instance.flag(volume, "encrypted", false);
        let device = match volume.attribute("device") {
            Some(_) => instance.string(volume, "device"),
            None => Some(device_name(position)),
        };
        if let (Some(size), Some(device)) = (size, device) {
            volumes.push(json!({ "device": device, "size_gb": size, "encrypted": encrypted }));
        }
    }
    let (image, instance_type, security_group_ids) = (image?, instance_type?, security_group_ids?);
    let name = super::limits::cloud_name(instance, Kind::LaunchTemplate)?;
    let address = instance.at(&instance.region.name);
    let produced = instance.produced(
        address.clone(),
        Kind::LaunchTemplate,
        attributes(vec![
            ("name", Value::String(name.clone())),
            ("image", Value::String(image)),
            ("instance_type", Value::String(instance_type)),
            ("security_group_ids", Value::Array(security_group_ids)),
            ("user_data", user_data),
            ("http_tokens", http_tokens),
            ("volumes", Value::Array(volumes)),
        ]),
        instance.sensitive(&[
            ("image", "image"),
            ("instance_type", "instance_type"),
            ("firewalls", "security_group_ids"),
            ("user_data", "user_data"),
            ("volume", "volumes"),
        ]),
        name.clone(),
    );
    Some(Built::one(
        produced,
        json!({
            "id": reference(&address, "id"),
            "latest_version": reference(&address, "latest_version"),
            "name": name,
        }),
    ))
}
