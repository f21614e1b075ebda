//! The built-in policy rules, one minimal stack that breaks each rule and one that keeps it,
//! through `ops::check` (the engine call behind `cairn check`), plus suppressions, modules,
//! the DR standby and the gate on apply through the CLI.

mod common;

use cairn::ops::{self, CheckOutcome, CheckRequest};
use cairn::policy::{Finding, Severity};
use common::{Stack, TestResult, stderr_of, stdout_of};

const HEADER: &str = r#"stack "policy" {}

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
  subnet "private" {
    newbits = 8
  }
}
"#;

/// A production environment that keeps every production rule, for the rules that need one.
const PRODUCTION: &str = r#"stack "policy" {}

environment "production" {
  cloud = "sim"
  region "us-east-1" {
    zones = ["us-east-1a", "us-east-1b"]
  }
  dr {
    region = "us-west-2"
    zones  = ["us-west-2a", "us-west-2b"]
  }
}

network "main" {
  cidr = "10.0.0.0/16"
  subnet "private" {
    newbits = 8
  }
}
"#;

const TEMPLATE: &str = r#"
launch_template "web" {
  image         = "ami-12c6146b"
  instance_type = "t3.micro"
  http_tokens   = "required"
}
"#;

async fn outcome(stack: &Stack, environments: &[&str]) -> Result<CheckOutcome, common::Error> {
    let request = CheckRequest {
        dir: stack.path().to_path_buf(),
        environments: environments.iter().map(ToString::to_string).collect(),
        ..CheckRequest::default()
    };
    Ok(ops::check(&request).await?)
}

/// `RULE FILE:LINE:COLUMN` of every finding of `environment` in a stack of `text`.
async fn findings_of(text: &str, environment: &str) -> Result<Vec<String>, common::Error> {
    let stack = Stack::from_text(text)?;
    let outcome = outcome(&stack, &[environment]).await?;
    Ok(outcome.findings().map(short).collect())
}

fn short(finding: &Finding) -> String {
    match &finding.location {
        Some(located) => {
            let file = located.location.file.rsplit('/').next().unwrap_or_default();
            format!(
                "{} {file}:{}:{}",
                finding.rule, located.location.line, located.location.column
            )
        }
        None => finding.rule.to_string(),
    }
}

fn with_rule<'a>(found: &'a [String], rule: &str) -> Vec<&'a str> {
    found
        .iter()
        .filter(|line| line.starts_with(rule))
        .map(String::as_str)
        .collect()
}

/// The line number of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|line| line.contains(needle))
        .map_or(0, |index| index + 1)
}

fn firewall(port: &str, from: &str) -> String {
    format!(
        r#"
firewall "edge" {{
  network = network.main
  ingress {{
    protocol = "tcp"
    ports    = 443
    from     = ["0.0.0.0/0"]
  }}
  ingress {{
    protocol = "tcp"
    ports    = {port}
    from     = [{from}]
  }}
}}
"#
    )
}

/// `rule` is found at the second `ingress` block of `firewall(port, from)` (the one with
/// `ports = {port}`), and not when that block admits `kept_from` instead.
async fn assert_ingress_rule(rule: &str, port: &str, from: &str, kept_from: &str) -> TestResult {
    let text = format!("{HEADER}{}", firewall(port, from));
    let found = findings_of(&text, "dev").await?;
    let line = line_of(&text, &format!("ports    = {port}")) - 2;
    assert_eq!(
        with_rule(&found, rule),
        [format!("{rule} main.hcl:{line}:3")]
    );
    let text = format!("{HEADER}{}", firewall(port, kept_from));
    let found = findings_of(&text, "dev").await?;
    assert!(with_rule(&found, rule).is_empty(), "{found:?}");
    Ok(())
}

#[tokio::test]
async fn ssh_open_to_the_world_is_an_error_at_its_ingress_block() -> TestResult {
    assert_ingress_rule("CAIRN001", "22", "\"0.0.0.0/0\"", "\"10.20.0.0/16\"").await
}

#[tokio::test]
async fn ssh_inside_a_world_open_port_range_is_found_too() -> TestResult {
    let text = format!("{HEADER}{}", firewall("\"20-25\"", "\"::/0\""));
    assert_eq!(
        with_rule(&findings_of(&text, "dev").await?, "CAIRN001").len(),
        1
    );
    Ok(())
}

#[tokio::test]
async fn rdp_open_to_the_world_is_an_error() -> TestResult {
    assert_ingress_rule("CAIRN002", "3389", "\"0.0.0.0/0\"", "\"10.20.0.0/16\"").await
}

#[tokio::test]
async fn a_rule_admitting_a_whole_network_is_a_warning() -> TestResult {
    assert_ingress_rule("CAIRN015", "8080", "\"10.0.0.0/16\"", "\"10.0.3.0/24\"").await
}

