//! Disaster recovery against AWS-like timings (issue 15), through the CLI on the simulated
//! cloud with `CAIRN_SIM_PROFILE=aws` and its clock set, so snapshots, copies and boots take
//! their minutes on the cloud's clock and no test sleeps: pending copies are never restored
//! from, `dr check` names what would block a failover, the predicted recovery time matches the
//! measured one, and failover and failback show their plan before they ask.

use assert_cmd::Command;
use cairn::model::timings::Timings;
use cairn::model::{Kind, Owner};
use cairn::provider::sim::{FaultConfig, SimCloud, SimProvider};
use cairn::provider::{CreateRequest, Provider, ProviderError};
use serde_json::{Value, json};
use std::path::Path;

type TestResult = Result<(), Box<dyn std::error::Error>>;
/// Each resource of the DR region in state: address, id, and its sizes (`desired`, `size_gb`).
type Standby = Vec<(String, String, Value)>;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/dr/main.hcl");
const START: &str = "2025-03-01T00:00:00Z";

/// `cairn` in `dir` on the simulated cloud under the AWS timing profile.
fn cairn(dir: &Path) -> Result<Command, Box<dyn std::error::Error>> {
    let mut command = Command::cargo_bin("cairn")?;
    command
        .current_dir(dir)
        .env_remove("CAIRN_SIM_FILE")
        .env_remove("CAIRN_SIM_OUTAGE")
        .env("CAIRN_SIM_PROFILE", "aws")
        .env("NO_COLOR", "1");
    Ok(command)
}

