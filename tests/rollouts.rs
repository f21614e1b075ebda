//! Rollouts on the simulated cloud (issue 11), through the CLI: `examples/webapp`'s canary
//! replacing its servers in checkpoint steps, rolled back by an unhealthy image and by an
//! alarm during bake, a rolling rollout that keeps `min_healthy` in service, blue-green
//! releases (the switch after the green group is healthy, the abort that leaves traffic on
//! blue, `keep_old` on the sim's clock), a kill at every mutating call followed by an apply
//! that converges, and the settings refused at load.
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

/// The mutating calls of a weighted canary, on the balancer's side and the group's, in the
/// order the sim saw them.
fn traffic_calls(stack: &Stack) -> Result<Vec<String>, common::Error> {
    Ok(read_call_log(&stack.call_log_path())?
        .into_iter()
        .filter(|call| call.mutating)
        .map(|call| call.operation)
        .filter(|operation| {
            [
                "CreateTargetGroup",
                "ModifyListener",
                "RegisterTargets",
                "DeregisterTargets",
                "DeleteTargetGroup",
                "UpdateAutoScalingGroup",
                "TerminateInstanceInAutoScalingGroup",
            ]
            .contains(&operation.as_str())
        })
        .collect())
}

/// `(target group name, weight)` pairs of listeners' forward actions.
type Forward = Vec<(String, i64)>;

/// The `(target group name, weight)` pairs of the listeners' forward actions, and the
/// names of every target group of `environment`, as the sim holds them.
fn listener_and_target_groups(
    stack: &Stack,
    environment: &str,
) -> Result<(Forward, Vec<String>), common::Error> {
    let owned = stack.owned(environment)?;
    let name_of = |id: &str| {
        owned
            .iter()
            .find(|resource| resource.kind == "target_group" && resource.id == id)
            .and_then(|resource| resource.attributes["name"].as_str())
            .unwrap_or(id)
            .to_string()
    };
    let mut forward: Forward = owned
        .iter()
        .filter(|resource| resource.kind == "listener")
        .flat_map(|listener| listener.attributes["forward"].as_array().cloned())
        .flatten()
        .map(|entry| {
            (
                name_of(entry["target_group_id"].as_str().unwrap_or_default()),
                entry["weight"].as_i64().unwrap_or_default(),
            )
        })
        .collect();
    forward.sort();
    let target_groups = owned
        .iter()
        .filter(|resource| resource.kind == "target_group")
        .filter_map(|resource| resource.attributes["name"].as_str().map(str::to_string))
        .collect();
    Ok((forward, target_groups))
}

/// The lines of `printed` that contain one of `wanted`, in order, each shortened to the
/// fragment it matched.
fn in_order<'a>(printed: &str, wanted: &[&'a str]) -> Vec<&'a str> {
    printed
        .lines()
        .filter_map(|line| wanted.iter().find(|fragment| line.contains(**fragment)))
        .copied()
        .collect()
}