#[tokio::test]
async fn every_port_open_to_the_world_is_an_error_but_egress_is_not() -> TestResult {
    let open = r#"
firewall "any" {
  network = network.main
  ingress {
    protocol = "all"
    from     = ["::/0"]
  }
}
"#;
    let text = format!("{HEADER}{open}");
    let found = findings_of(&text, "dev").await?;
    let line = line_of(&text, "protocol = \"all\"") - 1;
    assert_eq!(
        with_rule(&found, "CAIRN003"),
        [format!("CAIRN003 main.hcl:{line}:3")]
    );
    let egress = open.replace("ingress", "egress").replace("from", "to  ");
    let found = findings_of(&format!("{HEADER}{egress}"), "dev").await?;
    assert!(with_rule(&found, "CAIRN003").is_empty(), "{found:?}");
    Ok(())
}

#[tokio::test]
async fn unencrypted_volumes_and_template_volumes_are_errors() -> TestResult {
    let blocks = r#"
volume "data" {
  zone    = region.zones[0]
  size_gb = 10
}

launch_template "web" {
  image         = "ami-12c6146b"
  instance_type = "t3.micro"
  http_tokens   = "required"
  volume {
    size_gb   = 8
    encrypted = true
  }
  volume {
    size_gb = 20
  }
}
"#;
    let text = format!("{HEADER}{blocks}");
    let found = findings_of(&text, "dev").await?;
    let volume = line_of(&text, "volume \"data\"");
    let second = line_of(&text, "size_gb = 20") - 1;
    assert_eq!(
        with_rule(&found, "CAIRN004"),
        [
            format!("CAIRN004 main.hcl:{volume}:8"),
            format!("CAIRN004 main.hcl:{second}:3"),
        ]
    );
    let encrypted = blocks
        .replace("size_gb = 10", "size_gb   = 10\n  encrypted = true")
        .replace("size_gb = 20", "size_gb   = 20\n    encrypted = true");
    let found = findings_of(&format!("{HEADER}{encrypted}"), "dev").await?;
    assert!(with_rule(&found, "CAIRN004").is_empty(), "{found:?}");
    Ok(())
}

#[tokio::test]
async fn a_template_that_allows_imds_v1_is_a_warning() -> TestResult {
    let optional = TEMPLATE.replace("\"required\"", "\"optional\"");
    let text = format!("{HEADER}{optional}");
    let stack = Stack::from_text(&text)?;
    let outcome = outcome(&stack, &["dev"]).await?;
    let found: Vec<&Finding> = outcome
        .findings()
        .filter(|finding| finding.rule == "CAIRN005")
        .collect();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].severity, Severity::Warning);
    assert_eq!(
        found[0].location.as_ref().map(|at| at.location.line),
        Some(line_of(&text, "http_tokens"))
    );
    let found = findings_of(&format!("{HEADER}{TEMPLATE}"), "dev").await?;
    assert!(with_rule(&found, "CAIRN005").is_empty(), "{found:?}");
    Ok(())
}

fn group(subnets: &str, min: u32, extra: &str) -> String {
    format!(
        r#"
autoscaling "web" {{
  template = launch_template.web
  subnets  = {subnets}
  min      = {min}
  max      = 4
{extra}}}
"#
    )
}

#[tokio::test]
async fn a_group_in_public_subnets_is_a_warning_at_its_subnets() -> TestResult {
    let text = format!(
        "{HEADER}{TEMPLATE}{}",
        group("network.main.subnet.public", 2, "")
    );
    let found = findings_of(&text, "dev").await?;
    let line = line_of(&text, "subnets  = network.main.subnet.public");
    assert_eq!(
        with_rule(&found, "CAIRN006"),
        [format!("CAIRN006 main.hcl:{line}:3")]
    );
    let text = format!(
        "{HEADER}{TEMPLATE}{}",
        group("network.main.subnet.private", 2, "")
    );
    assert!(with_rule(&findings_of(&text, "dev").await?, "CAIRN006").is_empty());
    Ok(())
}

/// A load balancer over the public subnets, forwarding port 80 to the group's instances.
const LOAD_BALANCER: &str = r#"
firewall "lb" {
  network = network.main
  ingress {
    protocol = "tcp"
    ports    = 80
    from     = ["0.0.0.0/0"]
  }
}

load_balancer "web" {
  network   = network.main
  subnets   = network.main.subnet.public
  firewalls = [firewall.lb]
  listener {
    port = 80
  }
}
"#;

/// Issue 10: a group whose users come through a load balancer is not reported for its
/// public subnets (CAIRN006 treated every group as exposed before load balancers existed).
#[tokio::test]
async fn a_group_behind_a_load_balancer_is_not_exposed_by_its_public_subnets() -> TestResult {
    let behind = group(
        "network.main.subnet.public",
        2,
        "  load_balancer = load_balancer.web\n",
    );
    let text = format!("{HEADER}{TEMPLATE}{LOAD_BALANCER}{behind}");
    assert!(with_rule(&findings_of(&text, "dev").await?, "CAIRN006").is_empty());
    // The balancer alone does not shelter a group that is not registered in it.
    let text = format!(
        "{HEADER}{TEMPLATE}{LOAD_BALANCER}{}",
        group("network.main.subnet.public", 2, "")
    );
    assert_eq!(
        with_rule(&findings_of(&text, "dev").await?, "CAIRN006").len(),
        1
    );
    Ok(())
}

