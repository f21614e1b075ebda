//! Finding the real cause of a syntax error.
//!
//! hcl-edit stops where the text stops making sense, which is often lines after the mistake:
//! an unterminated string swallows the rest of its line and the next ones, and an unclosed
//! `{` is noticed only at the end of the file. When parsing fails, [`find_cause`] scans the
//! text once, tracking strings, interpolations, heredocs, comments and brackets, and names
//! the string or bracket that was left open, at the place it was opened.
//!
//! Promise: the scan only refines a failed parse; it never makes a file that parses fail.

/// What was left open, and where (a byte offset into the file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// A quoted string that reaches the end of its line without a closing `"`.
    UnterminatedString { start: usize, end: usize },
    /// A heredoc (`<<EOT`) whose closing marker never comes.
    UnterminatedHeredoc { start: usize, marker: String },
    /// A `/*` comment that is never closed.
    UnterminatedComment { start: usize },
    /// An opening bracket that is never closed, or closed by the wrong bracket at `found`.
    Unclosed {
        start: usize,
        opener: char,
        found: Option<(usize, char)>,
    },
}

impl Cause {
    /// Where the cause starts.
    pub fn start(&self) -> usize {
        match self {
            Cause::UnterminatedString { start, .. }
            | Cause::UnterminatedHeredoc { start, .. }
            | Cause::UnterminatedComment { start }
            | Cause::Unclosed { start, .. } => *start,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Frame {
    /// `(`, `[` or `{` in code.
    Bracket(char, usize),
    /// A quoted string.
    String(usize),
    /// `${` or `%{` inside a string: code until the matching `}`.
    Interpolation(usize),
}

/// The first string, heredoc, comment or bracket left open in `text`, if the scan finds one.
pub fn find_cause(text: &str) -> Option<Cause> {
    let bytes = text.as_bytes();
    let mut stack: Vec<Frame> = Vec::new();
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        let next = bytes.get(index + 1).copied();
        if let Some(Frame::String(start)) = stack.last().copied() {
            match byte {
                b'\\' => index += 2,
                b'"' => {
                    stack.pop();
                    index += 1;
                }
                b'\n' | b'\r' => {
                    return Some(Cause::UnterminatedString { start, end: index });
                }
                b'$' | b'%' if next == Some(byte) && bytes.get(index + 2) == Some(&b'{') => {
                    // `$${` and `%%{` are escapes for a literal `${` and `%{`.
                    index += 3;
                }
                b'$' | b'%' if next == Some(b'{') => {
                    stack.push(Frame::Interpolation(index));
                    index += 2;
                }
                _ => index += 1,
            }
            continue;
        }
        match byte {
            b'#' => index = line_end(bytes, index),
            b'/' if next == Some(b'/') => index = line_end(bytes, index),
            b'/' if next == Some(b'*') => match find(bytes, index + 2, b"*/") {
                Some(end) => index = end + 2,
                None => return Some(Cause::UnterminatedComment { start: index }),
            },
            b'"' => {
                stack.push(Frame::String(index));
                index += 1;
            }
            b'<' if next == Some(b'<') => match heredoc(bytes, index) {
                Heredoc::NotOne => index += 2,
                Heredoc::Ends(end) => index = end,
                Heredoc::Unterminated(marker) => {
                    return Some(Cause::UnterminatedHeredoc {
                        start: index,
                        marker,
                    });
                }
            },
            b'(' | b'[' | b'{' => {
                stack.push(Frame::Bracket(byte as char, index));
                index += 1;
            }
            b')' | b']' | b'}' => {
                let closer = byte as char;
                match stack.pop() {
                    Some(Frame::Interpolation(_)) if closer == '}' => {}
                    Some(Frame::Bracket(opener, _)) if matching(opener) == closer => {}
                    Some(Frame::Bracket(opener, start)) => {
                        return Some(Cause::Unclosed {
                            start,
                            opener,
                            found: Some((index, closer)),
                        });
                    }
                    // A stray closer or a `)` ending an interpolation: the parser's own
                    // message says it best.
                    _ => return None,
                }
                index += 1;
            }
            _ => index += 1,
        }
    }
    match stack.last().copied() {
        Some(Frame::String(start)) => Some(Cause::UnterminatedString {
            start,
            end: bytes.len(),
        }),
        Some(Frame::Bracket(opener, start)) => Some(Cause::Unclosed {
            start,
            opener,
            found: None,
        }),
        Some(Frame::Interpolation(start)) => Some(Cause::Unclosed {
            start,
            opener: '{',
            found: None,
        }),
        None => None,
    }
}

fn matching(opener: char) -> char {
    match opener {
        '(' => ')',
        '[' => ']',
        _ => '}',
    }
}

fn line_end(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|byte| *byte == b'\n')
        .map_or(bytes.len(), |position| from + position)
}

fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(needle.len())
        .position(|window| window == needle)
        .map(|position| from + position)
}

