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
    functions::with_base_dir(base_dir, || attr.expr.evaluate(&context)).map_err(|error| {
        Diagnostic::at(
            sources,
            attr.value_span,
            format!("cannot evaluate `{}`: {}", attr.name, error.kind()),
        )
    })
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
