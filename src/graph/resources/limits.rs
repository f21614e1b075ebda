//! The cloud's limits ([`crate::model::limits`]) applied to a block instance as it is built:
//! each check reports at the attribute (or block label) that broke the limit and says what
//! the limit is, so the mistake shows at `validate` and plan time instead of as a refused call
//! halfway through an apply.

use super::Instance;
use crate::config::diagnostics::Diagnostic;
use crate::config::source::{Sources, Span};
use crate::config::tree::BlockDef;
use crate::model::{Kind, Value, contains_reference, limits};

/// The cloud name of the block's `kind` resource: its `name` attribute when it has one (an
/// object imported with a name of its own keeps it, since a new name would replace it), else
/// the one made from the stack, environment and block names. `None` (and a problem on
/// `instance`) when it breaks AWS's naming rules.
pub fn cloud_name(instance: &Instance<'_>, kind: Kind) -> Option<String> {
    let Some(attr) = instance.block.attribute("name") else {
        check_name(instance, kind)?;
        return Some(instance.name.clone());
    };
    let name = instance.string(instance.block, "name")?;
    match limits::check_name(kind, &name) {
        Ok(()) => Some(name),
        Err(message) => {
            instance.problem(Diagnostic::at(instance.sources, attr.value_span, message));
            None
        }
    }
}

/// `None` (and a problem on `instance`) when the cloud name of the block's `kind` resource
/// breaks AWS's naming rules; the name is made from the stack, environment and block names.
pub fn check_name(instance: &Instance<'_>, kind: Kind) -> Option<()> {
    match limits::check_name(kind, &instance.name) {
        Ok(()) => Some(()),
        Err(message) => {
            instance.problem(
                Diagnostic::at(instance.sources, instance.block.label_span, message).note(
                    "cloud names are `STACK-ENVIRONMENT-BLOCK` (with module names and \
                     `for_each` keys added): rename the block, stack or key",
                ),
            );
            None
        }
    }
}

/// The size, or `None` (and a problem) when it is outside the EBS range.
pub fn volume_size(instance: &Instance<'_>, block: &BlockDef, size_gb: u64) -> Option<u64> {
    checked(
        instance,
        block,
        "size_gb",
        limits::check_volume_size(size_gb),
    )
    .map(|()| size_gb)
}

/// The type, or `None` (and a problem) when EBS has no such volume type.
pub fn volume_type(
    instance: &Instance<'_>,
    block: &BlockDef,
    volume_type: String,
) -> Option<String> {
    checked(
        instance,
        block,
        "type",
        limits::check_volume_type(&volume_type),
    )
    .map(|()| volume_type)
}

/// The image id, or `None` (and a problem) when it is not shaped as one: AWS refuses a
/// malformed id only when an instance is launched, so a template holding one fails at the
/// autoscaling group, half-way through an apply. An id the cloud assigns later (a reference)
/// is left to the cloud.
pub fn image(instance: &Instance<'_>, block: &BlockDef, image: String) -> Option<String> {
    if contains_reference(&Value::String(image.clone())) {
        return Some(image);
    }
    let result = limits::check_image_id(&image).map_err(|message| {
        if instance.sensitive(&[("image", "image")]).is_empty() {
            message
        } else {
            "the (sensitive) image is not an image id: AWS takes `ami-` followed by 8 or 17 \
             lowercase hexadecimal digits"
                .to_string()
        }
    });
    checked(instance, block, "image", result).map(|()| image)
}

/// The region, or `None` (and a problem) when the catalog has no such region.
pub fn region(
    instance: &Instance<'_>,
    block: &BlockDef,
    attribute: &str,
    region: String,
) -> Option<String> {
    let attr = block.attribute(attribute)?;
    match crate::config::regions::check_region(instance.sources, attr.value_span, &region) {
        None => Some(region),
        Some(unknown) => {
            instance.problem(unknown);
            None
        }
    }
}

fn checked(
    instance: &Instance<'_>,
    block: &BlockDef,
    attribute: &str,
    result: Result<(), String>,
) -> Option<()> {
    match result {
        Ok(()) => Some(()),
        Err(message) => {
            let span = block
                .attribute(attribute)
                .map_or(block.label_span, |attr| attr.value_span);
            instance.problem(Diagnostic::at(instance.sources, span, message));
            None
        }
    }
}

/// Why a subnet block ran out of network numbers: one number per zone, from its offset.
pub fn subnet_numbers_note(zones: usize, offset: u64, newbits: u64) -> String {
    let available = 1_u128.checked_shl(u32::try_from(newbits).unwrap_or(u32::MAX));
    let last = offset.saturating_add(zones as u64).saturating_sub(1);
    match available {
        Some(available) => format!(
            "{zones} zone(s) from offset {offset} use network numbers {offset} to {last}; \
             {newbits} new bits give {available} (0 to {})",
            available - 1
        ),
        None => {
            format!("{zones} zone(s) from offset {offset} use network numbers {offset} to {last}")
        }
    }
}

/// A problem when the subnet `cidr` of `subnet` in `zone` is outside the prefix limit or
/// overlaps a subnet of another `subnet` block of the same network; `seen` collects the
/// blocks checked so far.
pub fn check_subnet(
    sources: &Sources,
    subnet: &BlockDef,
    zone: &str,
    cidr: &str,
    seen: &mut Vec<(String, String, ipnet::Ipv4Net)>,
) -> Option<Diagnostic> {
    // IPv6 networks are refused where the network is checked; nothing more to say here.
    let block = cidr.parse::<ipnet::Ipv4Net>().ok()?;
    let span: Span = subnet
        .attribute("newbits")
        .map_or(subnet.label_span, |attr| attr.value_span);
    if let Err(message) = limits::check_subnet_block(block) {
        return Some(
            Diagnostic::at(
                sources,
                span,
                format!(
                    "subnet `{}` in `{zone}` would be too small: {message}",
                    subnet.name()
                ),
            )
            .hint("use fewer `newbits`, so that the subnet keeps a prefix of /28 or shorter"),
        );
    }
    let clash = seen.iter().find(|(name, _, other)| {
        name != subnet.name() && (other.contains(&block) || block.contains(other))
    });
    if let Some((name, other_zone, other)) = clash {
        let offset_span = subnet
            .attribute("offset")
            .map_or(subnet.label_span, |attr| attr.value_span);
        return Some(
            Diagnostic::at(
                sources,
                offset_span,
                format!(
                    "subnet `{}` in `{zone}` (`{block}`) overlaps subnet `{name}` in `{other_zone}` (`{other}`)",
                    subnet.name()
                ),
            )
            .hint("give the subnet blocks `offset`s far enough apart that their blocks do not overlap"),
        );
    }
    seen.push((subnet.name().to_string(), zone.to_string(), block));
    None
}
