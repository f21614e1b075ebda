//! Traffic and health on the simulated cloud (issue 10), through the CLI on `examples/webapp`:
//! the web group behind a health-checked load balancer, its alarms, its DNS name and how the
//! name follows a failover; drift of a listener and an alarm corrected; `cairn sim
//! unhealthy|healthy` and `cairn sim alarm` as the rollout tests will use them.

mod common;

use common::{Stack, TestResult, stdout_of};
use serde_json::Value;

/// The webapp with `environment` applied.
fn applied(environment: &str) -> Result<Stack, common::Error> {
    let stack = Stack::webapp()?;
    stack
        .cairn(&["apply", "-e", environment, "--auto-approve"])?
        .assert()
        .success();
    Ok(stack)
}

/// What `cairn sim show --json` lists.
fn inventory(stack: &Stack) -> Result<Value, common::Error> {
    let output = stack.cairn(&["sim", "show", "--json"])?.output()?;
    assert!(output.status.success());
    Ok(serde_json::from_slice(&output.stdout)?)
}

/// The resources of `kind` in `region` carrying `environment`'s ownership (DNS records carry
/// their zone's).
fn listed(inventory: &Value, region: &str, kind: &str, environment: &str) -> Vec<Value> {
    inventory["regions"][region][kind]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|item| item["tags"]["cairn:env"].as_str() == Some(environment))
        .cloned()
        .collect()
}

/// The region whose load balancer answers for `name` now, as the sim resolves it.
fn answering_region(inventory: &Value, name: &str) -> Option<String> {
    inventory["regions"]["global"]["dns_record"]
        .as_array()?
        .iter()
        .find(|record| {
            record["attributes"]["name"] == name && record["attributes"]["answering"] == true
        })
        .and_then(|record| record["attributes"]["region"].as_str().map(str::to_string))
}

fn plan_is_empty(stack: &Stack, environment: &str) -> TestResult {
    let output = stack
        .cairn(&["plan", "-e", environment, "--detailed-exitcode"])?
        .output()?;
    assert_eq!(output.status.code(), Some(0), "{}", stdout_of(&output));
    Ok(())
}

#[test]
fn the_webapp_serves_behind_a_health_checked_load_balancer_with_alarms_and_a_failover_name()
-> TestResult {
    let stack = applied("production")?;
    let cloud = inventory(&stack)?;
    let east = "us-east-1";

    let balancers = listed(&cloud, east, "load_balancer", "production");
    assert_eq!(balancers.len(), 1, "{balancers:?}");
    let groups = listed(&cloud, east, "target_group", "production");
    assert_eq!(groups.len(), 1);
    let targets = groups[0]["attributes"]["targets"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        targets.len(),
        3,
        "production's three servers are registered"
    );
    assert!(
        targets
            .iter()
            .all(|target| target.as_str().is_some_and(|t| t.ends_with(":healthy"))),
        "{targets:?}"
    );
    let listeners = listed(&cloud, east, "listener", "production");
    assert_eq!(listeners[0]["attributes"]["port"], 80);

    let alarms = listed(&cloud, east, "alarm", "production");
    let threshold = |metric: &str| {
        alarms
            .iter()
            .find(|alarm| alarm["attributes"]["metric"] == metric)
            .map(|alarm| alarm["attributes"]["threshold"].clone())
    };
    assert_eq!(threshold("CPUUtilization"), Some(Value::from(80)));
    assert_eq!(
        threshold("HTTPCode_Target_5XX_Count"),
        Some(Value::from(10))
    );

    // Pilot light: the DR region keeps a load balancer, which the secondary record names.
    assert_eq!(
        listed(&cloud, "us-west-2", "load_balancer", "production").len(),
        1
    );
    let records = listed(&cloud, "global", "dns_record", "production");
    let roles: Vec<&str> = records
        .iter()
        .filter_map(|record| record["attributes"]["failover"].as_str())
        .collect();
    assert_eq!(roles, ["PRIMARY", "SECONDARY"]);
    assert_eq!(
        answering_region(&cloud, "www.example.com").as_deref(),
        Some(east)
    );
    plan_is_empty(&stack, "production")
}