fn run(dir: &Path, args: &[&str]) -> TestResult {
    let output = cairn(dir)?.args(args).output()?;
    assert!(
        output.status.success(),
        "cairn {args:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

fn json_of(dir: &Path, args: &[&str]) -> Result<Value, Box<dyn std::error::Error>> {
    let output = cairn(dir)?.args(args).output()?;
    assert!(
        output.status.success(),
        "cairn {args:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(serde_json::from_slice(&output.stdout)?)
}

/// The fixture with `dr.mode = mode` (and `extra` in the `dr` block), its clock set to
/// [`START`], applied to production.
fn applied(mode: &str, extra: &str) -> Result<tempfile::TempDir, Box<dyn std::error::Error>> {
    let stack = tempfile::tempdir()?;
    let text = std::fs::read_to_string(FIXTURE)?.replace(
        "mode   = \"backup_restore\"",
        &format!("mode   = \"{mode}\"\n    {extra}"),
    );
    std::fs::write(stack.path().join("main.hcl"), text)?;
    run(stack.path(), &["sim", "clock", "--set", START])?;
    run(
        stack.path(),
        &["apply", "-e", "production", "--auto-approve"],
    )?;
    Ok(stack)
}

/// `cairn dr check -e production`: its exit code and what it printed.
fn dr_check(dir: &Path) -> Result<(Option<i32>, String), Box<dyn std::error::Error>> {
    let output = cairn(dir)?
        .args(["dr", "check", "-e", "production"])
        .output()?;
    Ok((
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    ))
}

fn advance(dir: &Path, by: &str) -> TestResult {
    run(dir, &["sim", "clock", "--advance", by])
}

fn backup(dir: &Path, wait: bool) -> Result<Value, Box<dyn std::error::Error>> {
    let mut args = vec!["backup", "run", "-e", "production", "--json"];
    if wait {
        args.push("--wait");
    }
    json_of(dir, &args)
}

fn state_resources(
    dir: &Path,
) -> Result<serde_json::Map<String, Value>, Box<dyn std::error::Error>> {
    let state: Value =
        serde_json::from_slice(&std::fs::read(dir.join(".cairn/state/production.json"))?)?;
    Ok(state["resources"].as_object().cloned().unwrap_or_default())
}

/// The copies in the DR region, newest first, as `(id, pending)`.
fn dr_copies(dir: &Path) -> Result<Vec<(String, bool)>, Box<dyn std::error::Error>> {
    let listing = json_of(dir, &["backup", "list", "-e", "production", "--json"])?;
    let regions = listing["regions"].as_array().cloned().unwrap_or_default();
    let dr = regions
        .iter()
        .find(|region| region["region"] == "us-west-2")
        .cloned()
        .unwrap_or(Value::Null);
    Ok(dr["copies"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|copy| {
            (
                copy["id"].as_str().unwrap_or_default().to_string(),
                copy.get("pending").is_some(),
            )
        })
        .collect())
}

#[tokio::test]
async fn the_sim_refuses_to_copy_or_restore_a_pending_snapshot_until_its_time_has_come()
-> TestResult {
    let directory = tempfile::tempdir()?;
    let path = directory.path().join("cloud.json");
    SimCloud::open(&path)?.set_clock(Some(START.parse()?))?;
    let faults = FaultConfig {
        timings: Timings::AWS,
        ..FaultConfig::default()
    };
    let cloud = SimProvider::open_with_faults(&path, faults)?;
    let owner = Owner {
        stack: "s".to_string(),
        env: "e".to_string(),
    };
    let create = |kind, region: &str, attributes: Value| CreateRequest {
        kind,
        region: region.to_string(),
        attributes: serde_json::from_value(attributes).unwrap_or_default(),
        tags: owner.tags_for(&cairn::model::Address::new("volume.data")),
        token: String::new(),
    };
    let volume = cloud
        .create(&create(
            Kind::Volume,
            "us-east-1",
            json!({"zone": "us-east-1a", "size_gb": 100}),
        ))
        .await?;
    let snapshot = cloud
        .create(&create(
            Kind::Snapshot,
            "us-east-1",
            json!({"volume_id": volume.id}),
        ))
        .await?;
    assert_eq!(snapshot.attributes["state"], "pending");
    assert_eq!(snapshot.attributes["progress"], "0%");

    let restore = create(
        Kind::Volume,
        "us-east-1",
        json!({"zone": "us-east-1a", "snapshot_id": snapshot.id}),
    );
    let copy = create(
        Kind::Snapshot,
        "us-west-2",
        json!({"source_region": "us-east-1", "source_snapshot_id": snapshot.id}),
    );
    for refused in [cloud.create(&restore).await, cloud.create(&copy).await] {
        assert!(
            matches!(&refused, Err(ProviderError::Api { code, .. }) if code == "IncorrectState"),
            "{refused:?}"
        );
    }

    // 100 GiB: 60 s + 3 s per GiB. Halfway, it says so; at its time, it is done.
    cloud.wait(std::time::Duration::from_secs(180)).await?;
    let halfway = cloud
        .import("us-east-1", Kind::Snapshot, &snapshot.id)
        .await?;
    assert_eq!(halfway.attributes["progress"], "50%");
    cloud.wait(std::time::Duration::from_secs(180)).await?;
    let done = cloud
        .import("us-east-1", Kind::Snapshot, &snapshot.id)
        .await?;
    assert_eq!(done.attributes["state"], "completed");
    cloud.create(&restore).await?;
    let copied = cloud.create(&copy).await?;
    // 100 GiB across regions: 120 s + 6 s per GiB.
    assert_eq!(copied.attributes["state"], "pending");
    cloud.wait(std::time::Duration::from_secs(719)).await?;
    let copied = cloud
        .import("us-west-2", Kind::Snapshot, &copied.id)
        .await?;
    assert_eq!(copied.attributes["progress"], "99%");
    Ok(())
}

#[test]
fn a_drill_right_after_a_backup_restores_the_previous_completed_copy_or_waits_with_wait()
-> TestResult {
    let stack = applied("backup_restore", "")?;
    let dir = stack.path();
    // The first backup waits for its snapshot and its copy: 20 GiB take 2 + 4 minutes.
    let first = backup(dir, true)?;
    assert_eq!(first["volumes"][0].get("pending"), None, "{first}");
    let copies = dr_copies(dir)?;
    assert_eq!(copies.len(), 1);
    let (old_copy, old_pending) = copies[0].clone();
    assert!(!old_pending);

    // A day later the next run's snapshot is still pending: it cannot be copied yet.
    advance(dir, "1day")?;
    let pending = backup(dir, false)?;
    let note = pending["volumes"][0]["pending"]
        .as_str()
        .unwrap_or_default();
    assert!(note.contains("is pending (0%)"), "{pending}");
    assert!(pending["volumes"][0]["copy"].is_null(), "{pending}");
    // Three minutes on it has completed; this run copies it, and the copy is pending.
    advance(dir, "3m")?;
    let copying = backup(dir, false)?;
    let new_copy = copying["volumes"][0]["copy"]["snapshot_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        copying["volumes"][0]["pending"]
            .as_str()
            .is_some_and(|note| note.contains(&new_copy)),
        "{copying}"
    );

    // A drill now restores the previous completed copy and says which it skipped.
    let drill = json_of(dir, &["dr", "drill", "-e", "production", "--json"])?;
    assert_eq!(
        drill["restored"][0]["snapshot_id"],
        old_copy.as_str(),
        "{drill}"
    );
    assert_eq!(drill["skipped"][0]["id"], new_copy.as_str(), "{drill}");
    assert!(
        drill["skipped"][0]["reason"]
            .as_str()
            .is_some_and(|reason| reason.starts_with("pending (")),
        "{drill}"
    );
    // Its RPO is the age of that copy: over a day and three minutes.
    assert_eq!(drill["rpo_seconds"], drill["restored"][0]["age_seconds"]);
    assert!(
        drill["rpo_seconds"].as_i64() >= Some(86_400 + 180),
        "{drill}"
    );

    // With `--wait` the run waits for the copy, and the next drill restores it.
    let waited = backup(dir, true)?;
    assert_eq!(waited["volumes"][0].get("pending"), None, "{waited}");
    let drill = json_of(dir, &["dr", "drill", "-e", "production", "--json"])?;
    assert_eq!(
        drill["restored"][0]["snapshot_id"],
        new_copy.as_str(),
        "{drill}"
    );
    assert_eq!(drill["skipped"], json!([]), "{drill}");
    Ok(())
}

#[test]
fn a_drill_with_no_completed_copy_refuses_with_the_reason() -> TestResult {
    let stack = applied("backup_restore", "")?;
    let dir = stack.path();
    backup(dir, false)?;
    advance(dir, "3m")?;
    backup(dir, false)?;
    assert_eq!(
        dr_copies(dir)?
            .iter()
            .filter(|(_, pending)| *pending)
            .count(),
        1
    );

    let output = cairn(dir)?
        .args(["dr", "drill", "-e", "production"])
        .output()?;
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no completed backup copy of `volume.data[us-west-2]` in `us-west-2`")
            && stderr.contains("is pending (")
            && stderr.contains("--wait"),
        "{stderr}"
    );
    // Nothing of a drill was made.
    assert!(
        !dir.join(".cairn/state/production-drill.json").exists() || {
            let drill: Value = serde_json::from_slice(&std::fs::read(
                dir.join(".cairn/state/production-drill.json"),
            )?)?;
            drill["resources"]
                .as_object()
                .is_none_or(|resources| resources.is_empty())
        }
    );
    Ok(())
}

/// The id of the resource at `address` in the production state.
fn id_of(dir: &Path, address: &str) -> Result<String, Box<dyn std::error::Error>> {
    Ok(state_resources(dir)?[address]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}

#[test]
fn dr_check_names_a_missing_image_and_a_drifted_standby_firewall_then_passes_once_fixed()
-> TestResult {
    let stack = applied("pilot_light", "")?;
    let dir = stack.path();
    backup(dir, true)?;
    let ready = json_of(dir, &["dr", "check", "-e", "production", "--json"])?;
    assert_eq!(ready["blockers"], json!([]), "{ready}");
    assert_eq!(ready["images"][0]["present"], true, "{ready}");

    run(
        dir,
        &["sim", "image", "ami-12c6146b", "--missing-in", "us-west-2"],
    )?;
    let firewall = id_of(dir, "firewall.web[us-west-2]")?;
    run(dir, &["sim", "set", &firewall, "ingress", "[]"])?;

    let (code, stdout) = dr_check(dir)?;
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("Not ready: 2 blockers."), "{stdout}");
    assert!(
        stdout.contains("image `ami-12c6146b` (used by launch_template.web[us-west-2]) does not exist in `us-west-2`")
            && stdout.contains("cairn sim image ami-12c6146b --copy-to us-west-2"),
        "{stdout}"
    );
    assert!(
        stdout.contains("the standby's `firewall.web[us-west-2]` differs from the configuration"),
        "{stdout}"
    );
    let status = cairn(dir)?
        .args(["dr", "status", "-e", "production"])
        .output()?;
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.contains("readiness:     NOT READY, 2 blockers")
            && status.contains("image `ami-12c6146b`"),
        "{status}"
    );
    // The check changed nothing: the drifted rules are still drifted.
    let inventory = SimCloud::open(&dir.join(".cairn/sim/cloud.json"))?.resource(&firewall)?;
    assert_eq!(
        inventory.map(|firewall| firewall.attributes["ingress"].clone()),
        Some(json!([]))
    );

    run(
        dir,
        &["sim", "image", "ami-12c6146b", "--copy-to", "us-west-2"],
    )?;
    run(dir, &["apply", "-e", "production", "--auto-approve"])?;
    let (code, stdout) = dr_check(dir)?;
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains("Ready: nothing blocks a failover to us-west-2."),
        "{stdout}"
    );
    // `dr status` carries the same verdict.
    let status = cairn(dir)?
        .args(["dr", "status", "-e", "production"])
        .output()?;
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.contains("readiness:     ready to fail over to us-west-2"),
        "{status}"
    );
    Ok(())
}

