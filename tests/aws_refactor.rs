//! Refactoring without destroying (issue 17) through the CLI on AWS (moto), checked from
//! outside with boto3: `moved` blocks rename a network and move the web tier into a module
//! with the same VPC, security group, launch template and group, their address tags rewritten
//! in place; `state mv` does the same for a one-off rename. `tests/refactor.rs` and
//! `tests/state_cli.rs` run the same stories on the simulated cloud.
//!
//! Needs `CAIRN_TEST_AWS_ENDPOINT` (set by `scripts/test` / `scripts/moto start`); without it
//! the tests fail. Each test gets its own stack name, so runs share one moto without resets.
#![cfg(feature = "aws")]

mod common;
mod moto;

use common::{Error, Stack, TestResult};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/refactor");

/// `file` of the `refactor` fixture on AWS under the stack name `name`.
fn on_aws(file: &str, name: &str) -> Result<String, Error> {
    let text = std::fs::read_to_string(Path::new(FIXTURE).join(file))?;
    Ok(text
        .replace("stack \"refactor\"", &format!("stack \"{name}\""))
        .replace("cloud = \"sim\"", "cloud = \"aws\""))
}

/// The `refactor` fixture (with its module) on AWS under a stack name unique to the test,
/// applied to `dev`. Returns the stack and its name.
fn applied() -> Result<(Stack, String), Error> {
    let name = format!(
        "refactor-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    let stack = Stack::from_text(&on_aws("main.hcl", &name)?)?;
    let module = stack.path().join("modules/web");
    std::fs::create_dir_all(&module)?;
    std::fs::copy(
        Path::new(FIXTURE).join("modules/web/main.hcl"),
        module.join("main.hcl"),
    )?;
    run(&stack, &["apply", "-e", "dev", "--auto-approve"])?;
    Ok((stack, name))
}

fn run(stack: &Stack, args: &[&str]) -> Result<String, Error> {
    let output = stack
        .cairn(args)?
        .envs(moto::aws_env(&moto::endpoint()))
        .output()?;
    Ok(common::succeeded(args, &output))
}

fn plan_json(stack: &Stack) -> Result<Value, Error> {
    Ok(serde_json::from_str(&run(
        stack,
        &["plan", "-e", "dev", "--json"],
    )?)?)
}

/// The `cairn:address` tag moto holds on each EC2 object and group of stack `name`, read with
/// boto3: id (group name for groups) → address.
fn address_tags(name: &str) -> BTreeMap<String, String> {
    let found = moto::boto3(
        r#"
import boto3, json, sys
stack = sys.argv[1]
ec2 = boto3.client("ec2", region_name="us-east-1")
autoscaling = boto3.client("autoscaling", region_name="us-east-1")
found = {}
for page in ec2.get_paginator("describe_tags").paginate(
        Filters=[{"Name": "key", "Values": ["cairn:stack"]}, {"Name": "value", "Values": [stack]}]):
    for tag in page["Tags"]:
        found[tag["ResourceId"]] = None
for page in ec2.get_paginator("describe_tags").paginate(
        Filters=[{"Name": "key", "Values": ["cairn:address"]}]):
    for tag in page["Tags"]:
        if tag["ResourceId"] in found:
            found[tag["ResourceId"]] = tag["Value"]
for page in autoscaling.get_paginator("describe_auto_scaling_groups").paginate():
    for group in page["AutoScalingGroups"]:
        tags = {tag["Key"]: tag["Value"] for tag in group.get("Tags", [])}
        if tags.get("cairn:stack") == stack:
            found[group["AutoScalingGroupName"]] = tags.get("cairn:address")
print(json.dumps(found))
"#,
        &[name],
    );
    found
        .as_object()
        .into_iter()
        .flatten()
        .map(|(id, address)| (id.clone(), address.as_str().unwrap_or_default().to_string()))
        .collect()
}

/// What the old address becomes under the fixture's `moved` blocks.
fn moved(address: &str) -> String {
    if let Some(rest) = address.strip_prefix("network.main") {
        format!("network.core{rest}")
    } else {
        format!("module.web.{address}")
    }
}

/// Every recorded object that takes tags carries its recorded address in its tag on moto.
fn assert_tags_match_state(stack: &Stack, name: &str) -> TestResult {
    let tags = address_tags(name);
    for (address, id) in stack.state_resources("dev")? {
        if address.contains(".scaling.") {
            continue;
        }
        assert_eq!(tags.get(&id), Some(&address), "tag of {id} in {tags:?}");
    }
    Ok(())
}

#[test]
fn on_aws_moved_blocks_rename_a_network_and_move_the_web_tier_replacing_nothing() -> TestResult {
    let (stack, name) = applied()?;
    let before = stack.state_resources("dev")?;
    std::fs::write(
        stack.path().join("main.hcl"),
        on_aws("after.hcl.txt", &name)?,
    )?;
    std::fs::write(
        stack.path().join("moves.hcl"),
        on_aws("moves.hcl.txt", &name)?,
    )?;

    let plan = plan_json(&stack)?;
    assert_eq!(
        plan["summary"],
        json!({"create": 0, "update": 0, "replace": 0, "delete": 0}),
        "{plan}"
    );
    assert_eq!(plan["moves"].as_array().map(Vec::len), Some(before.len()));
    run(&stack, &["apply", "-e", "dev", "--auto-approve"])?;

    let expected: BTreeMap<String, String> = before
        .iter()
        .map(|(address, id)| (moved(address), id.clone()))
        .collect();
    assert_eq!(stack.state_resources("dev")?, expected);
    assert_tags_match_state(&stack, &name)?;
    let plan = run(&stack, &["plan", "-e", "dev"])?;
    assert!(plan.contains("No changes."), "{plan}");
    run(&stack, &["destroy", "-e", "dev", "--auto-approve"])?;
    Ok(())
}

#[test]
fn on_aws_state_mv_rewrites_the_address_tags_in_place() -> TestResult {
    let (stack, name) = applied()?;
    let before = stack.state_resources("dev")?;
    let config = stack.path().join("main.hcl");
    let renamed = std::fs::read_to_string(&config)?
        .replace("network \"main\"", "network \"core\"")
        .replace("network.main", "network.core");
    std::fs::write(&config, renamed)?;

    let moved = run(
        &stack,
        &["state", "mv", "-e", "dev", "network.main", "network.core"],
    )?;
    assert!(moved.contains("Successfully moved 5 objects."), "{moved}");
    assert_tags_match_state(&stack, &name)?;
    let after = stack.state_resources("dev")?;
    assert_eq!(
        after["network.core[us-east-1]"],
        before["network.main[us-east-1]"]
    );

    // Only the `Name` tags, which follow the block's name, change, in place.
    let plan = plan_json(&stack)?;
    assert_eq!(plan["summary"]["create"], 0, "{plan}");
    assert_eq!(plan["summary"]["delete"], 0, "{plan}");
    assert_eq!(plan["summary"]["replace"], 0, "{plan}");
    run(&stack, &["apply", "-e", "dev", "--auto-approve"])?;
    let plan = run(&stack, &["plan", "-e", "dev"])?;
    assert!(plan.contains("No changes."), "{plan}");
    run(&stack, &["destroy", "-e", "dev", "--auto-approve"])?;
    Ok(())
}

/// A stack named `name` on AWS with `volume "legacy"` for keys `a` and `b` in us-east-1a.
fn legacy_volumes_stack(name: &str) -> String {
    format!(
        r#"stack "{name}" {{
  backend "local" {{
    path = ".cairn"
  }}
}}

environment "dev" {{
  cloud = "aws"
  region "us-east-1" {{
    zones = ["us-east-1a"]
  }}
}}

volume "legacy" {{
  for_each  = toset(["a", "b"])
  zone      = region.zones[0]
  size_gb   = 10
  encrypted = true
}}
"#
    )
}

