//! Views: everything the commands print, one file per command group, each with a human view
//! and, where the command has `--json`, a JSON view (as Terraform's `internal/command/views`);
//! `check` also speaks SARIF, for code scanning in CI.
//!
//! A command parses its arguments, calls one engine function and hands what came back to a
//! view; a view decides nothing but the exit code the data calls for. Nothing outside this
//! module (and the error reports of [`super::report`]) prints.
//!
//! Promises: JSON that cannot be serialized is reported as an error with exit code 1, never
//! printed as an empty line; colors only on a terminal and never with `NO_COLOR`.

pub mod apply;
pub mod apply_json;
pub mod backup;
pub mod check;
pub mod config;
pub mod dr;
pub mod history;
pub mod plan;
pub mod sim;
pub mod state;

use crate::cli::output::println;
use owo_colors::{OwoColorize, Style};

/// Shown instead of a sensitive value, in text and in JSON alike (as Terraform shows it), by
/// every view: plans, state, outputs.
pub const SENSITIVE: &str = "(sensitive value)";
use serde::Serialize;
use std::process::ExitCode;

/// Whether to color output: only on a terminal, and never with `NO_COLOR` set.
pub fn color_enabled() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
}

/// Whether to color what goes to standard error (log lines): as [`color_enabled`], for that
/// stream.
pub fn stderr_color_enabled() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
}

/// Paints text when colors are on, and leaves it plain otherwise.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Painter {
    pub color: bool,
}

impl Painter {
    /// A painter for standard output: colors as [`color_enabled`] says.
    pub fn for_stdout() -> Painter {
        Painter {
            color: color_enabled(),
        }
    }

    pub fn paint(&self, text: &str, style: Style) -> String {
        if self.color {
            text.style(style).to_string()
        } else {
            text.to_string()
        }
    }
}

/// How a command shows its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    /// One pretty-printed JSON document on stdout, nothing else.
    Json,
}

impl Format {
    /// `--json` or not.
    pub fn from_json_flag(json: bool) -> Format {
        if json { Format::Json } else { Format::Human }
    }
}

/// Shows `value` in `format` (as JSON, or through `human`) and returns `code`. A value that
/// cannot be serialized is an error (exit 1, the reason on stderr), never an empty line.
pub fn show<T: Serialize>(
    value: &T,
    format: Format,
    human: impl FnOnce(&T),
    code: ExitCode,
) -> ExitCode {
    match format {
        Format::Json => match serde_json::to_string_pretty(value) {
            Ok(text) => {
                println!("{text}");
                code
            }
            Err(error) => super::report::error(miette::miette!("cannot render JSON: {error}")),
        },
        Format::Human => {
            human(value);
            code
        }
    }
}

/// Prints `value` as pretty JSON on standard output (see [`show`]).
pub fn print_json(value: &impl Serialize) -> ExitCode {
    show(value, Format::Json, |_| {}, ExitCode::SUCCESS)
}

/// `count` followed by `word`, plural when `count` is not one (`1 block`, `3 blocks`).
pub fn counted(count: usize, word: &str) -> String {
    if count == 1 {
        format!("{count} {word}")
    } else {
        format!("{count} {word}s")
    }
}

/// An age for people: `3d 4h`, `5h 2m`, `12m`, `40s`.
pub fn age(seconds: i64) -> String {
    let seconds = seconds.max(0);
    let (days, hours, minutes) = (
        seconds / 86_400,
        seconds % 86_400 / 3600,
        seconds % 3600 / 60,
    );
    if days > 0 {
        format!("{days}d {hours}h")
    } else if hours > 0 {
        format!("{hours}h {minutes}m")
    } else if minutes > 0 {
        format!("{minutes}m")
    } else {
        format!("{seconds}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value whose serialization fails, as a map with non-string keys does.
    struct Unserializable;

    impl Serialize for Unserializable {
        fn serialize<S: serde::Serializer>(&self, _serializer: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("not representable"))
        }
    }

    #[test]
    fn json_that_cannot_be_serialized_is_an_error_not_an_empty_line() {
        let mut shown = false;
        let code = show(
            &Unserializable,
            Format::Json,
            |_| shown = true,
            ExitCode::SUCCESS,
        );
        assert_eq!(code, ExitCode::FAILURE);
        assert!(!shown, "the human view ran for --json");
    }

    #[test]
    fn the_code_the_data_calls_for_survives_json() {
        let code = show(&[1, 2], Format::Json, |_| {}, ExitCode::FAILURE);
        assert_eq!(code, ExitCode::FAILURE);
        let code = show(&[1, 2], Format::Human, |_| {}, ExitCode::SUCCESS);
        assert_eq!(code, ExitCode::SUCCESS);
    }

    #[test]
    fn ages_read_in_their_largest_units() {
        assert_eq!(age(-5), "0s");
        assert_eq!(age(40), "40s");
        assert_eq!(age(12 * 60 + 5), "12m");
        assert_eq!(age(5 * 3600 + 120), "5h 2m");
        assert_eq!(age(3 * 86_400 + 4 * 3600), "3d 4h");
    }

    #[test]
    fn print_json_of_what_cannot_be_serialized_is_an_error() {
        assert_eq!(print_json(&Unserializable), ExitCode::FAILURE);
        assert_eq!(print_json(&serde_json::json!({"a": 1})), ExitCode::SUCCESS);
    }

    #[test]
    fn words_are_counted() {
        assert_eq!(counted(1, "block"), "1 block");
        assert_eq!(counted(0, "block"), "0 blocks");
        assert_eq!(counted(12, "environment"), "12 environments");
    }
}
