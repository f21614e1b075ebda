//! Reading the contract attributes (see [`crate::model::Kind`]) out of a request, with errors
//! that name the attribute, and writing numbers back the way the contract expects.

use crate::model::{Attributes, Value};
use crate::provider::ProviderError;
use serde_json::Map;

fn invalid(name: &str, expected: &str, found: Option<&Value>) -> ProviderError {
    let found = match found {
        None | Some(Value::Null) => "nothing".to_string(),
        Some(value) => format!("`{value}`"),
    };
    ProviderError::Api {
        code: "InvalidAttribute".to_string(),
        message: format!("attribute `{name}` must be {expected}, found {found}"),
    }
}

fn present<'a>(attributes: &'a Attributes, name: &str) -> Option<&'a Value> {
    attributes.get(name).filter(|value| !value.is_null())
}

/// A required string.
///
/// # Errors
/// `InvalidAttribute` when it is missing or not a string.
pub(crate) fn string(attributes: &Attributes, name: &str) -> Result<String, ProviderError> {
    optional_string(attributes, name)?.ok_or_else(|| invalid(name, "a string", None))
}

/// A string that may be absent or null.
///
/// # Errors
/// `InvalidAttribute` when it is present but not a string.
pub(crate) fn optional_string(
    attributes: &Attributes,
    name: &str,
) -> Result<Option<String>, ProviderError> {
    match present(attributes, name) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(other) => Err(invalid(name, "a string", Some(other))),
    }
}

/// A whole number given as an integer (or a float without fraction).
fn as_integer(value: &Value) -> Option<i64> {
    value.as_i64().or_else(|| {
        value
            .as_f64()
            .filter(|number| number.fract() == 0.0)
            .map(|number| number as i64)
    })
}

/// A required whole number.
///
/// # Errors
/// `InvalidAttribute` when it is missing or not a whole number.
pub(crate) fn integer(attributes: &Attributes, name: &str) -> Result<i64, ProviderError> {
    optional_integer(attributes, name)?.ok_or_else(|| invalid(name, "a whole number", None))
}

/// A whole number that may be absent.
///
/// # Errors
/// `InvalidAttribute` when it is present but not a whole number.
pub(crate) fn optional_integer(
    attributes: &Attributes,
    name: &str,
) -> Result<Option<i64>, ProviderError> {
    match present(attributes, name) {
        None => Ok(None),
        Some(value) => as_integer(value)
            .map(Some)
            .ok_or_else(|| invalid(name, "a whole number", Some(value))),
    }
}

/// A whole number that fits an AWS `Integer` field.
///
/// # Errors
/// `InvalidAttribute` when it is missing, not a whole number, or out of range.
pub(crate) fn integer32(attributes: &Attributes, name: &str) -> Result<i32, ProviderError> {
    let number = integer(attributes, name)?;
    i32::try_from(number).map_err(|_| invalid(name, "a 32-bit number", attributes.get(name)))
}

/// A number (for percentages such as `target_cpu`).
///
/// # Errors
/// `InvalidAttribute` when it is missing or not a number.
pub(crate) fn number(attributes: &Attributes, name: &str) -> Result<f64, ProviderError> {
    present(attributes, name)
        .and_then(Value::as_f64)
        .ok_or_else(|| invalid(name, "a number", attributes.get(name)))
}

/// A boolean; absent means `false`.
///
/// # Errors
/// `InvalidAttribute` when it is present but not a boolean.
pub(crate) fn flag(attributes: &Attributes, name: &str) -> Result<bool, ProviderError> {
    match present(attributes, name) {
        None => Ok(false),
        Some(Value::Bool(value)) => Ok(*value),
        Some(other) => Err(invalid(name, "true or false", Some(other))),
    }
}

/// A list of strings; absent means empty.
///
/// # Errors
/// `InvalidAttribute` when it is present but not a list of strings.
pub(crate) fn strings(attributes: &Attributes, name: &str) -> Result<Vec<String>, ProviderError> {
    match present(attributes, name) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| invalid(name, "a list of strings", Some(item)))
            })
            .collect(),
        Some(other) => Err(invalid(name, "a list of strings", Some(other))),
    }
}

/// A list of objects (rules, routes, volumes); absent means empty. Each object is returned
/// as [`Attributes`] so the same accessors read its fields.
///
/// # Errors
/// `InvalidAttribute` when it is present but not a list of objects.
pub(crate) fn objects(
    attributes: &Attributes,
    name: &str,
) -> Result<Vec<Attributes>, ProviderError> {
    match present(attributes, name) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::Object(fields) => Ok(fields
                    .iter()
                    .map(|(key, value)| (key.clone(), value.clone()))
                    .collect()),
                other => Err(invalid(name, "a list of objects", Some(other))),
            })
            .collect(),
        Some(other) => Err(invalid(name, "a list of objects", Some(other))),
    }
}

/// An object attribute (a health check, an alias), as [`Attributes`] so that the same
/// accessors read its fields.
///
/// # Errors
/// `InvalidAttribute` when it is missing or not an object.
pub(crate) fn fields(attributes: &Attributes, name: &str) -> Result<Attributes, ProviderError> {
    match present(attributes, name) {
        Some(Value::Object(fields)) => Ok(fields
            .iter()
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect()),
        other => Err(invalid(name, "an object", other)),
    }
}

/// An object value built from attributes (for list items in a read).
pub(crate) fn object(fields: Attributes) -> Value {
    Value::Object(fields.into_iter().collect::<Map<String, Value>>())
}

/// A number as the contract writes it: whole numbers as integers, so that a `70` the config
/// asked for reads back as `70`, not `70.0`.
pub(crate) fn number_value(number: f64) -> Value {
    if number.fract() == 0.0 && number.abs() < 9.0e15 {
        Value::from(number as i64)
    } else {
        Value::from(number)
    }
}

/// Sorted, deduplicated strings as a list value: ids in a set (subnets, security groups)
/// have no order in AWS, so reads return them sorted.
pub(crate) fn string_set(items: impl IntoIterator<Item = String>) -> Value {
    let set: std::collections::BTreeSet<String> = items.into_iter().collect();
    Value::from(set.into_iter().collect::<Vec<_>>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attributes(value: Value) -> Attributes {
        serde_json::from_value(value).unwrap_or_default()
    }

    #[test]
    fn missing_and_mistyped_attributes_are_named() {
        let given = attributes(json!({"cidr": 10}));
        let error = string(&given, "cidr").unwrap_err();
        assert_eq!(
            error,
            ProviderError::Api {
                code: "InvalidAttribute".to_string(),
                message: "attribute `cidr` must be a string, found `10`".to_string(),
            }
        );
        let error = integer(&given, "min").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("`min` must be a whole number, found nothing")
        );
    }

    #[test]
    fn whole_floats_count_as_integers_and_read_back_as_integers() {
        let given = attributes(json!({"size_gb": 20.0, "target_cpu": 70}));
        assert_eq!(integer(&given, "size_gb"), Ok(20));
        assert_eq!(number_value(70.0), json!(70));
        assert_eq!(number_value(62.5), json!(62.5));
    }

    #[test]
    fn sets_read_back_sorted() {
        assert_eq!(
            string_set(["subnet-b".to_string(), "subnet-a".to_string()]),
            json!(["subnet-a", "subnet-b"])
        );
    }
}
