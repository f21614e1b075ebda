//! Canonical formatting of HCL files (`cairn fmt`), in the style of `terraform fmt`: two
//! spaces per nesting level, `=` aligned in runs of consecutive one-line attributes, trailing
//! whitespace removed, runs of blank lines collapsed, comments and heredocs kept as written.
//!
//! It works line by line over text that already parses, tracking bracket nesting outside of
//! strings, comments and heredocs, so it never changes what a file means.

/// Formats `text`.
///
/// # Errors
///
/// The syntax error, when `text` is not valid HCL (a file that does not parse is left alone).
pub fn format_hcl(text: &str) -> Result<String, String> {
    hcl_edit::parser::parse_body(text).map_err(|error| error.to_string())?;
    let lines = classify(text);
    Ok(render(&lines))
}

#[derive(Debug)]
enum Line {
    Blank,
    /// Kept byte for byte (heredoc bodies and the line closing them).
    Raw(String),
    Code {
        indent: usize,
        text: String,
    },
    Attribute {
        indent: usize,
        key: String,
        rest: String,
        group: usize,
    },
}

/// Scanner state that carries over from one line to the next.
#[derive(Debug, Default)]
struct State {
    /// Open brackets: `{`, `[` or `(`.
    open: Vec<char>,
    in_block_comment: bool,
    heredoc: Option<String>,
}

fn classify(text: &str) -> Vec<Line> {
    let mut state = State::default();
    let mut lines = Vec::new();
    let mut group = 0;
    let mut previous_attribute_single = false;
    for raw in text.lines() {
        let raw = raw.trim_end_matches('\r');
        if let Some(marker) = &state.heredoc {
            if raw.trim() == marker {
                state.heredoc = None;
            }
            lines.push(Line::Raw(raw.trim_end().to_string()));
            previous_attribute_single = false;
            continue;
        }
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            if !matches!(lines.last(), Some(Line::Blank) | None) {
                lines.push(Line::Blank);
            }
            previous_attribute_single = false;
            continue;
        }
        let starts_in_comment = state.in_block_comment;
        let leading_closers = trimmed
            .chars()
            .take_while(|character| matches!(character, '}' | ']' | ')'))
            .count();
        let depth_before = state.open.len();
        let in_body = state.open.last().is_none_or(|open| *open == '{');
        scan(trimmed, &mut state);
        let indent = depth_before.saturating_sub(leading_closers.min(depth_before));
        let single_line = state.open.len() <= depth_before;
        if !starts_in_comment
            && in_body
            && let Some((key, rest)) = split_attribute(trimmed)
        {
            {
                if !previous_attribute_single {
                    group += 1;
                }
                if let Some(Line::Attribute { indent: last, .. }) = lines.last()
                    && *last != indent
                {
                    group += 1;
                }
                lines.push(Line::Attribute {
                    indent,
                    key,
                    rest,
                    group,
                });
                previous_attribute_single = single_line;
                continue;
            }
        }
        previous_attribute_single = false;
        lines.push(Line::Code {
            indent: if starts_in_comment { 0 } else { indent },
            text: if starts_in_comment {
                raw.trim_end().to_string()
            } else {
                trimmed.to_string()
            },
        });
    }
    while matches!(lines.last(), Some(Line::Blank)) {
        lines.pop();
    }
    lines
}

/// `key = rest` at the start of a line (not `==`).
fn split_attribute(line: &str) -> Option<(String, String)> {
    let key_end = line
        .char_indices()
        .find(|(_, character)| {
            !(character.is_alphanumeric() || *character == '_' || *character == '-')
        })
        .map_or(line.len(), |(index, _)| index);
    if key_end == 0 || line.starts_with(|character: char| character.is_ascii_digit()) {
        return None;
    }
    let after = line[key_end..].trim_start();
    let rest = after.strip_prefix('=')?;
    if rest.starts_with('=') {
        return None;
    }
    Some((line[..key_end].to_string(), rest.trim().to_string()))
}

