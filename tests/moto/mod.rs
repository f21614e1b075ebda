//! Helpers shared by the CLI tests against moto (`aws_e2e.rs`, `aws_dr.rs`): the endpoint
//! (required: without `CAIRN_TEST_AWS_ENDPOINT` a test fails, it is never skipped), the dummy
//! credentials both Cairn and boto3 get, a copy of `examples/webapp` under a stack name unique
//! to the run (so runs share one moto without resets), the `cairn` binary run on that copy,
//! and boto3 scripts run with the project venv's python, which check the cloud from outside.

#![allow(dead_code)]

pub mod proxy;

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

pub const REGION: &str = "us-east-1";
pub const DR_REGION: &str = "us-west-2";

/// The moto server's URL, from `CAIRN_TEST_AWS_ENDPOINT`.
pub fn endpoint() -> String {
    std::env::var("CAIRN_TEST_AWS_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "CAIRN_TEST_AWS_ENDPOINT is not set: the AWS tests need the moto server.\n\
             hint: run `scripts/test`, or `scripts/moto start` and source the lines it prints"
        )
    })
}

/// The dummy credentials and endpoint both the CLI and boto3 get.
pub fn aws_env(endpoint: &str) -> [(&'static str, String); 7] {
    [
        ("AWS_ENDPOINT_URL", endpoint.to_string()),
        ("AWS_ACCESS_KEY_ID", "testing".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
        ("AWS_SESSION_TOKEN", "testing".to_string()),
        ("AWS_DEFAULT_REGION", REGION.to_string()),
        ("AWS_REGION", REGION.to_string()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
    ]
}

/// A copy of the example (and the modules it sources) under a stack name unique to the run.
pub struct Webapp {
    _root: tempfile::TempDir,
    pub dir: PathBuf,
    pub stack: String,
}

fn copy_tree(from: &Path, to: &Path) {
    fs_err::create_dir_all(to).unwrap_or_else(|error| panic!("{error}"));
    for entry in fs_err::read_dir(from).unwrap_or_else(|error| panic!("{error}")) {
        let entry = entry.unwrap_or_else(|error| panic!("{error}"));
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            if entry.file_name() != ".cairn" {
                copy_tree(&entry.path(), &target);
            }
        } else {
            fs_err::copy(entry.path(), &target).unwrap_or_else(|error| panic!("{error}"));
        }
    }
}

pub fn copy_webapp() -> Webapp {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = tempfile::tempdir().unwrap_or_else(|error| panic!("tempdir: {error}"));
    // `examples/webapp` sources `../../modules/...`: keep the same layout.
    copy_tree(&source.join("modules"), &root.path().join("modules"));
    let dir = root.path().join("examples/webapp");
    copy_tree(&source.join("examples/webapp"), &dir);
    let run = uuid::Uuid::new_v4().simple().to_string();
    let stack = format!("webapp-{}", &run[..10]);
    let main = dir.join("main.hcl");
    let text = fs_err::read_to_string(&main).unwrap_or_else(|error| panic!("{error}"));
    assert!(text.contains("stack \"webapp\""));
    fs_err::write(
        &main,
        text.replace("stack \"webapp\"", &format!("stack \"{stack}\"")),
    )
    .unwrap_or_else(|error| panic!("{error}"));
    Webapp {
        _root: root,
        dir,
        stack,
    }
}

impl Webapp {
    /// Runs `cairn ARGS DIR` against moto; asserts it exited 0 or 2 and returns the exit code
    /// and stdout.
    pub fn cairn(&self, args: &[&str]) -> (Option<i32>, String) {
        let output = Command::cargo_bin("cairn")
            .unwrap_or_else(|error| panic!("cannot find the cairn binary: {error}"))
            .args(args)
            .arg(&self.dir)
            .envs(aws_env(&endpoint()))
            .env("NO_COLOR", "1")
            .output()
            .unwrap_or_else(|error| panic!("cannot run cairn: {error}"));
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let code = output.status.code();
        assert!(
            matches!(code, Some(0 | 2)),
            "cairn {args:?} exited {code:?}\nstdout:\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        (code, stdout)
    }
}

impl Webapp {
    /// `cairn ARGS DIR` against `endpoint` (moto, or a proxy in front of it) with `extra`
    /// variables, not yet run: the caller decides how it ends.
    pub fn command(
        &self,
        endpoint: &str,
        args: &[&str],
        extra: &[(&str, &str)],
    ) -> std::process::Command {
        let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("cairn"));
        command
            .args(args)
            .arg(&self.dir)
            .envs(aws_env(endpoint))
            .envs(extra.iter().copied())
            .env("NO_COLOR", "1");
        command
    }
}

/// Runs a boto3 script with the venv's python and `args`; its stdout is one JSON document.
pub fn boto3(script: &str, args: &[&str]) -> Value {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    let output = std::process::Command::new(&python)
        .args(["-c", script])
        .args(args)
        .envs(aws_env(&endpoint()))
        .output()
        .unwrap_or_else(|error| {
            panic!(
                "cannot run {} (installed by `scripts/moto start`): {error}",
                python.display()
            )
        });
    assert!(
        output.status.success(),
        "boto3 script failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("boto3 script printed no JSON: {error}"))
}
