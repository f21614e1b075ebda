//! History, rollback, promote and the audit log (issue 11, second half), through the CLI on
//! the simulated cloud: every state-changing command records a version and an audit line
//! (failed ones too), `rollback --to N` makes the cloud match version N again, a rollback asks
//! for the sensitive value it never stored, `promote` carries the source's artifact and
//! refuses without a successful source version, no secret reaches the history or the audit
//! log, and an unchanged file is stored once.

mod common;

use common::{Error, Stack, TestResult};
use serde_json::Value;

/// The sensitive variable's value; it must never appear in the history or the audit log.
const SECRET: &str = "s3cret-Pa55-for-history";

/// Runs `cairn ARGS` with the password given as `CAIRN_VAR_db_password`, asserting success;
/// returns stdout.
fn run(stack: &Stack, args: &[&str]) -> Result<String, Error> {
    let output = stack
        .cairn(args)?
        .env("CAIRN_VAR_db_password", SECRET)
        .output()?;
    Ok(common::succeeded(args, &output))
}

/// Runs `cairn ARGS` without the password, asserting it failed with exit code 1; returns
/// stderr.
fn refused(stack: &Stack, args: &[&str]) -> Result<String, Error> {
    Ok(common::refused_with(args, &stack.cairn(args)?.output()?))
}

/// The versions `cairn history --json` lists, newest first.
fn versions(stack: &Stack, environment: &str) -> Result<Vec<Value>, Error> {
    let text = run(stack, &["history", "-e", environment, "--json"])?;
    let report: Value = serde_json::from_str(&text)?;
    Ok(report["versions"].as_array().cloned().unwrap_or_default())
}

/// `field` of every version, newest first.
fn field(versions: &[Value], field: &str) -> Vec<Value> {
    versions
        .iter()
        .map(|version| version[field].clone())
        .collect()
}

/// The image state records for the launch template of `environment`.
fn recorded_image(stack: &Stack, environment: &str) -> Result<Value, Error> {
    let state = stack.state(environment)?;
    Ok(state["resources"]["launch_template.web[us-east-1]"]["attributes"]["image"].clone())
}

/// The audit log's records, oldest first.
fn audit(stack: &Stack) -> Result<Vec<Value>, Error> {
    let text = std::fs::read_to_string(stack.path().join(".cairn/audit.jsonl"))?;
    Ok(text
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?)
}

/// Every byte the history and the audit log keep, as text.
fn everything_recorded(stack: &Stack) -> Result<String, Error> {
    fn collect(path: &std::path::Path, into: &mut String) -> TestResult {
        if path.is_dir() {
            for entry in std::fs::read_dir(path)? {
                collect(&entry?.path(), into)?;
            }
        } else {
            into.push_str(&String::from_utf8_lossy(&std::fs::read(path)?));
        }
        Ok(())
    }
    let mut text = String::new();
    collect(&stack.path().join(".cairn/history"), &mut text)?;
    collect(&stack.path().join(".cairn/audit.jsonl"), &mut text)?;
    Ok(text)
}

fn apply(stack: &Stack, environment: &str, extra: &[&str]) -> Result<String, Error> {
    let mut args = vec!["apply", "-e", environment, "--auto-approve"];
    args.extend_from_slice(extra);
    run(stack, &args)
}

