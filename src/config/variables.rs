//! Variable values: the default, then `CAIRN_VAR_<NAME>` from the environment, then
//! `--var-file FILE`, then `--var NAME=VALUE`, in rising precedence as in Terraform (where the
//! environment's prefix is `TF_VAR_`); then converted to the declared type and checked by the
//! variable's `validation` blocks. Module variables go through the same checks with the values
//! the calling `module` block passes.
//!
//! As with `TF_VAR_`, an environment variable naming no declared variable is not an error:
//! one shell serves many stacks. A flag or a variable file naming one is.

use super::diagnostics::{Diagnostic, Diagnostics, did_you_mean};
use super::eval;
use super::module::{Module, Variable};
use super::source::{Sources, Span};
use super::tree::parse_file;
use super::value::from_model;
use super::{LoadOptions, types::TypeConstraint};
use crate::model::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// The prefix of environment variables that set a variable: `CAIRN_VAR_image=ami-1` sets
/// `var.image`, as `TF_VAR_image` does in Terraform.
pub const ENV_PREFIX: &str = "CAIRN_VAR_";

/// Where a value came from, for messages.
#[derive(Debug, Clone)]
pub enum Origin {
    /// An expression in a file (a default, a var file, a module input).
    Span(Span),
    /// A command-line flag or an environment variable, as the user wrote it (a sensitive
    /// variable's value left out).
    Flag(String),
}

/// Converts `value` to the variable's type and runs its validations.
///
/// # Errors
///
/// A type mismatch or a failed validation, pointing at where the value came from.
pub fn check_value(
    sources: &Sources,
    dir: &Path,
    variable: &Variable,
    value: &Value,
    origin: &Origin,
) -> Result<Value, Diagnostic> {
    let at = |message: String| match origin {
        Origin::Span(span) => Diagnostic::at(sources, *span, message),
        Origin::Flag(flag) => {
            Diagnostic::error(message).note(format!("the value came from `{flag}`"))
        }
    };
    let converted = variable.type_constraint.convert(value).map_err(|message| {
        at(format!("wrong type for variable `{}`", variable.name)).expected(message)
    })?;
    for validation in &variable.validations {
        let bindings = vec![(
            "var".to_string(),
            hcl::Value::Object(hcl::Map::from_iter([(
                variable.name.clone(),
                from_model(&converted),
            )])),
        )];
        let passed = eval::evaluate(sources, &validation.condition, bindings.clone(), dir)?;
        let Some(passed) = passed.as_bool() else {
            return Err(eval::wrong_type(
                sources,
                &validation.condition,
                &passed,
                "`true` or `false`",
            ));
        };
        if !passed {
            let message = eval::evaluate(sources, &validation.error_message, bindings, dir)?;
            let message = match message {
                Value::String(text) => text,
                other => other.to_string(),
            };
            let shown = if variable.sensitive {
                "(sensitive value)".to_string()
            } else {
                super::value::short(&converted)
            };
            return Err(Diagnostic::at(
                sources,
                validation.condition.value_span,
                format!("invalid value for variable `{}`: {message}", variable.name),
            )
            .note(format!("the value was {shown}"))
            .note(match origin {
                Origin::Span(span) => format!("the value came from {}", sources.location(*span)),
                Origin::Flag(flag) => format!("the value came from `{flag}`"),
            }));
        }
    }
    Ok(converted)
}

