//! A provider that retries throttled and transient calls with exponential backoff and full
//! jitter, for the operations outside the apply executor (backups, restores, DR health
//! checks), which has its own scheduling-aware retries.
//!
//! Retrying a create is safe where the cloud honours its idempotency token (the simulated
//! cloud, AWS's CreateVolume): a call that took effect before its answer was lost returns the
//! same resource the second time. Where it does not (AWS's CreateSnapshot), a create whose
//! answer was lost is only sent again once its object has been looked for, for as long as the
//! cloud's consistency window, by the [`TAG_CREATE_TOKEN`] tag its request carries (backup
//! snapshots carry one: their other tags are the same in every backup window). The apply
//! executor, which creates every resource of the configuration, looks for the object of an
//! ambiguous create by its address instead (see `crate::apply`).

use super::window::{Look, look_for_made};
use super::{CallCount, CreateRequest, LiveResource, Provider, ProviderError, UpdateRequest};
use crate::model::{Kind, Owner, Tags};
use crate::util::backoff::{Jitter, RetryPolicy, retry};
use async_trait::async_trait;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The tag holding the idempotency token of the call that made an object, on objects whose
/// other tags do not tell them apart (backup snapshots): a create whose request carries it,
/// equal to its token, is looked for by it before it is sent again after a lost answer.
pub const TAG_CREATE_TOKEN: &str = "cairn:token";

/// Six tries in all, waits from 100 ms doubling up to 5 s: about 10 s of waiting at most,
/// enough to ride out a burst of throttling without stalling a backup for long.
const POLICY: RetryPolicy = RetryPolicy {
    attempts: 6,
    base: Duration::from_millis(100),
    cap: Duration::from_secs(5),
    jitter: Jitter::Full,
};

/// Wraps a provider; every call is retried while it fails with a retryable error.
pub struct Retrying {
    inner: Arc<dyn Provider>,
}

impl Retrying {
    pub fn wrap(inner: Arc<dyn Provider>) -> Arc<dyn Provider> {
        Arc::new(Retrying { inner })
    }
}

async fn with_retries<T, F, Fut>(what: &str, call: F) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ProviderError>>,
{
    retry(POLICY, what, ProviderError::is_retryable, call).await
}

/// The object an earlier attempt of `request` made, if it shows up within the cloud's
/// consistency window: the one carrying every tag of the request, its token among them.
async fn made_earlier(
    provider: &dyn Provider,
    request: &CreateRequest,
) -> Result<Option<LiveResource>, ProviderError> {
    let Some(owner) = Owner::of(&request.tags) else {
        return Ok(None);
    };
    let look = Look {
        region: &request.region,
        kind: request.kind,
        owner: &owner,
        deadline: tokio::time::Instant::now() + provider.consistency_window(),
    };
    look_for_made(provider, &look, |live| {
        request
            .tags
            .iter()
            .all(|(key, value)| live.tags.get(key) == Some(value))
    })
    .await
}

#[async_trait]
impl Provider for Retrying {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    async fn read(
        &self,
        region: &str,
        kind: Kind,
        owner: &Owner,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        with_retries("read", || self.inner.read(region, kind, owner)).await
    }

    /// Retried like the rest, except that once an answer was lost (`Ambiguous`) a create
    /// that names itself by [`TAG_CREATE_TOKEN`] looks for its object before it is sent again,
    /// and a refusal because it exists (`Duplicate`, `AlreadyExists`) means "look again".
    async fn create(&self, request: &CreateRequest) -> Result<LiveResource, ProviderError> {
        let maybe_made = AtomicBool::new(false);
        let findable =
            !request.token.is_empty() && request.tags.get(TAG_CREATE_TOKEN) == Some(&request.token);
        let worth_again = |error: &ProviderError| {
            error.is_retryable() || (maybe_made.load(Ordering::Relaxed) && error.is_conflict())
        };
        retry(POLICY, "create", worth_again, || async {
            if findable && maybe_made.load(Ordering::Relaxed) {
                let found = made_earlier(self.inner.as_ref(), request).await?;
                if let Some(found) = found {
                    return Ok(found);
                }
            }
            let created = self.inner.create(request).await;
            if matches!(created, Err(ProviderError::Ambiguous { .. })) {
                maybe_made.store(true, Ordering::Relaxed);
            }
            created
        })
        .await
    }

    async fn update(&self, request: &UpdateRequest) -> Result<LiveResource, ProviderError> {
        with_retries("update", || self.inner.update(request)).await
    }

