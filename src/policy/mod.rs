//! Policy: built-in checks with stable ids (`CAIRN001`…) run on an expanded environment, each
//! finding pointing at the block or attribute that causes it.
//!
//! `policy` sits beside `plan`: it reads the expansion ([`crate::graph::Expansion`]: every
//! region, the DR standby, module contents) and, for `cairn check --live`, what a refresh
//! read ([`crate::plan::Observed`]); it never calls a provider. `apply` consults its verdict
//! ([`Report::blocking`]) before acting.
//!
//! Promises:
//! - the same configuration gives the same findings in the same order;
//! - a finding never shows a secret: rules about secrets name the kind of secret and where it
//!   is, never its text, and values of sensitive attributes are never quoted;
//! - a suppression carries a reason, names a rule that exists, and is reported when it
//!   matches nothing (for `ignore` blocks in the environment checked; for `# cairn:ignore`
//!   comments when every environment is checked, since a comment serves them all).

mod catalog;
mod context;
mod finding;
mod locate;
mod rules;
mod suppress;

pub use catalog::{RULES, Rule, Severity, is_known, rule};
pub use finding::{CallSite, Finding, Located, Report, Suppressed};
pub use suppress::unused_comments;

use crate::config::{Config, Diagnostics};
use crate::graph::Expansion;
use crate::plan::Observed;
use context::Context;
use std::collections::BTreeSet;

/// Runs every rule on `expansion` (an environment of `config`, with its DR standby when it
/// has one) and applies the environment's suppressions.
///
/// # Errors
///
/// Suppressions that name no rule, or `# cairn:ignore` comments without a reason.
pub fn check(config: &Config, expansion: &Expansion) -> Result<Report, Diagnostics> {
    let suppressions = suppress::Suppressions::read(config, &expansion.environment)?;
    let context = Context::desired(config, expansion);
    let report = Report::new(&expansion.environment.name, rules::run(&context));
    Ok(suppressions.apply(report))
}

/// Runs every rule on what the refresh read (`observed`) instead of the configuration, and
/// marks as drift each finding the configuration itself does not have.
///
/// # Errors
///
/// As [`check`].
pub fn check_live(
    config: &Config,
    expansion: &Expansion,
    observed: &Observed,
) -> Result<Report, Diagnostics> {
    let suppressions = suppress::Suppressions::read(config, &expansion.environment)?;
    let desired = rules::run(&Context::desired(config, expansion));
    let configured: BTreeSet<(&str, &crate::model::Address)> = desired
        .iter()
        .flat_map(|finding| {
            finding
                .addresses
                .iter()
                .map(move |address| (finding.rule, address))
        })
        .collect();
    let live_resources = context::live_resources(expansion, observed);
    let context = Context::live(config, expansion, &live_resources, observed);
    let mut findings = rules::run(&context);
    for finding in &mut findings {
        finding.drift = finding
            .addresses
            .iter()
            .any(|address| !configured.contains(&(finding.rule, address)));
    }
    let mut report = Report::new(&expansion.environment.name, findings);
    report.live = true;
    Ok(suppressions.apply(report))
}
