//! The web app example on AWS (moto), end to end through the CLI, checked from outside.
//!
//! `cairn apply -e aws` on a copy of `examples/webapp`, then the cloud is inspected with boto3
//! from the project venv (never through Cairn): ownership tags on every resource, the
//! firewall rules as written, the autoscaling group over its subnets with running instances,
//! its scaling policy, the load balancer its instances are registered behind, the CPU and 5xx
//! alarms, the DNS name failing over to the pilot light (network, firewalls and load
//! balancer) in the DR region. Changes made
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
# Elastic Load Balancing lists without tags: ownership comes from DescribeTags.
elbv2 = boto3.client("elbv2", region_name=region)
def elb_owned(items, key):
    arns = [item[key] for item in items]
    found = {}
    for start in range(0, len(arns), 20):
        for description in elbv2.describe_tags(ResourceArns=arns[start:start + 20])["TagDescriptions"]:
            found[description["ResourceArn"]] = tags(description.get("Tags"))
    return [(item, found.get(item[key], {})) for item in items if found.get(item[key], {}).get("cairn:stack") == stack]
balancers = elb_owned(elbv2.describe_load_balancers()["LoadBalancers"], "LoadBalancerArn")
out["load_balancer"] = [{
    "id": b["LoadBalancerArn"], "dns_name": b["DNSName"], "type": b["Type"], "tags": t,
    "subnets": sorted(z["SubnetId"] for z in b["AvailabilityZones"]),
} for b, t in balancers]
listeners = [l for b, _ in balancers for l in elbv2.describe_listeners(LoadBalancerArn=b["LoadBalancerArn"])["Listeners"]]
out["listener"] = [{
    "id": l["ListenerArn"], "port": l["Port"], "protocol": l["Protocol"], "tags": t,
    "forward": [g["TargetGroupArn"] for a in l["DefaultActions"] for g in a.get("ForwardConfig", {}).get("TargetGroups", [])],
} for l, t in elb_owned(listeners, "ListenerArn")]
out["target_group"] = [{
    "id": g["TargetGroupArn"], "health_check_path": g.get("HealthCheckPath"), "tags": t,
    "targets": sorted(d["Target"]["Id"] for d in elbv2.describe_target_health(TargetGroupArn=g["TargetGroupArn"])["TargetHealthDescriptions"]),
} for g, t in elb_owned(elbv2.describe_target_groups()["TargetGroups"], "TargetGroupArn")]
cloudwatch = boto3.client("cloudwatch", region_name=region)
alarms = [(a, tags(cloudwatch.list_tags_for_resource(ResourceARN=a["AlarmArn"])["Tags"])) for a in cloudwatch.describe_alarms()["MetricAlarms"]]
out["alarm"] = [{
    "id": a["AlarmName"], "metric": a["MetricName"], "namespace": a["Namespace"],
    "threshold": a["Threshold"], "tags": t,
    "dimensions": {d["Name"]: d["Value"] for d in a["Dimensions"]},
} for a, t in alarms if t.get("cairn:stack") == stack]
# Route 53 is global: the same zones, checks and records whichever region is asked about.
route53 = boto3.client("route53")
def route53_tags(kind, ids):
    found = {}
    for start in range(0, len(ids), 10):
        for entry in route53.list_tags_for_resources(ResourceType=kind, ResourceIds=ids[start:start + 10])["ResourceTagSets"]:
            found[entry["ResourceId"]] = tags(entry.get("Tags"))
    return found
