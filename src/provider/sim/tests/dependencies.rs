//! Deletes refused while something still depends on the resource (`DependencyViolation`).

use super::{TestResult, code, harness};
use crate::model::Kind;
use crate::provider::Provider;
use serde_json::json;

#[tokio::test]
async fn a_network_with_subnets_groups_or_gateways_cannot_be_deleted() -> TestResult {
    let h = harness();
    let network = h.network("us-east-1", "10.0.0.0/16").await?;
    let subnet = h.subnet(&network, "10.0.1.0/24", "us-east-1a").await?;
    assert_eq!(
        code(
            h.provider
                .delete("us-east-1", Kind::Network, &network.id)
                .await
        ),
        "DependencyViolation"
    );
    h.provider
        .delete("us-east-1", Kind::Subnet, &subnet.id)
        .await?;

    let group = h
        .create(
            "us-east-1",
            Kind::SecurityGroup,
            "firewall.web[us-east-1]",
            json!({ "name": "web", "description": "web", "network_id": network.id }),
        )
        .await?;
    assert_eq!(
        code(
            h.provider
                .delete("us-east-1", Kind::Network, &network.id)
                .await
        ),
        "DependencyViolation"
    );
    h.provider
        .delete("us-east-1", Kind::SecurityGroup, &group.id)
        .await?;

    let gateway = h
        .create(
            "us-east-1",
            Kind::InternetGateway,
            "network.main.gateway[us-east-1]",
            json!({ "network_id": network.id }),
        )
        .await?;
    assert_eq!(
        code(
            h.provider
                .delete("us-east-1", Kind::Network, &network.id)
                .await
        ),
        "DependencyViolation"
    );
    h.provider
        .delete("us-east-1", Kind::InternetGateway, &gateway.id)
        .await?;

    let table = h
        .create(
            "us-east-1",
            Kind::RouteTable,
            "network.main.route_table[us-east-1]",
            json!({ "network_id": network.id, "routes": [], "subnet_ids": [] }),
        )
        .await?;
    assert_eq!(
        code(
            h.provider
                .delete("us-east-1", Kind::Network, &network.id)
                .await
        ),
        "DependencyViolation"
    );
    h.provider
        .delete("us-east-1", Kind::RouteTable, &table.id)
        .await?;

    // The default security group and main route table go with the network.
    h.provider
        .delete("us-east-1", Kind::Network, &network.id)
        .await?;
    let cloud = super::super::SimCloud::open(&h.cloud_file())?;
    assert_eq!(cloud.inventory()?.regions, Default::default());
    Ok(())
}

#[tokio::test]
async fn a_subnet_with_instances_cannot_be_deleted() -> TestResult {
    let h = harness();
    let network = h.network("us-east-1", "10.0.0.0/16").await?;
    let subnet = h.subnet(&network, "10.0.1.0/24", "us-east-1a").await?;
    let instance = h
        .create(
            "us-east-1",
            Kind::Instance,
            "instance.bastion[us-east-1]",
            json!({ "image": "ami-00000001", "instance_type": "t3.micro", "subnet_id": subnet.id }),
        )
        .await?;
    assert_eq!(
        instance.attributes.get("private_ip"),
        Some(&json!("10.0.1.4"))
    );
    assert_eq!(
        code(
            h.provider
                .delete("us-east-1", Kind::Subnet, &subnet.id)
                .await
        ),
        "DependencyViolation"
    );
    h.provider
        .delete("us-east-1", Kind::Instance, &instance.id)
        .await?;
    h.provider
        .delete("us-east-1", Kind::Subnet, &subnet.id)
        .await?;
    Ok(())
}

#[tokio::test]
async fn a_security_group_referenced_by_a_rule_or_an_instance_cannot_be_deleted() -> TestResult {
    let h = harness();
    let network = h.network("us-east-1", "10.0.0.0/16").await?;
    let subnet = h.subnet(&network, "10.0.1.0/24", "us-east-1a").await?;
    let web = h
        .create(
            "us-east-1",
            Kind::SecurityGroup,
            "firewall.web[us-east-1]",
            json!({ "name": "web", "description": "web", "network_id": network.id }),
        )
        .await?;
    let app = h.create("us-east-1", Kind::SecurityGroup, "firewall.app[us-east-1]", json!({
        "name": "app", "description": "app", "network_id": network.id,
        "ingress": [{ "protocol": "tcp", "from_port": 8080, "to_port": 8080, "source_group_id": web.id }],
    })).await?;
    assert_eq!(
        code(
            h.provider
                .delete("us-east-1", Kind::SecurityGroup, &web.id)
                .await
        ),
        "DependencyViolation"
    );
    h.update(&app, json!({ "ingress": [] })).await?;

    let instance = h.create("us-east-1", Kind::Instance, "instance.bastion[us-east-1]", json!({
        "image": "ami-00000001", "instance_type": "t3.micro", "subnet_id": subnet.id, "security_group_ids": [web.id],
    })).await?;
    assert_eq!(
        code(
            h.provider
                .delete("us-east-1", Kind::SecurityGroup, &web.id)
                .await
        ),
        "DependencyViolation"
    );
    h.provider
        .delete("us-east-1", Kind::Instance, &instance.id)
        .await?;
    h.provider
        .delete("us-east-1", Kind::SecurityGroup, &web.id)
        .await?;
    Ok(())
}

/// A launch takes the address after the highest one taken (a lookup, not a walk over the
/// subnet: filling a large subnet was quadratic, issue 14); once the subnet's last address is
/// taken it hands out the lowest one freed, and a full subnet refuses.
#[tokio::test]
async fn a_launch_takes_the_next_address_then_a_freed_one_and_a_full_subnet_refuses() -> TestResult
{
    let h = harness();
    let network = h.network("us-east-1", "10.0.0.0/16").await?;
    // A /28: AWS reserves the first four addresses and the last, leaving .4 to .14.
    let subnet = h.subnet(&network, "10.0.1.0/28", "us-east-1a").await?;
    let mut instances = Vec::new();
    for index in 0..11 {
        let address = format!("instance.web[{index}]");
        let instance = h
            .create(
                "us-east-1",
                Kind::Instance,
                &address,
                json!({
                    "image": "ami-00000001", "instance_type": "t3.micro", "subnet_id": subnet.id,
                }),
            )
            .await?;
        assert_eq!(
            instance.attributes.get("private_ip"),
            Some(&json!(format!("10.0.1.{}", 4 + index)))
        );
        instances.push(instance);
    }
    let launch = |address: &'static str| {
        h.create(
            "us-east-1",
            Kind::Instance,
            address,
            json!({
                "image": "ami-00000001", "instance_type": "t3.micro", "subnet_id": subnet.id,
            }),
        )
    };
    assert_eq!(
        code(launch("instance.extra").await),
        "InsufficientFreeAddressesInSubnet"
    );
    for freed in [&instances[5], &instances[2]] {
        h.provider
            .delete("us-east-1", Kind::Instance, &freed.id)
            .await?;
    }
    let again = launch("instance.again").await?;
    assert_eq!(again.attributes.get("private_ip"), Some(&json!("10.0.1.6")));
    let last = launch("instance.last").await?;
    assert_eq!(last.attributes.get("private_ip"), Some(&json!("10.0.1.9")));
    assert_eq!(
        code(launch("instance.extra").await),
        "InsufficientFreeAddressesInSubnet"
    );
    Ok(())
}