/// Updates bracket nesting with one line, skipping strings (with `${ }` interpolations),
/// comments, and noting where a heredoc starts.
fn scan(line: &str, state: &mut State) {
    let characters: Vec<char> = line.chars().collect();
    let mut index = 0;
    // Each entry is an open string; the number is the brace depth of the interpolation
    // we are in inside it (0 = in the string text itself).
    let mut strings: Vec<usize> = Vec::new();
    while index < characters.len() {
        let character = characters[index];
        let next = characters.get(index + 1).copied();
        if state.in_block_comment {
            if character == '*' && next == Some('/') {
                state.in_block_comment = false;
                index += 1;
            }
            index += 1;
            continue;
        }
        if let Some(depth) = strings.last_mut() {
            if *depth == 0 {
                match character {
                    '\\' => index += 1,
                    '"' => {
                        strings.pop();
                    }
                    '$' | '%' if next == Some('{') => {
                        *depth = 1;
                        index += 1;
                    }
                    _ => {}
                }
                index += 1;
                continue;
            }
            match character {
                '{' => *depth += 1,
                '}' => *depth -= 1,
                '"' => strings.push(0),
                _ => {}
            }
            index += 1;
            continue;
        }
        match character {
            '"' => strings.push(0),
            '#' => break,
            '/' if next == Some('/') => break,
            '/' if next == Some('*') => {
                state.in_block_comment = true;
                index += 1;
            }
            '<' if next == Some('<') => {
                let rest: String = characters[index + 2..].iter().collect();
                let marker: String = rest
                    .trim_start_matches('-')
                    .chars()
                    .take_while(|character| character.is_alphanumeric() || *character == '_')
                    .collect();
                if !marker.is_empty() {
                    state.heredoc = Some(marker);
                    return;
                }
            }
            '{' | '[' | '(' => state.open.push(character),
            '}' | ']' | ')' => {
                state.open.pop();
            }
            _ => {}
        }
        index += 1;
    }
}

fn render(lines: &[Line]) -> String {
    let mut widths: std::collections::BTreeMap<usize, usize> = std::collections::BTreeMap::new();
    for line in lines {
        if let Line::Attribute { key, group, .. } = line {
            let width = widths.entry(*group).or_default();
            *width = (*width).max(key.chars().count());
        }
    }
    let mut out = String::new();
    for line in lines {
        match line {
            Line::Blank => out.push('\n'),
            Line::Raw(text) => {
                out.push_str(text);
                out.push('\n');
            }
            Line::Code { indent, text } => {
                out.push_str(&"  ".repeat(*indent));
                out.push_str(text);
                out.push('\n');
            }
            Line::Attribute {
                indent,
                key,
                rest,
                group,
            } => {
                let width = widths.get(group).copied().unwrap_or(0);
                out.push_str(&"  ".repeat(*indent));
                out.push_str(key);
                out.push_str(&" ".repeat(width - key.chars().count()));
                out.push_str(" = ");
                out.push_str(rest);
                out.push('\n');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indents_and_aligns_like_terraform() {
        let input = "network \"main\" {\n    cidr = \"10.0.0.0/16\"   \n  # the public side\n subnet \"public\" {\nnewbits = 8\n      public= true\n  }\n\n\n\n  tags = { a = \"x\" }\n}\n\n";
        let expected = "network \"main\" {\n  cidr = \"10.0.0.0/16\"\n  # the public side\n  subnet \"public\" {\n    newbits = 8\n    public  = true\n  }\n\n  tags = { a = \"x\" }\n}\n";
        assert_eq!(format_hcl(input), Ok(expected.to_string()));
    }

    #[test]
    fn multi_line_values_and_heredocs_keep_their_content() {
        let input = "locals {\nzones = [\n\"a\",\n  \"b\",\n]\nscript = <<EOF\n  keep   this\nEOF\nx = \"${format(\"{%s\", 1)}\" # note {\n}\n";
        let expected = "locals {\n  zones = [\n    \"a\",\n    \"b\",\n  ]\n  script = <<EOF\n  keep   this\nEOF\n  x = \"${format(\"{%s\", 1)}\" # note {\n}\n";
        assert_eq!(format_hcl(input), Ok(expected.to_string()));
    }

    #[test]
    fn formatting_is_idempotent() {
        let input = "a {\n  b = 1\n  ccc = [\n    1,\n  ]\n  dd = 2\n}\n";
        let Ok(once) = format_hcl(input) else {
            panic!("input parses");
        };
        assert_eq!(format_hcl(&once), Ok(once.clone()));
    }

    #[test]
    fn refuses_invalid_hcl() {
        assert!(format_hcl("a {\n").is_err());
    }
}
