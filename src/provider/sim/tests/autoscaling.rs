//! Autoscaling groups launch and terminate instances to reach `desired`, spread across zones,
//! from the template version they reference; instances start pending and run on a later call.

use super::{Harness, TestResult, harness};
use crate::model::Kind;
use crate::provider::{LiveResource, Provider};
use serde_json::{Value, json};
use std::collections::BTreeMap;

struct Setup {
    subnets: Vec<LiveResource>,
    template: LiveResource,
}

async fn setup(h: &Harness) -> Result<Setup, Box<dyn std::error::Error>> {
    let network = h.network("us-east-1", "10.0.0.0/16").await?;
    let mut subnets = Vec::new();
    for (index, zone) in ["us-east-1a", "us-east-1b", "us-east-1c"]
        .iter()
        .enumerate()
    {
        subnets.push(
            h.subnet(&network, &format!("10.0.{index}.0/24"), zone)
                .await?,
        );
    }
    let template = h
        .create(
            "us-east-1",
            Kind::LaunchTemplate,
            "launch_template.web[us-east-1]",
            json!({ "name": "web", "image": "ami-00000001", "instance_type": "t3.small" }),
        )
        .await?;
    Ok(Setup { subnets, template })
}

fn instances(group: &LiveResource) -> Vec<Value> {
    group
        .attributes
        .get("instances")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn per_zone(group: &LiveResource) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for instance in instances(group) {
        let zone = instance
            .get("zone")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        *counts.entry(zone).or_default() += 1;
    }
    counts
}

#[tokio::test]
async fn a_group_spreads_instances_across_zones_and_they_start_running_later() -> TestResult {
    let h = harness();
    let setup = setup(&h).await?;
    let subnet_ids: Vec<&str> = setup
        .subnets
        .iter()
        .map(|subnet| subnet.id.as_str())
        .collect();
    let group = h.create("us-east-1", Kind::AutoscalingGroup, "autoscaling.web[us-east-1]", json!({
        "name": "web", "launch_template_id": setup.template.id, "launch_template_version": "$Latest",
        "subnet_ids": subnet_ids, "min": 1, "max": 10, "desired": 7,
    })).await?;
    assert_eq!(instances(&group).len(), 7);
    assert_eq!(
        per_zone(&group),
        BTreeMap::from([
            ("us-east-1a".to_string(), 3),
            ("us-east-1b".to_string(), 2),
            ("us-east-1c".to_string(), 2),
        ])
    );
    assert!(
        instances(&group)
            .iter()
            .all(|instance| instance["state"] == "pending")
    );
    assert!(
        instances(&group)
            .iter()
            .all(|instance| instance["launch_template_version"] == 1)
    );

    let read = h
        .provider
        .import("us-east-1", Kind::AutoscalingGroup, "web")
        .await?;
    assert!(
        instances(&read)
            .iter()
            .all(|instance| instance["state"] == "running")
    );

    // Group instances carry the group tag and no ownership tags, so a refresh of standalone
    // instances does not see them.
    assert_eq!(h.read("us-east-1", Kind::Instance).await?, Vec::new());
    let first = instances(&read)[0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let instance = h
        .provider
        .import("us-east-1", Kind::Instance, &first)
        .await?;
    assert_eq!(
        instance.tags,
        BTreeMap::from([("aws:autoscaling:groupName".to_string(), "web".to_string())])
    );
    Ok(())
}

#[tokio::test]
async fn scaling_in_keeps_zones_balanced_and_new_versions_launch_from_the_template() -> TestResult {
    let h = harness();
    let setup = setup(&h).await?;
    let subnet_ids: Vec<&str> = setup
        .subnets
        .iter()
        .map(|subnet| subnet.id.as_str())
        .collect();
    let group = h.create("us-east-1", Kind::AutoscalingGroup, "autoscaling.web[us-east-1]", json!({
        "name": "web", "launch_template_id": setup.template.id, "launch_template_version": "$Latest",
        "subnet_ids": subnet_ids, "min": 0, "max": 10, "desired": 6,
    })).await?;
    let smaller = h.update(&group, json!({ "desired": 4 })).await?;
    assert_eq!(instances(&smaller).len(), 4);
    let counts: Vec<usize> = per_zone(&smaller).into_values().collect();
    assert!(
        counts.iter().max().unwrap_or(&0) - counts.iter().min().unwrap_or(&0) <= 1,
        "{counts:?}"
    );

    h.update(&setup.template, json!({ "image": "ami-00000002" }))
        .await?;
    // A terminated instance is replaced from the latest version on a later call.
    let victim = instances(&smaller)[0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    h.provider
        .delete("us-east-1", Kind::Instance, &victim)
        .await?;
    let healed = h
        .provider
        .import("us-east-1", Kind::AutoscalingGroup, "web")
        .await?;
    assert_eq!(instances(&healed).len(), 4);
    assert!(
        instances(&healed)
            .iter()
            .all(|instance| instance["id"] != victim.as_str())
    );
    let versions: Vec<i64> = instances(&healed)
        .iter()
        .filter_map(|i| i["launch_template_version"].as_i64())
        .collect();
    assert_eq!(
        versions.iter().filter(|version| **version == 2).count(),
        1,
        "{versions:?}"
    );
    let replacement = instances(&healed)
        .into_iter()
        .find(|i| i["launch_template_version"] == 2)
        .ok_or("no replacement")?;
    let replacement = h
        .provider
        .import(
            "us-east-1",
            Kind::Instance,
            replacement["id"].as_str().unwrap_or_default(),
        )
        .await?;
    assert_eq!(
        replacement.attributes.get("image"),
        Some(&json!("ami-00000002"))
    );

    // Pinned version 1 launches version 1 even though 2 exists.
    let pinned = h
        .update(
            &healed,
            json!({ "launch_template_version": 1, "desired": 6 }),
        )
        .await?;
    assert_eq!(
        instances(&pinned)
            .iter()
            .filter(|i| i["launch_template_version"] == 1)
            .count(),
        5
    );
    Ok(())
}

#[tokio::test]
async fn deleting_a_group_terminates_its_instances_and_policies() -> TestResult {
    let h = harness();
    let setup = setup(&h).await?;
    h.create("us-east-1", Kind::AutoscalingGroup, "autoscaling.web[us-east-1]", json!({
        "name": "web", "launch_template_id": setup.template.id, "subnet_ids": [setup.subnets[0].id],
        "min": 2, "max": 2, "desired": 2,
    })).await?;
    h.create(
        "us-east-1",
        Kind::ScalingPolicy,
        "autoscaling.web.scaling.cpu[us-east-1]",
        json!({ "name": "cpu", "group_name": "web", "target_cpu": 70 }),
    )
    .await?;
    h.provider
        .delete("us-east-1", Kind::AutoscalingGroup, "web")
        .await?;
    assert_eq!(h.read("us-east-1", Kind::ScalingPolicy).await?, Vec::new());
    // With its instances gone the subnet can be deleted.
    h.provider
        .delete("us-east-1", Kind::Subnet, &setup.subnets[0].id)
        .await?;
    Ok(())
}
