//! `dns_zone` → a hosted zone for a domain name, which the stack then owns: the records of its
//! `dns_record` blocks live in it. DNS belongs to no region: the zone is declared once, in the
//! environment's first region, at `dns_zone.NAME[global]`.

use super::{Built, Instance, attributes};
use crate::config::diagnostics::Diagnostic;
use crate::model::cloud::GLOBAL_REGION;
use crate::model::{Kind, Value, reference};
use serde_json::json;
use std::collections::BTreeSet;

pub(super) fn build(instance: &Instance<'_>) -> Option<Built> {
    let block = instance.block;
    let written = instance.string(block, "name")?;
    let Some(name) = domain_name(&written) else {
        let attr = block.attribute("name")?;
        instance.problem(
            Diagnostic::at(
                instance.sources,
                attr.value_span,
                format!("`{written}` is not a domain name"),
            )
            .expected("labels of letters, digits and hyphens separated by dots, such as `\"example.com\"`"),
        );
        return None;
    };
    let address = instance.at(GLOBAL_REGION);
    let value = json!({ "id": reference(&address, "id"), "name": name });
    if !instance.first_placement {
        // Declared in the first region; the other regions refer to that one.
        return Some(Built {
            primary: vec![address],
            value,
            ..Built::default()
        });
    }
    let produced = instance.produced(
        address,
        Kind::DnsZone,
        attributes(vec![("name", Value::String(name))]),
        BTreeSet::new(),
        instance.name.clone(),
    );
    Some(Built::one(produced, value))
}

/// `text` as DNS compares names (lower case, without the root's trailing dot), when it is a
/// domain name of at least two labels.
pub(super) fn domain_name(text: &str) -> Option<String> {
    let name = text.trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = name.split('.').collect();
    let valid = name.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    valid.then_some(name)
}
