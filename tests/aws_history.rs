//! History, rollback and the audit log on the S3 state backend (moto), checked from outside
//! with boto3: the versions, the recorded files and the audit log live beside the state under
//! the backend's key, a rollback reads its configuration back from there, and with a state key
//! set the history is sealed like the state. `tests/history.rs` runs the stories on local
//! state.
//!
//! Needs `CAIRN_TEST_AWS_ENDPOINT` (set by `scripts/test` / `scripts/moto start`); without it
//! the tests fail, they are never skipped.
#![cfg(feature = "aws")]

mod common;
mod moto;

use common::{Error, Stack, TestResult};
use serde_json::Value;

/// Creates a bucket and lists every object of one, with its content.
const S3_SCRIPT: &str = r#"
import boto3, json, sys
s3 = boto3.client("s3")
action, bucket = sys.argv[1], sys.argv[2]
if action == "create":
    s3.create_bucket(Bucket=bucket)
    print(json.dumps(True))
elif action == "all":
    objects = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            objects[item["Key"]] = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().decode("utf-8", "replace")
    print(json.dumps(objects))
"#;

const SECRET: &str = "s3cret-Pa55-on-s3";

/// The `history` fixture with its state in a new bucket of moto (`extra` goes into the
/// `stack` block); the cloud stays the simulated one.
fn on_s3(extra: &str) -> Result<(Stack, String), Error> {
    let bucket = format!(
        "cairn-history-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    moto::boto3(S3_SCRIPT, &["create", &bucket]);
    let fixture = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/history/main.hcl"),
    )?;
    let local = "  backend \"local\" {\n    path = \".cairn\"\n  }\n";
    assert!(fixture.contains(local));
    let s3 = format!(
        "  backend \"s3\" {{\n    bucket   = \"{bucket}\"\n    key      = \"teams/releases\"\n    region   = \"us-east-1\"\n    endpoint = \"{}\"\n  }}\n{extra}",
        moto::endpoint()
    );
    Ok((Stack::from_text(&fixture.replace(local, &s3))?, bucket))
}

fn run(stack: &Stack, args: &[&str], key: Option<&str>) -> Result<String, Error> {
    let mut command = stack.cairn(args)?;
    command
        .envs(moto::aws_env(&moto::endpoint()))
        .env("CAIRN_VAR_db_password", SECRET);
    if let Some(key) = key {
        command.env("CAIRN_STATE_KEY", key);
    }
    Ok(common::succeeded(args, &command.output()?))
}

fn objects(bucket: &str) -> serde_json::Map<String, Value> {
    moto::boto3(S3_SCRIPT, &["all", bucket])
        .as_object()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn history_rollback_and_audit_live_beside_the_state_in_s3() -> TestResult {
    let (stack, bucket) = on_s3("")?;
    run(&stack, &["apply", "-e", "staging", "--auto-approve"], None)?;
    run(
        &stack,
        &[
            "apply",
            "-e",
            "staging",
            "--auto-approve",
            "--var",
            "image=ami-00000002",
        ],
        None,
    )?;
    run(
        &stack,
        &["rollback", "-e", "staging", "--to", "1", "--auto-approve"],
        None,
    )?;
    let report: Value =
        serde_json::from_str(&run(&stack, &["history", "-e", "staging", "--json"], None)?)?;
    let operations: Vec<&Value> = report["versions"]
        .as_array()
        .map(|versions| {
            versions
                .iter()
                .map(|version| &version["operation"])
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(operations, ["rollback to 1", "apply", "apply"]);
    assert_eq!(
        report["location"],
        format!("s3://{bucket}/teams/releases/history")
    );
    let state: Value =
        serde_json::from_str(&run(&stack, &["show", "-e", "staging", "--json"], None)?)?;
    assert!(state.to_string().contains("ami-00000001"), "{state}");
    assert!(!state.to_string().contains("ami-00000002"), "{state}");

    let stored = objects(&bucket);
    let list: Value = serde_json::from_str(
        stored["teams/releases/history/staging.json"]
            .as_str()
            .unwrap_or_default(),
    )?;
    assert_eq!(list["versions"].as_array().map(Vec::len), Some(3));
    // One file, unchanged through three versions: one object.
    let files = stored
        .keys()
        .filter(|key| key.starts_with("teams/releases/history/objects/"))
        .count();
    assert_eq!(files, 1);
    let audit = stored["teams/releases/audit.jsonl"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(audit.lines().count(), 3, "{audit}");
    for (key, content) in &stored {
        if key.contains("/history/") || key.ends_with("audit.jsonl") {
            assert!(
                !content.as_str().unwrap_or_default().contains(SECRET),
                "{key}"
            );
        }
    }
    Ok(())
}

#[test]
fn with_a_state_key_the_history_in_s3_is_sealed() -> TestResult {
    let (stack, bucket) = on_s3("  encryption {\n    key_env = \"CAIRN_STATE_KEY\"\n  }\n")?;
    let key = Some("correct horse battery staple");
    run(&stack, &["apply", "-e", "staging", "--auto-approve"], key)?;
    let stored = objects(&bucket);
    let history: Vec<(&String, &Value)> = stored
        .iter()
        .filter(|(name, _)| name.contains("/history/"))
        .collect();
    assert_eq!(history.len(), 2, "{stored:?}");
    for (name, content) in history {
        let text = content.as_str().unwrap_or_default();
        assert!(text.contains("cairn_encrypted"), "{name}: {text}");
        assert!(!text.contains("ami-00000001"), "{name}");
    }
    let report: Value =
        serde_json::from_str(&run(&stack, &["history", "-e", "staging", "--json"], key)?)?;
    assert_eq!(
        report["versions"][0]["source"]["variables"]["image"],
        "ami-00000001"
    );
    Ok(())
}
