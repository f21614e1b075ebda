//! One cloud file shared by several providers (and processes), parallel calls, the call log,
//! and corrupt files.

use super::{TestResult, harness};
use crate::model::Kind;
use crate::provider::Provider;
use crate::provider::sim::{CallOutcome, FaultConfig, SimError, SimProvider, read_call_log};
use serde_json::json;
use std::sync::Arc;

#[tokio::test]
async fn two_providers_on_one_file_see_the_same_cloud() -> TestResult {
    let h = harness();
    let network = h.network("us-east-1", "10.0.0.0/16").await?;
    let other = SimProvider::open_with_faults(&h.cloud_file(), FaultConfig::default())?;
    let seen = other.read("us-east-1", Kind::Network, &h.owner).await?;
    assert_eq!(seen, vec![network.clone()]);
    other
        .delete("us-east-1", Kind::Network, &network.id)
        .await?;
    assert_eq!(h.read("us-east-1", Kind::Network).await?, Vec::new());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_creates_from_two_providers_lose_nothing() -> TestResult {
    let h = harness();
    let second = Arc::new(SimProvider::open_with_faults(
        &h.cloud_file(),
        FaultConfig::default(),
    )?);
    let first = Arc::new(SimProvider::open_with_faults(
        &h.cloud_file(),
        FaultConfig::default(),
    )?);
    let mut tasks = Vec::new();
    for index in 0..24u32 {
        let provider = if index % 2 == 0 {
            Arc::clone(&first)
        } else {
            Arc::clone(&second)
        };
        let request = h.request(
            "us-east-1",
            Kind::Network,
            &format!("network.n{index}[us-east-1]"),
            json!({ "cidr": format!("10.{index}.0.0/16") }),
        );
        tasks.push(tokio::spawn(async move { provider.create(&request).await }));
    }
    for task in tasks {
        task.await??;
    }
    assert_eq!(h.read("us-east-1", Kind::Network).await?.len(), 24);
    assert_eq!(first.calls().mutations + second.calls().mutations, 24);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_calls_of_one_provider_each_get_their_own_answer() -> TestResult {
    // Calls arriving together run as one batch with one save; a refusal in the middle of a
    // batch must neither undo the calls around it nor be answered to another caller.
    let h = harness();
    let provider = Arc::new(SimProvider::open_with_faults(
        &h.cloud_file(),
        FaultConfig::default(),
    )?);
    let mut tasks = Vec::new();
    for index in 0..30u32 {
        let cidr = if index % 2 == 0 {
            format!("10.{index}.0.0/16")
        } else {
            "not-a-cidr".to_string()
        };
        let request = h.request(
            "us-east-1",
            Kind::Network,
            &format!("network.n{index}[us-east-1]"),
            json!({ "cidr": cidr }),
        );
        let provider = Arc::clone(&provider);
        tasks.push(tokio::spawn(async move {
            (index, provider.create(&request).await)
        }));
    }
    for task in tasks {
        let (index, result) = task.await?;
        match result {
            Ok(network) => {
                assert_eq!(index % 2, 0, "network.n{index} was refused elsewhere");
                assert_eq!(
                    network.attributes["cidr"],
                    json!(format!("10.{index}.0.0/16"))
                );
            }
            Err(error) => assert_eq!(index % 2, 1, "network.n{index}: {error}"),
        }
    }
    assert_eq!(h.read("us-east-1", Kind::Network).await?.len(), 15);
    let sequences: Vec<u64> = read_call_log(&h.cloud_file())?
        .iter()
        .map(|call| call.sequence)
        .collect();
    // The 30 creates, then the read above.
    assert_eq!(sequences, (1..=31).collect::<Vec<u64>>());
    Ok(())
}

#[tokio::test]
async fn a_call_given_up_before_it_ran_never_reaches_the_cloud() -> TestResult {
    let h = harness();
    let request = h.request(
        "us-east-1",
        Kind::Network,
        "network.main[us-east-1]",
        json!({ "cidr": "10.0.0.0/16" }),
    );
    {
        // Another call of this process holds the gate, so the create only queues up.
        let _gate = h.provider.gate.lock().await;
        let mut create = Box::pin(h.provider.create(&request));
        assert!(futures_util::poll!(&mut create).is_pending());
    }
    // The next call runs the batch holding the abandoned create, which it leaves out.
    assert_eq!(h.read("us-east-1", Kind::Network).await?, Vec::new());
    let operations: Vec<String> = read_call_log(&h.cloud_file())?
        .into_iter()
        .map(|call| call.operation)
        .collect();
    assert_eq!(operations, ["DescribeVpcs"]);
    Ok(())
}

#[tokio::test]
async fn the_call_log_records_every_call_in_order() -> TestResult {
    let h = harness();
    let network = h.network("us-east-1", "10.0.0.0/16").await?;
    h.read("us-west-2", Kind::Subnet).await?;
    h.provider
        .delete("us-east-1", Kind::Network, &network.id)
        .await?;
    let _ = h
        .provider
        .delete("us-east-1", Kind::Network, &network.id)
        .await;

    let calls = read_call_log(&h.cloud_file())?;
    let summary: Vec<(u64, &str, &str, bool, CallOutcome)> = calls
        .iter()
        .map(|call| {
            (
                call.sequence,
                call.region.as_str(),
                call.operation.as_str(),
                call.mutating,
                call.outcome,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (1, "us-east-1", "CreateVpc", true, CallOutcome::Ok),
            (2, "us-west-2", "DescribeSubnets", false, CallOutcome::Ok),
            (3, "us-east-1", "DeleteVpc", true, CallOutcome::Ok),
            (4, "us-east-1", "DeleteVpc", true, CallOutcome::NotFound),
        ]
    );
    assert_eq!(calls[0].id.as_deref(), Some(network.id.as_str()));
    assert_eq!(calls[0].kind, Kind::Network);
    // The log beside the cloud file can be named directly too.
    assert_eq!(
        read_call_log(&h.directory.path().join("sim/calls.jsonl"))?,
        calls
    );
    Ok(())
}

#[tokio::test]
async fn a_corrupt_cloud_file_is_refused_and_kept() -> TestResult {
    let directory = tempfile::tempdir()?;
    let path = directory.path().join("cloud.json");
    std::fs::write(&path, "{\"format\": 1, \"sequence\": ")?;
    assert!(matches!(
        SimProvider::open(&path),
        Err(SimError::Corrupt { .. })
    ));

    // Corrupted after opening: calls fail and the file is left alone.
    std::fs::remove_file(&path)?;
    let provider = SimProvider::open_with_faults(&path, FaultConfig::default())?;
    std::fs::write(&path, "garbage")?;
    let result = provider
        .read(
            "us-east-1",
            Kind::Network,
            &crate::model::Owner {
                stack: "s".to_string(),
                env: "e".to_string(),
            },
        )
        .await;
    assert!(
        matches!(result, Err(crate::provider::ProviderError::Api { ref code, .. }) if code == "SimStorageError"),
        "{result:?}"
    );
    assert_eq!(std::fs::read_to_string(&path)?, "garbage");
    Ok(())
}
