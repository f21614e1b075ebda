//! The benchmarks' `cairn` command inherits none of the caller's `CAIRN_SIM_*` or
//! `CAIRN_VAR_*` variables (issue 16: a `CAIRN_SIM_FILE` in the shell made the apply
//! benchmark's three runs share one cloud).

#[path = "../benches/common/mod.rs"]
mod bench_common;

use std::ffi::{OsStr, OsString};
use std::process::Command;

#[test]
fn a_benchmarks_cairn_inherits_no_cairn_settings_of_the_caller() {
    let inherited = [
        "CAIRN_SIM_FILE",
        "CAIRN_SIM_LATENCY_MS",
        "CAIRN_SIM_OUTAGE",
        "CAIRN_SIM_SOMETHING_NEW",
        "CAIRN_VAR_image",
        "CAIRN_LOG",
        "PATH",
    ]
    .map(OsString::from);
    let mut command = Command::new("cairn");
    bench_common::isolate(&mut command, inherited);
    let removed: Vec<&OsStr> = command
        .get_envs()
        .filter(|(_, value)| value.is_none())
        .map(|(name, _)| name)
        .collect();
    assert_eq!(
        removed,
        [
            "CAIRN_SIM_FILE",
            "CAIRN_SIM_LATENCY_MS",
            "CAIRN_SIM_OUTAGE",
            "CAIRN_SIM_SOMETHING_NEW",
            "CAIRN_VAR_image",
        ]
        .map(OsStr::new)
    );
}

/// The command the benchmarks run really reaches a cloud of its own: with a cloud file named
/// by the caller's environment, `cairn sim show` in a fresh directory still sees its own.
#[test]
fn a_benchmarks_cairn_ignores_a_cloud_file_named_by_the_caller() {
    let directory = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let elsewhere = directory.path().join("shared/cloud.json");
    let stack = directory.path().join("stack");
    std::fs::create_dir_all(&stack).unwrap_or_else(|error| panic!("{error}"));
    let mut command = Command::new(env!("CARGO_BIN_EXE_cairn"));
    command.env("CAIRN_SIM_FILE", &elsewhere);
    // What the caller's shell would hold, as `common::cairn()` sees it.
    bench_common::isolate(&mut command, [OsString::from("CAIRN_SIM_FILE")]);
    let output = command
        .args(["sim", "show"])
        .arg(&stack)
        .output()
        .unwrap_or_else(|error| panic!("{error}"));
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{shown}");
    assert!(
        shown.contains(&stack.join(".cairn/sim/cloud.json").display().to_string()),
        "{shown}"
    );
    assert!(!shown.contains("shared"), "{shown}");
}
