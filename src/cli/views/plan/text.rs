//! The human view of a plan, shaped like Terraform's: what changed outside Cairn, what will be
//! adopted, the calls an earlier run left unresolved, what moved, was forgotten or will be
//! imported, each change with its attributes, and one summary line.
//!
//! Attributes are listed one a line in HCL syntax; nested values are indented blocks (see
//! [`super::value`]). A create leaves out what it does not set (`null`); an update shows
//! only the attributes that change, and a set-like list (rules, id lists) that only changed
//! order does not change.

use super::super::{Painter, SENSITIVE};
use super::value::{Shape, Symbol, UNKNOWN, Writer, is_absent, is_long_text};
use crate::model::{Address, Attributes, Kind, TAG_ADDRESS, TAG_ENV, TAG_STACK, Tags, Value};
use crate::plan::{Change, ChangeAction, Drift, DriftKind, Operation, Plan};
use owo_colors::Style;
use similar::{ChangeTag, TextDiff};
use std::collections::BTreeSet;
use std::fmt::Write;

/// How to render text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RenderOptions {
    /// ANSI colors (off for tests, pipes and `NO_COLOR`).
    pub color: bool,
}

/// The final line: `Plan: 3 to add, 1 to change, 0 to destroy.` (a replacement counts once as
/// an add and once as a destroy, unless its old object is kept while in use) or `No changes.
/// Your infrastructure matches the configuration.`
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
    if plan.changes.is_empty()
        && plan.adopted.is_empty()
        && plan.interrupted.is_empty()
        && plan.moves.is_empty()
        && plan.forgets.is_empty()
        && plan.imports.is_empty()
        && plan.rollouts.is_empty()
    {
        return match (plan.held.len(), plan.in_use.len()) {
            (0, 0) => "No changes. Your infrastructure matches the configuration.".to_string(),
            (held, 0) => format!(
                "No changes. {} held on the version a rollback took {} back to (see above).",
                super::super::counted(held, "group"),
                if held == 1 { "it" } else { "them" }
            ),
            (_, in_use) => format!(
                "No changes now. {} to delete once nothing uses {} (see above).",
                super::super::counted(in_use, "object"),
                if in_use == 1 { "it" } else { "them" }
            ),
        };
    }
    let summary = plan.summary();
    let moves = match plan.moves.len() {
        0 => String::new(),
        count => format!(", {count} to move"),
    };
    let forgets = match plan.forgets.len() {
        0 => String::new(),
        count => format!(", {count} to forget"),
    };
    let imports = match plan.imports.len() {
        0 => String::new(),
        count => format!(", {count} to import"),
    };
    let mut line = format!(
        "Plan: {} to add, {} to change, {} to destroy{moves}{forgets}{imports}.",
        summary.create + summary.replace,
        summary.update,
        summary.destroyed()
    );
    if !plan.rollouts.is_empty() {
        line.push_str(&format!(
            " {} to roll out.",
            crate::cli::views::counted(plan.rollouts.len(), "group")
        ));
    }
    line
}

