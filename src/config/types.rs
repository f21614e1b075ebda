//! Variable type constraints (`string`, `number`, `bool`, `list(T)`, `set(T)`, `map(T)`,
//! `object({...})`, `any`) and the conversions Terraform users expect: `--var count=3` is a
//! string on the command line but a number to a `number` variable.

use crate::model::Value;
use std::collections::BTreeMap;
use std::fmt;

/// A variable's declared type.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TypeConstraint {
    #[default]
    Any,
    String,
    Number,
    Bool,
    List(Box<TypeConstraint>),
    Set(Box<TypeConstraint>),
    Map(Box<TypeConstraint>),
    Object(BTreeMap<String, TypeConstraint>),
}

impl fmt::Display for TypeConstraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypeConstraint::Any => f.write_str("any"),
            TypeConstraint::String => f.write_str("string"),
            TypeConstraint::Number => f.write_str("number"),
            TypeConstraint::Bool => f.write_str("bool"),
            TypeConstraint::List(inner) => write!(f, "list({inner})"),
            TypeConstraint::Set(inner) => write!(f, "set({inner})"),
            TypeConstraint::Map(inner) => write!(f, "map({inner})"),
            TypeConstraint::Object(fields) => {
                let parts: Vec<String> = fields
                    .iter()
                    .map(|(name, field)| format!("{name} = {field}"))
                    .collect();
                write!(f, "object({{ {} }})", parts.join(", "))
            }
        }
    }
}

impl TypeConstraint {
    /// Reads a type expression such as `list(string)`.
    ///
    /// # Errors
    ///
    /// A message saying which types exist, when the expression is not one of them.
    pub fn parse(expression: &hcl::Expression) -> Result<TypeConstraint, String> {
        const EXPECTED: &str = "`string`, `number`, `bool`, `any`, `list(T)`, `set(T)`, `map(T)` or `object({ name = T })`";
        match expression {
            hcl::Expression::Variable(name) => match name.as_str() {
                "string" => Ok(TypeConstraint::String),
                "number" => Ok(TypeConstraint::Number),
                "bool" => Ok(TypeConstraint::Bool),
                "any" => Ok(TypeConstraint::Any),
                "list" | "set" | "map" => Ok(TypeConstraint::List(Box::new(TypeConstraint::Any))),
                other => Err(format!("unknown type `{other}`; types are {EXPECTED}")),
            },
            hcl::Expression::FuncCall(call) => {
                let name = call.name.name.as_str();
                let argument = match call.args.as_slice() {
                    [argument] => argument,
                    _ => return Err(format!("`{name}(...)` takes exactly one type")),
                };
                match name {
                    "list" => Ok(TypeConstraint::List(Box::new(Self::parse(argument)?))),
                    "set" => Ok(TypeConstraint::Set(Box::new(Self::parse(argument)?))),
                    "map" => Ok(TypeConstraint::Map(Box::new(Self::parse(argument)?))),
                    "object" => match argument {
                        hcl::Expression::Object(fields) => {
                            let mut parsed = BTreeMap::new();
                            for (key, field) in fields {
                                let key = match key {
                                    hcl::ObjectKey::Identifier(identifier) => {
                                        identifier.as_str().to_string()
                                    }
                                    hcl::ObjectKey::Expression(hcl::Expression::String(text)) => {
                                        text.clone()
                                    }
                                    _ => return Err("object field names must be names".to_string()),
                                };
                                parsed.insert(key, Self::parse(field)?);
                            }
                            Ok(TypeConstraint::Object(parsed))
                        }
                        _ => Err("`object(...)` takes `{ name = type, ... }`".to_string()),
                    },
                    other => Err(format!("unknown type `{other}(...)`; types are {EXPECTED}")),
                }
            }
            _ => Err(format!("expected a type: {EXPECTED}")),
        }
    }

