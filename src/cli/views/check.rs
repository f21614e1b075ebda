//! Views of `cairn check`: the findings as text (the configuration diagnostics' style), JSON
//! and SARIF 2.1.0 (for code scanning in CI), and the rule list. The short list of findings
//! under a plan is the plan view's (`views::plan`).
//!
//! Promise: the exit code is the verdict's (1 on errors, or on warnings with `--strict`),
//! whatever the format; JSON or SARIF that cannot be serialized is an error, as in every view.

use super::{Format, Painter, counted};
use crate::cli::output::print;
use crate::config::diagnostics::Snippet;
use crate::ops::CheckOutcome;
use crate::policy::{Finding, RULES, Report, Rule, Severity};
use owo_colors::Style;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::process::ExitCode;

/// How `cairn check` shows its findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckFormat {
    Human,
    Json,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
}

/// Shows `outcome` in `format` and returns the exit code its verdict calls for: failure on
/// errors, or on warnings too when `strict`.
pub fn show(outcome: &CheckOutcome, format: CheckFormat, strict: bool) -> ExitCode {
    let code = if outcome.fails(strict) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    };
    match format {
        CheckFormat::Human => {
            print!("{}", text(outcome, &Painter::for_stdout()));
            code
        }
        CheckFormat::Json => super::show(&json(outcome), Format::Json, |_| {}, code),
        CheckFormat::Sarif => super::show(&sarif(outcome), Format::Json, |_| {}, code),
    }
}

/// `cairn check --rules`: the catalog on standard output.
pub fn show_rules() -> ExitCode {
    print!("{}", rules());
    ExitCode::SUCCESS
}

/// `cairn check` as people read it: each finding once, with the environments it is found in
/// when several were checked, then one summary line per environment.
pub fn text(outcome: &CheckOutcome, painter: &Painter) -> String {
    let mut out = String::new();
    let several = outcome.reports.len() > 1;
    let mut merged: Vec<(Finding, Vec<&str>)> = Vec::new();
    for report in &outcome.reports {
        for finding in &report.findings {
            let same = merged.iter_mut().find(|(known, _)| {
                known.rule == finding.rule
                    && known.location == finding.location
                    && known.message == finding.message
            });
            match same {
                Some((known, environments)) => {
                    known.addresses.extend(finding.addresses.iter().cloned());
                    known.addresses.sort();
                    known.addresses.dedup();
                    environments.push(&report.environment);
                }
                None => merged.push((finding.clone(), vec![&report.environment])),
            }
        }
    }
    let mut ordered: Vec<Finding> = Vec::with_capacity(merged.len());
    let mut environments_of = Vec::with_capacity(merged.len());
    for (finding, environments) in merged {
        ordered.push(finding);
        environments_of.push(environments);
    }
    let mut order: Vec<usize> = (0..ordered.len()).collect();
    order.sort_by_key(|index| {
        let finding = &ordered[*index];
        (
            finding.location.is_none(),
            finding.location.as_ref().map(|located| {
                (
                    located.location.file.clone(),
                    located.location.line,
                    located.location.column,
                )
            }),
            finding.rule,
        )
    });
    for index in order {
        let environments = several.then(|| environments_of[index].as_slice());
        out.push_str(&finding_text(&ordered[index], environments, painter));
        out.push('\n');
    }
    for finding in &outcome.stack_findings {
        out.push_str(&finding_text(finding, None, painter));
        out.push('\n');
    }
    for report in &outcome.reports {
        out.push_str(&summary_line(report));
        out.push('\n');
    }
    if !outcome.stack_findings.is_empty() {
        let _ = writeln!(
            out,
            "Stack: {} unused `cairn:ignore` comment(s).",
            outcome.stack_findings.len()
        );
    }
    if outcome.findings().next().is_some() {
        out.push_str("To accept a finding, write `# cairn:ignore RULE: reason` above its block, or `ignore \"RULE\" { reason = \"...\" }` in the environment's `policy` block.\n");
    }
    out
}

