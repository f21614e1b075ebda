//! The `policy { ignore "CAIRN003" { reason = "...", addresses = [...] } }` block of an
//! environment: the policy findings a team has accepted there, each with the reason why.
//!
//! Promise: a suppression always carries a non-empty reason (one without is a configuration
//! error at its block); which rule ids exist and whether a suppression matched anything is
//! [`crate::policy`]'s business, because only it knows the rules.

use super::diagnostics::{Diagnostic, Diagnostics};
use super::eval::{self, Bindings};
use super::source::{Sources, Span};
use super::tree::BlockDef;
use crate::model::SourceLocation;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The suppressions of one environment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicySpec {
    pub ignores: Vec<Ignore>,
}

/// One `ignore "RULE" { ... }` block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ignore {
    /// The rule id as written (`CAIRN003`).
    pub rule: String,
    pub reason: String,
    /// Addresses or block paths the suppression covers (`firewall.bastion`,
    /// `module.web.autoscaling.web`); empty: every finding of the rule in the environment.
    pub addresses: Vec<String>,
    /// Where the rule id is written, for findings about the suppression itself.
    pub source: SourceLocation,
    /// The same place as a span, for diagnostics with the source line.
    #[serde(skip)]
    pub span: Option<Span>,
}

/// Reads the `policy` blocks of an `environment` block.
///
/// # Errors
///
/// A missing or empty `reason`, or `addresses` that is not a list of strings: every one found.
pub fn read_policy(
    sources: &Sources,
    environment: &BlockDef,
    bindings: &Bindings,
    dir: &Path,
) -> Result<PolicySpec, Diagnostics> {
    let mut diagnostics = Diagnostics::new();
    let mut spec = PolicySpec::default();
    for policy in environment.blocks_named("policy") {
        for ignore in policy.blocks_named("ignore") {
            // The schema check already reported a missing `reason`.
            let Some(reason_attr) = ignore.attribute("reason") else {
                continue;
            };
            let reason = eval::evaluate(sources, reason_attr, bindings.clone(), dir)
                .and_then(|value| eval::as_string(sources, reason_attr, &value));
            let reason = match reason {
                Ok(reason) if reason.trim().is_empty() => {
                    diagnostics.push(
                        Diagnostic::at(
                            sources,
                            reason_attr.value_span,
                            format!("the suppression of `{}` has an empty reason", ignore.name()),
                        )
                        .hint("say why the finding is acceptable here, for whoever reads it next"),
                    );
                    continue;
                }
                Ok(reason) => reason,
                Err(diagnostic) => {
                    diagnostics.push(diagnostic);
                    continue;
                }
            };
            let addresses = match ignore.attribute("addresses") {
                None => Vec::new(),
                Some(attr) => match eval::evaluate(sources, attr, bindings.clone(), dir)
                    .and_then(|value| eval::as_string_list(sources, attr, &value))
                {
                    Ok(addresses) => addresses,
                    Err(diagnostic) => {
                        diagnostics.push(diagnostic);
                        continue;
                    }
                },
            };
            spec.ignores.push(Ignore {
                rule: ignore.name().to_string(),
                reason,
                addresses,
                source: sources.location(ignore.label_span),
                span: Some(ignore.label_span),
            });
        }
    }
    diagnostics.into_result(spec)
}
