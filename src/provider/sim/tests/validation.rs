//! AWS-shaped ids and validation errors with their codes.

use super::{TestResult, code, harness};
use crate::model::Kind;
use crate::model::cloud::id_prefix;
use crate::provider::sim::ids::is_well_formed;
use crate::provider::{Provider, ProviderError};
use serde_json::json;

#[tokio::test]
async fn ids_have_aws_prefixes_and_seventeen_hex_digits() -> TestResult {
    let h = harness();
    let network = h.network("us-east-1", "10.0.0.0/16").await?;
    let subnet = h.subnet(&network, "10.0.1.0/24", "us-east-1a").await?;
    let volume = h
        .create(
            "us-east-1",
            Kind::Volume,
            "volume.data[us-east-1]",
            json!({ "zone": "us-east-1a", "size_gb": 8 }),
        )
        .await?;
    for live in [&network, &subnet, &volume] {
        let expected = id_prefix(live.kind).ok_or("kind without prefix")?;
        assert!(is_well_formed(expected, &live.id), "{}", live.id);
    }
    Ok(())
}

#[tokio::test]
async fn unknown_region_is_unavailable_like_an_unreachable_endpoint() {
    let h = harness();
    let result = h.network("mars-north-1", "10.0.0.0/16").await;
    assert!(
        matches!(result, Err(ProviderError::RegionUnavailable { ref region, .. }) if region == "mars-north-1"),
        "{result:?}"
    );
}

#[tokio::test]
async fn network_and_subnet_cidrs_are_checked() -> TestResult {
    let h = harness();
    assert_eq!(
        code(h.network("us-east-1", "10.0.0.0/33").await),
        "InvalidParameterValue"
    );
    assert_eq!(
        code(h.network("us-east-1", "10.0.0.0/8").await),
        "InvalidVpc.Range"
    );
    let network = h.network("us-east-1", "10.0.0.0/16").await?;
    h.subnet(&network, "10.0.1.0/24", "us-east-1a").await?;
    assert_eq!(
        code(h.subnet(&network, "10.0.1.128/25", "us-east-1b").await),
        "InvalidSubnet.Conflict"
    );
    assert_eq!(
        code(h.subnet(&network, "10.1.0.0/24", "us-east-1b").await),
        "InvalidSubnet.Range"
    );
    assert_eq!(
        code(h.subnet(&network, "10.0.2.0/24", "us-east-1z").await),
        "InvalidParameterValue"
    );
    assert_eq!(
        code(h.subnet(&network, "10.0.2.0/24", "us-west-2a").await),
        "InvalidParameterValue"
    );
    let missing = h.create("us-east-1", Kind::Subnet, "network.x.subnet.y[us-east-1a]",
        json!({ "network_id": "vpc-00000000000000000", "cidr": "10.0.3.0/24", "zone": "us-east-1a" })).await;
    assert_eq!(code(missing), "InvalidVpcID.NotFound");
    Ok(())
}

