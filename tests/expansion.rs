//! The contract expansion gives the planner and the providers: addresses, attribute shapes of
//! `model::Kind`'s table, names, tags, sensitivity, region overrides, and determinism.

use cairn::config::{LoadOptions, load};
use cairn::graph::{ExpandOptions, Expansion, RegionOverride, expand, to_dot};
use cairn::model::{Address, Kind, reference};
use proptest::prelude::*;
use serde_json::json;
use std::path::Path;

fn expansion(dir: &str, environment: &str, options: &ExpandOptions) -> Expansion {
    let config = load(Path::new(dir), &LoadOptions::default())
        .unwrap_or_else(|diagnostics| panic!("{dir} loads:\n{diagnostics}"));
    expand(&config, environment, options)
        .unwrap_or_else(|diagnostics| panic!("{dir} expands:\n{diagnostics}"))
}

fn id(address: &str) -> serde_json::Value {
    json!(reference(&Address::new(address), "id"))
}

#[test]
fn quickstart_resources_have_the_model_shapes() {
    let expansion = expansion("examples/quickstart", "dev", &ExpandOptions::default());
    let get = |address: &str| {
        expansion
            .resources
            .get(&Address::new(address))
            .unwrap_or_else(|| panic!("no resource {address}"))
    };

    let network = get("network.main[us-east-1]");
    assert_eq!(network.kind, Kind::Network);
    assert_eq!(network.region, "us-east-1");
    assert_eq!(network.attributes["cidr"], json!("10.0.0.0/16"));
    assert_eq!(network.tags["Name"], "quickstart-dev-main");
    assert_eq!(network.tags["team"], "platform");

    let private_b = get("network.main.subnet.private[us-east-1b]");
    assert_eq!(private_b.kind, Kind::Subnet);
    assert_eq!(private_b.attributes["cidr"], json!("10.0.17.0/24"));
    assert_eq!(private_b.attributes["zone"], json!("us-east-1b"));
    assert_eq!(private_b.attributes["public"], json!(false));
    assert_eq!(
        private_b.attributes["network_id"],
        id("network.main[us-east-1]")
    );
    assert_eq!(
        get("network.main.subnet.public[us-east-1a]").attributes["cidr"],
        json!("10.0.0.0/24")
    );

    let route_table = get("network.main.route_table.public[us-east-1]");
    assert_eq!(
        route_table.attributes["routes"],
        json!([{ "cidr": "0.0.0.0/0", "gateway_id": id("network.main.gateway[us-east-1]") }])
    );
    assert_eq!(
        route_table.attributes["subnet_ids"],
        json!([
            id("network.main.subnet.public[us-east-1a]"),
            id("network.main.subnet.public[us-east-1b]")
        ])
    );

    let app = get("firewall.app[us-east-1]");
    assert_eq!(app.kind, Kind::SecurityGroup);
    assert_eq!(app.attributes["name"], json!("quickstart-dev-app"));
    assert_eq!(
        app.attributes["description"],
        json!("Managed by Cairn: firewall.app")
    );
    assert_eq!(
        app.attributes["ingress"],
        json!([{
            "protocol": "tcp",
            "from_port": 8080,
            "to_port": 8081,
            "source_group_id": id("firewall.web[us-east-1]"),
        }])
    );
    assert_eq!(
        app.attributes["egress"],
        json!([{ "protocol": "all", "from_port": -1, "to_port": -1, "cidr": "0.0.0.0/0" }])
    );
    let web = get("firewall.web[us-east-1]");
    assert_eq!(
        web.attributes["ingress"],
        json!([
            { "protocol": "tcp", "from_port": 443, "to_port": 443, "cidr": "0.0.0.0/0" },
            { "protocol": "tcp", "from_port": 22, "to_port": 22, "cidr": "10.20.0.0/16" },
        ])
    );

    let template = get("launch_template.web[us-east-1]");
    assert_eq!(template.attributes["name"], json!("quickstart-dev-web"));
    assert_eq!(template.attributes["image"], json!("ami-12c6146b"));
    assert_eq!(template.attributes["instance_type"], json!("t3.micro"));
    assert_eq!(
        template.attributes["security_group_ids"],
        json!([id("firewall.web[us-east-1]"), id("firewall.app[us-east-1]")])
    );
    assert_eq!(template.attributes["user_data"], json!(null));
    assert_eq!(
        template.attributes["volumes"],
        json!([{ "device": "/dev/xvda", "size_gb": 20, "encrypted": true }])
    );

    let group = get("autoscaling.web[us-east-1]");
    assert_eq!(group.kind, Kind::AutoscalingGroup);
    assert_eq!(
        group.attributes["launch_template_id"],
        id("launch_template.web[us-east-1]")
    );
    assert_eq!(
        group.attributes["launch_template_version"],
        json!(reference(
            &Address::new("launch_template.web[us-east-1]"),
            "latest_version"
        ))
    );
    assert_eq!(group.attributes["min"], json!(1));
    assert_eq!(group.attributes["max"], json!(4));
    assert_eq!(group.attributes["desired"], json!(2));
    assert!(
        group
            .depends_on
            .contains(&Address::new("launch_template.web[us-east-1]"))
    );

    let policy = get("autoscaling.web.scaling.cpu[us-east-1]");
    assert_eq!(policy.kind, Kind::ScalingPolicy);
    assert_eq!(policy.attributes["name"], json!("quickstart-dev-web-cpu"));
    assert_eq!(
        policy.attributes["group_name"],
        id("autoscaling.web[us-east-1]")
    );
    assert_eq!(policy.attributes["target_cpu"], json!(70));

    // The group's name by reference: a blue-green rollout alternates it, and the output
    // names the group that serves (`quickstart-dev-web` once planned).
    assert_eq!(
        expansion.outputs["web_group"].value,
        json!(reference(
            &Address::new("autoscaling.web[us-east-1]"),
            "name"
        ))
    );
    assert_eq!(
        expansion.outputs["network_id"].value,
        id("network.main[us-east-1]")
    );
    assert_eq!(expansion.resources.len(), 12);
}