#[test]
fn dr_check_names_a_copy_older_than_the_policy_window() -> TestResult {
    let stack = applied("backup_restore", "")?;
    let dir = stack.path();
    backup(dir, true)?;
    advance(dir, "25h")?;
    let (code, stdout) = dr_check(dir)?;
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("older than its policy's window of 86400s"),
        "{stdout}"
    );
    Ok(())
}

#[test]
fn a_pilot_light_drill_prints_predicted_against_measured_rto_within_20_percent() -> TestResult {
    let stack = applied("pilot_light", "")?;
    let dir = stack.path();
    backup(dir, true)?;
    let check = json_of(dir, &["dr", "check", "-e", "production", "--json"])?;
    let predicted = check["predicted"]["total_seconds"].as_f64().unwrap_or(0.0);
    assert_eq!(predicted, 75.0, "{check}");
    assert_eq!(check["predicted"]["dominant"], "boot instances");

    let output = cairn(dir)?
        .args(["dr", "drill", "-e", "production"])
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let line = stdout
        .lines()
        .find(|line| line.starts_with("RTO measured "))
        .unwrap_or_default();
    let measured: f64 = line
        .trim_start_matches("RTO measured ")
        .split('s')
        .next()
        .unwrap_or_default()
        .parse()?;
    assert!(
        line.ends_with(&format!("against {predicted:.1}s predicted.")),
        "{stdout}"
    );
    assert!(
        (measured - predicted).abs() <= 0.2 * predicted,
        "measured {measured}s, predicted {predicted}s: {stdout}"
    );
    Ok(())
}

