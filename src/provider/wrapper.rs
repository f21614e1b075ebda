//! The one forwarding mechanism of provider wrappers: [`Wrapped`] implements every
//! [`Provider`] method once, passing each call to the cloud through its [`Layer`] (retries in
//! [`super::Retrying`], pacing in [`super::Paced`]) and answering every question about the
//! cloud (its name, clock, consistency window, call counts) from the provider inside.
//!
//! Promise: a method added to [`Provider`] (which has no default bodies) fails to compile here
//! until it is forwarded, so no wrapper can answer "cannot" for a cloud that can. Which calls
//! go through the layer, and which bucket each draws on, is written once below.

use super::rate_limits::Call;
use super::{
    CallCount, CreateRequest, LiveResource, Provider, ProviderError, ReadSession, UpdateRequest,
};
use crate::model::{Attributes, Kind, Owner, Tags, Value};
use async_trait::async_trait;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// The answer of one call to the provider inside, as its (boxed) async method returns it.
pub type Answer<'a, T> = Pin<Box<dyn Future<Output = Result<T, ProviderError>> + Send + 'a>>;

/// One call to the cloud as a layer sees it.
#[derive(Debug, Clone, Copy)]
pub struct Operation<'a> {
    /// The provider method, for logs.
    pub name: &'static str,
    pub region: &'a str,
    /// The kind whose API the call goes to (a target group's for target registrations).
    pub kind: Kind,
    /// Which of the cloud's rate-limit buckets it draws on.
    pub call: Call,
}

impl<'a> Operation<'a> {
    fn read(name: &'static str, region: &'a str, kind: Kind) -> Operation<'a> {
        Operation {
            name,
            region,
            kind,
            call: Call::Read,
        }
    }

    fn mutate(name: &'static str, region: &'a str, kind: Kind) -> Operation<'a> {
        Operation {
            call: Call::Mutate,
            ..Operation::read(name, region, kind)
        }
    }
}

/// What a wrapper does around each call to the cloud.
pub trait Layer: Send + Sync + 'static {
    /// Runs `operation` through the layer: `run` sends it to `inner` once each time it is
    /// called.
    ///
    /// # Errors
    /// The call's error once the layer gives up, or the layer's own (a clock it cannot read).
    fn around<'a, T, Run>(
        &'a self,
        inner: &'a dyn Provider,
        operation: Operation<'a>,
        run: Run,
    ) -> impl Future<Output = Result<T, ProviderError>> + Send + 'a
    where
        T: Send + 'a,
        Run: FnMut() -> Answer<'a, T> + Send + 'a;

    /// Runs the create of `request` through the layer: as any other call, unless the layer
    /// must know what it creates (a retry after a lost answer looks for what it may have
    /// made).
    ///
    /// # Errors
    /// As [`Layer::around`].
    fn around_create<'a, Run>(
        &'a self,
        inner: &'a dyn Provider,
        request: &'a CreateRequest,
        operation: Operation<'a>,
        run: Run,
    ) -> impl Future<Output = Result<LiveResource, ProviderError>> + Send + 'a
    where
        Run: FnMut() -> Answer<'a, LiveResource> + Send + 'a,
    {
        let _ = request;
        self.around(inner, operation, run)
    }
}

/// A provider wrapped in a layer.
pub struct Wrapped<L> {
    inner: Arc<dyn Provider>,
    layer: L,
}

impl<L: Layer> Wrapped<L> {
    pub fn new(inner: Arc<dyn Provider>, layer: L) -> Wrapped<L> {
        Wrapped { inner, layer }
    }

    pub fn layer(&self) -> &L {
        &self.layer
    }

    async fn around<'a, T: Send + 'a>(
        &'a self,
        operation: Operation<'a>,
        run: impl FnMut() -> Answer<'a, T> + Send + 'a,
    ) -> Result<T, ProviderError> {
        self.layer.around(self.inner.as_ref(), operation, run).await
    }
}