zones = route53.list_hosted_zones()["HostedZones"]
zone_tags = route53_tags("hostedzone", [z["Id"].split("/")[-1] for z in zones])
zones = [z for z in zones if zone_tags.get(z["Id"].split("/")[-1], {}).get("cairn:stack") == stack]
out["dns_zone"] = [{"id": z["Id"].split("/")[-1], "name": z["Name"], "tags": zone_tags[z["Id"].split("/")[-1]]} for z in zones]
out["dns_record"] = [{
    "name": r["Name"], "type": r["Type"], "failover": r.get("Failover"),
    "alias": r["AliasTarget"]["DNSName"].rstrip(".").lower(), "health_check": r.get("HealthCheckId"),
} for z in zones for r in route53.list_resource_record_sets(HostedZoneId=z["Id"])["ResourceRecordSets"] if "AliasTarget" in r]
checks = route53.list_health_checks()["HealthChecks"]
check_tags = route53_tags("healthcheck", [c["Id"] for c in checks])
out["dns_health_check"] = [{"id": c["Id"], "path": c["HealthCheckConfig"].get("ResourcePath"), "tags": check_tags.get(c["Id"], {})}
    for c in checks if check_tags.get(c["Id"], {}).get("cairn:stack") == stack]
print(json.dumps(out))
"#;

