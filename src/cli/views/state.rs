//! Views of recorded state: `cairn show`, `output`, `state list|show|mv|rm|migrate`,
//! `import` and `force-unlock`.
//!
//! Promise: sensitive values show as `(sensitive value)` in text and JSON alike;
//! only `cairn output --name NAME` prints one raw, because that is what it is asked for.

use super::SENSITIVE;
use crate::apply::MoveTag;
use crate::cli::output::{eprintln, println};
use crate::model::{Address, is_known};
use crate::ops::{Imported, Move, Removal};
use crate::state::{StateDocument, StateOutput, StateResource};
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::ExitCode;

/// `cairn show`: the environment, each resource with its attributes, and the outputs.
pub fn show(state: &StateDocument) {
    println!(
        "Environment {} of stack {} (serial {}, {})",
        state.environment,
        state.stack,
        state.serial,
        super::counted(state.resources.len(), "resource")
    );
    for resource in state.resources.values() {
        println!();
        self::resource(resource);
    }
    if !state.outputs.is_empty() {
        println!("\nOutputs:\n");
        outputs(&state.outputs);
    }
}

/// `cairn show --json`: the state document with sensitive values hidden.
pub fn show_json(state: &StateDocument) -> ExitCode {
    let mut state = state.clone();
    for resource in state.resources.values_mut() {
        for name in resource.sensitive.clone() {
            if let Some(value) = resource.attributes.get_mut(&name) {
                *value = Value::String(SENSITIVE.to_string());
            }
        }
    }
    for output in state.outputs.values_mut() {
        if output.sensitive {
            output.value = Value::String(SENSITIVE.to_string());
        }
    }
    super::print_json(&state)
}

/// `name = value` per output, sensitive values hidden.
pub fn outputs(outputs: &BTreeMap<String, StateOutput>) {
    for (name, output) in outputs {
        println!("{name} = {}", output_text(output));
    }
}

/// `cairn output --json`: every output by name, sensitive values hidden.
pub fn outputs_json(outputs: &BTreeMap<String, StateOutput>) -> ExitCode {
    let shown: serde_json::Map<String, Value> = outputs
        .iter()
        .map(|(name, output)| {
            let value = if output.sensitive {
                Value::String(SENSITIVE.to_string())
            } else {
                output.value.clone()
            };
            (name.clone(), value)
        })
        .collect();
    super::print_json(&shown)
}

/// `cairn output --name NAME`: the raw value, a string without quotes unless `json`.
pub fn output_value(output: &StateOutput, json: bool) {
    match &output.value {
        Value::String(text) if !json => println!("{text}"),
        other => println!("{other}"),
    }
}

/// `cairn state list`.
pub fn addresses<'a>(addresses: impl IntoIterator<Item = &'a Address>) {
    for address in addresses {
        println!("{address}");
    }
}

/// `cairn state show ADDRESS`, and each resource of `cairn show`.
pub fn resource(resource: &StateResource) {
    println!(
        "# {} ({} in {})",
        resource.address, resource.kind, resource.region
    );
    println!("    id = {}", resource.id);
    for (name, value) in &resource.attributes {
        if name == "id" {
            continue;
        }
        let shown = if resource.sensitive.contains(name) {
            SENSITIVE.to_string()
        } else {
            value.to_string()
        };
        println!("    {name} = {shown}");
    }
    for (key, value) in &resource.tags {
        println!("    tags.{key} = {value:?}");
    }
}

