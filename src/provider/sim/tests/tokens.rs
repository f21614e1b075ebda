//! Idempotency tokens: a retried create or update with the same token has no second effect.

use super::{TestResult, harness};
use crate::model::Kind;
use crate::provider::{Provider, UpdateRequest};
use serde_json::json;

#[tokio::test]
async fn a_create_retried_with_its_token_returns_the_first_resource() -> TestResult {
    let h = harness();
    let request = h.request(
        "us-east-1",
        Kind::Network,
        "network.main[us-east-1]",
        json!({ "cidr": "10.0.0.0/16" }),
    );
    let first = h.provider.create(&request).await?;
    let second = h.provider.create(&request).await?;
    assert_eq!(first, second);
    assert_eq!(h.read("us-east-1", Kind::Network).await?.len(), 1);

    let mut fresh = request.clone();
    fresh.token = "another".to_string();
    h.provider.create(&fresh).await?;
    assert_eq!(h.read("us-east-1", Kind::Network).await?.len(), 2);
    Ok(())
}

#[tokio::test]
async fn a_template_update_retried_with_its_token_makes_one_version() -> TestResult {
    let h = harness();
    let template = h
        .create(
            "us-east-1",
            Kind::LaunchTemplate,
            "launch_template.web[us-east-1]",
            json!({ "name": "web", "image": "ami-00000001" }),
        )
        .await?;
    let mut after = template.attributes.clone();
    after.insert("image".to_string(), json!("ami-00000002"));
    let request = UpdateRequest {
        kind: Kind::LaunchTemplate,
        region: "us-east-1".to_string(),
        id: template.id.clone(),
        before: template.attributes.clone(),
        after,
        tags: template.tags.clone(),
        token: "update-1".to_string(),
    };
    h.provider.update(&request).await?;
    let again = h.provider.update(&request).await?;
    assert_eq!(again.attributes.get("latest_version"), Some(&json!(2)));
    Ok(())
}
