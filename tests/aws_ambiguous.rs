//! Issue 18 on a real wire protocol: lost answers and killed runs never leave two objects for
//! one address on AWS (moto), and the next plan is empty.
//!
//! A fault-injecting proxy of our own ([`moto::proxy`]) sits between Cairn and moto: it loses
//! the answers of calls moto carried out (a 500 `InternalError` instead), or throttles calls
//! before they reach moto. The cloud is checked from outside with boto3, straight at moto:
//! every owned object of every kind, grouped by its `cairn:address` tag.
//!
//! Needs `CAIRN_TEST_AWS_ENDPOINT` (set by `scripts/test` / `scripts/moto start`); without it
//! the tests fail. Each case gets its own stack name, so cases share one moto without resets.
#![cfg(feature = "aws")]
// The tests print the figures issue 18 asks for (answers lost, recovery and throttled apply
// times) for whoever runs them with `--nocapture`; the CLI's closed-pipe printing is for the
// program, not for this.
#![allow(clippy::disallowed_macros)]

mod moto;

use moto::proxy::{FaultProxy, Faults};
use moto::{Webapp, boto3, copy_webapp, endpoint};

use std::collections::BTreeMap;
use std::process::Output;
use std::time::{Duration, Instant};

/// Owned objects per kind and address, in both regions of the example: `{kind: {address:
/// [ids]}}`. Instances are left out: an autoscaling group's instances carry its tags.
const OWNED_BY_ADDRESS: &str = r#"
import boto3, json, sys
stack = sys.argv[1]
owned = [{"Name": "tag:cairn:stack", "Values": [stack]}]
out = {}
def add(kind, ident, tags):
    address = {t["Key"]: t["Value"] for t in tags or []}.get("cairn:address", "?")
    out.setdefault(kind, {}).setdefault(address, []).append(ident)
for region in ["us-east-1", "us-west-2"]:
    ec2 = boto3.client("ec2", region_name=region)
    autoscaling = boto3.client("autoscaling", region_name=region)
    for v in ec2.describe_vpcs(Filters=owned)["Vpcs"]:
        add("network", v["VpcId"], v.get("Tags"))
    for s in ec2.describe_subnets(Filters=owned)["Subnets"]:
        add("subnet", s["SubnetId"], s.get("Tags"))
    for g in ec2.describe_internet_gateways(Filters=owned)["InternetGateways"]:
        add("internet_gateway", g["InternetGatewayId"], g.get("Tags"))
    for t in ec2.describe_route_tables(Filters=owned)["RouteTables"]:
        add("route_table", t["RouteTableId"], t.get("Tags"))
    for g in ec2.describe_security_groups(Filters=owned)["SecurityGroups"]:
        add("security_group", g["GroupId"], g.get("Tags"))
    for t in ec2.describe_launch_templates(Filters=owned)["LaunchTemplates"]:
        add("launch_template", t["LaunchTemplateId"], t.get("Tags"))
    for v in ec2.describe_volumes(Filters=owned)["Volumes"]:
        add("volume", v["VolumeId"], v.get("Tags"))
    for g in autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"]:
        tags = g.get("Tags") or []
        if any(t["Key"] == "cairn:stack" and t["Value"] == stack for t in tags):
            add("autoscaling_group", g["AutoScalingGroupName"], tags)
print(json.dumps(out))
"#;

/// Addresses with more than one object of one kind, as `kind address [ids]`.
fn duplicates(copy: &Webapp) -> Vec<String> {
    let owned = boto3(OWNED_BY_ADDRESS, &[&copy.stack]);
    let owned: BTreeMap<String, BTreeMap<String, Vec<String>>> =
        serde_json::from_value(owned).unwrap_or_else(|error| panic!("inventory: {error}"));
    owned
        .iter()
        .flat_map(|(kind, addresses)| {
            addresses
                .iter()
                .filter(|(_, ids)| ids.len() > 1)
                .map(move |(address, ids)| format!("{kind} {address} {ids:?}"))
        })
        .collect()
}

fn number_of_objects(copy: &Webapp) -> usize {
    let owned = boto3(OWNED_BY_ADDRESS, &[&copy.stack]);
    owned
        .as_object()
        .into_iter()
        .flat_map(|kinds| kinds.values())
        .flat_map(|addresses| addresses.as_object().into_iter().flat_map(|a| a.values()))
        .map(|ids| ids.as_array().map_or(0, Vec::len))
        .sum()
}

/// How long Cairn looks for the object of a create whose answer it never got. Moto shows a
/// new object at once; the window covers a killed run's call that moto is still carrying out.
const WINDOW: &str = "1s";