    async fn delete(&self, region: &str, kind: Kind, id: &str) -> Result<(), ProviderError> {
        with_retries("delete", || self.inner.delete(region, kind, id)).await
    }

    async fn import(
        &self,
        region: &str,
        kind: Kind,
        id: &str,
    ) -> Result<LiveResource, ProviderError> {
        with_retries("import", || self.inner.import(region, kind, id)).await
    }

    async fn discover(&self, region: &str, kind: Kind) -> Result<Vec<LiveResource>, ProviderError> {
        with_retries("discover", || self.inner.discover(region, kind)).await
    }

    async fn zones(&self, region: &str) -> Result<Vec<String>, ProviderError> {
        with_retries("zones", || self.inner.zones(region)).await
    }

    /// Retried like the rest: a retry after a lost answer finds the instance gone
    /// (`NotFound`), which a rollout takes as done.
    async fn terminate_in_group(
        &self,
        region: &str,
        group: &str,
        instance: &str,
    ) -> Result<(), ProviderError> {
        with_retries("terminate_in_group", || {
            self.inner.terminate_in_group(region, group, instance)
        })
        .await
    }

    async fn target_health(
        &self,
        region: &str,
        target_group: &str,
    ) -> Result<Vec<(String, String)>, ProviderError> {
        with_retries("target_health", || {
            self.inner.target_health(region, target_group)
        })
        .await
    }

    /// Retried like the rest: registering again what is registered changes nothing.
    async fn register_targets(
        &self,
        region: &str,
        target_group: &str,
        instances: &[String],
    ) -> Result<(), ProviderError> {
        with_retries("register_targets", || {
            self.inner.register_targets(region, target_group, instances)
        })
        .await
    }

    async fn deregister_targets(
        &self,
        region: &str,
        target_group: &str,
        instances: &[String],
    ) -> Result<(), ProviderError> {
        with_retries("deregister_targets", || {
            self.inner
                .deregister_targets(region, target_group, instances)
        })
        .await
    }