#[test]
fn a_drifted_listener_port_and_alarm_threshold_are_planned_and_corrected() -> TestResult {
    let stack = applied("staging")?;
    let cloud = inventory(&stack)?;
    let listener = listed(&cloud, "us-east-1", "listener", "staging")[0]["id"].clone();
    let alarm = listed(&cloud, "us-east-1", "alarm", "staging")
        .into_iter()
        .find(|alarm| alarm["attributes"]["metric"] == "CPUUtilization")
        .map(|alarm| alarm["id"].clone())
        .unwrap_or_default();
    for (id, attribute, value) in [(&listener, "port", "8080"), (&alarm, "threshold", "95")] {
        stack
            .cairn(&[
                "sim",
                "set",
                id.as_str().unwrap_or_default(),
                attribute,
                value,
            ])?
            .assert()
            .success();
    }

    let output = stack.cairn(&["plan", "-e", "staging"])?.output()?;
    let plan = stdout_of(&output);
    assert!(plan.contains("~ port = 8080 -> 80"), "{plan}");
    assert!(plan.contains("~ threshold = 95 -> 80"), "{plan}");
    assert!(
        plan.contains("Plan: 0 to add, 2 to change, 0 to destroy."),
        "{plan}"
    );

    stack
        .cairn(&["apply", "-e", "staging", "--auto-approve"])?
        .assert()
        .success();
    plan_is_empty(&stack, "staging")
}

#[test]
fn unhealthy_servers_fire_the_5xx_alarm_and_move_the_name_to_the_standby_until_healthy()
-> TestResult {
    let stack = applied("production")?;
    let image = "ami-12c6146b";
    let state = |metric: &str| -> Result<String, common::Error> {
        let cloud = inventory(&stack)?;
        Ok(listed(&cloud, "us-east-1", "alarm", "production")
            .into_iter()
            .find(|alarm| alarm["attributes"]["metric"] == metric)
            .and_then(|alarm| alarm["attributes"]["state"].as_str().map(str::to_string))
            .unwrap_or_default())
    };
    assert_eq!(state("HTTPCode_Target_5XX_Count")?, "OK");

    stack
        .cairn(&["sim", "unhealthy", image])?
        .assert()
        .success();
    let cloud = inventory(&stack)?;
    let targets =
        &listed(&cloud, "us-east-1", "target_group", "production")[0]["attributes"]["targets"];
    assert!(
        targets
            .as_array()
            .into_iter()
            .flatten()
            .all(|target| target.as_str().is_some_and(|t| t.ends_with(":unhealthy"))),
        "{targets}"
    );
    assert_eq!(state("HTTPCode_Target_5XX_Count")?, "ALARM");
    // Route 53's health check fails: the name answers from the DR region's standby.
    assert_eq!(
        answering_region(&cloud, "www.example.com").as_deref(),
        Some("us-west-2")
    );
    // The group judges its instances by the balancer's health check.
    let group = listed(&cloud, "us-east-1", "autoscaling_group", "production");
    assert!(!group.is_empty());

    stack.cairn(&["sim", "healthy", image])?.assert().success();
    assert_eq!(state("HTTPCode_Target_5XX_Count")?, "OK");
    assert_eq!(
        answering_region(&inventory(&stack)?, "www.example.com").as_deref(),
        Some("us-east-1")
    );
    Ok(())
}

#[test]
fn a_forced_alarm_state_holds_until_its_metric_says_otherwise() -> TestResult {
    let stack = applied("staging")?;
    let cpu = |stack: &Stack| -> Result<String, common::Error> {
        let cloud = inventory(stack)?;
        Ok(listed(&cloud, "us-east-1", "alarm", "staging")
            .into_iter()
            .find(|alarm| alarm["attributes"]["metric"] == "CPUUtilization")
            .and_then(|alarm| alarm["attributes"]["state"].as_str().map(str::to_string))
            .unwrap_or_default())
    };
    let output = stack
        .cairn(&["sim", "alarm", "cpu_high", "alarm"])?
        .output()?;
    assert!(output.status.success());
    assert!(
        stdout_of(&output).contains("webapp-staging-web-cpu_high` is now ALARM"),
        "{}",
        stdout_of(&output)
    );
    assert_eq!(cpu(&stack)?, "ALARM");
    // Calls to the region change nothing the metric says: the forced state holds.
    plan_is_empty(&stack, "staging")?;
    assert_eq!(cpu(&stack)?, "ALARM");

    // The metric breaches, then recovers: from then on the metric decides.
    stack
        .cairn(&["sim", "load", "webapp-staging-web-web", "95"])?
        .assert()
        .success();
    assert_eq!(cpu(&stack)?, "ALARM");
    stack
        .cairn(&["sim", "load", "webapp-staging-web-web", "20"])?
        .assert()
        .success();
    assert_eq!(cpu(&stack)?, "OK");

    let unknown = stack.cairn(&["sim", "alarm", "nope", "ok"])?.output()?;
    assert_eq!(unknown.status.code(), Some(1));
    Ok(())
}