#[test]
fn every_state_changing_command_records_a_version_newest_first_failed_ones_too() -> TestResult {
    let stack = Stack::fixture("history")?;
    apply(&stack, "staging", &[])?;
    apply(&stack, "staging", &["--var", "image=ami-00000002"])?;
    // An apply with nothing to do changes nothing and records nothing.
    apply(&stack, "staging", &["--var", "image=ami-00000002"])?;
    run(
        &stack,
        &["state", "rm", "-e", "staging", "launch_template.web"],
    )?;
    let failed = stack
        .cairn(&["state", "rm", "-e", "staging", "volume.nothing"])?
        .env("CAIRN_VAR_db_password", SECRET)
        .output()?;
    assert_eq!(failed.status.code(), Some(1));
    run(&stack, &["destroy", "-e", "staging", "--auto-approve"])?;

    let listed = versions(&stack, "staging")?;
    assert_eq!(
        field(&listed, "operation"),
        ["destroy", "state rm", "state rm", "apply", "apply"]
    );
    assert_eq!(field(&listed, "number"), [5, 4, 3, 2, 1]);
    assert_eq!(
        field(&listed, "outcome"),
        ["succeeded", "failed", "succeeded", "succeeded", "succeeded"]
    );
    assert!(
        listed[1]["failure"]
            .as_str()
            .is_some_and(|reason| reason.contains("volume.nothing")),
        "{}",
        listed[1]
    );
    assert_eq!(
        listed[2]["summary"],
        "removed launch_template.web[us-east-1]"
    );
    assert_eq!(listed[4]["summary"], "6 created");
    // The applies recorded what they applied; the edits and the destroy applied nothing.
    assert_ne!(listed[3]["config_digest"], listed[4]["config_digest"]);
    assert_eq!(listed[3]["source"]["variables"]["image"], "ami-00000002");
    assert_eq!(listed[4]["source"]["variables"]["image"], "ami-00000001");
    for edit in &listed[..3] {
        assert!(edit.get("source").is_none(), "{edit}");
    }
    for version in &listed {
        let actor = version["actor"].as_str().unwrap_or_default();
        assert!(actor.contains('@'), "{version}");
        assert!(version["duration_seconds"].as_f64().is_some(), "{version}");
    }

    let text = run(&stack, &["history", "-e", "staging"])?;
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("VERSION"), "{text}");
    assert!(lines[1].trim_start().starts_with("5 "), "{text}");
    assert!(text.contains("volume.nothing"), "{text}");
    Ok(())
}

#[test]
fn backup_runs_drills_failovers_and_failbacks_record_versions_their_audit_lines_name() -> TestResult
{
    let stack = tempfile::tempdir()?;
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/dr/main.hcl"),
        stack.path().join("main.hcl"),
    )?;
    let stack = Stack {
        directory: stack,
        subdirectory: None,
    };
    run(&stack, &["apply", "-e", "production", "--auto-approve"])?;
    run(&stack, &["backup", "run", "-e", "production"])?;
    run(&stack, &["dr", "drill", "-e", "production"])?;
    run(
        &stack,
        &["dr", "failover", "-e", "production", "--auto-approve"],
    )?;
    run(
        &stack,
        &["dr", "failback", "-e", "production", "--auto-approve"],
    )?;

    let listed = versions(&stack, "production")?;
    assert_eq!(
        field(&listed, "operation"),
        [
            "dr failback",
            "dr failover",
            "dr drill",
            "backup run",
            "apply"
        ]
    );
    assert_eq!(field(&listed, "outcome"), ["succeeded"; 5]);
    assert!(
        listed[2]["summary"]
            .as_str()
            .is_some_and(|summary| summary.starts_with("drill into us-west-2")),
        "{}",
        listed[2]
    );
    // Each audit line names the version its operation recorded: the failback's backup of
    // the DR region's volumes is part of the failback, and names its version.
    let number_of = |operation: &str| {
        listed
            .iter()
            .find(|version| version["operation"] == operation)
            .map(|version| version["number"].clone())
    };
    let lines: Vec<(Value, Value)> = audit(&stack)?
        .iter()
        .map(|record| (record["operation"].clone(), record["version"].clone()))
        .collect();
    let expected: Vec<(Value, Value)> = [
        ("apply", "apply"),
        ("backup run", "backup run"),
        ("dr drill", "dr drill"),
        ("dr failover", "dr failover"),
        ("backup run", "dr failback"),
        ("dr failback", "dr failback"),
    ]
    .into_iter()
    .map(|(line, version)| (Value::from(line), number_of(version).unwrap_or(Value::Null)))
    .collect();
    assert_eq!(lines, expected);
    assert_eq!(
        lines
            .iter()
            .map(|(_, number)| number.clone())
            .collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 5].map(Value::from)
    );
    Ok(())
}

