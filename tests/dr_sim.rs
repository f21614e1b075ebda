//! Backups and DR drills through the CLI on the simulated cloud (issue 5): one snapshot per
//! window, retention, and a drill that never touches the primary region and leaves nothing
//! behind.

use assert_cmd::Command;
use cairn::model::{Kind, Owner};
use cairn::provider::Provider;
use cairn::provider::sim::{FaultConfig, SimProvider, read_call_log};
use serde_json::Value;
use std::path::Path;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/dr/main.hcl");

fn cairn(dir: &Path) -> Result<Command, Box<dyn std::error::Error>> {
    let mut command = Command::cargo_bin("cairn")?;
    command
        .current_dir(dir)
        .env_remove("CAIRN_SIM_FILE")
        .env_remove("CAIRN_SIM_OUTAGE")
        .env("NO_COLOR", "1");
    Ok(command)
}

/// The fixture stack in a fresh directory, applied to production.
fn applied_stack() -> Result<tempfile::TempDir, Box<dyn std::error::Error>> {
    let stack = tempfile::tempdir()?;
    std::fs::copy(FIXTURE, stack.path().join("main.hcl"))?;
    cairn(stack.path())?
        .args(["apply", "-e", "production", "--auto-approve"])
        .assert()
        .success();
    Ok(stack)
}

fn json_of(command: &mut Command) -> Result<Value, Box<dyn std::error::Error>> {
    let output = command.output()?;
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(serde_json::from_slice(&output.stdout)?)
}

/// `cairn backup run` with the simulated cloud's clock set to `at` first: snapshots start at
/// the cloud's time, and windows are measured on it.
fn backup_run_at(dir: &Path, at: &str) -> TestResult {
    cairn(dir)?
        .args(["sim", "clock", "--set", at])
        .assert()
        .success();
    backup_run(dir)
}

fn backup_run(dir: &Path) -> TestResult {
    cairn(dir)?
        .args(["backup", "run", "-e", "production"])
        .assert()
        .success();
    Ok(())
}

/// Each region with the `(id, taken_at)` of its backups, newest first.
type Listing = Vec<(String, Vec<(String, String)>)>;

