//! The web app example on AWS (moto), end to end through the CLI, checked from outside.
//!
//! `cairn apply -e aws` on a copy of `examples/webapp`, then the cloud is inspected with boto3
//! from the project venv (never through Cairn): ownership tags on every resource, the
//! firewall rules as written, the autoscaling group over its subnets with running instances,
//! its scaling policy, the pilot light (network and firewalls) in the DR region. Changes made
//! behind Cairn's back show as drift and are put back; a destroy leaves nothing tagged with the
//! stack in either region.
//!
//! Needs `CAIRN_TEST_AWS_ENDPOINT` (set by `scripts/test` / `scripts/moto start`); without it
//! the test fails. Each run gets its own stack name, so runs share one moto without resets.
//!
//! Moto keeps the tags of deleted resources in `DescribeTags`, so "nothing left" is checked
//! with the per-kind `Describe*` calls filtered by the `cairn:stack` tag.
#![cfg(feature = "aws")]

mod moto;

use moto::{DR_REGION, REGION, Webapp, boto3, copy_webapp};
use serde_json::{Value, json};

/// Runs `cairn ARGS -e aws DIR` against moto; returns the exit code and stdout.
fn cairn(copy: &Webapp, args: &[&str]) -> (Option<i32>, String) {
    let mut args = args.to_vec();
    args.extend(["-e", "aws"]);
    copy.cairn(&args)
}

/// Everything in a region (us-east-1 unless a second argument names one) tagged with the
/// stack, described kind by kind.
const INVENTORY: &str = r#"
import boto3, json, sys
stack = sys.argv[1]
region = sys.argv[2] if len(sys.argv) > 2 else "us-east-1"
ec2 = boto3.client("ec2", region_name=region)
autoscaling = boto3.client("autoscaling", region_name=region)
owned = [{"Name": "tag:cairn:stack", "Values": [stack]}]
def tags(items):
    return {item["Key"]: item["Value"] for item in items or []}
out = {}
out["vpc"] = [{"id": v["VpcId"], "tags": tags(v.get("Tags"))} for v in ec2.describe_vpcs(Filters=owned)["Vpcs"]]
out["subnet"] = [{"id": s["SubnetId"], "zone": s["AvailabilityZone"], "tags": tags(s.get("Tags"))} for s in ec2.describe_subnets(Filters=owned)["Subnets"]]
out["internet_gateway"] = [{"id": g["InternetGatewayId"], "tags": tags(g.get("Tags"))} for g in ec2.describe_internet_gateways(Filters=owned)["InternetGateways"]]
out["route_table"] = [{"id": t["RouteTableId"], "tags": tags(t.get("Tags"))} for t in ec2.describe_route_tables(Filters=owned)["RouteTables"]]
out["launch_template"] = [{"id": t["LaunchTemplateId"], "tags": tags(t.get("Tags"))} for t in ec2.describe_launch_templates(Filters=owned)["LaunchTemplates"]]
out["volume"] = [{"id": v["VolumeId"], "tags": tags(v.get("Tags"))} for v in ec2.describe_volumes(Filters=owned)["Volumes"]]
groups = ec2.describe_security_groups(Filters=owned)["SecurityGroups"]
rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [g["GroupId"] for g in groups]}])["SecurityGroupRules"] if groups else []
def rule(r):
    source = r.get("CidrIpv4") or r.get("ReferencedGroupInfo", {}).get("GroupId")
    return [r["IpProtocol"], r["FromPort"], r["ToPort"], source]
out["security_group"] = [{
    "id": g["GroupId"], "name": g["GroupName"], "tags": tags(g.get("Tags")),
    "ingress": sorted(rule(r) for r in rules if r["GroupId"] == g["GroupId"] and not r["IsEgress"]),
    "egress": sorted(rule(r) for r in rules if r["GroupId"] == g["GroupId"] and r["IsEgress"]),
} for g in groups]
# Every page: runs share one moto, and a first page of 50 may hold other runs' groups only.
asgs = [g for page in autoscaling.get_paginator("describe_auto_scaling_groups").paginate()
        for g in page["AutoScalingGroups"]
        if tags(g.get("Tags")).get("cairn:stack") == stack]
out["autoscaling_group"] = [{
    "id": g["AutoScalingGroupName"], "tags": tags(g.get("Tags")),
    "subnets": sorted(s for s in g["VPCZoneIdentifier"].split(",") if s),
    "desired": g["DesiredCapacity"], "min": g["MinSize"], "max": g["MaxSize"],
    "instances": [i["InstanceId"] for i in g["Instances"]],
} for g in asgs]
instance_ids = [i for g in out["autoscaling_group"] for i in g["instances"]]
states = {}
if instance_ids:
    for reservation in ec2.describe_instances(InstanceIds=instance_ids)["Reservations"]:
        for instance in reservation["Instances"]:
            states[instance["InstanceId"]] = instance["State"]["Name"]