#[test]
fn a_canary_behind_a_listener_weights_the_traffic_by_checkpoint_and_puts_the_action_back()
-> TestResult {
    let stack = applied("production")?;
    let (configured, target_groups) = listener_and_target_groups(&stack, "production")?;
    // Two listeners: the primary's, whose weights the canary moves, and that of the DR
    // region's pilot-light balancer, which no rollout of the primary touches.
    assert_eq!(configured.len(), 2, "{configured:?}");
    let listeners = 1;
    let before = traffic_calls(&stack)?.len();
    let plan = stack
        .cairn(&[
            "plan",
            "-e",
            "production",
            "--var",
            &format!("image={NEW_IMAGE}"),
        ])?
        .output()?;
    assert!(
        stdout_of(&plan).contains(
            "traffic: 10% → 50% → 100% to the new version (listener weights, a canary target group beside the group's)"
        ),
        "{}",
        stdout_of(&plan)
    );

    let output = new_image(&stack, "production")?;
    let printed = stdout_of(&output);
    assert!(output.status.success(), "{printed}{}", stderr_of(&output));
    // The weights follow the checkpoints, each moved once the step's new servers are healthy
    // in the canary target group, and go back to the configured action at the end.
    let traffic = [
        "traffic 100% old / 0% new",
        "traffic 90% old / 10% new",
        "traffic 50% old / 50% new",
        "traffic 0% old / 100% new",
        "traffic back on the listener's configured action",
        "rollout step 1/3",
        "rollout step 2/3",
        "rollout step 3/3",
        "rollout complete",
    ];
    assert_eq!(
        in_order(&printed, &traffic),
        [
            "traffic 100% old / 0% new",
            "traffic 90% old / 10% new",
            "rollout step 1/3",
            "traffic 50% old / 50% new",
            "rollout step 2/3",
            "traffic 0% old / 100% new",
            "rollout step 3/3",
            "traffic back on the listener's configured action",
            "rollout complete",
        ],
        "{printed}"
    );
    // The call log: the canary target group and its weight-0 entry first; per checkpoint the
    // surge, the new server moved from the group's target group to the canary's, the old
    // server terminated, the weights moved; at the end every server back in the group's
    // target group, the configured action, the canary target group deleted.
    let calls = traffic_calls(&stack)?;
    let modify = vec!["ModifyListener"; listeners];
    let mut expected = vec!["UpdateAutoScalingGroup", "CreateTargetGroup"];
    expected.extend(&modify);
    for _ in 0..3 {
        expected.extend([
            "UpdateAutoScalingGroup",
            "RegisterTargets",
            "DeregisterTargets",
            "TerminateInstanceInAutoScalingGroup",
        ]);
        expected.extend(&modify);
    }
    expected.push("RegisterTargets");
    expected.extend(&modify);
    expected.push("DeleteTargetGroup");
    assert_eq!(calls[before..], expected);

    let (forward, after) = listener_and_target_groups(&stack, "production")?;
    assert_eq!(forward, configured, "the configured action is back");
    assert_eq!(after, target_groups, "the canary target group is gone");
    let (group, instances) = versions(&stack, "production")?;
    assert_eq!(group, Value::from(2));
    assert_eq!(instances, vec![Value::from(2); 3]);
    assert!(stack.state("production")?.get("rollouts").is_none());
    plan_is_empty(&stack, "production", NEW_IMAGE)
}

#[test]
fn a_rollback_of_a_weighted_canary_puts_the_traffic_back_before_replacing_anything() -> TestResult {
    let stack = applied("staging")?;
    let (configured, target_groups) = listener_and_target_groups(&stack, "staging")?;
    stack
        .cairn(&["sim", "unhealthy", NEW_IMAGE])?
        .assert()
        .success();
    let before = traffic_calls(&stack)?.len();
    let output = new_image(&stack, "staging")?;
    assert_eq!(output.status.code(), Some(1), "{}", stdout_of(&output));
    let calls = traffic_calls(&stack)?;
    let calls = &calls[before..];
    // The action goes back and the canary target group goes before the rollback changes the
    // group (its version, then the surge of old servers).
    let deleted = calls
        .iter()
        .position(|call| call == "DeleteTargetGroup")
        .ok_or("the canary target group was never deleted")?;
    assert_eq!(calls[deleted - 1], "ModifyListener", "{calls:?}");
    let rolled_back = calls[deleted..]
        .iter()
        .filter(|call| *call == "UpdateAutoScalingGroup")
        .count();
    assert!(rolled_back >= 1, "{calls:?}");
    let (forward, after) = listener_and_target_groups(&stack, "staging")?;
    assert_eq!(forward, configured);
    assert_eq!(after, target_groups);
    let (group, instances) = versions(&stack, "staging")?;
    assert_eq!(group, Value::from(1));
    assert_eq!(instances, vec![Value::from(1); 2]);
    Ok(())
}

/// Staging applied, then released with `NEW_IMAGE` made unhealthy: the canary rolls back and
/// the apply fails. The stack, and the apply's output.
fn rolled_back_on_staging() -> Result<(Stack, std::process::Output), common::Error> {
    let stack = applied("staging")?;
    stack
        .cairn(&["sim", "unhealthy", NEW_IMAGE])?
        .assert()
        .success();
    let output = new_image(&stack, "staging")?;
    assert_eq!(output.status.code(), Some(1), "{}", stdout_of(&output));
    Ok((stack, output))
}

