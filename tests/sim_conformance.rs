//! The provider conformance cases (`tests/conformance/`) against the simulated cloud.
//!
//! The same cases `tests/aws_conformance.rs` runs against moto, so the simulator is held to
//! what the AWS provider does. Each test opens its own cloud file in a temporary directory
//! with no faults, whatever `CAIRN_SIM_*` says, so the run is repeatable.

mod conformance;

use cairn::provider::sim::{FaultConfig, SimProvider};
use cairn::provider::{Provider, ProviderError};
use conformance::Fixture;
use tempfile::TempDir;

const REGION: &str = "us-east-1";
const DR_REGION: &str = "us-west-2";
/// The same image the AWS runner uses; the simulator accepts any image id.
const IMAGE: &str = "ami-03cf127a";

/// A fresh simulated cloud; the directory must outlive the provider.
fn provider() -> (TempDir, SimProvider) {
    let directory = tempfile::tempdir().unwrap_or_else(|error| panic!("tempdir: {error}"));
    let provider =
        SimProvider::open_with_faults(&directory.path().join("cloud.json"), FaultConfig::default())
            .unwrap_or_else(|error| panic!("opening the simulated cloud: {error}"));
    (directory, provider)
}

fn fixture(case: &str) -> Fixture {
    Fixture::new(case, REGION, DR_REGION, ["us-east-1a", "us-east-1b"], IMAGE)
}

#[tokio::test]
async fn network_and_subnet() {
    let (_directory, provider) = provider();
    conformance::network_and_subnet(&provider, &fixture("network")).await;
}

#[tokio::test]
async fn gateway_and_route_table() {
    let (_directory, provider) = provider();
    conformance::gateway_and_route_table(&provider, &fixture("routes")).await;
}

#[tokio::test]
async fn security_group_rules() {
    let (_directory, provider) = provider();
    conformance::security_group_rules(&provider, &fixture("firewall")).await;
}

#[tokio::test]
async fn launch_template_versions() {
    let (_directory, provider) = provider();
    conformance::launch_template_versions(&provider, &fixture("template")).await;
}

#[tokio::test]
async fn autoscaling_group_and_policy() {
    let (_directory, provider) = provider();
    conformance::autoscaling_group_and_policy(&provider, &fixture("autoscaling")).await;
}

#[tokio::test]
async fn volume_resize() {
    let (_directory, provider) = provider();
    conformance::volume_resize(&provider, &fixture("volume")).await;
}

#[tokio::test]
async fn instance_lifecycle() {
    let (_directory, provider) = provider();
    conformance::instance_lifecycle(&provider, &fixture("instance")).await;
}

#[tokio::test]
async fn snapshot_copy_across_regions() {
    let (_directory, provider) = provider();
    conformance::snapshot_copy_across_regions(&provider, &fixture("snapshot")).await;
}

#[tokio::test]
async fn volume_restored_from_a_copy() {
    let (_directory, provider) = provider();
    conformance::volume_restored_from_a_copy(&provider, &fixture("restore")).await;
}

#[tokio::test]
async fn batched_reads() {
    let (_directory, provider) = provider();
    conformance::batched_reads(&provider, &fixture("batch"), &fixture("batch-other")).await;
}

/// The simulator has no pages: the same cloud read twice returns the same, in one call each.
#[tokio::test]
async fn reads_span_pages() {
    let (_directory, provider) = provider();
    let counts = conformance::reads_span_pages(&provider, &provider, &fixture("pages")).await;
    for count in counts {
        assert_eq!(count.default_pages, 1, "{count:?}");
        assert_eq!(count.small_pages, 1, "{count:?}");
    }
}

#[tokio::test]
async fn errors_are_classified() {
    let (_directory, provider) = provider();
    conformance::errors_are_classified(&provider, &fixture("errors")).await;
}

#[tokio::test]
async fn ownership_is_released_and_taken_over() {
    let (_directory, provider) = provider();
    conformance::ownership_is_released_and_taken_over(
        &provider,
        &fixture("ownership"),
        &fixture("ownership-other"),
    )
    .await;
}

#[tokio::test]
async fn zones_of_a_region() {
    let (_directory, provider) = provider();
    conformance::zones_of_a_region(&provider, &fixture("zones")).await;
}

#[tokio::test]
async fn load_balancer_target_group_listener() {
    let (_directory, provider) = provider();
    conformance::load_balancer_target_group_listener(&provider, &fixture("balancer")).await;
}

#[tokio::test]
async fn alarm_thresholds() {
    let (_directory, provider) = provider();
    conformance::alarm_thresholds(&provider, &fixture("alarm")).await;
}

#[tokio::test]
async fn dns_failover_records() {
    let (_directory, provider) = provider();
    conformance::dns_failover_records(&provider, &fixture("dns")).await;
}

/// Only the simulator can take a region down: its zones are then unavailable, as
/// DescribeAvailabilityZones is during an outage.
#[tokio::test]
async fn zones_of_a_region_in_an_outage_are_unavailable() {
    let directory = tempfile::tempdir().unwrap_or_else(|error| panic!("tempdir: {error}"));
    let faults = FaultConfig {
        outages: ["us-west-2".to_string()].into(),
        ..FaultConfig::default()
    };
    let provider = SimProvider::open_with_faults(&directory.path().join("cloud.json"), faults)
        .unwrap_or_else(|error| panic!("opening the simulated cloud: {error}"));
    let zones = provider.zones("us-west-2").await;
    assert!(
        matches!(&zones, Err(ProviderError::RegionUnavailable { region, .. }) if region == "us-west-2"),
        "{zones:?}"
    );
    assert_eq!(
        provider
            .zones("us-east-2")
            .await
            .ok()
            .map(|zones| zones.len()),
        Some(3)
    );
}

#[tokio::test]
async fn traffic_objects_are_released_listed_and_taken_over() {
    let (_directory, provider) = provider();
    conformance::traffic_objects_are_released_listed_and_taken_over(&provider, &fixture("adopt"))
        .await;
}
