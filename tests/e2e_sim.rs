//! End to end through the CLI on the simulated cloud: apply, converge, update, replace,
//! create-before-destroy, destroy, drift, stale saved plans, locks and corrupt state, each on
//! a copy of `tests/fixtures/e2e_stack` in a tempdir.

mod common;

use cairn::provider::sim::read_call_log;
use common::{Stack, TestResult, squeeze, stderr_of, stdout_of};
use predicates::str::contains;

fn applied() -> Result<Stack, common::Error> {
    let stack = Stack::fixture("e2e_stack")?;
    stack
        .cairn(&["apply", "-e", "dev", "--auto-approve", "."])?
        .assert()
        .success()
        .stdout(contains(
            "Apply complete! Resources: 10 added, 0 changed, 0 destroyed.",
        ));
    Ok(stack)
}

fn assert_converged(stack: &Stack, vars: &[&str]) -> TestResult {
    let mut args = vec!["plan", "-e", "dev", "--detailed-exitcode"];
    args.extend_from_slice(vars);
    args.push(".");
    stack
        .cairn(&args)?
        .assert()
        .code(0)
        .stdout(contains("No changes."));
    Ok(())
}

/// The next command reads the simulated cloud as one document: an apply folds the journal its
/// calls appended into the cloud file before it returns, as it writes its state whole (issue
/// 14: the first plan after a 100,000-resource apply parsed and replayed a journal as large as
/// the file).
#[test]
fn an_apply_leaves_the_simulated_cloud_in_one_file_without_a_journal() -> TestResult {
    let stack = applied()?;
    let journal = stack.path().join(".cairn/sim/cloud.json.journal");
    assert!(!journal.exists(), "the apply left {}", journal.display());
    let cloud: serde_json::Value = serde_json::from_slice(&std::fs::read(stack.cloud_path())?)?;
    let volumes = cloud["regions"]["us-east-1"]["resources"]
        .as_object()
        .ok_or("no resources in the cloud file")?
        .values()
        .filter(|resource| resource["kind"] == "volume")
        .count();
    assert_eq!(volumes, 2);
    assert_converged(&stack, &[])
}

#[test]
fn apply_then_plan_has_no_changes() -> TestResult {
    let stack = applied()?;
    assert_converged(&stack, &[])?;
    let owned = stack.owned("dev")?;
    let addresses: Vec<&str> = owned.iter().map(|r| r.address.as_str()).collect();
    assert_eq!(
        addresses,
        [
            "autoscaling.web[us-east-1]",
            "firewall.web[us-east-1]",
            "launch_template.web[us-east-1]",
            "network.main.gateway[us-east-1]",
            "network.main.route_table.public[us-east-1]",
            "network.main.subnet.public[us-east-1a]",
            "network.main.subnet.public[us-east-1b]",
            "network.main[us-east-1]",
            "volume.data[us-east-1]",
            "volume.logs[us-east-1]",
        ]
    );
    // The state records exactly what the sim holds under the environment's tags.
    let recorded = stack.state_resources("dev")?;
    let live: std::collections::BTreeMap<String, String> =
        owned.into_iter().map(|r| (r.address, r.id)).collect();
    assert_eq!(recorded, live);
    assert_eq!(recorded.len(), 10);
    Ok(())
}

#[test]
fn a_variable_change_updates_one_attribute_and_converges() -> TestResult {
    let stack = applied()?;
    let output = stack
        .cairn(&[
            "plan",
            "-e",
            "dev",
            "--detailed-exitcode",
            "--var",
            "capacity=3",
            ".",
        ])?
        .output()?;
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    let text = stdout_of(&output);
    assert!(
        text.contains("# autoscaling.web[us-east-1] will be updated in place"),
        "{text}"
    );
    assert!(text.contains("~ desired = 2 -> 3"), "{text}");
    assert!(
        text.contains("Plan: 0 to add, 1 to change, 0 to destroy."),
        "{text}"
    );
    assert_eq!(
        text.matches(" will be ").count(),
        1,
        "only one change expected:\n{text}"
    );

    stack
        .cairn(&[
            "apply",
            "-e",
            "dev",
            "--auto-approve",
            "--var",
            "capacity=3",
            ".",
        ])?
        .assert()
        .success()
        .stdout(contains("Resources: 0 added, 1 changed, 0 destroyed."));
    let group = stack
        .owned("dev")?
        .into_iter()
        .find(|r| r.address == "autoscaling.web[us-east-1]")
        .ok_or("group missing")?;
    assert_eq!(group.attributes["desired"], 3);
    assert_converged(&stack, &["--var", "capacity=3"])
}