/// Renders `plan` as text, ending with a newline; its policy findings follow the summary.
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
    out.push_str(&super::interrupted::render_interrupted(
        &plan.interrupted,
        &painter,
    ));
    if !plan.moves.is_empty() {
        out.push_str(
            "Cairn will record these objects at their new addresses and rewrite their address \
             tags in place (`moved` blocks); nothing is destroyed or created for them:\n\n",
        );
        for moved in &plan.moves {
            let _ = writeln!(
                out,
                "  {} {} has moved to {} (`{}`)",
                painter.paint("#", Style::new().bold()),
                painter.paint(moved.from.as_str(), Style::new().bold()),
                painter.paint(moved.to.as_str(), Style::new().bold()),
                moved.id
            );
        }
        out.push('\n');
    }
    if !plan.forgets.is_empty() {
        out.push_str(
            "Cairn will stop managing these objects (`removed` blocks with `destroy = false`): \
             their ownership tags are removed and they leave the state; they stay in the cloud \
             as they are:\n\n",
        );
        for forget in &plan.forgets {
            let _ = writeln!(
                out,
                "  {} {} `{}` will be forgotten",
                painter.paint("#", Style::new().bold()),
                painter.paint(forget.address.as_str(), Style::new().bold()),
                forget.id
            );
        }
        out.push('\n');
    }
    if !plan.imports.is_empty() {
        out.push_str(
            "Cairn will import these existing objects (`import` blocks): they get this \
             environment's ownership tags and are recorded; where they differ from their \
             blocks, the changes below update them:\n\n",
        );
        for imported in &plan.imports {
            let _ = writeln!(
                out,
                "  {} {} `{}` will be imported",
                painter.paint("#", Style::new().bold()),
                painter.paint(imported.address.as_str(), Style::new().bold()),
                imported.id
            );
        }
        out.push('\n');
    }
    if !plan.in_use.is_empty() {
        out.push_str(
            "Cairn leaves these objects in place while instances still use them (AWS refuses \
             to delete them until then); a later apply deletes them once nothing does:\n\n",
        );
        for in_use in &plan.in_use {
            let users: Vec<String> = in_use
                .users
                .iter()
                .map(|user| format!("`{user}`"))
                .collect();
            let _ = writeln!(
                out,
                "  {} {} `{}` is still used by the instances of {}",
                painter.paint("#", Style::new().bold()),
                painter.paint(in_use.address.as_str(), Style::new().bold()),
                in_use.id,
                users.join(", ")
            );
        }
        out.push_str(
            "      instances move off it only when replaced: by the rollout of a group with a \
             `rollout` block, which runs after the plan's steps; a group without one keeps \
             its instances until they end\n\n",
        );
    }
    if !plan.changes.is_empty() {
        out.push_str("Cairn will perform the following actions:\n\n");
        let extra = ExtraObjects::of(plan);
        for change in &plan.changes {
            render_change(&mut out, plan, &extra, change, &painter);
        }
    }
    super::rollout::render_rollouts(&mut out, plan, &painter);
    let _ = writeln!(
        out,
        "{}",
        painter.paint(&summary_line(plan), Style::new().bold())
    );
    out.push_str(&super::policy::render_policy(&plan.policy, &painter));
    out
}

/// The column of an attribute line's symbol inside a resource block.
const ATTRIBUTE_INDENT: usize = 6;

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
        let (symbol, opening) = match entry.what {
            DriftKind::Deleted => (Symbol::Delete, "{}\n"),
            DriftKind::Changed => (Symbol::Update, "{"),
        };
        let _ = writeln!(
            out,
            "  {} {} \"{}\" {opening}",
            symbol.painted(painter),
            entry.kind,
            entry.address
        );
        match entry.what {
            DriftKind::Deleted => {}
            DriftKind::Changed => {
                let width = entry.attributes.keys().map(String::len).max().unwrap_or(0);
                for (name, (recorded, live)) in &entry.attributes {
                    let line = AttributeLine {
                        name,
                        old: Some(recorded),
                        new: Some(live),
                        sensitive: entry.sensitive.contains(name),
                        note: None,
                        shape: shape_of(entry.kind, name),
                    };
                    attribute_line(out, painter, width, &line);
                }
                out.push_str("    }\n\n");
            }
        }
    }
}

/// How an attribute's value is read: sets compare without order, tags are a map.
fn shape_of(kind: Kind, name: &str) -> Shape {
    Shape {
        set: kind.is_set_attribute(name),
        map: name == "tags",
    }
}

/// The kept object (a blue-green rollout's old group) whose deadline passed, when `id` is one.
fn expired_kept<'a>(plan: &'a Plan, id: Option<&str>) -> Option<&'a crate::plan::Kept> {
    plan.kept
        .iter()
        .find(|kept| kept.expired && Some(kept.id.as_str()) == id)
}

/// The deletes of objects that are not the ones state records at their addresses (a
/// duplicate, or the old object of an interrupted create-before-destroy replacement), by
/// address and id: looked up per change, where searching the steps for each one made showing
/// the destroy of 30,000 resources take seconds (issue 14).
struct ExtraObjects<'p>(BTreeSet<(&'p Address, Option<&'p str>)>);

impl<'p> ExtraObjects<'p> {
    fn of(plan: &'p Plan) -> Self {
        ExtraObjects(
            plan.steps
                .iter()
                .filter(|step| step.operation == Operation::Delete && step.deposed)
                .map(|step| (&step.address, step.id.as_deref()))
                .collect(),
        )
    }

    fn contains(&self, address: &Address, id: Option<&str>) -> bool {
        self.0.contains(&(address, id))
    }
}

