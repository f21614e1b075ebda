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
    // Declaring the functions builds two dozen definitions; most attributes of a large stack
    // are literals and references that call none, so they skip it (issue 14).
    if may_call_function(&attr.expr) {
        functions::declare(&mut context);
    }
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

/// Whether evaluating `expr` may call a function. Shapes that cannot hold a call answer no;
/// anything else (a call, a template, whose interpolations are parsed when evaluated, a `for`
/// expression, a kind hcl-rs adds later) answers yes.
fn may_call_function(expr: &hcl::Expression) -> bool {
    use hcl::Expression;
    use hcl::expr::{ObjectKey, Operation, TraversalOperator};
    match expr {
        Expression::Null
        | Expression::Bool(_)
        | Expression::Number(_)
        | Expression::String(_)
        | Expression::Variable(_) => false,
        Expression::Array(items) => items.iter().any(may_call_function),
        Expression::Object(object) => object.iter().any(|(key, value)| {
            let key_calls = match key {
                ObjectKey::Identifier(_) => false,
                ObjectKey::Expression(key) => may_call_function(key),
                _ => true,
            };
            key_calls || may_call_function(value)
        }),
        Expression::Traversal(traversal) => {
            may_call_function(&traversal.expr)
                || traversal.operators.iter().any(|operator| match operator {
                    TraversalOperator::Index(index) => may_call_function(index),
                    _ => false,
                })
        }
        Expression::Parenthesis(inner) => may_call_function(inner),
        Expression::Conditional(conditional) => {
            may_call_function(&conditional.cond_expr)
                || may_call_function(&conditional.true_expr)
                || may_call_function(&conditional.false_expr)
        }
        Expression::Operation(operation) => match operation.as_ref() {
            Operation::Unary(unary) => may_call_function(&unary.expr),
            Operation::Binary(binary) => {
                may_call_function(&binary.lhs_expr) || may_call_function(&binary.rhs_expr)
            }
        },
        _ => true,
    }
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

#[cfg(test)]
mod tests {
    use super::may_call_function;

    fn calls(text: &str) -> bool {
        let expr: hcl::Expression = text.parse().expect("a test expression parses");
        may_call_function(&expr)
    }

    #[test]
    fn literals_and_references_call_no_function() {
        for text in [
            "null",
            "true",
            "42",
            "\"plain\"",
            "var.image",
            "[firewall.web, \"10.0.0.0/16\"]",
            "{ tier = \"data\", size = 10 }",
            "region.zones[0]",
            "env.vars.capacity > 2 ? 3 : 1",
            "(-var.count)",
        ] {
            assert!(!calls(text), "{text}");
        }
    }

    #[test]
    fn a_call_anywhere_in_the_expression_is_found() {
        for text in [
            "upper(\"a\")",
            "[1, upper(\"a\")]",
            "{ name = lower(var.name) }",
            "{ (lower(\"k\")) = 1 }",
            "region.zones[length(region.zones) - 1]",
            "length(var.list)[0]",
            "var.on ? upper(\"a\") : \"b\"",
            "1 + length(var.list)",
            "(upper(\"a\"))",
            "\"${upper(var.name)}-web\"",
            "[for zone in region.zones : zone]",
        ] {
            assert!(calls(text), "{text}");
        }
    }
}
