//! What a new user's walk through the README and a careless user's edits caught (issues 9,
//! 17 and 14 hardening, session 9): each test is named after what it caught, fails on the
//! tree before its fix and drives the binary on the simulated cloud.

mod common;

use common::{Stack, TestResult, refused_with, succeeded};

const QUICKSTART: &str = include_str!("../examples/quickstart/main.hcl");

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

/// `cairn fmt` on a file with an unclosed block printed hcl-edit's raw report, pointing at
/// the end of the file (`HCL parse error in line 7, column 24`), where `validate` names the
/// `{` left open at its line: both say it the same way now, and the file is left alone.
#[test]
fn cairn_fmt_reports_a_syntax_error_where_validate_does() -> TestResult {
    let text = "stack \"x\" {\n  backend \"local\" {\n    path = \".cairn\"\n  }\n}\n\nnetwork \"a\" {\n  cidr = \"10.0.0.0/16\"\n";
    let stack = Stack::from_text(text)?;
    for args in [&["fmt", "."][..], &["validate", "."]] {
        let output = stack.cairn(args)?.output()?;
        let stderr = refused_with(args, &output);
        assert!(
            stderr.contains("`{` is never closed") && stderr.contains("main.hcl:7:13"),
            "cairn {args:?}: {stderr}"
        );
        assert!(
            !stderr.contains("HCL parse error"),
            "cairn {args:?}: {stderr}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(stack.path().join("main.hcl"))?,
        text
    );
    Ok(())
}