#[async_trait]
impl<L: Layer> Provider for Wrapped<L> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    async fn read(
        &self,
        region: &str,
        kind: Kind,
        owner: &Owner,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let operation = Operation::read("read", region, kind);
        self.around(operation, || self.inner.read(region, kind, owner))
            .await
    }

    async fn create(&self, request: &CreateRequest) -> Result<LiveResource, ProviderError> {
        let operation = Operation {
            name: "create",
            region: &request.region,
            kind: request.kind,
            call: Call::of(request.kind, true, true),
        };
        let inner = self.inner.as_ref();
        self.layer
            .around_create(inner, request, operation, || inner.create(request))
            .await
    }

    async fn update(&self, request: &UpdateRequest) -> Result<LiveResource, ProviderError> {
        let operation = Operation::mutate("update", &request.region, request.kind);
        self.around(operation, || self.inner.update(request)).await
    }

    async fn delete(&self, region: &str, kind: Kind, id: &str) -> Result<(), ProviderError> {
        let operation = Operation::mutate("delete", region, kind);
        self.around(operation, || self.inner.delete(region, kind, id))
            .await
    }

    async fn set_ownership(
        &self,
        region: &str,
        kind: Kind,
        id: &str,
        ownership: &Tags,
    ) -> Result<LiveResource, ProviderError> {
        let operation = Operation::mutate("set_ownership", region, kind);
        self.around(operation, || {
            self.inner.set_ownership(region, kind, id, ownership)
        })
        .await
    }

    async fn discover(&self, region: &str, kind: Kind) -> Result<Vec<LiveResource>, ProviderError> {
        let operation = Operation::read("discover", region, kind);
        self.around(operation, || self.inner.discover(region, kind))
            .await
    }

    async fn import(
        &self,
        region: &str,
        kind: Kind,
        id: &str,
    ) -> Result<LiveResource, ProviderError> {
        let operation = Operation::read("import", region, kind);
        self.around(operation, || self.inner.import(region, kind, id))
            .await
    }

    /// DescribeAvailabilityZones, an EC2 read.
    async fn zones(&self, region: &str) -> Result<Vec<String>, ProviderError> {
        let operation = Operation::read("zones", region, Kind::Subnet);
        self.around(operation, || self.inner.zones(region)).await
    }

    fn consistency_window(&self) -> Duration {
        self.inner.consistency_window()
    }

    async fn now(&self) -> Result<chrono::DateTime<chrono::Utc>, ProviderError> {
        self.inner.now().await
    }

    /// TerminateInstanceInAutoScalingGroup, an Auto Scaling call. A retry after a lost answer
    /// finds the instance gone (`NotFound`), which a rollout takes as done.
    async fn terminate_in_group(
        &self,
        region: &str,
        group: &str,
        instance: &str,
    ) -> Result<(), ProviderError> {
        let operation = Operation::mutate("terminate_in_group", region, Kind::AutoscalingGroup);
        self.around(operation, || {
            self.inner.terminate_in_group(region, group, instance)
        })
        .await
    }

    /// DescribeTargetHealth, an ELB read.
    async fn target_health(
        &self,
        region: &str,
        target_group: &str,
    ) -> Result<Vec<(String, String)>, ProviderError> {
        let operation = Operation::read("target_health", region, Kind::TargetGroup);
        self.around(operation, || self.inner.target_health(region, target_group))
            .await
    }

    /// RegisterTargets, an ELB change: registering again what is registered changes nothing.
    async fn register_targets(
        &self,
        region: &str,
        target_group: &str,
        instances: &[String],
    ) -> Result<(), ProviderError> {
        let operation = Operation::mutate("register_targets", region, Kind::TargetGroup);
        self.around(operation, || {
            self.inner.register_targets(region, target_group, instances)
        })
        .await
    }

    /// DeregisterTargets, an ELB change.
    async fn deregister_targets(
        &self,
        region: &str,
        target_group: &str,
        instances: &[String],
    ) -> Result<(), ProviderError> {
        let operation = Operation::mutate("deregister_targets", region, Kind::TargetGroup);
        self.around(operation, || {
            self.inner
                .deregister_targets(region, target_group, instances)
        })
        .await
    }

    /// DescribeLaunchTemplateVersions, an EC2 read.
    async fn launch_template_version(
        &self,
        region: &str,
        template: &str,
        version: &Value,
    ) -> Result<Attributes, ProviderError> {
        let operation = Operation::read("launch_template_version", region, Kind::LaunchTemplate);
        self.around(operation, || {
            self.inner
                .launch_template_version(region, template, version)
        })
        .await
    }

    /// Waits are the cloud's clock moving, not calls: neither retried nor paced.
    async fn wait(&self, duration: Duration) -> Result<(), ProviderError> {
        self.inner.wait(duration).await
    }

    async fn wait_until(
        &self,
        when: chrono::DateTime<chrono::Utc>,
    ) -> Result<chrono::DateTime<chrono::Utc>, ProviderError> {
        self.inner.wait_until(when).await
    }

    fn rate_limited(&self) -> bool {
        self.inner.rate_limited()
    }

    fn timings(&self) -> crate::model::timings::Timings {
        self.inner.timings()
    }

    /// DescribeImages, an EC2 read.
    async fn image_exists(&self, region: &str, image: &str) -> Result<Option<bool>, ProviderError> {
        let operation = Operation::read("image_exists", region, Kind::Instance);
        self.around(operation, || self.inner.image_exists(region, image))
            .await
    }

    /// DescribeAccountAttributes (and the instances counted against it), an EC2 read.
    async fn quotas(&self, region: &str) -> Result<Vec<super::Quota>, ProviderError> {
        let operation = Operation::read("quotas", region, Kind::Instance);
        self.around(operation, || self.inner.quotas(region)).await
    }

    fn read_session(&self) -> ReadSession {
        self.inner.read_session()
    }

    fn calls(&self) -> CallCount {
        self.inner.calls()
    }

    /// Not a call to the cloud's API: nothing to pace or retry.
    async fn finish(&self) -> Result<(), ProviderError> {
        self.inner.finish().await
    }
}