#[test]
fn rollback_to_a_version_makes_the_cloud_match_it_again_and_the_next_plan_is_empty() -> TestResult {
    let stack = Stack::fixture("history")?;
    let first = std::fs::read_to_string(stack.path().join("main.hcl"))?;
    apply(&stack, "staging", &[])?;
    // Version 2 changes the image in the file and adds a firewall.
    let second = first.replace("ami-00000001", "ami-00000002")
        + "\nfirewall \"web\" {\n  network = network.main\n  ingress {\n    protocol = \"tcp\"\n    ports    = 443\n    from     = [\"0.0.0.0/0\"]\n  }\n}\n";
    std::fs::write(stack.path().join("main.hcl"), &second)?;
    apply(&stack, "staging", &[])?;
    assert_eq!(recorded_image(&stack, "staging")?, "ami-00000002");

    let output = run(
        &stack,
        &["rollback", "-e", "staging", "--to", "1", "--auto-approve"],
    )?;
    assert!(output.contains("firewall.web"), "{output}");
    assert!(
        output.contains("Recorded version 3 (rollback to 1, succeeded)"),
        "{output}"
    );
    assert_eq!(recorded_image(&stack, "staging")?, "ami-00000001");
    let resources = stack.state_resources("staging")?;
    assert!(
        !resources
            .keys()
            .any(|address| address.starts_with("firewall.")),
        "{resources:?}"
    );

    // The recorded configuration now matches the cloud: nothing left to do.
    let again = run(
        &stack,
        &["rollback", "-e", "staging", "--to", "1", "--auto-approve"],
    )?;
    assert!(again.contains("Nothing recorded"), "{again}");
    // And the files of version 1 plan empty against it.
    std::fs::write(stack.path().join("main.hcl"), &first)?;
    let plan = run(&stack, &["plan", "-e", "staging"])?;
    assert!(plan.contains("No changes."), "{plan}");

    // Without `--to`, the version before the current one: version 2 (the rollback is current).
    std::fs::write(stack.path().join("main.hcl"), &second)?;
    run(&stack, &["rollback", "-e", "staging", "--auto-approve"])?;
    assert_eq!(recorded_image(&stack, "staging")?, "ami-00000002");
    let listed = versions(&stack, "staging")?;
    assert_eq!(listed[0]["operation"], "rollback to 2");
    assert_eq!(listed[0]["config_digest"], listed[2]["config_digest"]);
    Ok(())
}

#[test]
fn a_rollback_asks_for_the_sensitive_value_the_history_never_stored() -> TestResult {
    let stack = Stack::fixture("history")?;
    apply(&stack, "staging", &[])?;
    apply(&stack, "staging", &["--var", "image=ami-00000002"])?;
    let error = refused(&stack, &["rollback", "-e", "staging", "--auto-approve"])?;
    assert!(
        error.contains("version 1 of `staging` needs the sensitive variable `db_password`"),
        "{error}"
    );
    assert!(error.contains("--var db_password=VALUE"), "{error}");
    assert_eq!(recorded_image(&stack, "staging")?, "ami-00000002");
    // Given it, as a plan would be, the rollback goes ahead.
    run(
        &stack,
        &[
            "rollback",
            "-e",
            "staging",
            "--auto-approve",
            "--var",
            &format!("db_password={SECRET}"),
        ],
    )?;
    assert_eq!(recorded_image(&stack, "staging")?, "ami-00000001");
    Ok(())
}

#[test]
fn promote_applies_the_artifact_the_source_last_applied_successfully() -> TestResult {
    let stack = Stack::fixture("history")?;
    let error = refused(
        &stack,
        &[
            "promote",
            "--from",
            "staging",
            "--to",
            "production",
            "--auto-approve",
        ],
    )?;
    assert!(
        error.contains("`staging` has no successfully applied version to promote from"),
        "{error}"
    );
    assert!(!stack.state_path("production").exists());

    apply(&stack, "staging", &["--var", "image=ami-0000beef"])?;
    let output = run(
        &stack,
        &[
            "promote",
            "--from",
            "staging",
            "--to",
            "production",
            "--auto-approve",
        ],
    )?;
    assert!(output.contains("promote from staging"), "{output}");
    assert_eq!(recorded_image(&stack, "production")?, "ami-0000beef");
    let listed = versions(&stack, "production")?;
    assert_eq!(field(&listed, "operation"), ["promote from staging"]);
    assert_eq!(listed[0]["source"]["variables"]["image"], "ami-0000beef");
    assert_eq!(
        listed[0]["source"]["artifacts"],
        serde_json::json!(["image"])
    );
    Ok(())
}

