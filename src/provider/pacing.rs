//! Client-side pacing to the cloud's API rate limits: a provider wrapper ([`Paced`]) that
//! keeps, per region and bucket, its own copy of the token bucket each call draws on (see
//! [`super::rate_limits`]) and holds a call back until its copy has a token, so that a large
//! apply runs at the rate the cloud allows instead of bursting into throttling errors.
//!
//! One implementation for both clouds, wrapped around the provider when it is opened: AWS is
//! always rate limited; the simulated cloud when it emulates the buckets. Waits are on the
//! cloud's clock ([`Provider::wait_until`]): real time on AWS, the simulated cloud's own clock
//! when it is set, which is the clock its emulated buckets refill on, so a paced apply on it
//! takes no real time and is repeatable.
//!
//! Adapting: the cloud's buckets may hold fewer tokens than the copy thinks (other clients of
//! the account, another process a moment ago, a call that costs several tokens). A throttled
//! call empties the copy and halves its refill rate (down to a sixteenth), once per
//! "generation" as the apply's concurrency control does: calls sent before the slowdown say
//! nothing new. Every `burst` calls that succeed since give back a fifth of the slowdown, up to
//! the documented rate. The throttled call itself goes back to its caller, whose retries
//! (`Retrying`, the executor's, the refresh's) are the safety net; their next attempt is paced
//! too.
//!
//! Known limit: a provider operation draws one token, also where it makes several API calls
//! (a paginated read; an AWS security group created, then its rules authorized). On AWS the
//! adaptation absorbs the difference; the simulated cloud counts one call per operation, as
//! the pacer does.

use super::rate_limits::{Bucket, Call, TokenBucket, instant, nanos};
use super::{CallCount, CreateRequest, LiveResource, Provider, ProviderError, UpdateRequest};
use crate::model::{Kind, Owner, Tags};
use async_trait::async_trait;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// The refill rate at its documented value, in thousandths.
const NOMINAL: u32 = 1_000;
/// The slowest a copy refills after throttles: a sixteenth of the documented rate.
const SLOWEST: u32 = 16 * NOMINAL;

/// A provider whose calls are paced to the cloud's API token buckets.
pub struct Paced {
    inner: Arc<dyn Provider>,
    pacer: Pacer,
}

impl Paced {
    /// Paces `inner` when its cloud is rate limited ([`Provider::rate_limited`]); returns it
    /// as it is otherwise.
    pub fn wrap(inner: Arc<dyn Provider>) -> Arc<dyn Provider> {
        if !inner.rate_limited() {
            return inner;
        }
        Arc::new(Paced {
            inner,
            pacer: Pacer::default(),
        })
    }

    /// Runs `call` once its bucket has a token, and tells the pacer how it ended.
    async fn paced<T>(
        &self,
        region: &str,
        kind: Kind,
        call: Call,
        operation: impl Future<Output = Result<T, ProviderError>>,
    ) -> Result<T, ProviderError> {
        let bucket = Bucket::of(kind, call);
        let ticket = self
            .pacer
            .admit(self.inner.as_ref(), region, bucket)
            .await?;
        let result = operation.await;
        let throttled = matches!(result, Err(ProviderError::Throttled { .. }));
        self.pacer.report(&ticket, throttled);
        result
    }
}

/// The client's copies of the buckets, and the latest reading of the cloud's clock.
#[derive(Default)]
pub struct Pacer {
    state: Mutex<PacerState>,
}

#[derive(Default)]
struct PacerState {
    /// The latest time read from the cloud's clock, in nanoseconds (its clock never goes
    /// back, so neither does this).
    known_now: Option<i64>,
    buckets: HashMap<(String, Bucket), ClientBucket>,
}

/// The client's copy of one bucket.
struct ClientBucket {
    tokens: TokenBucket,
    /// The refill interval's multiple of the documented one, in thousandths.
    slowdown: u32,
    /// Calls that succeeded since the slowdown last changed.
    successes: u32,
    /// Bumped by each slowdown; a throttle of a call sent in an older one changes nothing.
    generation: u64,
}

impl Default for ClientBucket {
    fn default() -> Self {
        ClientBucket {
            tokens: TokenBucket::default(),
            slowdown: NOMINAL,
            successes: 0,
            generation: 0,
        }
    }
}