#[test]
fn failover_and_failback_print_their_plan_before_asking() -> TestResult {
    let stack = applied("pilot_light", "")?;
    let dir = stack.path();
    backup(dir, true)?;
    let copy = dr_copies(dir)?[0].0.clone();

    // Nobody at a terminal: the plan is shown, the question cannot be asked, nothing moves.
    let asked = cairn(dir)?
        .args(["dr", "failover", "-e", "production"])
        .output()?;
    let stdout = String::from_utf8_lossy(&asked.stdout);
    assert_eq!(asked.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("To fail over `production` from us-east-1 to us-west-2:")
            && stdout.contains(&format!("restore volume.data[us-west-2] from {copy}"))
            && stdout.contains("autoscaling.web[us-west-2]"),
        "{stdout}"
    );
    let state: Value =
        serde_json::from_slice(&std::fs::read(dir.join(".cairn/state/production.json"))?)?;
    assert_eq!(state.get("failover"), None, "nothing was recorded");
    assert!(!state_resources(dir)?.contains_key("autoscaling.web[us-west-2]"));

    let moved = cairn(dir)?
        .env("CAIRN_SIM_OUTAGE", "us-east-1")
        .args(["dr", "failover", "-e", "production", "--auto-approve"])
        .output()?;
    let stdout = String::from_utf8_lossy(&moved.stdout);
    assert!(moved.status.success(), "{stdout}");
    let plan_at = stdout.find("To fail over").unwrap_or(usize::MAX);
    let done_at = stdout.find("Failed over").unwrap_or(0);
    assert!(plan_at < done_at, "the plan comes first: {stdout}");

    let asked = cairn(dir)?
        .args(["dr", "failback", "-e", "production"])
        .output()?;
    let stdout = String::from_utf8_lossy(&asked.stdout);
    assert_eq!(asked.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("To fail back `production` from us-west-2 to us-east-1:")
            && stdout.contains("back up volume.data[us-west-2] now, copy it to us-east-1"),
        "{stdout}"
    );
    let still: Value =
        serde_json::from_slice(&std::fs::read(dir.join(".cairn/state/production.json"))?)?;
    assert_eq!(
        still["failover"]["region"], "us-west-2",
        "still failed over"
    );

    let back = json_of(
        dir,
        &[
            "dr",
            "failback",
            "-e",
            "production",
            "--auto-approve",
            "--json",
        ],
    )?;
    assert_eq!(back["region"], "us-east-1", "{back}");
    Ok(())
}