fn listing(dir: &Path) -> Result<Listing, Box<dyn std::error::Error>> {
    let listing = json_of(cairn(dir)?.args(["backup", "list", "-e", "production", "--json"]))?;
    let regions = listing["regions"].as_array().cloned().unwrap_or_default();
    Ok(regions
        .iter()
        .map(|region| {
            let copies = region["copies"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|copy| {
                    (
                        copy["id"].as_str().unwrap_or_default().to_string(),
                        copy["taken_at"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect();
            (
                region["region"].as_str().unwrap_or_default().to_string(),
                copies,
            )
        })
        .collect())
}

#[test]
fn backup_run_twice_in_one_window_makes_one_snapshot_and_one_copy() -> TestResult {
    let stack = applied_stack()?;
    backup_run_at(stack.path(), "2025-03-01T00:00:00Z")?;
    backup_run_at(stack.path(), "2025-03-01T06:00:00Z")?;

    let regions = listing(stack.path())?;
    let counts: Vec<(&str, usize)> = regions
        .iter()
        .map(|(region, copies)| (region.as_str(), copies.len()))
        .collect();
    assert_eq!(counts, vec![("us-east-1", 1), ("us-west-2", 1)]);
    // The copy keeps its source's time, not the second run's.
    assert_eq!(regions[1].1[0].1, "2025-03-01T00:00:00Z");

    let creates = read_call_log(&stack.path().join(".cairn/sim/cloud.json"))?
        .into_iter()
        .filter(|call| call.kind == Kind::Snapshot && call.mutating)
        .count();
    assert_eq!(creates, 2, "one snapshot and one copy, nothing else");
    Ok(())
}

/// Issue 16: the RPO came from Cairn's own `cairn:taken-at` tag and tests drove time through
/// a hidden `backup --at` flag. It is the age of the copy's source snapshot by the cloud's
/// own start time, measured on the cloud's clock, which the simulator lets a test set.
#[test]
fn the_drills_rpo_is_the_age_of_the_copied_snapshot_by_the_clouds_clock() -> TestResult {
    let stack = applied_stack()?;
    let dir = stack.path();
    backup_run_at(dir, "2025-03-01T00:00:00Z")?;
    // The copy is made an hour after its source: its data is still the source's.
    cairn(dir)?
        .args(["sim", "clock", "--advance", "1h"])
        .assert()
        .success()
        .stdout(predicates::str::contains("stands at 2025-03-01T01:00:00Z"));
    let regions = listing(dir)?;
    assert_eq!(regions[1].1[0].1, "2025-03-01T00:00:00Z");
    cairn(dir)?
        .args(["sim", "clock", "--advance", "90m"])
        .assert()
        .success();

    let report = json_of(cairn(dir)?.args(["dr", "drill", "-e", "production", "--json"]))?;
    assert_eq!(report["rpo_seconds"], 9000, "{report}");
    assert_eq!(report["restored"][0]["age_seconds"], 9000, "{report}");
    assert_eq!(report["restored"][0]["taken_at"], "2025-03-01T00:00:00Z");
    let audit = std::fs::read_to_string(dir.join(".cairn/audit.jsonl"))?;
    let record: Value = serde_json::from_str(audit.lines().last().unwrap_or_default())?;
    assert_eq!(record["operation"], "dr drill");
    assert_eq!(record["time"], "2025-03-01T02:30:00Z");
    assert_eq!(record["rpo_seconds"], 9000);

    // Within the policy's 24 h window of the snapshot's start no new one is taken; past it,
    // one is.
    cairn(dir)?
        .args(["sim", "clock", "--set", "2025-03-01T23:59:00Z"])
        .assert()
        .success();
    backup_run(dir)?;
    assert_eq!(listing(dir)?[0].1.len(), 1);
    cairn(dir)?
        .args(["sim", "clock", "--advance", "2m"])
        .assert()
        .success();
    backup_run(dir)?;
    let times: Vec<String> = listing(dir)?[0]
        .1
        .iter()
        .map(|(_, time)| time.clone())
        .collect();
    assert_eq!(times, vec!["2025-03-02T00:01:00Z", "2025-03-01T00:00:00Z"]);
    Ok(())
}

#[test]
fn backup_has_no_hidden_time_flag() -> TestResult {
    let stack = applied_stack()?;
    cairn(stack.path())?
        .args([
            "backup",
            "run",
            "-e",
            "production",
            "--at",
            "2025-03-01T00:00:00Z",
        ])
        .assert()
        .failure()
        .stderr(predicates::str::contains("unexpected argument '--at'"));
    Ok(())
}

#[test]
fn retention_prunes_each_region_to_retain_and_keeps_the_newest() -> TestResult {
    let stack = applied_stack()?;
    for at in [
        "2025-03-01T00:00:00Z",
        "2025-03-02T01:00:00Z",
        "2025-03-03T02:00:00Z",
        "2025-03-04T03:00:00Z",
    ] {
        backup_run_at(stack.path(), at)?;
    }
    let regions = listing(stack.path())?;
    for (region, copies) in &regions {
        let times: Vec<&str> = copies.iter().map(|(_, time)| time.as_str()).collect();
        assert_eq!(
            times,
            vec!["2025-03-04T03:00:00Z", "2025-03-03T02:00:00Z"],
            "in {region}"
        );
    }
    assert_eq!(regions.len(), 2);
    Ok(())
}

#[test]
fn verify_restores_the_newest_dr_copy_and_removes_the_scratch_volume() -> TestResult {
    let stack = applied_stack()?;
    backup_run_at(stack.path(), "2025-03-01T00:00:00Z")?;
    let report =
        json_of(cairn(stack.path())?.args(["backup", "verify", "-e", "production", "--json"]))?;
    let copies = report["copies"].as_array().cloned().unwrap_or_default();
    assert_eq!(copies.len(), 1);
    assert_eq!(copies[0]["region"], "us-west-2");
    assert_eq!(copies[0]["zone"], "us-west-2a");
    assert_eq!(copies[0]["size_gb"], 20);
    assert_eq!(copies[0]["problem"], Value::Null);
    let calls = read_call_log(&stack.path().join(".cairn/sim/cloud.json"))?;
    let volume_calls: Vec<&str> = calls
        .iter()
        .filter(|call| call.kind == Kind::Volume && call.mutating && call.region == "us-west-2")
        .map(|call| call.operation.as_str())
        .collect();
    assert_eq!(
        volume_calls.len(),
        2,
        "create then delete: {volume_calls:?}"
    );
    Ok(())
}

#[tokio::test]
async fn drill_during_a_primary_outage_never_calls_the_primary_and_leaves_nothing() -> TestResult {
    let stack = applied_stack()?;
    backup_run(stack.path())?;
    let cloud_file = stack.path().join(".cairn/sim/cloud.json");
    let calls_before = read_call_log(&cloud_file)?.len();
    let primary_state = std::fs::read(stack.path().join(".cairn/state/production.json"))?;

    let report = json_of(
        cairn(stack.path())?
            .env("CAIRN_SIM_OUTAGE", "us-east-1")
            .args(["dr", "drill", "-e", "production", "--json"]),
    )?;

    assert_eq!(report["region"], "us-west-2");
    let created = report["created"].as_u64().unwrap_or_default();
    assert!(created > 0, "the drill created resources: {report}");
    assert_eq!(report["destroyed"].as_u64(), Some(created));
    assert_eq!(report["leftovers"], serde_json::json!([]));
    assert!(report["rto_seconds"].as_f64().is_some_and(|rto| rto > 0.0));
    assert!(report["rpo_seconds"].as_i64().is_some());
    assert_eq!(report["restored"][0]["address"], "volume.data[us-west-2]");
    assert_eq!(report["groups"][0]["min"], 2);
    assert!(report["groups"][0]["in_service"].as_u64() >= Some(2));

    let drill_calls = &read_call_log(&cloud_file)?[calls_before..];
    assert!(drill_calls.iter().any(|call| call.mutating));
    let in_primary: Vec<_> = drill_calls
        .iter()
        .filter(|call| call.region == "us-east-1")
        .collect();
    assert!(
        in_primary.is_empty(),
        "calls to the primary: {in_primary:?}"
    );
    assert_eq!(
        std::fs::read(stack.path().join(".cairn/state/production.json"))?,
        primary_state
    );

    // Independently of the report: nothing owned by the drill is left in the DR region.
    let provider = SimProvider::open_with_faults(&cloud_file, FaultConfig::default())?;
    let owner = Owner {
        stack: "drfix".to_string(),
        env: "production-drill".to_string(),
    };
    for kind in Kind::ALL {
        let live = provider.read("us-west-2", kind, &owner).await?;
        let alive: Vec<_> = live
            .iter()
            .filter(|resource| resource.attributes.get("state") != Some(&"terminated".into()))
            .collect();
        assert!(alive.is_empty(), "{kind} left: {alive:?}");
    }

    let audit = std::fs::read_to_string(stack.path().join(".cairn/audit.jsonl"))?;
    let record: Value = serde_json::from_str(audit.lines().last().unwrap_or_default())?;
    assert_eq!(record["operation"], "dr drill");
    assert_eq!(record["outcome"], "succeeded");
    Ok(())
}

#[tokio::test]
async fn a_kept_drill_is_torn_down_by_teardown_and_leaves_nothing() -> TestResult {
    let stack = applied_stack()?;
    let dir = stack.path();
    backup_run(dir)?;
    let primary_state = std::fs::read(dir.join(".cairn/state/production.json"))?;
    let kept = json_of(cairn(dir)?.args(["dr", "drill", "-e", "production", "--keep", "--json"]))?;
    let created = kept["created"].as_u64().unwrap_or_default();
    assert!(created > 0, "{kept}");
    assert_eq!(kept["destroyed"], Value::Null);

    let cloud_file = dir.join(".cairn/sim/cloud.json");
    let calls_before = read_call_log(&cloud_file)?.len();
    let report = json_of(cairn(dir)?.env("CAIRN_SIM_OUTAGE", "us-east-1").args([
        "dr",
        "drill",
        "-e",
        "production",
        "--teardown",
        "--json",
    ]))?;
    assert_eq!(report["region"], "us-west-2");
    assert_eq!(report["destroyed"].as_u64(), Some(created));
    assert_eq!(report["leftovers"], serde_json::json!([]));
    assert_eq!(
        calls_to(dir, calls_before, "us-east-1")?,
        Vec::<String>::new()
    );
    assert_eq!(
        std::fs::read(dir.join(".cairn/state/production.json"))?,
        primary_state
    );
    let provider = SimProvider::open_with_faults(&cloud_file, FaultConfig::default())?;
    let owner = Owner {
        stack: "drfix".to_string(),
        env: "production-drill".to_string(),
    };
    for kind in Kind::ALL {
        let alive: Vec<_> = provider
            .read("us-west-2", kind, &owner)
            .await?
            .into_iter()
            .filter(|resource| resource.attributes.get("state") != Some(&"terminated".into()))
            .collect();
        assert!(alive.is_empty(), "{kind} left: {alive:?}");
    }
    let audit = std::fs::read_to_string(dir.join(".cairn/audit.jsonl"))?;
    let record: Value = serde_json::from_str(audit.lines().last().unwrap_or_default())?;
    assert_eq!(record["operation"], "dr drill teardown");
    assert_eq!(record["outcome"], "succeeded");

    // Nothing left to tear down is not an error.
    cairn(dir)?
        .args(["dr", "drill", "-e", "production", "--teardown"])
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "No drill of `production` was running in us-west-2.",
        ));
    Ok(())
}

#[test]
fn drill_without_backups_refuses_and_names_the_volume() -> TestResult {
    let stack = applied_stack()?;
    cairn(stack.path())?
        .args(["dr", "drill", "-e", "production"])
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "no backup copy of `volume.data[us-west-2]`",
        ));
    Ok(())
}

