//! Fault injection: reproducible with a seed, transient errors after the effect, outages, and
//! the simulated crash.

use super::{TestResult, harness, harness_with};
use crate::model::Kind;
use crate::provider::sim::{CallOutcome, FaultConfig, FaultSettings, SimCloud, read_call_log};
use crate::provider::{Provider, ProviderError};
use serde_json::json;

fn flaky(seed: u64) -> FaultConfig {
    FaultConfig {
        settings: FaultSettings {
            throttle_rate: Some(0.2),
            error_rate: Some(0.4),
            seed: Some(seed),
            ..FaultSettings::default()
        },
        ..FaultConfig::default()
    }
}

async fn outcomes(seed: u64) -> Result<(Vec<CallOutcome>, usize), Box<dyn std::error::Error>> {
    let h = harness_with(flaky(seed));
    for index in 0..40 {
        let _ = h.network("us-east-1", &format!("10.{index}.0.0/16")).await;
    }
    let outcomes = read_call_log(&h.cloud_file())?
        .into_iter()
        .map(|call| call.outcome)
        .collect();
    let clean = SimCloud::open(&h.cloud_file())?;
    let networks = clean
        .inventory()?
        .regions
        .get("us-east-1")
        .and_then(|kinds| kinds.get(&Kind::Network))
        .map(Vec::len)
        .unwrap_or(0);
    Ok((outcomes, networks))
}

#[tokio::test]
async fn the_same_seed_injects_the_same_faults() -> TestResult {
    let (first, networks) = outcomes(11).await?;
    let (second, _) = outcomes(11).await?;
    assert_eq!(first, second);
    let (other, _) = outcomes(12).await?;
    assert_ne!(first, other);
    for outcome in [
        CallOutcome::Ok,
        CallOutcome::Throttled,
        CallOutcome::Transient,
        CallOutcome::TransientAfterEffect,
    ] {
        assert!(first.contains(&outcome), "{outcome:?} never happened");
    }
    // A transient error after the effect still created the network.
    let effective = first
        .iter()
        .filter(|o| matches!(o, CallOutcome::Ok | CallOutcome::TransientAfterEffect))
        .count();
    assert_eq!(networks, effective);
    Ok(())
}

#[tokio::test]
async fn a_retry_with_the_same_token_after_a_lost_response_creates_nothing_new() -> TestResult {
    let h = harness_with(flaky(3));
    let request = h.request(
        "us-east-1",
        Kind::Network,
        "network.main[us-east-1]",
        json!({ "cidr": "10.0.0.0/16" }),
    );
    let mut created = None;
    for _ in 0..50 {
        match h.provider.create(&request).await {
            Ok(live) => {
                created = Some(live);
                break;
            }
            Err(error) => assert!(error.is_retryable(), "{error}"),
        }
    }
    let created = created.ok_or("never succeeded")?;
    let cloud = SimCloud::open(&h.cloud_file())?;
    let networks = &cloud.inventory()?.regions["us-east-1"][&Kind::Network];
    assert_eq!(
        networks
            .iter()
            .map(|item| item.id.as_str())
            .collect::<Vec<_>>(),
        vec![created.id.as_str()]
    );
    Ok(())
}

#[tokio::test]
async fn outages_from_the_environment_and_from_the_file_stop_every_call() -> TestResult {
    let h = harness_with(FaultConfig {
        outages: ["us-east-1".to_string()].into(),
        ..FaultConfig::default()
    });
    let down = h.network("us-east-1", "10.0.0.0/16").await;
    assert!(
        matches!(down, Err(ProviderError::RegionUnavailable { .. })),
        "{down:?}"
    );
    h.network("us-west-2", "10.0.0.0/16").await?;

    let cloud = SimCloud::open(&h.cloud_file())?;
    cloud.set_outage("us-west-2", true)?;
    assert!(matches!(
        h.read("us-west-2", Kind::Network).await,
        Err(ProviderError::RegionUnavailable { .. })
    ));
    cloud.set_outage("us-west-2", false)?;
    assert_eq!(h.read("us-west-2", Kind::Network).await?.len(), 1);

    let calls = read_call_log(&h.cloud_file())?;
    assert!(
        calls
            .iter()
            .filter(|call| call.region == "us-east-1")
            .all(|call| call.outcome == CallOutcome::RegionUnavailable)
    );
    Ok(())
}