#[test]
fn a_replacing_change_is_planned_as_replace_and_applied() -> TestResult {
    let stack = applied()?;
    let before = stack.state_resources("dev")?;
    let output = stack
        .cairn(&["plan", "-e", "dev", "--var", "logs_encrypted=false", "."])?
        .output()?;
    let text = stdout_of(&output);
    assert!(
        text.contains("# volume.logs[us-east-1] must be replaced"),
        "{text}"
    );
    assert!(
        text.contains("-/+ volume \"volume.logs[us-east-1]\""),
        "{text}"
    );
    assert!(
        text.contains("~ encrypted = true -> false # forces replacement"),
        "{text}"
    );
    assert!(
        text.contains("Plan: 1 to add, 0 to change, 1 to destroy."),
        "{text}"
    );

    stack
        .cairn(&[
            "apply",
            "-e",
            "dev",
            "--auto-approve",
            "--var",
            "logs_encrypted=false",
            // Decrypting is what forces the replacement under test; the policy objects.
            "--allow",
            "CAIRN004",
            ".",
        ])?
        .assert()
        .success()
        .stdout(contains("Resources: 1 added, 0 changed, 1 destroyed."));
    let after = stack.state_resources("dev")?;
    let address = "volume.logs[us-east-1]";
    assert_ne!(before[address], after[address], "the volume got a new id");
    let logs: Vec<_> = stack
        .owned("dev")?
        .into_iter()
        .filter(|r| r.address == address)
        .collect();
    assert_eq!(logs.len(), 1, "exactly one volume at {address}: {logs:?}");
    assert_eq!(logs[0].attributes["encrypted"], false);
    assert_converged(&stack, &["--var", "logs_encrypted=false"])
}

#[test]
fn create_before_destroy_creates_the_new_object_before_deleting_the_old() -> TestResult {
    let stack = applied()?;
    let address = "volume.data[us-east-1]";
    let old_id = stack.state_resources("dev")?[address].clone();
    let logged_before = read_call_log(&stack.call_log_path())?.len();

    stack
        .cairn(&[
            "apply",
            "-e",
            "dev",
            "--auto-approve",
            "--var",
            "data_encrypted=false",
            // Decrypting is what forces the replacement under test; the policy objects.
            "--allow",
            "CAIRN004",
            ".",
        ])?
        .assert()
        .success()
        .stdout(contains("Resources: 1 added, 0 changed, 1 destroyed."));
    let new_id = stack.state_resources("dev")?[address].clone();
    assert_ne!(old_id, new_id);

    let calls = read_call_log(&stack.call_log_path())?;
    let calls = &calls[logged_before..];
    let position = |operation: &str, id: &str| {
        calls
            .iter()
            .position(|call| call.operation == operation && call.id.as_deref() == Some(id))
    };
    let created = position("CreateVolume", &new_id).ok_or("no CreateVolume of the new id")?;
    let deleted = position("DeleteVolume", &old_id).ok_or("no DeleteVolume of the old id")?;
    assert!(
        created < deleted,
        "CreateVolume {new_id} (call {created}) must come before DeleteVolume {old_id} (call {deleted})"
    );
    assert_converged(&stack, &["--var", "data_encrypted=false"])
}

#[test]
fn destroy_removes_every_owned_resource_and_empties_state() -> TestResult {
    let stack = applied()?;
    assert!(stack.cairn_tagged_count()? >= 10);
    stack
        .cairn(&["destroy", "-e", "dev", "--auto-approve", "."])?
        .assert()
        .success();
    assert_eq!(stack.cairn_tagged_count()?, 0, "{:?}", stack.owned("dev")?);
    let state = stack.state("dev")?;
    assert_eq!(
        state["resources"].as_object().map(|m| m.len()),
        Some(0),
        "{state}"
    );
    Ok(())
}