/// Issue 9: a redeploy into a region the `dr` block does not name took that region's zones
/// from the simulator's table whatever the cloud; they come from the environment's cloud now
/// (here the simulator, whose us-east-2 has zones a to c).
#[test]
fn a_drill_into_a_region_the_dr_block_does_not_name_takes_its_zones_from_the_cloud() -> TestResult {
    let stack = tempfile::tempdir()?;
    let dir = stack.path();
    let fixture = std::fs::read_to_string(FIXTURE)?;
    let copied_to_ohio = fixture.replace("copy_to = env.dr.region", "copy_to = \"us-east-2\"");
    assert_ne!(
        copied_to_ohio, fixture,
        "the fixture's policy copies to env.dr.region"
    );
    std::fs::write(dir.join("main.hcl"), copied_to_ohio)?;
    cairn(dir)?
        .args(["apply", "-e", "production", "--auto-approve"])
        .assert()
        .success();
    backup_run(dir)?;

    let kept = json_of(cairn(dir)?.args([
        "dr",
        "drill",
        "-e",
        "production",
        "--to",
        "us-east-2",
        "--keep",
        "--json",
    ]))?;
    assert_eq!(kept["region"], "us-east-2");
    let drill: Value = serde_json::from_slice(&std::fs::read(
        dir.join(".cairn/state/production-drill.json"),
    )?)?;
    let subnets: Vec<&String> = drill["resources"]
        .as_object()
        .into_iter()
        .flat_map(|resources| resources.keys())
        .filter(|address| address.starts_with("network.main.subnet."))
        .collect();
    // The primary's two zones map to the first two the cloud lists, by position.
    assert_eq!(
        subnets,
        [
            "network.main.subnet.public[us-east-2a]",
            "network.main.subnet.public[us-east-2b]",
        ]
    );

    let torn_down = json_of(cairn(dir)?.args([
        "dr",
        "drill",
        "-e",
        "production",
        "--to",
        "us-east-2",
        "--teardown",
        "--json",
    ]))?;
    assert_eq!(torn_down["leftovers"], serde_json::json!([]));
    Ok(())
}

