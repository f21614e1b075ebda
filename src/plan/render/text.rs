//! The human view of a plan, shaped like Terraform's: what changed outside Cairn, what will be
//! adopted, each change with its attributes, and one summary line.

use super::value::{SENSITIVE_TEXT, UNKNOWN, inline, is_long_text};
use crate::model::{Attributes, TAG_ADDRESS, TAG_ENV, TAG_STACK, Tags, Value};
use crate::plan::{Change, ChangeAction, Drift, DriftKind, Operation, Plan};
use owo_colors::{OwoColorize, Style};
use similar::{ChangeTag, TextDiff};
use std::collections::BTreeSet;
use std::fmt::Write;

/// How to render text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RenderOptions {
    /// ANSI colors (off for tests, pipes and `--no-color`).
    pub color: bool,
}

/// The final line: `Plan: 3 to add, 1 to change, 0 to destroy.` (a replacement counts once as
/// an add and once as a destroy) or `No changes. Your infrastructure matches the
/// configuration.`
pub fn summary_line(plan: &Plan) -> String {
    if plan.refresh_only {
        return if plan.drift.is_empty() && plan.adopted.is_empty() {
            "No changes. Your infrastructure still matches the configuration.".to_string()
        } else {
            "This is a refresh-only plan: applying it records these changes in the state \
             without changing any remote object."
                .to_string()
        };
    }
    if plan.changes.is_empty() && plan.adopted.is_empty() {
        return "No changes. Your infrastructure matches the configuration.".to_string();
    }
    let summary = plan.summary();
    format!(
        "Plan: {} to add, {} to change, {} to destroy.",
        summary.create + summary.replace,
        summary.update,
        summary.delete + summary.replace
    )
}

/// Renders `plan` as text, ending with a newline.
pub fn render_text(plan: &Plan, options: &RenderOptions) -> String {
    let painter = Painter {
        color: options.color,
    };
    let mut out = String::new();
    if !plan.drift.is_empty() {
        render_drift(&mut out, &plan.drift, &painter);
    }
    if !plan.adopted.is_empty() {
        out.push_str(
            "Cairn found objects carrying this environment's ownership tags that the state does \
             not record (left by an interrupted run); it will adopt them instead of creating \
             them again:\n\n",
        );
        for adopted in &plan.adopted {
            let _ = writeln!(
                out,
                "  {} {} `{}` will be adopted",
                painter.paint("#", Style::new().bold()),
                painter.paint(adopted.address.as_str(), Style::new().bold()),
                adopted.id
            );
        }
        out.push('\n');
    }
    if !plan.changes.is_empty() {
        out.push_str("Cairn will perform the following actions:\n\n");
        for change in &plan.changes {
            render_change(&mut out, plan, change, &painter);
        }
    }
    let _ = writeln!(
        out,
        "{}",
        painter.paint(&summary_line(plan), Style::new().bold())
    );
    out
}

struct Painter {
    color: bool,
}

impl Painter {
    fn paint(&self, text: &str, style: Style) -> String {
        if self.color {
            text.style(style).to_string()
        } else {
            text.to_string()
        }
    }

    fn symbol(&self, symbol: Symbol) -> String {
        let (text, style) = match symbol {
            Symbol::Create => ("+", Style::new().green()),
            Symbol::Update => ("~", Style::new().yellow()),
            Symbol::Delete => ("-", Style::new().red()),
            Symbol::Unchanged => (" ", Style::new()),
        };
        self.paint(text, style)
    }
}

#[derive(Clone, Copy)]
enum Symbol {
    Create,
    Update,
    Delete,
    Unchanged,
}

