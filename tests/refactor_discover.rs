//! `cairn discover` for the compute and traffic kinds (issue 17), through the CLI on the
//! simulated cloud: a launch template, an autoscaling group, a load balancer with a target
//! group and a listener, and an alarm, named by hand and let go of, come back from
//! `discover --write` with their names, versions and references, and the plan right after
//! shows only imports.

mod common;

use common::{Error, Stack, TestResult};
use serde_json::{Value, json};
use std::collections::BTreeSet;

const HEADER: &str = r#"stack "adopt" {
  backend "local" {
    path = ".cairn"
  }
}

environment "dev" {
  cloud = "sim"
  region "us-east-1" {
    zones = ["us-east-1a", "us-east-1b"]
  }
}
"#;

/// Objects named as by hand (not `adopt-dev-BLOCK`), the group pinned to the template's
/// default version, and each block referring to the others.
const NAMED_BY_HAND: &str = r#"
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

launch_template "web" {
  name          = "legacy-web-template"
  image         = "ami-12c6146b"
  instance_type = "t3.micro"
  firewalls     = [firewall.lb]
  volume {
    size_gb   = 10
    encrypted = true
  }
}

load_balancer "front" {
  name      = "legacy-front"
  network   = network.main
  subnets   = network.main.subnet.public
  firewalls = [firewall.lb]
  target_group "blue" {
    name = "legacy-blue"
    port = 8080
    health_check {
      path     = "/health"
      interval = "15s"
    }
  }
  listener {
    port     = 80
    protocol = "HTTP"
  }
}

autoscaling "web" {
  name             = "legacy-web"
  template         = launch_template.web
  template_version = "$Default"
  subnets          = network.main.subnet.public
  load_balancer    = load_balancer.front.target_group.blue
  min              = 1
  max              = 3
  desired          = 2
}

alarm "cpu" {
  name        = "legacy-web-cpu"
  description = "Pages the on-call: \"web\" is busy"
  autoscaling = autoscaling.web
  metric      = "CPUUtilization"
  above       = 80
  periods     = 2
  period      = "5m"
}
"#;

fn run(stack: &Stack, args: &[&str]) -> Result<String, Error> {
    Ok(common::succeeded(args, &stack.cairn(args)?.output()?))
}

fn plan_json(stack: &Stack) -> Result<Value, Error> {
    Ok(serde_json::from_str(&run(
        stack,
        &["plan", "-e", "dev", "--json"],
    )?)?)
}

/// The ids state holds.
fn ids(stack: &Stack) -> Result<BTreeSet<String>, Error> {
    Ok(stack.state_resources("dev")?.into_values().collect())
}