#[tokio::test]
async fn security_groups_are_unique_per_network_and_rules_stay_in_their_network() -> TestResult {
    let h = harness();
    let network = h.network("us-east-1", "10.0.0.0/16").await?;
    let other = h.network("us-east-1", "10.1.0.0/16").await?;
    let group = |network_id: &str, name: &str, ingress: serde_json::Value| {
        h.request("us-east-1", Kind::SecurityGroup, &format!("firewall.{name}[us-east-1]"),
            json!({ "name": name, "description": name, "network_id": network_id, "ingress": ingress }))
    };
    let web = h
        .provider
        .create(&group(&network.id, "web", json!([])))
        .await?;
    assert_eq!(
        code(
            h.provider
                .create(&group(&network.id, "web", json!([])))
                .await
        ),
        "InvalidGroup.Duplicate"
    );
    // The same name in another network is fine.
    h.provider
        .create(&group(&other.id, "web", json!([])))
        .await?;

    let from_web =
        json!([{ "protocol": "tcp", "from_port": 80, "to_port": 80, "source_group_id": web.id }]);
    assert_eq!(
        code(
            h.provider
                .create(&group(&other.id, "app", from_web.clone()))
                .await
        ),
        "InvalidGroup.NotFound"
    );
    let from_nowhere = json!([{ "protocol": "tcp", "from_port": 80, "to_port": 80, "source_group_id": "sg-00000000000000000" }]);
    assert_eq!(
        code(
            h.provider
                .create(&group(&network.id, "app", from_nowhere))
                .await
        ),
        "InvalidGroup.NotFound"
    );
    let bad_protocol =
        json!([{ "protocol": "gre", "from_port": 1, "to_port": 1, "cidr": "0.0.0.0/0" }]);
    assert_eq!(
        code(
            h.provider
                .create(&group(&network.id, "app", bad_protocol))
                .await
        ),
        "InvalidParameterValue"
    );
    let duplicate = json!([
        { "protocol": "tcp", "from_port": 22, "to_port": 22, "cidr": "0.0.0.0/0" },
        { "protocol": "tcp", "from_port": 22, "to_port": 22, "cidr": "0.0.0.0/0" },
    ]);
    assert_eq!(
        code(
            h.provider
                .create(&group(&network.id, "app", duplicate))
                .await
        ),
        "InvalidPermission.Duplicate"
    );
    Ok(())
}

