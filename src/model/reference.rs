//! References to attributes that only the cloud knows (ids, names it assigns) until a
//! resource exists.
//!
//! A reference is written into a desired value as a string `\u{1}ADDRESS#ATTRIBUTE\u{2}`. The
//! markers are control characters no HCL source contains, so references survive string
//! interpolation and function calls during evaluation (`format("%s-x", firewall.web.id)`)
//! and are found again afterwards. [`resolve`] replaces them with known values; whatever is
//! still a reference after resolution is "(known after apply)".

use super::{Address, Value};

const OPEN: char = '\u{1}';
const CLOSE: char = '\u{2}';
const SEPARATOR: char = '#';

/// One reference found in a value: the resource and which of its attributes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Reference {
    pub address: Address,
    pub attribute: String,
}

/// The reference string standing for `attribute` of the resource at `address`.
pub fn reference(address: &Address, attribute: &str) -> String {
    format!("{OPEN}{address}{SEPARATOR}{attribute}{CLOSE}")
}

/// Every reference inside `value`, in order of appearance (duplicates kept once).
pub fn references_in(value: &Value) -> Vec<Reference> {
    let mut found = Vec::new();
    collect(value, &mut found);
    found
}

fn collect(value: &Value, found: &mut Vec<Reference>) {
    match value {
        Value::String(text) => {
            for reference in parse_string(text) {
                if !found.contains(&reference) {
                    found.push(reference);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect(item, found)),
        Value::Object(map) => map.values().for_each(|item| collect(item, found)),
        _ => {}
    }
}

fn parse_string(text: &str) -> Vec<Reference> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        let after = &rest[start + OPEN.len_utf8()..];
        let Some(end) = after.find(CLOSE) else { break };
        if let Some((address, attribute)) = after[..end].rsplit_once(SEPARATOR) {
            found.push(Reference {
                address: Address::new(address),
                attribute: attribute.to_string(),
            });
        }
        rest = &after[end + CLOSE.len_utf8()..];
    }
    found
}

/// Whether `value` holds any reference at all.
pub fn contains_reference(value: &Value) -> bool {
    !references_in(value).is_empty()
}

/// Whether `value` is fully known (holds no reference).
pub fn is_known(value: &Value) -> bool {
    !contains_reference(value)
}

/// Replaces every reference in `value` that `lookup` can answer. A string that is exactly one
/// reference becomes the looked-up value itself (which may be a number or a list); a
/// reference inside a longer string is replaced by the value's text. References `lookup`
/// cannot answer are left in place.
pub fn resolve(value: &Value, lookup: &dyn Fn(&Reference) -> Option<Value>) -> Value {
    match value {
        Value::String(text) if text.contains(OPEN) => resolve_string(text, lookup),
        Value::Array(items) => {
            Value::Array(items.iter().map(|item| resolve(item, lookup)).collect())
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, item)| (key.clone(), resolve(item, lookup)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn resolve_string(text: &str, lookup: &dyn Fn(&Reference) -> Option<Value>) -> Value {
    let references = parse_string(text);
    if let [only] = references.as_slice()
        && text == reference(&only.address, &only.attribute)
    {
        return lookup(only).unwrap_or_else(|| Value::String(text.to_string()));
    }
    let mut out = text.to_string();
    for found in references {
        if let Some(known) = lookup(&found) {
            let replacement = match known {
                Value::String(text) => text,
                other => other.to_string(),
            };
            out = out.replace(&reference(&found.address, &found.attribute), &replacement);
        }
    }
    Value::String(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_and_resolves_whole_and_embedded_references() {
        let network = Address::new("network.main[us-east-1]");
        let whole = Value::String(reference(&network, "id"));
        let embedded = Value::String(format!("{}-sg", reference(&network, "id")));
        let value = json!({ "a": whole, "b": [embedded] });

        let found = references_in(&value);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].address, network);
        assert_eq!(found[0].attribute, "id");

        let resolved = resolve(&value, &|_| Some(json!("vpc-123")));
        assert_eq!(resolved, json!({ "a": "vpc-123", "b": ["vpc-123-sg"] }));
        assert!(is_known(&resolved));

        let unresolved = resolve(&value, &|_| None);
        assert_eq!(unresolved, value);
        assert!(!is_known(&unresolved));
    }

    #[test]
    fn whole_reference_keeps_the_type_of_the_value() {
        let group = Address::new("autoscaling.web[us-east-1]");
        let value = Value::String(reference(&group, "desired"));
        assert_eq!(resolve(&value, &|_| Some(json!(3))), json!(3));
    }
}