/// Two volumes made by hand with boto3 (no tags at all), as `[id_a, id_b]`.
fn hand_made_volumes() -> Vec<String> {
    let made = moto::boto3(
        r#"
import boto3, json
ec2 = boto3.client("ec2", region_name="us-east-1")
ids = [ec2.create_volume(AvailabilityZone="us-east-1a", Size=10, Encrypted=True, VolumeType="gp3")["VolumeId"] for _ in range(2)]
print(json.dumps(ids))
"#,
        &[],
    );
    made.as_array()
        .into_iter()
        .flatten()
        .filter_map(|id| id.as_str().map(str::to_string))
        .collect()
}

/// The tags moto holds on volume `id`.
fn volume_tags(id: &str) -> BTreeMap<String, String> {
    let tags = moto::boto3(
        r#"
import boto3, json, sys
ec2 = boto3.client("ec2", region_name="us-east-1")
volume = ec2.describe_volumes(VolumeIds=[sys.argv[1]])["Volumes"][0]
print(json.dumps({tag["Key"]: tag["Value"] for tag in volume.get("Tags", [])}))
"#,
        &[id],
    );
    tags.as_object()
        .into_iter()
        .flatten()
        .map(|(key, value)| (key.clone(), value.as_str().unwrap_or_default().to_string()))
        .collect()
}