fn render_drift(out: &mut String, drift: &[Drift], painter: &Painter) {
    let _ = writeln!(
        out,
        "{}\n",
        painter.paint(
            "Note: Objects have changed outside of Cairn",
            Style::new().bold()
        )
    );
    out.push_str(
        "Cairn detected the following changes made outside of Cairn since the last apply:\n\n",
    );
    for entry in drift {
        let header = match entry.what {
            DriftKind::Changed => "has changed",
            DriftKind::Deleted => "has been deleted",
        };
        let _ = writeln!(
            out,
            "  {} {} {header}",
            painter.paint("#", Style::new().bold()),
            painter.paint(entry.address.as_str(), Style::new().bold())
        );
        match entry.what {
            DriftKind::Deleted => {
                let _ = writeln!(
                    out,
                    "  {} {} \"{}\" {{}}\n",
                    painter.symbol(Symbol::Delete),
                    entry.kind,
                    entry.address
                );
            }
            DriftKind::Changed => {
                let _ = writeln!(
                    out,
                    "  {} {} \"{}\" {{",
                    painter.symbol(Symbol::Update),
                    entry.kind,
                    entry.address
                );
                let width = entry.attributes.keys().map(String::len).max().unwrap_or(0);
                for (name, (recorded, live)) in &entry.attributes {
                    let line = AttributeLine {
                        name,
                        old: Some(recorded),
                        new: Some(live),
                        sensitive: entry.sensitive.contains(name),
                        note: None,
                    };
                    attribute_line(out, painter, width, &line);
                }
                out.push_str("    }\n\n");
            }
        }
    }
}

