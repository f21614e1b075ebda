//! `instance` → one standalone server in a subnet.

use super::{Built, Instance, attributes};
use crate::model::{Kind, Value, reference};
use serde_json::json;

pub(super) fn build(instance: &Instance<'_>) -> Option<Built> {
    let block = instance.block;
    let image = instance
        .string(block, "image")
        .and_then(|image| super::limits::image(instance, block, image));
    let instance_type = instance.string(block, "instance_type");
    let subnet_id = instance.id(
        block,
        "subnet",
        "a subnet id such as `network.main.subnet.public[0]`",
    );
    let security_group_ids = instance.ids(
        block,
        "firewalls",
        "a list of firewalls such as `[firewall.web]`",
    );
    let (image, instance_type, subnet_id, security_group_ids) =
        (image?, instance_type?, subnet_id?, security_group_ids?);
    let address = instance.at(&instance.region.name);
    let produced = instance.produced(
        address.clone(),
        Kind::Instance,
        attributes(vec![
            ("image", Value::String(image)),
            ("instance_type", Value::String(instance_type)),
            ("subnet_id", Value::String(subnet_id)),
            ("security_group_ids", Value::Array(security_group_ids)),
        ]),
        instance.sensitive(&[
            ("image", "image"),
            ("instance_type", "instance_type"),
            ("subnet", "subnet_id"),
            ("firewalls", "security_group_ids"),
        ]),
        instance.name.clone(),
    );
    Some(Built::one(
        produced,
        json!({
            "id": reference(&address, "id"),
            "private_ip": reference(&address, "private_ip"),
            "name": instance.name,
        }),
    ))
}