    async fn launch_template_version(
        &self,
        region: &str,
        template: &str,
        version: &crate::model::Value,
    ) -> Result<crate::model::Attributes, ProviderError> {
        with_retries("launch_template_version", || {
            self.inner
                .launch_template_version(region, template, version)
        })
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

    /// Retried like the rest: rewriting tags to the same values twice is the same as once.
    async fn set_ownership(
        &self,
        region: &str,
        kind: Kind,
        id: &str,
        ownership: &Tags,
    ) -> Result<LiveResource, ProviderError> {
        with_retries("set ownership", || {
            self.inner.set_ownership(region, kind, id, ownership)
        })
        .await
    }

    async fn now(&self) -> Result<chrono::DateTime<chrono::Utc>, ProviderError> {
        self.inner.now().await
    }

    fn timings(&self) -> crate::model::timings::Timings {
        self.inner.timings()
    }

    async fn image_exists(&self, region: &str, image: &str) -> Result<Option<bool>, ProviderError> {
        with_retries("image_exists", || self.inner.image_exists(region, image)).await
    }

    async fn quotas(&self, region: &str) -> Result<Vec<super::Quota>, ProviderError> {
        with_retries("quotas", || self.inner.quotas(region)).await
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
    use std::sync::Mutex;

    /// A cloud of snapshots that, like AWS's CreateSnapshot, takes no idempotency token: every
    /// create makes a new snapshot, and the first create's answer is lost after the snapshot
    /// was made. Its reads fail with `error` `failures` times, then succeed.
    struct Snapshots {
        failures: Mutex<u32>,
        error: fn() -> ProviderError,
        reads: Mutex<u32>,
        snapshots: Mutex<Vec<LiveResource>>,
        creates: Mutex<u32>,
    }

    #[async_trait]
    impl Provider for Snapshots {
        fn name(&self) -> &'static str {
            "snapshots"
        }
        async fn read(
            &self,
            _region: &str,
            _kind: Kind,
            owner: &Owner,
        ) -> Result<Vec<LiveResource>, ProviderError> {
            *self.reads.lock().unwrap() += 1;
            let mut failures = self.failures.lock().unwrap();
            if *failures > 0 {
                *failures -= 1;
                return Err((self.error)());
            }
            let snapshots = self.snapshots.lock().unwrap();
            Ok(snapshots
                .iter()
                .filter(|live| owner.owns(&live.tags))
                .cloned()
                .collect())
        }
        async fn create(&self, request: &CreateRequest) -> Result<LiveResource, ProviderError> {
            let mut creates = self.creates.lock().unwrap();
            *creates += 1;
            let mut snapshots = self.snapshots.lock().unwrap();
            let made = LiveResource {
                kind: request.kind,
                region: request.region.clone(),
                id: format!("snap-{}", snapshots.len() + 1),
                attributes: request.attributes.clone(),
                tags: request.tags.clone(),
            };
            snapshots.push(made.clone());
            if *creates == 1 {
                return Err(ProviderError::Ambiguous {
                    message: "the answer was lost".into(),
                });
            }
            Ok(made)
        }
        async fn update(&self, _request: &UpdateRequest) -> Result<LiveResource, ProviderError> {
            unreachable!()
        }
        async fn delete(&self, _region: &str, _kind: Kind, _id: &str) -> Result<(), ProviderError> {
            unreachable!()
        }
        async fn import(
            &self,
            _region: &str,
            _kind: Kind,
            _id: &str,
        ) -> Result<LiveResource, ProviderError> {
            unreachable!()
        }
        fn calls(&self) -> CallCount {
            CallCount::default()
        }
    }

    /// A cloud whose reads fail with `error` `failures` times (and whose first create's
    /// answer is lost once creates counts 0).
    fn flaky(failures: u32, error: fn() -> ProviderError) -> Arc<Snapshots> {
        Arc::new(Snapshots {
            failures: Mutex::new(failures),
            error,
            reads: Mutex::new(0),
            snapshots: Mutex::new(Vec::new()),
            creates: Mutex::new(0),
        })
    }

    fn owner() -> Owner {
        Owner {
            stack: "s".into(),
            env: "e".into(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_is_retried_until_the_call_succeeds() {
        let inner = flaky(3, || ProviderError::Throttled {
            message: "slow down".into(),
        });
        let provider = Retrying::wrap(inner.clone());
        provider
            .read("us-east-1", Kind::Snapshot, &owner())
            .await
            .unwrap();
        assert_eq!(*inner.reads.lock().unwrap(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn permanent_errors_are_not_retried_and_retries_are_bounded() {
        let inner = flaky(1, || ProviderError::NotFound {
            kind: Kind::Volume,
            region: "r".into(),
            id: "vol-1".into(),
        });
        let provider = Retrying::wrap(inner.clone());
        assert!(provider.read("r", Kind::Volume, &owner()).await.is_err());
        assert_eq!(*inner.reads.lock().unwrap(), 1);

        let inner = flaky(100, || ProviderError::Throttled {
            message: "slow down".into(),
        });
        let provider = Retrying::wrap(inner.clone());
        assert!(provider.read("r", Kind::Volume, &owner()).await.is_err());
        assert_eq!(*inner.reads.lock().unwrap(), POLICY.attempts);
    }

    fn snapshot_request(token: &str) -> CreateRequest {
        let mut tags = owner().tags_for(&crate::model::Address::new("volume.data[us-east-1]"));
        tags.insert("cairn:backup-policy".into(), "daily".into());
        tags.insert(TAG_CREATE_TOKEN.into(), token.into());
        CreateRequest {
            kind: Kind::Snapshot,
            region: "us-east-1".into(),
            attributes: crate::model::Attributes::new(),
            tags,
            token: token.into(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_snapshot_create_whose_answer_was_lost_is_found_by_its_token_not_sent_again() {
        // Reads never fail; the first create is not the one whose answer is lost.
        let cloud = flaky(0, || ProviderError::Transient {
            message: "unused".into(),
        });
        *cloud.creates.lock().unwrap() = 1;
        // Yesterday's snapshot of the same volume: the same tags but the token, never taken
        // for today's.
        let old = cloud
            .create(&snapshot_request("cairn-backup-yesterday"))
            .await;
        assert_eq!(old.map(|live| live.id), Ok("snap-1".to_string()));
        *cloud.creates.lock().unwrap() = 0;

        let provider = Retrying::wrap(cloud.clone());
        let made = provider
            .create(&snapshot_request("cairn-backup-today"))
            .await;
        assert_eq!(made.map(|live| live.id), Ok("snap-2".to_string()));
        assert_eq!(*cloud.creates.lock().unwrap(), 1, "sent again");
        assert_eq!(cloud.snapshots.lock().unwrap().len(), 2);
    }
}