fn render_change(out: &mut String, plan: &Plan, change: &Change, painter: &Painter) {
    let before_id = change
        .before
        .as_ref()
        .and_then(|before| before.get("id"))
        .and_then(Value::as_str);
    // A delete of an object that is not the one state records: a duplicate, or the old
    // object of an interrupted create-before-destroy replacement.
    let extra_object = change.action == ChangeAction::Delete
        && plan.steps.iter().any(|step| {
            step.operation == Operation::Delete
                && step.deposed
                && step.address == change.address
                && step.id.as_deref() == before_id
        });
    let (header, symbol) = match change.action {
        ChangeAction::Create => (
            "will be created".to_string(),
            painter.symbol(Symbol::Create),
        ),
        ChangeAction::Update => (
            "will be updated in place".to_string(),
            painter.symbol(Symbol::Update),
        ),
        ChangeAction::Replace if change.create_before_destroy => (
            "must be replaced (the new object is created first)".to_string(),
            format!(
                "{}/{}",
                painter.symbol(Symbol::Create),
                painter.symbol(Symbol::Delete)
            ),
        ),
        ChangeAction::Replace => (
            "must be replaced".to_string(),
            format!(
                "{}/{}",
                painter.symbol(Symbol::Delete),
                painter.symbol(Symbol::Create)
            ),
        ),
        ChangeAction::Delete if extra_object => (
            format!(
                "has an extra object `{}` that will be destroyed",
                before_id.unwrap_or("?")
            ),
            painter.symbol(Symbol::Delete),
        ),
        ChangeAction::Delete => (
            "will be destroyed".to_string(),
            painter.symbol(Symbol::Delete),
        ),
    };
    let _ = writeln!(
        out,
        "  {} {} {header}",
        painter.paint("#", Style::new().bold()),
        painter.paint(change.address.as_str(), Style::new().bold())
    );
    // Terraform's layout: a two-character replacement symbol takes the indentation's place.
    let indent = if change.action == ChangeAction::Replace {
        ""
    } else {
        "  "
    };
    let _ = writeln!(
        out,
        "{indent}{symbol} {} \"{}\" {{",
        change.kind, change.address
    );

    let empty = Attributes::new();
    let before = change.before.as_ref().unwrap_or(&empty);
    let after = change.after.as_ref();
    let mut names: BTreeSet<&str> = BTreeSet::new();
    match after {
        Some(after) => names.extend(after.keys().map(String::as_str)),
        None => names.extend(before.keys().map(String::as_str)),
    }
    if matches!(change.action, ChangeAction::Replace | ChangeAction::Update) {
        names.insert("id");
    }
    let mut lines: Vec<AttributeLine<'_>> = Vec::new();
    let mut hidden = 0;
    let unknown_id = Value::String(crate::model::reference(&change.address, "id"));
    for name in names {
        let old = before.get(name);
        let new = match (change.action, after) {
            (ChangeAction::Replace, _) if name == "id" => Some(&unknown_id),
            (_, Some(after)) => after.get(name).or(old),
            (_, None) => None,
        };
        let note = change
            .replace_because
            .iter()
            .any(|because| because == name)
            .then_some("# forces replacement");
        let sensitive = change.sensitive.contains(name);
        let line = |old, new, note| AttributeLine {
            name,
            old,
            new,
            sensitive,
            note,
        };
        match change.action {
            ChangeAction::Create => lines.push(line(None, new, None)),
            ChangeAction::Delete => lines.push(line(old, None, None)),
            ChangeAction::Update | ChangeAction::Replace => {
                if old == new && name != "id" {
                    hidden += 1;
                } else {
                    lines.push(line(old, new, note));
                }
            }
        }
    }
    let tag_lines = tag_changes(change);
    let width = lines
        .iter()
        .map(|line| line.name.len())
        .chain((!tag_lines.is_empty()).then_some(4))
        .max()
        .unwrap_or(0);
    for line in &lines {
        attribute_line(out, painter, width, line);
    }
    if !tag_lines.is_empty() {
        let symbol = match change.action {
            ChangeAction::Create => Symbol::Create,
            ChangeAction::Delete => Symbol::Delete,
            _ => Symbol::Update,
        };
        let _ = writeln!(
            out,
            "      {} {:width$} = {{",
            painter.symbol(symbol),
            "tags"
        );
        let tag_width = tag_lines
            .iter()
            .map(|(key, ..)| key.len() + 2)
            .max()
            .unwrap_or(0);
        for (key, old, new) in tag_lines {
            let quoted = format!("\"{key}\"");
            let (symbol, text) = match (old, new) {
                (None, Some(new)) => (Symbol::Create, format!("\"{new}\"")),
                (Some(old), None) => (Symbol::Delete, format!("\"{old}\" -> null")),
                (Some(old), Some(new)) => (Symbol::Update, format!("\"{old}\" -> \"{new}\"")),
                (None, None) => continue,
            };
            let _ = writeln!(
                out,
                "          {} {quoted:tag_width$} = {text}",
                painter.symbol(symbol)
            );
        }
        out.push_str("        }\n");
    }
    if hidden > 0 {
        let plural = if hidden == 1 {
            "attribute"
        } else {
            "attributes"
        };
        let _ = writeln!(
            out,
            "        {}",
            painter.paint(
                &format!("# ({hidden} unchanged {plural} hidden)"),
                Style::new().dimmed()
            )
        );
    }
    out.push_str("    }\n\n");
}

/// Tag differences worth showing: every difference, but ownership tags only when they are
/// what changed (they are on every object and otherwise only noise).
fn tag_changes(change: &Change) -> Vec<(String, Option<String>, Option<String>)> {
    let ownership = |key: &str| [TAG_STACK, TAG_ENV, TAG_ADDRESS].contains(&key);
    let diff = |before: &Tags, after: &Tags, keep_ownership: bool| {
        let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
        keys.into_iter()
            .filter(|key| keep_ownership || !ownership(key))
            .filter(|key| before.get(*key) != after.get(*key))
            .map(|key| {
                (
                    key.clone(),
                    before.get(key).cloned(),
                    after.get(key).cloned(),
                )
            })
            .collect::<Vec<_>>()
    };
    match change.action {
        ChangeAction::Create => diff(&Tags::new(), &change.after_tags, false),
        ChangeAction::Delete => diff(&change.before_tags, &Tags::new(), false),
        ChangeAction::Update | ChangeAction::Replace => {
            let user = diff(&change.before_tags, &change.after_tags, false);
            if user.is_empty() {
                diff(&change.before_tags, &change.after_tags, true)
            } else {
                user
            }
        }
    }
}