#[test]
fn a_drill_beside_a_warm_standby_leaves_the_standbys_ids_and_sizes_unchanged() -> TestResult {
    let stack = applied("warm_standby", "capacity = 0.5")?;
    let dir = stack.path();
    backup(dir, true)?;
    let standby = |dir: &Path| -> Result<Standby, Box<dyn std::error::Error>> {
        Ok(state_resources(dir)?
            .iter()
            .filter(|(_, resource)| resource["region"] == "us-west-2")
            .map(|(address, resource)| {
                (
                    address.clone(),
                    resource["id"].as_str().unwrap_or_default().to_string(),
                    json!([
                        resource["attributes"]["desired"],
                        resource["attributes"]["size_gb"]
                    ]),
                )
            })
            .collect())
    };
    let before = standby(dir)?;
    assert!(
        before
            .iter()
            .any(|(address, _, _)| address == "autoscaling.web[us-west-2]")
    );
    // What the DR region holds, ids and attributes (the group's size, its instances).
    let cloud = SimCloud::open(&dir.join(".cairn/sim/cloud.json"))?;
    let dr_region = |cloud: &SimCloud| -> Result<Value, Box<dyn std::error::Error>> {
        Ok(serde_json::to_value(
            &cloud.inventory()?.regions["us-west-2"],
        )?)
    };
    let live_before = dr_region(&cloud)?;
    assert!(
        live_before.to_string().contains("\"desired\":1"),
        "{live_before}"
    );

    let drill = json_of(dir, &["dr", "drill", "-e", "production", "--json"])?;
    assert_eq!(drill["leftovers"], json!([]), "{drill}");
    assert!(drill["created"].as_u64() > Some(0), "{drill}");
    assert_eq!(standby(dir)?, before);
    assert_eq!(dr_region(&cloud)?, live_before);
    Ok(())
}

/// The quota `name` of `dr check --json`'s report.
fn quota_of(check: &Value, name: &str) -> Value {
    check["quotas"]
        .as_array()
        .and_then(|quotas| quotas.iter().find(|quota| quota["quota"] == name))
        .cloned()
        .unwrap_or(Value::Null)
}