    /// Converts `value` to this type, the way Terraform does for variables: strings that hold
    /// numbers or bools convert, and numbers and bools convert to strings.
    ///
    /// # Errors
    ///
    /// What was found instead of this type.
    pub fn convert(&self, value: &Value) -> Result<Value, String> {
        if value.is_null() {
            return Ok(Value::Null);
        }
        let mismatch = || {
            format!(
                "expected {self}, found {} {}",
                super::value::type_name(value),
                super::value::short(value)
            )
        };
        match self {
            TypeConstraint::Any => Ok(value.clone()),
            TypeConstraint::String => match value {
                Value::String(_) => Ok(value.clone()),
                Value::Number(number) => Ok(Value::String(number.to_string())),
                Value::Bool(flag) => Ok(Value::String(flag.to_string())),
                _ => Err(mismatch()),
            },
            TypeConstraint::Number => match value {
                Value::Number(_) => Ok(value.clone()),
                Value::String(text) => {
                    if let Ok(integer) = text.trim().parse::<i64>() {
                        Ok(Value::from(integer))
                    } else {
                        text.trim()
                            .parse::<f64>()
                            .ok()
                            .and_then(serde_json::Number::from_f64)
                            .map(Value::Number)
                            .ok_or_else(mismatch)
                    }
                }
                _ => Err(mismatch()),
            },
            TypeConstraint::Bool => match value {
                Value::Bool(_) => Ok(value.clone()),
                Value::String(text) if text == "true" => Ok(Value::Bool(true)),
                Value::String(text) if text == "false" => Ok(Value::Bool(false)),
                _ => Err(mismatch()),
            },
            TypeConstraint::List(inner) | TypeConstraint::Set(inner) => match value {
                Value::Array(items) => {
                    let mut converted = Vec::with_capacity(items.len());
                    for item in items {
                        let item = inner.convert(item)?;
                        if matches!(self, TypeConstraint::Set(_)) && converted.contains(&item) {
                            continue;
                        }
                        converted.push(item);
                    }
                    Ok(Value::Array(converted))
                }
                _ => Err(mismatch()),
            },
            TypeConstraint::Map(inner) => match value {
                Value::Object(map) => map
                    .iter()
                    .map(|(key, item)| Ok((key.clone(), inner.convert(item)?)))
                    .collect::<Result<serde_json::Map<_, _>, String>>()
                    .map(Value::Object),
                _ => Err(mismatch()),
            },
            TypeConstraint::Object(fields) => match value {
                Value::Object(map) => {
                    let mut converted = serde_json::Map::new();
                    for (name, field) in fields {
                        let item = map.get(name).cloned().unwrap_or(Value::Null);
                        converted.insert(
                            name.clone(),
                            field
                                .convert(&item)
                                .map_err(|error| format!("field `{name}`: {error}"))?,
                        );
                    }
                    Ok(Value::Object(converted))
                }
                _ => Err(mismatch()),
            },
        }
    }

    /// Whether a command-line string should be taken literally (a string or number or bool)
    /// rather than parsed as an HCL expression (lists, maps, objects).
    pub fn is_primitive(&self) -> bool {
        matches!(
            self,
            TypeConstraint::String | TypeConstraint::Number | TypeConstraint::Bool
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(text: &str) -> Result<TypeConstraint, String> {
        let expression: hcl::Expression = text.parse().map_err(|e| format!("{e}"))?;
        TypeConstraint::parse(&expression)
    }

    #[test]
    fn parses_nested_types() {
        assert_eq!(
            parse("list(string)").map(|t| t.to_string()),
            Ok("list(string)".into())
        );
        assert_eq!(
            parse("object({ a = number, b = map(bool) })").map(|t| t.to_string()),
            Ok("object({ a = number, b = map(bool) })".into())
        );
        assert!(parse("strin").is_err());
    }

    #[test]
    fn converts_like_terraform() {
        assert_eq!(TypeConstraint::Number.convert(&json!("3")), Ok(json!(3)));
        assert_eq!(TypeConstraint::String.convert(&json!(3)), Ok(json!("3")));
        assert_eq!(
            TypeConstraint::Bool.convert(&json!("true")),
            Ok(json!(true))
        );
        assert_eq!(
            TypeConstraint::Set(Box::new(TypeConstraint::String)).convert(&json!(["a", "a"])),
            Ok(json!(["a"]))
        );
        assert_eq!(
            TypeConstraint::Number.convert(&json!("two")),
            Err("expected number, found string \"two\"".into())
        );
    }
}