#[test]
fn an_unhealthy_new_image_aborts_at_the_first_checkpoint_and_every_instance_runs_the_old_one()
-> TestResult {
    let (stack, output) = rolled_back_on_staging()?;
    let printed = stdout_of(&output);
    assert!(
        printed.contains(&format!("{GROUP}: rolling back: step 1 of 3:")),
        "{printed}"
    );
    assert!(
        stderr_of(&output).contains("rollout rolled back: step 1 of 3:"),
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
    Ok(())
}

/// `cairn plan` (or `apply`) of `environment` with the image variable set to `image` and
/// `extra` arguments.
fn plan_with(
    stack: &Stack,
    environment: &str,
    image: &str,
    extra: &[&str],
) -> Result<std::process::Output, common::Error> {
    let image = format!("image={image}");
    let mut args = vec!["plan", "-e", environment, "--var", &image];
    args.extend_from_slice(extra);
    Ok(stack.cairn(&args)?.output()?)
}

/// After an automatic rollback the next apply of the same definitions started the same
/// rollout again, and failed the same way (found by the new user's trial, session 9). As in
/// Argo Rollouts or Spinnaker, the rolled-back release is remembered: plans say when and why
/// it was rolled back and keep the group where it went back to, until the definition changes
/// or `--retry-rollout` asks for it again.
#[test]
fn a_rolled_back_release_is_held_until_the_definition_changes_or_a_retry() -> TestResult {
    let (stack, _) = rolled_back_on_staging()?;
    let state = stack.state("staging")?;
    let remembered = &state["rolled_back"][GROUP];
    assert_eq!(remembered["version"], 2, "{state:#}");
    assert_eq!(remembered["back_to"], 1, "{state:#}");
    assert!(
        remembered["reason"]
            .as_str()
            .is_some_and(|reason| reason.starts_with("step 1 of 3:")),
        "{remembered}"
    );
    // On the sim's clock, which was set (and moved by the rollout's waits), not the wall's.
    assert!(
        remembered["at"]
            .as_str()
            .is_some_and(|at| at.starts_with("2026-01-01T")),
        "{remembered}"
    );

    // The same definitions: the plan says why the group stays, and nothing rolls out.
    let plan = plan_with(&stack, "staging", NEW_IMAGE, &["--detailed-exitcode"])?;
    let shown = stdout_of(&plan);
    assert_eq!(plan.status.code(), Some(0), "{shown}");
    assert!(
        shown.contains(&format!(
            "{GROUP} stays on version 1: version 2 was rolled back at 2026-01-01T"
        )) && shown.contains("step 1 of 3:")
            && shown.contains(&format!("`--retry-rollout {GROUP}`"))
            && !shown.contains("to roll out"),
        "{shown}"
    );
    let calls = group_calls(&stack)?.len();
    let again = new_image(&stack, "staging")?;
    assert!(again.status.success(), "{}", stderr_of(&again));
    assert_eq!(
        group_calls(&stack)?.len(),
        calls,
        "the held group was touched"
    );
    assert_eq!(versions(&stack, "staging")?.1, vec![Value::from(1); 2]);

    // A retry names a rolled-back group (its block path names every region's).
    let typo = plan_with(
        &stack,
        "staging",
        NEW_IMAGE,
        &["--retry-rollout", "autoscaling.web"],
    )?;
    assert!(
        stderr_of(&typo)
            .contains("--retry-rollout `autoscaling.web` matches no rolled-back rollout")
            && stderr_of(&typo).contains(GROUP),
        "{}",
        stderr_of(&typo)
    );
    let retry = ["--retry-rollout", "module.web.autoscaling.web"];
    let shown = stdout_of(&plan_with(&stack, "staging", NEW_IMAGE, &retry)?);
    assert!(shown.contains("1 group to roll out"), "{shown}");

    // Another image is another release: it rolls out without being asked.
    let shown = stdout_of(&plan_with(&stack, "staging", "ami-0b5d7e2f", &[])?);
    assert!(
        shown.contains("1 group to roll out") && !shown.contains("stays on version"),
        "{shown}"
    );

    // Retried once the image is fixed, the release completes and is forgotten.
    stack
        .cairn(&["sim", "healthy", NEW_IMAGE])?
        .assert()
        .success();
    let image = format!("image={NEW_IMAGE}");
    let output = stack
        .cairn(&["apply", "-e", "staging", "--var", &image, "--auto-approve"])?
        .args(retry)
        .output()?;
    assert!(
        output.status.success(),
        "{}{}",
        stdout_of(&output),
        stderr_of(&output)
    );
    assert_eq!(versions(&stack, "staging")?.1, vec![Value::from(2); 2]);
    assert!(stack.state("staging")?.get("rolled_back").is_none());
    plan_is_empty(&stack, "staging", NEW_IMAGE)
}

/// A `--retry-rollout` naming a rolled-back group that `--target` or `--exclude` leaves out
/// was accepted and rolled nothing out: it is refused, naming the group (review).
#[test]
fn a_retry_of_a_group_the_plan_leaves_out_is_refused_naming_it() -> TestResult {
    let (stack, _) = rolled_back_on_staging()?;
    let retry = ["--retry-rollout", "module.web.autoscaling.web"];
    for scope in [
        ["--target", "module.web.load_balancer.web"],
        ["--exclude", "module.web.autoscaling.web"],
    ] {
        let mut extra = retry.to_vec();
        extra.extend(scope);
        let output = plan_with(&stack, "staging", NEW_IMAGE, &extra)?;
        let stderr = stderr_of(&output);
        assert_eq!(output.status.code(), Some(1), "{scope:?}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "--retry-rollout `module.web.autoscaling.web` names `{GROUP}`, which this plan leaves out"
            )),
            "{scope:?}: {stderr}"
        );
    }
    // With the group in scope the retry goes ahead.
    let mut extra = retry.to_vec();
    extra.extend(["--target", "module.web.autoscaling.web"]);
    let shown = stdout_of(&plan_with(&stack, "staging", NEW_IMAGE, &extra)?);
    assert!(shown.contains("1 group to roll out"), "{shown}");
    Ok(())
}

