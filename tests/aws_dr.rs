//! The DR drill of `examples/webapp`'s production environment on AWS (moto), through the CLI,
//! checked from outside with boto3 (issue 5).
//!
//! Production runs on moto with `--var production_cloud=aws`: apply, `backup run` (a snapshot
//! in us-east-1 and its copy in us-west-2), a boto3 inventory of both regions, then
//! `dr drill --keep`. In us-west-2 the drill (`cairn:env = production-drill`) must reuse the
//! pilot light's network (subnets, gateway, route table) and firewalls by id and hold what the
//! pilot light lacks: the launch template, the autoscaling group with running instances, and
//! the data volume created from the copied snapshot. Everything the environment had before
//! (the primary region, the pilot light in us-west-2, the backups) must be unchanged, down to
//! ids and attributes. `dr drill --teardown` then removes the drill, and nothing of it may be
//! left in us-west-2.
//!
//! Needs `CAIRN_TEST_AWS_ENDPOINT` (set by `scripts/test` / `scripts/moto start`); without it
//! the test fails. Each run has its own stack name.
//!
//! Moto puts all of a group's instances in its first subnet and ignores the template's
//! security groups on them (see MOTO.md), so instances are checked to be in one of the group's
//! subnets, not spread over them. Instances launched by a group carry no `cairn:*` tags (the
//! group's ownership tags do not propagate), so they are found through their group.

// The test reports its figures on stderr for whoever runs it; the CLI's closed-pipe
// printing (`cairn::cli::output`) is for the program, not for this.
#![allow(clippy::disallowed_macros)]
#![cfg(feature = "aws")]

mod moto;

use moto::{DR_REGION, REGION, Webapp, boto3, copy_webapp};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

const DRILL_ENV: &str = "production-drill";

/// Runs `cairn ARGS -e production --var production_cloud=aws DIR`.
fn production(webapp: &Webapp, args: &[&str]) -> String {
    let mut args = args.to_vec();
    args.extend(["-e", "production", "--var", "production_cloud=aws"]);
    let (code, stdout) = webapp.cairn(&args);
    assert_eq!(code, Some(0), "{stdout}");
    stdout
}

fn json_of(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|error| panic!("not JSON ({error}): {stdout}"))
}

/// Everything tagged with the stack in us-east-1 and us-west-2, by region and kind, with the
/// attributes the drill must reproduce (and the primary must keep). Each autoscaling group
/// lists its instances, described under `instance`. Launch template user data is compared by
/// digest (it holds the example's password).
const INVENTORY: &str = r#"
import boto3, hashlib, json, sys
stack = sys.argv[1]
owned = [{"Name": "tag:cairn:stack", "Values": [stack]}]
def tags(items):
    return {item["Key"]: item["Value"] for item in items or []}
def launched(state):
    # Moto moves an instance from pending to running on its own; both mean launched.
    return "running" if state in ("pending", "running") else state