impl ClientBucket {
    fn interval(&self, bucket: Bucket) -> i64 {
        bucket.limit().interval_nanos() * i64::from(self.slowdown) / i64::from(NOMINAL)
    }
}

/// A call let through: which copy it drew on, and in which generation.
#[derive(Debug)]
pub struct Ticket {
    key: (String, Bucket),
    generation: u64,
}

impl Pacer {
    fn state(&self) -> MutexGuard<'_, PacerState> {
        // Every update below leaves the state whole, so a panic elsewhere cannot tear it.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn observe(&self, now: i64) -> i64 {
        let mut state = self.state();
        let known = state.known_now.map_or(now, |known| known.max(now));
        state.known_now = Some(known);
        known
    }

    /// Waits on `clock` (the cloud's clock) until the copy of `bucket` in `region` has a token
    /// for one call, and takes it. Calls admitted together get instants one token apart.
    ///
    /// # Errors
    /// When the cloud's clock cannot be read or waited on.
    pub async fn admit(
        &self,
        clock: &dyn Provider,
        region: &str,
        bucket: Bucket,
    ) -> Result<Ticket, ProviderError> {
        // Read afresh for every call: a copy that counted a call at an instant older than
        // the one the cloud saw it at would think itself fuller than the cloud's bucket.
        let known = self.observe(nanos(clock.now().await?));
        let key = (bucket.scope(region).to_string(), bucket);
        let (ready, generation) = {
            let mut state = self.state();
            let copy = state.buckets.entry(key.clone()).or_default();
            let interval = copy.interval(bucket);
            let ready = copy.tokens.reserve(known, interval, bucket.limit().burst);
            (ready, copy.generation)
        };
        if ready > known {
            let now = clock.wait_until(instant(ready)).await?;
            self.observe(nanos(now));
        }
        Ok(Ticket { key, generation })
    }

    /// Tells the pacer how the call of `ticket` ended: a throttle slows its copy down (once
    /// per generation) and empties it; successes bring the rate back.
    pub fn report(&self, ticket: &Ticket, throttled: bool) {
        let mut state = self.state();
        let known = state.known_now.unwrap_or_default();
        let Some(copy) = state.buckets.get_mut(&ticket.key) else {
            return;
        };
        let bucket = ticket.key.1;
        let burst = bucket.limit().burst;
        if throttled {
            copy.successes = 0;
            if ticket.generation < copy.generation {
                return;
            }
            copy.generation += 1;
            copy.slowdown = copy.slowdown.saturating_mul(2).min(SLOWEST);
            let interval = copy.interval(bucket);
            copy.tokens.drain(known, interval, burst);
            tracing::debug!(
                region = %ticket.key.0,
                %bucket,
                slowdown = f64::from(copy.slowdown) / f64::from(NOMINAL),
                "throttled: pacing slower"
            );
            return;
        }
        if copy.slowdown == NOMINAL {
            return;
        }
        copy.successes += 1;
        if copy.successes >= burst {
            copy.successes = 0;
            copy.slowdown = (copy.slowdown - copy.slowdown / 5).max(NOMINAL);
        }
    }

    /// The refill rate the copy of `bucket` in `region` paces to, as a share of the
    /// documented one (1 when it never slowed down).
    pub fn rate_share(&self, region: &str, bucket: Bucket) -> f64 {
        let key = (bucket.scope(region).to_string(), bucket);
        let slowdown = self
            .state()
            .buckets
            .get(&key)
            .map_or(NOMINAL, |copy| copy.slowdown);
        f64::from(NOMINAL) / f64::from(slowdown)
    }
}

#[async_trait]
impl Provider for Paced {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    async fn read(
        &self,
        region: &str,
        kind: Kind,
        owner: &Owner,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let read = self.inner.read(region, kind, owner);
        self.paced(region, kind, Call::Read, read).await
    }

    async fn discover(&self, region: &str, kind: Kind) -> Result<Vec<LiveResource>, ProviderError> {
        let read = self.inner.discover(region, kind);
        self.paced(region, kind, Call::Read, read).await
    }

    async fn create(&self, request: &CreateRequest) -> Result<LiveResource, ProviderError> {
        let call = Call::of(request.kind, true, true);
        let create = self.inner.create(request);
        self.paced(&request.region, request.kind, call, create)
            .await
    }