/// The recorded objects of an environment's state: address -> (region, id, attributes).
fn state_resources(
    dir: &Path,
) -> Result<serde_json::Map<String, Value>, Box<dyn std::error::Error>> {
    let state: Value =
        serde_json::from_slice(&std::fs::read(dir.join(".cairn/state/production.json"))?)?;
    Ok(state["resources"].as_object().cloned().unwrap_or_default())
}

fn calls_to(
    dir: &Path,
    from: usize,
    region: &str,
) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    Ok(read_call_log(&dir.join(".cairn/sim/cloud.json"))?[from..]
        .iter()
        .filter(|call| call.region == region)
        .map(|call| call.operation.clone())
        .collect())
}

#[tokio::test]
async fn failover_during_an_outage_then_failback_converges_and_keeps_the_data() -> TestResult {
    let stack = applied_stack()?;
    let dir = stack.path();
    backup_run(dir)?;
    let cloud_file = dir.join(".cairn/sim/cloud.json");
    let primary_before = state_resources(dir)?;
    let calls_before = read_call_log(&cloud_file)?.len();

    // The primary refuses every call; the failover must not need it.
    let report = json_of(cairn(dir)?.env("CAIRN_SIM_OUTAGE", "us-east-1").args([
        "dr",
        "failover",
        "-e",
        "production",
        "--auto-approve",
        "--json",
    ]))?;
    assert_eq!(report["from"], "us-east-1");
    assert_eq!(report["region"], "us-west-2");
    assert_eq!(report["restored"][0]["address"], "volume.data[us-west-2]");
    assert!(
        report["groups"][0]["in_service"].as_u64() >= Some(2),
        "{report}"
    );
    assert!(report["rto_seconds"].as_f64().is_some_and(|rto| rto > 0.0));
    assert!(report["rpo_seconds"].as_i64().is_some());
    assert_eq!(
        calls_to(dir, calls_before, "us-east-1")?,
        Vec::<String>::new()
    );

    // Later plans target the DR region and leave the primary's records alone.
    let failed_over = state_resources(dir)?;
    for (address, object) in &primary_before {
        assert_eq!(
            failed_over.get(address),
            Some(object),
            "{address} kept as it was"
        );
    }
    let dr_volume = failed_over["volume.data[us-west-2]"].clone();
    assert_eq!(
        dr_volume["attributes"]["snapshot_id"],
        report["restored"][0]["snapshot_id"]
    );
    let calls_before = read_call_log(&cloud_file)?.len();
    cairn(dir)?
        .env("CAIRN_SIM_OUTAGE", "us-east-1")
        .args(["plan", "-e", "production", "--detailed-exitcode"])
        .assert()
        .code(0)
        .stdout(predicates::str::contains(
            "Environment `production` runs in us-west-2 (failed over from us-east-1",
        ));
    assert_eq!(
        calls_to(dir, calls_before, "us-east-1")?,
        Vec::<String>::new()
    );
    let status = json_of(cairn(dir)?.env("CAIRN_SIM_OUTAGE", "us-east-1").args([
        "dr",
        "status",
        "-e",
        "production",
        "--json",
    ]))?;
    assert_eq!(status["active_region"], "us-west-2");
    assert_eq!(status["last_failover"]["outcome"], "succeeded");

    // Failback once the primary answers again.
    let report = json_of(cairn(dir)?.args([
        "dr",
        "failback",
        "-e",
        "production",
        "--auto-approve",
        "--json",
    ]))?;
    assert_eq!(report["region"], "us-east-1");
    assert_eq!(report["restored"][0]["address"], "volume.data[us-east-1]");
    cairn(dir)?
        .args(["plan", "-e", "production", "--detailed-exitcode"])
        .assert()
        .code(0);
    let status = json_of(cairn(dir)?.args(["dr", "status", "-e", "production", "--json"]))?;
    assert_eq!(status["active_region"], "us-east-1");

    // Everything runs in the primary again, and nothing of the environment is left in the
    // DR region (backup_restore keeps no standby) but its backups.
    let after = state_resources(dir)?;
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        primary_before.keys().collect::<Vec<_>>()
    );
    let provider = SimProvider::open_with_faults(&cloud_file, FaultConfig::default())?;
    let owner = Owner {
        stack: "drfix".to_string(),
        env: "production".to_string(),
    };
    for kind in Kind::ALL.into_iter().filter(|kind| *kind != Kind::Snapshot) {
        let alive: Vec<_> = provider
            .read("us-west-2", kind, &owner)
            .await?
            .into_iter()
            .filter(|resource| resource.attributes.get("state") != Some(&"terminated".into()))
            .collect();
        assert!(alive.is_empty(), "{kind} left in us-west-2: {alive:?}");
    }

    // No data lost: the primary's data volume starts from a copy of a snapshot of the volume
    // that served while failed over.
    let volume = &after["volume.data[us-east-1]"];
    let restored_from = volume["attributes"]["snapshot_id"]
        .as_str()
        .unwrap_or_default();
    let copy = provider
        .import("us-east-1", Kind::Snapshot, restored_from)
        .await?;
    let copy_of = copy.tags.get("cairn:copy-of").cloned().unwrap_or_default();
    let snapshot = provider
        .import("us-west-2", Kind::Snapshot, &copy_of)
        .await?;
    assert_eq!(snapshot.attributes["volume_id"], dr_volume["id"]);
    Ok(())
}

