//! Conversions between hcl-rs values (what evaluation produces) and the JSON-shaped
//! [`crate::model::Value`] the rest of the engine works with.

use crate::model::Value;

/// An evaluated HCL value as a model value. Object keys come out sorted (serde_json's map is
/// ordered by key), which keeps every later stage deterministic.
pub fn to_model(value: &hcl::Value) -> Value {
    match value {
        hcl::Value::Null => Value::Null,
        hcl::Value::Bool(flag) => Value::Bool(*flag),
        hcl::Value::Number(number) => number_to_model(number),
        hcl::Value::String(text) => Value::String(text.clone()),
        hcl::Value::Array(items) => Value::Array(items.iter().map(to_model).collect()),
        hcl::Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, item)| (key.clone(), to_model(item)))
                .collect(),
        ),
    }
}

fn number_to_model(number: &hcl::Number) -> Value {
    if let Some(integer) = number.as_i64() {
        return Value::from(integer);
    }
    if let Some(integer) = number.as_u64() {
        return Value::from(integer);
    }
    match number.as_f64() {
        // Arithmetic in HCL yields floats; whole numbers are shown and compared as integers.
        Some(float) if float.fract() == 0.0 && float.abs() < 9.0e15 => Value::from(float as i64),
        Some(float) => serde_json::Number::from_f64(float).map_or(Value::Null, Value::Number),
        None => Value::Null,
    }
}

/// A model value as an hcl-rs value, for declaring it in an evaluation context.
pub fn from_model(value: &Value) -> hcl::Value {
    match value {
        Value::Null => hcl::Value::Null,
        Value::Bool(flag) => hcl::Value::Bool(*flag),
        Value::Number(number) => {
            if let Some(integer) = number.as_i64() {
                hcl::Value::from(integer)
            } else if let Some(integer) = number.as_u64() {
                hcl::Value::from(integer)
            } else {
                number
                    .as_f64()
                    .and_then(hcl::Number::from_f64)
                    .map_or(hcl::Value::Null, hcl::Value::Number)
            }
        }
        Value::String(text) => hcl::Value::String(text.clone()),
        Value::Array(items) => hcl::Value::Array(items.iter().map(from_model).collect()),
        Value::Object(map) => hcl::Value::Object(
            map.iter()
                .map(|(key, item)| (key.clone(), from_model(item)))
                .collect(),
        ),
    }
}

/// The type of a value in the words messages use.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

/// A short rendering of a value for messages: strings keep their quotes, long values are cut.
pub fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 60 {
        let cut: String = text.chars().take(57).collect();
        format!("{cut}...")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_round_trip() {
        let value = json!({ "b": [1, 2.5, "x", null, true], "a": { "c": -3 } });
        assert_eq!(to_model(&from_model(&value)), value);
    }

    #[test]
    fn whole_floats_become_integers() {
        let value = hcl::Value::Number(hcl::Number::from_f64(4.0).unwrap_or_else(|| 0.into()));
        assert_eq!(to_model(&value), json!(4));
    }
}
