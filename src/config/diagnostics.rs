//! Diagnostics: what went wrong in a configuration, where, what was expected and what to do.
//!
//! A run collects every problem it can find into [`Diagnostics`] instead of stopping at the
//! first one (Terraform's tfdiags). Each [`Diagnostic`] carries a snippet of the offending
//! source line with a caret under the span, so the message stays readable long after the
//! files are gone. Problems in Cairn itself are marked [`DiagnosticKind::Internal`] so they
//! read as bugs to report, not as mistakes in the user's configuration.

use super::source::{Sources, Span};
use crate::model::SourceLocation;
use std::fmt;

/// Whose fault a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DiagnosticKind {
    /// The configuration (or a flag) is wrong; the user can fix it.
    User,
    /// Cairn broke one of its own invariants; a bug to report.
    Internal,
}

/// The source line a diagnostic points at, captured when the diagnostic is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    pub location: SourceLocation,
    /// The line, or for a very long line the part of it around the span.
    pub line_text: String,
    /// How many characters of `line_text` come before the caret.
    pub lead: usize,
    /// How many characters the caret underlines (at least one).
    pub width: usize,
}

/// Longest line shown whole; a longer one (minified or generated text) is cut to a window of
/// this many characters around the span, so one diagnostic never prints megabytes.
const SNIPPET_WIDTH: usize = 160;

impl Snippet {
    /// The `--> file:line:col` line, the source line and the caret under the span, each
    /// behind a gutter of `pad` (as wide as the line number).
    ///
    /// # Errors
    ///
    /// Whatever `out` reports.
    pub fn write(&self, out: &mut impl fmt::Write, pad: &str) -> fmt::Result {
        writeln!(out, "{pad}--> {}", self.location)?;
        writeln!(out, "{pad} |")?;
        writeln!(out, "{} | {}", self.location.line, self.line_text)?;
        let lead: String = self
            .line_text
            .chars()
            .take(self.lead)
            .map(|character| if character == '\t' { '\t' } else { ' ' })
            .collect();
        writeln!(out, "{pad} | {lead}{}", "^".repeat(self.width))
    }
}

/// One problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub kind: DiagnosticKind,
    pub message: String,
    /// Boxed to keep `Result<_, Diagnostic>` small.
    pub snippet: Option<Box<Snippet>>,
    /// What the configuration should have held instead.
    pub expected: Option<String>,
    /// Further context, one line each (for example the edges of a cycle).
    pub notes: Vec<String>,
    /// What to do about it.
    pub hint: Option<String>,
}

impl Diagnostic {
    /// A user error with no position (for example about a command-line flag).
    pub fn error(message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            kind: DiagnosticKind::User,
            message: message.into(),
            snippet: None,
            expected: None,
            notes: Vec::new(),
            hint: None,
        }
    }

    /// A user error pointing at `span`.
    pub fn at(sources: &Sources, span: Span, message: impl Into<String>) -> Diagnostic {
        let location = sources.location(span);
        let line = sources.file(span.file).line_text(location.line);
        let covered = sources.text(span);
        // A span reaching over several lines is underlined to the end of its first line.
        let first_line = covered.lines().next().unwrap_or("");
        let length = line.chars().count();
        let lead = location.column - 1;
        let room = length.saturating_sub(lead);
        let width = first_line.chars().count().min(room).max(1);
        let (line_text, lead, width) = if length <= SNIPPET_WIDTH {
            (line.to_string(), lead, width)
        } else {
            let start = lead.saturating_sub(SNIPPET_WIDTH / 4);
            let end = (start + SNIPPET_WIDTH).min(length);
            let mut window: String = line.chars().skip(start).take(end - start).collect();
            let mut shown_lead = lead - start;
            if start > 0 {
                window.insert(0, '…');
                shown_lead += 1;
            }
            if end < length {
                window.push('…');
            }
            (
                window,
                shown_lead,
                width.min(end.saturating_sub(lead)).max(1),
            )
        };
        Diagnostic {
            snippet: Some(Box::new(Snippet {
                location,
                line_text,
                lead,
                width,
            })),
            ..Diagnostic::error(message)
        }
    }

    /// A bug in Cairn, not in the configuration.
    pub fn internal(message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            kind: DiagnosticKind::Internal,
            hint: Some("this is a bug in Cairn; please report it with the command you ran".into()),
            ..Diagnostic::error(message)
        }
    }

    pub fn expected(mut self, expected: impl Into<String>) -> Diagnostic {
        self.expected = Some(expected.into());
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    /// Where the diagnostic points, if anywhere.
    pub fn location(&self) -> Option<&SourceLocation> {
        self.snippet.as_ref().map(|snippet| &snippet.location)
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.kind {
            DiagnosticKind::User => "error",
            DiagnosticKind::Internal => "internal error",
        };
        writeln!(f, "{label}: {}", self.message)?;
        let gutter = self
            .snippet
            .as_ref()
            .map_or(1, |snippet| snippet.location.line.to_string().len());
        let pad = " ".repeat(gutter);
        if let Some(snippet) = &self.snippet {
            snippet.write(f, &pad)?;
        }
        if let Some(expected) = &self.expected {
            writeln!(f, "{pad} = expected {expected}")?;
        }
        for note in &self.notes {
            writeln!(f, "{pad} = {note}")?;
        }
        if let Some(hint) = &self.hint {
            writeln!(f, "hint: {hint}")?;
        }
        Ok(())
    }
}

