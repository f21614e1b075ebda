//! Suppressions: the findings a team has accepted, each with its reason, written next to
//! what they excuse.
//!
//! Two forms: `policy { ignore "CAIRN006" { reason = "...", addresses = [...] } }` in an
//! environment (for that environment), and a comment right above a block, which excuses the
//! findings of that block (or, above a `module` call, of everything in the module) in every
//! environment:
//!
//! ```hcl
//! # cairn:ignore CAIRN001: the bastion admits SSH from the office only, through the VPN
//! firewall "bastion" { ... }
//! ```

use super::catalog::{self, UNUSED_SUPPRESSION};
use super::finding::{Finding, Report, Suppressed, sort};
use super::locate::Locator;
use crate::config::diagnostics::{Diagnostic, Diagnostics, did_you_mean};
use crate::config::source::{FileId, Span};
use crate::config::{Config, Environment, Ignore};
use crate::model::Address;
use std::collections::{BTreeMap, BTreeSet};

/// The comment that marks a suppression.
const MARKER: &str = "cairn:ignore";

/// One `# cairn:ignore RULE: reason` comment.
#[derive(Debug, Clone)]
pub struct Directive {
    pub rule: String,
    pub reason: String,
    /// The comment line.
    pub span: Span,
}

/// The suppressions in force for one environment.
pub struct Suppressions<'c> {
    config: &'c Config,
    environment: &'c Environment,
    /// Comment directives by the (file, line) of the block they sit above.
    comments: BTreeMap<(FileId, usize), Vec<Directive>>,
}

impl<'c> Suppressions<'c> {
    /// Reads the environment's `ignore` blocks and every `cairn:ignore` comment.
    ///
    /// # Errors
    ///
    /// An unknown rule id, or a comment without a reason: every one found.
    pub fn read(
        config: &'c Config,
        environment: &'c Environment,
    ) -> Result<Suppressions<'c>, Diagnostics> {
        let mut diagnostics = Diagnostics::new();
        for ignore in &environment.policy.ignores {
            if !catalog::is_known(&ignore.rule) {
                diagnostics.push(unknown_rule(config, &ignore.rule, ignore.span));
            }
        }
        let comments = match comment_directives(config) {
            Ok(comments) => comments,
            Err(found) => {
                diagnostics.extend(found);
                BTreeMap::new()
            }
        };
        diagnostics.into_result(Suppressions {
            config,
            environment,
            comments,
        })
    }

    /// Moves the findings a suppression excuses out of `report.findings`, and reports the
    /// environment's `ignore` blocks that excused nothing.
    pub fn apply(&self, mut report: Report) -> Report {
        let sources = &self.config.sources;
        let mut used_ignores = vec![false; self.environment.policy.ignores.len()];
        let mut kept = Vec::with_capacity(report.findings.len());
        for finding in std::mem::take(&mut report.findings) {
            if let Some(index) = self
                .environment
                .policy
                .ignores
                .iter()
                .position(|ignore| covers(ignore, &finding))
            {
                used_ignores[index] = true;
                let reason = self.environment.policy.ignores[index].reason.clone();
                report.suppressed.push(Suppressed { finding, reason });
                continue;
            }
            let directive = finding.anchors.iter().find_map(|anchor| {
                let line = sources.file(anchor.file).line_column(anchor.start).0;
                self.comments
                    .get(&(anchor.file, line))?
                    .iter()
                    .find(|directive| directive.rule == finding.rule)
            });
            match directive {
                Some(directive) => {
                    let location = sources.location(directive.span);
                    report.used_comments.insert((location.file, location.line));
                    let reason = directive.reason.clone();
                    report.suppressed.push(Suppressed { finding, reason });
                }
                None => kept.push(finding),
            }
        }
        let locator = Locator::new(self.config);
        for (ignore, used) in self.environment.policy.ignores.iter().zip(used_ignores) {
            if used {
                continue;
            }
            let finding = Finding::new(
                UNUSED_SUPPRESSION,
                unused_message(&ignore.rule, &ignore.addresses),
                Address::new(format!("environment.{}", self.environment.name)),
            );
            kept.push(match ignore.span {
                Some(span) => locator.place_span(finding, span, span),
                None => locator.place_location(finding, &ignore.source),
            });
        }
        sort(&mut kept);
        report.findings = kept;
        report
    }
}

/// Whether an `ignore` block excuses `finding`: same rule, and no addresses (all of them) or
/// one that names the finding's block, module or instance.
fn covers(ignore: &Ignore, finding: &Finding) -> bool {
    ignore.rule == finding.rule
        && (ignore.addresses.is_empty()
            || finding.addresses.iter().any(|address| {
                ignore
                    .addresses
                    .iter()
                    .any(|target| address.matches_target(target))
            }))
}

fn unused_message(rule: &str, addresses: &[String]) -> String {
    if addresses.is_empty() {
        format!("the suppression of `{rule}` matches no finding")
    } else {
        format!(
            "the suppression of `{rule}` for `{}` matches no finding",
            addresses.join("`, `")
        )
    }
}

