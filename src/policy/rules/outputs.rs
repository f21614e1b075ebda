//! Sensitive values leaving through outputs (CAIRN008).

use super::super::catalog::SENSITIVE_OUTPUT;
use super::super::context::Context;
use super::super::finding::Finding;
use crate::model::Address;

/// CAIRN008: a root output computed from a sensitive value but not declared `sensitive`.
/// Cairn hides such an output anyway; the rule makes the declaration say what it holds.
pub fn sensitive_outputs(context: &Context<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (name, output) in &context.expansion.outputs {
        let Some(declared) = context.config.root.outputs.get(name) else {
            continue;
        };
        if !output.sensitive || declared.sensitive {
            continue;
        }
        let finding = Finding::new(
            SENSITIVE_OUTPUT,
            format!("output `{name}` reads a sensitive value but is not marked `sensitive = true`"),
            Address::new(format!("output.{name}")),
        );
        findings.push(
            context
                .locator
                .place_span(finding, declared.value.key_span, declared.span),
        );
    }
    findings
}