    async fn update(&self, request: &UpdateRequest) -> Result<LiveResource, ProviderError> {
        let update = self.inner.update(request);
        self.paced(&request.region, request.kind, Call::Mutate, update)
            .await
    }

    async fn delete(&self, region: &str, kind: Kind, id: &str) -> Result<(), ProviderError> {
        let delete = self.inner.delete(region, kind, id);
        self.paced(region, kind, Call::Mutate, delete).await
    }

    async fn set_ownership(
        &self,
        region: &str,
        kind: Kind,
        id: &str,
        ownership: &Tags,
    ) -> Result<LiveResource, ProviderError> {
        let tag = self.inner.set_ownership(region, kind, id, ownership);
        self.paced(region, kind, Call::Mutate, tag).await
    }

    async fn import(
        &self,
        region: &str,
        kind: Kind,
        id: &str,
    ) -> Result<LiveResource, ProviderError> {
        let read = self.inner.import(region, kind, id);
        self.paced(region, kind, Call::Read, read).await
    }

    /// DescribeAvailabilityZones, an EC2 read.
    async fn zones(&self, region: &str) -> Result<Vec<String>, ProviderError> {
        let read = self.inner.zones(region);
        self.paced(region, Kind::Subnet, Call::Read, read).await
    }

    fn consistency_window(&self) -> Duration {
        self.inner.consistency_window()
    }

    async fn now(&self) -> Result<chrono::DateTime<chrono::Utc>, ProviderError> {
        self.inner.now().await
    }

    /// TerminateInstanceInAutoScalingGroup, an Auto Scaling call.
    async fn terminate_in_group(
        &self,
        region: &str,
        group: &str,
        instance: &str,
    ) -> Result<(), ProviderError> {
        let terminate = self.inner.terminate_in_group(region, group, instance);
        self.paced(region, Kind::AutoscalingGroup, Call::Mutate, terminate)
            .await
    }

    async fn target_health(
        &self,
        region: &str,
        target_group: &str,
    ) -> Result<Vec<(String, String)>, ProviderError> {
        let read = self.inner.target_health(region, target_group);
        self.paced(region, Kind::TargetGroup, Call::Read, read)
            .await
    }

    /// RegisterTargets, an ELB change.
    async fn register_targets(
        &self,
        region: &str,
        target_group: &str,
        instances: &[String],
    ) -> Result<(), ProviderError> {
        let register = self.inner.register_targets(region, target_group, instances);
        self.paced(region, Kind::TargetGroup, Call::Mutate, register)
            .await
    }

    /// DeregisterTargets, an ELB change.
    async fn deregister_targets(
        &self,
        region: &str,
        target_group: &str,
        instances: &[String],
    ) -> Result<(), ProviderError> {
        let deregister = self
            .inner
            .deregister_targets(region, target_group, instances);
        self.paced(region, Kind::TargetGroup, Call::Mutate, deregister)
            .await
    }

