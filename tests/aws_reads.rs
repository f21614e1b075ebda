//! What a refresh costs on AWS (moto) for the traffic kinds: a no-op plan of a stack with two
//! load balancers and their alarms in a primary region, the balancers kept as a pilot light in
//! the DR region, and a DNS name failing over between them (`tests/fixtures/traffic_reads`),
//! its calls counted per kind and region and compared with what the stack implies.
//!
//! The calls are counted by a proxy in front of moto (`moto/proxy.rs`) that sends them into an
//! account of the test's own, so that a region's listings hold this stack's resources only and
//! the counts are exact while other tests share the server. Needs `CAIRN_TEST_AWS_ENDPOINT`
//! (set by `scripts/test` / `scripts/moto start`); without it the test fails.
#![cfg(feature = "aws")]

mod moto;

use moto::ReadCounts;
use moto::proxy::{Call, FaultProxy};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// What the fixture declares, per region of the environment.
const BALANCERS: usize = 2;
/// One target group and one listener per balancer.
const TARGET_GROUPS: usize = BALANCERS;
const LISTENERS: usize = BALANCERS;
/// One 5xx alarm per balancer, in the primary region only (a pilot light keeps no alarms).
const ALARMS: usize = BALANCERS;
/// DNS: one zone, the name's primary and secondary records, the primary's health check.
const ZONES: usize = 1;
const HEALTH_CHECKS: usize = 1;

/// ARNs per ELB DescribeTags call, and ids per Route 53 ListTagsForResources call: the APIs'
/// limits.
const ELB_TAGS_PER_CALL: usize = 20;
/// Alarms per DescribeAlarms page (every other listing's page holds hundreds).
const ALARMS_PER_PAGE: usize = 100;
const ROUTE53_TAGS_PER_CALL: usize = 10;

const TRAFFIC_KINDS: [&str; 7] = [
    "load_balancer",
    "target_group",
    "listener",
    "alarm",
    "dns_zone",
    "dns_health_check",
    "dns_record",
];

const PRIMARY: &str = "us-east-1";
const DR: &str = "us-west-2";
const GLOBAL: &str = "global";

/// Runs `cairn ARGS -e aws DIR` through the proxy; returns stdout, failing on an error.
fn cairn(proxy: &FaultProxy, dir: &Path, args: &[&str]) -> String {
    let output = std::process::Command::new(assert_cmd::cargo::cargo_bin("cairn"))
        .args(args)
        .args(["-e", "aws"])
        .arg(dir)
        .envs(moto::aws_env(&proxy.url))
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|error| panic!("cannot run cairn: {error}"));
    assert!(
        matches!(output.status.code(), Some(0 | 2)),
        "cairn {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// What one refresh of the fixture must cost, derived from what it declares: each listing one
/// page (every count is far below the page sizes), tags read in calls of the APIs' sizes,
/// listeners listed once per owned balancer, records once per owned zone.
fn expected() -> ReadCounts {
    let entry = |region: &str, kind: &str, calls: &[(&str, usize)]| {
        (
            (region.to_string(), kind.to_string()),
            calls
                .iter()
                .map(|(operation, count)| (operation.to_string(), *count))
                .collect::<BTreeMap<_, _>>(),
        )
    };
    let mut counts = ReadCounts::new();
    for region in [PRIMARY, DR] {
        counts.extend([
            entry(
                region,
                "load_balancer",
                &[
                    ("DescribeLoadBalancers", 1),
                    ("DescribeTags", BALANCERS.div_ceil(ELB_TAGS_PER_CALL)),
                ],
            ),
            entry(
                region,
                "target_group",
                &[
                    ("DescribeTargetGroups", 1),
                    ("DescribeTags", TARGET_GROUPS.div_ceil(ELB_TAGS_PER_CALL)),
                ],
            ),
            entry(
                region,
                "listener",
                &[
                    ("DescribeListeners", BALANCERS),
                    ("DescribeTags", LISTENERS.div_ceil(ELB_TAGS_PER_CALL)),
                ],
            ),
        ]);
    }
    counts.extend([
        entry(
            PRIMARY,
            "alarm",
            &[("DescribeAlarms", ALARMS.div_ceil(ALARMS_PER_PAGE))],
        ),
        entry(
            GLOBAL,
            "dns_zone",
            &[
                ("ListHostedZones", 1),
                (
                    "ListTagsForResources",
                    ZONES.div_ceil(ROUTE53_TAGS_PER_CALL),
                ),
            ],
        ),
        entry(
            GLOBAL,
            "dns_health_check",
            &[
                ("ListHealthChecks", 1),
                (
                    "ListTagsForResources",
                    HEALTH_CHECKS.div_ceil(ROUTE53_TAGS_PER_CALL),
                ),
            ],
        ),
        entry(GLOBAL, "dns_record", &[("ListResourceRecordSets", ZONES)]),
    ]);
    counts
}

#[test]
fn a_no_op_plan_reads_each_traffic_kind_once_per_region_and_shares_parent_listings() {
    let moto = moto::endpoint();
    // An account nothing else uses: twelve digits, never moto's default 123456789012.
    let account = format!("9{:011}", fastrand::u64(..100_000_000_000));
    let proxy = FaultProxy::counting_in_account(&moto, &account);
    let root = tempfile::tempdir().unwrap_or_else(|error| panic!("tempdir: {error}"));
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/traffic_reads");
    fs_err::copy(fixture.join("main.hcl"), root.path().join("main.hcl"))
        .unwrap_or_else(|error| panic!("{error}"));
    let dir = root.path();

    cairn(&proxy, dir, &["apply", "--auto-approve"]);
    proxy.take_calls();
    let plan: Value = serde_json::from_str(&cairn(&proxy, dir, &["plan", "--json"]))
        .unwrap_or_else(|error| panic!("plan --json printed no JSON: {error}"));
    let calls = proxy.take_calls();

    assert_eq!(plan["changes"], Value::Array(Vec::new()), "{plan}");
    let changing: Vec<&Call> = calls.iter().filter(|call| call.changes).collect();
    assert!(
        changing.is_empty(),
        "a no-op plan changed something: {changing:?}"
    );
    let traffic: ReadCounts = moto::count_reads(&calls)
        .into_iter()
        .filter(|((_, kind), _)| TRAFFIC_KINDS.contains(&kind.as_str()))
        .collect();
    assert_eq!(traffic, expected(), "all calls: {calls:#?}");
    // The plan's own count of its refresh reads is what reached the cloud: it read nothing
    // else.
    let refresh_reads = plan["refresh_calls"]["reads"].as_u64();
    assert_eq!(refresh_reads, Some(calls.len() as u64), "{plan}");

    cairn(&proxy, dir, &["destroy", "--auto-approve"]);
}
