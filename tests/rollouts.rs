//! Rollouts on the simulated cloud (issue 11), through the CLI: `examples/webapp`'s canary
//! replacing its servers in checkpoint steps, rolled back by an unhealthy image and by an
//! alarm during bake, a rolling rollout that keeps `min_healthy` in service, a kill at every
//! mutating call followed by an apply that converges, and the settings refused at load.
//!
//! The tests that need no wall-clock time set the sim's clock (`cairn sim clock --set`), so a
//! two-minute bake passes at once.

mod common;

use cairn::provider::sim::read_call_log;
use common::{Stack, TestResult, stderr_of, stdout_of};
use serde_json::Value;
use std::time::{Duration, Instant};

const GROUP: &str = "module.web.autoscaling.web[us-east-1]";
const NEW_IMAGE: &str = "ami-03cf127a";

/// The webapp with `environment` applied on a clock that stands still.
fn applied(environment: &str) -> Result<Stack, common::Error> {
    let stack = Stack::webapp()?;
    stack
        .cairn(&["sim", "clock", "--set", "2026-01-01T00:00:00Z"])?
        .assert()
        .success();
    stack
        .cairn(&["apply", "-e", environment, "--auto-approve"])?
        .assert()
        .success();
    Ok(stack)
}

fn new_image(stack: &Stack, environment: &str) -> Result<std::process::Output, common::Error> {
    let image = format!("image={NEW_IMAGE}");
    Ok(stack
        .cairn(&[
            "apply",
            "-e",
            environment,
            "--var",
            &image,
            "--auto-approve",
        ])?
        .output()?)
}

/// The group's launch template version and the version each of its instances runs, as state
/// records them.
fn versions(stack: &Stack, environment: &str) -> Result<(Value, Vec<Value>), common::Error> {
    let state = stack.state(environment)?;
    let group = &state["resources"][GROUP]["attributes"];
    let instances = group["instances"]
        .as_array()
        .map(|instances| {
            instances
                .iter()
                .map(|instance| instance["launch_template_version"].clone())
                .collect()
        })
        .unwrap_or_default();
    Ok((group["launch_template_version"].clone(), instances))
}

/// The mutating rollout calls (group updates and terminations) in the order the sim saw
/// them, after the `skip` first mutating calls.
fn group_calls(stack: &Stack) -> Result<Vec<String>, common::Error> {
    Ok(read_call_log(&stack.call_log_path())?
        .into_iter()
        .filter(|call| call.mutating)
        .map(|call| call.operation)
        .filter(|operation| {
            operation == "UpdateAutoScalingGroup"
                || operation == "TerminateInstanceInAutoScalingGroup"
        })
        .collect())
}

fn plan_is_empty(stack: &Stack, environment: &str, image: &str) -> TestResult {
    let image = format!("image={image}");
    let output = stack
        .cairn(&[
            "plan",
            "-e",
            environment,
            "--var",
            &image,
            "--detailed-exitcode",
        ])?
        .output()?;
    assert_eq!(output.status.code(), Some(0), "{}", stdout_of(&output));
    Ok(())
}

