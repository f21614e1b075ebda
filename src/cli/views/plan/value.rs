//! How attribute values are shown in a plan: HCL-like, one attribute a line, nested objects
//! and lists as indented blocks, and in a change only what changed, with a count of the rest.
//!
//! A shown value is a list of lines: the first continues the line that names the value
//! (`name = {`), the others are whole lines indented under it. `indent` is always the column
//! of the symbol (`+`, `-`, `~`) of the line that names the value; nested entries put their
//! symbol four columns further in and the closing bracket two columns in, as Terraform does.

use super::super::{Painter, SENSITIVE};
use crate::model::{Value, is_known};
use owo_colors::Style;
use similar::{Algorithm, DiffOp, capture_diff_slices};
use std::collections::BTreeSet;

/// Shown instead of a value the cloud assigns during apply.
pub(super) const UNKNOWN: &str = "(known after apply)";

/// A list of scalars shown on one line when it fits in this many characters.
const INLINE_LIST_WIDTH: usize = 60;

/// The mark in front of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Symbol {
    Create,
    Update,
    Delete,
    Unchanged,
}

impl Symbol {
    pub(super) fn painted(self, painter: &Painter) -> String {
        let (text, style) = match self {
            Symbol::Create => ("+", Style::new().green()),
            Symbol::Update => ("~", Style::new().yellow()),
            Symbol::Delete => ("-", Style::new().red()),
            Symbol::Unchanged => (" ", Style::new()),
        };
        painter.paint(text, style)
    }
}

/// How the entries of one attribute's value are read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Shape {
    /// A list whose order carries no meaning (rules, id lists): elements are compared as a
    /// set, so a list that only changed order shows no change.
    pub set: bool,
    /// An object whose keys are data (tags), written quoted as HCL map keys are.
    pub map: bool,
}

/// A value as JSON output shows it.
pub(super) fn json_value(value: &Value, sensitive: bool) -> Value {
    if sensitive {
        Value::String(SENSITIVE.to_string())
    } else if !is_known(value) {
        Value::String(UNKNOWN.to_string())
    } else {
        value.clone()
    }
}

/// Whether a string is shown as a heredoc diffed line by line.
pub(super) fn is_long_text(value: &Value) -> bool {
    matches!(value, Value::String(text) if is_known(value) && (text.contains('\n') || text.len() > 80))
}

/// Whether a value counts as absent: `null` is what clouds and configurations leave unset.
pub(super) fn is_absent(value: Option<&Value>) -> bool {
    value.is_none_or(Value::is_null)
}

/// Lines of one value being shown, with the painter for their symbols.
#[derive(Clone, Copy)]
pub(super) struct Writer<'a> {
    pub painter: &'a Painter,
}

