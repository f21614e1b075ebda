//! A provider that retries throttled and transient calls with exponential backoff and full
//! jitter, for the operations outside the apply executor (backups, restores, DR health
//! checks), which has its own scheduling-aware retries.
//!
//! Retrying a create is safe because every create carries an idempotency token: a call that
//! took effect before its answer was lost returns the same resource the second time.

use super::{CallCount, CreateRequest, LiveResource, Provider, ProviderError, UpdateRequest};
use crate::model::{Kind, Owner, Tags};
use crate::util::backoff::{Jitter, RetryPolicy, retry};
use async_trait::async_trait;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

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

    async fn create(&self, request: &CreateRequest) -> Result<LiveResource, ProviderError> {
        with_retries("create", || self.inner.create(request)).await
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

    async fn wait(&self, duration: Duration) -> Result<(), ProviderError> {
        self.inner.wait(duration).await
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

    fn calls(&self) -> CallCount {
        self.inner.calls()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Fails every call with `error` `failures` times, then succeeds.
    struct Flaky {
        failures: Mutex<u32>,
        error: fn() -> ProviderError,
        calls: Mutex<u32>,
    }

    #[async_trait]
    impl Provider for Flaky {
        fn name(&self) -> &'static str {
            "flaky"
        }
        async fn read(
            &self,
            _region: &str,
            _kind: Kind,
            _owner: &Owner,
        ) -> Result<Vec<LiveResource>, ProviderError> {
            *self.calls.lock().unwrap() += 1;
            let mut failures = self.failures.lock().unwrap();
            if *failures > 0 {
                *failures -= 1;
                return Err((self.error)());
            }
            Ok(Vec::new())
        }
        async fn create(&self, _request: &CreateRequest) -> Result<LiveResource, ProviderError> {
            unreachable!()
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

    fn flaky(failures: u32, error: fn() -> ProviderError) -> Arc<Flaky> {
        Arc::new(Flaky {
            failures: Mutex::new(failures),
            error,
            calls: Mutex::new(0),
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
        assert_eq!(*inner.calls.lock().unwrap(), 4);
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
        assert_eq!(*inner.calls.lock().unwrap(), 1);

        let inner = flaky(100, || ProviderError::Throttled {
            message: "slow down".into(),
        });
        let provider = Retrying::wrap(inner.clone());
        assert!(provider.read("r", Kind::Volume, &owner()).await.is_err());
        assert_eq!(*inner.calls.lock().unwrap(), POLICY.attempts);
    }
}
