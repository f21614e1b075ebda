//! The syntax tree Cairn works on: blocks and attributes of HCL files, each with its span.
//!
//! hcl-edit parses the text and keeps byte ranges; hcl-rs evaluates expressions but keeps no
//! positions. An [`Attr`] holds both forms of its expression so that evaluation can use hcl-rs
//! while every message (and every reference found statically) still points at the source.

use super::diagnostics::{Diagnostic, Diagnostics};
use super::source::{FileId, Sources, Span};
use super::syntax::{Cause, find_cause};
use hcl_edit::Span as _;
use std::collections::BTreeMap;

/// One `name = expression` attribute.
#[derive(Debug, Clone)]
pub struct Attr {
    pub name: String,
    /// The attribute's key.
    pub key_span: Span,
    /// The attribute's value expression.
    pub value_span: Span,
    /// The expression as hcl-rs evaluates it.
    pub expr: hcl::Expression,
    /// The expression as parsed, with spans, for finding references.
    pub edit: hcl_edit::expr::Expression,
    pub file: FileId,
}

/// One block with its labels, attributes and nested blocks, in source order.
#[derive(Debug, Clone)]
pub struct BlockDef {
    pub ident: String,
    pub ident_span: Span,
    pub labels: Vec<String>,
    /// The span of the labels (or of the identifier when there are none).
    pub label_span: Span,
    pub attributes: BTreeMap<String, Attr>,
    pub blocks: Vec<BlockDef>,
    /// The whole block.
    pub span: Span,
}

impl BlockDef {
    /// The block's first label, which names it (`network "main"` → `main`).
    pub fn name(&self) -> &str {
        self.labels.first().map_or("", String::as_str)
    }

    /// `network "main"` as users write it, for messages.
    pub fn display(&self) -> String {
        let mut text = self.ident.clone();
        for label in &self.labels {
            text.push_str(&format!(" \"{label}\""));
        }
        text
    }

    pub fn attribute(&self, name: &str) -> Option<&Attr> {
        self.attributes.get(name)
    }

    pub fn blocks_named<'a>(&'a self, ident: &'a str) -> impl Iterator<Item = &'a BlockDef> + 'a {
        self.blocks.iter().filter(move |block| block.ident == ident)
    }
}

/// A parsed file: its top-level attributes (only variable files have any) and blocks.
#[derive(Debug, Clone, Default)]
pub struct FileBody {
    pub attributes: BTreeMap<String, Attr>,
    pub blocks: Vec<BlockDef>,
}

/// The diagnostic for a file hcl-edit could not parse: at the string, bracket, heredoc or
/// comment left open when [`find_cause`] finds one (the parser's own position is often lines
/// later, with a misleading message), else where the parser stopped.
fn syntax_error(
    sources: &Sources,
    file: FileId,
    text: &str,
    error: &hcl_edit::parser::Error,
) -> Diagnostic {
    let offset = error.location().offset().min(text.len());
    let message = error.message();
    let (what, expected) = match message.split_once("; expected ") {
        Some((what, expected)) => (what, Some(expected)),
        None => (message, None),
    };
    let stopped = sources.location(Span {
        file,
        start: offset,
        end: offset,
    });
    let span = |start: usize, end: usize| Span { file, start, end };
    if let Some(cause) = find_cause(text) {
        let start = cause.start();
        let diagnostic = match cause {
            Cause::UnterminatedString { end, .. } => {
                Diagnostic::at(sources, span(start, end), "unterminated string")
                    .expected("a closing `\"` on the same line")
                    .hint("a quoted string ends on the line it starts; for text over several lines use a heredoc (`<<EOT` ... `EOT`)")
            }
            Cause::UnterminatedHeredoc { marker, .. } => Diagnostic::at(
                sources,
                span(start, start + 2 + marker.len()),
                format!("heredoc `{marker}` is never closed"),
            )
            .expected(format!("a line holding only `{marker}` to end it")),
            Cause::UnterminatedComment { .. } => {
                Diagnostic::at(sources, span(start, start + 2), "comment is never closed")
                    .expected("`*/` to end it")
            }
            Cause::Unclosed { opener, found, .. } => {
                let closer = match opener {
                    '(' => ')',
                    '[' => ']',
                    _ => '}',
                };
                let diagnostic = Diagnostic::at(
                    sources,
                    span(start, start + 1),
                    format!("`{opener}` is never closed"),
                )
                .expected(format!("a matching `{closer}`"));
                match found {
                    Some((at, wrong)) => diagnostic.note(format!(
                        "`{wrong}` at {} closes something else",
                        sources.location(span(at, at + 1))
                    )),
                    None => diagnostic,
                }
            }
        };
        // Each cause is an error by itself (HCL has no multi-line quoted strings), and what
        // the parser tripped over later is only its consequence, so it is not shown.
        return diagnostic;
    }
    let mut diagnostic = Diagnostic::at(
        sources,
        span(offset, offset + 1),
        format!("invalid HCL syntax: {what}"),
    );
    if let Some(expected) = expected {
        diagnostic = diagnostic.expected(expected.to_string());
    }
    // The hint is about one-line blocks and objects, so it is only given on such a line.
    let line = sources.file(file).line_text(stopped.line);
    let before: String = line
        .chars()
        .take(stopped.column.saturating_sub(1))
        .collect();
    if matches!(what, "invalid block body" | "invalid object item") && before.contains('{') {
        diagnostic = diagnostic.hint(
            "a one-line block holds at most one attribute; objects separate items with commas",
        );
    }
    diagnostic
}