#[tokio::test]
async fn a_secret_in_user_data_tags_or_a_default_is_an_error_and_never_shown() -> TestResult {
    let stack = Stack::from_text(&format!(
        r#"{HEADER}
variable "api_token" {{
  type    = string
  default = "0123456789abcdef"
}}

launch_template "web" {{
  image         = "ami-12c6146b"
  instance_type = "t3.micro"
  http_tokens   = "required"
  user_data     = file("boot.sh")
}}

volume "data" {{
  zone      = region.zones[0]
  size_gb   = 10
  encrypted = true
  tags      = {{ note = "password=hunter22" }}
}}
"#
    ))?;
    std::fs::write(
        stack.path().join("boot.sh"),
        "#!/bin/sh\nexport AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n",
    )?;
    let outcome = outcome(&stack, &["dev"]).await?;
    let found: Vec<&Finding> = outcome
        .findings()
        .filter(|finding| finding.rule == "CAIRN007")
        .collect();
    let messages: Vec<&str> = found
        .iter()
        .map(|finding| finding.message.as_str())
        .collect();
    assert_eq!(
        messages,
        [
            "variable `api_token` is named as a secret and has its value written as a default",
            "the user data of `launch_template.web` holds what looks like an AWS access key id",
            "a tag of `volume.data` holds what looks like a password",
        ]
    );
    let shown = serde_json::to_string(&outcome)?;
    for secret in ["AKIAIOSFODNN7EXAMPLE", "hunter22", "0123456789abcdef"] {
        assert!(!shown.contains(secret), "{secret} shown in {shown}");
    }
    Ok(())
}

#[tokio::test]
async fn values_that_are_not_secrets_pass() -> TestResult {
    let stack = Stack::from_text(&format!(
        r##"{HEADER}
variable "image" {{
  type    = string
  default = "ami-12c6146b"
}}

launch_template "web" {{
  image         = var.image
  instance_type = "t3.micro"
  http_tokens   = "required"
  user_data     = "#!/bin/sh\nexport DB_PASSWORD=$DB_PASSWORD\n"
}}
"##
    ))?;
    let outcome = outcome(&stack, &["dev"]).await?;
    assert!(outcome.findings().all(|finding| finding.rule != "CAIRN007"));
    Ok(())
}

#[tokio::test]
async fn a_sensitive_value_in_an_unmarked_output_is_an_error() -> TestResult {
    let blocks = r#"
variable "db_password" {
  type      = string
  sensitive = true
  default   = null
}

output "connection" {
  value = format("db:%s", var.db_password == null ? "" : var.db_password)
}
"#;
    let text = format!("{HEADER}{blocks}");
    let found = findings_of(&text, "dev").await?;
    let line = line_of(&text, "value = format");
    assert_eq!(
        with_rule(&found, "CAIRN008"),
        [format!("CAIRN008 main.hcl:{line}:3")]
    );
    let marked = blocks.replace("  value = format", "  sensitive = true\n  value = format");
    let found = findings_of(&format!("{HEADER}{marked}"), "dev").await?;
    assert!(with_rule(&found, "CAIRN008").is_empty(), "{found:?}");
    Ok(())
}

const ROLLOUT: &str = "  rollout {\n    strategy = \"canary\"\n  }\n";

#[tokio::test]
async fn a_production_group_below_two_instances_is_an_error_elsewhere_not() -> TestResult {
    let blocks = format!(
        "{TEMPLATE}{}",
        group("network.main.subnet.private", 1, ROLLOUT)
    );
    let text = format!("{PRODUCTION}{blocks}");
    let found = findings_of(&text, "production").await?;
    let line = line_of(&text, "min      = 1");
    assert_eq!(
        with_rule(&found, "CAIRN009"),
        [format!("CAIRN009 main.hcl:{line}:3")]
    );
    let two = blocks.replace("min      = 1", "min      = 2");
    let found = findings_of(&format!("{PRODUCTION}{two}"), "production").await?;
    assert!(found.is_empty(), "{found:?}");
    // Not production: the same group is fine in `dev`.
    let dev = format!("{HEADER}{blocks}");
    assert!(with_rule(&findings_of(&dev, "dev").await?, "CAIRN009").is_empty());
    Ok(())
}

#[tokio::test]
async fn protect_makes_an_environment_production() -> TestResult {
    let protected = HEADER.replace(
        "environment \"dev\" {\n  cloud = \"sim\"",
        "environment \"dev\" {\n  cloud   = \"sim\"\n  protect = true",
    );
    let found = findings_of(&protected, "dev").await?;
    assert_eq!(with_rule(&found, "CAIRN012").len(), 1, "{found:?}");
    Ok(())
}

#[tokio::test]
async fn a_production_group_in_one_zone_is_an_error() -> TestResult {
    let one_zone = PRODUCTION
        .replace(
            "zones = [\"us-east-1a\", \"us-east-1b\"]",
            "zones = [\"us-east-1a\"]",
        )
        .replace(
            "zones  = [\"us-west-2a\", \"us-west-2b\"]",
            "zones  = [\"us-west-2a\"]",
        );
    let text = format!(
        "{one_zone}{TEMPLATE}{}",
        group("network.main.subnet.private", 2, ROLLOUT)
    );
    let found = findings_of(&text, "production").await?;
    let line = line_of(&text, "subnets  =");
    assert_eq!(
        with_rule(&found, "CAIRN010"),
        [format!("CAIRN010 main.hcl:{line}:3")]
    );
    Ok(())
}