fn render_change(
    out: &mut String,
    plan: &Plan,
    extra: &ExtraObjects,
    change: &Change,
    painter: &Painter,
) {
    let before_id = change
        .before
        .as_ref()
        .and_then(|before| before.get("id"))
        .and_then(Value::as_str);
    let extra_object =
        change.action == ChangeAction::Delete && extra.contains(&change.address, before_id);
    // The old group of a blue-green rollout, deleted once its `keep_old` has passed.
    let expired = expired_kept(plan, before_id).filter(|_| change.action == ChangeAction::Delete);
    let (header, symbol) = match change.action {
        ChangeAction::Create => (
            "will be created".to_string(),
            Symbol::Create.painted(painter),
        ),
        ChangeAction::Update => (
            "will be updated in place".to_string(),
            Symbol::Update.painted(painter),
        ),
        ChangeAction::Replace if change.keeps_old => (
            "must be replaced (the new object is created; the old one is kept while in use)"
                .to_string(),
            Symbol::Create.painted(painter),
        ),
        ChangeAction::Replace if change.create_before_destroy => (
            "must be replaced (the new object is created first)".to_string(),
            format!(
                "{}/{}",
                Symbol::Create.painted(painter),
                Symbol::Delete.painted(painter)
            ),
        ),
        ChangeAction::Replace => (
            "must be replaced".to_string(),
            format!(
                "{}/{}",
                Symbol::Delete.painted(painter),
                Symbol::Create.painted(painter)
            ),
        ),
        ChangeAction::Delete if expired.is_some() => (
            expired.map_or_else(String::new, |kept| {
                format!(
                    "will destroy the old group `{}` of a blue-green rollout (kept until {}, `keep_old` has passed)",
                    kept.id,
                    kept.until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                )
            }),
            Symbol::Delete.painted(painter),
        ),
        ChangeAction::Delete if extra_object => (
            format!(
                "has an extra object `{}` that will be destroyed",
                before_id.unwrap_or("?")
            ),
            Symbol::Delete.painted(painter),
        ),
        ChangeAction::Delete => (
            "will be destroyed".to_string(),
            Symbol::Delete.painted(painter),
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
        let line = |old, new, note| AttributeLine {
            name,
            old,
            new,
            sensitive: change.sensitive.contains(name),
            note,
            shape: shape_of(change.kind, name),
        };
        match change.action {
            // As Terraform does: what a create leaves unset, or a delete had unset, is noise.
            ChangeAction::Create if is_absent(new) => {}
            ChangeAction::Delete if is_absent(old) => {}
            ChangeAction::Create => lines.push(line(None, new, None)),
            ChangeAction::Delete => lines.push(line(old, None, None)),
            ChangeAction::Update | ChangeAction::Replace => {
                if name != "id" && change.kind.same_value(name, old, new) {
                    hidden += 1;
                } else {
                    lines.push(line(old, new, note));
                }
            }
        }
    }
    let (old_tags, new_tags) = shown_tags(change);
    let tags_line = (old_tags != new_tags).then(|| AttributeLine {
        name: "tags",
        old: (change.action != ChangeAction::Create).then_some(&old_tags),
        new: (change.action != ChangeAction::Delete).then_some(&new_tags),
        sensitive: false,
        note: None,
        shape: Shape {
            set: false,
            map: true,
        },
    });
    let width = lines
        .iter()
        .chain(&tags_line)
        .map(|line| line.name.len())
        .max()
        .unwrap_or(0);
    for line in lines.iter().chain(&tags_line) {
        attribute_line(out, painter, width, line);
    }
    let writer = Writer { painter };
    if let Some(line) = writer.hidden(ATTRIBUTE_INDENT + 2, hidden, "attribute") {
        let _ = writeln!(out, "{line}");
    }
    out.push_str("    }\n\n");
}

/// The tags worth showing, before and after: every difference, but ownership tags only when
/// they are what changed (they are on every object and otherwise only noise); none for a kind
/// the cloud keeps no tags on.
fn shown_tags(change: &Change) -> (Value, Value) {
    if !change.kind.takes_tags() {
        return (
            Value::Object(Default::default()),
            Value::Object(Default::default()),
        );
    }
    let ownership = |key: &str| [TAG_STACK, TAG_ENV, TAG_ADDRESS].contains(&key);
    let as_value = |tags: &Tags, keep_ownership: bool| {
        Value::Object(
            tags.iter()
                .filter(|(key, _)| keep_ownership || !ownership(key))
                .map(|(key, value)| (key.clone(), Value::String(value.clone())))
                .collect(),
        )
    };
    let (before, after) = match change.action {
        ChangeAction::Create => (&Tags::new(), &change.after_tags),
        ChangeAction::Delete => (&change.before_tags, &Tags::new()),
        ChangeAction::Update | ChangeAction::Replace => (&change.before_tags, &change.after_tags),
    };
    let user = (as_value(before, false), as_value(after, false));
    let updated = matches!(change.action, ChangeAction::Update | ChangeAction::Replace);
    if updated && user.0 == user.1 && before != after {
        (as_value(before, true), as_value(after, true))
    } else {
        user
    }
}

/// One attribute of a change: `None` on a side means absent (created or deleted).
struct AttributeLine<'a> {
    name: &'a str,
    old: Option<&'a Value>,
    new: Option<&'a Value>,
    sensitive: bool,
    note: Option<&'static str>,
    shape: Shape,
}

