//! Findings and the report of one check: what broke which rule, where, and the verdict for
//! `cairn check` and `cairn apply`.

use super::catalog::{self, Rule, Severity};
use crate::config::diagnostics::Snippet;
use crate::config::source::Span;
use crate::model::{Address, SourceLocation};
use serde::Serialize;

/// One place in the configuration a finding points at: the line with the block or attribute
/// that causes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Located {
    pub location: SourceLocation,
    /// The source line (for a very long line the part around the span), for the snippet
    /// under the message.
    pub line_text: String,
    /// How many characters of `line_text` come before the caret.
    pub lead: usize,
    /// How many characters the caret underlines.
    pub width: usize,
}

impl From<Located> for Snippet {
    fn from(located: Located) -> Snippet {
        Snippet {
            location: located.location,
            line_text: located.line_text,
            lead: located.lead,
            width: located.width,
        }
    }
}

impl From<Snippet> for Located {
    fn from(snippet: Snippet) -> Located {
        Located {
            location: snippet.location,
            line_text: snippet.line_text,
            lead: snippet.lead,
            width: snippet.width,
        }
    }
}

/// A module call a finding inside a module was reached through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallSite {
    /// `module "web"`.
    pub call: String,
    pub location: SourceLocation,
}

/// One rule broken by one block (over every region and instance it expands to).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule id (`CAIRN001`).
    pub rule: &'static str,
    pub severity: Severity,
    pub message: String,
    /// The instances concerned, sorted (`firewall.web[us-east-1]`, `environment.production`).
    pub addresses: Vec<Address>,
    /// The block or attribute that causes it; `None` for resources only the cloud knows of.
    pub location: Option<Located>,
    /// The module calls leading to the block, outermost first.
    pub call_sites: Vec<CallSite>,
    /// With `--live`: the cloud breaks the rule but the configuration does not (drift).
    pub drift: bool,
    /// Blocks whose `# cairn:ignore` comments may excuse this finding: the block itself and
    /// the module calls leading to it.
    #[serde(skip)]
    pub anchors: Vec<Span>,
}

impl Finding {
    /// A finding of rule `rule` (an id from [`catalog`]) at its rule's severity.
    pub fn new(rule: &'static str, message: impl Into<String>, address: Address) -> Finding {
        let severity = catalog::rule(rule).map_or(Severity::Error, |found| found.severity);
        Finding {
            rule,
            severity,
            message: message.into(),
            addresses: vec![address],
            location: None,
            call_sites: Vec::new(),
            drift: false,
            anchors: Vec::new(),
        }
    }

    /// The rule's entry in the catalog.
    pub fn rule(&self) -> Option<&'static Rule> {
        catalog::rule(self.rule)
    }

    /// What makes two findings the same finding reported for two instances of one block.
    fn merge_key(&self) -> (&'static str, Option<&SourceLocation>, &str) {
        (
            self.rule,
            self.location.as_ref().map(|located| &located.location),
            &self.message,
        )
    }
}

/// A finding excused by a suppression, with the reason given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suppressed {
    pub finding: Finding,
    pub reason: String,
}

/// Everything one check found in one environment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub environment: String,
    /// Findings in order of file, line, column and rule.
    pub findings: Vec<Finding>,
    pub suppressed: Vec<Suppressed>,
    /// Whether the findings come from what the refresh read (`--live`).
    pub live: bool,
    /// The `cairn:ignore` comments (file, line) that excused a finding here.
    #[serde(skip)]
    pub used_comments: std::collections::BTreeSet<(String, usize)>,
}

impl Report {
    /// Merges the findings of one block's instances and sorts everything by position.
    pub(super) fn new(environment: &str, findings: Vec<Finding>) -> Report {
        Report {
            environment: environment.to_string(),
            findings: merge(findings),
            suppressed: Vec::new(),
            live: false,
            used_comments: Default::default(),
        }
    }

    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|finding| finding.severity == Severity::Error)
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|finding| finding.severity == Severity::Warning)
    }

    /// The errors that block an apply: those whose rule is not in `allow`.
    pub fn blocking<'a>(&'a self, allow: &'a [String]) -> impl Iterator<Item = &'a Finding> {
        self.errors()
            .filter(move |finding| !allow.iter().any(|id| id == finding.rule))
    }

    /// Whether `cairn check` fails: any error, or with `strict` any warning.
    pub fn fails(&self, strict: bool) -> bool {
        self.errors().next().is_some() || (strict && self.warnings().next().is_some())
    }
}

/// One finding per rule, location and message, with the addresses of all of them.
fn merge(findings: Vec<Finding>) -> Vec<Finding> {
    let mut merged: Vec<Finding> = Vec::with_capacity(findings.len());
    type Key = (&'static str, Option<(String, usize, usize)>, String);
    let mut index: std::collections::HashMap<Key, usize> = std::collections::HashMap::new();
    for finding in findings {
        let key = {
            let (rule, location, message) = finding.merge_key();
            let location = location.map(|at| (at.file.clone(), at.line, at.column));
            (rule, location, message.to_string())
        };
        match index.get(&key) {
            Some(&position) => {
                let existing = &mut merged[position];
                existing.addresses.extend(finding.addresses);
                existing.drift |= finding.drift;
                for anchor in finding.anchors {
                    if !existing.anchors.contains(&anchor) {
                        existing.anchors.push(anchor);
                    }
                }
            }
            None => {
                index.insert(key, merged.len());
                merged.push(finding);
            }
        }
    }
    for finding in &mut merged {
        finding.addresses.sort();
        finding.addresses.dedup();
    }
    sort(&mut merged);
    merged
}

/// By file, line, column, then rule and first address: the order users read them in.
/// Findings without a location (resources only the cloud knows) come last.
pub(super) fn sort(findings: &mut [Finding]) {
    findings.sort_by(|left, right| {
        fn position(finding: &Finding) -> Option<(&str, usize, usize)> {
            finding.location.as_ref().map(|located| {
                (
                    located.location.file.as_str(),
                    located.location.line,
                    located.location.column,
                )
            })
        }
        let (left_at, right_at) = (position(left), position(right));
        left_at
            .is_none()
            .cmp(&right_at.is_none())
            .then_with(|| left_at.cmp(&right_at))
            .then_with(|| left.rule.cmp(right.rule))
            .then_with(|| left.addresses.first().cmp(&right.addresses.first()))
    });
}
