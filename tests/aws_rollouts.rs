//! Rollouts on AWS (moto), through the CLI on `examples/webapp`'s `aws` environment, checked
//! from outside with boto3: a canary replaces every server with the new image, its listener's
//! weights following the checkpoints (read back during the first bake) and put back at the
//! end; the 5xx alarm forced to ALARM with boto3 during the first checkpoint rolls it back to
//! the old image and the configured action; a
//! blue-green release moves the target group (and its listener's traffic) to a second group
//! once DescribeTargetHealth finds it healthy (moto finds every target healthy, so the path
//! where it is not is tested on `sim`).
//!
//! Moto has no instance refresh, so these runs also show that the engine drives the rollout
//! itself. Moto reports the group's first template version for every instance (in
//! DescribeAutoScalingGroups and in the `aws:ec2launchtemplate:version` tag), so what each
//! instance runs is checked by its image, which moto gets right.
//!
//! Needs `CAIRN_TEST_AWS_ENDPOINT` (set by `scripts/test` / `scripts/moto start`); without it
//! the tests fail.
#![cfg(feature = "aws")]

mod moto;

use moto::{Webapp, aws_env, boto3, copy_webapp, endpoint};
use serde_json::Value;
use std::time::{Duration, Instant};

const OLD_IMAGE: &str = "ami-12c6146b";
const NEW_IMAGE: &str = "ami-03cf127a";

/// The image of every instance of the stack's web group, by instance id.
const SERVERS: &str = r#"
import boto3, json, sys
stack = sys.argv[1]
autoscaling = boto3.client("autoscaling")
ec2 = boto3.client("ec2")
name = stack + "-aws-web-web"
groups = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"]
ids = [i["InstanceId"] for g in groups for i in g["Instances"]]
images = {}
if ids:
    for reservation in ec2.describe_instances(InstanceIds=ids)["Reservations"]:
        for instance in reservation["Instances"]:
            images[instance["InstanceId"]] = instance["ImageId"]
print(json.dumps({"images": images, "desired": groups[0]["DesiredCapacity"] if groups else None}))
"#;

const FORCE_ALARM: &str = r#"
import boto3, json, sys
boto3.client("cloudwatch").set_alarm_state(
    AlarmName=sys.argv[1] + "-aws-web-web_5xx", StateValue="ALARM", StateReason="forced by the rollout test")
print(json.dumps({}))
"#;

/// The stack's target groups by name, and the `(target group name, weight)` pairs its
/// listeners forward to, as moto reports them.
const WEIGHTS: &str = r#"
import boto3, json, sys
stack = sys.argv[1]
elbv2 = boto3.client("elbv2")
groups = elbv2.describe_target_groups()["TargetGroups"]
mine = {}
for start in range(0, len(groups), 20):
    chunk = groups[start:start + 20]
    arns = [group["TargetGroupArn"] for group in chunk]
    for description in elbv2.describe_tags(ResourceArns=arns)["TagDescriptions"]:
        tags = {tag["Key"]: tag["Value"] for tag in description["Tags"]}
        if tags.get("cairn:stack") == stack:
            mine[description["ResourceArn"]] = next(
                group["TargetGroupName"] for group in chunk
                if group["TargetGroupArn"] == description["ResourceArn"])
forward = []
for balancer in elbv2.describe_load_balancers()["LoadBalancers"]:
    for listener in elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]:
        for action in listener["DefaultActions"]:
            for group in action.get("ForwardConfig", {}).get("TargetGroups", []):
                if group["TargetGroupArn"] in mine:
                    forward.append([mine[group["TargetGroupArn"]], group.get("Weight")])
print(json.dumps({"forward": sorted(forward), "target_groups": sorted(mine.values())}))
"#;

/// `(target group name, weight)` pairs of listeners' forward actions.
type Forward = Vec<(String, i64)>;

fn weights(copy: &Webapp) -> (Forward, Vec<String>) {
    let found = boto3(WEIGHTS, &[&copy.stack]);
    let forward = found["forward"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|pair| {
            (
                pair[0].as_str().unwrap_or_default().to_string(),
                pair[1].as_i64().unwrap_or_default(),
            )
        })
        .collect();
    let target_groups = found["target_groups"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|name| name.as_str().map(str::to_string))
        .collect();
    (forward, target_groups)
}

/// The example without user data. Moto keeps the user data of a launch template version made
/// by CreateLaunchTemplateVersion in a form its own autoscaling code refuses (an assertion,
/// answered with HTTP 500) as soon as a group launches from that version; real AWS launches
/// it. The rollout itself is the same either way.
fn copy_without_user_data() -> Webapp {
    let copy = copy_webapp();
    let module = copy.dir.join("../../modules/web-tier/main.hcl");
    let main = copy.dir.join("main.hcl");
    for (file, line) in [
        (&module, "  user_data     = var.user_data\n"),
        (&main, "  user_data     = local.user_data\n"),
    ] {
        let text = fs_err::read_to_string(file).unwrap_or_else(|error| panic!("{error}"));
        assert!(text.contains(line), "{line} not in {}", file.display());
        fs_err::write(file, text.replace(line, "")).unwrap_or_else(|error| panic!("{error}"));
    }
    copy
}