/// `Environment `production`: 1 error, 2 warnings, 1 suppressed.`
fn summary_line(report: &Report) -> String {
    let errors = report.errors().count();
    let warnings = report.warnings().count();
    let what = if report.live {
        "as the cloud has it"
    } else {
        "as configured"
    };
    let verdict = if errors + warnings == 0 {
        "clean".to_string()
    } else {
        format!(
            "{}, {}",
            counted(errors, "error"),
            counted(warnings, "warning")
        )
    };
    let mut line = format!("Environment `{}` ({what}): {verdict}", report.environment);
    if !report.suppressed.is_empty() {
        let _ = write!(line, ", {} suppressed", report.suppressed.len());
    }
    if report.live {
        let drift = report
            .findings
            .iter()
            .filter(|finding| finding.drift)
            .count();
        let _ = write!(line, ", {} from drift", drift);
    }
    line.push('.');
    line
}

/// One finding with its snippet, notes and hint (and the environments it is found in, when
/// several were checked).
pub fn finding_text(finding: &Finding, environments: Option<&[&str]>, painter: &Painter) -> String {
    let mut out = String::new();
    let style = match finding.severity {
        Severity::Error => Style::new().red().bold(),
        Severity::Warning => Style::new().yellow().bold(),
    };
    let label = painter.paint(&format!("{}[{}]", finding.severity, finding.rule), style);
    let _ = writeln!(out, "{label}: {}", finding.message);
    let gutter = finding
        .location
        .as_ref()
        .map_or(1, |located| located.location.line.to_string().len());
    let pad = " ".repeat(gutter);
    if let Some(located) = &finding.location {
        let _ = Snippet::from(located.clone()).write(&mut out, &pad);
    }
    let addresses: Vec<String> = finding.addresses.iter().map(ToString::to_string).collect();
    let _ = writeln!(out, "{pad} = address: {}", addresses.join(", "));
    if let Some(environments) = environments {
        let _ = writeln!(out, "{pad} = environments: {}", environments.join(", "));
    }
    for site in &finding.call_sites {
        let _ = writeln!(out, "{pad} = in {} called at {}", site.call, site.location);
    }
    if finding.drift {
        let _ = writeln!(
            out,
            "{pad} = drift: the cloud breaks this rule but the configuration does not"
        );
    }
    if let Some(rule) = finding.rule() {
        let _ = writeln!(out, "{pad} = why: {}", rule.rationale);
        let _ = writeln!(out, "hint: {}", rule.fix);
    }
    out
}

fn location_json(finding: &Finding) -> Value {
    match &finding.location {
        Some(located) => json!({
            "file": located.location.file,
            "line": located.location.line,
            "column": located.location.column,
        }),
        None => Value::Null,
    }
}

fn finding_json(finding: &Finding) -> Value {
    let rule = finding.rule();
    json!({
        "rule": finding.rule,
        "severity": finding.severity,
        "title": rule.map(|rule| rule.title),
        "message": finding.message,
        "addresses": finding.addresses,
        "location": location_json(finding),
        "call_sites": finding.call_sites,
        "drift": finding.drift,
        "fix": rule.map(|rule| rule.fix),
    })
}

