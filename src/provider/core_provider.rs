//! Clouds that only read, create, update, delete and import: the test doubles of the engine's
//! core (the apply executor's, the refresh's, a round trip's).
//!
//! A [`CoreProvider`] is a [`Provider`] whose other operations answer as a cloud that cannot
//! do them: listings, ownership edits, target registrations and the like refuse with
//! `UnsupportedOperation`; it reads what it just wrote (no consistency window), keeps the wall
//! clock, is not rate limited and cannot tell whether an image exists. This is the one place
//! such refusals live: the clouds and wrappers implement [`Provider`] itself, which has no
//! default bodies.

use super::{
    CallCount, CreateRequest, LiveResource, Provider, ProviderError, ReadSession, UpdateRequest,
    wait_on_wall_clock,
};
use crate::model::{Attributes, Kind, Owner, Tags, Value};
use async_trait::async_trait;
use std::time::Duration;

/// The core of [`Provider`]: see it for each operation's contract.
#[async_trait]
pub trait CoreProvider: Send + Sync {
    fn name(&self) -> &'static str;

    async fn read(
        &self,
        region: &str,
        kind: Kind,
        owner: &Owner,
    ) -> Result<Vec<LiveResource>, ProviderError>;

    async fn create(&self, request: &CreateRequest) -> Result<LiveResource, ProviderError>;

    async fn update(&self, request: &UpdateRequest) -> Result<LiveResource, ProviderError>;

    async fn delete(&self, region: &str, kind: Kind, id: &str) -> Result<(), ProviderError>;

    async fn import(
        &self,
        region: &str,
        kind: Kind,
        id: &str,
    ) -> Result<LiveResource, ProviderError>;

    fn calls(&self) -> CallCount;
}

/// `UnsupportedOperation`: the `cloud` cannot do `what`.
fn cannot(cloud: &str, what: &str) -> ProviderError {
    ProviderError::Api {
        code: "UnsupportedOperation".to_string(),
        message: format!("the `{cloud}` cloud cannot {what}"),
    }
}

#[async_trait]
impl<C: CoreProvider> Provider for C {
    fn name(&self) -> &'static str {
        CoreProvider::name(self)
    }

    async fn read(
        &self,
        region: &str,
        kind: Kind,
        owner: &Owner,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        CoreProvider::read(self, region, kind, owner).await
    }

    async fn create(&self, request: &CreateRequest) -> Result<LiveResource, ProviderError> {
        CoreProvider::create(self, request).await
    }

    async fn update(&self, request: &UpdateRequest) -> Result<LiveResource, ProviderError> {
        CoreProvider::update(self, request).await
    }

    async fn delete(&self, region: &str, kind: Kind, id: &str) -> Result<(), ProviderError> {
        CoreProvider::delete(self, region, kind, id).await
    }

    async fn set_ownership(
        &self,
        _region: &str,
        _kind: Kind,
        _id: &str,
        _ownership: &Tags,
    ) -> Result<LiveResource, ProviderError> {
        Err(cannot(CoreProvider::name(self), "rewrite ownership tags"))
    }

    async fn discover(
        &self,
        _region: &str,
        kind: Kind,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        Err(cannot(
            CoreProvider::name(self),
            &format!("list {kind} resources"),
        ))
    }

    async fn import(
        &self,
        region: &str,
        kind: Kind,
        id: &str,
    ) -> Result<LiveResource, ProviderError> {
        CoreProvider::import(self, region, kind, id).await
    }

    async fn zones(&self, region: &str) -> Result<Vec<String>, ProviderError> {
        let what = format!("list the zones of `{region}`");
        Err(cannot(CoreProvider::name(self), &what))
    }

    fn consistency_window(&self) -> Duration {
        Duration::ZERO
    }

    async fn now(&self) -> Result<chrono::DateTime<chrono::Utc>, ProviderError> {
        Ok(chrono::Utc::now())
    }

    async fn terminate_in_group(
        &self,
        _region: &str,
        _group: &str,
        _instance: &str,
    ) -> Result<(), ProviderError> {
        Err(cannot(
            CoreProvider::name(self),
            "terminate an instance of a group",
        ))
    }

    async fn target_health(
        &self,
        _region: &str,
        _target_group: &str,
    ) -> Result<Vec<(String, String)>, ProviderError> {
        Err(cannot(CoreProvider::name(self), "read target health"))
    }

    async fn register_targets(
        &self,
        _region: &str,
        _target_group: &str,
        _instances: &[String],
    ) -> Result<(), ProviderError> {
        Err(cannot(CoreProvider::name(self), "register targets"))
    }

    async fn deregister_targets(
        &self,
        _region: &str,
        _target_group: &str,
        _instances: &[String],
    ) -> Result<(), ProviderError> {
        Err(cannot(CoreProvider::name(self), "deregister targets"))
    }

    async fn launch_template_version(
        &self,
        _region: &str,
        _template: &str,
        _version: &Value,
    ) -> Result<Attributes, ProviderError> {
        Err(cannot(
            CoreProvider::name(self),
            "read a launch template version",
        ))
    }

    async fn wait(&self, duration: Duration) -> Result<(), ProviderError> {
        tokio::time::sleep(duration).await;
        Ok(())
    }

    async fn wait_until(
        &self,
        when: chrono::DateTime<chrono::Utc>,
    ) -> Result<chrono::DateTime<chrono::Utc>, ProviderError> {
        Ok(wait_on_wall_clock(when).await)
    }

    fn rate_limited(&self) -> bool {
        false
    }

    fn timings(&self) -> crate::model::timings::Timings {
        crate::model::timings::Timings::AWS
    }

    async fn image_exists(
        &self,
        _region: &str,
        _image: &str,
    ) -> Result<Option<bool>, ProviderError> {
        Ok(None)
    }

    async fn quotas(&self, _region: &str) -> Result<Vec<super::Quota>, ProviderError> {
        Ok(Vec::new())
    }

    fn read_session(&self) -> ReadSession {
        ReadSession::default()
    }

    fn calls(&self) -> CallCount {
        CoreProvider::calls(self)
    }

    async fn finish(&self) -> Result<(), ProviderError> {
        Ok(())
    }
}