fn servers(copy: &Webapp) -> (Vec<(String, String)>, Value) {
    let found = boto3(SERVERS, &[&copy.stack]);
    let images = found["images"]
        .as_object()
        .map(|images| {
            images
                .iter()
                .map(|(id, image)| (id.clone(), image.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    (images, found["desired"].clone())
}

/// `cairn plan -e aws` with the new image: asserts it has no changes and returns what it
/// printed.
fn plan_is_empty(copy: &Webapp) -> String {
    let image = format!("image={NEW_IMAGE}");
    let (code, plan) = copy.cairn(&[
        "plan",
        "-e",
        "aws",
        "--var",
        &image,
        "--var",
        "bake=1s",
        "--detailed-exitcode",
    ]);
    assert_eq!(code, Some(0), "{plan}");
    plan
}

/// `cairn apply -e aws` with the new image and `bake`, as a process the test can watch.
fn apply_new_image(copy: &Webapp, bake: &str) -> std::process::Command {
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("cairn"));
    command
        .args(["apply", "-e", "aws", "--auto-approve"])
        .args(["--var", &format!("image={NEW_IMAGE}")])
        .args(["--var", &format!("bake={bake}")])
        .arg(&copy.dir)
        .envs(aws_env(&endpoint()))
        .env("NO_COLOR", "1");
    command
}

#[test]
fn a_canary_rollout_replaces_every_server_with_the_new_image() {
    let copy = copy_without_user_data();
    copy.cairn(&["apply", "-e", "aws", "--auto-approve", "--var", "bake=1s"]);
    let (before, _) = servers(&copy);
    assert_eq!(before.len(), 2, "{before:?}");
    assert!(
        before.iter().all(|(_, image)| image == OLD_IMAGE),
        "{before:?}"
    );

    let output = apply_new_image(&copy, "1s")
        .output()
        .unwrap_or_else(|error| panic!("cannot run cairn: {error}"));
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Two servers, checkpoints 10 %, 50 %, 100 %: the first two both run one new server,
    // told apart by the listener's weights.
    for line in [
        "rollout step 1/3: 1 of 2 on the new version",
        "rollout step 2/3: 1 of 2 on the new version",
        "rollout step 3/3: 2 of 2 on the new version",
        "traffic 90% old / 10% new",
        "traffic 50% old / 50% new",
    ] {
        assert!(printed.contains(line), "{line} missing from:\n{printed}");
    }
    let (forward, target_groups) = weights(&copy);
    assert_eq!(
        forward.len(),
        1,
        "the configured action is back: {forward:?}"
    );
    assert_eq!(
        target_groups.len(),
        1,
        "the canary target group is gone: {target_groups:?}"
    );

    let (after, desired) = servers(&copy);
    assert_eq!(desired, 2, "the group is back at its capacity");
    assert_eq!(after.len(), 2, "{after:?}");
    assert!(
        after.iter().all(|(_, image)| image == NEW_IMAGE),
        "{after:?}"
    );
    assert!(
        after
            .iter()
            .all(|(id, _)| !before.iter().any(|(old, _)| old == id)),
        "every server was replaced: {before:?} -> {after:?}"
    );
    plan_is_empty(&copy);
}

#[test]
fn an_abort_on_alarm_forced_during_bake_rolls_back_to_the_old_image() {
    let copy = copy_without_user_data();
    copy.cairn(&["apply", "-e", "aws", "--auto-approve", "--var", "bake=10m"]);
    let (before, _) = servers(&copy);

    let apply = apply_new_image(&copy, "10m")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run cairn: {error}"));
    // The first checkpoint is baking once a server runs the new image and the group is back
    // at two.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (now, desired) = servers(&copy);
        if desired == 2 && now.iter().any(|(_, image)| image == NEW_IMAGE) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the first checkpoint never came: {now:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // While the first checkpoint bakes, the listener sends 10 % of the traffic to the canary
    // target group, as ModifyListener's weights read back with boto3 say.
    let deadline = Instant::now() + Duration::from_secs(60);
    let baking = loop {
        let (forward, _) = weights(&copy);
        if forward
            .iter()
            .any(|(name, weight)| name.ends_with("-canary") && *weight == 10)
        {
            break forward;
        }
        assert!(
            Instant::now() < deadline,
            "the weights never moved: {forward:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(baking.len(), 2, "{baking:?}");
    assert!(
        baking
            .iter()
            .any(|(name, weight)| !name.ends_with("-canary") && *weight == 90),
        "{baking:?}"
    );
    boto3(FORCE_ALARM, &[&copy.stack]);
    let output = apply
        .wait_with_output()
        .unwrap_or_else(|error| panic!("cannot wait for cairn: {error}"));
    let printed = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{printed}");
    let (forward, target_groups) = weights(&copy);
    assert_eq!(
        forward.len(),
        1,
        "the rollback put the action back: {forward:?}"
    );
    assert_eq!(target_groups.len(), 1, "{target_groups:?}");
    assert!(
        printed.contains(
            "rolling back: step 1 of 3: alarm `module.web.alarm.web_5xx[us-east-1]` is in ALARM"
        ),
        "{printed}"
    );
    let (after, desired) = servers(&copy);
    assert_eq!(desired, 2);
    assert_eq!(after.len(), 2, "{after:?}");
    assert!(
        after.iter().all(|(_, image)| image == OLD_IMAGE),
        "{before:?} -> {after:?}"
    );
}

/// The groups of the stack's web tier (the group and its blue-green twin), each with its
/// target groups and the images of its instances; and the health of the target group's
/// targets as DescribeTargetHealth reports it.
const BLUE_GREEN_VIEW: &str = r#"
import boto3, json, sys
stack = sys.argv[1]
autoscaling = boto3.client("autoscaling")
ec2 = boto3.client("ec2")
elbv2 = boto3.client("elbv2")
base = stack + "-aws-web-web"
groups = {}
for group in autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"]:
    name = group["AutoScalingGroupName"]
    if name not in (base, base + "-green"):
        continue
    ids = [i["InstanceId"] for i in group["Instances"]]
    images = []
    if ids:
        for reservation in ec2.describe_instances(InstanceIds=ids)["Reservations"]:
            images += [instance["ImageId"] for instance in reservation["Instances"]]
    groups[name] = {"instances": sorted(ids), "images": sorted(images),
                    "target_groups": group.get("TargetGroupARNs", [])}
targets = {}
for arn in {arn for group in groups.values() for arn in group["target_groups"]}:
    health = elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
    targets[arn] = sorted(d["Target"]["Id"] for d in health if d["TargetHealth"]["State"] == "healthy")
print(json.dumps({"groups": groups, "targets": targets}))
"#;

#[test]
fn a_blue_green_rollout_moves_the_target_group_to_a_second_group_with_the_new_image() {
    let copy = copy_without_user_data();
    let module = copy.dir.join("../../modules/web-tier/main.hcl");
    let text = fs_err::read_to_string(&module).unwrap_or_else(|error| panic!("{error}"));
    let canary = "    strategy    = \"canary\"\n    checkpoints = [10, 50, 100]\n    bake        = var.rollout_bake\n    min_healthy = 90\n";
    assert!(text.contains(canary), "the web tier's rollout changed");
    let blue_green = "    strategy    = \"blue_green\"\n    keep_old    = \"1h\"\n    bake        = var.rollout_bake\n";
    fs_err::write(&module, text.replace(canary, blue_green))
        .unwrap_or_else(|error| panic!("{error}"));
    copy.cairn(&["apply", "-e", "aws", "--auto-approve", "--var", "bake=1s"]);

    let output = apply_new_image(&copy, "1s")
        .output()
        .unwrap_or_else(|error| panic!("cannot run cairn: {error}"));
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let blue = format!("{}-aws-web-web", copy.stack);
    let green = format!("{blue}-green");
    assert!(
        printed.contains(&format!(
            "traffic switched to group `{green}` (2 healthy), off `{blue}`"
        )),
        "{printed}"
    );

    // Seen from boto3: the green group serves the new image from the target group, the blue
    // one is kept with its old servers and registered nowhere, and the target group's healthy
    // targets are exactly the green servers.
    let view = boto3(BLUE_GREEN_VIEW, &[&copy.stack]);
    let groups = &view["groups"];
    assert_eq!(
        groups[&green]["images"],
        serde_json::json!([NEW_IMAGE, NEW_IMAGE]),
        "{view}"
    );
    assert_eq!(
        groups[&blue]["images"],
        serde_json::json!([OLD_IMAGE, OLD_IMAGE]),
        "{view}"
    );
    assert_eq!(
        groups[&blue]["target_groups"],
        serde_json::json!([]),
        "{view}"
    );
    let target_group = groups[&green]["target_groups"][0]
        .as_str()
        .unwrap_or_else(|| panic!("the green group is in no target group: {view}"));
    assert_eq!(
        view["targets"][target_group], groups[&green]["instances"],
        "{view}"
    );
    let plan = plan_is_empty(&copy);
    assert!(
        plan.contains(&format!(
            "blue group `{blue}` of module.web.autoscaling.web[us-east-1] kept until"
        )),
        "{plan}"
    );
}