out["instance_states"] = states
out["scaling_policy"] = [{
    "group": p["AutoScalingGroupName"], "name": p["PolicyName"], "type": p["PolicyType"],
    "target": p.get("TargetTrackingConfiguration", {}).get("TargetValue"),
} for g in asgs
  for page in autoscaling.get_paginator("describe_policies").paginate(AutoScalingGroupName=g["AutoScalingGroupName"])
  for p in page["ScalingPolicies"]]
print(json.dumps(out))
"#;

/// Out-of-band changes: an extra ingress rule on the web firewall, desired capacity 4.
const TAMPER: &str = r#"
import boto3, json, sys
stack = sys.argv[1]
ec2 = boto3.client("ec2")
autoscaling = boto3.client("autoscaling")
web = ec2.describe_security_groups(Filters=[
    {"Name": "tag:cairn:stack", "Values": [stack]},
    {"Name": "group-name", "Values": [stack + "-aws-web-web"]},
])["SecurityGroups"][0]
ec2.authorize_security_group_ingress(GroupId=web["GroupId"], IpPermissions=[
    {"IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
autoscaling.set_desired_capacity(AutoScalingGroupName=stack + "-aws-web-web", DesiredCapacity=4)
print(json.dumps({"group": web["GroupId"]}))
"#;

fn list<'a>(inventory: &'a Value, kind: &str) -> &'a Vec<Value> {
    inventory[kind]
        .as_array()
        .unwrap_or_else(|| panic!("no `{kind}` in {inventory}"))
}

fn by_name<'a>(inventory: &'a Value, name: &str) -> &'a Value {
    list(inventory, "security_group")
        .iter()
        .find(|group| group["name"] == json!(name))
        .unwrap_or_else(|| panic!("no security group `{name}`"))
}