#[test]
fn a_protected_environment_refuses_destroy_without_force() -> TestResult {
    let stack = Stack::fixture("e2e_stack")?;
    // The fixture's `prod` is protected but not production-ready; readiness is not under test.
    stack
        .cairn(&[
            "apply",
            "-e",
            "prod",
            "--auto-approve",
            "--allow",
            "CAIRN009,CAIRN011,CAIRN012",
            ".",
        ])?
        .assert()
        .success();
    let state_before = std::fs::read(stack.state_path("prod"))?;
    let output = stack
        .cairn(&["destroy", "-e", "prod", "--auto-approve", "."])?
        .output()?;
    assert_eq!(output.status.code(), Some(1));
    let message = squeeze(&stderr_of(&output));
    assert!(message.contains("`prod`isprotected"), "{message}");
    assert!(message.contains("--force"), "{message}");
    assert_eq!(std::fs::read(stack.state_path("prod"))?, state_before);
    assert_eq!(stack.owned("prod")?.len(), 10);

    stack
        .cairn(&["destroy", "-e", "prod", "--auto-approve", "--force", "."])?
        .assert()
        .success();
    assert_eq!(stack.owned("prod")?.len(), 0);
    Ok(())
}

#[test]
fn drift_is_shown_and_corrected() -> TestResult {
    let stack = applied()?;
    stack
        .cairn(&["sim", "set", "e2e-dev-web", "desired", "4"])?
        .assert()
        .success();
    let output = stack
        .cairn(&["plan", "-e", "dev", "--detailed-exitcode", "."])?
        .output()?;
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    let text = stdout_of(&output);
    let drift = text
        .find("Objects have changed outside of Cairn")
        .ok_or(format!("no drift section:\n{text}"))?;
    let actions = text
        .find("Cairn will perform the following actions")
        .ok_or(format!("no actions:\n{text}"))?;
    assert!(drift < actions);
    assert!(
        text[drift..actions].contains("~ desired = 2 -> 4"),
        "{text}"
    );
    assert!(text[actions..].contains("~ desired = 4 -> 2"), "{text}");
    assert!(
        text.contains("Plan: 0 to add, 1 to change, 0 to destroy."),
        "{text}"
    );

    stack
        .cairn(&["apply", "-e", "dev", "--auto-approve", "."])?
        .assert()
        .success();
    assert_converged(&stack, &[])?;

    // A resource deleted behind the engine's back is created again.
    let logs_id = stack.state_resources("dev")?["volume.logs[us-east-1]"].clone();
    stack
        .cairn(&["sim", "delete", &logs_id])?
        .assert()
        .success();
    let output = stack
        .cairn(&["plan", "-e", "dev", "--detailed-exitcode", "."])?
        .output()?;
    assert_eq!(output.status.code(), Some(2));
    let text = stdout_of(&output);
    assert!(
        text.contains("# volume.logs[us-east-1] will be created"),
        "{text}"
    );
    assert!(
        text.contains("Plan: 1 to add, 0 to change, 0 to destroy."),
        "{text}"
    );
    stack
        .cairn(&["apply", "-e", "dev", "--auto-approve", "."])?
        .assert()
        .success();
    assert_converged(&stack, &[])
}

#[test]
fn a_saved_plan_is_refused_after_the_state_changed() -> TestResult {
    let stack = applied()?;
    stack
        .cairn(&[
            "plan",
            "-e",
            "dev",
            "--var",
            "capacity=3",
            "--out",
            "saved.plan",
            ".",
        ])?
        .assert()
        .success();
    stack
        .cairn(&[
            "apply",
            "-e",
            "dev",
            "--auto-approve",
            "--var",
            "capacity=4",
            ".",
        ])?
        .assert()
        .success();
    let state_before = std::fs::read(stack.state_path("dev"))?;
    let output = stack
        .cairn(&["apply", "-e", "dev", "saved.plan"])?
        .output()?;
    assert_eq!(output.status.code(), Some(1));
    let message = squeeze(&stderr_of(&output));
    assert!(message.contains("thesavedplanisstale"), "{message}");
    assert!(message.contains("cairnplan"), "{message}");
    assert_eq!(std::fs::read(stack.state_path("dev"))?, state_before);
    let group = stack
        .owned("dev")?
        .into_iter()
        .find(|r| r.address == "autoscaling.web[us-east-1]")
        .ok_or("group missing")?;
    assert_eq!(
        group.attributes["desired"], 4,
        "the stale plan changed nothing"
    );
    Ok(())
}