/// One `  ~ name = old -> new` line (with the lines of a nested value under it), or a heredoc
/// diffed line by line for long text.
fn attribute_line(out: &mut String, painter: &Painter, width: usize, line: &AttributeLine<'_>) {
    let AttributeLine {
        name,
        old,
        new,
        sensitive,
        note,
        shape,
    } = *line;
    let symbol = match (is_absent(old), is_absent(new)) {
        (true, false) => Symbol::Create,
        (false, true) => Symbol::Delete,
        _ if old == new => Symbol::Unchanged,
        _ => Symbol::Update,
    };
    let note = note
        .map(|note| format!(" {}", painter.paint(note, Style::new().red())))
        .unwrap_or_default();
    let prefix = format!(
        "{}{} {name:width$} = ",
        " ".repeat(ATTRIBUTE_INDENT),
        symbol.painted(painter)
    );
    if !sensitive
        && (old.is_some_and(is_long_text) || new.is_some_and(is_long_text))
        && old.is_none_or(|value| value.is_string() || value.is_null())
        && new.is_none_or(|value| value.is_string() || value.is_null())
    {
        let old_text = old.and_then(Value::as_str).unwrap_or("");
        let new_text = new.and_then(Value::as_str).unwrap_or("");
        let _ = writeln!(out, "{prefix}<<-EOT{note}");
        text_diff(out, painter, old_text, new_text);
        out.push_str("        EOT\n");
        return;
    }
    let writer = Writer { painter };
    let value = match (old, new) {
        _ if sensitive => {
            let mask = |value: Option<&Value>| (!is_absent(value)).then_some(SENSITIVE);
            let text = match (mask(old), mask(new)) {
                (Some(old), Some(new)) => format!("{old} -> {new}"),
                (Some(old), None) => format!("{old} -> null"),
                (None, Some(new)) => new.to_string(),
                (None, None) => "null".to_string(),
            };
            vec![text]
        }
        (None, Some(new)) => writer.whole_shaped(new, Symbol::Create, ATTRIBUTE_INDENT, shape),
        (Some(old), None) => {
            let mut lines = writer.whole_shaped(old, Symbol::Delete, ATTRIBUTE_INDENT, shape);
            if let Some(last) = lines.last_mut() {
                last.push_str(" -> null");
            }
            lines
        }
        (Some(old), Some(new)) if old == new => {
            writer.whole_shaped(new, Symbol::Unchanged, ATTRIBUTE_INDENT, shape)
        }
        (Some(old), Some(new)) if new.is_null() => {
            let mut lines = writer.whole_shaped(old, Symbol::Delete, ATTRIBUTE_INDENT, shape);
            if let Some(last) = lines.last_mut() {
                last.push_str(" -> null");
            }
            lines
        }
        (Some(old), Some(new)) if old.is_null() => {
            writer.whole_shaped(new, Symbol::Create, ATTRIBUTE_INDENT, shape)
        }
        (Some(old), Some(new)) => writer.changed(old, new, ATTRIBUTE_INDENT, shape),
        (None, None) => vec![UNKNOWN.to_string()],
    };
    let mut value = value.into_iter();
    let first = value.next().unwrap_or_default();
    let _ = writeln!(out, "{prefix}{first}{note}");
    for rest in value {
        let _ = writeln!(out, "{rest}");
    }
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
                let _ = writeln!(out, "          {} {line}", symbol.painted(painter));
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
