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

/// Owned objects per kind and address, in both regions of the example and in Route 53: `{kind:
/// {address: [ids]}}`. Instances are left out: an autoscaling group's instances carry its
/// tags. DNS records are left out: Route 53 holds one record per name, type and set, so a
/// record cannot be duplicated. The services without a tag filter are read the way Cairn
/// reads them (ELB tags by ARN, an alarm's ownership in its description, a zone's in its
/// comment, a health check's by its caller reference), and a health check whose tags were
/// never set is listed under the address `?`.
const OWNED_BY_ADDRESS: &str = r#"
import boto3, json, sys
stack = sys.argv[1]
owned = [{"Name": "tag:cairn:stack", "Values": [stack]}]
out = {}
def add(kind, ident, tags):
    if isinstance(tags, list):
        tags = {t["Key"]: t["Value"] for t in tags}
    tags = tags or {}
    if tags.get("cairn:stack", stack) != stack:
        return
    out.setdefault(kind, {}).setdefault(tags.get("cairn:address", "?"), []).append(ident)
def elb_tags(elbv2, arns):
    found = {}
    for i in range(0, len(arns), 20):
        for d in elbv2.describe_tags(ResourceArns=arns[i:i + 20])["TagDescriptions"]:
            found[d["ResourceArn"]] = {t["Key"]: t["Value"] for t in d.get("Tags", [])}
    return found
def fnv1a(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    return h
for region in ["us-east-1", "us-west-2"]:
    ec2 = boto3.client("ec2", region_name=region)
    autoscaling = boto3.client("autoscaling", region_name=region)
    elbv2 = boto3.client("elbv2", region_name=region)
    cloudwatch = boto3.client("cloudwatch", region_name=region)
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
    balancers = [b["LoadBalancerArn"] for b in elbv2.describe_load_balancers()["LoadBalancers"]]
    tags = elb_tags(elbv2, balancers)
    mine = [arn for arn in balancers if tags.get(arn, {}).get("cairn:stack") == stack]
    for arn in mine:
        add("load_balancer", arn, tags[arn])
        listeners = [l["ListenerArn"] for l in elbv2.describe_listeners(LoadBalancerArn=arn)["Listeners"]]
        for listener, listener_tags in elb_tags(elbv2, listeners).items():
            add("listener", listener, listener_tags)
    groups = [g["TargetGroupArn"] for g in elbv2.describe_target_groups()["TargetGroups"]]
    for arn, group_tags in elb_tags(elbv2, groups).items():
        if group_tags.get("cairn:stack") == stack:
            add("target_group", arn, group_tags)
    for a in cloudwatch.describe_alarms()["MetricAlarms"]:
        description = a.get("AlarmDescription") or ""
        prefix = "Managed by Cairn; its tags: "
        if description.startswith(prefix):
            add("alarm", a["AlarmName"], json.loads(description[len(prefix):]))
route53 = boto3.client("route53", region_name="us-east-1")
for z in route53.list_hosted_zones()["HostedZones"]:
    comment = z.get("Config", {}).get("Comment") or ""
    prefix = "Managed by Cairn; its owner: "
    if comment.startswith(prefix):
        add("dns_zone", z["Id"], json.loads(comment[len(prefix):]))
checks = route53.list_health_checks()["HealthChecks"]
reference = "cairn-%016x-" % fnv1a(("%s\naws" % stack).encode())
for c in checks:
    if c["CallerReference"].startswith(reference):
        tags = route53.list_tags_for_resource(ResourceType="healthcheck", ResourceId=c["Id"])
        add("dns_health_check", c["Id"], {"cairn:stack": stack, **{t["Key"]: t["Value"] for t in tags["ResourceTagSet"].get("Tags", [])}})
print(json.dumps(out))
"#;

/// The owned objects, by kind and address (see [`OWNED_BY_ADDRESS`]).
fn inventory(copy: &Webapp) -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
    let owned = boto3(OWNED_BY_ADDRESS, &[&copy.stack]);
    serde_json::from_value(owned).unwrap_or_else(|error| panic!("inventory: {error}"))
}

/// Addresses with more than one object of one kind, as `kind address [ids]`. Objects with no
/// address yet (a health check whose tagging call has not happened) are [`unaddressed`].
fn duplicates(copy: &Webapp) -> Vec<String> {
    inventory(copy)
        .iter()
        .flat_map(|(kind, addresses)| {
            addresses
                .iter()
                .filter(|(address, ids)| ids.len() > 1 && *address != "?")
                .map(move |(address, ids)| format!("{kind} {address} {ids:?}"))
        })
        .collect()
}

/// Owned objects no address leads to, as `kind [ids]`: once the runs have settled, each is
/// one Cairn lost track of.
fn unaddressed(copy: &Webapp) -> Vec<String> {
    inventory(copy)
        .iter()
        .filter_map(|(kind, addresses)| addresses.get("?").map(|ids| format!("{kind} {ids:?}")))
        .collect()
}

fn number_of_objects(copy: &Webapp) -> usize {
    inventory(copy)
        .values()
        .flat_map(BTreeMap::values)
        .map(Vec::len)
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
    let lost_track = unaddressed(copy);
    assert!(
        lost_track.is_empty(),
        "{case}: untracked objects {lost_track:?}"
    );
}

/// Regression test for issue 18: with 15% of the answers to calls that change something
/// lost after moto carried them out, the apply of the web app succeeds or fails with an
/// error that says to apply again; no address ever has two objects; one more apply at most
/// makes the plan empty.
#[test]
fn lost_answers_never_make_a_second_object_for_an_address() {
    let mut lost = 0;
    let mut lost_beyond_ec2 = Vec::new();
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
        lost_beyond_ec2.extend(
            proxy
                .lost_actions
                .lock()
                .map(|lost| lost.clone())
                .unwrap_or_default()
                .into_iter()
                .filter(|call| !call.starts_with("Ec2 ") && !call.starts_with("Autoscaling ")),
        );
        settles(&copy, &first, &case);
    }
    // Ten applies of some sixty calls that change something each: the dice must have lost
    // answers, load balancer, alarm and DNS ones among them, or the test proved nothing.
    assert!(lost >= 20, "only {lost} answers were lost");
    assert!(
        lost_beyond_ec2.len() >= 5,
        "only {lost_beyond_ec2:?} lost beyond EC2 and Auto Scaling"
    );
    eprintln!(
        "{lost} answers lost ({} beyond EC2 and Auto Scaling: {lost_beyond_ec2:?}); applies \
         that failed (and healed in one more): {failed:?}",
        lost_beyond_ec2.len()
    );
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