#[test]
fn webapp_tracks_sensitivity_policies_and_rollouts() {
    let expansion = expansion("examples/webapp", "production", &ExpandOptions::default());
    let template = &expansion.resources[&Address::new("module.web.launch_template.web[us-east-1]")];
    assert!(
        template.sensitive.contains("user_data"),
        "user_data reads var.db_password"
    );
    assert!(!template.sensitive.contains("image"));
    assert_eq!(
        template.attributes["name"],
        json!("webapp-production-web-web")
    );
    // A drill's cloud names carry its instance, so they never clash with the environment's.
    let drill = self::expansion(
        "examples/webapp",
        "production",
        &ExpandOptions {
            instance: Some("drill".to_string()),
            ..ExpandOptions::default()
        },
    );
    assert_eq!(
        drill.resources[&Address::new("module.web.launch_template.web[us-east-1]")].attributes["name"],
        json!("webapp-production-drill-web-web")
    );
    assert!(expansion.outputs["user_data"].sensitive);
    assert!(!expansion.outputs["web_group"].sensitive);

    let volume = &expansion.resources[&Address::new("volume.data[us-east-1]")];
    assert_eq!(
        serde_json::to_value(&volume.attributes).ok(),
        Some(json!({
            "zone": "us-east-1a",
            "size_gb": 100,
            "encrypted": true,
            "volume_type": "gp3",
            "snapshot_id": null,
        }))
    );
    assert_eq!(volume.tags["tier"], "data");
    assert_eq!(volume.tags["env"], "production");

    let [policy] = expansion.backup_policies.as_slice() else {
        panic!("one backup policy, got {:?}", expansion.backup_policies);
    };
    assert_eq!(policy.name, "daily");
    assert_eq!(policy.every_seconds, 86_400);
    assert_eq!(policy.retain, 14);
    assert_eq!(policy.copy_to.as_deref(), Some("us-west-2"));
    assert_eq!(policy.select.get("tier").map(String::as_str), Some("data"));

    let rollout = &expansion.rollouts[&Address::new("module.web.autoscaling.web[us-east-1]")];
    assert_eq!(rollout.checkpoints, [10, 50, 100]);
    assert_eq!(rollout.min_healthy, 90);

    let dr = expansion
        .environment
        .dr
        .as_ref()
        .map(|dr| dr.region.as_str());
    assert_eq!(dr, Some("us-west-2"));
    assert!(expansion.environment.protect);

    let staging = self::expansion("examples/webapp", "staging", &ExpandOptions::default());
    assert_eq!(
        staging.backup_policies[0].copy_to, None,
        "staging has no DR region"
    );
}