#[test]
fn dr_check_names_a_quota_a_failover_would_exceed_then_passes_once_raised() -> TestResult {
    let stack = applied("pilot_light", "")?;
    let dir = stack.path();
    backup(dir, true)?;
    // Under the AWS profile the sim plays AWS's defaults: 20 instances, 5 VPCs a region.
    let ready = json_of(dir, &["dr", "check", "-e", "production", "--json"])?;
    assert_eq!(ready["blockers"], json!([]), "{ready}");
    let instances = quota_of(&ready, "running_instances");
    assert_eq!(instances["limit"], 20, "{ready}");
    // The pilot light runs no instance; a failover brings up the group's 2.
    assert_eq!(
        (&instances["usage"], &instances["adds"]),
        (&json!(0), &json!(2))
    );
    let vpcs = quota_of(&ready, "vpcs");
    assert_eq!(vpcs["limit"], 5, "{ready}");
    // The standby's network is the one a failover uses: it adds none.
    assert_eq!((&vpcs["usage"], &vpcs["adds"]), (&json!(1), &json!(0)));

    run(
        dir,
        &["sim", "quota", "us-west-2", "--running-instances", "1"],
    )?;
    let (code, stdout) = dr_check(dir)?;
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("Not ready: 1 blocker."), "{stdout}");
    assert!(
        stdout.contains("a failover needs 2 running instances in `us-west-2` (0 there now + 2 it adds), past the quota of 1")
            && stdout.contains("request an increase of Amazon EC2 \"Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances\" (L-1216C47A) in `us-west-2` to at least 2")
            && stdout.contains("cairn sim quota us-west-2 --running-instances 2"),
        "{stdout}"
    );
    let blocked = cairn(dir)?
        .args(["dr", "check", "-e", "production", "--json"])
        .output()?;
    assert_eq!(blocked.status.code(), Some(1));
    let blocked: Value = serde_json::from_slice(&blocked.stdout)?;
    assert_eq!(quota_of(&blocked, "running_instances")["limit"], 1);
    assert!(
        blocked["blockers"][0]["problem"]
            .as_str()
            .is_some_and(|problem| problem.contains("past the quota of 1")),
        "{blocked}"
    );

    run(
        dir,
        &["sim", "quota", "us-west-2", "--running-instances", "2"],
    )?;
    let (code, stdout) = dr_check(dir)?;
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains("quota running instances: 2 needed (0 now + 2 a failover adds) of 2"),
        "{stdout}"
    );
    Ok(())
}

/// `cairn apply -e production --auto-approve`: its exit code and all it printed.
fn apply_refused(dir: &Path) -> Result<(Option<i32>, String), Box<dyn std::error::Error>> {
    let output = cairn(dir)?
        .args(["apply", "-e", "production", "--auto-approve"])
        .output()?;
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok((output.status.code(), said))
}

#[test]
fn a_create_past_a_quota_is_refused_with_the_aws_code_and_the_apply_says_so() -> TestResult {
    let stack = tempfile::tempdir()?;
    let dir = stack.path();
    std::fs::copy(FIXTURE, dir.join("main.hcl"))?;
    run(dir, &["sim", "quota", "us-east-1", "--vpcs", "0"])?;
    let (code, said) = apply_refused(dir)?;
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains("network.main[us-east-1]") && said.contains("VpcLimitExceeded"),
        "{said}"
    );

    run(
        dir,
        &[
            "sim",
            "quota",
            "us-east-1",
            "--vpcs",
            "1",
            "--running-instances",
            "1",
        ],
    )?;
    let (code, said) = apply_refused(dir)?;
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains("autoscaling.web[us-east-1]")
            && said.contains("InstanceLimitExceeded")
            && said.contains("L-1216C47A"),
        "{said}"
    );

    run(dir, &["sim", "quota", "us-east-1", "--default"])?;
    run(dir, &["apply", "-e", "production", "--auto-approve"])?;
    let cloud = SimCloud::open(&dir.join(".cairn/sim/cloud.json"))?;
    let instances = cloud.inventory()?.regions["us-east-1"][&Kind::Instance].len();
    assert_eq!(instances, 2);
    Ok(())
}
