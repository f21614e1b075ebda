//! Source files of a stack and spans into them: the bridge from byte offsets (what hcl-edit
//! records) to file, line and column (what people read).
//!
//! Every file Cairn reads is registered once in [`Sources`]; everything else refers to it by
//! [`FileId`], so spans stay small and diagnostics can show the offending line much later, for
//! example during expansion.

use crate::model::SourceLocation;
use std::ops::Range;

/// Index of a file in [`Sources`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(usize);

/// A byte range in one source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub file: FileId,
    pub start: usize,
    pub end: usize,
}

impl Span {
    /// A span from hcl-edit's optional range; parsed nodes always carry one, built ones do not,
    /// so a missing range falls back to `fallback`.
    pub fn from_range(file: FileId, range: Option<Range<usize>>, fallback: Span) -> Span {
        match range {
            Some(range) => Span {
                file,
                start: range.start,
                end: range.end,
            },
            None => fallback,
        }
    }
}

/// One file: the path as shown to users and its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: String,
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    fn new(path: String, text: String) -> SourceFile {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(index, _)| index + 1))
            .collect();
        SourceFile {
            path,
            text,
            line_starts,
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line_index = match self.line_starts.binary_search(&offset) {
            Ok(index) => index,
            Err(index) => index.saturating_sub(1),
        };
        let line_start = self.line_starts[line_index];
        let column = self
            .text
            .get(line_start..offset)
            .map_or(0, |prefix| prefix.chars().count());
        (line_index + 1, column + 1)
    }

    /// The text of a 1-based line, without its line break.
    pub fn line_text(&self, line: usize) -> &str {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1)) else {
            return "";
        };
        let end = self
            .line_starts
            .get(line)
            .map_or(self.text.len(), |next| next.saturating_sub(1));
        self.text
            .get(start..end.max(start))
            .unwrap_or("")
            .trim_end_matches('\r')
    }
}

/// All files read for one stack: its own `*.hcl`, its modules' files and variable files.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    /// Registers a file and returns its id.
    pub fn add(&mut self, path: String, text: String) -> FileId {
        self.files.push(SourceFile::new(path, text));
        FileId(self.files.len() - 1)
    }

    pub fn file(&self, id: FileId) -> &SourceFile {
        &self.files[id.0]
    }

    /// The file registered under `path`, for locations that carry a path but no span.
    pub fn find(&self, path: &str) -> Option<&SourceFile> {
        self.files.iter().find(|file| file.path == path)
    }

    /// The span of a whole file's first byte, for errors about a file as a whole.
    pub fn file_start(&self, id: FileId) -> Span {
        Span {
            file: id,
            start: 0,
            end: 0,
        }
    }

    /// Where a span starts, in the form resources and graph edges carry.
    pub fn location(&self, span: Span) -> SourceLocation {
        let file = self.file(span.file);
        let (line, column) = file.line_column(span.start);
        SourceLocation {
            file: file.path.clone(),
            line,
            column,
        }
    }

    /// The text a span covers.
    pub fn text(&self, span: Span) -> &str {
        self.file(span.file)
            .text
            .get(span.start..span.end)
            .unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_map_to_lines_and_columns() {
        let mut sources = Sources::default();
        let id = sources.add("a.hcl".into(), "ab\ncdé\nf".into());
        let file = sources.file(id);
        assert_eq!(file.line_column(0), (1, 1));
        assert_eq!(file.line_column(3), (2, 1));
        assert_eq!(file.line_column(4), (2, 2));
        assert_eq!(file.line_column(8), (3, 1));
        assert_eq!(file.line_text(2), "cdé");
        assert_eq!(file.line_text(3), "f");
        let span = Span {
            file: id,
            start: 4,
            end: 7,
        };
        assert_eq!(sources.location(span).to_string(), "a.hcl:2:2");
        assert_eq!(sources.text(span), "dé");
    }
}
