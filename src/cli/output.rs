//! Standard output and standard error for the CLI: `print!`, `println!`, `eprint!` and
//! `eprintln!` that never panic. Views and error reports import them by name
//! (`use crate::cli::output::{print, println};`), which shadows the standard library's; the
//! clippy configuration refuses the standard ones, so no new view can bring the panic back.
//!
//! The standard macros panic when a write fails, and a reader that stops early (`cairn plan |
//! head`) closes the pipe under them: Rust ignores SIGPIPE, so every later write fails with
//! `BrokenPipe`. Restoring SIGPIPE's default instead would end such a run quietly too, but it
//! would also kill cairn when a vectored write (`writev`, which takes no `MSG_NOSIGNAL`) hits a
//! connection the cloud has reset, in the middle of an apply.
//!
//! Promises:
//! - a closed pipe ends that stream quietly: nothing more is written to it, and the command
//!   carries on to its own end and exit code (an apply nobody watches still finishes and saves
//!   its state rather than stopping between two steps);
//! - any other failed write (a full disk behind `>`) is not hidden: [`finish`] reports it and
//!   the command exits 1, since what a script relied on did not arrive.

use std::fmt;
use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// `print!` to standard output; see the module header.
macro_rules! print {
    ($($arg:tt)*) => {
        $crate::cli::output::to_stdout(format_args!($($arg)*))
    };
}

/// `println!` to standard output; see the module header.
macro_rules! println {
    () => {
        $crate::cli::output::to_stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::output::to_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprint!` to standard error; see the module header.
macro_rules! eprint {
    ($($arg:tt)*) => {
        $crate::cli::output::to_stderr(format_args!($($arg)*))
    };
}

/// `eprintln!` to standard error; see the module header.
macro_rules! eprintln {
    () => {
        $crate::cli::output::to_stderr(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::output::to_stderr(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {eprint, eprintln, print, println};

/// One of the two streams, with what has gone wrong on it.
struct Stream {
    name: &'static str,
    /// Set once a write failed; nothing more is written.
    closed: AtomicBool,
    /// The first failure that was not a closed pipe.
    failure: OnceLock<io::Error>,
}

impl Stream {
    const fn new(name: &'static str) -> Stream {
        Stream {
            name,
            closed: AtomicBool::new(false),
            failure: OnceLock::new(),
        }
    }

    fn record(&self, result: io::Result<()>) {
        if let Err(error) = result {
            self.closed.store(true, Ordering::Relaxed);
            if error.kind() != io::ErrorKind::BrokenPipe {
                let _ = self.failure.set(error);
            }
        }
    }
}

static STDOUT: Stream = Stream::new("standard output");
static STDERR: Stream = Stream::new("standard error");

/// Writes to standard output unless it failed before. Use [`println!`] and [`print!`].
pub fn to_stdout(text: fmt::Arguments<'_>) {
    if !STDOUT.closed.load(Ordering::Relaxed) {
        STDOUT.record(io::stdout().lock().write_fmt(text));
    }
}

/// Writes to standard error unless it failed before. Use [`eprintln!`] and [`eprint!`].
pub fn to_stderr(text: fmt::Arguments<'_>) {
    if !STDERR.closed.load(Ordering::Relaxed) {
        STDERR.record(io::stderr().lock().write_fmt(text));
    }
}

/// Flushes standard output and returns `code`, or the error exit code when a write failed
/// for another reason than a closed pipe (said on standard error, if it still takes it).
pub fn finish(code: ExitCode) -> ExitCode {
    if !STDOUT.closed.load(Ordering::Relaxed) {
        STDOUT.record(io::stdout().lock().flush());
    }
    let failed = [&STDOUT, &STDERR]
        .into_iter()
        .find_map(|stream| Some((stream.name, stream.failure.get()?)));
    match failed {
        None => code,
        Some((name, error)) => {
            super::report::error(miette::miette!("cannot write to {name}: {error}"))
        }
    }
}