#[test]
fn an_artifact_cannot_be_sensitive() -> TestResult {
    let stack = Stack::fixture("history")?;
    let text = std::fs::read_to_string(stack.path().join("main.hcl"))?.replace(
        "  sensitive = true\n}",
        "  sensitive = true\n  artifact  = true\n}",
    );
    std::fs::write(stack.path().join("main.hcl"), text)?;
    let error = refused(&stack, &["validate"])?;
    assert!(
        error.contains("variable `db_password` cannot be both `sensitive` and an `artifact`"),
        "{error}"
    );
    assert!(error.contains("main.hcl:"), "{error}");
    Ok(())
}

#[test]
fn the_audit_log_has_a_line_per_command_and_never_a_secret() -> TestResult {
    let stack = Stack::fixture("history")?;
    // A saved plan in the stack directory holds the secret; it is no source file to record.
    run(&stack, &["plan", "-e", "staging", "--out", "change.plan"])?;
    assert!(std::fs::read_to_string(stack.path().join("change.plan"))?.contains(SECRET));
    apply(&stack, "staging", &[])?;
    // So does the state, which records the launch template's user data.
    assert!(std::fs::read_to_string(stack.state_path("staging"))?.contains(SECRET));
    apply(&stack, "staging", &["--var", "image=ami-00000002"])?;
    run(
        &stack,
        &["rollback", "-e", "staging", "--to", "1", "--auto-approve"],
    )?;
    run(
        &stack,
        &[
            "promote",
            "--from",
            "staging",
            "--to",
            "production",
            "--auto-approve",
        ],
    )?;
    run(
        &stack,
        &["state", "rm", "-e", "production", "launch_template.web"],
    )?;
    run(&stack, &["destroy", "-e", "staging", "--auto-approve"])?;

    let records = audit(&stack)?;
    let summary: Vec<(Value, Value, Value)> = records
        .iter()
        .map(|record| {
            (
                record["operation"].clone(),
                record["environment"].clone(),
                record["version"].clone(),
            )
        })
        .collect();
    let expected: Vec<(Value, Value, Value)> = [
        ("apply", "staging", 1),
        ("apply", "staging", 2),
        ("rollback to 1", "staging", 3),
        ("promote from staging", "production", 1),
        ("state rm", "production", 2),
        ("destroy", "staging", 4),
    ]
    .into_iter()
    .map(|(operation, environment, version)| (operation.into(), environment.into(), version.into()))
    .collect();
    assert_eq!(summary, expected);
    for record in &records {
        assert!(record["time"].is_string(), "{record}");
        assert!(
            record["actor"]
                .as_str()
                .is_some_and(|actor| actor.contains('@')),
            "{record}"
        );
        assert_eq!(record["outcome"], "succeeded", "{record}");
        assert!(record["changes"].is_object(), "{record}");
    }
    // Applies name their plan; the first one created six resources.
    assert_eq!(records[0]["changes"]["create"], 6);
    for applied in [&records[0], &records[1], &records[2], &records[5]] {
        assert_eq!(
            applied["plan_digest"].as_str().map(str::len),
            Some(64),
            "{applied}"
        );
    }

    let recorded = everything_recorded(&stack)?;
    assert!(!recorded.is_empty());
    assert!(!recorded.contains(SECRET), "a secret reached the history");
    Ok(())
}

#[test]
fn content_addressing_stores_an_unchanged_file_once() -> TestResult {
    let stack = Stack::fixture("history")?;
    std::fs::write(stack.path().join("notes.txt"), "kept with the stack\n")?;
    let objects = || -> Result<usize, Error> {
        Ok(std::fs::read_dir(stack.path().join(".cairn/history/objects"))?.count())
    };
    apply(&stack, "staging", &[])?;
    assert_eq!(objects()?, 2);
    apply(&stack, "staging", &["--var", "image=ami-00000002"])?;
    apply(&stack, "production", &[])?;
    // Three versions, two environments, the same two files.
    assert_eq!(objects()?, 2);
    std::fs::write(stack.path().join("notes.txt"), "changed\n")?;
    apply(&stack, "staging", &["--var", "image=ami-00000003"])?;
    assert_eq!(objects()?, 3);
    let listed = versions(&stack, "staging")?;
    assert_eq!(
        listed[0]["source"]["files"]["main.hcl"],
        listed[2]["source"]["files"]["main.hcl"]
    );
    assert_ne!(
        listed[0]["source"]["files"]["notes.txt"],
        listed[1]["source"]["files"]["notes.txt"]
    );
    Ok(())
}

