//! Views of recorded state: `cairn show`, `output`, `state list|show|rm`, `import` and
//! `force-unlock`.
//!
//! Promise: sensitive values show as `(sensitive value)` in text and `"(sensitive)"` in JSON;
//! only `cairn output --name NAME` prints one raw, because that is what it is asked for.

use crate::cli::output::println;
use crate::model::{Address, is_known};
use crate::state::{StateDocument, StateOutput, StateResource};
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::ExitCode;

const SENSITIVE_TEXT: &str = "(sensitive value)";
const SENSITIVE_JSON: &str = "(sensitive)";

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
                *value = Value::String(SENSITIVE_JSON.to_string());
            }
        }
    }
    for output in state.outputs.values_mut() {
        if output.sensitive {
            output.value = Value::String(SENSITIVE_JSON.to_string());
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
                Value::String(SENSITIVE_JSON.to_string())
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
            SENSITIVE_TEXT.to_string()
        } else {
            value.to_string()
        };
        println!("    {name} = {shown}");
    }
    for (key, value) in &resource.tags {
        println!("    tags.{key} = {value:?}");
    }
}

/// `cairn state rm`.
pub fn removed(addresses: &[String]) {
    for address in addresses {
        println!("Removed {address}");
    }
    println!(
        "Successfully removed {} from state; the cloud is unchanged.",
        super::counted(addresses.len(), "resource")
    );
}

/// `cairn import`.
pub fn imported(resource: &StateResource) {
    println!("{}: imported {}", resource.address, resource.id);
    println!("Import successful! The resource is now managed by cairn.");
}

/// `cairn force-unlock`.
pub fn unlocked(lock_id: &str) {
    println!("Cairn state has been unlocked (lock {lock_id}).");
}

/// An output as a user reads it: sensitive values hidden, unknown ones marked.
fn output_text(output: &StateOutput) -> String {
    if output.sensitive {
        SENSITIVE_TEXT.to_string()
    } else if !is_known(&output.value) {
        "(known after apply)".to_string()
    } else {
        output.value.to_string()
    }
}