out = {}
for region in ["us-east-1", "us-west-2"]:
    ec2 = boto3.client("ec2", region_name=region)
    autoscaling = boto3.client("autoscaling", region_name=region)
    r = {}
    r["vpc"] = [{"id": v["VpcId"], "cidr": v["CidrBlock"], "tags": tags(v.get("Tags"))}
                for v in ec2.describe_vpcs(Filters=owned)["Vpcs"]]
    r["subnet"] = [{"id": s["SubnetId"], "vpc": s["VpcId"], "zone": s["AvailabilityZone"],
                    "cidr": s["CidrBlock"], "public": s["MapPublicIpOnLaunch"], "tags": tags(s.get("Tags"))}
                   for s in ec2.describe_subnets(Filters=owned)["Subnets"]]
    r["internet_gateway"] = [{"id": g["InternetGatewayId"],
                              "vpcs": sorted(a["VpcId"] for a in g.get("Attachments", [])),
                              "tags": tags(g.get("Tags"))}
                             for g in ec2.describe_internet_gateways(Filters=owned)["InternetGateways"]]
    r["route_table"] = [{"id": t["RouteTableId"], "vpc": t["VpcId"],
                         "routes": sorted([x.get("DestinationCidrBlock"), x.get("GatewayId")] for x in t["Routes"]),
                         "subnets": sorted(a["SubnetId"] for a in t["Associations"] if a.get("SubnetId")),
                         "tags": tags(t.get("Tags"))}
                        for t in ec2.describe_route_tables(Filters=owned)["RouteTables"]]
    groups = ec2.describe_security_groups(Filters=owned)["SecurityGroups"]
    rules = ec2.describe_security_group_rules(
        Filters=[{"Name": "group-id", "Values": [g["GroupId"] for g in groups]}])["SecurityGroupRules"] if groups else []
    def rule(x):
        source = x.get("CidrIpv4") or x.get("ReferencedGroupInfo", {}).get("GroupId")
        return [x["IpProtocol"], x["FromPort"], x["ToPort"], source]
    r["security_group"] = [{
        "id": g["GroupId"], "name": g["GroupName"], "vpc": g["VpcId"], "tags": tags(g.get("Tags")),
        "ingress": sorted(rule(x) for x in rules if x["GroupId"] == g["GroupId"] and not x["IsEgress"]),
        "egress": sorted(rule(x) for x in rules if x["GroupId"] == g["GroupId"] and x["IsEgress"]),
    } for g in groups]
    r["launch_template"] = []
    for t in ec2.describe_launch_templates(Filters=owned)["LaunchTemplates"]:
        data = ec2.describe_launch_template_versions(
            LaunchTemplateId=t["LaunchTemplateId"], Versions=["$Latest"])["LaunchTemplateVersions"][0]["LaunchTemplateData"]
        r["launch_template"].append({
            "id": t["LaunchTemplateId"], "name": t["LaunchTemplateName"], "latest": t["LatestVersionNumber"],
            "image": data.get("ImageId"), "instance_type": data.get("InstanceType"),
            "security_groups": sorted(data.get("SecurityGroupIds", [])),
            "user_data": hashlib.sha256(data.get("UserData", "").encode()).hexdigest(),
            "tags": tags(t.get("Tags"))})
    r["volume"] = [{"id": v["VolumeId"], "zone": v["AvailabilityZone"], "size": v["Size"],
                    "encrypted": v["Encrypted"], "snapshot": v.get("SnapshotId") or None, "state": v["State"],
                    "tags": tags(v.get("Tags"))}
                   for v in ec2.describe_volumes(Filters=owned)["Volumes"]]
    r["snapshot"] = [{"id": s["SnapshotId"], "volume": s.get("VolumeId"), "size": s["VolumeSize"],
                      "encrypted": s["Encrypted"], "state": s["State"], "tags": tags(s.get("Tags"))}
                     for s in ec2.describe_snapshots(OwnerIds=["self"], Filters=owned)["Snapshots"]]
    asgs = [g for page in autoscaling.get_paginator("describe_auto_scaling_groups").paginate()
            for g in page["AutoScalingGroups"] if tags(g.get("Tags")).get("cairn:stack") == stack]
    r["autoscaling_group"] = [{
        "id": g["AutoScalingGroupName"], "tags": tags(g.get("Tags")),
        "subnets": sorted(s for s in g["VPCZoneIdentifier"].split(",") if s),
        "template": g.get("LaunchTemplate", {}).get("LaunchTemplateId"),
        "desired": g["DesiredCapacity"], "min": g["MinSize"], "max": g["MaxSize"],
        "instances": sorted(i["InstanceId"] for i in g["Instances"]),
        "policies": sorted(p["PolicyName"] for p in autoscaling.describe_policies(
            AutoScalingGroupName=g["AutoScalingGroupName"])["ScalingPolicies"]),
    } for g in asgs]
    ids = [i for g in r["autoscaling_group"] for i in g["instances"]]
    r["instance"] = []
    if ids:
        for reservation in ec2.describe_instances(InstanceIds=ids)["Reservations"]:
            for i in reservation["Instances"]:
                r["instance"].append({
                    "id": i["InstanceId"], "state": launched(i["State"]["Name"]),
                    "zone": i["Placement"]["AvailabilityZone"], "subnet": i.get("SubnetId"),
                    "image": i["ImageId"], "instance_type": i["InstanceType"], "tags": tags(i.get("Tags"))})
    for kind in r:
        r[kind].sort(key=lambda item: item["id"])
    out[region] = r
