//! Tests of the simulated cloud through the [`Provider`] trait, one file per concern, sharing a
//! small harness that opens a provider on a temporary cloud file.

mod autoscaling;
mod dependencies;
mod faults;
mod ownership;
mod persistence;
mod round_trip;
mod snapshots;
mod tokens;
mod validation;

use super::{FaultConfig, SimProvider};
use crate::model::{Address, Attributes, Kind, Owner, Tags};
use crate::provider::{CreateRequest, LiveResource, Provider, ProviderError, UpdateRequest};
use serde_json::Value;

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

pub struct Harness {
    pub directory: tempfile::TempDir,
    pub provider: SimProvider,
    pub owner: Owner,
}

pub fn harness() -> Harness {
    harness_with(FaultConfig::default())
}

pub fn harness_with(faults: FaultConfig) -> Harness {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let provider = SimProvider::open_with_faults(&directory.path().join("sim/cloud.json"), faults)
        .expect("a fresh cloud opens");
    Harness {
        directory,
        provider,
        owner: Owner {
            stack: "shop".to_string(),
            env: "staging".to_string(),
        },
    }
}

/// A JSON object literal as attributes.
pub fn attributes(value: Value) -> Attributes {
    match value {
        Value::Object(map) => map.into_iter().collect(),
        other => panic!("attributes must be an object, got {other}"),
    }
}

/// The API error code of a refusal.
pub fn code<T: std::fmt::Debug>(result: Result<T, ProviderError>) -> String {
    match result {
        Err(ProviderError::Api { code, .. }) => code,
        other => panic!("expected an API error, got {other:?}"),
    }
}

impl Harness {
    pub fn cloud_file(&self) -> std::path::PathBuf {
        self.directory.path().join("sim/cloud.json")
    }

    pub fn tags(&self, address: &str) -> Tags {
        self.owner.tags_for(&Address::new(address))
    }

    pub fn request(&self, region: &str, kind: Kind, address: &str, value: Value) -> CreateRequest {
        CreateRequest {
            kind,
            region: region.to_string(),
            attributes: attributes(value),
            tags: self.tags(address),
            token: uuid::Uuid::new_v4().to_string(),
        }
    }

    pub async fn create(
        &self,
        region: &str,
        kind: Kind,
        address: &str,
        value: Value,
    ) -> Result<LiveResource, ProviderError> {
        self.provider
            .create(&self.request(region, kind, address, value))
            .await
    }

    pub async fn update(
        &self,
        live: &LiveResource,
        changes: Value,
    ) -> Result<LiveResource, ProviderError> {
        let mut after = live.attributes.clone();
        after.extend(attributes(changes));
        self.provider
            .update(&UpdateRequest {
                kind: live.kind,
                region: live.region.clone(),
                id: live.id.clone(),
                before: live.attributes.clone(),
                after,
                tags: live.tags.clone(),
                token: uuid::Uuid::new_v4().to_string(),
            })
            .await
    }

    pub async fn network(&self, region: &str, cidr: &str) -> Result<LiveResource, ProviderError> {
        self.create(
            region,
            Kind::Network,
            &format!("network.main[{region}]"),
            serde_json::json!({ "cidr": cidr }),
        )
        .await
    }

    pub async fn subnet(
        &self,
        network: &LiveResource,
        cidr: &str,
        zone: &str,
    ) -> Result<LiveResource, ProviderError> {
        self.create(
            &network.region,
            Kind::Subnet,
            &format!("network.main.subnet.public[{zone}]"),
            serde_json::json!({ "network_id": network.id, "cidr": cidr, "zone": zone, "public": true }),
        )
        .await
    }

    pub async fn read(&self, region: &str, kind: Kind) -> Result<Vec<LiveResource>, ProviderError> {
        self.provider.read(region, kind, &self.owner).await
    }
}
