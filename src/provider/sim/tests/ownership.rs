//! A batched read returns exactly the resources of one kind and region owned by one stack and
//! environment; import finds any resource by id.

use super::{TestResult, harness};
use crate::model::{Kind, Owner};
use crate::provider::Provider;
use serde_json::json;

#[tokio::test]
async fn read_filters_by_ownership_tags_region_and_kind() -> TestResult {
    let h = harness();
    let mine = h.network("us-east-1", "10.0.0.0/16").await?;
    h.network("us-west-2", "10.0.0.0/16").await?;
    let mut foreign = h.request(
        "us-east-1",
        Kind::Network,
        "network.main[us-east-1]",
        json!({ "cidr": "10.1.0.0/16" }),
    );
    foreign
        .tags
        .insert("cairn:env".to_string(), "production".to_string());
    let foreign = h.provider.create(&foreign).await?;
    let mut untagged = h.request(
        "us-east-1",
        Kind::Network,
        "network.x[us-east-1]",
        json!({ "cidr": "10.2.0.0/16" }),
    );
    untagged.tags.clear();
    let untagged = h.provider.create(&untagged).await?;

    let read = h.read("us-east-1", Kind::Network).await?;
    assert_eq!(
        read.iter().map(|live| live.id.as_str()).collect::<Vec<_>>(),
        vec![mine.id.as_str()]
    );
    let production = Owner {
        stack: "shop".to_string(),
        env: "production".to_string(),
    };
    let theirs = h
        .provider
        .read("us-east-1", Kind::Network, &production)
        .await?;
    assert_eq!(
        theirs
            .iter()
            .map(|live| live.id.as_str())
            .collect::<Vec<_>>(),
        vec![foreign.id.as_str()]
    );
    // The default security group of each network is untagged and never listed.
    assert_eq!(h.read("us-east-1", Kind::SecurityGroup).await?, Vec::new());

    let imported = h
        .provider
        .import("us-east-1", Kind::Network, &untagged.id)
        .await?;
    assert_eq!(imported.attributes.get("cidr"), Some(&json!("10.2.0.0/16")));
    assert_eq!(h.provider.calls().reads, 4);
    Ok(())
}

#[tokio::test]
async fn updates_sync_tags() -> TestResult {
    let h = harness();
    let network = h.network("us-east-1", "10.0.0.0/16").await?;
    let mut retagged = network.clone();
    retagged.tags.insert("tier".to_string(), "core".to_string());
    let updated = h.update(&retagged, json!({})).await?;
    assert_eq!(updated.tags.get("tier").map(String::as_str), Some("core"));
    assert_eq!(
        h.read("us-east-1", Kind::Network).await?[0].tags,
        updated.tags
    );
    Ok(())
}