#[test]
fn a_saved_plan_applies_when_the_state_is_unchanged() -> TestResult {
    let stack = applied()?;
    stack
        .cairn(&[
            "plan",
            "-e",
            "dev",
            "--var",
            "capacity=3",
            "--out",
            "saved.plan",
            ".",
        ])?
        .assert()
        .success();
    stack
        .cairn(&["apply", "-e", "dev", "saved.plan"])?
        .assert()
        .success()
        .stdout(contains("Resources: 0 added, 1 changed, 0 destroyed."));
    assert_converged(&stack, &["--var", "capacity=3"])
}

#[test]
fn a_held_lock_refuses_a_second_apply_and_force_unlock_releases_it() -> TestResult {
    let stack = applied()?;
    let host = hostname::get()?.to_string_lossy().into_owned();
    let pid = std::process::id();
    // This test process is alive, so the lock is not stale.
    let holder = cairn::state::LockInfo {
        id: "e2e-lock-7".to_string(),
        user: "alice".to_string(),
        host: host.clone(),
        pid,
        time: "2026-01-01T00:00:00Z".to_string(),
        operation: "apply".to_string(),
    };
    std::fs::write(stack.lock_path("dev"), serde_json::to_vec(&holder)?)?;
    let state_before = std::fs::read(stack.state_path("dev"))?;

    let output = stack
        .cairn(&[
            "apply",
            "-e",
            "dev",
            "--auto-approve",
            "--var",
            "capacity=3",
            ".",
        ])?
        .output()?;
    assert_eq!(output.status.code(), Some(1));
    let message = squeeze(&stderr_of(&output));
    assert!(message.contains(&format!("alice@{host}")), "{message}");
    assert!(message.contains(&format!("pid{pid}")), "{message}");
    assert!(
        message.contains("cairnforce-unlock-edeve2e-lock-7"),
        "{message}"
    );
    assert_eq!(std::fs::read(stack.state_path("dev"))?, state_before);

    stack
        .cairn(&["force-unlock", "-e", "dev", "e2e-lock-7", "."])?
        .assert()
        .success();
    assert!(!stack.lock_path("dev").exists());
    stack
        .cairn(&[
            "apply",
            "-e",
            "dev",
            "--auto-approve",
            "--var",
            "capacity=3",
            ".",
        ])?
        .assert()
        .success()
        .stdout(contains("Resources: 0 added, 1 changed, 0 destroyed."));
    Ok(())
}

#[test]
fn a_corrupt_or_truncated_state_is_refused_and_left_unchanged() -> TestResult {
    let stack = applied()?;
    let valid = std::fs::read(stack.state_path("dev"))?;
    let corrupt = b"{ this is not json".to_vec();
    let truncated = valid[..valid.len() / 2].to_vec();
    for (name, bytes) in [("corrupt", corrupt), ("truncated", truncated)] {
        std::fs::write(stack.state_path("dev"), &bytes)?;
        for command in [
            vec!["plan", "-e", "dev", "."],
            vec![
                "apply",
                "-e",
                "dev",
                "--auto-approve",
                "--var",
                "capacity=3",
                ".",
            ],
            vec!["destroy", "-e", "dev", "--auto-approve", "."],
        ] {
            let output = stack.cairn(&command)?.output()?;
            assert_eq!(
                output.status.code(),
                Some(1),
                "{name} state, {command:?}: {}",
                stdout_of(&output)
            );
            assert!(
                squeeze(&stderr_of(&output)).contains("state"),
                "{name} state, {command:?}: {}",
                stderr_of(&output)
            );
            assert_eq!(
                std::fs::read(stack.state_path("dev"))?,
                bytes,
                "{name} state was changed by {command:?}"
            );
        }
    }
    // Nothing in the cloud was touched either.
    assert_eq!(stack.owned("dev")?.len(), 10);
    Ok(())
}