#[tokio::test]
async fn a_production_volume_needs_a_backup_copied_to_another_region() -> TestResult {
    let volume = "\nvolume \"data\" {\n  zone      = region.zones[0]\n  size_gb   = 10\n  encrypted = true\n  tags      = { tier = \"data\" }\n}\n";
    let local_only = "\nbackup_policy \"daily\" {\n  select = { tier = \"data\" }\n  every  = \"24h\"\n  retain = 7\n}\n";
    let text = format!("{PRODUCTION}{volume}");
    let found = findings_of(&text, "production").await?;
    let line = line_of(&text, "volume \"data\"");
    assert_eq!(
        with_rule(&found, "CAIRN011"),
        [format!("CAIRN011 main.hcl:{line}:8")]
    );
    let stack = Stack::from_text(&format!("{PRODUCTION}{volume}{local_only}"))?;
    let outcome = outcome(&stack, &["production"]).await?;
    let messages: Vec<&str> = outcome
        .findings()
        .map(|finding| finding.message.as_str())
        .collect();
    assert_eq!(
        messages,
        ["`volume.data` is backed up by `daily` without a copy in another region (`copy_to`)"]
    );
    let copied = local_only.replace("retain = 7", "retain  = 7\n  copy_to = env.dr.region");
    let found = findings_of(&format!("{PRODUCTION}{volume}{copied}"), "production").await?;
    assert!(found.is_empty(), "{found:?}");
    Ok(())
}

