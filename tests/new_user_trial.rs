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

/// A stack of `count` small volumes on the simulated cloud.
fn volumes(count: usize) -> String {
    let sizes: Vec<String> = (0..count).map(|index| format!("v{index} = 1")).collect();
    format!(
        r#"stack "trial" {{
  backend "local" {{
    path = ".cairn"
  }}
}}

environment "dev" {{
  cloud = "sim"
  region "us-east-1" {{
    zones = ["us-east-1a"]
  }}
}}

volume "scratch" {{
  for_each  = {{ {} }}
  zone      = region.zones[0]
  size_gb   = each.value
  encrypted = true
}}
"#,
        sizes.join(", ")
    )
}

/// A Ctrl-C that came before the operation first awaited anything met the default signal
/// handler, since the handler was set up only once the operation yielded: the process died
/// without a word and left its state lock behind (on S3 a stale lock to force-unlock), and
/// one that came while the simulated cloud kept the thread busy went unseen until the run
/// ended. Here the interrupt comes the moment a destroy holds its lock.
#[cfg(unix)]
#[test]
fn a_ctrl_c_as_soon_as_a_run_holds_its_lock_stops_it_saying_so_and_releases_the_lock() -> TestResult
{
    let stack = Stack::from_text(&volumes(300))?;
    let apply = ["apply", "-e", "dev", "--auto-approve", "."];
    succeeded(&apply, &stack.cairn(&apply)?.output()?);
    let lock = stack.lock_path("dev");
    let destroy = ["destroy", "-e", "dev", "--auto-approve", "."];
    let mut child = stack
        .cairn_std(&destroy)?
        .env("CAIRN_SIM_LATENCY_MS", "20")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    while !lock.exists() {
        if let Some(status) = child.try_wait()? {
            return Err(format!("the destroy ended before it took its lock: {status}").into());
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let pid = libc::pid_t::try_from(child.id())?;
    // SAFETY: kill(2) with the id of a child this test spawned and has not waited for yet.
    let sent = unsafe { libc::kill(pid, libc::SIGINT) };
    assert_eq!(sent, 0, "SIGINT could not be sent");
    let output = child.wait_with_output()?;
    let stderr = refused_with(&destroy, &output);
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(
        !lock.exists(),
        "the interrupted run left its lock: {stderr}"
    );
    succeeded(&destroy, &stack.cairn(&destroy)?.output()?);
    assert_eq!(stack.cairn_tagged_count()?, 0);
    Ok(())
}