#[test]
fn a_damaged_history_is_refused_and_never_written_over() -> TestResult {
    let stack = Stack::fixture("history")?;
    apply(&stack, "staging", &[])?;
    let list = stack.path().join(".cairn/history/staging.json");
    std::fs::write(&list, "{\"environment\": \"staging\", \"versions\": [")?;
    let output = stack
        .cairn(&[
            "apply",
            "-e",
            "staging",
            "--auto-approve",
            "--var",
            "image=ami-00000002",
        ])?
        .env("CAIRN_VAR_db_password", SECRET)
        .output()?;
    assert_eq!(output.status.code(), Some(1));
    let error = common::stderr_of(&output);
    assert!(error.contains("is damaged"), "{error}");
    assert_eq!(
        std::fs::read_to_string(&list)?,
        "{\"environment\": \"staging\", \"versions\": ["
    );
    Ok(())
}

#[test]
fn a_migration_carries_the_history_along_and_is_recorded_in_it() -> TestResult {
    let stack = Stack::fixture("history")?;
    apply(&stack, "staging", &[])?;
    apply(&stack, "staging", &["--var", "image=ami-00000002"])?;
    run(
        &stack,
        &[
            "state", "migrate", "-e", "staging", "--to", "local", "--path", "moved",
        ],
    )?;
    let moved = stack.path().join("moved");
    let list: Value = serde_json::from_str(&std::fs::read_to_string(
        moved.join("history/staging.json"),
    )?)?;
    let versions = list["versions"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        field(&versions, "operation"),
        ["apply", "apply", "state migrate"]
    );
    assert_eq!(std::fs::read_dir(moved.join("history/objects"))?.count(), 1);
    let audit = std::fs::read_to_string(moved.join("audit.jsonl"))?;
    let last: Value = serde_json::from_str(audit.lines().last().unwrap_or_default())?;
    assert_eq!(last["operation"], "state migrate");
    assert_eq!(last["version"], 3);
    Ok(())
}

/// Regression: a version recorded from outside the stack directory (`cairn apply
/// examples/webapp` from the repository's root) left out the modules the stack calls from
/// `../../modules`: they were looked for under the stack directory a second time. A rollback
/// then could not load its own configuration.
#[test]
fn a_rollback_run_from_outside_the_stack_finds_the_modules_it_calls_from_above_it() -> TestResult {
    let stack = Stack::webapp()?;
    let root = stack
        .path()
        .parent()
        .and_then(std::path::Path::parent)
        .ok_or("the example is two levels below its root")?
        .to_path_buf();
    let from_root = |args: &[&str]| -> Result<String, Error> {
        let output = stack.cairn(args)?.current_dir(&root).output()?;
        Ok(common::succeeded(args, &output))
    };
    let quick = ["--var", "bake=1s"];
    let first = [
        &["apply", "-e", "staging", "--auto-approve"][..],
        &quick,
        &["examples/webapp"],
    ];
    from_root(&first.concat())?;
    let image = ["--var", "image=ami-0b5d7e2f"];
    let second = [
        &["apply", "-e", "staging", "--auto-approve"][..],
        &quick,
        &image,
        &["examples/webapp"],
    ];
    from_root(&second.concat())?;

    let listed: Value = serde_json::from_str(&from_root(&[
        "history",
        "-e",
        "staging",
        "--json",
        "examples/webapp",
    ])?)?;
    let files = &listed["versions"][0]["source"]["files"];
    assert!(
        files
            .as_object()
            .is_some_and(|files| files.keys().any(|path| path.starts_with("../../modules/"))),
        "{files}"
    );

    let rolled = from_root(&[
        "rollback",
        "-e",
        "staging",
        "--auto-approve",
        "examples/webapp",
    ])?;
    assert!(
        rolled.contains("Recorded version 3 (rollback to 1"),
        "{rolled}"
    );
    let state = stack.state("staging")?;
    let image =
        state["resources"]["module.web.launch_template.web[us-east-1]"]["attributes"]["image"]
            .clone();
    assert_ne!(image, Value::from("ami-0b5d7e2f"), "{state}");
    Ok(())
}