#[test]
fn region_override_keeps_addresses_and_maps_zones_by_position() {
    let options = ExpandOptions {
        region_override: Some(RegionOverride {
            region: "us-west-2".into(),
            zones: vec![
                "us-west-2a".into(),
                "us-west-2b".into(),
                "us-west-2c".into(),
            ],
        }),
        ..Default::default()
    };
    let drill = expansion("examples/webapp", "production", &options);
    let primary = expansion("examples/webapp", "production", &ExpandOptions::default());
    let rename = |address: &Address| {
        Address::new(
            address
                .as_str()
                .replace("[us-east-1]", "[us-west-2]")
                .replace("[us-east-1a]", "[us-west-2a]")
                .replace("[us-east-1b]", "[us-west-2b]")
                .replace("[us-east-1c]", "[us-west-2c]"),
        )
    };
    // Moved, the DNS name has no secondary record: the region it would fail over to is the
    // one it runs in.
    let expected: Vec<Address> = primary
        .resources
        .keys()
        .filter(|address| address.as_str() != "dns_record.www.secondary[global]")
        .map(rename)
        .collect();
    let found: Vec<Address> = drill.resources.keys().cloned().collect();
    assert_eq!(found, expected);
    let volume = &drill.resources[&Address::new("volume.data[us-west-2]")];
    assert_eq!(volume.attributes["zone"], json!("us-west-2a"));
    assert_eq!(volume.region, "us-west-2");
    assert_eq!(drill.environment.regions[0].name, "us-west-2");
}

/// Images are regional: a template redeployed into the DR region takes its image from a
/// per-region map (`lookup(var.images, region.name)`) or from the `image` of the region and
/// `dr` blocks (`region.image`).
#[test]
fn images_follow_the_region_through_a_map_or_the_region_blocks() {
    let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let text = r#"
stack "images" {}
variable "images" {
  default = { "us-east-1" = "ami-0000ea51", "us-west-2" = "ami-00003e51" }
}
environment "by_map" {
  cloud = "sim"
  region "us-east-1" { zones = ["us-east-1a"] }
  dr {
    region = "us-west-2"
    zones  = ["us-west-2a"]
  }
}
environment "by_block" {
  cloud = "sim"
  region "us-east-1" {
    zones = ["us-east-1a"]
    image = "ami-1000ea51"
  }
  dr {
    region = "us-west-2"
    zones  = ["us-west-2a"]
    image  = "ami-10003e51"
  }
}
launch_template "web" {
  image         = region.image == null ? lookup(var.images, region.name) : region.image
  instance_type = "t3.small"
}
"#;
    std::fs::write(dir.path().join("main.hcl"), text).unwrap_or_else(|error| panic!("{error}"));
    let config = load(dir.path(), &LoadOptions::default())
        .unwrap_or_else(|diagnostics| panic!("loads:\n{diagnostics}"));
    let image = |environment: &str, region: Option<&str>| {
        let options = ExpandOptions {
            region_override: region.map(|region| RegionOverride {
                region: region.to_string(),
                zones: vec![format!("{region}a")],
            }),
            ..Default::default()
        };
        let expansion = expand(&config, environment, &options)
            .unwrap_or_else(|diagnostics| panic!("expands:\n{diagnostics}"));
        let place = region.unwrap_or("us-east-1");
        expansion.resources[&Address::new(format!("launch_template.web[{place}]"))].attributes
            ["image"]
            .clone()
    };
    assert_eq!(image("by_map", None), json!("ami-0000ea51"));
    assert_eq!(image("by_map", Some("us-west-2")), json!("ami-00003e51"));
    assert_eq!(image("by_block", None), json!("ami-1000ea51"));
    assert_eq!(image("by_block", Some("us-west-2")), json!("ami-10003e51"));
}

/// The blocks of the quickstart, one string each, to spread over files in any order.
fn quickstart_blocks() -> Vec<String> {
    let text = std::fs::read_to_string("examples/quickstart/main.hcl").unwrap_or_default();
    let mut blocks = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        if line.starts_with('#') || (current.is_empty() && line.trim().is_empty()) {
            continue;
        }
        current.push_str(line);
        current.push('\n');
        if line == "}" {
            blocks.push(std::mem::take(&mut current));
        }
    }
    blocks
}

