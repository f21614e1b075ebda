//! `cairn discover`: what exists in an environment's regions that no stack owns (no
//! `cairn:stack` tag), and the configuration that takes it over: one block per object plus an
//! `import` block for it, so the plan right after shows the imports and nothing else.
//!
//! Promise: discovering reads only (batched lists, never a write), and the configuration
//! written declares each object with the values the cloud reports, its tags included (its
//! `Name` too, which the block then keeps), so importing it changes nothing. Only the kinds
//! [`DISCOVERABLE`] names are listed: those whose configuration can be written from what the
//! cloud reports alone (a network's subnets, say, would need their `newbits` guessed).

use super::OpsError;
use super::run::{PlanRequest, Stack};
use crate::model::cloud::is_cloud_tag;
use crate::model::{Kind, OWNERSHIP_TAGS, TAG_STACK, Value};
use crate::provider::{LiveResource, Retrying};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// The block types `cairn discover` lists and writes, with the kind each stands for.
pub const DISCOVERABLE: [(&str, Kind); 1] = [("volume", Kind::Volume)];

/// What to discover.
#[derive(Debug, Clone, Default)]
pub struct DiscoverRequest {
    pub stack: PlanRequest,
    /// `--kind`: block types (`volume`); every discoverable one when empty.
    pub kinds: Vec<String>,
    /// `--tag KEY=VALUE`: objects carrying every one of these tags.
    pub tags: Vec<(String, String)>,
}

/// One object nobody owns, with the block name the configuration gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct Discovered {
    /// The block type (`volume`).
    pub block_type: &'static str,
    /// The block name: the object's `Name` tag made an identifier, or its id.
    pub name: String,
    pub object: LiveResource,
}

