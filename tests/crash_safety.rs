//! The DESIGN promise "a process killed at any point leaves no untracked resource": for every
//! mutating call k of a clean apply, an apply killed right after call k, followed by a normal
//! apply, ends with exactly the desired resources in the cloud, each once, and an empty plan.
//!
//! The same holds under eventual consistency (issue 18): with the sim's read lag, the object
//! the killed run's last call made is still missing from the recovery run's refresh, which
//! must look for it (the intent the killed run left says where) instead of creating it again.
//!
//! At 1,000 resources (issue 14: the state and the simulated cloud save what each batch
//! changed, not the whole document) the same holds for a sample of k spread over the apply.

mod common;

use cairn::provider::sim::read_call_log;
use common::{Stack, TestResult, stderr_of, stdout_of};
use std::collections::{BTreeMap, BTreeSet};

/// What the sim holds under the environment's tags, address → ids.
fn owned_by_address(stack: &Stack) -> Result<BTreeMap<String, Vec<String>>, common::Error> {
    let mut owned: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for resource in stack.owned("dev")? {
        owned.entry(resource.address).or_default().push(resource.id);
    }
    Ok(owned)
}

#[test]
fn a_crash_after_any_mutating_call_is_recovered_without_orphans_or_duplicates() -> TestResult {
    crash_after_every_call(None)
}

/// Regression test for issue 18: a refresh right after a crash misses what the crash's last
/// call made (the cloud's read lag), and the recovery must not create it a second time.
#[test]
fn a_crash_after_any_mutating_call_under_read_lag_is_recovered_without_duplicates() -> TestResult {
    crash_after_every_call(Some(READ_LAG_MS))
}

/// Long enough that the recovery run's refresh always misses the crash's last object (a run
/// starts in a few milliseconds), short enough to keep the test's many runs quick.
const READ_LAG_MS: u64 = 150;

fn crash_after_every_call(read_lag_ms: Option<u64>) -> TestResult {
    let stack = Stack::fixture("crash_stack")?;
    let (desired, mutating) = clean_apply(&stack, 50, read_lag_ms)?;
    for k in 1..=mutating {
        crash_and_recover(&stack, &desired, k, read_lag_ms)?;
    }
    Ok(())
}

/// A stack of about 1,000 resources: a network and its subnets, and volumes.
fn thousand_resources() -> String {
    let names: Vec<String> = (0..1_000).map(|index| format!("\"v{index:04}\"")).collect();
    format!(
        r#"
stack "crash" {{
  backend "local" {{
    path = ".cairn"
  }}
}}

environment "dev" {{
  cloud = "sim"
  region "us-east-1" {{
    zones = ["us-east-1a", "us-east-1b"]
  }}
}}

network "main" {{
  cidr = "10.0.0.0/16"
  subnet "public" {{
    newbits = 8
    public  = true
  }}
}}

volume "disk" {{
  for_each  = toset([{}])
  zone      = region.zones[0]
  size_gb   = 10
  encrypted = true
}}
"#,
        names.join(", ")
    )
}

#[test]
fn a_crash_at_a_sample_of_calls_of_a_thousand_resource_apply_is_recovered() -> TestResult {
    let stack = Stack::from_text(&thousand_resources())?;
    let (desired, mutating) = clean_apply(&stack, 1_000, None)?;
    // The first and last calls, and calls spread between them, where batches of every size
    // have been saved before the crash.
    let samples = [
        1,
        2,
        mutating / 7,
        mutating / 3,
        mutating / 2,
        mutating - 1,
        mutating,
    ];
    for k in samples {
        crash_and_recover(&stack, &desired, k, None)?;
    }
    Ok(())
}

const APPLY: [&str; 5] = ["apply", "-e", "dev", "--auto-approve", "."];

/// `cairn args` in `stack`, under the sim's read lag of `read_lag_ms` if any.
fn cairn(
    stack: &Stack,
    read_lag_ms: Option<u64>,
    args: &[&str],
) -> Result<assert_cmd::Command, common::Error> {
    let mut command = stack.cairn(args)?;
    if let Some(lag) = read_lag_ms {
        command.env("CAIRN_SIM_READ_LAG_MS", lag.to_string());
    }
    Ok(command)
}

/// Applies the stack from nothing; returns its addresses and the number of mutating calls.
fn clean_apply(
    stack: &Stack,
    at_least: usize,
    read_lag_ms: Option<u64>,
) -> Result<(BTreeSet<String>, usize), common::Error> {
    cairn(stack, read_lag_ms, &APPLY)?.assert().success();
    let desired: BTreeSet<String> = stack.state_resources("dev")?.into_keys().collect();
    assert!(
        desired.len() >= at_least,
        "the stack has {} resources",
        desired.len()
    );
    let mutating = read_call_log(&stack.call_log_path())?
        .iter()
        .filter(|call| call.mutating)
        .count();
    assert!(mutating >= desired.len());
    Ok((desired, mutating))
}

/// From nothing, an apply killed right after mutating call `k`, then a normal apply: the
/// cloud holds exactly the `desired` resources, once each, the state records them and a plan
/// is empty.
fn crash_and_recover(
    stack: &Stack,
    desired: &BTreeSet<String>,
    k: usize,
    read_lag_ms: Option<u64>,
) -> TestResult {
    std::fs::remove_dir_all(stack.path().join(".cairn"))?;
    let crashed = cairn(stack, read_lag_ms, &APPLY)?
        .env("CAIRN_SIM_CRASH_AFTER", k.to_string())
        .output()?;
    assert_eq!(
        crashed.status.code(),
        Some(101),
        "k={k}: the crashing apply should exit 101\nstdout:\n{}\nstderr:\n{}",
        stdout_of(&crashed),
        stderr_of(&crashed)
    );

    let recovered = cairn(stack, read_lag_ms, &APPLY)?.output()?;
    assert!(
        recovered.status.success(),
        "k={k}: the apply after the crash failed\nstdout:\n{}\nstderr:\n{}",
        stdout_of(&recovered),
        stderr_of(&recovered)
    );

    let owned = owned_by_address(stack)?;
    let duplicated: Vec<_> = owned.iter().filter(|(_, ids)| ids.len() > 1).collect();
    assert!(
        duplicated.is_empty(),
        "k={k}: duplicated resources: {duplicated:?}"
    );
    let owned_addresses: BTreeSet<String> = owned.keys().cloned().collect();
    let missing: Vec<_> = desired.difference(&owned_addresses).collect();
    assert!(
        missing.is_empty(),
        "k={k}: missing from the cloud: {missing:?}"
    );
    let unexpected: Vec<_> = owned_addresses.difference(desired).collect();
    assert!(
        unexpected.is_empty(),
        "k={k}: owned but not desired: {unexpected:?}"
    );

    let recorded = stack.state_resources("dev")?;
    let live: BTreeMap<String, String> = owned
        .into_iter()
        .map(|(address, mut ids)| (address, ids.pop().unwrap_or_default()))
        .collect();
    assert_eq!(recorded, live, "k={k}: state and cloud disagree");

    let plan = cairn(
        stack,
        read_lag_ms,
        &["plan", "-e", "dev", "--detailed-exitcode", "."],
    )?
    .output()?;
    assert_eq!(
        plan.status.code(),
        Some(0),
        "k={k}: plan after recovery is not empty\n{}{}",
        stdout_of(&plan),
        stderr_of(&plan)
    );
    Ok(())
}