/// Issue 17: hand-named compute and traffic objects, let go of with `state rm` and their
/// blocks deleted, come back from `discover --write` keeping their cloud names (`name`), the
/// group's template version, the alarm's description, and references between them (a group's template, subnets and
/// target group, a balancer's network, subnets and firewalls, an alarm's group); the plan
/// shows only imports, and after the apply state holds the ids it held before.
#[test]
fn discover_write_round_trips_named_templates_groups_balancers_and_alarms() -> TestResult {
    let stack = Stack::from_text(&format!("{HEADER}{NAMED_BY_HAND}"))?;
    run(&stack, &["apply", "-e", "dev", "--auto-approve"])?;
    let before = ids(&stack)?;
    for address in [
        "network.main",
        "firewall.lb",
        "launch_template.web",
        "load_balancer.front",
        "autoscaling.web",
        "alarm.cpu",
    ] {
        run(&stack, &["state", "rm", "-e", "dev", address])?;
    }
    std::fs::write(stack.path().join("main.hcl"), HEADER)?;

    let written = stack.path().join("discovered.hcl");
    let path = written.to_string_lossy().to_string();
    run(&stack, &["discover", "-e", "dev", "--write", &path])?;
    let text = std::fs::read_to_string(&written)?;
    for expected in [
        "launch_template \"legacy_web_template\" {\n  name          = \"legacy-web-template\"",
        "  firewalls     = [firewall.lb]",
        "  template         = launch_template.legacy_web_template\n  template_version = \"$Default\"\n  subnets          = network.main.subnet.public",
        "  load_balancer    = load_balancer.legacy_front.target_group.legacy_blue",
        "  name      = \"legacy-front\"\n  network   = network.main\n  subnets   = network.main.subnet.public\n  firewalls = [firewall.lb]",
        "  target_group \"legacy_blue\" {\n    name = \"legacy-blue\"\n    port = 8080\n\n    health_check {\n      path     = \"/health\"\n      interval = \"15s\"\n    }\n  }",
        "  listener {\n    port     = 80\n    protocol = \"HTTP\"\n  }",
        "  autoscaling = autoscaling.legacy_web",
        "  description = \"Pages the on-call: \\\"web\\\" is busy\"\n",
        "  to = load_balancer.legacy_front.listener.80",
        "  to = load_balancer.legacy_front.target_group.legacy_blue",
    ] {
        assert!(text.contains(expected), "{expected} not in\n{text}");
    }
    assert!(!text.contains("# Not declared here"), "{text}");

    let plan = plan_json(&stack)?;
    assert_eq!(
        plan["summary"],
        json!({"create": 0, "update": 0, "replace": 0, "delete": 0}),
        "{text}\n{plan}"
    );
    let human = run(&stack, &["plan", "-e", "dev"])?;
    assert!(human.contains("will be imported"), "{human}");
    run(&stack, &["apply", "-e", "dev", "--auto-approve"])?;
    assert_eq!(ids(&stack)?, before);
    let plan = run(&stack, &["plan", "-e", "dev"])?;
    assert!(plan.contains("No changes."), "{plan}");
    let listed = run(&stack, &["discover", "-e", "dev"])?;
    assert!(listed.contains("Nothing unowned found."), "{listed}");
    Ok(())
}

/// A `name` breaking ELB's naming rules is refused at the attribute, before any call.
#[test]
fn a_load_balancer_name_elb_refuses_is_an_error_at_its_attribute() -> TestResult {
    let stack = Stack::from_text(&format!(
        "{HEADER}{}",
        NAMED_BY_HAND.replace("\"legacy-front\"", "\"legacy_front\"")
    ))?;
    let args = ["plan", "-e", "dev"];
    let error = common::refused_with(&args, &stack.cairn(&args)?.output()?);
    assert!(
        error.contains("the load balancer name `legacy_front` holds `_`"),
        "{error}"
    );
    assert!(error.contains("main.hcl:"), "{error}");
    Ok(())
}

/// Issue 17: in an environment that has failed over (its active region the DR region),
/// `discover` lists that region and the `import` blocks it writes import into it: the
/// volume comes back under its old address in the DR region, with the id it had.
#[test]
fn discover_and_import_in_a_failed_over_environment_use_its_active_region() -> TestResult {
    let header = r#"stack "adopt" {
  backend "local" {
    path = ".cairn"
  }
}

environment "dev" {
  cloud = "sim"
  region "us-east-1" {
    zones = ["us-east-1a", "us-east-1b"]
  }
  dr {
    region = "us-west-2"
    zones  = ["us-west-2a", "us-west-2b"]
    mode   = "backup_restore"
  }
}

network "main" {
  cidr = "10.0.0.0/16"
  subnet "private" {
    newbits = 8
  }
}
"#;
    let scratch = r#"