/// `cairn check --json`.
pub fn json(outcome: &CheckOutcome) -> Value {
    let environments: Vec<Value> = outcome
        .reports
        .iter()
        .map(|report| {
            json!({
                "environment": report.environment,
                "live": report.live,
                "findings": report.findings.iter().map(finding_json).collect::<Vec<_>>(),
                "suppressed": report.suppressed.iter().map(|suppressed| {
                    let mut value = finding_json(&suppressed.finding);
                    if let Some(object) = value.as_object_mut() {
                        object.insert("reason".into(), json!(suppressed.reason));
                    }
                    value
                }).collect::<Vec<_>>(),
            })
        })
        .collect();
    let errors = outcome
        .findings()
        .filter(|finding| finding.severity == Severity::Error)
        .count();
    let warnings = outcome
        .findings()
        .filter(|finding| finding.severity == Severity::Warning)
        .count();
    json!({
        "environments": environments,
        "stack_findings": outcome.stack_findings.iter().map(finding_json).collect::<Vec<_>>(),
        "summary": { "errors": errors, "warnings": warnings },
    })
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

fn sarif_rule(rule: &Rule) -> Value {
    json!({
        "id": rule.id,
        "name": rule.name,
        "shortDescription": { "text": rule.title },
        "fullDescription": { "text": rule.rationale },
        "help": { "text": rule.fix },
        "defaultConfiguration": { "level": level(rule.severity) },
    })
}

fn sarif_result(finding: &Finding, environment: Option<&str>, reason: Option<&str>) -> Value {
    let mut result = json!({
        "ruleId": finding.rule,
        "ruleIndex": RULES.iter().position(|rule| rule.id == finding.rule),
        "level": level(finding.severity),
        "message": { "text": finding.message },
        "properties": {
            "environment": environment,
            "addresses": finding.addresses,
            "drift": finding.drift,
        },
    });
    let Some(object) = result.as_object_mut() else {
        return result;
    };
    let logical: Vec<Value> = finding
        .addresses
        .iter()
        .map(|address| json!({ "fullyQualifiedName": address, "kind": "resource" }))
        .collect();
    let mut location = json!({ "logicalLocations": logical });
    if let (Some(located), Some(map)) = (&finding.location, location.as_object_mut()) {
        map.insert(
            "physicalLocation".into(),
            json!({
                "artifactLocation": { "uri": located.location.file },
                "region": {
                    "startLine": located.location.line,
                    "startColumn": located.location.column,
                    "snippet": { "text": located.line_text },
                },
            }),
        );
    }
    object.insert("locations".into(), json!([location]));
    if !finding.call_sites.is_empty() {
        let related: Vec<Value> = finding
            .call_sites
            .iter()
            .enumerate()
            .map(|(index, site)| {
                json!({
                    "id": index,
                    "message": { "text": format!("in {} called here", site.call) },
                    "physicalLocation": {
                        "artifactLocation": { "uri": site.location.file },
                        "region": {
                            "startLine": site.location.line,
                            "startColumn": site.location.column,
                        },
                    },
                })
            })
            .collect();
        object.insert("relatedLocations".into(), json!(related));
    }
    if let Some(reason) = reason {
        object.insert(
            "suppressions".into(),
            json!([{ "kind": "inSource", "justification": reason }]),
        );
    }
    result
}

/// `cairn check --sarif`: one run of the `cairn` tool with every rule and every finding
/// (suppressed ones carry their suppression, as code scanning expects).
pub fn sarif(outcome: &CheckOutcome) -> Value {
    let mut results = Vec::new();
    for report in &outcome.reports {
        for finding in &report.findings {
            results.push(sarif_result(finding, Some(&report.environment), None));
        }
        for suppressed in &report.suppressed {
            results.push(sarif_result(
                &suppressed.finding,
                Some(&report.environment),
                Some(&suppressed.reason),
            ));
        }
    }
    for finding in &outcome.stack_findings {
        results.push(sarif_result(finding, None, None));
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "cairn",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": RULES.iter().map(sarif_rule).collect::<Vec<_>>(),
                },
            },
            "results": results,
        }],
    })
}

/// `cairn check --rules`.
pub fn rules() -> String {
    let mut out = String::new();
    for rule in &RULES {
        let _ = writeln!(out, "{} {:<7} {}", rule.id, rule.severity, rule.title);
        let _ = writeln!(out, "    why: {}", rule.rationale);
        let _ = writeln!(out, "    fix: {}", rule.fix);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Address, SourceLocation};
    use crate::policy::{CallSite, Located};

    fn at(file: &str, line: usize, column: usize) -> SourceLocation {
        SourceLocation {
            file: file.to_string(),
            line,
            column,
        }
    }

    fn module_finding() -> Finding {
        let mut finding = Finding::new(
            "CAIRN001",
            "`module.web.firewall.ssh` admits SSH (tcp 22) from anywhere (`0.0.0.0/0`)",
            Address::new("module.web.firewall.ssh[us-east-1]"),
        );
        finding
            .addresses
            .push(Address::new("module.web.firewall.ssh[us-west-2]"));
        finding.location = Some(Located {
            location: at("modules/web/main.hcl", 12, 3),
            line_text: "  ingress {".to_string(),
            lead: 2,
            width: 7,
        });
        finding.call_sites = vec![CallSite {
            call: "module \"web\"".to_string(),
            location: at("main.hcl", 40, 8),
        }];
        finding.drift = true;
        finding
    }

    #[test]
    fn a_finding_in_a_module_shows_its_call_site_and_drift() {
        insta::assert_snapshot!(finding_text(
            &module_finding(),
            Some(&["production", "staging"]),
            &Painter { color: false }
        ));
    }
}
