//! Rollouts on AWS (moto), through the CLI on `examples/webapp`'s `aws` environment, checked
//! from outside with boto3: a canary replaces every server with the new image; the 5xx alarm
//! forced to ALARM with boto3 during the first checkpoint rolls it back to the old image.
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
    assert!(
        printed.contains("rollout step 1/2: 1 of 2 on the new version"),
        "{printed}"
    );
    assert!(
        printed.contains("rollout step 2/2: 2 of 2 on the new version"),
        "{printed}"
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
    boto3(FORCE_ALARM, &[&copy.stack]);
    let output = apply
        .wait_with_output()
        .unwrap_or_else(|error| panic!("cannot wait for cairn: {error}"));
    let printed = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{printed}");
    assert!(
        printed.contains(
            "rolling back: step 1 of 2: alarm `module.web.alarm.web_5xx[us-east-1]` is in ALARM"
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