fn dot_of(blocks: &[String], file_names: &[String]) -> (String, Vec<String>) {
    let Ok(dir) = tempfile::tempdir() else {
        panic!("a temp dir");
    };
    for (block, name) in blocks.iter().zip(file_names.iter().cycle()) {
        let path = dir.path().join(format!("{name}.hcl"));
        let mut text = std::fs::read_to_string(&path).unwrap_or_default();
        text.push_str(block);
        text.push('\n');
        let Ok(()) = std::fs::write(&path, text) else {
            panic!("write {name}");
        };
    }
    let config = load(dir.path(), &LoadOptions::default())
        .unwrap_or_else(|diagnostics| panic!("loads:\n{diagnostics}"));
    let expansion = expand(&config, "dev", &ExpandOptions::default())
        .unwrap_or_else(|diagnostics| panic!("expands:\n{diagnostics}"));
    let attributes = expansion
        .resources
        .values()
        .map(|resource| {
            format!(
                "{} {:?} {:?}",
                resource.address, resource.attributes, resource.depends_on
            )
        })
        .collect();
    (to_dot(&expansion), attributes)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Same addresses, attributes and byte-identical DOT whatever the order of blocks and
    /// however they are spread over files.
    #[test]
    fn expansion_is_deterministic(
        order in Just((0..quickstart_blocks().len()).collect::<Vec<usize>>()).prop_shuffle(),
        names in proptest::collection::vec("[a-z]{1,6}", 1..5),
    ) {
        let blocks = quickstart_blocks();
        let reference = dot_of(&blocks, &["main".to_string()]);
        let shuffled: Vec<String> = order.iter().map(|index| blocks[*index].clone()).collect();
        let found = dot_of(&shuffled, &names);
        prop_assert_eq!(&found.0, &reference.0);
        prop_assert_eq!(&found.1, &reference.1);
        let again = dot_of(&shuffled, &names);
        prop_assert_eq!(found, again);
    }
}

/// A one-firewall stack on the sim whose `firewall "web"` body is `rules`.
fn firewall_stack(rules: &str) -> tempfile::TempDir {
    let directory = tempfile::tempdir().unwrap_or_else(|error| panic!("tempdir: {error}"));
    let text = format!(
        r#"stack "rules" {{}}
environment "dev" {{
  cloud = "sim"
  region "us-east-1" {{
    zones = ["us-east-1a"]
  }}
}}
network "main" {{
  cidr = "10.0.0.0/16"
}}
firewall "web" {{
  network = network.main
{rules}
}}
"#
    );
    std::fs::write(directory.path().join("main.hcl"), text)
        .unwrap_or_else(|error| panic!("write: {error}"));
    directory
}

fn expansion_errors(dir: &Path) -> String {
    let config = load(dir, &LoadOptions::default())
        .unwrap_or_else(|diagnostics| panic!("loads:\n{diagnostics}"));
    match expand(&config, "dev", &ExpandOptions::default()) {
        Ok(_) => panic!("expected the expansion to fail"),
        Err(diagnostics) => diagnostics.to_string(),
    }
}

#[test]
fn a_rule_carries_its_description_to_every_source_and_none_when_it_has_none() {
    let directory = firewall_stack(
        r#"  ingress {
    protocol    = "tcp"
    ports       = 443
    from        = ["0.0.0.0/0", "10.1.0.0/16"]
    description = "HTTPS (public and office)"
  }
  egress {
    protocol    = "all"
    to          = ["0.0.0.0/0"]
    description = ""
  }"#,
    );
    let dir = directory.path().to_string_lossy().into_owned();
    let expansion = expansion(&dir, "dev", &ExpandOptions::default());
    let web = expansion
        .resources
        .get(&Address::new("firewall.web[us-east-1]"))
        .unwrap_or_else(|| panic!("no firewall"));
    assert_eq!(
        web.attributes["ingress"],
        json!([
            { "protocol": "tcp", "from_port": 443, "to_port": 443, "cidr": "0.0.0.0/0",
              "description": "HTTPS (public and office)" },
            { "protocol": "tcp", "from_port": 443, "to_port": 443, "cidr": "10.1.0.0/16",
              "description": "HTTPS (public and office)" },
        ])
    );
    // An empty description is no description, as AWS reports it.
    assert_eq!(
        web.attributes["egress"],
        json!([{ "protocol": "all", "from_port": -1, "to_port": -1, "cidr": "0.0.0.0/0" }])
    );
}

#[test]
fn rule_descriptions_aws_refuses_or_that_contradict_each_other_are_reported_at_the_rule() {
    let directory = firewall_stack(
        r#"  ingress {
    protocol    = "tcp"
    ports       = 22
    from        = ["10.0.0.0/8"]
    description = "ssh <admins>"
  }"#,
    );
    let errors = expansion_errors(directory.path());
    assert!(errors.contains("holds `<`"), "{errors}");
    assert!(errors.contains("main.hcl:17:19"), "{errors}");

    let directory = firewall_stack(
        r#"  ingress {
    protocol    = "tcp"
    ports       = 22
    from        = ["10.0.0.0/8"]
    description = "ssh"
  }
  ingress {
    protocol    = "tcp"
    ports       = 22
    from        = ["10.0.0.0/8"]
    description = "admins"
  }"#,
    );
    let errors = expansion_errors(directory.path());
    assert!(
        errors.contains("this ingress rule is given twice with different descriptions"),
        "{errors}"
    );
}