print(json.dumps(out))
"#;

/// The state of each instance id given after the region, `gone` for ids the region no longer
/// knows.
const INSTANCE_STATES: &str = r#"
import boto3, json, sys
ec2 = boto3.client("ec2", region_name=sys.argv[1])
states = {}
for id in sys.argv[2:]:
    try:
        reservations = ec2.describe_instances(InstanceIds=[id])["Reservations"]
        states[id] = reservations[0]["Instances"][0]["State"]["Name"] if reservations else "gone"
    except ec2.exceptions.ClientError as error:
        if "NotFound" not in str(error):
            raise
        states[id] = "gone"
print(json.dumps(states))
"#;

/// Every kind the inventory describes.
const KINDS: [&str; 10] = [
    "vpc",
    "subnet",
    "internet_gateway",
    "route_table",
    "security_group",
    "launch_template",
    "volume",
    "snapshot",
    "autoscaling_group",
    "instance",
];

/// Where the stack's DNS name points: each failover record's alias (by role), and the DNS
/// names of the stack's load balancers in each region.
const DNS: &str = r#"
import boto3, json, sys
stack = sys.argv[1]
def tags(items):
    return {item["Key"]: item["Value"] for item in items or []}
route53 = boto3.client("route53")
out = {"records": {}, "balancers": {}}
for zone in route53.list_hosted_zones()["HostedZones"]:
    zone_id = zone["Id"].split("/")[-1]
    owner = tags(route53.list_tags_for_resource(ResourceType="hostedzone", ResourceId=zone_id)["ResourceTagSet"].get("Tags"))
    if owner.get("cairn:stack") != stack:
        continue
    for record in route53.list_resource_record_sets(HostedZoneId=zone["Id"])["ResourceRecordSets"]:
        if "AliasTarget" in record and record.get("Failover"):
            out["records"][record["Failover"]] = record["AliasTarget"]["DNSName"].rstrip(".").lower()
for region in ["us-east-1", "us-west-2"]:
    elbv2 = boto3.client("elbv2", region_name=region)
    balancers = elbv2.describe_load_balancers()["LoadBalancers"]
    owned = []
    for balancer in balancers:
        found = elbv2.describe_tags(ResourceArns=[balancer["LoadBalancerArn"]])["TagDescriptions"]
        if found and tags(found[0].get("Tags")).get("cairn:stack") == stack:
            owned.append(balancer["DNSName"].lower())
    out["balancers"][region] = owned
print(json.dumps(out))
"#;

/// The region whose load balancer the PRIMARY record of the stack's name answers with.
fn answering_region(stack: &str) -> String {
    let dns = boto3(DNS, &[stack]);
    let primary = &dns["records"]["PRIMARY"];
    [REGION, DR_REGION]
        .into_iter()
        .find(|region| {
            dns["balancers"][region]
                .as_array()
                .is_some_and(|names| names.contains(primary))
        })
        .unwrap_or_else(|| panic!("the primary record names no load balancer of the stack: {dns}"))
        .to_string()
}

fn list<'a>(inventory: &'a Value, region: &str, kind: &str) -> &'a Vec<Value> {
    inventory[region][kind]
        .as_array()
        .unwrap_or_else(|| panic!("no `{kind}` in {region}: {inventory}"))
}

/// The resources of `kind` in `region` that `env` owns (`cairn:env`).
fn owned<'a>(inventory: &'a Value, region: &str, kind: &str, env: &str) -> Vec<&'a Value> {
    list(inventory, region, kind)
        .iter()
        .filter(|resource| resource["tags"]["cairn:env"] == json!(env))
        .collect()
}

/// The inventory of one region with only what `env` owns, instances of its groups included.
fn of_env(inventory: &Value, region: &str, env: &str) -> Value {
    let mut kinds = serde_json::Map::new();
    for kind in KINDS {
        let resources: Vec<Value> = if kind == "instance" {
            let ids: BTreeSet<&str> = owned(inventory, region, "autoscaling_group", env)
                .iter()
                .flat_map(|group| group["instances"].as_array().into_iter().flatten())
                .filter_map(Value::as_str)
                .collect();
            list(inventory, region, kind)
                .iter()
                .filter(|instance| instance["id"].as_str().is_some_and(|id| ids.contains(id)))
                .cloned()
                .collect()
        } else {
            owned(inventory, region, kind, env)
                .into_iter()
                .cloned()
                .collect()
        };
        kinds.insert(kind.to_string(), Value::Array(resources));
    }
    Value::Object(kinds)
}

