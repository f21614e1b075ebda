//! Printing errors: every error a command reports has one shape on stderr.
//!
//! ```text
//! error: state file `.cairn/state/dev.json` is corrupt: EOF while parsing at line 1 column 8
//!   caused by: ...            (only with -v, and only causes the message does not already say)
//! hint: restore it from `.cairn/state/dev.json.backup` or from your own copy
//! ```
//!
//! Hints come from one place, the error's miette `help`; no message carries its own `hint:`
//! line. Messages say what went wrong in full, so the cause chain is for `-v` only: a cause
//! whose text the message already shows is never printed a second time. Configuration
//! diagnostics render themselves (file:line:col, the source line and a caret, then their own
//! `hint:` line in the same shape).

use crate::cli::output::eprint;
use crate::config::Diagnostics;
use miette::Diagnostic;
use std::fmt::Write;
use std::process::ExitCode;
use std::sync::OnceLock;

/// Whether `-v` was given; set once by `main` before any command runs.
static VERBOSE: OnceLock<bool> = OnceLock::new();

/// Records `-v` for every later report.
pub fn set_verbose(verbose: bool) {
    let _ = VERBOSE.set(verbose);
}

fn verbose() -> bool {
    VERBOSE.get().copied().unwrap_or(false)
}

/// Prints every diagnostic to stderr and returns the error exit code.
pub fn diagnostics(diagnostics: &Diagnostics) -> ExitCode {
    eprint!("{diagnostics}");
    ExitCode::FAILURE
}

/// Prints an error built by the CLI itself (a [`miette::Report`]) and returns the error exit
/// code.
pub fn error(report: miette::Report) -> ExitCode {
    print(report.as_ref())
}

/// Prints an operation's error and returns the error exit code.
pub fn ops(error: crate::ops::OpsError) -> ExitCode {
    print(&error)
}

/// Prints any error and returns the error exit code.
pub fn print(error: &dyn Diagnostic) -> ExitCode {
    eprint!("{}", render(error, verbose()));
    ExitCode::FAILURE
}

/// The text [`print`] writes for `error`, ending with a newline.
pub fn render(error: &dyn Diagnostic, verbose: bool) -> String {
    let message = error.to_string();
    // The codes `Diagnostics` gives itself; wrappers pass them through (`diagnostic(transparent)`).
    let is_configuration = error.code().is_some_and(|code| {
        matches!(
            code.to_string().as_str(),
            "cairn::config" | "cairn::internal"
        )
    });
    if is_configuration {
        // Already shaped as `error: ...` lines with snippets and hints.
        return message;
    }
    let mut out = format!("error: {message}\n");
    if verbose {
        // A cause that repeats what is already on screen is left out.
        for text in crate::util::errors::new_causes(error) {
            let _ = writeln!(out, "  caused by: {text}");
        }
    }
    if let Some(help) = error.help() {
        let _ = writeln!(out, "hint: {help}");
    }
    out
}

/// Hands an operation's result to `view`, or reports why there is none: the runtime could
/// not start, or the operation failed.
pub fn outcome<T>(
    result: std::io::Result<Result<T, crate::ops::OpsError>>,
    view: impl FnOnce(&T) -> ExitCode,
) -> ExitCode {
    match result {
        Ok(Ok(value)) => view(&value),
        Ok(Err(failure)) => ops(failure),
        Err(failure) if failure.kind() == std::io::ErrorKind::Interrupted => {
            error(miette::miette!(
                help = "state saved up to the last completed change; the lock was released",
                "interrupted"
            ));
            // The shell convention for a command ended by SIGINT.
            ExitCode::from(130)
        }
        Err(failure) => error(miette::miette!("cannot start the async runtime: {failure}")),
    }
}

/// A command's result that may be left to the process's exit to reclaim: plain data, holding
/// no lock, file, connection or anything else whose drop does work.
pub trait ExitData {}

impl ExitData for crate::ops::ApplyOutcome {}
impl ExitData for crate::ops::Planned {}

/// [`outcome`] for a result the command exits with: once shown, it is left for the process's
/// exit to reclaim rather than freed piece by piece. Freeing the plan, state and report of a
/// 10,000-resource apply took 35 ms, 20 times what 1,000 took (issue 14).
pub fn final_outcome<T: ExitData>(
    result: std::io::Result<Result<T, crate::ops::OpsError>>,
    view: impl FnOnce(&T) -> ExitCode,
) -> ExitCode {
    outcome(
        result.map(|done| done.map(std::mem::ManuallyDrop::new)),
        |value| view(value),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error, Diagnostic)]
    #[error("could not read `plan.json`: {source}")]
    #[diagnostic(help("run `cairn plan` again"))]
    struct Outer {
        #[source]
        source: Middle,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("disk on fire")]
    struct Middle {
        #[source]
        source: std::io::Error,
    }

    fn sample() -> Outer {
        Outer {
            source: Middle {
                source: std::io::Error::other("sector 7 unreadable"),
            },
        }
    }

    #[test]
    fn without_verbose_the_message_and_the_hint_only() {
        assert_eq!(
            render(&sample(), false),
            "error: could not read `plan.json`: disk on fire\nhint: run `cairn plan` again\n"
        );
    }

    #[test]
    fn with_verbose_causes_the_message_does_not_already_say() {
        assert_eq!(
            render(&sample(), true),
            "error: could not read `plan.json`: disk on fire\n  caused by: sector 7 unreadable\nhint: run `cairn plan` again\n"
        );
    }
}