/// `cairn state rm`: what was released, what was gone already and what stays managed; exit
/// code 1 when something could not be released.
pub fn removed(removal: &Removal) -> ExitCode {
    for resource in &removal.released {
        println!("Removed {} ({}): released", resource.address, resource.id);
    }
    for resource in &removal.gone {
        println!(
            "Removed {} ({}): already gone from the cloud",
            resource.address, resource.id
        );
    }
    for (resource, owner) in &removal.not_owned {
        match owner {
            Some(owner) => println!(
                "Removed {} ({}): managed by {owner} now, whose ownership tags are left as they are",
                resource.address, resource.id
            ),
            None => println!(
                "Removed {} ({}): it carried no ownership tags",
                resource.address, resource.id
            ),
        }
    }
    let forgotten = removal.released.len() + removal.gone.len() + removal.not_owned.len();
    if forgotten == 1 {
        println!(
            "Successfully removed 1 resource from state. Cairn removed its ownership tags: it is left in the cloud as it is, and no plan adopts it again."
        );
    } else if forgotten > 1 {
        println!(
            "Successfully removed {forgotten} resources from state. Cairn removed their ownership tags: they are left in the cloud as they are, and no plan adopts them again."
        );
    }
    if removal.kept.is_empty() {
        return ExitCode::SUCCESS;
    }
    for (resource, reason) in &removal.kept {
        eprintln!(
            "error: {} ({}) stays in state: {reason}",
            resource.address, resource.id
        );
    }
    eprintln!("hint: run `cairn state rm` again once the cloud answers");
    ExitCode::FAILURE
}

/// `cairn state mv`: each address moved and what became of its tags.
pub fn moved(moves: &[Move]) {
    for moved in moves {
        let tag = match moved.tag {
            MoveTag::Rewritten => "address tag rewritten",
            MoveTag::Untagged => "its kind takes no tags",
            MoveTag::Gone => "already gone from the cloud",
            MoveTag::NotOwned => {
                "it carries no ownership tags of this environment, left as they are"
            }
        };
        println!("Moved {} to {} ({}): {tag}", moved.from, moved.to, moved.id);
    }
    println!(
        "Successfully moved {}. Nothing was replaced.",
        super::counted(moves.len(), "object")
    );
}

/// `cairn import`.
pub fn imported(imported: &Imported) {
    let resource = &imported.resource;
    println!("{}: imported {}", resource.address, resource.id);
    if let Some(owner) = &imported.taken_from {
        println!(
            "Taken over from {owner}; remove it from that environment's state with `cairn state rm`."
        );
    }
    println!(
        "Import successful! The resource is now managed by cairn and carries this environment's ownership tags."
    );
}

/// `cairn force-unlock`.
pub fn unlocked(lock_id: &str) {
    println!("Cairn state has been unlocked (lock {lock_id}).");
}

/// `cairn state migrate`: what moved where, and what to do next.
pub fn migrated(report: &crate::ops::MigrateReport) {
    println!(
        "Migrated the state of `{}` (lineage {}, serial {}) from {} to {}.",
        report.environment, report.lineage, report.serial, report.from, report.to
    );
    let backup = if report.backup_copied {
        "state and its backup"
    } else {
        "state (no backup yet)"
    };
    println!(
        "Copied the {backup} and {}; the copy was read back and verified.",
        super::counted(report.audit_records_copied, "audit record")
    );
    println!(
        "The old copy is marked as migrated and will be refused; point the stack's `backend` block at the new location."
    );
}

/// An output as a user reads it: sensitive values hidden, unknown ones marked.
fn output_text(output: &StateOutput) -> String {
    if output.sensitive {
        SENSITIVE.to_string()
    } else if !is_known(&output.value) {
        "(known after apply)".to_string()
    } else {
        output.value.to_string()
    }
}

/// `cairn discover`: one line per object nobody owns (block it would be, id, region, `Name`),
/// then where its configuration was written.
pub fn discovered(found: &[crate::ops::Discovered], written: Option<&std::path::Path>) {
    if found.is_empty() {
        println!("Nothing unowned found.");
        return;
    }
    for item in found {
        let name = item
            .object
            .tags
            .get("Name")
            .map(|name| format!(" ({name})"))
            .unwrap_or_default();
        println!(
            "{}.{}  {}  {}{name}",
            item.block_type, item.name, item.object.id, item.object.region
        );
    }
    let count = super::counted(found.len(), "unowned object");
    match written {
        Some(path) => println!(
            "\nFound {count}; wrote their blocks and `import` blocks to {}.",
            path.display()
        ),
        None => println!("\nFound {count}; `--write FILE` writes blocks that import them."),
    }
}