impl Writer<'_> {
    /// `value` shown whole, every nested line marked `symbol`; `null` entries of objects are
    /// left out (nothing is set there).
    pub(super) fn whole(&self, value: &Value, symbol: Symbol, indent: usize) -> Vec<String> {
        self.whole_shaped(value, symbol, indent, Shape::default())
    }

    pub(super) fn whole_shaped(
        &self,
        value: &Value,
        symbol: Symbol,
        indent: usize,
        shape: Shape,
    ) -> Vec<String> {
        match value {
            Value::Object(map) => {
                let entries: Vec<(String, &Value)> = map
                    .iter()
                    .filter(|(_, value)| !value.is_null())
                    .map(|(key, value)| (key_text(key, shape.map), value))
                    .collect();
                if entries.is_empty() {
                    return vec!["{}".to_string()];
                }
                let width = entries.iter().map(|(key, _)| key.len()).max().unwrap_or(0);
                let mut lines = vec!["{".to_string()];
                for (key, value) in entries {
                    let inner = self.whole(value, symbol, indent + 4);
                    lines.extend(self.entry(indent + 4, symbol, &key, width, inner, ""));
                }
                lines.push(format!("{}}}", spaces(indent + 2)));
                lines
            }
            Value::Array(items) => {
                if let Some(inline) = inline_list(items) {
                    return vec![inline];
                }
                let mut lines = vec!["[".to_string()];
                for item in items {
                    lines.extend(self.element(
                        indent + 4,
                        symbol,
                        self.whole(item, symbol, indent + 4),
                    ));
                }
                lines.push(format!("{}]", spaces(indent + 2)));
                lines
            }
            scalar => vec![literal(scalar)],
        }
    }

    /// What changed from `old` to `new` (which differ): in nested objects and lists only the
    /// entries that changed, with a count of those that did not.
    pub(super) fn changed(
        &self,
        old: &Value,
        new: &Value,
        indent: usize,
        shape: Shape,
    ) -> Vec<String> {
        match (old, new) {
            (_, new) if is_unknown_scalar(new) => {
                let mut lines = self.whole_shaped(old, Symbol::Delete, indent, shape);
                append(&mut lines, &format!(" -> {UNKNOWN}"));
                lines
            }
            (Value::Object(old), Value::Object(new)) => {
                self.changed_object(old, new, indent, shape)
            }
            (Value::Array(old), Value::Array(new)) if shape.set => {
                self.changed_set(old, new, indent)
            }
            (Value::Array(old), Value::Array(new)) => self.changed_list(old, new, indent),
            (old, new) => {
                let mut lines = self.whole_shaped(old, Symbol::Delete, indent, shape);
                let mut after = self
                    .whole_shaped(new, Symbol::Create, indent, shape)
                    .into_iter();
                append(
                    &mut lines,
                    &format!(" -> {}", after.next().unwrap_or_default()),
                );
                lines.extend(after);
                lines
            }
        }
    }

    fn changed_object(
        &self,
        old: &serde_json::Map<String, Value>,
        new: &serde_json::Map<String, Value>,
        indent: usize,
        shape: Shape,
    ) -> Vec<String> {
        let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
        let mut hidden = 0;
        let mut entries: Vec<(Symbol, String, Vec<String>, &'static str)> = Vec::new();
        for key in keys {
            let (before, after) = (old.get(key), new.get(key));
            let text = key_text(key, shape.map);
            match (is_absent(before), is_absent(after), before, after) {
                (_, _, before, after) if before == after => hidden += 1,
                (true, true, ..) => hidden += 1,
                (true, false, _, Some(after)) => {
                    entries.push((
                        Symbol::Create,
                        text,
                        self.whole(after, Symbol::Create, indent + 4),
                        "",
                    ));
                }
                (false, true, Some(before), _) => {
                    entries.push((
                        Symbol::Delete,
                        text,
                        self.whole(before, Symbol::Delete, indent + 4),
                        " -> null",
                    ));
                }
                (_, _, Some(before), Some(after)) => {
                    entries.push((
                        Symbol::Update,
                        text,
                        self.changed(before, after, indent + 4, Shape::default()),
                        "",
                    ));
                }
                _ => hidden += 1,
            }
        }
        let width = entries
            .iter()
            .map(|(_, key, ..)| key.len())
            .max()
            .unwrap_or(0);
        let mut lines = vec!["{".to_string()];
        for (symbol, key, inner, suffix) in entries {
            lines.extend(self.entry(indent + 4, symbol, &key, width, inner, suffix));
        }
        lines.extend(self.hidden(indent + 6, hidden, "attribute"));
        lines.push(format!("{}}}", spaces(indent + 2)));
        lines
    }

    /// Elements compared as a set: those only in `old` are removed, those only in `new` added;
    /// order makes no difference.
    fn changed_set(&self, old: &[Value], new: &[Value], indent: usize) -> Vec<String> {
        let mut unmatched: Vec<Option<&Value>> = new.iter().map(Some).collect();
        let mut removed = Vec::new();
        let mut kept = 0;
        for item in old {
            match unmatched
                .iter_mut()
                .find(|candidate| **candidate == Some(item))
            {
                Some(slot) => {
                    *slot = None;
                    kept += 1;
                }
                None => removed.push(item),
            }
        }
        let mut lines = vec!["[".to_string()];
        for item in removed {
            lines.extend(self.element(
                indent + 4,
                Symbol::Delete,
                self.whole(item, Symbol::Delete, indent + 4),
            ));
        }
        for item in unmatched.into_iter().flatten() {
            lines.extend(self.element(
                indent + 4,
                Symbol::Create,
                self.whole(item, Symbol::Create, indent + 4),
            ));
        }
        lines.extend(self.hidden(indent + 6, kept, "element"));
        lines.push(format!("{}]", spaces(indent + 2)));
        lines
    }

    /// Elements compared in order: unchanged runs hidden, objects changed in place shown
    /// with what changed in them, other elements removed and added.
    fn changed_list(&self, old: &[Value], new: &[Value], indent: usize) -> Vec<String> {
        let old_keys: Vec<String> = old.iter().map(Value::to_string).collect();
        let new_keys: Vec<String> = new.iter().map(Value::to_string).collect();
        let mut lines = vec!["[".to_string()];
        let mut hidden = 0;
        let removed = |lines: &mut Vec<String>, items: &[Value]| {
            for item in items {
                lines.extend(self.element(
                    indent + 4,
                    Symbol::Delete,
                    self.whole(item, Symbol::Delete, indent + 4),
                ));
            }
        };
        let added = |lines: &mut Vec<String>, items: &[Value]| {
            for item in items {
                lines.extend(self.element(
                    indent + 4,
                    Symbol::Create,
                    self.whole(item, Symbol::Create, indent + 4),
                ));
            }
        };
        for operation in capture_diff_slices(Algorithm::Myers, &old_keys, &new_keys) {
            match operation {
                DiffOp::Equal { len, .. } => hidden += len,
                DiffOp::Delete {
                    old_index, old_len, ..
                } => {
                    removed(&mut lines, &old[old_index..old_index + old_len]);
                }
                DiffOp::Insert {
                    new_index, new_len, ..
                } => {
                    added(&mut lines, &new[new_index..new_index + new_len]);
                }
                DiffOp::Replace {
                    old_index,
                    old_len,
                    new_index,
                    new_len,
                } => {
                    let before = &old[old_index..old_index + old_len];
                    let after = &new[new_index..new_index + new_len];
                    let in_place =
                        old_len == new_len && before.iter().chain(after).all(Value::is_object);
                    if in_place {
                        for (before, after) in before.iter().zip(after) {
                            let inner = self.changed(before, after, indent + 4, Shape::default());
                            lines.extend(self.element(indent + 4, Symbol::Update, inner));
                        }
                    } else {
                        removed(&mut lines, before);
                        added(&mut lines, after);
                    }
                }
            }
        }
        lines.extend(self.hidden(indent + 6, hidden, "element"));
        lines.push(format!("{}]", spaces(indent + 2)));
        lines
    }

    /// `symbol key = value` at `indent`, the value's lines under it, `suffix` after its last.
    fn entry(
        &self,
        indent: usize,
        symbol: Symbol,
        key: &str,
        width: usize,
        value: Vec<String>,
        suffix: &str,
    ) -> Vec<String> {
        let mut value = value.into_iter();
        let first = value.next().unwrap_or_default();
        let mut lines = vec![format!(
            "{}{} {key:width$} = {first}",
            spaces(indent),
            symbol.painted(self.painter)
        )];
        lines.extend(value);
        append(&mut lines, suffix);
        lines
    }

    /// `symbol value,` at `indent`: one element of a list.
    fn element(&self, indent: usize, symbol: Symbol, value: Vec<String>) -> Vec<String> {
        let mut value = value.into_iter();
        let first = value.next().unwrap_or_default();
        let mut lines = vec![format!(
            "{}{} {first}",
            spaces(indent),
            symbol.painted(self.painter)
        )];
        lines.extend(value);
        append(&mut lines, ",");
        lines
    }

    /// `# (N unchanged attributes hidden)` at `indent`, when N is not zero.
    pub(super) fn hidden(&self, indent: usize, count: usize, word: &str) -> Option<String> {
        (count > 0).then(|| {
            let noun = super::super::counted(count, &format!("unchanged {word}"));
            format!(
                "{}{}",
                spaces(indent),
                self.painter
                    .paint(&format!("# ({noun} hidden)"), Style::new().dimmed())
            )
        })
    }
}