/// Parses one registered file.
///
/// # Errors
///
/// A syntax error (hcl-edit stops at the first one in a file) or an attribute defined twice.
/// The syntax error of a file's `text`, as every command that loads a stack reports it (at
/// the string or bracket left open), or `None` when it parses: for `cairn fmt`, which reads
/// files one by one without loading a stack.
pub fn syntax_errors(path: &str, text: &str) -> Option<Diagnostics> {
    let error = hcl_edit::parser::parse_body(text).err()?;
    let mut sources = Sources::default();
    let file = sources.add(path.to_string(), text.to_string());
    Some(syntax_error(&sources, file, text, &error).into())
}

pub fn parse_file(sources: &Sources, file: FileId) -> Result<FileBody, Diagnostics> {
    let text = &sources.file(file).text;
    let body = match hcl_edit::parser::parse_body(text) {
        Ok(body) => body,
        Err(error) => return Err(syntax_error(sources, file, text, &error).into()),
    };
    let mut diagnostics = Diagnostics::new();
    let whole = sources.file_start(file);
    let converted = convert_body(sources, file, &body, whole, &mut diagnostics);
    diagnostics.into_result(converted)
}

fn convert_body(
    sources: &Sources,
    file: FileId,
    body: &hcl_edit::structure::Body,
    fallback: Span,
    diagnostics: &mut Diagnostics,
) -> FileBody {
    let mut out = FileBody::default();
    for structure in body.iter() {
        match structure {
            hcl_edit::structure::Structure::Attribute(attribute) => {
                let key_span = Span::from_range(file, attribute.key.span(), fallback);
                let value_span = Span::from_range(file, attribute.value.span(), key_span);
                let name = attribute.key.as_str().to_string();
                if let Some(first) = out.attributes.get(&name) {
                    let first = sources.location(first.key_span);
                    diagnostics.push(
                        Diagnostic::at(
                            sources,
                            key_span,
                            format!("attribute `{name}` is defined twice"),
                        )
                        .note(format!("first defined at {first}")),
                    );
                    continue;
                }
                out.attributes.insert(
                    name.clone(),
                    Attr {
                        name,
                        key_span,
                        value_span,
                        expr: hcl::Expression::from(attribute.value.clone()),
                        edit: attribute.value.clone(),
                        file,
                    },
                );
            }
            hcl_edit::structure::Structure::Block(block) => {
                let span = Span::from_range(file, block.span(), fallback);
                let ident_span = Span::from_range(file, block.ident.span(), span);
                let label_span = match (block.labels.first(), block.labels.last()) {
                    (Some(first), Some(last)) => {
                        let start = Span::from_range(file, label_range(first), ident_span);
                        let end = Span::from_range(file, label_range(last), ident_span);
                        Span {
                            file,
                            start: start.start,
                            end: end.end,
                        }
                    }
                    _ => ident_span,
                };
                let inner = convert_body(sources, file, &block.body, span, diagnostics);
                out.blocks.push(BlockDef {
                    ident: block.ident.as_str().to_string(),
                    ident_span,
                    labels: block
                        .labels
                        .iter()
                        .map(|label| label.as_str().to_string())
                        .collect(),
                    label_span,
                    attributes: inner.attributes,
                    blocks: inner.blocks,
                    span,
                });
            }
        }
    }
    out
}

fn label_range(label: &hcl_edit::structure::BlockLabel) -> Option<std::ops::Range<usize>> {
    match label {
        hcl_edit::structure::BlockLabel::Ident(ident) => ident.span(),
        hcl_edit::structure::BlockLabel::String(string) => string.span(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_spans_of_blocks_and_attributes() {
        let mut sources = Sources::default();
        let file = sources.add(
            "main.hcl".into(),
            "network \"main\" {\n  cidr = \"10.0.0.0/16\"\n  subnet \"a\" {\n    newbits = 8\n  }\n}\n"
                .into(),
        );
        let Ok(body) = parse_file(&sources, file) else {
            panic!("the file parses");
        };
        let network = &body.blocks[0];
        assert_eq!(network.display(), "network \"main\"");
        let cidr = &network.attributes["cidr"];
        assert_eq!(sources.location(cidr.key_span).to_string(), "main.hcl:2:3");
        assert_eq!(sources.text(cidr.value_span), "\"10.0.0.0/16\"");
        assert_eq!(
            sources.location(network.blocks[0].label_span).to_string(),
            "main.hcl:3:10"
        );
    }

    #[test]
    fn syntax_errors_point_at_the_position() {
        let mut sources = Sources::default();
        let file = sources.add(
            "bad.hcl".into(),
            "network \"main\" {\n  cidr = \n}\n".into(),
        );
        let Err(diagnostics) = parse_file(&sources, file) else {
            panic!("the file must not parse");
        };
        let location = diagnostics
            .iter()
            .next()
            .and_then(|d| d.location().cloned());
        assert_eq!(location.map(|l| l.line), Some(2));
    }
}
