//! Snapshots: taken from a volume, copied across regions, restored into volumes.

use super::{TestResult, code, harness};
use crate::model::Kind;
use crate::provider::{Provider, ProviderError};
use serde_json::json;

#[tokio::test]
async fn a_snapshot_copies_to_another_region_and_restores_there() -> TestResult {
    let h = harness();
    let volume = h
        .create(
            "us-east-1",
            Kind::Volume,
            "volume.data[us-east-1]",
            json!({ "zone": "us-east-1b", "size_gb": 100, "encrypted": true }),
        )
        .await?;
    let snapshot = h
        .create(
            "us-east-1",
            Kind::Snapshot,
            "backup.daily[us-east-1]",
            json!({ "volume_id": volume.id }),
        )
        .await?;
    assert_eq!(snapshot.attributes.get("state"), Some(&json!("completed")));
    assert_eq!(snapshot.attributes.get("size_gb"), Some(&json!(100)));
    let started = snapshot
        .attributes
        .get("started_at")
        .and_then(|v| v.as_str())
        .ok_or("no started_at")?;
    chrono::DateTime::parse_from_rfc3339(started)?;

    let copy = h
        .create(
            "eu-west-1",
            Kind::Snapshot,
            "backup.daily.copy[eu-west-1]",
            json!({ "source_region": "us-east-1", "source_snapshot_id": snapshot.id }),
        )
        .await?;
    assert_eq!(copy.region, "eu-west-1");
    assert_ne!(copy.id, snapshot.id);
    assert_eq!(copy.attributes.get("size_gb"), Some(&json!(100)));
    assert_eq!(h.read("eu-west-1", Kind::Snapshot).await?.len(), 1);

    // A volume restores only from a snapshot of its own region, at least as large.
    let restore = |region: &str, zone: &str, snapshot_id: &str, size: i64| {
        h.request(
            region,
            Kind::Volume,
            &format!("volume.data[{region}]"),
            json!({ "zone": zone, "size_gb": size, "snapshot_id": snapshot_id }),
        )
    };
    assert_eq!(
        code(
            h.provider
                .create(&restore("eu-west-1", "eu-west-1a", &snapshot.id, 100))
                .await
        ),
        "InvalidSnapshot.NotFound"
    );
    assert_eq!(
        code(
            h.provider
                .create(&restore("eu-west-1", "eu-west-1a", &copy.id, 50))
                .await
        ),
        "InvalidParameterValue"
    );
    let restored = h
        .provider
        .create(&restore("eu-west-1", "eu-west-1a", &copy.id, 100))
        .await?;
    assert_eq!(
        restored.attributes.get("snapshot_id"),
        Some(&json!(copy.id))
    );
    Ok(())
}

#[tokio::test]
async fn copying_from_a_region_in_outage_fails() -> TestResult {
    let h = harness();
    let volume = h
        .create(
            "us-east-1",
            Kind::Volume,
            "volume.data[us-east-1]",
            json!({ "zone": "us-east-1a", "size_gb": 10 }),
        )
        .await?;
    let snapshot = h
        .create(
            "us-east-1",
            Kind::Snapshot,
            "backup.daily[us-east-1]",
            json!({ "volume_id": volume.id }),
        )
        .await?;
    super::super::SimCloud::open(&h.cloud_file())?.set_outage("us-east-1", true)?;
    let copy = h
        .create(
            "us-west-2",
            Kind::Snapshot,
            "backup.daily.copy[us-west-2]",
            json!({ "source_region": "us-east-1", "source_snapshot_id": snapshot.id }),
        )
        .await;
    assert!(
        matches!(copy, Err(ProviderError::RegionUnavailable { ref region, .. }) if region == "us-east-1"),
        "{copy:?}"
    );
    Ok(())
}
