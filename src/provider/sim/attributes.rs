//! Typed access to the attribute maps of requests, with the refusals AWS gives for missing or
//! malformed parameters (`MissingParameter`, `InvalidParameterValue`).

use super::error::api;
use crate::model::{Attributes, Value};
use crate::provider::ProviderError;
use ipnet::Ipv4Net;

/// A required string attribute.
pub fn string<'a>(attributes: &'a Attributes, name: &str) -> Result<&'a str, ProviderError> {
    optional_string(attributes, name)?.ok_or_else(|| missing(name))
}

/// A string attribute that may be absent (or null).
pub fn optional_string<'a>(
    attributes: &'a Attributes,
    name: &str,
) -> Result<Option<&'a str>, ProviderError> {
    match attributes.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(other) => Err(invalid(name, other, "expected a string")),
    }
}

/// A required integer attribute.
pub fn integer(attributes: &Attributes, name: &str) -> Result<i64, ProviderError> {
    optional_integer(attributes, name)?.ok_or_else(|| missing(name))
}

/// An integer attribute that may be absent. Whole floats (`3.0`) count as integers because
/// HCL numbers arrive as JSON numbers of either shape.
pub fn optional_integer(attributes: &Attributes, name: &str) -> Result<Option<i64>, ProviderError> {
    match attributes.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => as_integer(value)
            .map(Some)
            .ok_or_else(|| invalid(name, value, "expected an integer")),
    }
}

/// A JSON number that is a whole number.
pub fn as_integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number.as_i64().or_else(|| {
            number
                .as_f64()
                .filter(|float| float.fract() == 0.0 && float.abs() < 9.0e15)
                .map(|float| float as i64)
        }),
        _ => None,
    }
}

/// A number attribute that may be absent.
pub fn optional_number(attributes: &Attributes, name: &str) -> Result<Option<f64>, ProviderError> {
    match attributes.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => Ok(number.as_f64()),
        Some(other) => Err(invalid(name, other, "expected a number")),
    }
}

/// A boolean attribute that may be absent.
pub fn optional_bool(attributes: &Attributes, name: &str) -> Result<Option<bool>, ProviderError> {
    match attributes.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(flag)) => Ok(Some(*flag)),
        Some(other) => Err(invalid(name, other, "expected true or false")),
    }
}

/// A list of strings that may be absent (absent is empty).
pub fn string_list(attributes: &Attributes, name: &str) -> Result<Vec<String>, ProviderError> {
    match attributes.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(text) => Ok(text.clone()),
                other => Err(invalid(name, other, "expected a list of strings")),
            })
            .collect(),
        Some(other) => Err(invalid(name, other, "expected a list of strings")),
    }
}

/// A list of objects that may be absent (absent is empty).
pub fn object_list(attributes: &Attributes, name: &str) -> Result<Vec<Attributes>, ProviderError> {
    match attributes.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::Object(map) => Ok(map.clone().into_iter().collect()),
                other => Err(invalid(name, other, "expected a list of objects")),
            })
            .collect(),
        Some(other) => Err(invalid(name, other, "expected a list of objects")),
    }
}

/// An IPv4 CIDR block in canonical form (`10.0.0.0/16`, not `10.0.0.1/16`).
pub fn cidr(text: &str, parameter: &str) -> Result<Ipv4Net, ProviderError> {
    let refuse = || {
        api(
            "InvalidParameterValue",
            format!(
                "Value ({text}) for parameter {parameter} is invalid. This is not a valid CIDR block."
            ),
        )
    };
    let network: Ipv4Net = text.parse().map_err(|_| refuse())?;
    if network.trunc() != network {
        return Err(refuse());
    }
    Ok(network)
}

/// `MissingParameter` for a required attribute.
pub fn missing(name: &str) -> ProviderError {
    api(
        "MissingParameter",
        format!("The request must contain the parameter {name}"),
    )
}

/// `InvalidParameterValue` for an attribute of the wrong shape.
pub fn invalid(name: &str, value: &Value, expected: &str) -> ProviderError {
    api(
        "InvalidParameterValue",
        format!("Value ({value}) for parameter {name} is invalid: {expected}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn code(error: ProviderError) -> String {
        match error {
            ProviderError::Api { code, .. } => code,
            other => panic!("not an API error: {other}"),
        }
    }

    #[test]
    fn cidrs_must_be_canonical_ipv4_blocks() {
        assert_eq!(
            cidr("10.0.0.0/16", "cidrBlock").map(|n| n.prefix_len()),
            Ok(16)
        );
        for bad in ["10.0.0.1/16", "10.0.0.0/33", "banana", "10.0.0.0"] {
            assert_eq!(
                cidr(bad, "cidrBlock").map_err(code),
                Err("InvalidParameterValue".to_string()),
                "{bad}"
            );
        }
    }

    #[test]
    fn integers_accept_whole_floats_and_refuse_strings() {
        let attributes = Attributes::from([
            ("a".to_string(), json!(3)),
            ("b".to_string(), json!(3.0)),
            ("c".to_string(), json!("3")),
        ]);
        assert_eq!(integer(&attributes, "a"), Ok(3));
        assert_eq!(integer(&attributes, "b"), Ok(3));
        assert_eq!(
            integer(&attributes, "c").map_err(code),
            Err("InvalidParameterValue".to_string())
        );
        assert_eq!(
            integer(&attributes, "d").map_err(code),
            Err("MissingParameter".to_string())
        );
    }
}