#[tokio::test]
async fn production_without_a_dr_block_is_an_error_at_the_environment() -> TestResult {
    let text = PRODUCTION.replace(
        "  dr {\n    region = \"us-west-2\"\n    zones  = [\"us-west-2a\", \"us-west-2b\"]\n  }\n",
        "",
    );
    let found = findings_of(&text, "production").await?;
    let line = line_of(&text, "environment \"production\"");
    assert_eq!(found, [format!("CAIRN012 main.hcl:{line}:13")]);
    assert!(findings_of(PRODUCTION, "production").await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn a_production_group_without_a_rollout_is_a_warning() -> TestResult {
    let text = format!(
        "{PRODUCTION}{TEMPLATE}{}",
        group("network.main.subnet.private", 2, "")
    );
    let found = findings_of(&text, "production").await?;
    let line = line_of(&text, "autoscaling \"web\"");
    assert_eq!(found, [format!("CAIRN013 main.hcl:{line}:13")]);
    Ok(())
}

/// An `all_at_once` rollout is what a group without a block does (the engine drives
/// nothing), so CAIRN013 warns about it too; a rolling one satisfies it.
#[tokio::test]
async fn a_production_group_rolled_out_all_at_once_is_a_warning_a_rolling_one_is_not() -> TestResult
{
    let all_at_once = "  rollout {\n    strategy = \"all_at_once\"\n  }\n";
    let text = format!(
        "{PRODUCTION}{TEMPLATE}{}",
        group("network.main.subnet.private", 2, all_at_once)
    );
    let found = findings_of(&text, "production").await?;
    let line = line_of(&text, "autoscaling \"web\"");
    assert_eq!(found, [format!("CAIRN013 main.hcl:{line}:13")]);
    let rolling = "  rollout {\n    strategy = \"rolling\"\n  }\n";
    let text = format!(
        "{PRODUCTION}{TEMPLATE}{}",
        group("network.main.subnet.private", 2, rolling)
    );
    assert!(findings_of(&text, "production").await?.is_empty());
    Ok(())
}

/// A production group behind a load balancer needs an alarm on itself or on its balancer
/// (CAIRN014); either kind of alarm keeps the rule, a group without a balancer needs none.
#[tokio::test]
async fn a_production_group_behind_a_load_balancer_without_an_alarm_is_a_warning() -> TestResult {
    let production = PRODUCTION.replace(
        "  subnet \"private\" {",
        "  subnet \"public\" {\n    newbits = 8\n    public  = true\n  }\n  subnet \"private\" {",
    );
    let behind = group(
        "network.main.subnet.private",
        2,
        &format!("  load_balancer = load_balancer.web\n{ROLLOUT}"),
    );
    let text = format!("{production}{TEMPLATE}{LOAD_BALANCER}{behind}");
    let found = findings_of(&text, "production").await?;
    let line = line_of(&text, "load_balancer = load_balancer.web");
    assert_eq!(
        with_rule(&found, "CAIRN014"),
        [format!("CAIRN014 main.hcl:{line}:3")]
    );
    for alarm in [
        "alarm \"cpu\" {\n  autoscaling = autoscaling.web\n  metric      = \"CPUUtilization\"\n  above       = 80\n}\n",
        "alarm \"errors\" {\n  load_balancer = load_balancer.web\n  metric        = \"HTTPCode_Target_5XX_Count\"\n  statistic     = \"Sum\"\n  above         = 10\n}\n",
    ] {
        let watched = format!("{text}\n{alarm}");
        let found = findings_of(&watched, "production").await?;
        assert!(
            with_rule(&found, "CAIRN014").is_empty(),
            "{alarm}: {found:?}"
        );
    }
    // Not behind a balancer: nothing to watch for this rule.
    let alone = format!(
        "{production}{TEMPLATE}{}",
        group("network.main.subnet.private", 2, ROLLOUT)
    );
    assert!(with_rule(&findings_of(&alone, "production").await?, "CAIRN014").is_empty());
    Ok(())
}

#[tokio::test]
async fn production_running_another_image_than_staging_is_a_warning() -> TestResult {
    let environments = |production_image: &str| {
        format!(
            r#"stack "policy" {{}}

environment "staging" {{
  cloud = "sim"
  region "us-east-1" {{
    zones = ["us-east-1a", "us-east-1b"]
  }}
  vars = {{ image = "ami-12c6146b" }}
}}

environment "production" {{
  cloud = "sim"
  region "us-east-1" {{
    zones = ["us-east-1a", "us-east-1b"]
  }}
  dr {{
    region = "us-west-2"
    zones  = ["us-west-2a", "us-west-2b"]
  }}
  vars = {{ image = "{production_image}" }}
}}

launch_template "web" {{
  image         = env.vars.image
  instance_type = "t3.micro"
  http_tokens   = "required"
}}
"#
        )
    };
    let stack = Stack::from_text(&environments("ami-03cf127a"))?;
    let outcome = outcome(&stack, &["production"]).await?;
    let messages: Vec<&str> = outcome
        .findings()
        .map(|finding| finding.message.as_str())
        .collect();
    assert_eq!(
        messages,
        [
            "`launch_template.web` runs `ami-03cf127a` in production but `ami-12c6146b` in `staging` (us-east-1)"
        ]
    );
    let found = findings_of(&environments("ami-12c6146b"), "production").await?;
    assert!(found.is_empty(), "{found:?}");
    Ok(())
}

#[tokio::test]
async fn findings_inside_a_module_name_the_call_site() -> TestResult {
    let stack = Stack::from_text(&format!(
        "{HEADER}\nmodule \"edge\" {{\n  source  = \"./modules/edge\"\n  network = network.main\n}}\n"
    ))?;
    let module = stack.path().join("modules/edge");
    std::fs::create_dir_all(&module)?;
    std::fs::write(
        module.join("main.hcl"),
        "variable \"network\" {}\n\nfirewall \"ssh\" {\n  network = var.network\n  ingress {\n    protocol = \"tcp\"\n    ports    = 22\n    from     = [\"0.0.0.0/0\"]\n  }\n}\n",
    )?;
    let outcome = outcome(&stack, &["dev"]).await?;
    let found: Vec<&Finding> = outcome.findings().collect();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(short(found[0]), "CAIRN001 main.hcl:5:3");
    assert!(
        found[0]
            .location
            .as_ref()
            .is_some_and(|at| at.location.file.ends_with("modules/edge/main.hcl"))
    );
    let sites: Vec<(String, usize)> = found[0]
        .call_sites
        .iter()
        .map(|site| (site.call.clone(), site.location.line))
        .collect();
    assert_eq!(
        sites,
        [("module \"edge\"".to_string(), HEADER.lines().count() + 2)]
    );
    assert_eq!(
        found[0]
            .addresses
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["module.edge.firewall.ssh[us-east-1]"]
    );
    Ok(())
}

#[tokio::test]
async fn the_dr_standby_is_checked_under_its_own_addresses() -> TestResult {
    let pilot_light = PRODUCTION.replace(
        "    zones  = [\"us-west-2a\", \"us-west-2b\"]\n",
        "    zones  = [\"us-west-2a\", \"us-west-2b\"]\n    mode   = \"pilot_light\"\n",
    );
    let stack = Stack::from_text(&format!("{pilot_light}{}", firewall("22", "\"0.0.0.0/0\"")))?;
    let outcome = outcome(&stack, &["production"]).await?;
    let found: Vec<&Finding> = outcome.findings().collect();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0]
            .addresses
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["firewall.edge[us-east-1]", "firewall.edge[us-west-2]"]
    );
    Ok(())
}

#[tokio::test]
async fn an_ignore_block_with_a_reason_suppresses_and_an_unused_one_warns() -> TestResult {
    let suppressed = HEADER.replace(
        "    zones = [\"us-east-1a\", \"us-east-1b\"]\n  }\n}",
        "    zones = [\"us-east-1a\", \"us-east-1b\"]\n  }\n  policy {\n    ignore \"CAIRN001\" {\n      reason    = \"reached through the office VPN only\"\n      addresses = [\"firewall.edge\"]\n    }\n    ignore \"CAIRN004\" {\n      reason = \"nothing to encrypt\"\n    }\n  }\n}",
    );
    let text = format!("{suppressed}{}", firewall("22", "\"0.0.0.0/0\""));
    let stack = Stack::from_text(&text)?;
    let outcome = outcome(&stack, &["dev"]).await?;
    let report = &outcome.reports[0];
    let kept: Vec<String> = report.findings.iter().map(short).collect();
    assert_eq!(
        kept,
        [format!(
            "CAIRN000 main.hcl:{}:12",
            line_of(&text, "ignore \"CAIRN004\"")
        )]
    );
    assert_eq!(report.findings[0].severity, Severity::Warning);
    assert_eq!(report.suppressed.len(), 1);
    assert_eq!(report.suppressed[0].finding.rule, "CAIRN001");
    assert_eq!(
        report.suppressed[0].reason,
        "reached through the office VPN only"
    );
    Ok(())
}