#[tokio::test]
async fn stored_fault_settings_apply_to_later_calls() -> TestResult {
    let h = harness();
    let cloud = SimCloud::open(&h.cloud_file())?;
    cloud.set_faults(FaultSettings {
        throttle_rate: Some(1.0),
        ..FaultSettings::default()
    })?;
    assert!(matches!(
        h.read("us-east-1", Kind::Network).await,
        Err(ProviderError::Throttled { .. })
    ));
    cloud.set_faults(FaultSettings::default())?;
    h.read("us-east-1", Kind::Network).await?;
    assert!(
        cloud
            .set_faults(FaultSettings {
                error_rate: Some(2.0),
                ..FaultSettings::default()
            })
            .is_err()
    );
    Ok(())
}

const CRASH_CHILD: &str = "CAIRN_SIM_TEST_CRASH_CLOUD";

/// Runs itself as a child process that must die with code 101 right after its second create.
#[tokio::test]
async fn crash_after_exits_the_process_after_the_nth_mutation() -> TestResult {
    if let Some(path) = std::env::var_os(CRASH_CHILD) {
        let provider = crate::provider::sim::SimProvider::open_with_faults(
            std::path::Path::new(&path),
            FaultConfig {
                crash_after: Some(2),
                ..FaultConfig::default()
            },
        )?;
        let owner = crate::model::Owner {
            stack: "s".to_string(),
            env: "e".to_string(),
        };
        provider.read("us-east-1", Kind::Network, &owner).await?;
        for index in 0..3 {
            let request = crate::provider::CreateRequest {
                kind: Kind::Network,
                region: "us-east-1".to_string(),
                attributes: super::attributes(json!({ "cidr": format!("10.{index}.0.0/16") })),
                tags: Default::default(),
                token: format!("t{index}"),
            };
            provider.create(&request).await?;
        }
        return Err("the process did not crash".into());
    }
    let h = harness();
    let status = std::process::Command::new(std::env::current_exe()?)
        .args([
            "--exact",
            "provider::sim::tests::faults::crash_after_exits_the_process_after_the_nth_mutation",
            "--test-threads=1",
        ])
        .env(CRASH_CHILD, h.cloud_file())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()?;
    assert_eq!(status.code(), Some(101));
    let calls = read_call_log(&h.cloud_file())?;
    let operations: Vec<&str> = calls.iter().map(|call| call.operation.as_str()).collect();
    assert_eq!(operations, vec!["DescribeVpcs", "CreateVpc", "CreateVpc"]);
    let inventory = SimCloud::open(&h.cloud_file())?.inventory()?;
    assert_eq!(inventory.regions["us-east-1"][&Kind::Network].len(), 2);
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn latency_delays_every_call() -> TestResult {
    let h = harness_with(FaultConfig {
        settings: FaultSettings {
            latency_ms: Some(250),
            ..FaultSettings::default()
        },
        ..FaultConfig::default()
    });
    let start = tokio::time::Instant::now();
    h.read("us-east-1", Kind::Network).await?;
    assert!(
        start.elapsed() >= std::time::Duration::from_millis(250),
        "{:?}",
        start.elapsed()
    );
    Ok(())
}

#[tokio::test]
async fn emulated_rate_limits_refuse_calls_past_the_bucket_until_the_clock_moves_on() -> TestResult
{
    let h = harness_with(FaultConfig {
        rate_limits: true,
        ..FaultConfig::default()
    });
    let cloud = SimCloud::open(&h.cloud_file())?;
    let start = cloud.set_clock(Some("2030-01-01T00:00:00Z".parse()?))?;
    assert!(h.provider.rate_limited());
    for _ in 0..100 {
        h.provider.read("us-east-1", Kind::Subnet, &h.owner).await?;
    }
    let refused = h.provider.read("us-east-1", Kind::Subnet, &h.owner).await;
    assert!(
        matches!(&refused, Err(ProviderError::Throttled { message }) if message.contains("RequestLimitExceeded")),
        "{refused:?}"
    );
    let last = read_call_log(&h.cloud_file())?;
    let last = last.last().ok_or("nothing logged")?;
    assert_eq!(last.outcome, CallOutcome::Throttled);
    assert_eq!(last.error_code.as_deref(), Some("RequestLimitExceeded"));

    // Waiting on the cloud's clock for one token's time (20 a second) lets one more through;
    // the clock moved by exactly that, and waiting for a time past does not move it back.
    let later = start + chrono::TimeDelta::milliseconds(50);
    assert_eq!(h.provider.wait_until(later).await?, later);
    assert_eq!(h.provider.wait_until(start).await?, later);
    h.provider.read("us-east-1", Kind::Subnet, &h.owner).await?;
    assert!(
        h.provider
            .read("us-east-1", Kind::Subnet, &h.owner)
            .await
            .is_err()
    );
    assert_eq!(cloud.clock()?, Some(later));
    Ok(())
}