volume "scratch" {
  zone      = region.zones[0]
  size_gb   = 5
  encrypted = true
}
"#;
    let stack = Stack::from_text(header)?;
    run(&stack, &["apply", "-e", "dev", "--auto-approve"])?;
    run(&stack, &["dr", "failover", "-e", "dev", "--auto-approve"])?;
    std::fs::write(stack.path().join("main.hcl"), format!("{header}{scratch}"))?;
    run(&stack, &["apply", "-e", "dev", "--auto-approve"])?;
    let volume = stack.state_resources("dev")?["volume.scratch[us-west-2]"].clone();
    run(&stack, &["state", "rm", "-e", "dev", "volume.scratch"])?;
    std::fs::write(stack.path().join("main.hcl"), header)?;

    let written = stack.path().join("discovered.hcl");
    let path = written.to_string_lossy().to_string();
    run(&stack, &["discover", "-e", "dev", "--write", &path])?;
    let text = std::fs::read_to_string(&written)?;
    assert!(
        text.contains("volume \"scratch\" {\n  zone      = \"us-west-2a\"\n  size_gb   = 5"),
        "{text}"
    );
    assert!(
        text.contains(&format!("  to = volume.scratch\n  id = \"{volume}\"")),
        "{text}"
    );
    let plan = plan_json(&stack)?;
    assert_eq!(
        plan["summary"],
        json!({"create": 0, "update": 0, "replace": 0, "delete": 0}),
        "{text}\n{plan}"
    );
    run(&stack, &["apply", "-e", "dev", "--auto-approve"])?;
    assert_eq!(
        stack
            .state_resources("dev")?
            .get("volume.scratch[us-west-2]"),
        Some(&volume)
    );
    let plan = run(&stack, &["plan", "-e", "dev"])?;
    assert!(plan.contains("No changes."), "{plan}");
    Ok(())
}

/// Issue 17: the environment's `tags` are applied to every block, so `discover` writes them
/// in no block; an object lacking one (made in another environment) is imported with it
/// added, an update the comment announces, and one carrying them imports with no change.
#[test]
fn discover_leaves_the_environment_tags_out_of_blocks_and_names_the_missing_ones() -> TestResult {
    let header = r#"stack "adopt" {
  backend "local" {
    path = ".cairn"
  }
}

environment "dev" {
  cloud = "sim"
  region "us-east-1" {
    zones = ["us-east-1a", "us-east-1b"]
  }
  tags = { team = "web" }
}

environment "other" {
  cloud = "sim"
  region "us-east-1" {
    zones = ["us-east-1a", "us-east-1b"]
  }
}
"#;
    let volume = r#"
volume "logs" {
  zone      = region.zones[0]
  size_gb   = 5
  encrypted = true
  tags      = { tier = "logs" }
}
"#;
    let stack = Stack::from_text(&format!("{header}{volume}"))?;
    for environment in ["dev", "other"] {
        run(&stack, &["apply", "-e", environment, "--auto-approve"])?;
        run(&stack, &["state", "rm", "-e", environment, "volume.logs"])?;
    }
    std::fs::write(stack.path().join("main.hcl"), header)?;
    let written = stack.path().join("discovered.hcl");
    let path = written.to_string_lossy().to_string();
    run(&stack, &["discover", "-e", "dev", "--write", &path])?;
    let text = std::fs::read_to_string(&written)?;
    for expected in [
        "  tags      = { tier = \"logs\" }\n}",
        "lacks the environment's tags { team = \"web\" }: the plan adds them, an update.\nvolume \"adopt_other_logs\" {",
        "  tags      = { Name = \"adopt-other-logs\", tier = \"logs\" }",
    ] {
        assert!(text.contains(expected), "{expected} not in\n{text}");
    }
    assert!(
        !text
            .lines()
            .any(|line| line.trim_start().starts_with("tags") && line.contains("team")),
        "{text}"
    );
    let plan = plan_json(&stack)?;
    assert_eq!(
        plan["summary"],
        json!({"create": 0, "update": 1, "replace": 0, "delete": 0}),
        "{text}\n{plan}"
    );
    run(&stack, &["apply", "-e", "dev", "--auto-approve"])?;
    let plan = run(&stack, &["plan", "-e", "dev"])?;
    assert!(plan.contains("No changes."), "{plan}");
    Ok(())
}

/// A balancer in front of nothing, a zone and a record aliasing the balancer.
const SITE: &str = r#"
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

