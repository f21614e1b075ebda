//! Variable values: from `-var NAME=VALUE`, from `-var-file FILE`, or from the default, in
//! rising precedence as in Terraform; then converted to the declared type and checked by the
//! variable's `validation` blocks. Module variables go through the same checks with the values
//! the calling `module` block passes.

use super::diagnostics::{Diagnostic, Diagnostics, did_you_mean};
use super::eval;
use super::module::{Module, Variable};
use super::source::{Sources, Span};
use super::tree::parse_file;
use super::value::from_model;
use crate::model::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where a value came from, for messages.
#[derive(Debug, Clone)]
pub enum Origin {
    /// An expression in a file (a default, a var file, a module input).
    Span(Span),
    /// A command-line flag.
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
    vars: &[(String, String)],
    var_files: &[PathBuf],
) -> Result<BTreeMap<String, Value>, Diagnostics> {
    let mut diagnostics = Diagnostics::new();
    let mut given: BTreeMap<String, (Value, Origin)> = BTreeMap::new();
    let names: Vec<&str> = module.variables.keys().map(String::as_str).collect();

    for path in var_files {
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

    for (name, text) in vars {
        let flag = format!("-var {name}={text}");
        let Some(variable) = module.variables.get(name) else {
            let mut diagnostic =
                Diagnostic::error(format!("variable `{name}` given with -var is not declared"));
            if let Some(hint) = did_you_mean(name, names.iter().copied()) {
                diagnostic = diagnostic.hint(hint);
            }
            diagnostics.push(diagnostic);
            continue;
        };
        let value = if variable.type_constraint.is_primitive()
            || variable.type_constraint == super::types::TypeConstraint::Any
        {
            Value::String(text.clone())
        } else {
            match text.parse::<hcl::Expression>() {
                Ok(expression) => {
                    match hcl::eval::Evaluate::evaluate(&expression, &hcl::eval::Context::new()) {
                        Ok(value) => super::value::to_model(&value),
                        Err(error) => {
                            diagnostics.push(Diagnostic::error(format!(
                                "cannot evaluate `{flag}`: {}",
                                error.kind()
                            )));
                            continue;
                        }
                    }
                }
                Err(error) => {
                    diagnostics.push(
                        Diagnostic::error(format!("cannot parse the value of `{flag}`")).expected(
                            format!("an HCL value of type {}: {error}", variable.type_constraint),
                        ),
                    );
                    continue;
                }
            }
        };
        given.insert(name.clone(), (value, Origin::Flag(flag)));
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
                            "pass `-var {}=VALUE`, put it in a `-var-file`, or give the variable a default",
                            variable.name
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
