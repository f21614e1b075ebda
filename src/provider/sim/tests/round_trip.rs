//! What a read returns right after a create is exactly what the create asked for plus the
//! kind's computed attributes, for every kind, so a plan right after an apply is empty.

use super::{Harness, TestResult, harness};
use crate::model::Kind;
use crate::provider::{CreateRequest, LiveResource, Provider};
use serde_json::json;
use std::collections::BTreeSet;

/// Creates, reads back by owner and by id, and compares attribute by attribute.
async fn round_trip(
    harness: &Harness,
    request: CreateRequest,
) -> Result<LiveResource, Box<dyn std::error::Error>> {
    let created = harness.provider.create(&request).await?;
    let listed = harness.read(&request.region, request.kind).await?;
    let read = listed
        .iter()
        .find(|live| live.id == created.id)
        .ok_or_else(|| format!("{} {} is not returned by read", request.kind, created.id))?;
    let imported = harness
        .provider
        .import(&request.region, request.kind, &created.id)
        .await?;

    for live in [&created, read, &imported] {
        let computed: BTreeSet<&str> = request.kind.computed_attributes().iter().copied().collect();
        let mut asked = live.attributes.clone();
        asked.retain(|name, _| !computed.contains(name.as_str()));
        assert_eq!(asked, request.attributes, "{} attributes", request.kind);
        for name in &computed {
            assert!(
                live.attributes.contains_key(*name),
                "{} lacks computed `{name}`",
                request.kind
            );
        }
        assert_eq!(live.attributes.get("id"), Some(&json!(live.id)));
        // Scaling policies take no tags in AWS: they read back with their group's stack and
        // env only.
        let mut expected_tags = request.tags.clone();
        if request.kind == Kind::ScalingPolicy {
            expected_tags.remove(crate::model::TAG_ADDRESS);
        }
        assert_eq!(live.tags, expected_tags, "{} tags", request.kind);
        assert_eq!(live.region, request.region);
    }
    Ok(created)
}