#[tokio::test]
async fn a_suppression_needs_a_reason_and_a_rule_that_exists() -> TestResult {
    let without_reason = HEADER.replace(
        "    zones = [\"us-east-1a\", \"us-east-1b\"]\n  }\n}",
        "    zones = [\"us-east-1a\", \"us-east-1b\"]\n  }\n  policy {\n    ignore \"CAIRN001\" {\n      addresses = [\"firewall.edge\"]\n    }\n  }\n}",
    );
    let stack = Stack::from_text(&without_reason)?;
    let error = outcome(&stack, &["dev"]).await.err().map(|e| e.to_string());
    assert!(
        error
            .as_deref()
            .is_some_and(|e| e.contains("missing required attribute `reason`")),
        "{error:?}"
    );
    let unknown = without_reason.replace(
        "ignore \"CAIRN001\" {\n      addresses",
        "ignore \"CAIRN01\" {\n      reason    = \"typo\"\n      addresses",
    );
    let stack = Stack::from_text(&unknown)?;
    let error = outcome(&stack, &["dev"]).await.err().map(|e| e.to_string());
    assert!(
        error.as_deref().is_some_and(
            |e| e.contains("unknown policy rule `CAIRN01`") && e.contains("did you mean")
        ),
        "{error:?}"
    );
    let comment = format!(
        "{HEADER}# cairn:ignore CAIRN001\n{}",
        firewall("22", "\"0.0.0.0/0\"").trim_start()
    );
    let stack = Stack::from_text(&comment)?;
    let error = outcome(&stack, &["dev"]).await.err().map(|e| e.to_string());
    assert!(
        error
            .as_deref()
            .is_some_and(|e| e.contains("the suppression of `CAIRN001` has no reason")),
        "{error:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_comment_above_a_block_or_a_module_call_suppresses_its_findings() -> TestResult {
    let text = format!(
        "{HEADER}# cairn:ignore CAIRN001: the edge firewall is a honeypot\n{}",
        firewall("22", "\"0.0.0.0/0\"").trim_start()
    );
    let stack = Stack::from_text(&text)?;
    let outcome = outcome(&stack, &["dev"]).await?;
    assert_eq!(outcome.findings().count(), 0);
    assert_eq!(
        outcome.reports[0].suppressed[0].reason,
        "the edge firewall is a honeypot"
    );

    let stack = Stack::from_text(&format!(
        "{HEADER}\n// cairn:ignore CAIRN001: the module's bastion is a honeypot\nmodule \"edge\" {{\n  source  = \"./modules/edge\"\n  network = network.main\n}}\n"
    ))?;
    let module = stack.path().join("modules/edge");
    std::fs::create_dir_all(&module)?;
    std::fs::write(
        module.join("main.hcl"),
        "variable \"network\" {}\n\nfirewall \"ssh\" {\n  network = var.network\n  ingress {\n    protocol = \"tcp\"\n    ports    = 22\n    from     = [\"0.0.0.0/0\"]\n  }\n}\n",
    )?;
    let outcome = self::outcome(&stack, &["dev"]).await?;
    assert_eq!(outcome.findings().count(), 0);
    assert_eq!(outcome.reports[0].suppressed.len(), 1);
    Ok(())
}

#[tokio::test]
async fn an_unused_comment_is_reported_when_every_environment_is_checked() -> TestResult {
    let text = format!(
        "{HEADER}# cairn:ignore CAIRN002: no RDP here in fact\n{}",
        firewall("22", "\"10.1.0.0/16\"").trim_start()
    );
    let stack = Stack::from_text(&text)?;
    // One environment: a comment serves every environment, so it cannot be judged unused.
    assert_eq!(outcome(&stack, &["dev"]).await?.findings().count(), 0);
    let every = outcome(&stack, &[]).await?;
    let found: Vec<String> = every.findings().map(short).collect();
    assert_eq!(
        found,
        [format!(
            "CAIRN000 main.hcl:{}:1",
            line_of(&text, "cairn:ignore")
        )]
    );
    Ok(())
}

fn cli_stack() -> Result<Stack, common::Error> {
    Stack::fixture("policy_findings")
}

#[test]
fn check_text_output() -> TestResult {
    let stack = cli_stack()?;
    let output = stack.cairn(&["check", "."])?.output()?;
    assert_eq!(output.status.code(), Some(1), "{}", stderr_of(&output));
    insta::assert_snapshot!(stdout_of(&output));
    Ok(())
}

#[test]
fn check_exit_codes_follow_errors_and_strict() -> TestResult {
    let stack = Stack::from_text(&format!("{HEADER}{TEMPLATE}"))?;
    stack.cairn(&["check", "-e", "dev", "."])?.assert().code(0);
    let warned = Stack::from_text(&format!(
        "{HEADER}{}",
        TEMPLATE.replace("\"required\"", "\"optional\"")
    ))?;
    warned.cairn(&["check", "-e", "dev", "."])?.assert().code(0);
    warned
        .cairn(&["check", "--strict", "-e", "dev", "."])?
        .assert()
        .code(1);
    cli_stack()?
        .cairn(&["check", "-e", "dev", "."])?
        .assert()
        .code(1);
    Ok(())
}

/// Escapes the `]` in every copy of the SARIF schema's `language` pattern; returns how many.
fn escape_stray_bracket(value: &mut serde_json::Value) -> usize {
    const BROKEN: &str = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$";
    match value {
        serde_json::Value::Object(map) => {
            let mut count = 0;
            for (key, item) in map.iter_mut() {
                if key == "pattern" && item == BROKEN {
                    *item = serde_json::json!("^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}\\]?$");
                    count += 1;
                } else {
                    count += escape_stray_bracket(item);
                }
            }
            count
        }
        serde_json::Value::Array(items) => items.iter_mut().map(escape_stray_bracket).sum(),
        _ => 0,
    }
}

#[test]
fn check_sarif_is_valid_sarif_2_1_0() -> TestResult {
    let stack = cli_stack()?;
    let output = stack.cairn(&["check", "--sarif", "."])?.output()?;
    let sarif: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let mut schema: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/sarif/sarif-schema-2.1.0.json"))?;
    // The official schema's `language` patterns have a stray `]`, a literal to ECMAScript
    // regexes but an error to Rust's; escaped, they mean the same to both.
    let fixed = escape_stray_bracket(&mut schema);
    assert_eq!(fixed, 2, "the schema's two `language` patterns");
    let validator = jsonschema::draft7::new(&schema)?;
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|error| format!("{error} at {}", error.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let results = sarif["runs"][0]["results"].as_array().ok_or("no results")?;
    assert!(results.iter().any(|result| result["ruleId"] == "CAIRN001"
        && result["locations"][0]["physicalLocation"]["region"]["startLine"].is_u64()));
    // Not a SARIF document: the validator must say so.
    assert!(!validator.is_valid(&serde_json::json!({ "version": "2.1.0", "runs": "none" })));
    Ok(())
}

#[test]
fn check_json_lists_findings_by_environment() -> TestResult {
    let stack = cli_stack()?;
    let output = stack
        .cairn(&["check", "--json", "-e", "dev", "."])?
        .output()?;
    let json: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    assert_eq!(json["environments"][0]["environment"], "dev");
    let rules: Vec<&str> = json["environments"][0]["findings"]
        .as_array()
        .ok_or("no findings")?
        .iter()
        .filter_map(|finding| finding["rule"].as_str())
        .collect();
    assert_eq!(rules, ["CAIRN001", "CAIRN005", "CAIRN004"]);
    assert_eq!(json["summary"]["errors"], 2);
    Ok(())
}

#[test]
fn apply_refuses_policy_errors_unless_allowed_and_records_who_allowed_them() -> TestResult {
    let stack = cli_stack()?;
    let refused = stack
        .cairn(&["apply", "-e", "dev", "--auto-approve", "."])?
        .output()?;
    assert_eq!(refused.status.code(), Some(1));
    let text = stdout_of(&refused);
    assert!(text.contains("Plan: "), "the plan is still shown: {text}");
    assert!(text.contains("error[CAIRN001]"), "{text}");
    assert!(
        stderr_of(&refused).contains("apply refused: policy error(s) CAIRN001, CAIRN004"),
        "{}",
        stderr_of(&refused)
    );
    assert_eq!(stack.cairn_tagged_count()?, 0, "nothing was created");
    assert!(!stack.path().join(".cairn/audit.jsonl").exists());

    stack
        .cairn(&[
            "apply",
            "-e",
            "dev",
            "--auto-approve",
            "--allow",
            "CAIRN01",
            ".",
        ])?
        .assert()
        .code(1)
        .stderr(predicates::str::contains("unknown policy rule `CAIRN01`"));
    stack
        .cairn(&[
            "apply",
            "-e",
            "dev",
            "--auto-approve",
            "--allow",
            "CAIRN001",
            ".",
        ])?
        .assert()
        .code(1);
    stack
        .cairn(&[
            "apply",
            "-e",
            "dev",
            "--auto-approve",
            "--allow",
            "CAIRN001,CAIRN004",
            ".",
        ])?
        .assert()
        .success();
    let audit = std::fs::read_to_string(stack.path().join(".cairn/audit.jsonl"))?;
    let records: Vec<serde_json::Value> = audit
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    // The allowance, then the apply it let through (every apply is audited).
    assert_eq!(records.len(), 2, "{audit}");
    assert_eq!(records[1]["operation"], "apply");
    assert_eq!(records[1]["version"], 1);
    assert_eq!(records[0]["operation"], "apply --allow");
    assert_eq!(records[0]["environment"], "dev");
    assert_eq!(records[0]["outcome"], "allowed CAIRN001, CAIRN004");
    assert!(
        records[0]["actor"]
            .as_str()
            .is_some_and(|actor| actor.contains('@')),
        "{audit}"
    );
    let allowed: Vec<&str> = records[0]["allowed"]
        .as_array()
        .ok_or("no allowed list")?
        .iter()
        .filter_map(|finding| finding["rule"].as_str())
        .collect();
    assert_eq!(allowed, ["CAIRN001", "CAIRN004"]);
    Ok(())
}

#[test]
fn a_saved_plan_keeps_its_policy_errors() -> TestResult {
    let stack = cli_stack()?;
    let planned = stack
        .cairn(&["plan", "-e", "dev", "--out", "plan.json", "."])?
        .output()?;
    assert_eq!(planned.status.code(), Some(0), "{}", stderr_of(&planned));
    let text = stdout_of(&planned);
    assert!(text.contains("Policy: 2 errors, 1 warning."), "{text}");
    assert!(text.contains("warning[CAIRN005]"), "{text}");
    let json = stack
        .cairn(&["plan", "-e", "dev", "--json", "."])?
        .output()?;
    let json: serde_json::Value = serde_json::from_slice(&json.stdout)?;
    let rules: Vec<&str> = json["policy"]
        .as_array()
        .ok_or("no policy in the JSON plan")?
        .iter()
        .filter_map(|finding| finding["rule"].as_str())
        .collect();
    assert_eq!(rules, ["CAIRN001", "CAIRN005", "CAIRN004"]);
    stack
        .cairn(&["apply", "plan.json"])?
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "policy error(s) CAIRN001, CAIRN004",
        ));
    assert_eq!(stack.cairn_tagged_count()?, 0);
    stack
        .cairn(&["apply", "--allow", "CAIRN001,CAIRN004", "plan.json"])?
        .assert()
        .success();
    Ok(())
}