#[tokio::test]
async fn duplicate_names_and_group_sizes_are_refused() -> TestResult {
    let h = harness();
    let network = h.network("us-east-1", "10.0.0.0/16").await?;
    let subnet = h.subnet(&network, "10.0.1.0/24", "us-east-1a").await?;
    let template = json!({ "name": "web", "image": "ami-00000001", "instance_type": "t3.small" });
    let created = h
        .create(
            "us-east-1",
            Kind::LaunchTemplate,
            "launch_template.web[us-east-1]",
            template.clone(),
        )
        .await?;
    assert_eq!(
        code(
            h.create(
                "us-east-1",
                Kind::LaunchTemplate,
                "launch_template.web2[us-east-1]",
                template
            )
            .await
        ),
        "InvalidLaunchTemplateName.AlreadyExistsException"
    );
    let group = |name: &str, min: i64, desired: i64, max: i64| {
        json!({ "name": name, "launch_template_id": created.id, "subnet_ids": [subnet.id],
                "min": min, "max": max, "desired": desired })
    };
    assert_eq!(
        code(
            h.create(
                "us-east-1",
                Kind::AutoscalingGroup,
                "autoscaling.web[us-east-1]",
                group("web", 2, 1, 3)
            )
            .await
        ),
        "ValidationError"
    );
    assert_eq!(
        code(
            h.create(
                "us-east-1",
                Kind::AutoscalingGroup,
                "autoscaling.web[us-east-1]",
                group("web", 1, 4, 3)
            )
            .await
        ),
        "ValidationError"
    );
    assert_eq!(
        code(
            h.create(
                "us-east-1",
                Kind::AutoscalingGroup,
                "autoscaling.web[us-east-1]",
                group("web", 3, 3, 2)
            )
            .await
        ),
        "ValidationError"
    );
    h.create(
        "us-east-1",
        Kind::AutoscalingGroup,
        "autoscaling.web[us-east-1]",
        group("web", 1, 1, 3),
    )
    .await?;
    assert_eq!(
        code(
            h.create(
                "us-east-1",
                Kind::AutoscalingGroup,
                "autoscaling.web2[us-east-1]",
                group("web", 1, 1, 3)
            )
            .await
        ),
        "AlreadyExists"
    );
    // The same group name in another region is another group.
    let west = h.network("us-west-2", "10.0.0.0/16").await?;
    let west_subnet = h.subnet(&west, "10.0.1.0/24", "us-west-2a").await?;
    let west_template = h
        .create(
            "us-west-2",
            Kind::LaunchTemplate,
            "launch_template.web[us-west-2]",
            json!({ "name": "web", "image": "ami-00000001", "instance_type": "t3.small" }),
        )
        .await?;
    h.create(
        "us-west-2",
        Kind::AutoscalingGroup,
        "autoscaling.web[us-west-2]",
        json!({
        "name": "web", "launch_template_id": west_template.id, "subnet_ids": [west_subnet.id],
        "min": 0, "max": 1, "desired": 0 }),
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn deleting_what_is_gone_is_not_found() -> TestResult {
    let h = harness();
    let network = h.network("us-east-1", "10.0.0.0/16").await?;
    h.provider
        .delete("us-east-1", Kind::Network, &network.id)
        .await?;
    let again = h
        .provider
        .delete("us-east-1", Kind::Network, &network.id)
        .await;
    assert!(
        matches!(
            again,
            Err(ProviderError::NotFound {
                kind: Kind::Network,
                ..
            })
        ),
        "{again:?}"
    );
    let wrong_kind = h
        .provider
        .import("us-east-1", Kind::Subnet, &network.id)
        .await;
    assert!(
        matches!(wrong_kind, Err(ProviderError::NotFound { .. })),
        "{wrong_kind:?}"
    );
    Ok(())
}

/// AWS checks an image id's shape (`ami-` and 8 or 17 lowercase hex digits) when an instance
/// is launched, before it looks the image up: a malformed id is `InvalidAMIID.Malformed`, an
/// unknown well-formed one `InvalidAMIID.NotFound`. A launch template takes either (AWS only
/// warns); an autoscaling group refuses a template whose image is malformed.
#[tokio::test]
async fn a_malformed_image_id_is_refused_where_aws_refuses_it() -> TestResult {
    let h = harness();
    let network = h.network("us-east-1", "10.0.0.0/16").await?;
    let subnet = h.subnet(&network, "10.0.1.0/24", "us-east-1a").await?;
    let instance = |image: &str| json!({ "image": image, "instance_type": "t3.micro", "subnet_id": subnet.id });
    for image in ["ubuntu", "ami-1", "ami-12C6146B"] {
        let refused = h
            .create(
                "us-east-1",
                Kind::Instance,
                "instance.web[us-east-1]",
                instance(image),
            )
            .await;
        let message = format!("{refused:?}");
        assert_eq!(code(refused), "InvalidAMIID.Malformed", "{image}");
        assert!(
            message.contains(&format!("Invalid id: \\\"{image}\\\"")),
            "{message}"
        );
    }
    crate::provider::sim::SimCloud::open(&h.cloud_file())?.set_image(
        "ami-00000001",
        "us-east-1",
        false,
    )?;
    assert_eq!(
        code(
            h.create(
                "us-east-1",
                Kind::Instance,
                "instance.web[us-east-1]",
                instance("ami-00000001")
            )
            .await
        ),
        "InvalidAMIID.NotFound"
    );
    h.create(
        "us-east-1",
        Kind::Instance,
        "instance.web[us-east-1]",
        instance("ami-0123456789abcdef0"),
    )
    .await?;

    let template = h
        .create(
            "us-east-1",
            Kind::LaunchTemplate,
            "launch_template.web[us-east-1]",
            json!({ "name": "web", "image": "ubuntu", "instance_type": "t3.small" }),
        )
        .await?;
    let group = h
        .create(
            "us-east-1",
            Kind::AutoscalingGroup,
            "autoscaling.web[us-east-1]",
            json!({ "name": "web", "launch_template_id": template.id, "subnet_ids": [subnet.id],
                    "min": 1, "max": 1, "desired": 1 }),
        )
        .await;
    let message = format!("{group:?}");
    assert_eq!(code(group), "ValidationError");
    assert!(
        message.contains("valid fully-formed launch template") && message.contains("ubuntu"),
        "{message}"
    );
    Ok(())
}
