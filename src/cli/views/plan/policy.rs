//! The policy findings a plan carries, as a short list under it: one line per finding, then
//! what an apply will do about the errors among them. `cairn check` shows each in full.

use super::super::{Painter, counted};
use crate::plan::PolicyFinding;
use owo_colors::Style;
use std::fmt::Write;

/// The findings under a plan, or nothing when there are none.
pub fn render_policy(findings: &[PolicyFinding], painter: &Painter) -> String {
    if findings.is_empty() {
        return String::new();
    }
    let errors = findings.iter().filter(|finding| finding.is_error()).count();
    let warnings = findings.len() - errors;
    let mut out = format!(
        "\nPolicy: {}, {}.\n",
        counted(errors, "error"),
        counted(warnings, "warning")
    );
    for finding in findings {
        let style = if finding.is_error() {
            Style::new().red().bold()
        } else {
            Style::new().yellow().bold()
        };
        let label = painter.paint(&format!("{}[{}]", finding.severity, finding.rule), style);
        let at = finding
            .location
            .as_ref()
            .map(|location| format!(" ({location})"))
            .unwrap_or_default();
        let _ = writeln!(out, "  {label}: {}{at}", finding.message);
    }
    if errors > 0 {
        out.push_str(
            "Apply refuses while these errors stand: fix them, suppress them with a reason, or \
             pass `--allow RULE` (recorded in the audit log). `cairn check` shows where and why.\n",
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Address;

    #[test]
    fn findings_under_a_plan_are_one_line_each() {
        let findings = vec![
            PolicyFinding {
                rule: "CAIRN001".to_string(),
                severity: "error".to_string(),
                message: "`firewall.ssh` admits SSH (tcp 22) from anywhere (`0.0.0.0/0`)"
                    .to_string(),
                location: Some("main.hcl:12:3".to_string()),
                addresses: vec![Address::new("firewall.ssh[us-east-1]")],
            },
            PolicyFinding {
                rule: "CAIRN005".to_string(),
                severity: "warning".to_string(),
                message: "`launch_template.web` lets instances answer IMDSv1 requests".to_string(),
                location: None,
                addresses: vec![Address::new("launch_template.web[us-east-1]")],
            },
        ];
        let painter = Painter { color: false };
        insta::assert_snapshot!(render_policy(&findings, &painter));
        assert_eq!(render_policy(&[], &painter), "");
    }
}