/// A scalar in HCL syntax: strings quoted (JSON escapes are HCL's too), values only the
/// cloud can tell as `(known after apply)`.
fn literal(value: &Value) -> String {
    if is_known(value) {
        value.to_string()
    } else {
        UNKNOWN.to_string()
    }
}

/// A short list of known scalars on one line, as HCL writes it: `["a", "b"]`.
fn inline_list(items: &[Value]) -> Option<String> {
    if items.iter().any(|item| item.is_object() || item.is_array()) {
        return None;
    }
    let text = format!(
        "[{}]",
        items.iter().map(literal).collect::<Vec<_>>().join(", ")
    );
    (items.is_empty() || text.len() <= INLINE_LIST_WIDTH).then_some(text)
}

/// A string holding a reference the plan cannot resolve yet (lists and objects holding one
/// are shown with their structure, the unknown part marked where it is).
fn is_unknown_scalar(value: &Value) -> bool {
    value.is_string() && !is_known(value)
}

/// An object key as HCL writes it: bare when it is an identifier and the object is not a
/// map of data.
fn key_text(key: &str, map: bool) -> String {
    let identifier = key
        .chars()
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && key
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || matches!(character, '_' | '-'));
    if identifier && !map {
        key.to_string()
    } else {
        Value::String(key.to_string()).to_string()
    }
}

fn spaces(count: usize) -> String {
    " ".repeat(count)
}

fn append(lines: &mut [String], suffix: &str) {
    if let Some(last) = lines.last_mut() {
        last.push_str(suffix);
    }
}