#[test]
fn a_canary_replaces_the_instances_in_checkpoint_steps_and_the_next_plan_is_empty() -> TestResult {
    let stack = applied("production")?;
    let before = group_calls(&stack)?.len();
    let plan = stack
        .cairn(&[
            "plan",
            "-e",
            "production",
            "--var",
            &format!("image={NEW_IMAGE}"),
        ])?
        .output()?;
    let shown = stdout_of(&plan);
    assert!(
        shown.contains(&format!("{GROUP} will roll out: canary from version 1 to")),
        "{shown}"
    );
    assert!(
        shown.contains("steps: 1 → 2 → 3 of 3 instances on the new version, bake 2m at each step"),
        "{shown}"
    );
    assert!(
        shown.contains("`module.web.alarm.web_5xx[us-east-1]` not in ALARM"),
        "{shown}"
    );

    let output = new_image(&stack, "production")?;
    let printed = stdout_of(&output);
    assert!(output.status.success(), "{printed}{}", stderr_of(&output));
    // Production's three servers: one, then two, then three on the new version, each step
    // ending with every server healthy.
    for line in [
        "rollout step 1/3: 1 of 3 on the new version, healthy 2 old / 1 new",
        "rollout step 2/3: 2 of 3 on the new version, healthy 1 old / 2 new",
        "rollout step 3/3: 3 of 3 on the new version, healthy 0 old / 3 new",
    ] {
        assert!(printed.contains(line), "{line} missing from:\n{printed}");
    }
    // The call log: the plan's update of the group, then per checkpoint a surge of one new
    // server and the termination of one old one.
    let calls = group_calls(&stack)?;
    assert_eq!(
        calls[before..],
        [
            "UpdateAutoScalingGroup",
            "UpdateAutoScalingGroup",
            "TerminateInstanceInAutoScalingGroup",
            "UpdateAutoScalingGroup",
            "TerminateInstanceInAutoScalingGroup",
            "UpdateAutoScalingGroup",
            "TerminateInstanceInAutoScalingGroup",
        ]
    );
    let (group, instances) = versions(&stack, "production")?;
    assert_eq!(group, Value::from(2));
    assert_eq!(instances, vec![Value::from(2); 3]);
    assert!(stack.state("production")?.get("rollouts").is_none());
    plan_is_empty(&stack, "production", NEW_IMAGE)
}

#[test]
fn an_unhealthy_new_image_aborts_at_the_first_checkpoint_and_every_instance_runs_the_old_one()
-> TestResult {
    let stack = applied("staging")?;
    stack
        .cairn(&["sim", "unhealthy", NEW_IMAGE])?
        .assert()
        .success();
    let output = new_image(&stack, "staging")?;
    assert_eq!(output.status.code(), Some(1), "{}", stdout_of(&output));
    let printed = stdout_of(&output);
    assert!(
        printed.contains(&format!("{GROUP}: rolling back: step 1 of 2:")),
        "{printed}"
    );
    assert!(
        stderr_of(&output).contains("rollout rolled back: step 1 of 2:"),
        "{}",
        stderr_of(&output)
    );
    let (group, instances) = versions(&stack, "staging")?;
    assert_eq!(
        group,
        Value::from(1),
        "the group's template version is the old one"
    );
    assert_eq!(instances, vec![Value::from(1); 2]);
    assert!(stack.state("staging")?.get("rollouts").is_none());
    // The change is still wanted: the next plan rolls it out again.
    let plan = stack
        .cairn(&[
            "plan",
            "-e",
            "staging",
            "--var",
            &format!("image={NEW_IMAGE}"),
        ])?
        .output()?;
    assert!(
        stdout_of(&plan).contains("1 group to roll out"),
        "{}",
        stdout_of(&plan)
    );
    Ok(())
}

#[test]
fn an_abort_on_alarm_during_bake_rolls_back() -> TestResult {
    // The wall clock this time: the bake lasts, and the alarm is forced while it runs.
    let stack = Stack::webapp()?;
    stack
        .cairn(&["apply", "-e", "staging", "--auto-approve"])?
        .assert()
        .success();
    let before = group_calls(&stack)?.len();
    let image = format!("image={NEW_IMAGE}");
    let apply = stack
        .cairn_std(&["apply", "-e", "staging", "--var", &image, "--auto-approve"])?
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    // The first checkpoint is reached when its old server is terminated; the bake follows.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !group_calls(&stack)?[before..]
        .iter()
        .any(|call| call == "TerminateInstanceInAutoScalingGroup")
    {
        assert!(Instant::now() < deadline, "the first checkpoint never came");
        std::thread::sleep(Duration::from_millis(50));
    }
    stack
        .cairn(&["sim", "alarm", "web_5xx", "alarm"])?
        .assert()
        .success();
    let output = apply.wait_with_output()?;
    assert_eq!(output.status.code(), Some(1), "{}", stdout_of(&output));
    assert!(
        stdout_of(&output).contains(
            "rolling back: step 1 of 2: alarm `module.web.alarm.web_5xx[us-east-1]` is in ALARM"
        ),
        "{}",
        stdout_of(&output)
    );
    let (group, instances) = versions(&stack, "staging")?;
    assert_eq!(group, Value::from(1));
    assert_eq!(instances, vec![Value::from(1); 2]);
    Ok(())
}