#[test]
fn on_aws_import_blocks_adopt_hand_made_volumes_and_removed_blocks_let_them_go() -> TestResult {
    let name = format!(
        "imports-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    let ids = hand_made_volumes();
    assert_eq!(ids.len(), 2);
    let stack = Stack::from_text(&legacy_volumes_stack(&name))?;
    std::fs::write(
        stack.path().join("imports.hcl"),
        format!(
            "import {{\n  for_each = {{ a = \"{}\", b = \"{}\" }}\n  to       = volume.legacy[each.key]\n  id       = each.value\n}}\n",
            ids[0], ids[1]
        ),
    )?;

    // Imports, and nothing created or replaced: the hand-made volumes match their blocks
    // but for the `Name` tag Cairn gives what it manages, set in place.
    let plan = plan_json(&stack)?;
    assert_eq!(
        plan["summary"],
        json!({"create": 0, "update": 2, "replace": 0, "delete": 0}),
        "{plan}"
    );
    for change in plan["changes"].as_array().into_iter().flatten() {
        assert_eq!(
            change["before"]["size_gb"], change["after"]["size_gb"],
            "{change}"
        );
        assert!(change["after_tags"]["Name"].is_string(), "{change}");
    }
    assert_eq!(plan["imports"].as_array().map(Vec::len), Some(2), "{plan}");
    run(&stack, &["apply", "-e", "dev", "--auto-approve"])?;
    let recorded = stack.state_resources("dev")?;
    for (key, id) in ["a", "b"].iter().zip(&ids) {
        let address = format!("volume.legacy[\"{key}\"][us-east-1]");
        assert_eq!(recorded.get(&address), Some(id));
        assert_eq!(volume_tags(id).get("cairn:address"), Some(&address));
    }
    let text = run(&stack, &["plan", "-e", "dev"])?;
    assert!(text.contains("No changes."), "{text}");

    // Let go of them again: they stay, without Cairn's tags.
    let config = stack.path().join("main.hcl");
    let text = std::fs::read_to_string(&config)?;
    let kept = &text[..text.find("volume \"legacy\"").ok_or("no volume block")?];
    std::fs::write(&config, kept)?;
    std::fs::write(
        stack.path().join("imports.hcl"),
        "removed {\n  from = volume.legacy\n  lifecycle {\n    destroy = false\n  }\n}\n",
    )?;
    let plan = plan_json(&stack)?;
    assert_eq!(plan["forgets"].as_array().map(Vec::len), Some(2), "{plan}");
    assert_eq!(plan["summary"]["delete"], 0, "{plan}");
    run(&stack, &["apply", "-e", "dev", "--auto-approve"])?;
    assert!(stack.state_resources("dev")?.is_empty());
    for id in &ids {
        let tags = volume_tags(id);
        assert!(
            tags.keys().all(|key| !key.starts_with("cairn:")),
            "{id} keeps {tags:?}"
        );
    }
    let text = run(&stack, &["plan", "-e", "dev"])?;
    assert!(text.contains("No changes."), "{text}");
    Ok(())
}

#[test]
fn on_aws_discover_write_round_trips_hand_made_volumes_to_a_plan_of_only_imports() -> TestResult {
    let name = format!(
        "discover-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    // Hand-made, as a team coming from the console would have them: named and tagged.
    let made = moto::boto3(
        r#"
import boto3, json, sys
ec2 = boto3.client("ec2", region_name="us-east-1")
ids = []
for index in range(2):
    ids.append(ec2.create_volume(
        AvailabilityZone="us-east-1a", Size=20, Encrypted=True, VolumeType="gp3",
        TagSpecifications=[{"ResourceType": "volume", "Tags": [
            {"Key": "Name", "Value": f"legacy-data-{index}"},
            {"Key": "adopt", "Value": sys.argv[1]}]}])["VolumeId"])
print(json.dumps(ids))
"#,
        &[&name],
    );
    let ids: BTreeSet<String> = made
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|id| id.as_str().map(str::to_string))
        .collect();
    assert_eq!(ids.len(), 2);
    let text = legacy_volumes_stack(&name);
    let stack = Stack::from_text(&text[..text.find("volume \"legacy\"").ok_or("no block")?])?;

    let tag = format!("adopt={name}");
    let listed = run(&stack, &["discover", "-e", "dev", "--tag", &tag])?;
    assert!(listed.contains("Found 2 unowned objects"), "{listed}");
    let written = stack.path().join("discovered.hcl");
    let path = written.to_string_lossy().to_string();
    run(
        &stack,
        &["discover", "-e", "dev", "--tag", &tag, "--write", &path],
    )?;

    let plan = plan_json(&stack)?;
    assert_eq!(
        plan["summary"],
        json!({"create": 0, "update": 0, "replace": 0, "delete": 0}),
        "{plan}"
    );
    let imported: BTreeSet<String> = plan["imports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|entry| entry["id"].as_str().map(str::to_string))
        .collect();
    assert_eq!(imported, ids);
    run(&stack, &["apply", "-e", "dev", "--auto-approve"])?;
    for id in &ids {
        assert_eq!(volume_tags(id).get("cairn:stack"), Some(&name));
    }
    let text = run(&stack, &["plan", "-e", "dev"])?;
    assert!(text.contains("No changes."), "{text}");
    run(&stack, &["destroy", "-e", "dev", "--auto-approve"])?;
    Ok(())
}

/// Issue 17: a VPC with two subnets, a security group and an instance made by hand with
/// boto3 (named and tagged, as from the console) come back from `discover --write` as a
/// network, a firewall and an instance referring to each other; the plan imports all five
/// and changes nothing but what the written comments announce (the subnets take the
/// network's `Name`); after the apply the next plan is empty.
#[test]
fn on_aws_discover_write_round_trips_a_hand_made_network_firewall_and_instance() -> TestResult {
    let name = format!(
        "discover-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    let made = moto::boto3(
        r#"
import boto3, json, sys
ec2 = boto3.client("ec2", region_name="us-east-1")
adopt = {"Key": "adopt", "Value": sys.argv[1]}
def tagged(kind, name):
    return [{"ResourceType": kind, "Tags": [{"Key": "Name", "Value": name}, adopt]}]
vpc = ec2.create_vpc(CidrBlock="10.7.0.0/16", TagSpecifications=tagged("vpc", "legacy"))["Vpc"]["VpcId"]
subnets = [
    ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.7.{index}.0/24", AvailabilityZone=zone,
                      TagSpecifications=tagged("subnet", f"legacy-{zone}"))["Subnet"]["SubnetId"]
    for index, zone in enumerate(["us-east-1a", "us-east-1b"])
]
group = ec2.create_security_group(GroupName="web-" + sys.argv[1], Description="web servers",
                                  VpcId=vpc, TagSpecifications=tagged("security-group", "web"))["GroupId"]
ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[{
    "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
instance = ec2.run_instances(ImageId="ami-12c6146b", InstanceType="t3.micro", MinCount=1, MaxCount=1,
                             SubnetId=subnets[1], SecurityGroupIds=[group],
                             TagSpecifications=tagged("instance", "api"))["Instances"][0]["InstanceId"]
print(json.dumps({"vpc": vpc, "subnets": subnets, "group": group, "instance": instance}))
"#,
        &[&name],
    );
    let id = |key: &str| made[key].as_str().map(str::to_string).unwrap_or_default();
    let subnets: Vec<String> = made["subnets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|subnet| subnet.as_str().map(str::to_string))
        .collect();
    let text = legacy_volumes_stack(&name).replace(
        "zones = [\"us-east-1a\"]",
        "zones = [\"us-east-1a\", \"us-east-1b\"]",
    );
    let stack = Stack::from_text(&text[..text.find("volume \"legacy\"").ok_or("no block")?])?;

    let tag = format!("adopt={name}");
    let written = stack.path().join("discovered.hcl");
    let path = written.to_string_lossy().to_string();
    run(
        &stack,
        &["discover", "-e", "dev", "--tag", &tag, "--write", &path],
    )?;
    let config = std::fs::read_to_string(&written)?;
    for expected in [
        "network \"legacy\" {".to_string(),
        "  subnet \"private\" {\n    newbits = 8\n  }".to_string(),
        "  network     = network.legacy".to_string(),
        format!("  name        = \"web-{name}\""),
        "  description = \"web servers\"".to_string(),
        "  subnet        = network.legacy.subnet.private[1]".to_string(),
        "  firewalls     = [firewall.web]".to_string(),
        format!("subnet `{}` gets the block's tags", subnets[0]),
    ] {
        assert!(config.contains(&expected), "{expected} not in\n{config}");
    }

    let plan = plan_json(&stack)?;
    assert_eq!(
        plan["summary"],
        json!({"create": 0, "update": 2, "replace": 0, "delete": 0}),
        "{config}\n{plan}"
    );
    let updated: BTreeSet<String> = plan["changes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|change| change["action"] == "update")
        .filter_map(|change| change["address"].as_str().map(str::to_string))
        .collect();
    let subnet_addresses: BTreeSet<String> = ["us-east-1a", "us-east-1b"]
        .iter()
        .map(|zone| format!("network.legacy.subnet.private[{zone}]"))
        .collect();
    assert_eq!(updated, subnet_addresses, "{plan}");
    let imported: BTreeSet<String> = plan["imports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|entry| entry["id"].as_str().map(str::to_string))
        .collect();
    let mut expected: BTreeSet<String> = subnets.iter().cloned().collect();
    expected.extend([id("vpc"), id("group"), id("instance")]);
    assert_eq!(imported, expected);
    run(&stack, &["apply", "-e", "dev", "--auto-approve"])?;
    let text = run(&stack, &["plan", "-e", "dev"])?;
    assert!(text.contains("No changes."), "{text}");
    run(&stack, &["destroy", "-e", "dev", "--auto-approve"])?;
    Ok(())
}

/// Issue 17: an autoscaling group running its launch template's default version behind a
/// target group, a load balancer with a listener forwarding to that group, and an alarm on
/// the group, made by hand with boto3 (named and tagged, as from the console) in a hand-made
/// network, come back from `discover --write` keeping their names and the group's version,
/// referring to each other; the plan imports them all and changes nothing but the subnets'
/// `Name` (as for any hand-made network), the apply keeps every id, and the next plan is
/// empty. The alarm's hand-written description comes back as its block's `description` and
/// stays on the alarm, before Cairn's ownership note.
#[test]
fn on_aws_discover_write_round_trips_a_hand_made_group_balancer_and_alarm() -> TestResult {
    let name = format!(
        "discover-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    let made = moto::boto3(
        r#"
import boto3, json, sys
name = sys.argv[1]
ec2 = boto3.client("ec2", region_name="us-east-1")
elb = boto3.client("elbv2", region_name="us-east-1")
autoscaling = boto3.client("autoscaling", region_name="us-east-1")
cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
adopt = {"Key": "adopt", "Value": name}
def tags(display):
    return [{"Key": "Name", "Value": display}, adopt]
def tagged(kind, display):
    return [{"ResourceType": kind, "Tags": tags(display)}]
vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16", TagSpecifications=tagged("vpc", "legacy"))["Vpc"]["VpcId"]
subnets = [
    ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.8.{index}.0/24", AvailabilityZone=zone,
                      TagSpecifications=tagged("subnet", f"legacy-private-{zone}"))["Subnet"]["SubnetId"]
    for index, zone in enumerate(["us-east-1a", "us-east-1b"])
]
group = ec2.create_security_group(GroupName="web-" + name, Description="web servers",
                                  VpcId=vpc, TagSpecifications=tagged("security-group", "web"))["GroupId"]
ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[{
    "IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
template = ec2.create_launch_template(
    LaunchTemplateName="web-" + name,
    LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "t3.micro", "SecurityGroupIds": [group]},
    TagSpecifications=tagged("launch-template", "web-" + name))["LaunchTemplate"]["LaunchTemplateId"]
target_group = elb.create_target_group(
    Name="tg-" + name, Protocol="HTTP", Port=80, VpcId=vpc, HealthCheckPath="/health",
    Tags=tags("tg-" + name))["TargetGroups"][0]["TargetGroupArn"]
balancer = elb.create_load_balancer(
    Name="lb-" + name, Subnets=subnets, SecurityGroups=[group],
    Tags=tags("lb-" + name))["LoadBalancers"][0]["LoadBalancerArn"]
listener = elb.create_listener(
    LoadBalancerArn=balancer, Protocol="HTTP", Port=80,
    DefaultActions=[{"Type": "forward", "TargetGroupArn": target_group}],
    Tags=tags(f"lb-{name}-80"))["Listeners"][0]["ListenerArn"]
autoscaling.create_auto_scaling_group(
    AutoScalingGroupName="web-" + name,
    LaunchTemplate={"LaunchTemplateId": template, "Version": "$Default"},
    MinSize=1, MaxSize=2, DesiredCapacity=1, VPCZoneIdentifier=",".join(subnets),
    TargetGroupARNs=[target_group], HealthCheckType="ELB",
    Tags=[{"Key": tag["Key"], "Value": tag["Value"], "PropagateAtLaunch": False} for tag in tags("web-" + name)])
cloudwatch.put_metric_alarm(
    AlarmName="cpu-" + name, AlarmDescription="Pages the on-call",
    Namespace="AWS/EC2", MetricName="CPUUtilization",
    Statistic="Average", Period=300, EvaluationPeriods=2, Threshold=80.0,
    ComparisonOperator="GreaterThanThreshold",
    Dimensions=[{"Name": "AutoScalingGroupName", "Value": "web-" + name}],
    Tags=tags("cpu-" + name))
print(json.dumps({"template": template, "group": "web-" + name, "balancer": balancer,
                  "target_group": target_group, "listener": listener, "alarm": "cpu-" + name,
                  "vpc": vpc, "subnets": subnets, "security_group": group}))
"#,
        &[&name],
    );
    let id = |key: &str| made[key].as_str().map(str::to_string).unwrap_or_default();
    let text = legacy_volumes_stack(&name).replace(
        "zones = [\"us-east-1a\"]",
        "zones = [\"us-east-1a\", \"us-east-1b\"]",
    );
    let stack = Stack::from_text(&text[..text.find("volume \"legacy\"").ok_or("no block")?])?;

    let tag = format!("adopt={name}");
    let written = stack.path().join("discovered.hcl");
    let path = written.to_string_lossy().to_string();
    // moto: DescribeLaunchTemplates keeps the tags a template was created with (its tag
    // filter too), so an imported template is never found again by its new ownership tags;
    // the template stays hand-made here and the group names it by id. `tests/
    // refactor_discover.rs` imports templates on the simulated cloud.
    let mut args = vec!["discover", "-e", "dev", "--tag", &tag, "--write", &path];
    for kind in [
        "network",
        "firewall",
        "autoscaling",
        "load_balancer",
        "alarm",
    ] {
        args.extend(["--kind", kind]);
    }
    run(&stack, &args)?;
    let config = std::fs::read_to_string(&written)?;
    let block = |prefix: &str| block_name(&format!("{prefix}-{name}"));
    for expected in [
        format!(
            "  template         = \"{}\"\n  template_version = \"$Default\"\n  subnets          = network.legacy.subnet.private",
            id("template")
        ),
        format!(
            "  load_balancer    = load_balancer.{}.target_group.{}",
            block("lb"),
            block("tg")
        ),
        "  network   = network.legacy\n  subnets   = network.legacy.subnet.private\n  firewalls = [firewall.web]"
            .to_string(),
        format!("    name = \"tg-{name}\""),
        "      path = \"/health\"".to_string(),
        format!("  autoscaling = autoscaling.{}", block("web")),
        "  description = \"Pages the on-call\"\n".to_string(),
        format!("  to = load_balancer.{}.listener.80", block("lb")),
    ] {
        assert!(config.contains(&expected), "{expected} not in\n{config}");
    }

    // The subnets take the network's `Name`, as the written comments announce; nothing else
    // changes.
    let plan = plan_json(&stack)?;
    assert_eq!(
        plan["summary"],
        json!({"create": 0, "update": 2, "replace": 0, "delete": 0}),
        "{config}\n{plan}"
    );
    let updated: BTreeSet<String> = plan["changes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|change| change["address"].as_str().map(str::to_string))
        .collect();
    let subnet_addresses: BTreeSet<String> = ["us-east-1a", "us-east-1b"]
        .iter()
        .map(|zone| format!("network.legacy.subnet.private[{zone}]"))
        .collect();
    assert_eq!(updated, subnet_addresses, "{plan}");
    let imported: BTreeSet<String> = plan["imports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|entry| entry["id"].as_str().map(str::to_string))
        .collect();
    let mut expected: BTreeSet<String> = made["subnets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|subnet| subnet.as_str().map(str::to_string))
        .collect();
    for key in [
        "vpc",
        "security_group",
        "group",
        "balancer",
        "target_group",
        "listener",
        "alarm",
    ] {
        expected.insert(id(key));
    }
    assert_eq!(imported, expected, "{plan}");
    run(&stack, &["apply", "-e", "dev", "--auto-approve"])?;
    let recorded: BTreeSet<String> = stack.state_resources("dev")?.into_values().collect();
    assert!(recorded.is_superset(&expected), "{recorded:?}");
    let text = run(&stack, &["plan", "-e", "dev"])?;
    assert!(text.contains("No changes."), "{text}");
    // The import kept the alarm's description, Cairn's note after it.
    let description = moto::boto3(
        r#"
import boto3, json, sys
cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
alarm = cloudwatch.describe_alarms(AlarmNames=[sys.argv[1]])["MetricAlarms"][0]
print(json.dumps(alarm.get("AlarmDescription", "")))
"#,
        &[&id("alarm")],
    );
    let description = description.as_str().unwrap_or_default();
    assert!(
        description.starts_with("Pages the on-call\n\nManaged by Cairn; its tags: "),
        "{description}"
    );
    run(&stack, &["destroy", "-e", "dev", "--auto-approve"])?;
    Ok(())
}

/// A cloud name as `cairn discover` makes it a block name.
fn block_name(text: &str) -> String {
    text.chars()
        .map(|character| {
            if character.is_ascii_alphanumeric() {
                character.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Issue 17: a hosted zone, a failover record aliasing a load balancer and the health check
/// watching it, all made by hand with boto3, come back from `discover --write` in an
/// environment with a `dr` block as a `dns_zone` and one `dns_record` (its zone and target by
/// reference, the check part of it); the plan shows the imports (and the subnets' `Name`
/// tags, as the comments announce), and after the apply the plan is empty. Route 53 keeps
/// no tags on the record: it is imported with its zone, whose comment then records the
/// environment's ownership after the comment the zone had.
#[test]
fn on_aws_discover_write_round_trips_a_hand_made_zone_failover_record_and_health_check()
-> TestResult {
    let name = format!(
        "discover-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    let made = moto::boto3(
        r#"
import boto3, json, sys
name = sys.argv[1]
ec2 = boto3.client("ec2", region_name="us-east-1")
elb = boto3.client("elbv2", region_name="us-east-1")
route53 = boto3.client("route53", region_name="us-east-1")
adopt = {"Key": "adopt", "Value": name}
def tags(display):
    return [{"Key": "Name", "Value": display}, adopt]
def tagged(kind, display):
    return [{"ResourceType": kind, "Tags": tags(display)}]
vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16", TagSpecifications=tagged("vpc", "legacy"))["Vpc"]["VpcId"]
subnets = [
    ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{index}.0/24", AvailabilityZone=zone,
                      TagSpecifications=tagged("subnet", f"legacy-private-{zone}"))["Subnet"]["SubnetId"]
    for index, zone in enumerate(["us-east-1a", "us-east-1b"])
]
group = ec2.create_security_group(GroupName="web-" + name, Description="web servers",
                                  VpcId=vpc, TagSpecifications=tagged("security-group", "web"))["GroupId"]
ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[{
    "IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
# Named as the balancer: its default group, whose health check the block's `health_check`
# is, and the DNS health check's path.
target_group = elb.create_target_group(
    Name="lb-" + name, Protocol="HTTP", Port=80, VpcId=vpc, HealthCheckPath="/health",
    Tags=tags("lb-" + name))["TargetGroups"][0]["TargetGroupArn"]
balancer = elb.create_load_balancer(
    Name="lb-" + name, Subnets=subnets, SecurityGroups=[group],
    Tags=tags("lb-" + name))["LoadBalancers"][0]
listener = elb.create_listener(
    LoadBalancerArn=balancer["LoadBalancerArn"], Protocol="HTTP", Port=80,
    DefaultActions=[{"Type": "forward", "TargetGroupArn": target_group}],
    Tags=tags(f"lb-{name}-80"))["Listeners"][0]["ListenerArn"]
domain = name + ".example"
zone = route53.create_hosted_zone(
    Name=domain, CallerReference="hand-" + name,
    HostedZoneConfig={"Comment": "the shop's public names"})["HostedZone"]["Id"].split("/")[-1]
route53.change_tags_for_resource(ResourceType="hostedzone", ResourceId=zone, AddTags=tags("site"))
check = route53.create_health_check(CallerReference="hand-check-" + name, HealthCheckConfig={
    "Type": "HTTP", "FullyQualifiedDomainName": balancer["DNSName"], "Port": 80,
    "ResourcePath": "/health", "RequestInterval": 30, "FailureThreshold": 3})["HealthCheck"]["Id"]
route53.change_tags_for_resource(ResourceType="healthcheck", ResourceId=check,
                                 AddTags=[{"Key": "Name", "Value": f"www.{domain} primary"}])
route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{
    "Action": "CREATE", "ResourceRecordSet": {
        "Name": "www." + domain, "Type": "A", "SetIdentifier": "primary", "Failover": "PRIMARY",
        "HealthCheckId": check,
        "AliasTarget": {"HostedZoneId": balancer["CanonicalHostedZoneId"],
                        "DNSName": balancer["DNSName"], "EvaluateTargetHealth": True}}}]})
print(json.dumps({"balancer": balancer["LoadBalancerArn"], "target_group": target_group,
                  "listener": listener, "vpc": vpc, "subnets": subnets, "security_group": group,
                  "zone": zone, "check": check, "record": f"{zone}/www.{domain}/A/primary"}))
"#,
        &[&name],
    );
    let id = |key: &str| made[key].as_str().map(str::to_string).unwrap_or_default();
    let text = legacy_volumes_stack(&name).replace(
        "    zones = [\"us-east-1a\"]\n  }\n",
        "    zones = [\"us-east-1a\", \"us-east-1b\"]\n  }\n  dr {\n    region = \"us-west-2\"\n    zones  = [\"us-west-2a\", \"us-west-2b\"]\n    mode   = \"backup_restore\"\n  }\n",
    );
    let stack = Stack::from_text(&text[..text.find("volume \"legacy\"").ok_or("no block")?])?;

    let tag = format!("adopt={name}");
    let written = stack.path().join("discovered.hcl");
    let path = written.to_string_lossy().to_string();
    let mut args = vec!["discover", "-e", "dev", "--tag", &tag, "--write", &path];
    for kind in ["network", "firewall", "load_balancer", "dns_zone"] {
        args.extend(["--kind", kind]);
    }
    run(&stack, &args)?;
    let config = std::fs::read_to_string(&written)?;
    for expected in [
        format!(
            "dns_zone \"site\" {{\n  name = \"{name}.example\"\n  tags = {{ Name = \"site\", adopt = \"{name}\" }}\n}}"
        ),
        format!(
            "dns_record \"www\" {{\n  zone   = dns_zone.site\n  name   = \"www\"\n  target = load_balancer.{}\n}}",
            block_name(&format!("lb-{name}"))
        ),
        "  to = dns_record.www.primary\n".to_string(),
        format!(
            "  to = dns_record.www.health_check\n  id = \"{}\"",
            id("check")
        ),
    ] {
        assert!(config.contains(&expected), "{expected} not in\n{config}");
    }

    let plan = plan_json(&stack)?;
    assert_eq!(
        plan["summary"],
        json!({"create": 0, "update": 2, "replace": 0, "delete": 0}),
        "{config}\n{plan}"
    );
    let imported: BTreeSet<String> = plan["imports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|entry| entry["id"].as_str().map(str::to_string))
        .collect();
    let mut expected: BTreeSet<String> = made["subnets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|subnet| subnet.as_str().map(str::to_string))
        .collect();
    for key in [
        "vpc",
        "security_group",
        "balancer",
        "target_group",
        "listener",
        "zone",
        "check",
        "record",
    ] {
        expected.insert(id(key));
    }
    assert_eq!(imported, expected, "{plan}");
    run(&stack, &["apply", "-e", "dev", "--auto-approve"])?;
    let recorded: BTreeSet<String> = stack.state_resources("dev")?.into_values().collect();
    assert!(recorded.is_superset(&expected), "{recorded:?}");
    let text = run(&stack, &["plan", "-e", "dev"])?;
    assert!(text.contains("No changes."), "{text}");
    // The zone keeps the comment it was made with, Cairn's note after it.
    let comment = moto::boto3(
        r#"
import boto3, json, sys
route53 = boto3.client("route53", region_name="us-east-1")
print(json.dumps(route53.get_hosted_zone(Id=sys.argv[1])["HostedZone"]["Config"]["Comment"]))
"#,
        &[&id("zone")],
    );
    let comment = comment.as_str().unwrap_or_default();
    assert!(
        comment.starts_with("the shop's public names | Managed by Cairn; its owner: "),
        "{comment}"
    );
    run(&stack, &["destroy", "-e", "dev", "--auto-approve"])?;
    Ok(())
}

/// Issue 17: `target_groups = [...]` registers a group in the target groups of two
/// balancers on AWS (`TargetGroupARNs`), and the plan after the apply is empty.
#[test]
fn on_aws_a_group_registers_in_several_target_groups() -> TestResult {
    let name = format!(
        "groups-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    let text = format!(
        r#"stack "{name}" {{
  backend "local" {{
    path = ".cairn"
  }}
}}

environment "dev" {{
  cloud = "aws"
  region "us-east-1" {{
    zones = ["us-east-1a", "us-east-1b"]
  }}
}}

network "main" {{
  cidr = "10.0.0.0/16"
  subnet "public" {{
    newbits = 8
    public  = true
  }}
}}

firewall "lb" {{
  network = network.main
  ingress {{
    protocol = "tcp"
    ports    = 80
    from     = ["0.0.0.0/0"]
  }}
}}

launch_template "web" {{
  image         = "ami-12c6146b"
  instance_type = "t3.micro"
}}

load_balancer "front" {{
  network   = network.main
  subnets   = network.main.subnet.public
  firewalls = [firewall.lb]
  listener {{
    port     = 80
    protocol = "HTTP"
  }}
}}

load_balancer "api" {{
  network   = network.main
  subnets   = network.main.subnet.public
  firewalls = [firewall.lb]
  listener {{
    port     = 80
    protocol = "HTTP"
  }}
}}

autoscaling "web" {{
  template      = launch_template.web
  subnets       = network.main.subnet.public
  target_groups = [load_balancer.front, load_balancer.api]
  min           = 1
  max           = 2
}}
"#
    );
    let stack = Stack::from_text(&text)?;
    run(&stack, &["apply", "-e", "dev", "--auto-approve"])?;
    let state = stack.state_resources("dev")?;
    let group = state
        .get("autoscaling.web[us-east-1]")
        .ok_or("no group")?
        .clone();
    let registered = moto::boto3(
        r#"
import boto3, json, sys
autoscaling = boto3.client("autoscaling", region_name="us-east-1")
group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[sys.argv[1]])["AutoScalingGroups"][0]
print(json.dumps(sorted(group["TargetGroupARNs"])))
"#,
        &[&group],
    );
    let registered: BTreeSet<String> = registered
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|arn| arn.as_str().map(str::to_string))
        .collect();
    let expected: BTreeSet<String> = [
        "load_balancer.front.target_group.default[us-east-1]",
        "load_balancer.api.target_group.default[us-east-1]",
    ]
    .iter()
    .filter_map(|address| state.get(*address).cloned())
    .collect();
    assert_eq!(expected.len(), 2, "{state:?}");
    assert_eq!(registered, expected);
    let text = run(&stack, &["plan", "-e", "dev"])?;
    assert!(text.contains("No changes."), "{text}");
    run(&stack, &["destroy", "-e", "dev", "--auto-approve"])?;
    Ok(())
}