/// The values of the root module's variables.
///
/// # Errors
///
/// Unreadable var files, unknown names, missing required values, wrong types and failed
/// validations, all of them.
pub fn resolve_root(
    sources: &mut Sources,
    module: &Module,
    options: &LoadOptions,
) -> Result<BTreeMap<String, Value>, Diagnostics> {
    let mut diagnostics = Diagnostics::new();
    let mut given: BTreeMap<String, (Value, Origin)> = BTreeMap::new();
    let names: Vec<&str> = module.variables.keys().map(String::as_str).collect();

    // Each source below overrides the ones before it.
    for (name, text) in &options.env_vars {
        let Some(variable) = module.variables.get(name) else {
            continue;
        };
        let origin = format!("{ENV_PREFIX}{name}");
        match value_of_text(variable, text, &origin) {
            Ok(value) => {
                given.insert(name.clone(), (value, Origin::Flag(origin)));
            }
            Err(diagnostic) => diagnostics.push(diagnostic),
        }
    }

    for path in &options.var_files {
        let text = match fs_err::read_to_string(path) {
            Ok(text) => text,
            Err(error) => {
                diagnostics.push(Diagnostic::error(format!(
                    "cannot read variable file: {error}"
                )));
                continue;
            }
        };
        let file = sources.add(path.display().to_string(), text);
        let body = match parse_file(sources, file) {
            Ok(body) => body,
            Err(found) => {
                diagnostics.extend(found);
                continue;
            }
        };
        for block in &body.blocks {
            diagnostics.push(
                Diagnostic::at(
                    sources,
                    block.ident_span,
                    "a variable file holds only `NAME = VALUE` attributes",
                )
                .expected("no blocks"),
            );
        }
        for attr in body.attributes.values() {
            if !module.variables.contains_key(&attr.name) {
                let mut diagnostic = Diagnostic::at(
                    sources,
                    attr.key_span,
                    format!("variable `{}` is not declared", attr.name),
                );
                if let Some(hint) = did_you_mean(&attr.name, names.iter().copied()) {
                    diagnostic = diagnostic.hint(hint);
                }
                diagnostics.push(diagnostic);
                continue;
            }
            match eval::evaluate(
                sources,
                attr,
                Vec::new(),
                path.parent().unwrap_or(Path::new(".")),
            ) {
                Ok(value) => {
                    given.insert(attr.name.clone(), (value, Origin::Span(attr.value_span)));
                }
                Err(diagnostic) => diagnostics.push(diagnostic),
            }
        }
    }

    for (name, text) in &options.vars {
        let Some(variable) = module.variables.get(name) else {
            let mut diagnostic = Diagnostic::error(format!(
                "variable `{name}` given with --var is not declared"
            ));
            if let Some(hint) = did_you_mean(name, names.iter().copied()) {
                diagnostic = diagnostic.hint(hint);
            }
            diagnostics.push(diagnostic);
            continue;
        };
        let shown = if variable.sensitive {
            "(sensitive value)"
        } else {
            text.as_str()
        };
        let flag = format!("--var {name}={shown}");
        match value_of_text(variable, text, &flag) {
            Ok(value) => {
                given.insert(name.clone(), (value, Origin::Flag(flag)));
            }
            Err(diagnostic) => diagnostics.push(diagnostic),
        }
    }

    let mut values = BTreeMap::new();
    for variable in module.variables.values() {
        let (value, origin) = match given.remove(&variable.name) {
            Some(found) => found,
            None => match &variable.default {
                Some(default) => match eval::evaluate(sources, default, Vec::new(), &module.dir) {
                    Ok(value) => (value, Origin::Span(default.value_span)),
                    Err(diagnostic) => {
                        diagnostics.push(diagnostic.hint("a default must be a literal value"));
                        continue;
                    }
                },
                None => {
                    diagnostics.push(
                        Diagnostic::at(
                            sources,
                            variable.span,
                            format!("no value for required variable `{}`", variable.name),
                        )
                        .hint(format!(
                            "pass `--var {name}=VALUE`, set `{ENV_PREFIX}{name}`, put it in a `--var-file`, or give the variable a default",
                            name = variable.name
                        )),
                    );
                    continue;
                }
            },
        };
        match check_value(sources, &module.dir, variable, &value, &origin) {
            Ok(value) => {
                values.insert(variable.name.clone(), value);
            }
            Err(diagnostic) => diagnostics.push(diagnostic),
        }
    }
    diagnostics.into_result(values)
}

/// The value a flag or an environment variable gives `variable`: the text itself for a
/// primitive type (converted later with the others), an HCL value for a list, map or object.
/// `origin` names where the text came from in messages.
fn value_of_text(variable: &Variable, text: &str, origin: &str) -> Result<Value, Diagnostic> {
    if variable.type_constraint.is_primitive() || variable.type_constraint == TypeConstraint::Any {
        return Ok(Value::String(text.to_string()));
    }
    let expression = text.parse::<hcl::Expression>().map_err(|error| {
        Diagnostic::error(format!("cannot parse the value of `{origin}`")).expected(format!(
            "an HCL value of type {}: {error}",
            variable.type_constraint
        ))
    })?;
    hcl::eval::Evaluate::evaluate(&expression, &hcl::eval::Context::new())
        .map(|value| super::value::to_model(&value))
        .map_err(|error| Diagnostic::error(format!("cannot evaluate `{origin}`: {}", error.kind())))
}