/// Out-of-band changes: an extra ingress rule on the web firewall, desired capacity 4, the
/// load balancer's listener moved to port 8080, the CPU alarm's threshold raised to 95.
const TAMPER: &str = r#"
import boto3, json, sys
stack = sys.argv[1]
ec2 = boto3.client("ec2")
autoscaling = boto3.client("autoscaling")
elbv2 = boto3.client("elbv2")
balancer = [b for b in elbv2.describe_load_balancers()["LoadBalancers"] if b["LoadBalancerName"].startswith(stack)][0]
listener = elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"][0]
elbv2.modify_listener(ListenerArn=listener["ListenerArn"], Port=8080)
cloudwatch = boto3.client("cloudwatch")
alarm = cloudwatch.describe_alarms(AlarmNames=[stack + "-aws-web-cpu_high"])["MetricAlarms"][0]
cloudwatch.put_metric_alarm(
    AlarmName=alarm["AlarmName"], AlarmDescription=alarm.get("AlarmDescription", ""),
    Namespace=alarm["Namespace"], MetricName=alarm["MetricName"], Statistic=alarm["Statistic"],
    ComparisonOperator=alarm["ComparisonOperator"], Threshold=95.0,
    EvaluationPeriods=alarm["EvaluationPeriods"], Period=alarm["Period"],
    Dimensions=alarm["Dimensions"])
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
    // 21 in us-east-1 (with the load balancer, its target group and listener, two alarms),
    // the pilot light's 15 in us-west-2 (with its load balancer), and the DNS zone, health
    // check and two failover records.
    assert!(
        stdout.contains("Apply complete! Resources: 40 added, 0 changed, 0 destroyed."),
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
        ("security_group", 3),
        ("launch_template", 1),
        ("volume", 1),
        ("autoscaling_group", 1),
        ("load_balancer", 1),
        ("listener", 1),
        ("target_group", 1),
        ("alarm", 2),
        ("dns_zone", 1),
        ("dns_health_check", 1),
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
    // The pilot light in the DR region: the network, firewalls and the load balancer the
    // DNS name fails over to, nothing that runs.
    let standby = boto3(INVENTORY, &[stack, DR_REGION]);
    let standby_counts = [
        ("vpc", 1),
        ("subnet", 6),
        ("internet_gateway", 1),
        ("route_table", 1),
        ("security_group", 3),
        ("launch_template", 0),
        ("volume", 0),
        ("autoscaling_group", 0),
        ("load_balancer", 1),
        ("listener", 1),
        ("target_group", 1),
        ("alarm", 0),
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
    let lb = by_name(&inventory, &format!("{stack}-aws-web-lb"));
    assert_eq!(
        web["ingress"],
        json!([
            ["tcp", 22, 22, "10.20.0.0/16"],
            ["tcp", 80, 80, lb["id"]],
            ["tcp", 443, 443, "0.0.0.0/0"]
        ])
    );
    assert_eq!(lb["ingress"], json!([["tcp", 80, 80, "0.0.0.0/0"]]));
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

    // The group's instances behind an application load balancer over the public subnets,
    // its listener on port 80 forwarding to the target group checked on /health.
    let balancer = &list(&inventory, "load_balancer")[0];
    assert_eq!(balancer["type"], json!("application"));
    assert_eq!(balancer["subnets"], json!(public_sorted));
    let target_group = &list(&inventory, "target_group")[0];
    assert_eq!(target_group["health_check_path"], json!("/health"));
    let mut registered = instances.clone();
    registered.sort_by(|left, right| left.as_str().cmp(&right.as_str()));
    assert_eq!(target_group["targets"], json!(registered));
    let listener = &list(&inventory, "listener")[0];
    assert_eq!(
        (&listener["port"], &listener["protocol"]),
        (&json!(80), &json!("HTTP"))
    );
    assert_eq!(listener["forward"], json!([target_group["id"]]));
    // CPU above 80% on the group, more than ten 5xx answers on the load balancer.
    let alarm = |metric: &str| {
        list(&inventory, "alarm")
            .iter()
            .find(|alarm| alarm["metric"] == json!(metric))
            .cloned()
            .unwrap_or_else(|| panic!("no alarm on `{metric}`"))
    };
    let cpu = alarm("CPUUtilization");
    assert_eq!(cpu["threshold"], json!(80.0));
    assert_eq!(
        cpu["dimensions"],
        json!({"AutoScalingGroupName": format!("{stack}-aws-web-web")})
    );
    let errors = alarm("HTTPCode_Target_5XX_Count");
    assert_eq!(errors["threshold"], json!(10.0));
    assert_eq!(errors["namespace"], json!("AWS/ApplicationELB"));
    // www fails over from the primary region's load balancer to the pilot light's.
    assert_eq!(
        list(&inventory, "dns_zone")[0]["name"],
        json!("aws.example.com.")
    );
    assert_eq!(
        list(&inventory, "dns_health_check")[0]["path"],
        json!("/health")
    );
    let records = list(&inventory, "dns_record");
    let record = |role: &str| {
        records
            .iter()
            .find(|record| record["failover"] == json!(role))
            .cloned()
            .unwrap_or_else(|| panic!("no {role} record in {records:?}"))
    };
    let standby_balancer = &list(&standby, "load_balancer")[0];
    let alias = |balancer: &Value| {
        json!(
            balancer["dns_name"]
                .as_str()
                .unwrap_or_default()
                .to_ascii_lowercase()
        )
    };
    assert_eq!(record("PRIMARY")["name"], json!("www.aws.example.com."));
    assert_eq!(record("PRIMARY")["alias"], alias(balancer));
    assert!(record("PRIMARY")["health_check"].is_string());
    assert_eq!(record("SECONDARY")["alias"], alias(standby_balancer));

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
    assert!(stdout.contains("~ port = 8080 -> 80"), "{stdout}");
    assert!(stdout.contains("~ threshold = 95 -> 80"), "{stdout}");
    assert!(
        stdout.contains("Plan: 0 to add, 4 to change, 0 to destroy."),
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
    assert_eq!(list(&corrected, "listener")[0]["port"], json!(80));
    let corrected_cpu = list(&corrected, "alarm")
        .iter()
        .find(|alarm| alarm["metric"] == json!("CPUUtilization"))
        .map(|alarm| alarm["threshold"].clone());
    assert_eq!(corrected_cpu, Some(json!(80.0)));
    let (code, stdout) = cairn(&copy, &["plan", "--detailed-exitcode"]);
    assert_eq!(code, Some(0), "{stdout}");

    let (code, stdout) = cairn(&copy, &["destroy", "--auto-approve"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("Destroy complete!"), "{stdout}");
    for region in [REGION, DR_REGION] {
        let left = boto3(INVENTORY, &[stack, region]);
        let others = [("scaling_policy", 0), ("dns_record", 0)];
        for (kind, _) in counts.iter().chain(&others) {
            assert_eq!(
                list(&left, kind),
                &Vec::<Value>::new(),
                "{kind} left behind in {region}"
            );
        }
    }
}