/// Four servers rolled two at a time: `min_healthy = 50` spares two, `max_surge = 0`
/// launches none beyond capacity.
const ROLLING: &str = r#"
stack "rolling" {}

variable "image" {
  type    = string
  default = "ami-12c6146b"
}

environment "dev" {
  cloud = "sim"
  region "us-east-1" {
    zones = ["us-east-1a", "us-east-1b"]
  }
}

network "main" {
  cidr = "10.0.0.0/16"
  subnet "app" {
    newbits = 8
  }
}

launch_template "app" {
  image         = var.image
  instance_type = "t3.small"
}

autoscaling "app" {
  template = launch_template.app
  subnets  = network.main.subnet.app
  min      = 4
  max      = 4
  rollout {
    strategy    = "rolling"
    min_healthy = 50
    max_surge   = 0
    warmup      = "30s"
  }
}
"#;

#[test]
fn a_rolling_rollout_keeps_min_healthy_in_service_at_every_step() -> TestResult {
    let stack = Stack::from_text(ROLLING)?;
    stack
        .cairn(&["sim", "clock", "--set", "2026-01-01T00:00:00Z"])?
        .assert()
        .success();
    stack
        .cairn(&["apply", "-e", "dev", "--auto-approve"])?
        .assert()
        .success();
    let before = group_calls(&stack)?.len();
    let image = format!("image={NEW_IMAGE}");
    let output = stack
        .cairn(&["apply", "-e", "dev", "--var", &image, "--auto-approve"])?
        .output()?;
    assert!(output.status.success(), "{}", stderr_of(&output));
    let printed = stdout_of(&output);
    assert!(
        printed.contains("rollout step 1/2: 2 of 4 on the new version, healthy 2 old / 2 new"),
        "{printed}"
    );
    assert!(
        printed.contains("rollout step 2/2: 4 of 4 on the new version, healthy 0 old / 4 new"),
        "{printed}"
    );

    // From the call log: servers go only in runs of at most two (what 50 % of four spares),
    // each run followed by the group update that launches their replacements, which the
    // step waits to be healthy before the next run.
    let calls = group_calls(&stack)?;
    let calls = &calls[before + 1..];
    let mut in_service: i32 = 4;
    let mut lowest = in_service;
    let mut terminated = 0;
    for call in calls {
        if call == "TerminateInstanceInAutoScalingGroup" {
            in_service -= 1;
            terminated += 1;
            lowest = lowest.min(in_service);
        } else {
            in_service = 4;
        }
    }
    assert_eq!(terminated, 4, "{calls:?}");
    assert_eq!(lowest, 2, "{calls:?}");
    let state = stack.state("dev")?;
    let group = &state["resources"]["autoscaling.app[us-east-1]"]["attributes"];
    assert_eq!(group["min"], 4, "the group's sizes are as configured again");
    assert_eq!(group["desired"], 4);
    plan_is_empty(&stack, "dev", NEW_IMAGE)
}

