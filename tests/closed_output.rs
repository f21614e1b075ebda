//! Output a reader stops reading: `cairn plan | head` closes the pipe while cairn still writes.
//! Every command ends quietly with its own exit code, never with a panic (exit 101); a write
//! that fails for another reason (a full disk behind `>`) is an error, exit 1.
//!
//! The pipes are closed before cairn starts, so every write fails and no test depends on
//! how fast a reader is.

mod common;

use common::{Stack, TestResult, stderr_of};
use std::process::{Command, Output, Stdio};

/// A pipe whose reading end is already closed: every write to it fails with `BrokenPipe`.
fn closed_pipe() -> Result<Stdio, common::Error> {
    let (reader, writer) = std::io::pipe()?;
    drop(reader);
    Ok(Stdio::from(writer))
}

/// Runs `command` with standard output (and, when `stderr_too`, standard error) going into a
/// closed pipe.
fn into_closed_pipe(mut command: Command, stderr_too: bool) -> Result<Output, common::Error> {
    command.stdout(closed_pipe()?);
    if stderr_too {
        command.stderr(closed_pipe()?);
    }
    Ok(command.output()?)
}

fn no_panic(output: &Output) {
    let stderr = stderr_of(output);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(output.status.code(), Some(101), "{stderr}");
}

/// Regression: every `println!` of the views panicked with "failed printing to stdout: Broken
/// pipe" when the reader had gone (`cairn check --rules | head -1`).
#[test]
fn a_closed_pipe_on_stdout_ends_every_command_quietly_with_its_own_exit_code() -> TestResult {
    let stack = Stack::fixture("policy_findings")?;
    let cases: [(&[&str], i32); 6] = [
        (&["check", "--rules"], 0),
        (&["validate", "."], 0),
        (&["plan", "-e", "dev", "."], 0),
        (&["plan", "-e", "dev", "--json", "."], 0),
        (&["plan", "-e", "dev", "--detailed-exitcode", "."], 2),
        // The check finds errors: its verdict stands whether or not anybody reads it.
        (&["check", "-e", "dev", "--sarif", "."], 1),
    ];
    for (args, code) in cases {
        let output = into_closed_pipe(stack.cairn_std(args)?, false)?;
        no_panic(&output);
        assert_eq!(output.status.code(), Some(code), "cairn {args:?}");
        assert_eq!(stderr_of(&output), "", "cairn {args:?} said why it stopped");
    }
    Ok(())
}

/// `cairn apply ... 2>&1 | head`: standard error is the same closed pipe. The apply goes on
/// to the end (it is not cut short between two steps) and saves its state.
#[test]
fn an_apply_whose_output_and_errors_nobody_reads_still_finishes() -> TestResult {
    let stack = Stack::fixture("e2e_stack")?;
    let output = into_closed_pipe(
        stack.cairn_std(&["apply", "-e", "dev", "--auto-approve", "."])?,
        true,
    )?;
    assert_eq!(output.status.code(), Some(0));
    assert!(!stack.state_resources("dev")?.is_empty(), "nothing applied");
    let again = stack.cairn_std(&["plan", "-e", "dev", "--detailed-exitcode", "."])?;
    let again = into_closed_pipe(again, true)?;
    assert_eq!(
        again.status.code(),
        Some(0),
        "the apply left changes undone"
    );
    Ok(())
}

/// A failed write that is not a closed pipe is not hidden: the JSON a script relies on did
/// not reach its file.
#[cfg(target_os = "linux")]
#[test]
fn output_that_cannot_be_written_is_an_error() -> TestResult {
    let stack = Stack::fixture("policy_findings")?;
    let mut command = stack.cairn_std(&["check", "--rules"])?;
    command.stdout(std::fs::OpenOptions::new().write(true).open("/dev/full")?);
    let output = command.output()?;
    no_panic(&output);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr_of(&output).contains("error: cannot write to standard output"),
        "{}",
        stderr_of(&output)
    );
    Ok(())
}