/// While a rolled-back group's instances ran the template's older version, the plan counted
/// that group as using every security group it deleted: an unrelated firewall removed from
/// the definitions stayed, "still used by" the held group (review). The groups of the version
/// the instances run are known, so only those stay.
#[test]
fn a_held_group_keeps_only_the_security_groups_its_instances_run_with() -> TestResult {
    let (stack, _) = rolled_back_on_staging()?;
    let scratch = stack.path().join("scratch.hcl");
    std::fs::write(
        &scratch,
        "firewall \"scratch\" {\n  network = module.network.network\n  ingress {\n    protocol = \"tcp\"\n    ports    = 8443\n    from     = [\"10.0.0.0/16\"]\n  }\n}\n",
    )?;
    let output = new_image(&stack, "staging")?;
    assert!(output.status.success(), "{}", stderr_of(&output));
    let firewall = "firewall.scratch[us-east-1]";
    assert!(stack.state("staging")?["resources"].get(firewall).is_some());

    std::fs::remove_file(&scratch)?;
    let output = new_image(&stack, "staging")?;
    let printed = stdout_of(&output);
    assert!(output.status.success(), "{printed}{}", stderr_of(&output));
    assert!(!printed.contains("is still used by"), "{printed}");
    assert!(
        printed.contains(&format!("{firewall}: Destruction complete")),
        "{printed}"
    );
    // The group is still held on the version it went back to.
    assert_eq!(versions(&stack, "staging")?.1, vec![Value::from(1); 2]);
    Ok(())
}

/// `text` without the top-level block that starts with the line `header` (up to its closing
/// `}` at the start of a line).
fn without_block(text: &str, header: &str) -> Result<String, common::Error> {
    let start = text
        .find(header)
        .ok_or_else(|| format!("no `{header}` in the text"))?;
    let end = text[start..]
        .find("\n}\n")
        .ok_or_else(|| format!("`{header}` does not end"))?;
    Ok(format!("{}{}", &text[..start], &text[start + end + 3..]))
}