load_balancer "front" {
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

dns_zone "site" {
  name = "example.com"
}

dns_record "www" {
  zone   = dns_zone.site
  name   = "www"
  target = load_balancer.front
}
"#;

/// Applies `SITE` under `header`, lets every block go with `state rm`, and checks that
/// `discover --write` brings them back: the written configuration holds each of `expected`,
/// the plan right after only imports the ids state held (`imported` of them DNS objects),
/// and after the apply the plan is empty and nothing is left unowned.
fn dns_round_trip(header: &str, expected: &[&str], imported: &[&str]) -> TestResult {
    let stack = Stack::from_text(&format!("{header}{SITE}"))?;
    run(&stack, &["apply", "-e", "dev", "--auto-approve"])?;
    let state = stack.state_resources("dev")?;
    let before = ids(&stack)?;
    for address in [
        "network.main",
        "firewall.lb",
        "load_balancer.front",
        "dns_record.www",
        "dns_zone.site",
    ] {
        run(&stack, &["state", "rm", "-e", "dev", address])?;
    }
    std::fs::write(stack.path().join("main.hcl"), header)?;

    let written = stack.path().join("discovered.hcl");
    let path = written.to_string_lossy().to_string();
    run(&stack, &["discover", "-e", "dev", "--write", &path])?;
    let text = std::fs::read_to_string(&written)?;
    for expected in expected {
        assert!(text.contains(expected), "{expected} not in\n{text}");
    }
    assert!(!text.contains("# Not declared here"), "{text}");
    let plan = plan_json(&stack)?;
    assert_eq!(
        plan["summary"],
        json!({"create": 0, "update": 0, "replace": 0, "delete": 0}),
        "{text}\n{plan}"
    );
    let imports: BTreeSet<String> = plan["imports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|entry| entry["id"].as_str().map(str::to_string))
        .collect();
    assert_eq!(imports, before, "{plan}");
    for address in imported {
        let id = state.get(*address).ok_or(*address)?;
        assert!(
            imports.contains(id),
            "{address} `{id}` not imported: {plan}"
        );
    }
    run(&stack, &["apply", "-e", "dev", "--auto-approve"])?;
    assert_eq!(ids(&stack)?, before);
    let plan = run(&stack, &["plan", "-e", "dev"])?;
    assert!(plan.contains("No changes."), "{plan}");
    let listed = run(&stack, &["discover", "-e", "dev"])?;
    assert!(listed.contains("Nothing unowned found."), "{listed}");
    Ok(())
}

/// Issue 17: a hosted zone and an alias record nobody owns come back from `discover
/// --write` as a `dns_zone` and a `dns_record` naming the zone and the balancer by
/// reference; the record takes no tags, so it is imported with its zone, whose ownership
/// it follows.
#[test]
fn discover_write_round_trips_a_zone_and_its_alias_record() -> TestResult {
    dns_round_trip(
        HEADER,
        &[
            "dns_zone \"site\" {\n  name = \"example.com\"\n}",
            "dns_record \"www\" {\n  zone   = dns_zone.site\n  name   = \"www\"\n  target = load_balancer.front\n}",
            "  to = dns_record.www\n",
        ],
        &["dns_zone.site[global]", "dns_record.www[global]"],
    )
}

/// Issue 17: with a `dr` block a record fails over: the primary record and the health check
/// watching the balancer come back as one `dns_record` block, whose target gives the check
/// its target.
#[test]
fn discover_write_round_trips_a_failover_record_and_its_health_check() -> TestResult {
    let header = HEADER.replace(
        "    zones = [\"us-east-1a\", \"us-east-1b\"]\n  }\n",
        "    zones = [\"us-east-1a\", \"us-east-1b\"]\n  }\n  dr {\n    region = \"us-west-2\"\n    zones  = [\"us-west-2a\", \"us-west-2b\"]\n    mode   = \"backup_restore\"\n  }\n",
    );
    dns_round_trip(
        &header,
        &[
            "dns_record \"www\" {\n  zone   = dns_zone.site\n  name   = \"www\"\n  target = load_balancer.front\n}",
            "  to = dns_record.www.primary\n",
            "  to = dns_record.www.health_check\n",
        ],
        &[
            "dns_zone.site[global]",
            "dns_record.www.primary[global]",
            "dns_record.www.health_check[global]",
        ],
    )
}

/// Issue 17: a group that runs its template's latest version (pinned to it by number) comes
/// back from `discover --write` without `template_version`, which a block defaults to the
/// template's latest: the plan right after changes nothing.
#[test]
fn discover_writes_no_template_version_for_a_group_on_its_template_s_latest() -> TestResult {
    let site = |image: &str, version: u32| {
        format!(
            r#"{HEADER}
network "main" {{
  cidr = "10.0.0.0/16"
  subnet "public" {{
    newbits = 8
    public  = true
  }}
}}

launch_template "web" {{
  image         = "{image}"
  instance_type = "t3.micro"
}}

autoscaling "web" {{
  template         = launch_template.web
  template_version = {version}
  subnets          = network.main.subnet.public
  min              = 1
  max              = 2
  desired          = 1
}}
"#
        )
    };
    let stack = Stack::from_text(&site("ami-12c6146b", 1))?;
    run(&stack, &["apply", "-e", "dev", "--auto-approve"])?;
    // A second version of the template, which the group then runs.
    std::fs::write(stack.path().join("main.hcl"), site("ami-03cf127a", 2))?;
    run(&stack, &["apply", "-e", "dev", "--auto-approve"])?;
    let before = ids(&stack)?;
    for address in ["network.main", "launch_template.web", "autoscaling.web"] {
        run(&stack, &["state", "rm", "-e", "dev", address])?;
    }
    std::fs::write(stack.path().join("main.hcl"), HEADER)?;

    let written = stack.path().join("discovered.hcl");
    let path = written.to_string_lossy().to_string();
    run(&stack, &["discover", "-e", "dev", "--write", &path])?;
    let text = std::fs::read_to_string(&written)?;
    assert!(
        text.contains("  template = launch_template.web\n  subnets  = network.main.subnet.public"),
        "{text}"
    );
    assert!(
        text.contains("  image         = \"ami-03cf127a\""),
        "{text}"
    );
    assert!(!text.contains("template_version"), "{text}");
    let plan = plan_json(&stack)?;
    assert_eq!(
        plan["summary"],
        json!({"create": 0, "update": 0, "replace": 0, "delete": 0}),
        "{text}\n{plan}"
    );
    run(&stack, &["apply", "-e", "dev", "--auto-approve"])?;
    assert_eq!(ids(&stack)?, before);
    let plan = run(&stack, &["plan", "-e", "dev"])?;
    assert!(plan.contains("No changes."), "{plan}");
    Ok(())
}

/// Two balancers, the second with two target groups, and a group registered in one target
/// group of each.
const TWO_BALANCERS: &str = r#"
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

launch_template "web" {
  image         = "ami-12c6146b"
  instance_type = "t3.micro"
}

load_balancer "front" {
  network   = network.main
  subnets   = network.main.subnet.public
  firewalls = [firewall.lb]
  listener {
    port     = 80
    protocol = "HTTP"
  }
}

load_balancer "api" {
  network   = network.main
  subnets   = network.main.subnet.public
  firewalls = [firewall.lb]
  target_group "blue" {
    port = 8080
  }
  target_group "green" {
    port = 8081
  }
  listener {
    port     = 80
    protocol = "HTTP"
    forward  = { blue = 100, green = 0 }
  }
}

autoscaling "web" {
  template      = launch_template.web
  subnets       = network.main.subnet.public
  target_groups = [load_balancer.front, load_balancer.api.target_group.blue]
  min           = 1
  max           = 2
}
"#;

/// Issue 17: `target_groups` registers a group in several target groups (Terraform's
/// `target_group_arns`): the apply registers it in each, the plan after is empty, and
/// `discover --write` writes the list back, so the round trip changes nothing.
#[test]
fn a_group_registers_in_several_target_groups_and_discover_writes_them_back() -> TestResult {
    let stack = Stack::from_text(&format!("{HEADER}{TWO_BALANCERS}"))?;
    run(&stack, &["apply", "-e", "dev", "--auto-approve"])?;
    let state = stack.state_resources("dev")?;
    let group = state.get("autoscaling.web[us-east-1]").ok_or("no group")?;
    let live = cairn::provider::sim::SimCloud::open(&stack.cloud_path())?
        .resource(group)?
        .ok_or("the group is not in the cloud")?;
    let registered: BTreeSet<&str> = live.attributes["target_group_ids"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let expected: BTreeSet<&str> = [
        "load_balancer.front.target_group.default[us-east-1]",
        "load_balancer.api.target_group.blue[us-east-1]",
    ]
    .iter()
    .filter_map(|address| state.get(*address).map(String::as_str))
    .collect();
    assert_eq!(expected.len(), 2, "{state:?}");
    assert_eq!(registered, expected);
    assert_eq!(live.attributes["health_check_type"], json!("ELB"));
    let plan = run(&stack, &["plan", "-e", "dev"])?;
    assert!(plan.contains("No changes."), "{plan}");

    let before = ids(&stack)?;
    for address in [
        "network.main",
        "firewall.lb",
        "launch_template.web",
        "load_balancer.front",
        "load_balancer.api",
        "autoscaling.web",
    ] {
        run(&stack, &["state", "rm", "-e", "dev", address])?;
    }
    std::fs::write(stack.path().join("main.hcl"), HEADER)?;
    let written = stack.path().join("discovered.hcl");
    let path = written.to_string_lossy().to_string();
    run(&stack, &["discover", "-e", "dev", "--write", &path])?;
    let text = std::fs::read_to_string(&written)?;
    assert!(
        text.contains(
            "  target_groups = [load_balancer.api.target_group.blue, load_balancer.front]\n"
        ),
        "{text}"
    );
    let plan = plan_json(&stack)?;
    assert_eq!(
        plan["summary"],
        json!({"create": 0, "update": 0, "replace": 0, "delete": 0}),
        "{text}\n{plan}"
    );
    run(&stack, &["apply", "-e", "dev", "--auto-approve"])?;
    assert_eq!(ids(&stack)?, before);
    let plan = run(&stack, &["plan", "-e", "dev"])?;
    assert!(plan.contains("No changes."), "{plan}");
    Ok(())
}

/// `load_balancer` and `target_groups` both say where a group registers: one of them, at
/// the second's line; a balancer of several target groups in the list names them.
#[test]
fn target_groups_beside_load_balancer_or_naming_a_balancer_of_several_is_an_error() -> TestResult {
    let both = TWO_BALANCERS.replace(
        "  target_groups = [",
        "  load_balancer = load_balancer.front\n  target_groups = [",
    );
    let stack = Stack::from_text(&format!("{HEADER}{both}"))?;
    let output = stack.cairn(&["plan", "-e", "dev"])?.output()?;
    let error = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(!output.status.success(), "{error}");
    assert!(
        error.contains("`load_balancer` and `target_groups` both say where the group registers"),
        "{error}"
    );
    assert!(error.contains("main.hcl:"), "{error}");

    let several =
        TWO_BALANCERS.replace("load_balancer.api.target_group.blue]", "load_balancer.api]");
    let stack = Stack::from_text(&format!("{HEADER}{several}"))?;
    let output = stack.cairn(&["plan", "-e", "dev"])?.output()?;
    let error = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(!output.status.success(), "{error}");
    assert!(
        error.contains("the load balancer has 2 target groups; a group registers in one"),
        "{error}"
    );
    assert!(
        error.contains(
            "`load_balancer.api.target_group.blue` or `load_balancer.api.target_group.green`"
        ),
        "{error}"
    );
    Ok(())
}
