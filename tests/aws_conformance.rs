//! The provider conformance cases (`tests/conformance/`) against the AWS provider on a moto
//! server.
//!
//! `scripts/test` starts moto and sets `CAIRN_TEST_AWS_ENDPOINT` plus dummy credentials;
//! without the endpoint these tests fail (they are never skipped). Every test has its own
//! owner (stack/env tags) and unique names, so all run in parallel on one server without a
//! reset in between.
#![cfg(feature = "aws")]

mod conformance;

use cairn::provider::aws::{AwsProvider, AwsSettings};
use conformance::Fixture;

const REGION: &str = "us-east-1";
const DR_REGION: &str = "us-west-2";
/// One of the images moto has in every region (see MOTO.md).
const IMAGE: &str = "ami-03cf127a";

async fn provider() -> AwsProvider {
    let Ok(endpoint) = std::env::var("CAIRN_TEST_AWS_ENDPOINT") else {
        panic!(
            "CAIRN_TEST_AWS_ENDPOINT is not set: the AWS tests need the moto server.\n\
             hint: run `scripts/test`, which starts moto and sets it (or `scripts/moto start` \
             and source the lines it prints)"
        );
    };
    AwsProvider::connect(&AwsSettings {
        profile: None,
        endpoint: Some(endpoint),
    })
    .await
    .unwrap_or_else(|error| panic!("connecting to moto: {error}"))
}

fn fixture(case: &str) -> Fixture {
    Fixture::new(case, REGION, DR_REGION, ["us-east-1a", "us-east-1b"], IMAGE)
}

#[tokio::test]
async fn network_and_subnet() {
    conformance::network_and_subnet(&provider().await, &fixture("network")).await;
}

#[tokio::test]
async fn gateway_and_route_table() {
    conformance::gateway_and_route_table(&provider().await, &fixture("routes")).await;
}

#[tokio::test]
async fn security_group_rules() {
    conformance::security_group_rules(&provider().await, &fixture("firewall")).await;
}

#[tokio::test]
async fn launch_template_versions() {
    conformance::launch_template_versions(&provider().await, &fixture("template")).await;
}

#[tokio::test]
async fn autoscaling_group_and_policy() {
    conformance::autoscaling_group_and_policy(&provider().await, &fixture("autoscaling")).await;
}

#[tokio::test]
async fn volume_resize() {
    conformance::volume_resize(&provider().await, &fixture("volume")).await;
}

#[tokio::test]
async fn instance_lifecycle() {
    conformance::instance_lifecycle(&provider().await, &fixture("instance")).await;
}

#[tokio::test]
async fn snapshot_copy_across_regions() {
    conformance::snapshot_copy_across_regions(&provider().await, &fixture("snapshot")).await;
}

#[tokio::test]
async fn volume_restored_from_a_copy() {
    conformance::volume_restored_from_a_copy(&provider().await, &fixture("restore")).await;
}

#[tokio::test]
async fn batched_reads() {
    conformance::batched_reads(
        &provider().await,
        &fixture("batch"),
        &fixture("batch-other"),
    )
    .await;
}

#[tokio::test]
async fn errors_are_classified() {
    conformance::errors_are_classified(&provider().await, &fixture("errors")).await;
}

#[tokio::test]
async fn zones_of_a_region() {
    conformance::zones_of_a_region(&provider().await, &fixture("zones")).await;
}

#[tokio::test]
async fn load_balancer_target_group_listener() {
    conformance::load_balancer_target_group_listener(&provider().await, &fixture("balancer")).await;
}

#[tokio::test]
async fn alarm_thresholds() {
    conformance::alarm_thresholds(&provider().await, &fixture("alarm")).await;
}

#[tokio::test]
async fn dns_failover_records() {
    conformance::dns_failover_records(&provider().await, &fixture("dns")).await;
}

#[tokio::test]
async fn a_malformed_endpoint_is_refused_before_any_call() {
    let refused = AwsProvider::connect(&AwsSettings {
        profile: None,
        endpoint: Some("127.0.0.1:5000".to_string()),
    })
    .await;
    let Err(error) = refused else {
        panic!("a URL without a scheme was accepted");
    };
    assert!(
        error
            .to_string()
            .contains("`127.0.0.1:5000` is not an http:// or https:// URL")
    );
}