fn unknown_rule(config: &Config, rule: &str, span: Option<Span>) -> Diagnostic {
    let message = format!("unknown policy rule `{rule}`");
    let mut diagnostic = match span {
        Some(span) => Diagnostic::at(&config.sources, span, message),
        None => Diagnostic::error(message),
    }
    .expected(format!(
        "a rule id from `{}` to `{}` (`cairn check --rules` lists them)",
        catalog::RULES[0].id,
        catalog::RULES[catalog::RULES.len() - 1].id
    ));
    if let Some(hint) = did_you_mean(rule, catalog::RULES.iter().map(|rule| rule.id)) {
        diagnostic = diagnostic.hint(hint);
    }
    diagnostic
}

/// Every `cairn:ignore` comment right above a top-level block of the stack or its modules,
/// by the (file, line) of that block.
///
/// # Errors
///
/// A comment without a reason or naming an unknown rule.
pub fn comment_directives(
    config: &Config,
) -> Result<BTreeMap<(FileId, usize), Vec<Directive>>, Diagnostics> {
    let mut anchors: BTreeSet<(FileId, usize)> = BTreeSet::new();
    for module in std::iter::once(&config.root).chain(config.modules.values()) {
        let spans = module
            .resources
            .iter()
            .map(|block| block.span)
            .chain(module.calls.iter().map(|call| call.block.span))
            .chain(module.variables.values().map(|variable| variable.span))
            .chain(module.outputs.values().map(|output| output.span));
        for span in spans {
            let line = config.sources.file(span.file).line_column(span.start).0;
            anchors.insert((span.file, line));
        }
    }
    let mut diagnostics = Diagnostics::new();
    let mut found: BTreeMap<(FileId, usize), Vec<Directive>> = BTreeMap::new();
    let mut offsets: BTreeMap<FileId, Vec<usize>> = BTreeMap::new();
    // Most files hold no suppression at all; they are looked at once, not once per block.
    let mut marked: BTreeMap<FileId, bool> = BTreeMap::new();
    for (file, line) in anchors {
        let text = &config.sources.file(file).text;
        if !*marked.entry(file).or_insert_with(|| text.contains(MARKER)) {
            continue;
        }
        let starts = offsets.entry(file).or_insert_with(|| {
            std::iter::once(0)
                .chain(text.match_indices('\n').map(|(index, _)| index + 1))
                .collect()
        });
        // The comment lines directly above the block, nearest first.
        let mut above = line.saturating_sub(1);
        while above >= 1 {
            let start = starts[above - 1];
            let end = starts.get(above).map_or(text.len(), |next| next - 1);
            let content = text.get(start..end).unwrap_or("").trim();
            let Some(comment) = content
                .strip_prefix('#')
                .or_else(|| content.strip_prefix("//"))
            else {
                break;
            };
            if let Some(rest) = comment.trim().strip_prefix(MARKER) {
                let span = Span {
                    file,
                    start: start + (text[start..end].len() - text[start..end].trim_start().len()),
                    end,
                };
                match parse_directive(rest, span) {
                    Ok(directive) if catalog::is_known(&directive.rule) => {
                        found.entry((file, line)).or_default().push(directive);
                    }
                    Ok(directive) => {
                        diagnostics.push(unknown_rule(config, &directive.rule, Some(span)));
                    }
                    Err(message) => diagnostics.push(
                        Diagnostic::at(&config.sources, span, message)
                            .expected("`# cairn:ignore CAIRN001: why this is acceptable here`"),
                    ),
                }
            }
            above -= 1;
        }
    }
    diagnostics.into_result(found)
}

/// ` CAIRN001: reason` (the colon may be left out).
fn parse_directive(rest: &str, span: Span) -> Result<Directive, String> {
    let rest = rest.trim();
    let end = rest
        .find(|character: char| character == ':' || character.is_whitespace())
        .unwrap_or(rest.len());
    let rule = rest[..end].trim();
    if rule.is_empty() {
        return Err("a `cairn:ignore` comment names no rule".to_string());
    }
    let reason = rest[end..].trim_start_matches(':').trim();
    if reason.is_empty() {
        return Err(format!("the suppression of `{rule}` has no reason"));
    }
    Ok(Directive {
        rule: rule.to_string(),
        reason: reason.to_string(),
        span,
    })
}

/// The `cairn:ignore` comments no report used, as `CAIRN000` warnings. Comments serve every
/// environment, so this needs the reports of all of them.
///
/// # Errors
///
/// As [`comment_directives`].
pub fn unused_comments(config: &Config, reports: &[Report]) -> Result<Vec<Finding>, Diagnostics> {
    let used: BTreeSet<&(String, usize)> = reports
        .iter()
        .flat_map(|report| &report.used_comments)
        .collect();
    let locator = Locator::new(config);
    let mut findings = Vec::new();
    for directives in comment_directives(config)?.values() {
        for directive in directives {
            let location = config.sources.location(directive.span);
            if used.contains(&(location.file.clone(), location.line)) {
                continue;
            }
            let finding = Finding::new(
                UNUSED_SUPPRESSION,
                format!(
                    "the `cairn:ignore {}` comment matches no finding in any environment",
                    directive.rule
                ),
                Address::new(format!("comment.{}:{}", location.file, location.line)),
            );
            findings.push(locator.place_span(finding, directive.span, directive.span));
        }
    }
    sort(&mut findings);
    Ok(findings)
}