#[tokio::test]
async fn every_kind_reads_back_as_created() -> TestResult {
    let h = harness();
    let east = "us-east-1";
    let network = round_trip(
        &h,
        h.request(
            east,
            Kind::Network,
            "network.main[us-east-1]",
            json!({ "cidr": "10.0.0.0/16" }),
        ),
    )
    .await?;
    let subnet_a = round_trip(&h, h.request(east, Kind::Subnet, "network.main.subnet.public[us-east-1a]",
        json!({ "network_id": network.id, "cidr": "10.0.1.0/24", "zone": "us-east-1a", "public": true }))).await?;
    let subnet_b = round_trip(&h, h.request(east, Kind::Subnet, "network.main.subnet.public[us-east-1b]",
        json!({ "network_id": network.id, "cidr": "10.0.2.0/24", "zone": "us-east-1b", "public": false }))).await?;
    let gateway = round_trip(
        &h,
        h.request(
            east,
            Kind::InternetGateway,
            "network.main.gateway[us-east-1]",
            json!({ "network_id": network.id }),
        ),
    )
    .await?;
    round_trip(
        &h,
        h.request(
            east,
            Kind::RouteTable,
            "network.main.route_table.public[us-east-1]",
            json!({
                "network_id": network.id,
                "routes": [{ "cidr": "0.0.0.0/0", "gateway_id": gateway.id }],
                "subnet_ids": [subnet_a.id, subnet_b.id],
            }),
        ),
    )
    .await?;
    let web = round_trip(&h, h.request(east, Kind::SecurityGroup, "firewall.web[us-east-1]", json!({
        "name": "web", "description": "web tier", "network_id": network.id,
        "ingress": [
            { "protocol": "tcp", "from_port": 22, "to_port": 22, "cidr": "10.20.0.0/16" },
            { "protocol": "tcp", "from_port": 443, "to_port": 443, "cidr": "0.0.0.0/0" },
        ],
        "egress": [{ "protocol": "all", "from_port": -1, "to_port": -1, "cidr": "0.0.0.0/0" }],
    }))).await?;
    round_trip(&h, h.request(east, Kind::SecurityGroup, "firewall.app[us-east-1]", json!({
        "name": "app", "description": "app tier", "network_id": network.id,
        "ingress": [{ "protocol": "tcp", "from_port": 8080, "to_port": 8081, "source_group_id": web.id }],
        "egress": [],
    }))).await?;
    let template = round_trip(
        &h,
        h.request(
            east,
            Kind::LaunchTemplate,
            "launch_template.web[us-east-1]",
            json!({
                "name": "web-us-east-1", "image": "ami-12c6146b", "instance_type": "t3.small",
                "security_group_ids": [web.id], "user_data": "#cloud-config\n",
                "volumes": [{ "device": "/dev/xvda", "size_gb": 20, "encrypted": true }],
            }),
        ),
    )
    .await?;
    assert_eq!(template.attributes.get("latest_version"), Some(&json!(1)));
    let group = round_trip(&h, h.request(east, Kind::AutoscalingGroup, "autoscaling.web[us-east-1]", json!({
        "name": "shop-staging-web", "launch_template_id": template.id, "launch_template_version": "$Latest",
        "subnet_ids": [subnet_a.id, subnet_b.id], "min": 1, "max": 4, "desired": 2,
        "target_group_ids": [], "health_check_type": "EC2",
    }))).await?;
    round_trip(
        &h,
        h.request(
            east,
            Kind::ScalingPolicy,
            "autoscaling.web.scaling.cpu[us-east-1]",
            json!({
                "name": "cpu", "group_name": group.id, "target_cpu": 70,
            }),
        ),
    )
    .await?;
    let volume = round_trip(
        &h,
        h.request(
            east,
            Kind::Volume,
            "volume.data[us-east-1]",
            json!({
                "zone": "us-east-1a", "size_gb": 100, "encrypted": true, "volume_type": "gp3",
            }),
        ),
    )
    .await?;
    round_trip(
        &h,
        h.request(
            east,
            Kind::Instance,
            "instance.bastion[us-east-1]",
            json!({
                "image": "ami-12c6146b", "instance_type": "t3.micro", "subnet_id": subnet_a.id,
                "security_group_ids": [web.id],
            }),
        ),
    )
    .await?;
    let snapshot = round_trip(
        &h,
        h.request(
            east,
            Kind::Snapshot,
            "backup.daily[us-east-1]",
            json!({
                "volume_id": volume.id, "description": "daily",
            }),
        ),
    )
    .await?;
    let copy = round_trip(&h, h.request("us-west-2", Kind::Snapshot, "backup.daily.copy[us-west-2]", json!({
        "source_region": east, "source_snapshot_id": snapshot.id, "description": "daily copy",
    }))).await?;
    round_trip(
        &h,
        h.request(
            "us-west-2",
            Kind::Volume,
            "volume.data[us-west-2]",
            json!({
                "zone": "us-west-2a", "size_gb": 100, "encrypted": true, "snapshot_id": copy.id,
            }),
        ),
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn security_group_rules_come_back_sorted_whatever_the_request_order() -> TestResult {
    let h = harness();
    let network = h.network("us-east-1", "10.0.0.0/16").await?;
    let group = h
        .create(
            "us-east-1",
            Kind::SecurityGroup,
            "firewall.web[us-east-1]",
            json!({
                "name": "web", "description": "web", "network_id": network.id,
                "ingress": [
                    { "protocol": "udp", "from_port": 53, "to_port": 53, "cidr": "10.0.0.0/8" },
                    { "protocol": "tcp", "from_port": 443, "to_port": 443, "cidr": "0.0.0.0/0" },
                    { "protocol": "tcp", "from_port": 22, "to_port": 22, "cidr": "10.20.0.0/16" },
                    { "protocol": "all", "from_port": 0, "to_port": 65535, "cidr": "10.1.0.0/16" },
                ],
            }),
        )
        .await?;
    assert_eq!(
        group.attributes.get("ingress"),
        Some(&json!([
            { "protocol": "all", "from_port": -1, "to_port": -1, "cidr": "10.1.0.0/16" },
            { "protocol": "tcp", "from_port": 22, "to_port": 22, "cidr": "10.20.0.0/16" },
            { "protocol": "tcp", "from_port": 443, "to_port": 443, "cidr": "0.0.0.0/0" },
            { "protocol": "udp", "from_port": 53, "to_port": 53, "cidr": "10.0.0.0/8" },
        ]))
    );
    Ok(())
}

#[tokio::test]
async fn updates_read_back_as_asked() -> TestResult {
    let h = harness();
    let network = h.network("us-east-1", "10.0.0.0/16").await?;
    let subnet = h.subnet(&network, "10.0.1.0/24", "us-east-1a").await?;
    let updated = h.update(&subnet, json!({ "public": false })).await?;
    assert_eq!(updated.attributes.get("public"), Some(&json!(false)));

    let template = h
        .create(
            "us-east-1",
            Kind::LaunchTemplate,
            "launch_template.web[us-east-1]",
            json!({
                "name": "web", "image": "ami-00000001", "instance_type": "t3.small",
            }),
        )
        .await?;
    let second = h
        .update(&template, json!({ "image": "ami-00000002" }))
        .await?;
    assert_eq!(second.attributes.get("latest_version"), Some(&json!(2)));
    assert_eq!(second.attributes.get("image"), Some(&json!("ami-00000002")));
    // A tag-only change makes no version.
    let mut retagged = second.clone();
    retagged.tags.insert("team".to_string(), "web".to_string());
    let third = h.update(&retagged, json!({})).await?;
    assert_eq!(third.attributes.get("latest_version"), Some(&json!(2)));
    assert_eq!(third.tags.get("team").map(String::as_str), Some("web"));

    let volume = h
        .create(
            "us-east-1",
            Kind::Volume,
            "volume.data[us-east-1]",
            json!({
                "zone": "us-east-1a", "size_gb": 50, "encrypted": true,
            }),
        )
        .await?;
    let grown = h.update(&volume, json!({ "size_gb": 80 })).await?;
    assert_eq!(grown.attributes.get("size_gb"), Some(&json!(80)));
    assert_eq!(
        super::code(h.update(&grown, json!({ "size_gb": 10 })).await),
        "InvalidParameterValue"
    );
    assert_eq!(
        super::code(h.update(&grown, json!({ "zone": "us-east-1b" })).await),
        "InvalidParameterValue"
    );
    Ok(())
}