/// A group a `removed` block forgets (`destroy = false`) left the release its rollback undid
/// remembered in state: whatever was recorded at the address later (an import, an adoption)
/// was held on another group's history, and `--retry-rollout` still offered it (review).
#[test]
fn a_group_a_removed_block_forgets_leaves_no_rolled_back_release_behind() -> TestResult {
    let (stack, _) = rolled_back_on_staging()?;
    assert!(stack.state("staging")?["rolled_back"].get(GROUP).is_some());
    let module = stack.directory.path().join("modules/web-tier/main.hcl");
    let mut text = std::fs::read_to_string(&module)?;
    for header in [
        "autoscaling \"web\" {",
        "alarm \"cpu_high\" {",
        "output \"group_name\" {",
    ] {
        text = without_block(&text, header)?;
    }
    text.push_str(
        "\nremoved {\n  from = autoscaling.web\n  lifecycle {\n    destroy = false\n  }\n}\n",
    );
    std::fs::write(&module, text)?;
    let root = stack.path().join("main.hcl");
    let text = without_block(&std::fs::read_to_string(&root)?, "output \"web_group\" {")?;
    std::fs::write(&root, text)?;

    let output = new_image(&stack, "staging")?;
    assert!(
        output.status.success(),
        "{}{}",
        stdout_of(&output),
        stderr_of(&output)
    );
    let state = stack.state("staging")?;
    assert!(state["resources"].get(GROUP).is_none(), "{state:#}");
    assert!(state.get("rolled_back").is_none(), "{state:#}");
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
            "rolling back: step 1 of 3: alarm `module.web.alarm.web_5xx[us-east-1]` is in ALARM"
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
    // Staging's change as a whole, counted on a run nobody kills: the template's new
    // version, the group's update, the canary target group and the listener's weights, per
    // checkpoint a surge, the new server moved to the canary target group and a termination,
    // then the servers back in the group's target group and the canary's deleted.
    let clean = applied("staging")?;
    let before = mutation_count(&clean)?;
    let output = new_image(&clean, "staging")?;
    assert!(output.status.success(), "{}", stdout_of(&output));
    let calls = mutation_count(&clean)? - before;
    assert!(calls >= 15, "{calls} mutating calls");
    for crash_after in 1..=calls {
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
        // No canary target group is left, and the listener forwards as configured.
        let (forward, target_groups) = listener_and_target_groups(&stack, "staging")?;
        assert!(
            forward.iter().all(|(name, _)| !name.ends_with("-canary")),
            "crash after {crash_after}: {forward:?}"
        );
        assert!(
            target_groups.iter().all(|name| !name.ends_with("-canary")),
            "crash after {crash_after}: {target_groups:?}"
        );
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
            "strategy    = \"blue_green\"\n    min_healthy = 90",
            "`min_healthy` does not apply to a `blue_green` rollout",
        ),
        (
            "strategy = \"canary\"\n    keep_old = \"1h\"",
            "`keep_old` does not apply to a `canary` rollout",
        ),
        (
            "strategy = \"blue_green\"\n    keep_old = \"soon\"",
            "a duration in whole seconds",
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
    // Staging's two servers behind its listener: 10 % and 50 % of the traffic on one new
    // server, then all of it on two.
    assert_eq!(
        lines[0]["plan"]["rollouts"][0]["steps"],
        serde_json::json!([1, 1, 2])
    );
    assert_eq!(
        lines[0]["plan"]["rollouts"][0]["traffic_weights"],
        serde_json::json!([10, 50, 100])
    );
    let steps: Vec<&Value> = lines
        .iter()
        .filter(|line| line["type"] == "rollout_step")
        .collect();
    assert_eq!(steps.len(), 3);
    assert_eq!(steps[0]["target"], 1);
    assert_eq!(steps[0]["old_healthy"], 1);
    assert_eq!(steps[0]["new_healthy"], 1);
    assert_eq!(steps[1]["target"], 1);
    assert_eq!(steps[2]["new_healthy"], 2);
    let weights: Vec<(Value, Value, Value)> = lines
        .iter()
        .filter(|line| line["type"] == "rollout_traffic")
        .map(|line| {
            (
                line["old_weight"].clone(),
                line["new_weight"].clone(),
                line["configured"].clone(),
            )
        })
        .collect();
    assert_eq!(
        weights,
        [
            (100, 0, false),
            (90, 10, false),
            (50, 50, false),
            (0, 100, false),
            (100, 0, true)
        ]
        .map(|(old, new, configured)| (
            Value::from(old),
            Value::from(new),
            Value::from(configured)
        ))
    );
    let summary = lines.last().ok_or("no lines")?;
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["succeeded"], true);
    assert_eq!(summary["rollouts"][0]["outcome"], "completed");
    assert_eq!(summary["rollouts"][0]["steps_done"], 3);
    Ok(())
}

/// Two web servers behind a load balancer, released blue-green: a second group beside the
/// first, traffic switched once it is healthy, the old group kept an hour. A scaling policy
/// and an alarm name the group, so they must follow the switch.
const BLUE_GREEN: &str = r#"
stack "bluegreen" {}

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
  subnet "public" {
    newbits = 8
    public  = true
  }
}

firewall "lb" {
  network = network.main
  ingress {
    protocol = "tcp"
    ports    = 80
    from     = ["0.0.0.0/0"]
  }
}

launch_template "app" {
  image         = var.image
  instance_type = "t3.small"
}

load_balancer "app" {
  network   = network.main
  subnets   = network.main.subnet.public
  firewalls = [firewall.lb]
  listener {
    port     = 80
    protocol = "HTTP"
  }
  health_check {
    path = "/health"
  }
}

autoscaling "app" {
  template      = launch_template.app
  subnets       = network.main.subnet.public
  load_balancer = load_balancer.app
  min           = 2
  max           = 4
  desired       = 2
  scaling "cpu" {
    target_cpu = 70
  }
  rollout {
    strategy = "blue_green"
    keep_old = "1h"
    bake     = "1m"
    timeout  = "2m"
    abort_on = [alarm.cpu_high]
  }
}

alarm "cpu_high" {
  autoscaling = autoscaling.app
  metric      = "CPUUtilization"
  statistic   = "Average"
  above       = 80
  periods     = 2
  period      = "5m"
}
"#;