/// Regression: `cairn destroy` is never held back by policy errors, but the same destroy
/// planned with `cairn plan --destroy --out FILE` carried the findings and `cairn apply FILE`
/// refused it.
#[test]
fn a_saved_destroy_plan_is_not_held_back_by_policy_errors() -> TestResult {
    let stack = cli_stack()?;
    stack
        .cairn(&[
            "apply",
            "-e",
            "dev",
            "--auto-approve",
            "--allow",
            "CAIRN001,CAIRN004",
            ".",
        ])?
        .assert()
        .success();
    let planned = stack
        .cairn(&[
            "plan",
            "-e",
            "dev",
            "--destroy",
            "--out",
            "destroy.json",
            ".",
        ])?
        .output()?;
    assert_eq!(planned.status.code(), Some(0), "{}", stderr_of(&planned));
    assert!(
        !stdout_of(&planned).contains("Policy:"),
        "{}",
        stdout_of(&planned)
    );
    stack.cairn(&["apply", "destroy.json"])?.assert().success();
    assert_eq!(stack.cairn_tagged_count()?, 0, "the destroy was held back");
    Ok(())
}

#[test]
fn check_live_reports_drift_the_configuration_does_not_have() -> TestResult {
    let stack = Stack::from_text(&format!(
        "{HEADER}\nvolume \"data\" {{\n  zone      = region.zones[0]\n  size_gb   = 10\n  encrypted = true\n}}\n"
    ))?;
    stack
        .cairn(&["apply", "-e", "dev", "--auto-approve", "."])?
        .assert()
        .success();
    stack
        .cairn(&["check", "--live", "-e", "dev", "."])?
        .assert()
        .code(0);
    let id = stack.state_resources("dev")?["volume.data[us-east-1]"].clone();
    stack
        .cairn(&["sim", "set", &id, "encrypted", "false"])?
        .assert()
        .success();
    let output = stack
        .cairn(&["check", "--live", "--json", "-e", "dev", "."])?
        .output()?;
    assert_eq!(output.status.code(), Some(1), "{}", stderr_of(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let findings = json["environments"][0]["findings"]
        .as_array()
        .ok_or("no findings")?;
    assert_eq!(findings.len(), 1, "{json}");
    assert_eq!(findings[0]["rule"], "CAIRN004");
    assert_eq!(findings[0]["drift"], true);
    assert_eq!(json["environments"][0]["live"], true);
    // The configuration itself is still clean.
    stack.cairn(&["check", "-e", "dev", "."])?.assert().code(0);
    let text = stdout_of(
        &stack
            .cairn(&["check", "--live", "-e", "dev", "."])?
            .output()?,
    );
    assert!(
        text.contains("= drift: the cloud breaks this rule"),
        "{text}"
    );
    assert!(text.contains("1 from drift"), "{text}");
    Ok(())
}

#[test]
fn the_examples_pass_check_strict() -> TestResult {
    for example in ["quickstart", "webapp"] {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(example);
        let output = assert_cmd::Command::cargo_bin("cairn")?
            .args(["check", "--strict"])
            .arg(&dir)
            .env("NO_COLOR", "1")
            .output()?;
        assert_eq!(
            output.status.code(),
            Some(0),
            "{example}:\n{}{}",
            stdout_of(&output),
            stderr_of(&output)
        );
    }
    Ok(())
}

#[test]
fn the_rule_list_names_every_rule() -> TestResult {
    let stack = cli_stack()?;
    let output = stack.cairn(&["check", "--rules"])?.output()?;
    let text = stdout_of(&output);
    for rule in &cairn::policy::RULES {
        assert!(text.contains(rule.id), "{} missing:\n{text}", rule.id);
    }
    Ok(())
}