/// Backs production up, then fails it over with its primary region out; the report.
fn backed_up_and_failed_over(stack: &Stack) -> Result<String, common::Error> {
    stack
        .cairn(&["backup", "run", "-e", "production"])?
        .assert()
        .success();
    let output = stack
        .cairn(&["dr", "failover", "-e", "production", "--auto-approve"])?
        .env("CAIRN_SIM_OUTAGE", "us-east-1")
        .output()?;
    let report = stdout_of(&output);
    assert!(output.status.success(), "{report}");
    Ok(report)
}

#[test]
fn failover_moves_the_name_to_the_dr_load_balancer_and_failback_moves_it_home() -> TestResult {
    let stack = applied("production")?;
    let report = backed_up_and_failed_over(&stack)?;
    assert!(
        report.contains("DNS: www.example.com answers from us-west-2 (switched at "),
        "{report}"
    );
    let cloud = inventory(&stack)?;
    let records = listed(&cloud, "global", "dns_record", "production");
    assert_eq!(records.len(), 1, "failed over, the name has no secondary");
    assert_eq!(records[0]["attributes"]["region"], "us-west-2");
    assert_eq!(
        answering_region(&cloud, "www.example.com").as_deref(),
        Some("us-west-2")
    );

    let output = stack
        .cairn(&["dr", "failback", "-e", "production", "--auto-approve"])?
        .output()?;
    let report = stdout_of(&output);
    assert!(output.status.success(), "{report}");
    assert!(
        report.contains("DNS: www.example.com answers from us-east-1 (switched at "),
        "{report}"
    );
    let cloud = inventory(&stack)?;
    assert_eq!(
        answering_region(&cloud, "www.example.com").as_deref(),
        Some("us-east-1")
    );
    assert_eq!(
        listed(&cloud, "global", "dns_record", "production").len(),
        2
    );
    plan_is_empty(&stack, "production")
}

/// The failover's report gave the DNS switch on the wall clock while its start, RPO and RTO
/// are on the cloud's clock: on a sim whose clock was set, the name was "switched" years away
/// from the move (found by the new user's trial, session 9). The switch is on the cloud's
/// clock, which a set sim clock holds still.
#[test]
fn a_failover_on_a_sim_whose_clock_is_set_reports_the_dns_switch_on_that_clock() -> TestResult {
    let stack = applied("production")?;
    stack
        .cairn(&["sim", "clock", "--set", "2031-05-01T08:00:00Z"])?
        .assert()
        .success();
    let report = backed_up_and_failed_over(&stack)?;
    assert!(
        report.contains(
            "DNS: www.example.com answers from us-west-2 (switched at 2031-05-01T08:00:00Z)"
        ),
        "{report}"
    );
    Ok(())
}

#[test]
fn a_drill_answers_on_a_name_of_its_own_and_never_touches_the_live_record() -> TestResult {
    let stack = applied("production")?;
    stack
        .cairn(&["backup", "run", "-e", "production"])?
        .assert()
        .success();
    let live_before = listed(&inventory(&stack)?, "global", "dns_record", "production");
    let output = stack
        .cairn(&["dr", "drill", "-e", "production", "--keep"])?
        .env("CAIRN_SIM_OUTAGE", "us-east-1")
        .output()?;
    assert!(output.status.success(), "{}", stdout_of(&output));
    let cloud = inventory(&stack)?;
    let drill = listed(&cloud, "global", "dns_record", "production-drill");
    assert_eq!(drill.len(), 1, "{drill:?}");
    assert_eq!(drill[0]["attributes"]["name"], "www-drill.example.com");
    assert_eq!(drill[0]["attributes"]["region"], "us-west-2");
    assert_eq!(
        listed(&cloud, "global", "dns_record", "production"),
        live_before,
        "the live records are as they were"
    );
    stack
        .cairn(&["dr", "drill", "-e", "production", "--teardown"])?
        .assert()
        .success();
    assert!(
        listed(
            &inventory(&stack)?,
            "global",
            "dns_zone",
            "production-drill"
        )
        .is_empty()
    );
    Ok(())
}

#[test]
fn destroy_deletes_listeners_target_groups_balancers_records_and_zones_in_order() -> TestResult {
    let stack = applied("staging")?;
    stack
        .cairn(&["destroy", "-e", "staging", "--auto-approve"])?
        .assert()
        .success();
    assert_eq!(stack.cairn_tagged_count()?, 0);
    Ok(())
}