    /// DescribeLaunchTemplateVersions, an EC2 read.
    async fn launch_template_version(
        &self,
        region: &str,
        template: &str,
        version: &crate::model::Value,
    ) -> Result<crate::model::Attributes, ProviderError> {
        let read = self
            .inner
            .launch_template_version(region, template, version);
        self.paced(region, Kind::LaunchTemplate, Call::Read, read)
            .await
    }

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
        let read = self.inner.image_exists(region, image);
        self.paced(region, Kind::Instance, Call::Read, read).await
    }

    /// DescribeAccountAttributes and the listings usage is counted from, EC2 reads.
    async fn quotas(&self, region: &str) -> Result<Vec<super::Quota>, ProviderError> {
        let read = self.inner.quotas(region);
        self.paced(region, Kind::Instance, Call::Read, read).await
    }

    fn read_session(&self) -> super::ReadSession {
        self.inner.read_session()
    }

    fn calls(&self) -> CallCount {
        self.inner.calls()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Retrying;
    use crate::provider::rate_limits::Limit;

    /// A cloud with a clock of its own that moves only when waited on, and one EC2 mutating
    /// bucket per region that refills at `share` of the documented rate (1: as documented).
    struct Throttling {
        clock: Mutex<i64>,
        buckets: Mutex<HashMap<String, TokenBucket>>,
        share: u32,
        deletes: Mutex<u32>,
        throttles: Mutex<u32>,
        /// The calls with a default body in the trait that reached this cloud.
        reached: Mutex<Vec<&'static str>>,
    }

    impl Throttling {
        fn new(share: u32) -> Arc<Throttling> {
            Arc::new(Throttling {
                clock: Mutex::new(1_700_000_000 * 1_000_000_000),
                buckets: Mutex::new(HashMap::new()),
                share,
                deletes: Mutex::new(0),
                throttles: Mutex::new(0),
                reached: Mutex::new(Vec::new()),
            })
        }

        fn reach(&self, call: &'static str) {
            self.reached.lock().unwrap().push(call);
        }

        fn seconds_passed(&self, since: i64) -> f64 {
            (*self.clock.lock().unwrap() - since) as f64 / 1e9
        }
    }

    #[async_trait]
    impl Provider for Throttling {
        fn name(&self) -> &'static str {
            "throttling"
        }
        fn rate_limited(&self) -> bool {
            true
        }
        async fn read(
            &self,
            _region: &str,
            _kind: Kind,
            _owner: &Owner,
        ) -> Result<Vec<LiveResource>, ProviderError> {
            unreachable!()
        }
        async fn create(&self, _request: &CreateRequest) -> Result<LiveResource, ProviderError> {
            unreachable!()
        }
        async fn update(&self, _request: &UpdateRequest) -> Result<LiveResource, ProviderError> {
            unreachable!()
        }
        async fn delete(&self, region: &str, kind: Kind, _id: &str) -> Result<(), ProviderError> {
            let limit = Bucket::of(kind, Call::Mutate).limit();
            let interval = Limit {
                per_second: limit.per_second / self.share,
                ..limit
            }
            .interval_nanos();
            let now = *self.clock.lock().unwrap();
            let mut buckets = self.buckets.lock().unwrap();
            let bucket = buckets.entry(region.to_string()).or_default();
            match bucket.take(now, interval, limit.burst) {
                Ok(()) => {
                    *self.deletes.lock().unwrap() += 1;
                    Ok(())
                }
                Err(_) => {
                    *self.throttles.lock().unwrap() += 1;
                    Err(ProviderError::Throttled {
                        message: "RequestLimitExceeded".into(),
                    })
                }
            }
        }
        async fn import(
            &self,
            _region: &str,
            _kind: Kind,
            _id: &str,
        ) -> Result<LiveResource, ProviderError> {
            unreachable!()
        }
        async fn now(&self) -> Result<chrono::DateTime<chrono::Utc>, ProviderError> {
            Ok(instant(*self.clock.lock().unwrap()))
        }
        async fn wait_until(
            &self,
            when: chrono::DateTime<chrono::Utc>,
        ) -> Result<chrono::DateTime<chrono::Utc>, ProviderError> {
            let mut clock = self.clock.lock().unwrap();
            *clock = (*clock).max(nanos(when));
            Ok(instant(*clock))
        }
        async fn terminate_in_group(
            &self,
            _region: &str,
            _group: &str,
            _instance: &str,
        ) -> Result<(), ProviderError> {
            self.reach("terminate_in_group");
            Ok(())
        }
        async fn target_health(
            &self,
            _region: &str,
            _target_group: &str,
        ) -> Result<Vec<(String, String)>, ProviderError> {
            self.reach("target_health");
            Ok(Vec::new())
        }
        async fn register_targets(
            &self,
            _region: &str,
            _target_group: &str,
            _instances: &[String],
        ) -> Result<(), ProviderError> {
            self.reach("register_targets");
            Ok(())
        }
        async fn deregister_targets(
            &self,
            _region: &str,
            _target_group: &str,
            _instances: &[String],
        ) -> Result<(), ProviderError> {
            self.reach("deregister_targets");
            Ok(())
        }
        async fn launch_template_version(
            &self,
            _region: &str,
            _template: &str,
            _version: &crate::model::Value,
        ) -> Result<crate::model::Attributes, ProviderError> {
            self.reach("launch_template_version");
            Ok(crate::model::Attributes::new())
        }
        async fn quotas(
            &self,
            _region: &str,
        ) -> Result<Vec<crate::provider::Quota>, ProviderError> {
            self.reach("quotas");
            Ok(Vec::new())
        }
        fn calls(&self) -> CallCount {
            CallCount::default()
        }
    }

    /// Deletes `count` volumes in `regions`, `parallel` at a time, through `provider`; the
    /// failures.
    async fn delete_volumes(
        provider: Arc<dyn Provider>,
        regions: &[&'static str],
        count: usize,
        parallel: usize,
    ) -> usize {
        let mut failures = 0;
        let mut calls = tokio::task::JoinSet::new();
        for index in 0..count {
            if calls.len() >= parallel
                && let Some(done) = calls.join_next().await
            {
                failures += usize::from(!matches!(done, Ok(Ok(()))));
            }
            let provider = Arc::clone(&provider);
            let region = regions[index % regions.len()];
            calls.spawn(async move {
                provider
                    .delete(region, Kind::Volume, &format!("vol-{index}"))
                    .await
            });
        }
        while let Some(done) = calls.join_next().await {
            failures += usize::from(!matches!(done, Ok(Ok(()))));
        }
        failures
    }

    #[tokio::test(start_paused = true)]
    async fn unpaced_calls_past_the_burst_are_throttled() {
        // The control: the fake cloud does throttle.
        let cloud = Throttling::new(1);
        let failures = delete_volumes(cloud.clone(), &["us-east-1"], 80, 10).await;
        assert_eq!(failures, 30);
        assert_eq!(*cloud.throttles.lock().unwrap(), 30);
    }

    #[tokio::test(start_paused = true)]
    async fn a_paced_burst_stays_under_the_bucket_at_its_full_rate() {
        let cloud = Throttling::new(1);
        let start = *cloud.clock.lock().unwrap();
        let provider = Paced::wrap(cloud.clone());
        let failures = delete_volumes(provider, &["us-east-1", "us-west-2"], 600, 10).await;
        assert_eq!(failures, 0);
        assert_eq!(*cloud.throttles.lock().unwrap(), 0);
        assert_eq!(*cloud.deletes.lock().unwrap(), 600);
        // 300 calls a region: 50 at once, then 250 at 5 a second, both regions side by side,
        // waited for on the cloud's clock. Not a second more.
        assert_eq!(cloud.seconds_passed(start), 50.0);
    }

    #[tokio::test(start_paused = true)]
    async fn after_a_throttle_the_pacer_slows_down_and_retries_get_through() {
        // The cloud refills at half the documented rate: the pacer learns it.
        let cloud = Throttling::new(2);
        let paced = Arc::new(Paced {
            inner: cloud.clone(),
            pacer: Pacer::default(),
        });
        let provider = Retrying::wrap(paced.clone());
        let failures = delete_volumes(provider, &["us-east-1"], 300, 10).await;
        assert_eq!(failures, 0, "a throttle reached the caller");
        assert_eq!(*cloud.deletes.lock().unwrap(), 300);
        let throttles = *cloud.throttles.lock().unwrap();
        assert!(
            throttles > 0,
            "the cloud never throttled: nothing was learned"
        );
        // Without adapting, every call past the burst that the documented rate allows and the
        // real one does not would be throttled at least once: about 125 of them.
        assert!(
            throttles <= 30,
            "{throttles} throttles: the pacer did not adapt"
        );
        assert!(paced.pacer.rate_share("us-east-1", Bucket::Ec2Mutate) < 1.0);
    }

    #[tokio::test(start_paused = true)]
    async fn the_paced_and_retrying_wrappers_pass_every_rollout_call_to_the_cloud() {
        // The trait's default bodies refuse: a wrapper that does not forward a call answers
        // "cannot" on the real cloud (it happened once, to the canary's target registrations).
        let cloud = Throttling::new(1);
        let provider = Retrying::wrap(Paced::wrap(cloud.clone()));
        let instances = ["i-1".to_string()];
        let region = "us-east-1";
        provider
            .terminate_in_group(region, "web", "i-1")
            .await
            .unwrap();
        provider.target_health(region, "tg").await.unwrap();
        provider
            .register_targets(region, "tg", &instances)
            .await
            .unwrap();
        provider
            .deregister_targets(region, "tg", &instances)
            .await
            .unwrap();
        provider
            .launch_template_version(region, "lt-1", &crate::model::Value::from(2))
            .await
            .unwrap();
        provider.quotas(region).await.unwrap();
        assert_eq!(
            *cloud.reached.lock().unwrap(),
            [
                "terminate_in_group",
                "target_health",
                "register_targets",
                "deregister_targets",
                "launch_template_version",
                "quotas",
            ]
        );
    }
}