#[test]
fn failback_of_an_environment_in_its_primary_is_refused() -> TestResult {
    let stack = applied_stack()?;
    cairn(stack.path())?
        .args(["dr", "failback", "-e", "production", "--auto-approve"])
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "environment `production` is not failed over",
        ));
    Ok(())
}

/// The fixture with another `dr.mode` (and extra `dr` attributes), applied to production.
fn applied_with_mode(
    mode: &str,
    extra: &str,
) -> Result<tempfile::TempDir, Box<dyn std::error::Error>> {
    let stack = tempfile::tempdir()?;
    let text = std::fs::read_to_string(FIXTURE)?.replace(
        "mode   = \"backup_restore\"",
        &format!("mode   = \"{mode}\"\n    {extra}"),
    );
    assert!(text.contains(mode));
    std::fs::write(stack.path().join("main.hcl"), text)?;
    cairn(stack.path())?
        .args(["apply", "-e", "production", "--auto-approve"])
        .assert()
        .success();
    Ok(stack)
}

fn in_region(resources: &serde_json::Map<String, Value>, region: &str) -> Vec<String> {
    resources
        .iter()
        .filter(|(_, object)| object["region"] == region)
        .map(|(address, _)| address.clone())
        .collect()
}

#[test]
fn pilot_light_keeps_networks_and_firewalls_in_the_dr_region_through_normal_applies() -> TestResult
{
    let stack = applied_with_mode("pilot_light", "")?;
    let dir = stack.path();
    assert_eq!(
        in_region(&state_resources(dir)?, "us-west-2"),
        [
            "firewall.web[us-west-2]",
            "network.main.gateway[us-west-2]",
            "network.main.route_table.public[us-west-2]",
            "network.main.subnet.public[us-west-2a]",
            "network.main.subnet.public[us-west-2b]",
            "network.main[us-west-2]",
        ]
    );
    cairn(dir)?
        .args(["plan", "-e", "production", "--detailed-exitcode"])
        .assert()
        .code(0);

    // A failover grows the pilot light in place: the network it already has is reused.
    backup_run(dir)?;
    let network = state_resources(dir)?["network.main[us-west-2]"]["id"].clone();
    json_of(cairn(dir)?.env("CAIRN_SIM_OUTAGE", "us-east-1").args([
        "dr",
        "failover",
        "-e",
        "production",
        "--auto-approve",
        "--json",
    ]))?;
    let failed_over = state_resources(dir)?;
    assert_eq!(failed_over["network.main[us-west-2]"]["id"], network);
    assert!(failed_over.contains_key("autoscaling.web[us-west-2]"));

    // Failback shrinks the DR region back to the pilot light, network still the same.
    json_of(cairn(dir)?.args([
        "dr",
        "failback",
        "-e",
        "production",
        "--auto-approve",
        "--json",
    ]))?;
    let after = state_resources(dir)?;
    assert_eq!(after["network.main[us-west-2]"]["id"], network);
    assert_eq!(
        in_region(&after, "us-west-2").len(),
        6,
        "{:?}",
        in_region(&after, "us-west-2")
    );
    cairn(dir)?
        .args(["plan", "-e", "production", "--detailed-exitcode"])
        .assert()
        .code(0);
    Ok(())
}

