//! Apply under injected throttling and transient errors: the executor's retries converge on
//! the same cloud as a clean run, with no duplicates, and the next plan is empty.

mod common;

use cairn::provider::sim::{CallOutcome, read_call_log};
use common::{Stack, TestResult, stderr_of, stdout_of};
use serde_json::Value;
use std::collections::BTreeMap;

/// The owned resources as address → attributes, with every cloud-assigned id replaced by the
/// address of the resource it names, so two runs compare equal when they built the same thing.
/// `instances` (the group's machines, with their own random ids) is left out.
fn normalized(stack: &Stack) -> Result<BTreeMap<String, Value>, common::Error> {
    let owned = stack.owned("dev")?;
    let addresses: BTreeMap<String, String> = owned
        .iter()
        .map(|resource| (resource.id.clone(), resource.address.clone()))
        .collect();
    fn replace_ids(value: &Value, addresses: &BTreeMap<String, String>) -> Value {
        match value {
            Value::String(text) => match addresses.get(text) {
                Some(address) => Value::String(format!("<id of {address}>")),
                None => value.clone(),
            },
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| replace_ids(item, addresses))
                    .collect(),
            ),
            Value::Object(map) => Value::Object(
                map.iter()
                    .filter(|(key, _)| key.as_str() != "instances")
                    .map(|(key, item)| (key.clone(), replace_ids(item, addresses)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    let mut result = BTreeMap::new();
    for resource in owned {
        let previous = result.insert(
            resource.address.clone(),
            replace_ids(&resource.attributes, &addresses),
        );
        assert!(previous.is_none(), "{} exists twice", resource.address);
    }
    Ok(result)
}

#[test]
fn apply_under_throttling_and_errors_matches_a_clean_run() -> TestResult {
    let apply = ["apply", "-e", "dev", "--auto-approve", "."];
    let clean = Stack::fixture("crash_stack")?;
    clean.cairn(&apply)?.assert().success();
    let expected = normalized(&clean)?;

    let faulty = Stack::fixture("crash_stack")?;
    let output = faulty
        .cairn(&apply)?
        .env("CAIRN_SIM_THROTTLE_RATE", "0.3")
        .env("CAIRN_SIM_ERROR_RATE", "0.05")
        .env("CAIRN_SIM_SEED", "42")
        .output()?;
    assert!(
        output.status.success(),
        "apply under faults failed\nstdout:\n{}\nstderr:\n{}",
        stdout_of(&output),
        stderr_of(&output)
    );
    // The faults really were injected: calls were throttled, and some failed transiently
    // (before or after taking effect) and were retried.
    let calls = read_call_log(&faulty.call_log_path())?;
    let count = |outcomes: &[CallOutcome]| {
        calls
            .iter()
            .filter(|call| outcomes.contains(&call.outcome))
            .count()
    };
    assert!(
        count(&[CallOutcome::Throttled]) > 0,
        "no call was throttled"
    );
    assert!(
        count(&[CallOutcome::Transient, CallOutcome::TransientAfterEffect]) > 0,
        "no call failed transiently"
    );

    assert_eq!(normalized(&faulty)?, expected);
    assert_eq!(
        faulty
            .state_resources("dev")?
            .into_keys()
            .collect::<Vec<_>>(),
        clean
            .state_resources("dev")?
            .into_keys()
            .collect::<Vec<_>>()
    );
    faulty
        .cairn(&["plan", "-e", "dev", "--detailed-exitcode", "."])?
        .assert()
        .code(0);
    Ok(())
}