const BLUE_GREEN_GROUP: &str = "autoscaling.app[us-east-1]";
/// The group's name as configured, and the name of its blue-green twin.
const BLUE: &str = "bluegreen-dev-app";
const GREEN: &str = "bluegreen-dev-app-green";

/// The blue-green stack applied on a clock that stands still.
fn blue_green_applied() -> Result<Stack, common::Error> {
    let stack = Stack::from_text(BLUE_GREEN)?;
    stack
        .cairn(&["sim", "clock", "--set", "2026-01-01T00:00:00Z"])?
        .assert()
        .success();
    stack
        .cairn(&["apply", "-e", "dev", "--auto-approve"])?
        .assert()
        .success();
    Ok(stack)
}

fn blue_green_release(stack: &Stack, image: &str) -> Result<std::process::Output, common::Error> {
    let image = format!("image={image}");
    Ok(stack
        .cairn(&["apply", "-e", "dev", "--var", &image, "--auto-approve"])?
        .output()?)
}

/// The autoscaling groups in the sim, by name.
fn group_names(stack: &Stack) -> Result<Vec<String>, common::Error> {
    Ok(stack
        .owned("dev")?
        .into_iter()
        .filter(|owned| owned.kind == "autoscaling_group")
        .map(|owned| owned.id)
        .collect())
}

/// The mutating calls after the first `skip`, as `Operation id`.
fn mutations_after(stack: &Stack, skip: usize) -> Result<Vec<String>, common::Error> {
    Ok(read_call_log(&stack.call_log_path())?
        .into_iter()
        .filter(|call| call.mutating)
        .skip(skip)
        .map(|call| format!("{} {}", call.operation, call.id.unwrap_or_default()))
        .collect())
}

fn mutation_count(stack: &Stack) -> Result<usize, common::Error> {
    Ok(read_call_log(&stack.call_log_path())?
        .into_iter()
        .filter(|call| call.mutating)
        .count())
}

