//! Printing errors: configuration diagnostics are rendered with their source snippets; other
//! errors go through miette.

use crate::config::Diagnostics;
use std::process::ExitCode;

/// Prints every diagnostic to stderr and returns the error exit code.
pub fn diagnostics(diagnostics: &Diagnostics) -> ExitCode {
    // The diagnostics render their own snippets and carets; miette's wrapping would break the
    // caret alignment, so only the text goes through stderr here.
    eprint!("{diagnostics}");
    ExitCode::FAILURE
}

/// Prints any other error as a miette report and returns the error exit code.
pub fn error(report: miette::Report) -> ExitCode {
    eprintln!("{report:?}");
    ExitCode::FAILURE
}

/// Prints an operation's error: configuration diagnostics with their snippets, anything else
/// as a miette report.
pub fn ops(error: crate::ops::OpsError) -> ExitCode {
    match error {
        crate::ops::OpsError::Config(found) => diagnostics(&found),
        other => self::error(miette::Report::new(other)),
    }
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
        Err(failure) => error(miette::miette!("cannot start: {failure}")),
    }
}
