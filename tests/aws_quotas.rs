//! `cairn dr check` reads the DR region's instance quota on AWS (moto) (issue 15): the
//! `max-instances` account attribute (DescribeAccountAttributes; moto answers AWS's default
//! of 20), held against the instances pending or running there now, counted from outside with
//! boto3, plus what a failover of `examples/webapp`'s production adds to its pilot light.
//! The VPC quota is only in Service Quotas, which Cairn does not call: it is not reported.
//!
//! Needs `CAIRN_TEST_AWS_ENDPOINT` (set by `scripts/test` / `scripts/moto start`); without it
//! the test fails. The run has its own stack name.

#![cfg(feature = "aws")]

mod moto;

use moto::{DR_REGION, boto3, copy_webapp};
use serde_json::{Value, json};

/// The instances pending or running in the region `argv[1]`, whoever owns them.
const RUNNING: &str = r#"
import boto3, json, sys
ec2 = boto3.client("ec2", region_name=sys.argv[1])
states = [{"Name": "instance-state-name", "Values": ["pending", "running"]}]
count = sum(len(reservation["Instances"])
            for page in ec2.get_paginator("describe_instances").paginate(Filters=states)
            for reservation in page["Reservations"])
print(json.dumps(count))
"#;

#[test]
fn dr_check_on_moto_holds_max_instances_against_what_runs_and_what_a_failover_adds() {
    let webapp = copy_webapp();
    let production = ["-e", "production", "--var", "production_cloud=aws"];
    let run = |args: &[&str]| {
        let mut args = args.to_vec();
        args.extend(production);
        webapp.cairn(&args)
    };
    run(&["apply", "--auto-approve"]);
    run(&["backup", "run"]);

    let running = boto3(RUNNING, &[DR_REGION]);
    let (code, stdout) = run(&["dr", "check", "--json"]);
    let check: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|error| panic!("not JSON ({error}): {stdout}"));
    // The pilot light runs no instance; a failover brings up the web group's desired 3.
    assert_eq!(
        check["quotas"],
        json!([{ "quota": "running_instances", "limit": 20, "usage": running, "adds": 3 }]),
        "{check}"
    );
    assert_eq!(code, Some(0), "{stdout}");
    assert_eq!(check["blockers"], json!([]), "{check}");
}