/// Every problem found in one run, in the order of the files and positions they point at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn new() -> Diagnostics {
        Diagnostics::default()
    }

    /// Adds a diagnostic unless the same one is already there: a block expanded in several
    /// regions would otherwise report the same mistake once per region.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        if !self.items.contains(&diagnostic) {
            self.items.push(diagnostic);
        }
    }

    pub fn extend(&mut self, other: Diagnostics) {
        for diagnostic in other.items {
            self.push(diagnostic);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }

    /// Whether any diagnostic is a bug in Cairn rather than a user error.
    pub fn has_internal(&self) -> bool {
        self.items
            .iter()
            .any(|diagnostic| diagnostic.kind == DiagnosticKind::Internal)
    }

    /// `Ok(value)` when nothing was reported, else every diagnostic sorted by position.
    ///
    /// # Errors
    ///
    /// Returns `self` when it holds at least one diagnostic.
    pub fn into_result<T>(mut self, value: T) -> Result<T, Diagnostics> {
        if self.items.is_empty() {
            return Ok(value);
        }
        // Stable sort: diagnostics without a position keep their order, after the rest.
        self.items.sort_by(|left, right| {
            let key = |diagnostic: &Diagnostic| {
                diagnostic
                    .location()
                    .map(|location| (location.file.clone(), location.line, location.column))
            };
            match (key(left), key(right)) {
                (Some(a), Some(b)) => a.cmp(&b),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            }
        });
        Err(self)
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(diagnostic: Diagnostic) -> Self {
        Diagnostics {
            items: vec![diagnostic],
        }
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, diagnostic) in self.items.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{diagnostic}")?;
        }
        let count = self.items.len();
        if count > 1 {
            writeln!(f)?;
            writeln!(f, "{count} errors found")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

impl miette::Diagnostic for Diagnostics {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        let code = if self.has_internal() {
            "cairn::internal"
        } else {
            "cairn::config"
        };
        Some(Box::new(code))
    }
}

/// The name in `candidates` closest to `name`, if one is close enough to be a likely typo:
/// similar by Jaro-Winkler (good for long names) or within two edits (good for short ones,
/// such as `wbe` for `web`).
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .filter(|candidate| *candidate != name)
        .map(|candidate| {
            let edits = strsim::osa_distance(name, candidate);
            let close = strsim::jaro_winkler(name, candidate) > 0.8
                || (edits <= 2
                    && edits < name.chars().count().max(candidate.chars().count()) / 2 + 1);
            (close, strsim::jaro_winkler(name, candidate), candidate)
        })
        .filter(|(close, _, _)| *close)
        // On a tie the earlier candidate wins (`max_by` would keep the later one), so that
        // `us-east-l` suggests `us-east-1` rather than `us-east-2`.
        .fold(
            None,
            |best: Option<(f64, &str)>, (_, score, candidate)| match best {
                Some((best_score, _)) if best_score >= score => best,
                _ => Some((score, candidate)),
            },
        )
        .map(|(_, candidate)| candidate)
}

/// `hint: did you mean ...` for a misspelt name, if a candidate is close.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    closest(name, candidates).map(|candidate| format!("did you mean `{candidate}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_line_with_a_caret_and_a_hint() {
        let mut sources = Sources::default();
        let id = sources.add(
            "main.hcl".into(),
            "network \"main\" {\n  cidrr = \"10.0.0.0/16\"\n}\n".into(),
        );
        let span = Span {
            file: id,
            start: 19,
            end: 24,
        };
        let diagnostic = Diagnostic::at(&sources, span, "unknown attribute `cidrr`")
            .expected("one of `cidr`")
            .hint("did you mean `cidr`?");
        assert_eq!(
            diagnostic.to_string(),
            "error: unknown attribute `cidrr`\n --> main.hcl:2:3\n  |\n2 |   cidrr = \"10.0.0.0/16\"\n  |   ^^^^^\n  = expected one of `cidr`\nhint: did you mean `cidr`?\n"
        );
    }

    #[test]
    fn a_very_long_line_is_shown_as_a_window_around_the_span() {
        let mut sources = Sources::default();
        let text = format!("a = \"{}\" + b\n", "x".repeat(100_000));
        let id = sources.add("main.hcl".into(), text.clone());
        let start = text.len() - 2;
        let span = Span {
            file: id,
            start,
            end: start + 1,
        };
        let shown = Diagnostic::at(&sources, span, "unknown `b`").to_string();
        assert!(shown.contains("--> main.hcl:1:100010"), "{shown}");
        assert!(shown.len() < 1000, "{shown}");
        let lines: Vec<&str> = shown.lines().collect();
        let caret = lines[4].find('^').map(|at| lines[4][..at].chars().count());
        let b = lines[3].rfind('b').map(|at| lines[3][..at].chars().count());
        assert_eq!(caret, b, "{shown}");
    }

    #[test]
    fn suggests_only_close_names() {
        assert_eq!(
            closest("instance_typ", ["image", "instance_type"]),
            Some("instance_type")
        );
        assert_eq!(closest("zzz", ["image", "instance_type"]), None);
        assert_eq!(closest("wbe", ["web", "app"]), Some("web"));
        assert_eq!(closest("ab", ["xy"]), None);
    }

    #[test]
    fn duplicates_are_reported_once_and_sorted_by_position() {
        let mut sources = Sources::default();
        let id = sources.add("a.hcl".into(), "x\ny\n".into());
        let late = Diagnostic::at(
            &sources,
            Span {
                file: id,
                start: 2,
                end: 3,
            },
            "late",
        );
        let early = Diagnostic::at(
            &sources,
            Span {
                file: id,
                start: 0,
                end: 1,
            },
            "early",
        );
        let mut diagnostics = Diagnostics::new();
        diagnostics.push(late.clone());
        diagnostics.push(early);
        diagnostics.push(late);
        let Err(diagnostics) = diagnostics.into_result(()) else {
            panic!("diagnostics were reported");
        };
        let messages: Vec<_> = diagnostics.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(messages, ["early", "late"]);
    }
}
