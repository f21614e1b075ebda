//! What a new user's walk through the README and a careless user's edits caught (issues 9,
//! 17 and 14 hardening, session 9): each test is named after what it caught, fails on the
//! tree before its fix and drives the binary on the simulated cloud.

mod common;

use common::{Stack, TestResult, refused_with, stderr_of, succeeded};

const QUICKSTART: &str = include_str!("../examples/quickstart/main.hcl");

/// The quickstart's configuration with `from` replaced by `to` (which must be there once).
fn quickstart_with(from: &str, to: &str) -> Result<Stack, common::Error> {
    if QUICKSTART.matches(from).count() != 1 {
        return Err(format!("`{from}` is not in the quickstart exactly once").into());
    }
    Stack::from_text(&QUICKSTART.replacen(from, to, 1))
}

/// A usage error (an unknown flag, a missing value) exited 2, clap's default, which is also
/// what `plan --detailed-exitcode` answers for "changes present": a CI job checking for drift
/// took a mistyped flag for drift. Usage errors exit 1 as every other error; `--help` and
/// `--version` still exit 0.
#[test]
fn a_usage_error_exits_1_not_the_changes_present_code_of_detailed_exitcode() -> TestResult {
    let stack = Stack::from_text(QUICKSTART)?;
    for args in [
        &["plan", "-e", "dev", "--detailed-exitcode", "--no-such-flag"][..],
        &[
            "plan",
            "-e",
            "dev",
            "--detailed-exitcode",
            "--parallelism",
            "0",
        ],
        &["completions", "tcsh"],
        &["no-such-command"],
        &[],
    ] {
        let output = stack.cairn(args)?.output()?;
        let stderr = refused_with(args, &output);
        assert!(
            stderr.contains("error:") || stderr.contains("Usage: cairn"),
            "cairn {args:?} should say what is wrong: {stderr}"
        );
    }
    for args in [&["--help"][..], &["plan", "--help"], &["--version"]] {
        let output = stack.cairn(args)?.output()?;
        let stdout = succeeded(args, &output);
        assert!(stdout.contains("cairn"), "cairn {args:?}: {stdout}");
    }
    Ok(())
}

/// Log lines (a warning, `-v`'s debug logs) went to a redirected stderr with ANSI colour
/// codes, which the views never write off a terminal or under `NO_COLOR`: a CI log showed
/// `^[[33m WARN^[[0m`.
#[test]
fn logs_written_to_a_file_or_pipe_carry_no_colour_codes() -> TestResult {
    let stack = Stack::from_text(QUICKSTART)?;
    let output = stack
        .cairn(&["-v", "plan", "-e", "dev", "."])?
        .env_remove("NO_COLOR")
        .env_remove("CAIRN_LOG")
        .output()?;
    let stderr = stderr_of(&output);
    succeeded(&["-v", "plan", "-e", "dev", "."], &output);
    assert!(
        stderr.contains("DEBUG"),
        "-v should log the phases at debug level: {stderr}"
    );
    assert!(
        !stderr.contains('\u{1b}'),
        "a redirected stderr should get no escape codes: {stderr:?}"
    );
    Ok(())
}

/// `cairn plan` without `-e` said `cairn validate` lists the environments, which it does not
/// (it counts them): the hint names them itself.
#[test]
fn a_missing_environment_names_the_stacks_environments() -> TestResult {
    let stack = Stack::webapp()?;
    for args in [&["plan", "."][..], &["history", "."], &["show", "."]] {
        let output = stack.cairn(args)?.output()?;
        let stderr = refused_with(args, &output);
        assert!(
            stderr.contains("no environment given")
                && stderr.contains("`aws`, `production` or `staging`")
                && !stderr.contains("cairn validate"),
            "cairn {args:?} should name the environments: {stderr}"
        );
    }
    Ok(())
}

/// `regions = ["us-wst-2"]` (a typo) was accepted, and the block silently made nothing in
/// any environment: a region name the catalog does not have is an error at its element, with
/// the closest name.
#[test]
fn a_mistyped_region_in_a_blocks_regions_is_an_error_at_its_line() -> TestResult {
    let stack = quickstart_with(
        "network \"main\" {\n",
        "network \"main\" {\n  regions = [\"us-east-1\", \"us-wst-2\"]\n",
    )?;
    let output = stack.cairn(&["validate", "."])?.output()?;
    let stderr = refused_with(&["validate", "."], &output);
    assert!(
        stderr.contains("unknown region `us-wst-2`")
            && stderr.contains("main.hcl:33:")
            && stderr.contains("did you mean `us-west-2`?"),
        "{stderr}"
    );
    Ok(())
}

/// A block with `for_each` referred to without a key (`network = network.main`) was reported
/// with the engine's internal reference markers (`"\u0001network.ma...`): the message says
/// the block has instances and how to name one.
#[test]
fn a_for_each_block_referred_to_without_a_key_says_to_pick_an_instance() -> TestResult {
    let stack = quickstart_with(
        "network \"main\" {\n",
        "network \"main\" {\n  for_each = toset([\"blue\", \"green\"])\n",
    )?;
    let output = stack.cairn(&["validate", "."])?.output()?;
    let stderr = refused_with(&["validate", "."], &output);
    assert!(
        !stderr.contains("\\u0001") && !stderr.contains('\u{1}'),
        "no internal markers: {stderr}"
    );
    assert!(
        stderr.contains("main.hcl:45:13")
            && stderr.contains("`network.main` has `for_each`")
            && stderr.contains("network.main[\"blue\"]"),
        "{stderr}"
    );
    Ok(())
}
