//! What users read when a configuration is wrong: `cairn validate` on small broken stacks
//! under `tests/fixtures/<case>/`, each message snapshotted, each pointing at file:line:col.

use assert_cmd::Command;

/// Runs `cairn validate` on a fixture, checks it fails with exit code 1, and returns stderr.
fn validate_fails(case: &str) -> String {
    let output = Command::cargo_bin("cairn")
        .map(|mut command| {
            command
                .args(["validate", &format!("tests/fixtures/{case}")])
                .output()
        })
        .unwrap_or_else(|error| panic!("cannot find the cairn binary: {error}"))
        .unwrap_or_else(|error| panic!("cannot run cairn: {error}"));
    assert_eq!(
        output.status.code(),
        Some(1),
        "validate must fail on {case}"
    );
    assert!(output.stdout.is_empty(), "errors go to stderr only");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn assert_points_at(stderr: &str, location: &str) {
    assert!(
        stderr.contains(&format!("--> {location}")),
        "expected a diagnostic at {location}, got:\n{stderr}"
    );
}

#[test]
fn syntax_error() {
    let stderr = validate_fails("syntax_error");
    assert_points_at(&stderr, "tests/fixtures/syntax_error/main.hcl:11:10");
    insta::assert_snapshot!(stderr);
}

/// Issue 9: an unterminated string used to be reported where the parser gave up, three lines
/// later on `firewall "web"`, with a hint about one-line blocks.
#[test]
fn an_unterminated_string_is_reported_at_the_line_of_the_string() {
    let stderr = validate_fails("unterminated_string");
    assert_points_at(&stderr, "tests/fixtures/unterminated_string/main.hcl:11:10");
    assert!(stderr.contains("unterminated string"), "{stderr}");
    assert!(!stderr.contains("one-line block"), "{stderr}");
    insta::assert_snapshot!(stderr);
}

#[test]
fn unknown_block() {
    let stderr = validate_fails("unknown_block");
    assert_points_at(&stderr, "tests/fixtures/unknown_block/main.hcl:10:1");
    assert_points_at(&stderr, "tests/fixtures/unknown_block/main.hcl:14:1");
    assert!(stderr.contains("hint: did you mean `network`?"));
    insta::assert_snapshot!(stderr);
}

#[test]
fn unknown_attribute_with_suggestion() {
    let stderr = validate_fails("unknown_attribute");
    assert_points_at(&stderr, "tests/fixtures/unknown_attribute/main.hcl:20:3");
    assert!(stderr.contains("hint: did you mean `instance_type`?"));
    insta::assert_snapshot!(stderr);
}

#[test]
fn wrong_type() {
    let stderr = validate_fails("wrong_type");
    assert_points_at(&stderr, "tests/fixtures/wrong_type/main.hcl:31:14");
    insta::assert_snapshot!(stderr);
}

#[test]
fn undefined_variable() {
    let stderr = validate_fails("undefined_variable");
    assert_points_at(&stderr, "tests/fixtures/undefined_variable/main.hcl:16:19");
    assert!(stderr.contains("hint: did you mean `var.image`?"));
    insta::assert_snapshot!(stderr);
}

#[test]
fn reference_to_a_missing_block() {
    let stderr = validate_fails("missing_block");
    assert_points_at(&stderr, "tests/fixtures/missing_block/main.hcl:21:20");
    assert!(stderr.contains("hint: did you mean `firewall.web`?"));
    insta::assert_snapshot!(stderr);
}

#[test]
fn failed_variable_validation() {
    let stderr = validate_fails("failed_validation");
    assert_points_at(&stderr, "tests/fixtures/failed_validation/main.hcl:14:21");
    assert!(stderr.contains("capacity must be at least 1."));
    insta::assert_snapshot!(stderr);
}

#[test]
fn cycle_with_its_path() {
    let stderr = validate_fails("cycle");
    assert!(stderr.contains("dependency cycle: firewall.a -> firewall.b -> firewall.a"));
    assert!(
        stderr
            .contains("`firewall.a` refers to `firewall.b` at tests/fixtures/cycle/main.hcl:19:17")
    );
    assert!(
        stderr
            .contains("`firewall.b` refers to `firewall.a` at tests/fixtures/cycle/main.hcl:28:17")
    );
    insta::assert_snapshot!(stderr);
}

#[test]
fn module_with_missing_input() {
    let stderr = validate_fails("module_missing_input");
    assert_points_at(&stderr, "tests/fixtures/module_missing_input/main.hcl:10:8");
    assert!(stderr.contains("modules/net/main.hcl:1:10"));
    insta::assert_snapshot!(stderr);
}

#[test]
fn every_error_of_a_run_is_reported_together() {
    let stderr = validate_fails("several_errors");
    assert_eq!(stderr.matches("error: ").count(), 3, "{stderr}");
    assert!(stderr.ends_with("3 errors found\n"));
    insta::assert_snapshot!(stderr);
}

#[test]
fn unknown_variable_flag_is_reported_with_a_hint() {
    let output = Command::cargo_bin("cairn")
        .map(|mut command| {
            command
                .args(["validate", "examples/quickstart", "--var", "imag=ami-1"])
                .output()
        })
        .unwrap_or_else(|error| panic!("cannot find the cairn binary: {error}"))
        .unwrap_or_else(|error| panic!("cannot run cairn: {error}"));
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("variable `imag` given with --var is not declared"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: did you mean `image`?"), "{stderr}");
}

#[test]
fn dr_region_with_fewer_zones_than_the_primary() {
    let stderr = validate_fails("dr_too_few_zones");
    assert_points_at(&stderr, "tests/fixtures/dr_too_few_zones/main.hcl:13:14");
    insta::assert_snapshot!(stderr);
}

/// Issue 9: an unknown region used to pass `validate` and fail at refresh with an AWS endpoint
/// URL; zones of another region failed only when a subnet was created.
#[test]
fn unknown_regions_and_foreign_zones_are_refused_at_validate_with_the_closest_name() {
    let stderr = validate_fails("unknown_region");
    assert_points_at(&stderr, "tests/fixtures/unknown_region/main.hcl:5:10");
    assert!(stderr.contains("hint: did you mean `us-east-1`?"));
    assert_points_at(&stderr, "tests/fixtures/unknown_region/main.hcl:13:28");
    assert_points_at(&stderr, "tests/fixtures/unknown_region/main.hcl:13:42");
    assert_points_at(&stderr, "tests/fixtures/unknown_region/main.hcl:16:14");
    assert!(stderr.contains("hint: did you mean `eu-west-1`?"));
    insta::assert_snapshot!(stderr);
}

/// Issue 9: limits the cloud refuses (a /8 network, a /30 subnet, overlapping subnets, a port
/// above 65535, a 0 GiB volume, a group whose min is above its max) are found at validate,
/// each with its limit.
#[test]
fn values_the_cloud_would_refuse_are_reported_with_their_limit() {
    let stderr = validate_fails("cloud_limits");
    for (location, limit) in [
        ("11:10", "between /16 and /28"),
        ("17:15", "between /16 and /28"),
        ("28:15", "overlaps subnet `wide`"),
        ("34:10", "1 new bits give 2"),
        ("44:16", "from 0 to 65535"),
        ("51:13", "1 to 16384 GiB"),
        ("57:13", "the types are gp2"),
        ("64:15", "1 to 16384 GiB"),
        ("72:14", "needs min <= desired <= max"),
    ] {
        assert_points_at(
            &stderr,
            &format!("tests/fixtures/cloud_limits/main.hcl:{location}"),
        );
        assert!(stderr.contains(limit), "no `{limit}` in:\n{stderr}");
    }
    insta::assert_snapshot!(stderr);
}

/// Issue 9: cloud names AWS refuses (a security group named `sg-...` because the stack is, a
/// launch template name with a space) used to fail only when the apply created them.
#[test]
fn cloud_names_aws_refuses_are_reported_at_the_block() {
    let stderr = validate_fails("cloud_names");
    assert_points_at(&stderr, "tests/fixtures/cloud_names/main.hcl:10:10");
    assert!(stderr.contains("starts with `sg-`"), "{stderr}");
    assert_points_at(&stderr, "tests/fixtures/cloud_names/main.hcl:14:17");
    assert!(stderr.contains("holds ` `"), "{stderr}");
    insta::assert_snapshot!(stderr);
}

/// The traffic layer's rules (issue 10): a listener port no firewall of the balancer admits, a
/// health check path without a leading `/`, a group in another network than its target group,
/// an alarm threshold that is not a number, all reported together.
#[test]
fn traffic_mistakes_are_reported_at_their_source() {
    let stderr = validate_fails("traffic_errors");
    let file = "tests/fixtures/traffic_errors/main.hcl";
    assert_points_at(&stderr, &format!("{file}:41:12"));
    assert_points_at(&stderr, &format!("{file}:44:12"));
    assert_points_at(&stderr, &format!("{file}:67:19"));
    assert_points_at(&stderr, &format!("{file}:75:19"));
    assert!(stderr.contains("4 errors found"), "{stderr}");
    insta::assert_snapshot!(stderr);
}