/// Lists the objects of the environment's regions that no stack owns, sorted by block type
/// and name.
///
/// # Errors
/// An unknown `--kind`, configuration errors, or the cloud's errors.
pub async fn discover(request: &DiscoverRequest) -> Result<Vec<Discovered>, OpsError> {
    let mut kinds = Vec::new();
    for wanted in &request.kinds {
        let found = DISCOVERABLE
            .iter()
            .find(|(block_type, _)| block_type == wanted)
            .ok_or_else(|| OpsError::NotDiscoverable {
                kind: wanted.clone(),
                known: DISCOVERABLE
                    .iter()
                    .map(|(block_type, _)| format!("`{block_type}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        kinds.push(*found);
    }
    if kinds.is_empty() {
        kinds = DISCOVERABLE.to_vec();
    }
    let stack = Stack::open(&request.stack)?;
    let provider = Retrying::wrap(stack.provider().await?);
    let mut found = Vec::new();
    for region in &stack.environment.regions {
        for (block_type, kind) in &kinds {
            let objects = provider
                .discover(&region.name, *kind)
                .await
                .map_err(|source| OpsError::Cloud {
                    action: format!("list {kind} resources in {}", region.name),
                    source,
                })?;
            found.extend(
                objects
                    .into_iter()
                    .filter(|object| !object.tags.contains_key(TAG_STACK))
                    .filter(|object| {
                        request
                            .tags
                            .iter()
                            .all(|(key, value)| object.tags.get(key) == Some(value))
                    })
                    .map(|object| (*block_type, object)),
            );
        }
    }
    Ok(named(found))
}

/// Gives each object a block name, unique per block type: its `Name` tag as an identifier,
/// else its id, with `_2`, `_3`... after a name taken already.
fn named(found: Vec<(&'static str, LiveResource)>) -> Vec<Discovered> {
    let mut taken: BTreeSet<(&str, String)> = BTreeSet::new();
    let mut discovered: Vec<Discovered> = found
        .into_iter()
        .map(|(block_type, object)| {
            let base = identifier(object.tags.get("Name").unwrap_or(&object.id));
            let mut name = base.clone();
            let mut counter = 2;
            while !taken.insert((block_type, name.clone())) {
                name = format!("{base}_{counter}");
                counter += 1;
            }
            Discovered {
                block_type,
                name,
                object,
            }
        })
        .collect();
    discovered
        .sort_by(|left, right| (left.block_type, &left.name).cmp(&(right.block_type, &right.name)));
    discovered
}

/// `text` as a block name: lowercase letters, digits and `_`, starting with a letter.
fn identifier(text: &str) -> String {
    let mut name: String = text
        .chars()
        .map(|character| {
            if character.is_ascii_alphanumeric() {
                character.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if !name.starts_with(|character: char| character.is_ascii_alphabetic()) {
        name.insert_str(0, "x_");
    }
    name
}

/// The configuration that declares and imports `discovered`: for each object, its block and
/// an `import` block, in HCL as `cairn fmt` writes it.
pub fn configuration(discovered: &[Discovered]) -> String {
    let mut text = String::from(
        "# Written by `cairn discover --write`: objects no stack owned, declared as the cloud\n\
         # reports them, each with an `import` block. Review, then `cairn plan`: it should\n\
         # show the imports and nothing else. The `import` blocks can go once applied.\n",
    );
    for item in discovered {
        text.push('\n');
        let _ = writeln!(text, "{} \"{}\" {{", item.block_type, item.name);
        let attributes = block_attributes(item);
        let width = attributes
            .iter()
            .map(|(name, _)| name.len())
            .max()
            .unwrap_or(0);
        for (name, value) in attributes {
            let _ = writeln!(text, "  {name:width$} = {value}");
        }
        let _ = writeln!(text, "}}\n");
        let _ = writeln!(text, "import {{");
        let _ = writeln!(text, "  to = {}.{}", item.block_type, item.name);
        let _ = writeln!(text, "  id = {}", quoted(&item.object.id));
        let _ = writeln!(text, "}}");
    }
    text
}

/// The attributes of `item`'s block as HCL values, in the order the block type documents.
fn block_attributes(item: &Discovered) -> Vec<(&'static str, String)> {
    let attributes = &item.object.attributes;
    let mut written = Vec::new();
    // Volume is the only discoverable kind; a new kind adds its own arm here.
    let fields: &[(&str, &str)] = match item.object.kind {
        Kind::Volume => &[
            ("zone", "zone"),
            ("size_gb", "size_gb"),
            ("encrypted", "encrypted"),
            ("type", "volume_type"),
            ("snapshot", "snapshot_id"),
        ],
        _ => &[],
    };
    for (name, attribute) in fields {
        if let Some(value) = attributes.get(*attribute).filter(|value| !value.is_null()) {
            written.push((*name, hcl_value(value)));
        }
    }
    let tags: BTreeMap<&String, &String> = item
        .object
        .tags
        .iter()
        .filter(|(key, _)| !is_cloud_tag(key) && !OWNERSHIP_TAGS.contains(&key.as_str()))
        .collect();
    if !tags.is_empty() {
        let entries: Vec<String> = tags
            .iter()
            .map(|(key, value)| format!("{} = {}", tag_key(key), quoted(value)))
            .collect();
        written.push(("tags", format!("{{ {} }}", entries.join(", "))));
    }
    written
}

/// A tag key as an object key: bare when it is an identifier, quoted otherwise.
fn tag_key(key: &str) -> String {
    let bare = key.starts_with(|character: char| character.is_ascii_alphabetic())
        && key
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || character == '_');
    if bare { key.to_string() } else { quoted(key) }
}

fn quoted(text: &str) -> String {
    // A JSON string is a valid HCL string once `${` and `%{` cannot start a template.
    serde_json::to_string(text)
        .unwrap_or_default()
        .replace("${", "$${")
        .replace("%{", "%%{")
}

fn hcl_value(value: &Value) -> String {
    match value {
        Value::String(text) => quoted(text),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn volume(id: &str, name: Option<&str>) -> LiveResource {
        let mut tags = crate::model::Tags::new();
        if let Some(name) = name {
            tags.insert("Name".to_string(), name.to_string());
        }
        LiveResource {
            kind: Kind::Volume,
            region: "us-east-1".to_string(),
            id: id.to_string(),
            attributes: serde_json::from_value(serde_json::json!({
                "zone": "us-east-1a", "size_gb": 10, "encrypted": true, "volume_type": "gp3",
            }))
            .unwrap_or_default(),
            tags,
        }
    }

    #[test]
    fn names_come_from_name_tags_or_ids_and_stay_unique() {
        let discovered = named(vec![
            ("volume", volume("vol-1", Some("Build Cache"))),
            ("volume", volume("vol-2", Some("build-cache"))),
            ("volume", volume("vol-3", None)),
        ]);
        let names: Vec<&str> = discovered.iter().map(|item| item.name.as_str()).collect();
        assert_eq!(names, ["build_cache", "build_cache_2", "vol_3"]);
    }

    #[test]
    fn the_configuration_declares_and_imports_each_object() {
        let text = configuration(&named(vec![("volume", volume("vol-1", Some("logs")))]));
        assert!(
            text.ends_with(
                "volume \"logs\" {\n  zone      = \"us-east-1a\"\n  size_gb   = 10\n  encrypted = true\n  type      = \"gp3\"\n  tags      = { Name = \"logs\" }\n}\n\nimport {\n  to = volume.logs\n  id = \"vol-1\"\n}\n"
            ),
            "{text}"
        );
    }
}