#[test]
fn webapp_on_aws_applies_is_inspectable_corrects_drift_and_destroys() {
    let copy = copy_webapp();
    let stack = copy.stack.as_str();

    let (code, stdout) = cairn(&copy, &["apply", "--auto-approve"]);
    assert_eq!(code, Some(0));
    // 15 in us-east-1, and the pilot light's 11 in us-west-2.
    assert!(
        stdout.contains("Apply complete! Resources: 26 added, 0 changed, 0 destroyed."),
        "{stdout}"
    );

    let inventory = boto3(INVENTORY, &[stack]);
    // One network with 3 public and 3 private subnets, a gateway, a route table, two
    // firewalls, a launch template, a data volume and a group: every one carries the
    // ownership tags, the address one naming where it sits in the configuration.
    let counts = [
        ("vpc", 1),
        ("subnet", 6),
        ("internet_gateway", 1),
        ("route_table", 1),
        ("security_group", 2),
        ("launch_template", 1),
        ("volume", 1),
        ("autoscaling_group", 1),
    ];
    for (kind, count) in counts {
        let resources = list(&inventory, kind);
        assert_eq!(resources.len(), count, "{kind}: {resources:?}");
        for resource in resources {
            let tags = &resource["tags"];
            assert_eq!(tags["cairn:stack"], json!(stack), "{kind} {resource}");
            assert_eq!(tags["cairn:env"], json!("aws"), "{kind} {resource}");
            assert!(
                tags["cairn:address"]
                    .as_str()
                    .is_some_and(|address| address.ends_with(']')),
                "{kind} {resource}"
            );
            assert_eq!(tags["env"], json!("aws"), "{kind}: environment tags");
        }
    }
    // The pilot light in the DR region: the network and firewalls, nothing that runs.
    let standby = boto3(INVENTORY, &[stack, DR_REGION]);
    let standby_counts = [
        ("vpc", 1),
        ("subnet", 6),
        ("internet_gateway", 1),
        ("route_table", 1),
        ("security_group", 2),
        ("launch_template", 0),
        ("volume", 0),
        ("autoscaling_group", 0),
    ];
    for (kind, count) in standby_counts {
        let resources = list(&standby, kind);
        assert_eq!(
            resources.len(),
            count,
            "{kind} in {DR_REGION}: {resources:?}"
        );
        for resource in resources {
            assert_eq!(resource["tags"]["cairn:env"], json!("aws"), "{resource}");
            assert!(
                resource["tags"]["cairn:address"]
                    .as_str()
                    .is_some_and(|address| address.contains("us-west-2")),
                "{resource}"
            );
        }
    }

    let group_address = |kind: &str| -> Vec<String> {
        list(&inventory, kind)
            .iter()
            .filter_map(|resource| resource["tags"]["cairn:address"].as_str())
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        group_address("autoscaling_group"),
        vec!["module.web.autoscaling.web[us-east-1]"]
    );
    assert_eq!(group_address("volume"), vec!["volume.data[us-east-1]"]);

    // The firewalls' rules as written in modules/web-tier.
    let web = by_name(&inventory, &format!("{stack}-aws-web-web"));
    let app = by_name(&inventory, &format!("{stack}-aws-web-app"));
    assert_eq!(
        web["ingress"],
        json!([
            ["tcp", 22, 22, "10.20.0.0/16"],
            ["tcp", 443, 443, "0.0.0.0/0"]
        ])
    );
    assert_eq!(web["egress"], json!([["-1", -1, -1, "0.0.0.0/0"]]));
    assert_eq!(app["ingress"], json!([["tcp", 8080, 8081, web["id"]]]));
    assert_eq!(app["egress"], json!([["-1", -1, -1, "0.0.0.0/0"]]));

    // The group spans the three public subnets (one per zone) with its instances running.
    let group = &list(&inventory, "autoscaling_group")[0];
    let public: Vec<Value> = list(&inventory, "subnet")
        .iter()
        .filter(|subnet| {
            subnet["tags"]["cairn:address"]
                .as_str()
                .is_some_and(|address| address.contains(".subnet.public["))
        })
        .map(|subnet| subnet["id"].clone())
        .collect();
    let mut public_sorted = public.clone();
    public_sorted.sort_by(|left, right| left.as_str().cmp(&right.as_str()));
    assert_eq!(group["subnets"], json!(public_sorted));
    assert_eq!(
        (&group["min"], &group["max"], &group["desired"]),
        // The web tier keeps two instances (policy rule CAIRN009 for production).
        (&json!(2), &json!(4), &json!(2))
    );
    let instances = group["instances"].as_array().cloned().unwrap_or_default();
    assert_eq!(instances.len(), 2, "{group}");
    for instance in &instances {
        let state = &inventory["instance_states"][instance.as_str().unwrap_or_default()];
        assert!(
            *state == json!("running") || *state == json!("pending"),
            "{instance}: {state}"
        );
    }
    // Policies take no tags in AWS; the group's tags are what makes it Cairn's.
    assert_eq!(
        inventory["scaling_policy"],
        json!([{
            "group": format!("{stack}-aws-web-web"),
            "name": format!("{stack}-aws-web-web-cpu"),
            "type": "TargetTrackingScaling",
            "target": 70.0,
        }])
    );

    // Right after the apply the plan is empty.
    let (code, stdout) = cairn(&copy, &["plan", "--detailed-exitcode"]);
    assert_eq!(code, Some(0), "{stdout}");

    // Behind Cairn's back: a new ingress rule and a larger group.
    boto3(TAMPER, &[stack]);
    let (code, stdout) = cairn(&copy, &["plan", "--detailed-exitcode"]);
    assert_eq!(code, Some(2), "{stdout}");
    assert!(
        stdout.contains("Objects have changed outside of Cairn"),
        "{stdout}"
    );
    assert!(stdout.contains("~ desired = 2 -> 4"), "{stdout}");
    assert!(stdout.contains("+ from_port = 3389"), "{stdout}");
    assert!(
        stdout.contains("Plan: 0 to add, 2 to change, 0 to destroy."),
        "{stdout}"
    );

    let (code, _) = cairn(&copy, &["apply", "--auto-approve"]);
    assert_eq!(code, Some(0));
    let corrected = boto3(INVENTORY, &[stack]);
    assert_eq!(
        by_name(&corrected, &format!("{stack}-aws-web-web"))["ingress"],
        web["ingress"]
    );
    assert_eq!(
        list(&corrected, "autoscaling_group")[0]["desired"],
        json!(2)
    );
    let (code, stdout) = cairn(&copy, &["plan", "--detailed-exitcode"]);
    assert_eq!(code, Some(0), "{stdout}");

    let (code, stdout) = cairn(&copy, &["destroy", "--auto-approve"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("Destroy complete!"), "{stdout}");
    for region in [REGION, DR_REGION] {
        let left = boto3(INVENTORY, &[stack, region]);
        for (kind, _) in counts.iter().chain(&[("scaling_policy", 0)]) {
            assert_eq!(
                list(&left, kind),
                &Vec::<Value>::new(),
                "{kind} left behind in {region}"
            );
        }
    }
}
