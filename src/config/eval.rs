//! Evaluating one attribute: build a small hcl-rs context holding only what the expression
//! refers to, evaluate, and turn failures into diagnostics at the attribute.
//!
//! Contexts are built per expression from its static traversals rather than holding every
//! block of a stack, so evaluating a stack of N blocks stays linear in N.

use super::diagnostics::Diagnostic;
use super::functions;
use super::source::Sources;
use super::tree::Attr;
use super::value::{short, to_model, type_name};
use crate::model::{Tags, Value};
use hcl::eval::{Context, Evaluate};
use std::path::Path;

/// Names and values an expression may read, as hcl-rs values.
pub type Bindings = Vec<(String, hcl::Value)>;

/// Evaluates `attr` with `bindings` declared as variables and `file()` reading from `base_dir`.
///
/// # Errors
///
/// A diagnostic at the attribute's value naming what went wrong.
pub fn evaluate(
    sources: &Sources,
    attr: &Attr,
    bindings: Bindings,
    base_dir: &Path,
) -> Result<Value, Diagnostic> {
    evaluate_hcl(sources, attr, bindings, base_dir).map(|value| to_model(&value))
}

/// Like [`evaluate`] but keeps the hcl-rs value (for values that are declared again).
///
/// # Errors
///
/// A diagnostic at the attribute's value naming what went wrong.
pub fn evaluate_hcl(
    sources: &Sources,
    attr: &Attr,
    bindings: Bindings,
    base_dir: &Path,
) -> Result<hcl::Value, Diagnostic> {
    let mut context = Context::new();
    functions::declare(&mut context);
    for (name, value) in bindings {
        context.declare_var(name, value);
    }
    let value =
        functions::with_base_dir(base_dir, || attr.expr.evaluate(&context)).map_err(|error| {
            Diagnostic::at(
                sources,
                attr.value_span,
                format!("cannot evaluate `{}`: {}", attr.name, error.kind()),
            )
        })?;
    check_size(&value).map_err(|limit| {
        Diagnostic::at(
            sources,
            attr.value_span,
            format!("the value of `{}` is too large: {limit}", attr.name),
        )
        .hint("a value built by doubling (`[local.a, local.a]`, `\"${local.s}${local.s}\"`) grows exponentially")
    })?;
    Ok(value)
}

/// Most values (list items, object entries and scalars) one evaluated value may hold.
pub const VALUE_ITEMS_LIMIT: usize = 1_000_000;
/// Most bytes of text one evaluated value may hold.
pub const VALUE_BYTES_LIMIT: usize = 64 * 1024 * 1024;
/// Deepest nesting of lists and objects one evaluated value may have.
pub const VALUE_DEPTH_LIMIT: usize = 128;

/// Checks that a value stays within the limits above. Every value an expression reads passed
/// this check, so a chain of locals that doubles its value each step (`l1 = [l0, l0]`, ...)
/// stops at the limit instead of exhausting memory, and a chain that nests one level per step
/// (`l1 = [l0]`) stops before the recursive code that handles values (conversion, drop)
/// could overflow the stack. Iterative, so checking a deep value is safe itself.
///
/// # Errors
///
/// Which limit the value breaks.
pub fn check_size(value: &hcl::Value) -> Result<(), String> {
    let mut items = 0_usize;
    let mut bytes = 0_usize;
    let mut pending = vec![(value, 1_usize)];
    while let Some((value, depth)) = pending.pop() {
        items += 1;
        if items > VALUE_ITEMS_LIMIT {
            return Err(format!("more than {VALUE_ITEMS_LIMIT} items"));
        }
        if depth > VALUE_DEPTH_LIMIT {
            return Err(format!("nested more than {VALUE_DEPTH_LIMIT} levels deep"));
        }
        match value {
            hcl::Value::String(text) => bytes += text.len(),
            hcl::Value::Array(list) => pending.extend(list.iter().map(|item| (item, depth + 1))),
            hcl::Value::Object(map) => {
                for (key, item) in map {
                    bytes += key.len();
                    pending.push((item, depth + 1));
                }
            }
            _ => {}
        }
        if bytes > VALUE_BYTES_LIMIT {
            return Err(format!(
                "more than {} MiB of text",
                VALUE_BYTES_LIMIT / 1024 / 1024
            ));
        }
    }
    Ok(())
}

/// A wrong-type diagnostic: `attribute` holds `value` where `expected` was needed.
pub fn wrong_type(sources: &Sources, attr: &Attr, value: &Value, expected: &str) -> Diagnostic {
    Diagnostic::at(
        sources,
        attr.value_span,
        format!("wrong type for `{}`", attr.name),
    )
    .expected(format!(
        "{expected}, found {} {}",
        type_name(value),
        short(value)
    ))
}

/// The value as a string.
///
/// # Errors
///
/// A wrong-type diagnostic.
pub fn as_string(sources: &Sources, attr: &Attr, value: &Value) -> Result<String, Diagnostic> {
    match value {
        Value::String(text) => Ok(text.clone()),
        _ => Err(wrong_type(sources, attr, value, "a string")),
    }
}

/// The value as a bool.
///
/// # Errors
///
/// A wrong-type diagnostic.
pub fn as_bool(sources: &Sources, attr: &Attr, value: &Value) -> Result<bool, Diagnostic> {
    value
        .as_bool()
        .ok_or_else(|| wrong_type(sources, attr, value, "`true` or `false`"))
}

/// The value as a whole number of at least zero.
///
/// # Errors
///
/// A wrong-type diagnostic.
pub fn as_count(sources: &Sources, attr: &Attr, value: &Value) -> Result<u64, Diagnostic> {
    value
        .as_u64()
        .ok_or_else(|| wrong_type(sources, attr, value, "a whole number (0 or more)"))
}

/// The value as a list of strings.
///
/// # Errors
///
/// A wrong-type diagnostic.
pub fn as_string_list(
    sources: &Sources,
    attr: &Attr,
    value: &Value,
) -> Result<Vec<String>, Diagnostic> {
    let items = value
        .as_array()
        .ok_or_else(|| wrong_type(sources, attr, value, "a list of strings"))?;
    items
        .iter()
        .map(|item| {
            item.as_str()
                .map(str::to_string)
                .ok_or_else(|| wrong_type(sources, attr, value, "a list of strings"))
        })
        .collect()
}

/// The value as tags: an object of strings (numbers and bools are written as text).
///
/// # Errors
///
/// A wrong-type diagnostic.
pub fn as_tags(sources: &Sources, attr: &Attr, value: &Value) -> Result<Tags, Diagnostic> {
    let object = value
        .as_object()
        .ok_or_else(|| wrong_type(sources, attr, value, "an object of strings"))?;
    object
        .iter()
        .map(|(key, item)| match item {
            Value::String(text) => Ok((key.clone(), text.clone())),
            Value::Number(_) | Value::Bool(_) => Ok((key.clone(), item.to_string())),
            _ => Err(wrong_type(sources, attr, value, "an object of strings")),
        })
        .collect()
}