/// One attribute of a change: `None` on a side means absent (created or deleted).
struct AttributeLine<'a> {
    name: &'a str,
    old: Option<&'a Value>,
    new: Option<&'a Value>,
    sensitive: bool,
    note: Option<&'static str>,
}

/// One `  ~ name = old -> new` line, or a heredoc diffed line by line for long text.
fn attribute_line(out: &mut String, painter: &Painter, width: usize, line: &AttributeLine<'_>) {
    let AttributeLine {
        name,
        old,
        new,
        sensitive,
        note,
    } = *line;
    let symbol = match (old, new) {
        (None, _) => Symbol::Create,
        (_, None) => Symbol::Delete,
        (Some(old), Some(new)) if old == new => Symbol::Unchanged,
        _ => Symbol::Update,
    };
    let note = note
        .map(|note| format!(" {}", painter.paint(note, Style::new().red())))
        .unwrap_or_default();
    let prefix = format!("      {} {name:width$} = ", painter.symbol(symbol));
    if !sensitive
        && (old.is_some_and(is_long_text) || new.is_some_and(is_long_text))
        && old.is_none_or(|value| value.is_string())
        && new.is_none_or(|value| value.is_string())
    {
        let old_text = old.and_then(Value::as_str).unwrap_or("");
        let new_text = new.and_then(Value::as_str).unwrap_or("");
        let _ = writeln!(out, "{prefix}<<-EOT{note}");
        text_diff(out, painter, old_text, new_text);
        out.push_str("        EOT\n");
        return;
    }
    let show = |value: &Value| {
        if sensitive {
            SENSITIVE_TEXT.to_string()
        } else {
            inline(value, false)
        }
    };
    let text = match (old, new) {
        (None, Some(new)) => show(new),
        (Some(old), None) => format!("{} -> null", show(old)),
        (Some(old), Some(new)) if old == new => show(new),
        (Some(old), Some(new)) => format!("{} -> {}", show(old), show(new)),
        (None, None) => UNKNOWN.to_string(),
    };
    let _ = writeln!(out, "{prefix}{text}{note}");
}

/// Lines of `old` → `new` with `+`/`-` markers, unchanged stretches beyond three lines of
/// context collapsed.
fn text_diff(out: &mut String, painter: &Painter, old: &str, new: &str) {
    let diff = TextDiff::from_lines(old, new);
    let groups = diff.grouped_ops(3);
    let total_old = old.lines().count();
    let mut shown_until = 0;
    for group in &groups {
        let Some(first) = group.first() else { continue };
        let start = first.old_range().start;
        if start > shown_until {
            hidden_lines(out, painter, start - shown_until);
        }
        for operation in group {
            for change in diff.iter_changes(operation) {
                let symbol = match change.tag() {
                    ChangeTag::Delete => Symbol::Delete,
                    ChangeTag::Insert => Symbol::Create,
                    ChangeTag::Equal => Symbol::Unchanged,
                };
                let line = change.value().trim_end_matches(['\n', '\r']);
                let _ = writeln!(out, "          {} {line}", painter.symbol(symbol));
            }
        }
        if let Some(last) = group.last() {
            shown_until = last.old_range().end;
        }
    }
    if groups.is_empty() {
        // Identical text: nothing to mark, show it whole.
        for line in new.lines() {
            let _ = writeln!(out, "            {line}");
        }
    } else if total_old > shown_until {
        hidden_lines(out, painter, total_old - shown_until);
    }
}

fn hidden_lines(out: &mut String, painter: &Painter, count: usize) {
    let plural = if count == 1 { "line" } else { "lines" };
    let _ = writeln!(
        out,
        "            {}",
        painter.paint(
            &format!("# ({count} unchanged {plural} hidden)"),
            Style::new().dimmed()
        )
    );
}