#[test]
fn a_kill_at_any_call_of_a_rollout_leaves_it_to_the_next_apply_which_converges() -> TestResult {
    // Staging's change makes six mutating calls: the template's new version, the group's
    // update, then per checkpoint a surge and a termination.
    for crash_after in 1..=6 {
        let stack = applied("staging")?;
        let image = format!("image={NEW_IMAGE}");
        let killed = stack
            .cairn(&["apply", "-e", "staging", "--var", &image, "--auto-approve"])?
            .env("CAIRN_SIM_CRASH_AFTER", crash_after.to_string())
            .output()?;
        assert!(!killed.status.success(), "crash after {crash_after}");
        let state = stack.state("staging")?;
        assert!(
            state["rollouts"].get(GROUP).is_some(),
            "crash after {crash_after}: the rollout is recorded as unfinished"
        );
        let output = new_image(&stack, "staging")?;
        assert!(
            output.status.success(),
            "crash after {crash_after}: {}{}",
            stdout_of(&output),
            stderr_of(&output)
        );
        let (group, instances) = versions(&stack, "staging")?;
        assert_eq!(group, Value::from(2), "crash after {crash_after}");
        assert_eq!(
            instances,
            vec![Value::from(2); 2],
            "crash after {crash_after}"
        );
        assert!(stack.state("staging")?.get("rollouts").is_none());
        plan_is_empty(&stack, "staging", NEW_IMAGE)?;
    }
    Ok(())
}

#[test]
fn rollout_settings_that_do_not_fit_the_strategy_are_refused_with_their_place() -> TestResult {
    for (rollout, message) in [
        (
            "strategy = \"rolling\"\n    bake     = \"5m\"",
            "`bake` does not apply to a `rolling` rollout",
        ),
        (
            "strategy = \"canary\"\n    abort_on = [network.main]",
            "`abort_on` names alarms only",
        ),
        (
            "strategy = \"canary\"\n    abort_on = [alarm.missing]",
            "alarm.missing",
        ),
        (
            "strategy    = \"canary\"\n    checkpoints = [50, 10]",
            "rising percentages from 1, ending at 100",
        ),
        (
            "strategy = \"blue_green\"",
            "`blue_green` rollouts are not supported yet",
        ),
        (
            "strategy = \"all_at_once\"\n    timeout  = \"5m\"",
            "`timeout` does not apply to a `all_at_once` rollout",
        ),
        (
            "strategy = \"canary\"\n    timeout  = \"soon\"",
            "a duration in whole seconds",
        ),
    ] {
        let text = ROLLING.replace(
            "strategy    = \"rolling\"\n    min_healthy = 50\n    max_surge   = 0\n    warmup      = \"30s\"",
            rollout,
        );
        let stack = Stack::from_text(&text)?;
        let output = stack.cairn(&["validate"])?.output()?;
        assert_eq!(output.status.code(), Some(1), "{rollout}");
        let shown = stderr_of(&output);
        assert!(shown.contains(message), "{rollout}: {shown}");
        assert!(shown.contains("main.hcl:"), "{rollout}: {shown}");
    }
    Ok(())
}

#[test]
fn apply_json_prints_the_plan_each_rollout_step_and_a_summary_as_lines() -> TestResult {
    let stack = applied("staging")?;
    let image = format!("image={NEW_IMAGE}");
    let output = stack
        .cairn(&[
            "apply",
            "-e",
            "staging",
            "--var",
            &image,
            "--auto-approve",
            "--json",
        ])?
        .output()?;
    assert!(output.status.success(), "{}", stderr_of(&output));
    let lines: Vec<Value> = stdout_of(&output)
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    assert_eq!(lines[0]["type"], "plan");
    assert_eq!(
        lines[0]["plan"]["rollouts"][0]["steps"],
        serde_json::json!([1, 2])
    );
    let steps: Vec<&Value> = lines
        .iter()
        .filter(|line| line["type"] == "rollout_step")
        .collect();
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0]["target"], 1);
    assert_eq!(steps[0]["old_healthy"], 1);
    assert_eq!(steps[0]["new_healthy"], 1);
    assert_eq!(steps[1]["new_healthy"], 2);
    let summary = lines.last().ok_or("no lines")?;
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["succeeded"], true);
    assert_eq!(summary["rollouts"][0]["outcome"], "completed");
    assert_eq!(summary["rollouts"][0]["steps_done"], 2);
    Ok(())
}
