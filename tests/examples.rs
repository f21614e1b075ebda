//! The shipped examples: both validate, and the production web app's graph has the edges
//! its blocks imply.

use assert_cmd::Command;

fn cairn(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("cairn")
        .map(|mut command| command.args(args).output())
        .unwrap_or_else(|error| panic!("cannot find the cairn binary: {error}"))
        .unwrap_or_else(|error| panic!("cannot run cairn: {error}"))
}

#[test]
fn quickstart_validates() {
    let output = cairn(&["validate", "examples/quickstart"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "Success! The configuration in examples/quickstart is valid (1 environment, 11 blocks).\n"
    );
}

#[test]
fn webapp_validates() {
    let output = cairn(&["validate", "examples/webapp"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "Success! The configuration in examples/webapp is valid (3 environments, 20 blocks).\n"
    );
}

#[test]
fn production_graph_has_the_dependency_edges() {
    let output = cairn(&["graph", "-e", "production", "examples/webapp"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let dot = String::from_utf8_lossy(&output.stdout);
    for edge in [
        // autoscaling → launch_template → firewall → network
        r#""module.web.autoscaling.web[us-east-1]" -> "module.web.launch_template.web[us-east-1]";"#,
        r#""module.web.launch_template.web[us-east-1]" -> "module.web.firewall.web[us-east-1]";"#,
        r#""module.web.launch_template.web[us-east-1]" -> "module.web.firewall.app[us-east-1]";"#,
        r#""module.web.firewall.web[us-east-1]" -> "module.network.network.main[us-east-1]";"#,
        // a firewall that admits another depends on it
        r#""module.web.firewall.app[us-east-1]" -> "module.web.firewall.web[us-east-1]";"#,
        // subnets, gateway and route table hang off the network
        r#""module.network.network.main.subnet.public[us-east-1c]" -> "module.network.network.main[us-east-1]";"#,
        r#""module.network.network.main.gateway[us-east-1]" -> "module.network.network.main[us-east-1]";"#,
        r#""module.network.network.main.route_table.public[us-east-1]" -> "module.network.network.main.gateway[us-east-1]";"#,
        r#""module.network.network.main.route_table.public[us-east-1]" -> "module.network.network.main.subnet.public[us-east-1a]";"#,
        // the group spans the public subnets of all three zones
        r#""module.web.autoscaling.web[us-east-1]" -> "module.network.network.main.subnet.public[us-east-1b]";"#,
        r#""module.web.autoscaling.web.scaling.cpu[us-east-1]" -> "module.web.autoscaling.web[us-east-1]";"#,
    ] {
        assert!(dot.contains(edge), "missing edge {edge} in:\n{dot}");
    }
    assert!(dot.starts_with("digraph \"webapp-production\" {\n"));
    assert!(dot.contains("\"volume.data[us-east-1]\";"));
    assert!(
        !dot.contains("us-west-2"),
        "the DR region is not instantiated by a normal graph"
    );
}

#[test]
fn unknown_environment_is_an_error_with_a_hint() {
    let output = cairn(&["graph", "-e", "prod", "examples/webapp"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no environment `prod` in stack `webapp`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: did you mean `production`?"),
        "{stderr}"
    );
}

#[test]
fn fmt_check_passes_on_the_shipped_files_and_flags_unformatted_ones() {
    for dir in ["examples", "modules"] {
        let output = cairn(&["fmt", "--check", dir]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&output.stdout)
        );
    }
    let Ok(dir) = tempfile::tempdir() else {
        panic!("a temp dir");
    };
    let file = dir.path().join("main.hcl");
    let Ok(()) = std::fs::write(
        &file,
        "stack \"x\" {\n backend \"local\" {\n path=\".cairn\"\n }\n}\n",
    ) else {
        panic!("write the fixture");
    };
    let path = dir.path().to_string_lossy().into_owned();
    let check = cairn(&["fmt", "--check", &path]);
    assert_eq!(check.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&check.stdout).contains("main.hcl"));

    let fix = cairn(&["fmt", &path]);
    assert_eq!(fix.status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(&file).ok().as_deref(),
        Some("stack \"x\" {\n  backend \"local\" {\n    path = \".cairn\"\n  }\n}\n")
    );
    assert_eq!(cairn(&["fmt", "--check", &path]).status.code(), Some(0));
}
