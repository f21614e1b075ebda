//! Pacing to AWS's API rate limits, on the simulated cloud emulating them
//! (`CAIRN_SIM_RATE_LIMITS=aws`) with its clock set: the buckets refill on that clock and the
//! client waits on it, so these tests take no real time for the seconds they wait.

mod common;

use cairn::provider::rate_limits::{Bucket, Call};
use cairn::provider::sim::{CallOutcome, CallRecord, SimCloud, read_call_log};
use common::{Stack, TestResult, stderr_of, stdout_of};
use std::fmt::Write as _;

/// A stack of `volumes` volumes and `firewalls` firewalls on one network in us-east-1: all
/// but the network's few calls draw on EC2's mutating bucket (50 tokens, 5 a second).
fn stack(volumes: usize, firewalls: usize) -> Result<Stack, common::Error> {
    let mut text = String::from(
        r#"stack "paced" {
  backend "local" {
    path = ".cairn"
  }
}

environment "dev" {
  cloud = "sim"
  region "us-east-1" {
    zones = ["us-east-1a"]
  }
}

network "main" {
  cidr = "10.0.0.0/16"
}
"#,
    );
    for index in 0..volumes {
        let _ = write!(
            text,
            "\nvolume \"v{index}\" {{\n  zone      = region.zones[0]\n  size_gb   = 10\n  encrypted = true\n}}\n"
        );
    }
    for index in 0..firewalls {
        let _ = write!(
            text,
            "\nfirewall \"f{index}\" {{\n  network = network.main\n  ingress {{\n    protocol = \"tcp\"\n    ports    = {port}\n    from     = [\"10.0.0.0/8\"]\n  }}\n}}\n",
            port = 1000 + index
        );
    }
    Stack::from_text(&text)
}

const LIMITS: (&str, &str) = ("CAIRN_SIM_RATE_LIMITS", "aws");

/// Sets the simulated cloud's clock, so that the buckets refill only as the client waits.
fn set_clock(stack: &Stack) -> TestResult {
    stack
        .cairn(&["sim", "clock", "--set", "2030-01-01T00:00:00Z"])?
        .assert()
        .success();
    Ok(())
}

fn ec2_mutations(calls: &[CallRecord]) -> usize {
    calls
        .iter()
        .filter(|call| {
            Bucket::of(call.kind, Call::of(call.kind, call.mutating, false)) == Bucket::Ec2Mutate
        })
        .count()
}

fn throttled(calls: &[CallRecord]) -> Vec<&CallRecord> {
    calls
        .iter()
        .filter(|call| call.outcome == CallOutcome::Throttled)
        .collect()
}

/// Runs `args` with the buckets emulated and fails with its output unless it succeeds; its
/// output must not report throttling but as a call being retried.
fn run_paced(stack: &Stack, args: &[&str]) -> TestResult {
    let output = stack.cairn(args)?.env(LIMITS.0, LIMITS.1).output()?;
    let (stdout, stderr) = (stdout_of(&output), stderr_of(&output));
    assert!(
        output.status.success(),
        "`cairn {}` failed\nstdout:\n{stdout}\nstderr:\n{stderr}",
        args.join(" ")
    );
    // A throttled call may be announced as retried; it must never be an error.
    for line in stdout.lines().chain(stderr.lines()) {
        let lower = line.to_lowercase();
        let throttling = lower.contains("throttl") || lower.contains("limitexceeded");
        assert!(
            !throttling || lower.contains(": retrying (attempt"),
            "a throttling error reached the user: {line}"
        );
    }
    Ok(())
}

#[test]
fn an_apply_over_the_mutating_bucket_is_paced_on_the_clouds_clock_and_never_throttled() -> TestResult
{
    let stack = stack(60, 40)?;
    set_clock(&stack)?;
    let cloud = SimCloud::open(&stack.cloud_path())?;
    let before = cloud.clock()?.ok_or("the clock is not set")?;

    run_paced(&stack, &["apply", "-e", "dev", "--auto-approve", "."])?;

    let calls = read_call_log(&stack.call_log_path())?;
    let mutations = ec2_mutations(&calls);
    assert!(
        mutations > 100,
        "only {mutations} EC2 changes: the bucket was never emptied"
    );
    // The client's copy of the bucket started as full as the cloud's: nothing was refused.
    assert_eq!(throttled(&calls).len(), 0, "{:?}", throttled(&calls));
    // The calls past the burst of 50 waited for their tokens on the cloud's clock.
    let waited = (cloud.clock()?.ok_or("the clock was unset")? - before).num_milliseconds();
    let refill_ms = i64::try_from((mutations - 50) * 200)?;
    assert!(
        waited >= refill_ms,
        "{mutations} changes in {waited} ms of the cloud's clock: faster than the bucket refills"
    );

    // The next plan is empty: pacing changed nothing of what was made.
    let output = stack
        .cairn(&["plan", "-e", "dev", "--detailed-exitcode", "."])?
        .env(LIMITS.0, LIMITS.1)
        .output()?;
    assert_eq!(output.status.code(), Some(0), "{}", stdout_of(&output));
    Ok(())
}

#[test]
fn a_second_process_meeting_a_drained_bucket_slows_down_and_retries_its_throttled_calls()
-> TestResult {
    let stack = stack(60, 0)?;
    set_clock(&stack)?;
    run_paced(&stack, &["apply", "-e", "dev", "--auto-approve", "."])?;
    let applied = read_call_log(&stack.call_log_path())?.len();

    // At once, on the same clock: the cloud's bucket is empty, the new process's copy full.
    run_paced(&stack, &["destroy", "-e", "dev", "--auto-approve", "."])?;

    let calls = read_call_log(&stack.call_log_path())?;
    let destroy = &calls[applied..];
    let refused = throttled(destroy);
    assert!(!refused.is_empty(), "the drained bucket refused nothing");
    assert!(
        refused.len() <= 15,
        "{} calls throttled: the pacer did not slow down",
        refused.len()
    );
    for call in &refused {
        assert_eq!(call.error_code.as_deref(), Some("RequestLimitExceeded"));
        let retried = destroy.iter().any(|later| {
            later.sequence > call.sequence
                && later.operation == call.operation
                && later.id == call.id
                && later.outcome == CallOutcome::Ok
        });
        assert!(retried, "throttled call never retried: {call:?}");
    }
    assert_eq!(
        stack.cairn_tagged_count()?,
        0,
        "the destroy left resources behind"
    );
    Ok(())
}