#[test]
fn warm_standby_runs_a_scaled_down_copy_that_a_failover_scales_up_in_place() -> TestResult {
    let stack = applied_with_mode("warm_standby", "capacity = 0.5")?;
    let dir = stack.path();
    let standby = state_resources(dir)?;
    let group = &standby["autoscaling.web[us-west-2]"];
    // The primary's group is min 2 / desired 2; half of it is one instance.
    assert_eq!(group["attributes"]["desired"], 1);
    assert_eq!(group["attributes"]["min"], 1);
    assert!(standby.contains_key("launch_template.web[us-west-2]"));
    assert!(
        !standby.contains_key("volume.data[us-west-2]"),
        "data volumes come from backups on failover"
    );
    cairn(dir)?
        .args(["plan", "-e", "production", "--detailed-exitcode"])
        .assert()
        .code(0);

    backup_run(dir)?;
    let report = json_of(cairn(dir)?.env("CAIRN_SIM_OUTAGE", "us-east-1").args([
        "dr",
        "failover",
        "-e",
        "production",
        "--auto-approve",
        "--json",
    ]))?;
    assert!(
        report["groups"][0]["in_service"].as_u64() >= Some(2),
        "{report}"
    );
    let failed_over = state_resources(dir)?;
    let scaled = &failed_over["autoscaling.web[us-west-2]"];
    assert_eq!(
        scaled["id"], group["id"],
        "scaled up in place, not replaced"
    );
    assert_eq!(scaled["attributes"]["desired"], 2);
    Ok(())
}

#[test]
fn a_drill_beside_a_warm_standby_names_its_resources_apart() -> TestResult {
    let stack = applied_with_mode("warm_standby", "")?;
    let dir = stack.path();
    backup_run(dir)?;
    let report = json_of(cairn(dir)?.args(["dr", "drill", "-e", "production", "--json"]))?;
    assert_eq!(report["leftovers"], serde_json::json!([]), "{report}");
    // The standby is untouched by the drill and its teardown.
    cairn(dir)?
        .args(["plan", "-e", "production", "--detailed-exitcode"])
        .assert()
        .code(0);
    Ok(())
}