fn assert_nothing_owned(inventory: &Value, region: &str, env: &str) {
    for kind in KINDS {
        assert_eq!(
            owned(inventory, region, kind, env),
            Vec::<&Value>::new(),
            "{kind} of `{env}` in {region}"
        );
    }
}

fn address(resource: &Value) -> String {
    resource["tags"]["cairn:address"]
        .as_str()
        .unwrap_or_else(|| panic!("no address tag: {resource}"))
        .to_string()
}

fn ids(resources: &[&Value]) -> Vec<String> {
    let mut ids: Vec<String> = resources
        .iter()
        .map(|resource| resource["id"].as_str().unwrap_or_default().to_string())
        .collect();
    ids.sort();
    ids
}

/// The one resource of `resources` at `address`.
fn at<'a>(resources: &[&'a Value], address: &str) -> &'a Value {
    let found: Vec<&&Value> = resources
        .iter()
        .filter(|resource| self::address(resource) == address)
        .collect();
    assert_eq!(found.len(), 1, "one resource at {address}: {found:?}");
    found[0]
}

#[test]
fn production_drill_on_moto_reuses_the_pilot_light_grows_the_rest_and_leaves_the_primary_alone() {
    let webapp = copy_webapp();
    let stack = webapp.stack.as_str();

    let stdout = production(&webapp, &["apply", "--auto-approve"]);
    // 21 resources in us-east-1, the pilot light's network, firewalls and load balancer (15)
    // in us-west-2, and the DNS name's zone, health check and failover records (4).
    assert!(
        stdout.contains("Apply complete! Resources: 40 added, 0 changed, 0 destroyed."),
        "{stdout}"
    );
    let backup = json_of(&production(&webapp, &["backup", "run", "--json"]));
    let volume = &backup["volumes"][0];
    assert_eq!(
        volume["address"],
        json!("volume.data[us-east-1]"),
        "{backup}"
    );
    assert_eq!(volume["snapshot"]["action"], json!("created"), "{backup}");
    assert_eq!(volume["copy"]["action"], json!("created"), "{backup}");
    assert_eq!(volume["copy_region"], json!(DR_REGION));
    let snapshot_id = volume["snapshot"]["snapshot_id"]
        .as_str()
        .unwrap_or_default();
    let copy_id = volume["copy"]["snapshot_id"].as_str().unwrap_or_default();

    let before = boto3(INVENTORY, &[stack]);
    let primary = of_env(&before, REGION, "production");
    let standby = of_env(&before, DR_REGION, "production");
    // What "unchanged" is compared against: the primary's 15 resources, the group's three
    // instances and the snapshot; in us-west-2 the pilot light and the backup copy.
    let counts = |inventory: &Value| -> Vec<(&str, usize)> {
        KINDS
            .iter()
            .map(|kind| (*kind, inventory[kind].as_array().map_or(0, Vec::len)))
            .collect()
    };
    assert_eq!(
        counts(&primary),
        [
            ("vpc", 1),
            ("subnet", 6),
            ("internet_gateway", 1),
            ("route_table", 1),
            ("security_group", 3),
            ("launch_template", 1),
            ("volume", 1),
            ("snapshot", 1),
            ("autoscaling_group", 1),
            ("instance", 3),
        ]
    );
    assert_eq!(
        counts(&standby),
        [
            ("vpc", 1),
            ("subnet", 6),
            ("internet_gateway", 1),
            ("route_table", 1),
            ("security_group", 3),
            ("launch_template", 0),
            ("volume", 0),
            ("snapshot", 1),
            ("autoscaling_group", 0),
            ("instance", 0),
        ]
    );
    assert_nothing_owned(&before, DR_REGION, DRILL_ENV);

    let report = json_of(&production(&webapp, &["dr", "drill", "--keep", "--json"]));
    let rto = report["rto_seconds"].as_f64().unwrap_or(-1.0);
    let rpo = report["rpo_seconds"].as_i64().unwrap_or(-1);
    eprintln!("drill of production on moto: RTO {rto:.2} s, RPO {rpo} s");
    assert_eq!(report["region"], json!(DR_REGION));
    assert_eq!(report["kept"], json!(true));
    assert_eq!(report["destroyed"], Value::Null);
    // The primary region's 21 resources but the 12 the pilot light lends (network and
    // firewalls), and the drill's own DNS zone and plain `www-drill` record: a drill never
    // touches the live name.
    assert_eq!(
        report["created"],
        json!(11),
        "what the pilot light lacks: {report}"
    );
    assert!(rto > 0.0, "{report}");
    assert!(rpo >= 0, "{report}");
    assert_eq!(
        report["restored"],
        json!([{
            "address": "volume.data[us-west-2]",
            "source_address": "volume.data[us-east-1]",
            "snapshot_id": copy_id,
            "taken_at": report["restored"][0]["taken_at"],
            "age_seconds": rpo,
        }])
    );
    let groups = report["groups"].as_array().cloned().unwrap_or_default();
    assert_eq!(groups.len(), 1, "{report}");
    assert!(groups[0]["in_service"].as_u64() >= groups[0]["min"].as_u64());

    let after = boto3(INVENTORY, &[stack]);
    let drill = |kind: &str| owned(&after, DR_REGION, kind, DRILL_ENV);
    let primary_of = |kind: &str| owned(&before, REGION, kind, "production");

    // Beside the pilot light the drill reuses its network (VPC, subnets, gateway, route
    // table) and firewalls by id, and builds only the rest, at the primary's addresses moved
    // to the DR region, with the environment's tags.
    let standby_of = |kind: &str| owned(&before, DR_REGION, kind, "production");
    let lent: Vec<&Value> = [
        "vpc",
        "subnet",
        "internet_gateway",
        "route_table",
        "security_group",
    ]
    .into_iter()
    .flat_map(standby_of)
    .collect();
    let reused: BTreeMap<String, String> = report["reused"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|reused| {
            (
                reused["address"].as_str().unwrap_or_default().to_string(),
                reused["id"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let expected: BTreeMap<String, String> = lent
        .iter()
        .map(|resource| {
            (
                address(resource),
                resource["id"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(reused, expected, "the pilot light's objects: {report}");
    for kind in [
        "vpc",
        "subnet",
        "internet_gateway",
        "route_table",
        "security_group",
    ] {
        assert_eq!(drill(kind), Vec::<&Value>::new(), "{kind} of the drill");
    }
    for kind in ["launch_template", "volume", "autoscaling_group"] {
        let expected: BTreeSet<String> = primary_of(kind)
            .iter()
            .map(|resource| address(resource).replace(REGION, DR_REGION))
            .collect();
        let found: BTreeSet<String> = drill(kind)
            .iter()
            .map(|resource| address(resource))
            .collect();
        assert_eq!(found, expected, "{kind} of the drill");
        for resource in drill(kind) {
            assert_eq!(resource["tags"]["cairn:stack"], json!(stack), "{resource}");
            assert_eq!(resource["tags"]["env"], json!("production"), "{resource}");
        }
    }
    assert_nothing_owned(&after, REGION, DRILL_ENV);
    let public: Vec<&Value> = standby_of("subnet")
        .into_iter()
        .filter(|subnet| address(subnet).contains(".subnet.public["))
        .collect();
    let standby_groups = standby_of("security_group");
    let web = at(&standby_groups, "module.web.firewall.web[us-west-2]");
    let app = at(&standby_groups, "module.web.firewall.app[us-west-2]");

    // The launch template: the primary's image, type and user data, the standby's firewalls.
    let template = drill("launch_template")[0];
    let primary_template = primary_of("launch_template")[0];
    for attribute in ["image", "instance_type", "user_data"] {
        assert_eq!(
            template[attribute], primary_template[attribute],
            "{attribute}"
        );
    }
    // The servers' firewalls (the load balancer's own is the balancer's).
    assert_eq!(template["security_groups"], json!(ids(&[web, app])));

    // The group: over the standby's public subnets, on the drill's template, the primary's
    // sizes, its scaling policy, and its instances launched in the DR region.
    let group = drill("autoscaling_group")[0];
    let primary_group = primary_of("autoscaling_group")[0];
    assert_eq!(group["subnets"], json!(ids(&public)));
    assert_eq!(group["template"], template["id"]);
    for attribute in ["min", "max", "desired"] {
        assert_eq!(group[attribute], primary_group[attribute], "{attribute}");
    }
    // The drill's names carry its instance (`production-drill`).
    let drill_policies: Vec<String> = primary_group["policies"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|name| name.replacen("-production-", "-production-drill-", 1))
        .collect();
    assert_eq!(group["policies"], json!(drill_policies), "policies");
    let instances = of_env(&after, DR_REGION, DRILL_ENV)["instance"].clone();
    let instances = instances.as_array().cloned().unwrap_or_default();
    assert_eq!(json!(instances.len()), group["desired"], "{group}");
    for instance in &instances {
        assert_eq!(instance["state"], json!("running"), "{instance}");
        assert!(
            public
                .iter()
                .any(|subnet| subnet["id"] == instance["subnet"]),
            "{instance}"
        );
        assert!(
            instance["zone"]
                .as_str()
                .is_some_and(|zone| zone.starts_with(DR_REGION)),
            "{instance}"
        );
        assert_eq!(instance["image"], template["image"]);
        assert_eq!(instance["instance_type"], template["instance_type"]);
    }

    // The data volume: created from the copy in us-west-2 of the primary's snapshot.
    let data = drill("volume")[0];
    let primary_data = primary_of("volume")[0];
    assert_eq!(data["snapshot"], json!(copy_id), "{data}");
    assert_eq!(data["zone"], json!("us-west-2a"));
    assert_eq!(
        (&data["size"], &data["encrypted"]),
        (&json!(100), &json!(true))
    );
    assert_eq!(data["state"], json!("available"));
    let copy = list(&after, DR_REGION, "snapshot")
        .iter()
        .find(|snapshot| snapshot["id"] == json!(copy_id))
        .unwrap_or_else(|| panic!("no snapshot {copy_id} in {DR_REGION}"));
    assert_eq!(copy["tags"]["cairn:copy-of"], json!(snapshot_id));
    assert_eq!(
        copy["tags"]["cairn:source-address"],
        json!("volume.data[us-east-1]")
    );
    assert_eq!(copy["state"], json!("completed"));
    let source = list(&after, REGION, "snapshot")
        .iter()
        .find(|snapshot| snapshot["id"] == json!(snapshot_id))
        .unwrap_or_else(|| panic!("no snapshot {snapshot_id} in {REGION}"));
    assert_eq!(source["volume"], primary_data["id"]);
    assert_eq!(
        (&copy["size"], &copy["encrypted"]),
        (&source["size"], &source["encrypted"])
    );

    // The primary and the pilot light: the same resources, ids and attributes as before.
    assert_eq!(of_env(&after, REGION, "production"), primary);
    assert_eq!(of_env(&after, DR_REGION, "production"), standby);

    let teardown = json_of(&production(
        &webapp,
        &["dr", "drill", "--teardown", "--json"],
    ));
    assert_eq!(teardown["region"], json!(DR_REGION));
    assert_eq!(teardown["destroyed"], report["created"], "{teardown}");
    assert_eq!(teardown["leftovers"], json!([]), "{teardown}");

    let torn_down = boto3(INVENTORY, &[stack]);
    assert_nothing_owned(&torn_down, DR_REGION, DRILL_ENV);
    let mut args = vec![DR_REGION];
    args.extend(
        instances
            .iter()
            .filter_map(|instance| instance["id"].as_str()),
    );
    let states = boto3(INSTANCE_STATES, &args);
    for (id, state) in states.as_object().into_iter().flatten() {
        assert!(
            *state == json!("terminated")
                || *state == json!("shutting-down")
                || *state == json!("gone"),
            "instance {id} of the drill is {state}"
        );
    }
    assert_eq!(of_env(&torn_down, REGION, "production"), primary);
    assert_eq!(of_env(&torn_down, DR_REGION, "production"), standby);

    // Production is protected; its backups outlive it by design.
    let (code, stdout) = webapp.cairn(&[
        "destroy",
        "--auto-approve",
        "--force",
        "-e",
        "production",
        "--var",
        "production_cloud=aws",
    ]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("Destroy complete!"), "{stdout}");
}

/// Failover and failback of production on moto: the whole environment moves to us-west-2
/// with its data volume restored from the copy there, later plans are empty, and failback
/// brings it home with the data volume restored from the DR volume's fresh backup, leaving
/// the pilot light (and nothing else) in us-west-2.
#[test]
fn production_fails_over_to_the_dr_region_and_back_on_moto() {
    let webapp = copy_webapp();
    let stack = webapp.stack.as_str();
    production(&webapp, &["apply", "--auto-approve"]);
    production(&webapp, &["backup", "run"]);
    assert_eq!(answering_region(stack), REGION);

    let failover = json_of(&production(
        &webapp,
        &["dr", "failover", "--auto-approve", "--json"],
    ));
    assert_eq!(failover["region"], json!(DR_REGION), "{failover}");
    let restored_from = failover["restored"][0]["snapshot_id"].clone();
    eprintln!(
        "moto failover: RTO {}s, RPO {}s",
        failover["rto_seconds"], failover["rpo_seconds"]
    );
    production(&webapp, &["plan", "--detailed-exitcode"]);
    // The name now answers from the DR region's load balancer.
    assert_eq!(answering_region(stack), DR_REGION);

    let moved = boto3(INVENTORY, &[stack]);
    let running = of_env(&moved, DR_REGION, "production");
    let volume = at(
        &owned(&moved, DR_REGION, "volume", "production"),
        "volume.data[us-west-2]",
    );
    assert_eq!(volume["snapshot"], restored_from, "{volume}");
    assert_eq!(
        running["autoscaling_group"].as_array().map(Vec::len),
        Some(1),
        "{running}"
    );
    assert!(
        running["instance"]
            .as_array()
            .is_some_and(|instances| !instances.is_empty()),
        "{running}"
    );

    let failback = json_of(&production(
        &webapp,
        &["dr", "failback", "--auto-approve", "--json"],
    ));
    assert_eq!(failback["region"], json!(REGION), "{failback}");
    eprintln!(
        "moto failback: RTO {}s, RPO {}s",
        failback["rto_seconds"], failback["rpo_seconds"]
    );
    production(&webapp, &["plan", "--detailed-exitcode"]);
    assert_eq!(answering_region(stack), REGION);

    let home = boto3(INVENTORY, &[stack]);
    // The primary's data volume starts from the copy of the DR volume's fresh snapshot.
    let volume = at(
        &owned(&home, REGION, "volume", "production"),
        "volume.data[us-east-1]",
    );
    assert_eq!(
        volume["snapshot"], failback["restored"][0]["snapshot_id"],
        "{volume}"
    );
    let copy = owned(&home, REGION, "snapshot", "production")
        .into_iter()
        .find(|snapshot| snapshot["id"] == volume["snapshot"])
        .unwrap_or_else(|| panic!("no snapshot {} in {REGION}", volume["snapshot"]));
    let source = copy["tags"]["cairn:copy-of"].clone();
    let original = owned(&home, DR_REGION, "snapshot", "production")
        .into_iter()
        .find(|snapshot| snapshot["id"] == source)
        .unwrap_or_else(|| panic!("no snapshot {source} in {DR_REGION}"));
    assert_eq!(
        original["tags"]["cairn:source-address"],
        json!("volume.data[us-west-2]")
    );
    // Back to the pilot light in us-west-2: network and firewalls, nothing that runs.
    let standby = of_env(&home, DR_REGION, "production");
    for kind in ["launch_template", "volume", "autoscaling_group", "instance"] {
        assert_eq!(standby[kind], json!([]), "{kind} left in {DR_REGION}");
    }
    assert_eq!(standby["vpc"].as_array().map(Vec::len), Some(1));

    production(&webapp, &["destroy", "--auto-approve", "--force"]);
}