#[test]
fn a_blue_green_rollout_switches_traffic_to_a_second_group_once_it_is_healthy() -> TestResult {
    let stack = blue_green_applied()?;
    let before = mutation_count(&stack)?;
    let image = format!("image={NEW_IMAGE}");
    let plan = stack
        .cairn(&["plan", "-e", "dev", "--var", &image])?
        .output()?;
    let shown = stdout_of(&plan);
    assert!(
        shown.contains(&format!(
            "{BLUE_GREEN_GROUP} will roll out: blue_green from version 1 to"
        )),
        "{shown}"
    );
    assert!(
        shown.contains("a second group of 2 instances on the new version beside the old one, bake 1m after the switch"),
        "{shown}"
    );
    assert!(
        shown.contains("traffic switches to the new group, the old one is kept 1h"),
        "{shown}"
    );

    let output = blue_green_release(&stack, NEW_IMAGE)?;
    let printed = stdout_of(&output);
    assert!(output.status.success(), "{printed}{}", stderr_of(&output));
    assert!(
        printed.contains(&format!(
            "{BLUE_GREEN_GROUP}: traffic switched to group `{GREEN}` (2 healthy), off `{BLUE}`"
        )),
        "{printed}"
    );

    // The call log: the green group is created, and only then (once its two servers are
    // healthy in the target group) does the blue group leave the target group; no server of
    // the blue group is terminated. The scaling policy and the alarm follow the switch.
    let calls = mutations_after(&stack, before)?;
    let position = |call: &str| calls.iter().position(|made| made == call);
    let created =
        position(&format!("CreateAutoScalingGroup {GREEN}")).ok_or(format!("{calls:?}"))?;
    let switched = calls
        .iter()
        .rposition(|call| *call == format!("UpdateAutoScalingGroup {BLUE}"))
        .ok_or(format!("{calls:?}"))?;
    assert!(created < switched, "{calls:?}");
    assert!(
        !calls
            .iter()
            .any(|call| call.starts_with("TerminateInstanceInAutoScalingGroup")),
        "{calls:?}"
    );
    let after_switch = |operation: &str| {
        calls[switched..]
            .iter()
            .any(|call| call.starts_with(operation))
    };
    assert!(after_switch("PutScalingPolicy"), "{calls:?}");
    assert!(after_switch("PutMetricAlarm"), "{calls:?}");

    // The address names the serving group; the old one is kept, registered nowhere.
    let state = stack.state("dev")?;
    let group = &state["resources"][BLUE_GREEN_GROUP];
    assert_eq!(group["id"], GREEN);
    assert_eq!(
        group["attributes"]["target_group_ids"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    let instances = group["attributes"]["instances"]
        .as_array()
        .ok_or("no instances")?;
    assert_eq!(instances.len(), 2);
    assert!(
        instances
            .iter()
            .all(|instance| instance["launch_template_version"] == 2)
    );
    assert_eq!(state["deposed"][0]["id"], BLUE);
    assert_eq!(
        state["deposed"][0]["attributes"]["target_group_ids"],
        serde_json::json!([])
    );
    // Kept an hour from the switch and its one-minute bake, on the sim's clock.
    let until = state["keep_until"][BLUE].as_str().ok_or("no keep_until")?;
    assert!(until.starts_with("2026-01-01T01:01:"), "{until}");
    assert!(state.get("rollouts").is_none());
    assert_eq!(group_names(&stack)?, [BLUE, GREEN]);
    plan_is_empty_for(&stack, NEW_IMAGE)
}

fn plan_is_empty_for(stack: &Stack, image: &str) -> TestResult {
    let image = format!("image={image}");
    let output = stack
        .cairn(&["plan", "-e", "dev", "--var", &image, "--detailed-exitcode"])?
        .output()?;
    assert_eq!(output.status.code(), Some(0), "{}", stdout_of(&output));
    Ok(())
}

#[test]
fn an_unhealthy_green_group_leaves_traffic_on_blue_and_is_deleted() -> TestResult {
    let stack = blue_green_applied()?;
    stack
        .cairn(&["sim", "unhealthy", NEW_IMAGE])?
        .assert()
        .success();
    let before = mutation_count(&stack)?;
    let output = blue_green_release(&stack, NEW_IMAGE)?;
    assert_eq!(output.status.code(), Some(1), "{}", stdout_of(&output));
    let printed = stdout_of(&output);
    assert!(
        printed.contains(&format!(
            "{BLUE_GREEN_GROUP}: rolling back: 0 of 2 instances of group `{GREEN}` healthy after 2m"
        )),
        "{printed}"
    );
    assert!(
        stderr_of(&output).contains(&format!(
            "rollout rolled back: 0 of 2 instances of group `{GREEN}`"
        )),
        "{}",
        stderr_of(&output)
    );
    // The blue group never left the target group, and the green one is gone.
    let calls = mutations_after(&stack, before)?;
    assert!(
        calls.contains(&format!("DeleteAutoScalingGroup {GREEN}")),
        "{calls:?}"
    );
    assert_eq!(group_names(&stack)?, [BLUE]);
    let state = stack.state("dev")?;
    let group = &state["resources"][BLUE_GREEN_GROUP];
    assert_eq!(group["id"], BLUE);
    assert_eq!(
        group["attributes"]["target_group_ids"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(group["attributes"]["launch_template_version"], 1);
    assert!(state.get("rollouts").is_none());
    assert!(state.get("keep_until").is_none());
    Ok(())
}

#[test]
fn the_old_group_is_kept_until_keep_old_ends_and_the_next_release_goes_back_to_its_name()
-> TestResult {
    let stack = blue_green_applied()?;
    let output = blue_green_release(&stack, NEW_IMAGE)?;
    assert!(output.status.success(), "{}", stdout_of(&output));
    let image = format!("image={NEW_IMAGE}");
    let plan = stack
        .cairn(&["plan", "-e", "dev", "--var", &image, "--detailed-exitcode"])?
        .output()?;
    assert_eq!(plan.status.code(), Some(0), "{}", stdout_of(&plan));
    assert!(
        stdout_of(&plan).contains(&format!(
            "blue group `{BLUE}` of {BLUE_GREEN_GROUP} kept until 2026-01-01T01:01:"
        )),
        "{}",
        stdout_of(&plan)
    );

    // Past the deadline on the cloud's clock, the plan destroys it.
    stack
        .cairn(&["sim", "clock", "--advance", "2h"])?
        .assert()
        .success();
    let plan = stack
        .cairn(&["plan", "-e", "dev", "--var", &image, "--detailed-exitcode"])?
        .output()?;
    assert_eq!(plan.status.code(), Some(2), "{}", stdout_of(&plan));
    assert!(
        stdout_of(&plan).contains(&format!(
            "will destroy the old group `{BLUE}` of a blue-green rollout (kept until 2026-01-01T01:01:"
        )),
        "{}",
        stdout_of(&plan)
    );
    let applied = stack
        .cairn(&["apply", "-e", "dev", "--var", &image, "--auto-approve"])?
        .output()?;
    assert!(applied.status.success(), "{}", stdout_of(&applied));
    assert_eq!(group_names(&stack)?, [GREEN]);
    assert!(stack.state("dev")?.get("keep_until").is_none());
    plan_is_empty_for(&stack, NEW_IMAGE)?;

    // The next release goes back to the first name, and keeps the second group.
    let output = blue_green_release(&stack, "ami-12c6146b")?;
    assert!(output.status.success(), "{}", stdout_of(&output));
    assert_eq!(
        stack.state("dev")?["resources"][BLUE_GREEN_GROUP]["id"],
        BLUE
    );
    assert_eq!(group_names(&stack)?, [BLUE, GREEN]);
    plan_is_empty_for(&stack, "ami-12c6146b")
}

#[test]
fn a_rollback_within_keep_old_switches_back_to_the_kept_group_without_launching_anything()
-> TestResult {
    let stack = blue_green_applied()?;
    let output = blue_green_release(&stack, NEW_IMAGE)?;
    assert!(output.status.success(), "{}", stdout_of(&output));
    assert_eq!(group_names(&stack)?, [BLUE, GREEN]);
    let ids = |group: &Value| -> Vec<String> {
        group["attributes"]["instances"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|instance| instance["id"].as_str().map(str::to_string))
            .collect()
    };
    let kept: Vec<String> = stack.state("dev")?["deposed"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|object| object["id"] == BLUE)
        .flat_map(ids)
        .collect();
    assert_eq!(kept.len(), 2, "the kept group still runs its servers");

    // Within keep_old: back to version 1 (the old image).
    let before = mutation_count(&stack)?;
    let rollback = stack
        .cairn(&["rollback", "-e", "dev", "--to", "1", "--auto-approve"])?
        .output()?;
    assert!(
        rollback.status.success(),
        "{}{}",
        stdout_of(&rollback),
        stderr_of(&rollback)
    );
    let calls = mutations_after(&stack, before)?;
    assert!(
        calls
            .iter()
            .all(|call| !call.starts_with("RunInstances")
                && !call.starts_with("CreateAutoScalingGroup")),
        "the switch back launched something: {calls:?}"
    );
    assert!(
        calls
            .iter()
            .any(|call| call == &format!("DeleteAutoScalingGroup {GREEN}")),
        "the group switched away from is deleted: {calls:?}"
    );
    // The kept group serves again, with the same servers.
    let state = stack.state("dev")?;
    assert_eq!(state["resources"][BLUE_GREEN_GROUP]["id"], BLUE);
    assert!(state.get("rollouts").is_none());
    assert!(state.get("keep_until").is_none());
    assert_eq!(group_names(&stack)?, [BLUE]);
    assert_eq!(ids(&state["resources"][BLUE_GREEN_GROUP]), kept);
    assert_eq!(
        state["resources"][BLUE_GREEN_GROUP]["attributes"]["target_group_ids"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    plan_is_empty_for(&stack, "ami-12c6146b")
}

#[test]
fn a_kill_at_any_call_of_a_blue_green_rollout_leaves_it_to_the_next_apply_which_converges()
-> TestResult {
    // The release makes eight mutating calls: the template's new version, the group's
    // update, the old group back on its version, the green group's creation, the switch,
    // the scaling policy taken off the old group and put on the new one, and the alarm.
    for crash_after in 1..=8 {
        let stack = blue_green_applied()?;
        let killed = stack
            .cairn(&[
                "apply",
                "-e",
                "dev",
                "--var",
                &format!("image={NEW_IMAGE}"),
                "--auto-approve",
            ])?
            .env("CAIRN_SIM_CRASH_AFTER", crash_after.to_string())
            .output()?;
        assert!(!killed.status.success(), "crash after {crash_after}");
        assert!(
            stack.state("dev")?["rollouts"]
                .get(BLUE_GREEN_GROUP)
                .is_some(),
            "crash after {crash_after}: the rollout is recorded as unfinished"
        );
        let output = blue_green_release(&stack, NEW_IMAGE)?;
        assert!(
            output.status.success(),
            "crash after {crash_after}: {}{}",
            stdout_of(&output),
            stderr_of(&output)
        );
        let state = stack.state("dev")?;
        assert_eq!(
            state["resources"][BLUE_GREEN_GROUP]["id"], GREEN,
            "crash after {crash_after}"
        );
        assert!(state.get("rollouts").is_none(), "crash after {crash_after}");
        assert_eq!(
            group_names(&stack)?,
            [BLUE, GREEN],
            "crash after {crash_after}"
        );
        plan_is_empty_for(&stack, NEW_IMAGE)?;
    }
    Ok(())
}
