//! Views: everything the commands print, one file per command group, each with a human view
//! and, where the command has `--json`, a JSON view (as Terraform's `internal/command/views`).
//!
//! A command parses its arguments, calls one engine function and hands what came back to a
//! view; nothing outside this module (and the error reports of [`super::report`]) prints.
//!
//! Promises: JSON that cannot be serialized is reported as an error with exit code 1, never
//! printed as an empty line; colors only on a terminal and never with `NO_COLOR`.

pub mod apply;
pub mod config;
pub mod plan;
pub mod sim;
pub mod state;

use owo_colors::{OwoColorize, Style};
use std::process::ExitCode;

/// Whether to color output: only on a terminal, and never with `NO_COLOR` set.
pub fn color_enabled() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
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

/// Prints `value` as pretty JSON on standard output.
///
/// A value that cannot be serialized is reported as an error (exit code 1), so a program
/// reading the output never gets an empty or partial document.
pub fn print_json(value: &impl serde::Serialize) -> ExitCode {
    match serde_json::to_string_pretty(value) {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(error) => super::report::error(miette::miette!(
            "internal error: cannot render the output as JSON: {error}"
        )),
    }
}

/// `count` followed by `word`, plural when `count` is not one (`1 block`, `3 blocks`).
pub fn counted(count: usize, word: &str) -> String {
    if count == 1 {
        format!("{count} {word}")
    } else {
        format!("{count} {word}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value whose serialization fails, as a map with non-string keys does in JSON.
    struct Unserializable;

    impl serde::Serialize for Unserializable {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("not representable"))
        }
    }

    #[test]
    fn json_that_cannot_be_serialized_is_an_error_not_an_empty_line() {
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
