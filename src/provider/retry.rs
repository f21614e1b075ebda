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
use super::wrapper::Answer;
use super::{CreateRequest, Layer, LiveResource, Operation, Provider, ProviderError, Wrapped};
use crate::model::Owner;
use crate::util::backoff::{Jitter, RetryPolicy, retry};
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

/// The retrying layer: every call to the cloud is retried while it fails with a retryable
/// error (see [`Wrapped`] for which calls those are: waits and clock reads are not).
pub struct Retries;

/// A provider whose calls are retried.
pub type Retrying = Wrapped<Retries>;

impl Retrying {
    pub fn wrap(inner: Arc<dyn Provider>) -> Arc<dyn Provider> {
        Arc::new(Wrapped::new(inner, Retries))
    }
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

impl Layer for Retries {
    async fn around<'a, T, Run>(
        &'a self,
        _inner: &'a dyn Provider,
        operation: Operation<'a>,
        run: Run,
    ) -> Result<T, ProviderError>
    where
        T: Send + 'a,
        Run: FnMut() -> Answer<'a, T> + Send + 'a,
    {
        retry(POLICY, operation.name, ProviderError::is_retryable, run).await
    }

    /// Retried like the rest, except that once an answer was lost (`Ambiguous`) a create that
    /// names itself by [`TAG_CREATE_TOKEN`] looks for its object before it is sent again, and
    /// a refusal because it exists (`Duplicate`, `AlreadyExists`) means "look again".
    async fn around_create<'a, Run>(
        &'a self,
        inner: &'a dyn Provider,
        request: &'a CreateRequest,
        operation: Operation<'a>,
        mut run: Run,
    ) -> Result<LiveResource, ProviderError>
    where
        Run: FnMut() -> Answer<'a, LiveResource> + Send + 'a,
    {
        let maybe_made = AtomicBool::new(false);
        let findable =
            !request.token.is_empty() && request.tags.get(TAG_CREATE_TOKEN) == Some(&request.token);
        let worth_again = |error: &ProviderError| {
            error.is_retryable() || (maybe_made.load(Ordering::Relaxed) && error.is_conflict())
        };
        retry(POLICY, operation.name, worth_again, || {
            // The call does nothing until it is awaited: made here, it is dropped unsent when an
            // earlier attempt's object is found.
            let created = run();
            let maybe_made = &maybe_made;
            async move {
                if findable && maybe_made.load(Ordering::Relaxed) {
                    let found = made_earlier(inner, request).await?;
                    if let Some(found) = found {
                        return Ok(found);
                    }
                }
                let created = created.await;
                if matches!(created, Err(ProviderError::Ambiguous { .. })) {
                    maybe_made.store(true, Ordering::Relaxed);
                }
                created
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;
    use crate::provider::{CallCount, CoreProvider, UpdateRequest};
    use async_trait::async_trait;
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
    impl CoreProvider for Snapshots {
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
        let old =
            CoreProvider::create(cloud.as_ref(), &snapshot_request("cairn-backup-yesterday")).await;
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
