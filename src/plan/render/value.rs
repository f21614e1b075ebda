//! How one attribute value is shown: masked when sensitive, a placeholder when unknown.

use crate::model::{Value, is_known};

/// Shown in text instead of a sensitive value.
pub(super) const SENSITIVE_TEXT: &str = "(sensitive value)";
/// Shown in JSON instead of a sensitive value.
pub(super) const SENSITIVE_JSON: &str = "(sensitive)";
/// Shown instead of a value the cloud assigns during apply.
pub(super) const UNKNOWN: &str = "(known after apply)";

/// A value as JSON output shows it.
pub(super) fn json_value(value: &Value, sensitive: bool) -> Value {
    if sensitive {
        Value::String(SENSITIVE_JSON.to_string())
    } else if !is_known(value) {
        Value::String(UNKNOWN.to_string())
    } else {
        value.clone()
    }
}

/// A value on one line of text output.
pub(super) fn inline(value: &Value, sensitive: bool) -> String {
    if sensitive {
        SENSITIVE_TEXT.to_string()
    } else if !is_known(value) {
        UNKNOWN.to_string()
    } else {
        // JSON text of a plain value is also how HCL writes it (strings quoted, lists in
        // brackets), which is what readers of a plan expect.
        value.to_string()
    }
}

/// Whether a string is shown as a heredoc diffed line by line.
pub(super) fn is_long_text(value: &Value) -> bool {
    matches!(value, Value::String(text) if is_known(value) && (text.contains('\n') || text.len() > 80))
}