/// Regression: with a relative stack directory the state went to `DIR/DIR/.cairn/state`
/// because the backend path, already resolved against the stack directory by the
/// configuration, was joined to it a second time.
#[test]
fn state_lives_under_the_stack_directory_when_it_is_given_relative() -> TestResult {
    let parent = tempfile::tempdir()?;
    let stack = Stack::fixture("e2e_stack")?;
    let directory = parent.path().join("stack");
    std::fs::create_dir(&directory)?;
    std::fs::copy(stack.path().join("main.hcl"), directory.join("main.hcl"))?;
    let mut command = stack.cairn(&["apply", "-e", "dev", "--auto-approve", "stack"])?;
    command.current_dir(parent.path()).assert().success();
    assert!(directory.join(".cairn/state/dev.json").is_file());
    assert!(!directory.join("stack").exists());
    let mut command = stack.cairn(&["plan", "-e", "dev", "--detailed-exitcode", "stack"])?;
    command.current_dir(parent.path()).assert().code(0);
    Ok(())
}

/// Rewrites the `ingress` block of `firewall.web` in the stack's `main.hcl` with `description`.
fn describe_web_ingress(stack: &Stack, description: &str) -> TestResult {
    let path = stack.path().join("main.hcl");
    let text = std::fs::read_to_string(&path)?;
    let before = "    ports    = 443\n    from     = [\"0.0.0.0/0\"]\n";
    let after = format!("{before}    description = \"{description}\"\n");
    let edited = text.replacen(before, &after, 1);
    assert_ne!(edited, text, "the fixture's ingress block moved");
    std::fs::write(&path, edited)?;
    Ok(())
}

/// The description the sim holds on firewall.web's only ingress rule (`sim show` lists no
/// rules, so this reads the sim's own file).
fn web_ingress_description(stack: &Stack) -> Result<serde_json::Value, common::Error> {
    let id = stack
        .owned("dev")?
        .into_iter()
        .find(|r| r.address == "firewall.web[us-east-1]")
        .ok_or("firewall missing")?
        .id;
    // Through the sim's own reader: the change may sit in the cloud file's journal.
    let group = cairn::provider::sim::SimCloud::open(&stack.cloud_path())?
        .resource(&id)?
        .ok_or("security group missing from the sim")?;
    assert_eq!(group.kind, cairn::model::Kind::SecurityGroup);
    let attributes = serde_json::to_value(&group.attributes)?;
    Ok(attributes["ingress"][0]["description"].clone())
}

#[test]
fn a_rule_description_change_updates_the_firewall_in_place_and_converges() -> TestResult {
    let stack = applied()?;
    assert_eq!(web_ingress_description(&stack)?, serde_json::Value::Null);
    for description in ["HTTPS from anywhere", "HTTPS from the world (v2)"] {
        describe_web_ingress(&stack, description)?;
        let output = stack
            .cairn(&["plan", "-e", "dev", "--detailed-exitcode", "."])?
            .output()?;
        assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
        let text = stdout_of(&output);
        assert!(
            text.contains("# firewall.web[us-east-1] will be updated in place"),
            "{text}"
        );
        assert!(text.contains(description), "{text}");
        assert!(
            text.contains("Plan: 0 to add, 1 to change, 0 to destroy."),
            "{text}"
        );
        stack
            .cairn(&["apply", "-e", "dev", "--auto-approve", "."])?
            .assert()
            .success()
            .stdout(contains("Resources: 0 added, 1 changed, 0 destroyed."));
        assert_eq!(web_ingress_description(&stack)?, description);
        assert_converged(&stack, &[])?;
        // Each edit adds a line after the ports; the next one finds the same anchor.
        let path = stack.path().join("main.hcl");
        let text = std::fs::read_to_string(&path)?;
        std::fs::write(
            &path,
            text.replacen(&format!("    description = \"{description}\"\n"), "", 1),
        )?;
    }
    Ok(())
}