enum Heredoc {
    /// `<<` not followed by a marker and a line break: not a heredoc.
    NotOne,
    /// The offset just after the closing marker.
    Ends(usize),
    Unterminated(String),
}

/// A heredoc starting at `start` (`<<EOT` or `<<-EOT`, then a line break, then lines up to
/// one that holds only the marker).
fn heredoc(bytes: &[u8], start: usize) -> Heredoc {
    let mut index = start + 2;
    if bytes.get(index) == Some(&b'-') {
        index += 1;
    }
    let marker_start = index;
    while bytes
        .get(index)
        .is_some_and(|byte| byte.is_ascii_alphanumeric() || *byte == b'_' || *byte == b'-')
    {
        index += 1;
    }
    let marker = &bytes[marker_start..index];
    let line_break = match bytes.get(index) {
        Some(b'\n') => 1,
        Some(b'\r') if bytes.get(index + 1) == Some(&b'\n') => 2,
        _ => return Heredoc::NotOne,
    };
    if marker.is_empty() {
        return Heredoc::NotOne;
    }
    let mut line_start = index + line_break;
    while line_start < bytes.len() {
        let end = line_end(bytes, line_start);
        let line = &bytes[line_start..end];
        if line.trim_ascii() == marker {
            return Heredoc::Ends(end);
        }
        line_start = end + 1;
    }
    Heredoc::Unterminated(String::from_utf8_lossy(marker).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cause(text: &str) -> Option<Cause> {
        find_cause(text)
    }

    #[test]
    fn an_unterminated_string_is_found_at_its_opening_quote() {
        let text = "a = 1\nb = \"10.0.0.0/16\n}\n\nc = \"x\"\n";
        assert_eq!(
            cause(text),
            Some(Cause::UnterminatedString { start: 10, end: 22 })
        );
    }

    #[test]
    fn strings_with_escapes_interpolations_and_comments_are_not_causes() {
        let text = "a = \"say \\\"hi\\\" ${b[\"k\"]} $${x} %{ if c }y%{ endif }\" # \"\n// \"\n/* \" */\nb = [1, (2)]\n";
        assert_eq!(cause(text), None);
    }

    #[test]
    fn a_heredoc_is_skipped_whole_and_an_unclosed_one_is_named() {
        assert_eq!(cause("a = <<EOT\n\"{[\nEOT\nb = 1\n"), None);
        assert_eq!(cause("a = <<-EOT\n  x\n  EOT\n"), None);
        assert_eq!(
            cause("a = <<EOT\nx\n"),
            Some(Cause::UnterminatedHeredoc {
                start: 4,
                marker: "EOT".into()
            })
        );
    }

    #[test]
    fn unclosed_and_mismatched_brackets_point_at_the_opener() {
        assert_eq!(
            cause("network \"x\" {\n  a = 1\n"),
            Some(Cause::Unclosed {
                start: 12,
                opener: '{',
                found: None
            })
        );
        assert_eq!(
            cause("n {\n  a = [1, 2\n}\n"),
            Some(Cause::Unclosed {
                start: 10,
                opener: '[',
                found: Some((16, '}'))
            })
        );
    }

    #[test]
    fn an_unclosed_comment_is_named() {
        assert_eq!(
            cause("a = 1 /* note\n"),
            Some(Cause::UnterminatedComment { start: 6 })
        );
    }
}
