//! The HCL `cairn discover --write` writes, laid out as `cairn fmt` does: one attribute per
//! line with the `=` of a block's attributes aligned, nested blocks after them, two spaces of
//! indentation, and the comments that say what a block could not express above it.

use crate::model::Value;
use std::fmt::Write;

/// One block to write.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Block {
    /// `network "legacy"`, `ingress`.
    pub header: String,
    /// Comment lines written above the block, without their `# `.
    pub comments: Vec<String>,
    /// Attribute names with their values as HCL.
    pub attributes: Vec<(String, String)>,
    pub blocks: Vec<Block>,
}

impl Block {
    pub fn new(header: impl Into<String>) -> Block {
        Block {
            header: header.into(),
            ..Block::default()
        }
    }

    pub fn attribute(&mut self, name: &str, value: String) {
        self.attributes.push((name.to_string(), value));
    }

    /// Appends the block to `text`, indented by `depth` levels.
    pub fn write(&self, depth: usize, text: &mut String) {
        let indent = "  ".repeat(depth);
        for comment in &self.comments {
            let _ = writeln!(text, "{indent}# {comment}");
        }
        let _ = writeln!(text, "{indent}{} {{", self.header);
        let width = self
            .attributes
            .iter()
            .map(|(name, _)| name.len())
            .max()
            .unwrap_or(0);
        for (name, value) in &self.attributes {
            let _ = writeln!(text, "{indent}  {name:width$} = {value}");
        }
        for (position, block) in self.blocks.iter().enumerate() {
            if position > 0 || !self.attributes.is_empty() {
                text.push('\n');
            }
            block.write(depth + 1, text);
        }
        let _ = writeln!(text, "{indent}}}");
    }
}

/// `text` as an HCL string.
pub fn quoted(text: &str) -> String {
    // A JSON string is a valid HCL string once `${` and `%{` cannot start a template.
    serde_json::to_string(text)
        .unwrap_or_default()
        .replace("${", "$${")
        .replace("%{", "%%{")
}

/// A number, boolean or string as HCL.
pub fn value(value: &Value) -> String {
    match value {
        Value::String(text) => quoted(text),
        other => other.to_string(),
    }
}

/// `[a, b]` of values already written as HCL.
pub fn list(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}

/// `{ key = "value", ... }` of string entries, keys bare when they are identifiers.
pub fn string_map<'a>(entries: impl IntoIterator<Item = (&'a String, &'a String)>) -> String {
    let entries: Vec<String> = entries
        .into_iter()
        .map(|(key, value)| format!("{} = {}", object_key(key), quoted(value)))
        .collect();
    format!("{{ {} }}", entries.join(", "))
}

/// An object key: bare when it is an identifier, quoted otherwise.
fn object_key(key: &str) -> String {
    let bare = key.starts_with(|character: char| character.is_ascii_alphabetic())
        && key
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || character == '_');
    if bare { key.to_string() } else { quoted(key) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_align_their_attributes_and_nest_blocks_after_them() {
        let mut network = Block::new("network \"legacy\"");
        network.comments.push("a note".to_string());
        network.attribute("cidr", quoted("10.1.0.0/16"));
        network.attribute(
            "tags",
            string_map([(&"cairn-team".to_string(), &"a".to_string())]),
        );
        let mut subnet = Block::new("subnet \"public\"");
        subnet.attribute("newbits", "8".to_string());
        subnet.attribute("public", "true".to_string());
        network.blocks.push(subnet);
        let mut text = String::new();
        network.write(0, &mut text);
        assert_eq!(
            text,
            "# a note\nnetwork \"legacy\" {\n  cidr = \"10.1.0.0/16\"\n  tags = { \"cairn-team\" = \"a\" }\n\n  subnet \"public\" {\n    newbits = 8\n    public  = true\n  }\n}\n"
        );
    }

    #[test]
    fn templates_cannot_start_inside_a_quoted_string() {
        assert_eq!(quoted("${x} %{y}"), "\"$${x} %%{y}\"");
    }
}