fn run(copy: &Webapp, endpoint: &str, args: &[&str]) -> Output {
    let mut args = args.to_vec();
    args.extend(["-e", "aws"]);
    copy.command(endpoint, &args, &[("CAIRN_CONSISTENCY_WINDOW", WINDOW)])
        .output()
        .unwrap_or_else(|error| panic!("cannot run cairn: {error}"))
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// After a run that may have failed: at most one more apply (straight at moto) succeeds and
/// the plan after it is empty.
fn settles(copy: &Webapp, first: &Output, case: &str) {
    if !first.status.success() {
        let again = run(copy, &endpoint(), &["apply", "--auto-approve"]);
        assert!(
            again.status.success(),
            "{case}: the apply after the failed one failed\n{}\nfirst run:\n{}",
            text(&again),
            text(first)
        );
    }
    let plan = run(copy, &endpoint(), &["plan", "--detailed-exitcode"]);
    assert_eq!(
        plan.status.code(),
        Some(0),
        "{case}: the plan after recovery is not empty\n{}",
        text(&plan)
    );
    let duplicated = duplicates(copy);
    assert!(duplicated.is_empty(), "{case}: duplicates {duplicated:?}");
}

/// Regression test for issue 18: with 15% of the answers to calls that change something
/// lost after moto carried them out, the apply of the web app succeeds or fails with an
/// error that says to apply again; no address ever has two objects; one more apply at most
/// makes the plan empty.
#[test]
fn lost_answers_never_make_a_second_object_for_an_address() {
    let mut lost = 0;
    let mut failed = Vec::new();
    for seed in 1..=10_u64 {
        let copy = copy_webapp();
        let proxy = FaultProxy::start(
            &endpoint(),
            Faults {
                seed,
                throttle: 0.0,
                lose: 0.15,
            },
        );
        let first = run(&copy, &proxy.url, &["apply", "--auto-approve"]);
        let case = format!("seed {seed}");
        let duplicated = duplicates(&copy);
        assert!(
            duplicated.is_empty(),
            "{case}: duplicates right after the faulty apply {duplicated:?} (lost answers of \
             {:?})\n{}",
            proxy
                .lost_actions
                .lock()
                .map(|l| l.clone())
                .unwrap_or_default(),
            text(&first)
        );
        if !first.status.success() {
            assert!(
                text(&first).contains("apply again"),
                "{case}: a failure must say that applying again is safe\n{}",
                text(&first)
            );
            failed.push(seed);
        }
        lost += proxy.lost();
        settles(&copy, &first, &case);
    }
    // Ten applies of some forty calls that change something each: the dice must have lost
    // answers, or the test proved nothing.
    assert!(lost >= 20, "only {lost} answers were lost");
    eprintln!("{lost} answers lost; applies that failed (and healed in one more): {failed:?}");
}

/// Regression test for issue 18: `kill -9` of an apply at a spread of moments once it has
/// started changing the cloud (its state holds an intent: a call is about to go out or in
/// flight), then an apply at once, never leaves two objects for one address, and the plan
/// after is empty.
#[test]
fn an_apply_killed_at_any_moment_and_applied_again_at_once_makes_no_duplicate() {
    let mut recoveries = Vec::new();
    let mut resumed = 0;
    for delay_ms in [0_u64, 15, 40, 80, 150, 300] {
        let copy = copy_webapp();
        let state = copy.dir.join(".cairn/state/aws.json");
        let mut child = copy
            .command(
                &endpoint(),
                &["apply", "--auto-approve", "-e", "aws"],
                &[("CAIRN_CONSISTENCY_WINDOW", WINDOW)],
            )
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot run cairn: {error}"));
        // The first intent in saved state: the apply is about to send its first change.
        let waiting = Instant::now();
        while !std::fs::read_to_string(&state).is_ok_and(|text| text.contains("\"intents\""))
            && waiting.elapsed() < Duration::from_secs(60)
        {
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_millis(delay_ms));
        // SIGKILL: no handler runs, nothing is saved on the way out.
        let _ = child.kill();
        let _ = child.wait();

        let started = Instant::now();
        let again = run(&copy, &endpoint(), &["apply", "--auto-approve"]);
        recoveries.push((delay_ms, started.elapsed()));
        let case = format!("killed {delay_ms} ms after its first intent");
        assert!(again.status.success(), "{case}: {}", text(&again));
        if String::from_utf8_lossy(&again.stdout).contains("interrupted at") {
            resumed += 1;
        }
        settles(&copy, &again, &case);
        assert!(
            number_of_objects(&copy) >= 20,
            "{case}: the apply made too little"
        );
    }
    // Some kills must have caught a call in flight, or the test proved nothing.
    assert!(
        resumed >= 1,
        "no kill left an interrupted call: {recoveries:?}"
    );
    eprintln!(
        "recovery applies (kill after the first intent, time): {recoveries:?}; {resumed} \
         resolved interrupted calls"
    );
}

/// Throttling alone: 30% of EC2 and Auto Scaling calls refused before they reach moto. The
/// apply succeeds with no duplicate (the SDK and the engine retry what was refused), and the
/// time it takes is the figure issue 18 asks for.
#[test]
fn an_apply_under_heavy_throttling_succeeds_without_duplicates() {
    let copy = copy_webapp();
    let proxy = FaultProxy::start(
        &endpoint(),
        Faults {
            seed: 7,
            throttle: 0.3,
            lose: 0.0,
        },
    );
    let started = Instant::now();
    let first = run(&copy, &proxy.url, &["apply", "--auto-approve"]);
    let elapsed = started.elapsed();
    assert!(first.status.success(), "{}", text(&first));
    assert!(
        proxy.throttled() > 10,
        "only {} throttled",
        proxy.throttled()
    );
    settles(&copy, &first, "throttled");
    eprintln!(
        "apply under 30% throttling: {elapsed:?}, {} calls throttled",
        proxy.throttled()
    );
}
