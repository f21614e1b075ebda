//! A drill beside a pilot light or warm standby grows only what is missing (issue 15), through
//! the CLI on the simulated cloud: it reuses the standby's network, subnets, gateway, route
//! table, firewalls and templates by id, creates the rest under its own state and ownership
//! tags, tears down only what it created, and leaves the standby exactly as it was: ids,
//! sizes, tags and attributes, whether it finishes, drifts, or is interrupted at any call.

use assert_cmd::Command;
use cairn::provider::sim::SimCloud;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::path::Path;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/dr/main.hcl");
const DR_REGION: &str = "us-west-2";
/// The pilot light of the fixture: its network (with subnets, gateway and route table) and
/// its firewall.
const PILOT_LIGHT: [&str; 6] = [
    "firewall.web[us-west-2]",
    "network.main.gateway[us-west-2]",
    "network.main.route_table.public[us-west-2]",
    "network.main.subnet.public[us-west-2a]",
    "network.main.subnet.public[us-west-2b]",
    "network.main[us-west-2]",
];

fn cairn(dir: &Path) -> Result<Command, Box<dyn std::error::Error>> {
    let mut command = Command::cargo_bin("cairn")?;
    command
        .current_dir(dir)
        .env_remove("CAIRN_SIM_FILE")
        .env_remove("CAIRN_SIM_OUTAGE")
        .env_remove("CAIRN_SIM_PROFILE")
        .env_remove("CAIRN_SIM_CRASH_AFTER")
        .env("NO_COLOR", "1");
    Ok(command)
}

/// Runs `cairn ARGS` in `dir`, which must succeed; returns what it printed.
fn run(dir: &Path, args: &[&str]) -> Result<String, Box<dyn std::error::Error>> {
    let output = cairn(dir)?.args(args).output()?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "cairn {args:?}: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(stdout)
}

fn json_of(dir: &Path, args: &[&str]) -> Result<Value, Box<dyn std::error::Error>> {
    Ok(serde_json::from_str(&run(dir, args)?)?)
}

/// The fixture with `dr.mode = mode` (and `extra` in the `dr` block), applied to production
/// and backed up (a completed copy in the DR region).
fn applied(mode: &str, extra: &str) -> Result<tempfile::TempDir, Box<dyn std::error::Error>> {
    let stack = tempfile::tempdir()?;
    let text = std::fs::read_to_string(FIXTURE)?.replace(
        "mode   = \"backup_restore\"",
        &format!("mode   = \"{mode}\"\n    {extra}"),
    );
    assert!(text.contains(mode));
    std::fs::write(stack.path().join("main.hcl"), text)?;
    run(
        stack.path(),
        &["apply", "-e", "production", "--auto-approve"],
    )?;
    run(stack.path(), &["backup", "run", "-e", "production"])?;
    Ok(stack)
}

fn drill(dir: &Path, extra: &[&str]) -> Result<Value, Box<dyn std::error::Error>> {
    let mut args = vec!["dr", "drill", "-e", "production", "--json"];
    args.extend(extra);
    json_of(dir, &args)
}

/// The resources of state `environment` (`production`, `production-drill`), by address.
fn state(dir: &Path, environment: &str) -> Result<Map<String, Value>, Box<dyn std::error::Error>> {
    let path = dir.join(format!(".cairn/state/{environment}.json"));
    if !path.exists() {
        return Ok(Map::new());
    }
    let document: Value = serde_json::from_slice(&std::fs::read(path)?)?;
    Ok(document["resources"]
        .as_object()
        .cloned()
        .unwrap_or_default())
}

/// What production's state records in the DR region: each resource whole (id, attributes,
/// tags).
fn standby(dir: &Path) -> Result<Map<String, Value>, Box<dyn std::error::Error>> {
    Ok(state(dir, "production")?
        .into_iter()
        .filter(|(_, resource)| resource["region"] == DR_REGION)
        .collect())
}

fn id_in(resources: &Map<String, Value>, address: &str) -> String {
    resources
        .get(address)
        .and_then(|resource| resource["id"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// Everything the simulated cloud holds in the DR region, ids, attributes and tags.
fn dr_region(dir: &Path) -> Result<Value, Box<dyn std::error::Error>> {
    let cloud = SimCloud::open(&dir.join(".cairn/sim/cloud.json"))?;
    Ok(serde_json::to_value(
        &cloud.inventory()?.regions[DR_REGION],
    )?)
}

/// The report's `reused`, as address → id.
fn reused(report: &Value) -> BTreeMap<String, String> {
    report["reused"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|reused| {
            (
                reused["address"].as_str().unwrap_or_default().to_string(),
                reused["id"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The report's `grown` addresses, sorted.
fn grown(report: &Value) -> Vec<String> {
    let mut grown: Vec<String> = report["grown"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|address| address.as_str().map(ToString::to_string))
        .collect();
    grown.sort();
    grown
}

#[test]
fn without_a_standby_a_drill_still_builds_the_whole_copy() -> TestResult {
    let stack = applied("backup_restore", "")?;
    let dir = stack.path();
    let report = drill(dir, &[])?;
    assert_eq!(report["reused"], json!([]), "{report}");
    // Every resource of the primary, at the same address in the DR region.
    let mut whole: Vec<String> = state(dir, "production")?
        .keys()
        .map(|address| address.replace("us-east-1", DR_REGION))
        .collect();
    whole.sort();
    assert_eq!(grown(&report), whole, "{report}");
    assert_eq!(report["created"], json!(whole.len()));
    assert_eq!(report["destroyed"], json!(whole.len()));
    assert_eq!(report["leftovers"], json!([]));
    Ok(())
}

#[test]
fn beside_a_pilot_light_a_drill_reuses_the_standbys_network_and_creates_fewer_resources()
-> TestResult {
    let lone = applied("backup_restore", "")?;
    let whole = drill(lone.path(), &[])?["created"]
        .as_u64()
        .unwrap_or_default();

    let stack = applied("pilot_light", "")?;
    let dir = stack.path();
    let standby_before = standby(dir)?;
    let live_before = dr_region(dir)?;
    let report = drill(dir, &["--keep"])?;

    // The pilot light, every object of it, by the standby's own ids.
    let expected: BTreeMap<String, String> = PILOT_LIGHT
        .iter()
        .map(|address| (address.to_string(), id_in(&standby_before, address)))
        .collect();
    assert_eq!(reused(&report), expected, "{report}");
    // Only what the pilot light lacks: the template, the group, the restored data volume.
    assert_eq!(
        grown(&report),
        [
            "autoscaling.web[us-west-2]",
            "launch_template.web[us-west-2]",
            "volume.data[us-west-2]",
        ],
        "{report}"
    );
    let created = report["created"].as_u64().unwrap_or_default();
    assert!(
        created < whole,
        "{created} created beside the pilot light, {whole} without"
    );
    assert_eq!(created + PILOT_LIGHT.len() as u64, whole);

    // The drill's additions stand on the standby's objects, by id, and record only
    // themselves.
    let drill_state = state(dir, "production-drill")?;
    let recorded: Vec<String> = drill_state.keys().cloned().collect();
    assert_eq!(recorded, grown(&report));
    let subnets = json!([
        id_in(&standby_before, "network.main.subnet.public[us-west-2a]"),
        id_in(&standby_before, "network.main.subnet.public[us-west-2b]"),
    ]);
    let mut group_subnets = drill_state["autoscaling.web[us-west-2]"]["attributes"]["subnet_ids"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    group_subnets.sort_by_key(ToString::to_string);
    let mut subnets = subnets.as_array().cloned().unwrap_or_default();
    subnets.sort_by_key(ToString::to_string);
    assert_eq!(group_subnets, subnets);
    assert_eq!(
        drill_state["launch_template.web[us-west-2]"]["attributes"]["security_group_ids"],
        json!([id_in(&standby_before, "firewall.web[us-west-2]")])
    );
    assert_eq!(report["groups"][0]["in_service"], json!(2), "{report}");

    // The teardown removes the drill's additions and nothing of the standby.
    let torn_down = json_of(
        dir,
        &["dr", "drill", "--teardown", "-e", "production", "--json"],
    )?;
    assert_eq!(torn_down["destroyed"], json!(created), "{torn_down}");
    assert_eq!(torn_down["leftovers"], json!([]), "{torn_down}");
    assert_eq!(standby(dir)?, standby_before);
    assert_eq!(dr_region(dir)?, live_before);
    Ok(())
}

#[test]
fn a_pilot_light_drill_prints_what_it_reused_and_grew_and_its_predicted_rto() -> TestResult {
    let stack = applied("pilot_light", "")?;
    let dir = stack.path();
    let network = id_in(&standby(dir)?, "network.main[us-west-2]");
    let stdout = run(dir, &["dr", "drill", "-e", "production"])?;
    assert!(
        stdout.contains(
            "Drill of `production` into us-west-2: 3 resources created beside the standby, 6 of the standby's reused."
        ) && stdout.contains(&format!("  reused network.main[us-west-2] ({network})"))
            && stdout.contains("  grown  autoscaling.web[us-west-2]")
            && stdout.contains("RTO measured ")
            && stdout.contains("Torn down: 3 resources destroyed"),
        "{stdout}"
    );
    Ok(())
}

#[test]
fn beside_a_warm_standby_the_standbys_ids_sizes_and_tags_are_unchanged_after_drill_and_teardown()
-> TestResult {
    let stack = applied("warm_standby", "")?;
    let dir = stack.path();
    let standby_before = standby(dir)?;
    // One instance stands by; the drill runs the group at its full size beside it.
    assert_eq!(
        standby_before["autoscaling.web[us-west-2]"]["attributes"]["desired"],
        json!(1)
    );
    let live_before = dr_region(dir)?;

    let report = drill(dir, &["--keep"])?;
    let taken = reused(&report);
    assert_eq!(
        taken.get("launch_template.web[us-west-2]"),
        Some(&id_in(&standby_before, "launch_template.web[us-west-2]")),
        "{report}"
    );
    assert_eq!(
        taken.get("network.main[us-west-2]"),
        Some(&id_in(&standby_before, "network.main[us-west-2]"))
    );
    // The standby's group is never lent: resizing it would change the standby.
    assert!(!taken.contains_key("autoscaling.web[us-west-2]"));
    assert_eq!(
        grown(&report),
        ["autoscaling.web[us-west-2]", "volume.data[us-west-2]"]
    );
    let drill_group = &state(dir, "production-drill")?["autoscaling.web[us-west-2]"];
    assert_ne!(
        drill_group["id"],
        standby_before["autoscaling.web[us-west-2]"]["id"]
    );
    assert_eq!(drill_group["attributes"]["desired"], json!(2));
    assert_eq!(
        drill_group["attributes"]["launch_template_id"],
        json!(id_in(&standby_before, "launch_template.web[us-west-2]"))
    );
    // While the drill runs, the standby is as it was.
    assert_eq!(standby(dir)?, standby_before);

    run(dir, &["dr", "drill", "--teardown", "-e", "production"])?;
    assert_eq!(standby(dir)?, standby_before);
    assert_eq!(dr_region(dir)?, live_before);
    run(dir, &["plan", "-e", "production", "--detailed-exitcode"])?;
    Ok(())
}

#[test]
fn a_drifted_standby_firewall_is_not_reused_and_stays_as_it_was() -> TestResult {
    let stack = applied("warm_standby", "")?;
    let dir = stack.path();
    let standby_before = standby(dir)?;
    let firewall = id_in(&standby_before, "firewall.web[us-west-2]");
    run(dir, &["sim", "set", &firewall, "ingress", "[]"])?;
    let live_before = dr_region(dir)?;

    let report = drill(dir, &["--keep"])?;
    let taken = reused(&report);
    // The network is the standby's; the firewall and the template that names it are the
    // drill's own, with the configured rules.
    assert!(taken.contains_key("network.main[us-west-2]"), "{report}");
    assert!(!taken.contains_key("firewall.web[us-west-2]"), "{report}");
    assert!(
        !taken.contains_key("launch_template.web[us-west-2]"),
        "{report}"
    );
    let drill_state = state(dir, "production-drill")?;
    let own = &drill_state["firewall.web[us-west-2]"];
    assert_ne!(own["id"], json!(firewall));
    assert_eq!(
        own["attributes"]["network_id"],
        json!(id_in(&standby_before, "network.main[us-west-2]"))
    );
    assert_ne!(own["attributes"]["ingress"], json!([]));

    run(dir, &["dr", "drill", "--teardown", "-e", "production"])?;
    // The drill neither fixed nor touched the drifted firewall.
    assert_eq!(dr_region(dir)?, live_before);
    assert_eq!(standby(dir)?, standby_before);
    Ok(())
}

#[test]
fn a_drill_beside_a_pilot_light_interrupted_at_any_call_leaves_nothing_and_the_standby_as_it_was()
-> TestResult {
    let stack = applied("pilot_light", "")?;
    let dir = stack.path();
    let standby_before = standby(dir)?;
    let live_before = dr_region(dir)?;
    let mut crashes = 0;
    for call in 1..=40 {
        let output = cairn(dir)?
            .env("CAIRN_SIM_CRASH_AFTER", call.to_string())
            .args(["dr", "drill", "-e", "production"])
            .output()?;
        let finished = output.status.success();
        if !finished {
            assert_eq!(
                output.status.code(),
                Some(101),
                "call {call}: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            crashes += 1;
            let torn_down = json_of(
                dir,
                &["dr", "drill", "--teardown", "-e", "production", "--json"],
            )?;
            assert_eq!(
                torn_down["leftovers"],
                json!([]),
                "call {call}: {torn_down}"
            );
        }
        assert_eq!(standby(dir)?, standby_before, "call {call}");
        assert_eq!(dr_region(dir)?, live_before, "call {call}");
        if finished {
            break;
        }
    }
    assert!(crashes >= 3, "the drill was interrupted {crashes} times");
    Ok(())
}

#[test]
fn a_drill_builds_its_whole_network_when_the_standbys_route_table_drifted() -> TestResult {
    let stack = applied("pilot_light", "")?;
    let dir = stack.path();
    let standby_before = standby(dir)?;
    let route_table = id_in(
        &standby_before,
        "network.main.route_table.public[us-west-2]",
    );
    run(dir, &["sim", "set", &route_table, "routes", "[]"])?;
    let live_before = dr_region(dir)?;

    // A route table of the drill's own would take the standby subnets' associations, and a
    // second gateway cannot attach to the standby's network: the drill builds the network
    // whole, and the firewall in it, instead.
    let report = drill(dir, &["--keep"])?;
    assert_eq!(report["reused"], json!([]), "{report}");
    let drill_state = state(dir, "production-drill")?;
    for address in PILOT_LIGHT {
        let own = id_in(&drill_state, address);
        assert!(!own.is_empty(), "{address} of the drill: {report}");
        assert_ne!(own, id_in(&standby_before, address), "{address}");
    }

    run(dir, &["dr", "drill", "--teardown", "-e", "production"])?;
    assert_eq!(dr_region(dir)?, live_before);
    assert_eq!(standby(dir)?, standby_before);
    Ok(())
}
