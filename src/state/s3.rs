//! The S3 backend: each environment's state, backup and lock as objects under the backend's
//! key prefix (`<key>/<env>.json`, `<key>/<env>.json.backup`, `<key>/<env>.lock`), and the
//! stack's audit log and history beside them (`<key>/audit.jsonl`, `<key>/history/…`), through aws-sdk-s3 and the standard
//! aws-config chain (`profile`, `endpoint` and `AWS_ENDPOINT_URL` honoured).
//!
//! Promises:
//! - Locking uses S3 conditional writes: the lock object is created with `If-None-Match: *`,
//!   so of two runs exactly one gets it; it names its holder and is rewritten by a heartbeat
//!   (`If-Match` on its own ETag) while the run lasts. A lock whose heartbeat stopped for
//!   longer than the backend's threshold is reported as stale with the `force-unlock`
//!   command; it is never broken silently. Release deletes it only while it is still ours.
//! - Every state write is a compare-and-swap on the ETag this backend read or wrote last
//!   (`If-Match`; `If-None-Match: *` for the first write): a state someone replaced in the
//!   meantime is never overwritten ([`StateError::StateChanged`]). The previous version is
//!   kept as the backup object by a server-side copy, itself conditional on the same ETag.
//! - Network errors, 5xx answers and throttling are retried with the project's backoff
//!   ([`crate::util::backoff::retry`]); the SDK's own retries are off so there is one policy.
//!   A conditional write whose first answer was lost and whose retry meets a 412 is settled
//!   by reading the object back: our own bytes there mean the write happened.
//! - 412 on the lock is "locked by …", 403 names the bucket and key, a missing bucket is said
//!   as such.
//!
//! The SDK is async and the [`StateBackend`] trait is not (state writes are blocking I/O, as
//! fsync is): the backend runs its calls on a small runtime of its own and waits for their
//! answer, which works from plain CLI code and from inside the apply executor alike, and
//! keeps the heartbeat running however busy the caller's runtime is.

use super::backend::{check_environment_name, refuse_migrated};
use super::codec::{decode, encode};
use super::lock::describe_age;
use super::{Encryption, LockInfo, StateBackend, StateDocument, StateError, StateLock};
use crate::util::backoff::{Jitter, RetryPolicy, retry};
use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How S3 calls are retried: network errors, 5xx and throttling, five tries in all with
/// jittered waits from 200 ms up to 5 s (about 10 s at most), enough to ride out a burst of
/// throttling or a dropped connection without hiding an outage.
const RETRY: RetryPolicy = RetryPolicy {
    attempts: 5,
    base: Duration::from_millis(200),
    cap: Duration::from_secs(5),
    jitter: Jitter::Full,
};

/// How long a lock may go without a heartbeat before it is reported as stale, unless the
/// backend block sets `lock_stale_after`.
pub const DEFAULT_STALE_AFTER: Duration = Duration::from_secs(60);

/// Where an S3 backend keeps its objects and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    /// The prefix under which every environment keeps its objects.
    pub key: String,
    pub region: String,
    pub profile: Option<String>,
    pub endpoint: Option<String>,
    /// A lock not refreshed for this long is reported as stale; its holder refreshes it four
    /// times as often.
    pub stale_after: Duration,
}

/// The client, the runtime it runs on and the request counter, shared by every environment's
/// backend of one stack (a drill's state included).
struct Store {
    /// Taken only in `Drop`, to shut the runtime down without blocking.
    runtime: Option<tokio::runtime::Runtime>,
    client: aws_sdk_s3::Client,
    location: S3Location,
    requests: Arc<AtomicU64>,
}

impl Drop for Store {
    fn drop(&mut self) {
        tracing::debug!(
            requests = self.requests.load(Ordering::Relaxed),
            bucket = %self.location.bucket,
            "S3 state backend closed"
        );
        if let Some(runtime) = self.runtime.take() {
            // Dropping a runtime blocks, which panics inside another runtime; every call
            // has been answered by now, so nothing is left to wait for.
            runtime.shutdown_background();
        }
    }
}

impl Store {
    /// Runs `future` on the store's runtime and waits for its answer.
    fn run<T: Send + 'static>(
        &self,
        future: impl Future<Output = Result<T, StateError>> + Send + 'static,
    ) -> Result<T, StateError> {
        let Some(runtime) = &self.runtime else {
            return Err(self.stopped());
        };
        let (sender, receiver) = std::sync::mpsc::sync_channel(1);
        runtime.spawn(async move {
            let _ = sender.send(future.await);
        });
        receiver.recv().unwrap_or_else(|_| Err(self.stopped()))
    }

    fn stopped(&self) -> StateError {
        StateError::Remote {
            action: "reach",
            path: PathBuf::from(format!("s3://{}", self.location.bucket)),
            detail: "the S3 client stopped before answering".to_string(),
        }
    }

    /// `object` as stored, or `None` when it does not exist; a failure is said as failing to
    /// `action` it.
    fn fetch(&self, object: &Object, action: &'static str) -> Result<Option<Fetched>, StateError> {
        let object = object.clone();
        self.run(async move {
            object
                .get()
                .await
                .map_err(|failure| object.error(action, failure))
        })
    }

    /// The object `name` under the backend's prefix.
    fn object(&self, name: &str) -> Object {
        let prefix = self.location.key.trim_matches('/');
        let key = if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}/{name}")
        };
        Object {
            client: self.client.clone(),
            bucket: self.location.bucket.clone(),
            key,
            requests: Arc::clone(&self.requests),
        }
    }
}

/// One object of the backend, with the calls made on it. Cheap to clone into a future.
#[derive(Clone)]
struct Object {
    client: aws_sdk_s3::Client,
    bucket: String,
    key: String,
    requests: Arc<AtomicU64>,
}

/// A stored object's content and version.
struct Fetched {
    bytes: Vec<u8>,
    etag: Option<String>,
    /// Seconds since the epoch of its last write, by the storage's clock.
    modified: Option<i64>,
}

/// What a failed S3 call means for the backend.
#[derive(Debug)]
enum Failure {
    /// 412: a condition (`If-Match`, `If-None-Match`) did not hold.
    Precondition,
    NotFound,
    AccessDenied,
    NoBucket,
    /// Worth another try: a network error, a 5xx, throttling.
    Transient(String),
    Other(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Precondition => write!(f, "precondition failed (412)"),
            Failure::NotFound => write!(f, "not found"),
            Failure::AccessDenied => write!(f, "access denied"),
            Failure::NoBucket => write!(f, "no such bucket"),
            Failure::Transient(detail) | Failure::Other(detail) => write!(f, "{detail}"),
        }
    }
}

impl Failure {
    fn of<E, R>(error: SdkError<E, R>) -> Failure
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + HasStatus,
    {
        let status = error.raw_response().map(HasStatus::status);
        let code = error.code().map(str::to_string);
        let detail = crate::util::errors::error_chain(&error);
        match &error {
            SdkError::TimeoutError(_)
            | SdkError::DispatchFailure(_)
            | SdkError::ResponseError(_) => {
                return Failure::Transient(detail);
            }
            _ => {}
        }
        match (status, code.as_deref()) {
            (Some(412), _) | (_, Some("PreconditionFailed")) => Failure::Precondition,
            (_, Some("NoSuchBucket")) => Failure::NoBucket,
            (Some(404), _) | (_, Some("NoSuchKey" | "NotFound")) => Failure::NotFound,
            (Some(403), _) | (_, Some("AccessDenied")) => Failure::AccessDenied,
            (Some(429 | 500..=599), _)
            | (_, Some("SlowDown" | "Throttling" | "RequestTimeout" | "InternalError")) => {
                Failure::Transient(detail)
            }
            // A conditional write racing another on the same key (409) is worth a retry.
            (Some(409), _) | (_, Some("ConditionalRequestConflict")) => Failure::Transient(detail),
            _ => Failure::Other(detail),
        }
    }

    fn is_transient(&self) -> bool {
        matches!(self, Failure::Transient(_))
    }
}

/// The HTTP status of a raw response.
trait HasStatus {
    fn status(&self) -> u16;
}

impl HasStatus for aws_sdk_s3::config::http::HttpResponse {
    fn status(&self) -> u16 {
        self.status().as_u16()
    }
}

/// The condition of a write.
#[derive(Debug, Clone)]
enum Condition {
    /// Only if the object does not exist.
    Absent,
    /// Only if the object still has this ETag.
    Matches(String),
    Always,
}

impl Object {
    fn location(&self) -> PathBuf {
        PathBuf::from(format!("s3://{}/{}", self.bucket, self.key))
    }

    /// The engine's error for a failed `action` on this object.
    fn error(&self, action: &'static str, failure: Failure) -> StateError {
        match failure {
            Failure::AccessDenied => StateError::AccessDenied {
                action,
                path: self.location(),
                bucket: self.bucket.clone(),
                key: self.key.clone(),
            },
            Failure::NoBucket => StateError::NoBucket {
                bucket: self.bucket.clone(),
            },
            Failure::Precondition => StateError::StateChanged {
                path: self.location(),
            },
            other => StateError::Remote {
                action,
                path: self.location(),
                detail: other.to_string(),
            },
        }
    }

    /// Calls `call` under the retry policy, counting every request sent.
    async fn retried<T, Fut>(&self, what: &str, call: impl Fn() -> Fut) -> Result<T, Failure>
    where
        Fut: Future<Output = Result<T, Failure>>,
    {
        retry(
            RETRY,
            format!("{what} s3://{}/{}", self.bucket, self.key),
            Failure::is_transient,
            || {
                self.requests.fetch_add(1, Ordering::Relaxed);
                call()
            },
        )
        .await
    }

    /// The object, or `None` when it does not exist.
    async fn get(&self) -> Result<Option<Fetched>, Failure> {
        let result = self
            .retried("get", || async {
                let output = self
                    .client
                    .get_object()
                    .bucket(&self.bucket)
                    .key(&self.key)
                    .send()
                    .await
                    .map_err(Failure::of)?;
                let etag = output.e_tag().map(str::to_string);
                let modified = output
                    .last_modified()
                    .map(aws_sdk_s3::primitives::DateTime::secs);
                let bytes = output
                    .body
                    .collect()
                    .await
                    .map_err(|error| Failure::Transient(error.to_string()))?
                    .into_bytes()
                    .to_vec();
                Ok(Fetched {
                    bytes,
                    etag,
                    modified,
                })
            })
            .await;
        match result {
            Ok(fetched) => Ok(Some(fetched)),
            Err(Failure::NotFound) => Ok(None),
            Err(failure) => Err(failure),
        }
    }

    /// Writes `bytes` if `condition` holds; returns the new ETag. A 412 met by a retry (the
    /// first answer may have been lost after the write happened) is settled by reading the
    /// object: if it holds our bytes, the write is ours.
    async fn put(&self, bytes: &[u8], condition: &Condition) -> Result<Option<String>, Failure> {
        let attempts = AtomicU64::new(0);
        let result = self
            .retried("put", || async {
                attempts.fetch_add(1, Ordering::Relaxed);
                let request = self
                    .client
                    .put_object()
                    .bucket(&self.bucket)
                    .key(&self.key)
                    .content_type("application/json")
                    .body(ByteStream::from(bytes.to_vec()));
                let request = match condition {
                    Condition::Absent => request.if_none_match("*"),
                    Condition::Matches(etag) => request.if_match(etag),
                    Condition::Always => request,
                };
                let output = request.send().await.map_err(Failure::of)?;
                Ok(output.e_tag().map(str::to_string))
            })
            .await;
        match result {
            Err(Failure::Precondition) if attempts.load(Ordering::Relaxed) > 1 => {
                match self.get().await? {
                    Some(fetched) if fetched.bytes == bytes => Ok(fetched.etag),
                    _ => Err(Failure::Precondition),
                }
            }
            other => other,
        }
    }

    /// Copies this object to `target` if this object still has `etag`.
    async fn copy_to(&self, target: &Object, etag: &str) -> Result<(), Failure> {
        self.retried("copy", || async {
            self.client
                .copy_object()
                .bucket(&target.bucket)
                .key(&target.key)
                .copy_source(format!("{}/{}", self.bucket, self.key))
                .copy_source_if_match(etag)
                .send()
                .await
                .map(drop)
                .map_err(Failure::of)
        })
        .await
    }

    /// Deletes the object if it still has `etag` (any version without one); a missing
    /// object is no error.
    async fn delete(&self, etag: Option<&str>) -> Result<(), Failure> {
        let result = self
            .retried("delete", || async {
                self.client
                    .delete_object()
                    .bucket(&self.bucket)
                    .key(&self.key)
                    .set_if_match(etag.map(str::to_string))
                    .send()
                    .await
                    .map(drop)
                    .map_err(Failure::of)
            })
            .await;
        match result {
            Err(Failure::NotFound) => Ok(()),
            other => other,
        }
    }
}

/// One environment's state in an S3 backend. Clones share the connection and what was last
/// read of the state object.
#[derive(Clone)]
pub struct S3Backend {
    store: Arc<Store>,
    environment: String,
    encryption: Encryption,
    /// What this backend last read or wrote of the state object: its ETag (`None` when it was
    /// absent) with the lineage and serial it held. `None` before the first read.
    known: Arc<Mutex<Option<Known>>>,
}

#[derive(Debug, Clone)]
struct Known {
    etag: Option<String>,
    lineage: String,
    serial: u64,
}

impl std::fmt::Debug for S3Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Backend")
            .field("location", &self.store.location)
            .field("environment", &self.environment)
            .finish_non_exhaustive()
    }
}

impl S3Backend {
    /// Connects to the backend at `location` (configuration only: no request is sent) and
    /// returns the backend of `environment`; [`S3Backend::environment`] gives the others.
    ///
    /// # Errors
    /// [`StateError::InvalidEnvironment`] for a name that cannot be part of a key;
    /// [`StateError::Remote`] when the endpoint is not an http(s) URL or no runtime can be
    /// started.
    pub fn connect(location: S3Location, environment: &str) -> Result<Self, StateError> {
        let bucket_path = PathBuf::from(format!("s3://{}", location.bucket));
        if let Some(endpoint) = &location.endpoint
            && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        {
            return Err(StateError::Remote {
                action: "reach",
                path: bucket_path,
                detail: format!("endpoint `{endpoint}` is not an http:// or https:// URL"),
            });
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("cairn-s3")
            .enable_all()
            .build()
            .map_err(|error| StateError::Remote {
                action: "start a client for",
                path: bucket_path.clone(),
                detail: error.to_string(),
            })?;
        let client = {
            let location = location.clone();
            let (sender, receiver) = std::sync::mpsc::sync_channel(1);
            runtime.spawn(async move {
                let _ = sender.send(client_for(&location).await);
            });
            receiver.recv().map_err(|_| StateError::Remote {
                action: "start a client for",
                path: bucket_path,
                detail: "the client did not start".to_string(),
            })?
        };
        let store = Arc::new(Store {
            runtime: Some(runtime),
            client,
            location,
            requests: Arc::new(AtomicU64::new(0)),
        });
        Self::for_environment(store, environment, Encryption::off())
    }

    fn for_environment(
        store: Arc<Store>,
        environment: &str,
        encryption: Encryption,
    ) -> Result<Self, StateError> {
        check_environment_name(environment)?;
        Ok(S3Backend {
            store,
            environment: environment.to_string(),
            encryption,
            known: Arc::new(Mutex::new(None)),
        })
    }

    /// The backend of another environment of the same stack, on the same connection.
    ///
    /// # Errors
    /// [`StateError::InvalidEnvironment`].
    pub fn environment(&self, environment: &str) -> Result<Self, StateError> {
        Self::for_environment(
            Arc::clone(&self.store),
            environment,
            self.encryption.clone(),
        )
    }

    /// This backend sealing and opening the state with `encryption`.
    pub fn with_encryption(mut self, encryption: Encryption) -> Self {
        self.encryption = encryption;
        self
    }

    /// Requests sent so far through this backend's connection (all environments).
    pub fn requests(&self) -> u64 {
        self.store.requests.load(Ordering::Relaxed)
    }

    fn state_object(&self) -> Object {
        self.store.object(&format!("{}.json", self.environment))
    }

    fn backup_object(&self) -> Object {
        self.store
            .object(&format!("{}.json.backup", self.environment))
    }

    fn lock_object(&self) -> Object {
        self.store.object(&format!("{}.lock", self.environment))
    }

    fn audit_object(&self) -> Object {
        self.store.object("audit.jsonl")
    }

    fn known(&self) -> std::sync::MutexGuard<'_, Option<Known>> {
        // Only ever replaced whole, so a panic elsewhere cannot leave it torn.
        self.known
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Reads the state object, remembering its ETag for the next write.
    fn read(&self) -> Result<Option<StateDocument>, StateError> {
        let object = self.state_object();
        let fetched = self.store.fetch(&object, "read")?;
        let Some(fetched) = fetched else {
            *self.known() = Some(Known {
                etag: None,
                lineage: String::new(),
                serial: 0,
            });
            return Ok(None);
        };
        let document = decode(fetched.bytes, &self.encryption, &object.location())?;
        *self.known() = Some(Known {
            etag: fetched.etag,
            lineage: document.lineage.clone(),
            serial: document.serial,
        });
        Ok(Some(document))
    }

    /// The holder of the lock object and how long since it was last written, or `None`
    /// when there is no lock.
    fn holder(&self) -> Result<Option<Holder>, StateError> {
        let object = self.lock_object();
        let fetched = self.store.fetch(&object, "read the lock")?;
        let Some(fetched) = fetched else {
            return Ok(None);
        };
        let holder: LockInfo =
            serde_json::from_slice(&fetched.bytes).map_err(|error| StateError::LockUnreadable {
                path: object.location(),
                detail: error.to_string(),
            })?;
        let since_heartbeat = fetched.modified.and_then(|modified| {
            let now = chrono::Utc::now().timestamp();
            u64::try_from(now - modified).ok().map(Duration::from_secs)
        });
        Ok(Some(Holder {
            info: holder,
            etag: fetched.etag,
            since_heartbeat,
        }))
    }
}

/// A lock object as read: who holds it, its version, and how long since its last write.
struct Holder {
    info: LockInfo,
    etag: Option<String>,
    since_heartbeat: Option<Duration>,
}

/// The S3 client for `location`: the standard chain, with the location's region, profile and
/// endpoint; path-style addressing whenever an endpoint is overridden (emulators and most
/// S3-compatible stores have no per-bucket host names). The SDK's retries are off: calls are
/// retried with the project's policy.
async fn client_for(location: &S3Location) -> aws_sdk_s3::Client {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new(location.region.clone()))
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(30))
                .build(),
        );
    if let Some(profile) = &location.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(endpoint) = &location.endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    let config = loader.load().await;
    let s3 = aws_sdk_s3::config::Builder::from(&config)
        .force_path_style(config.endpoint_url().is_some())
        .build();
    aws_sdk_s3::Client::from_conf(s3)
}

/// The heartbeat of a held lock: rewrites the lock object every `interval`, conditional on the
/// ETag it wrote last, until stopped. A refused rewrite means the lock is no longer ours (it
/// was force-unlocked); the heartbeat then stops and says so.
async fn heartbeat(
    object: Object,
    body: Vec<u8>,
    etag: Arc<Mutex<Option<String>>>,
    interval: Duration,
) {
    loop {
        tokio::time::sleep(interval).await;
        let current = etag
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        let Some(current) = current else {
            return;
        };
        match object.put(&body, &Condition::Matches(current)).await {
            Ok(next) => {
                *etag.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = next;
            }
            Err(Failure::Precondition | Failure::NotFound) => {
                tracing::warn!(
                    "the state lock `s3://{}/{}` is no longer held by this run (force-unlocked?); state writes stay protected by their own checks",
                    object.bucket,
                    object.key
                );
                return;
            }
            Err(failure) => {
                // A missed beat is not fatal: the next one may get through, and a lock only
                // turns stale after several.
                tracing::warn!("state lock heartbeat failed: {failure}");
            }
        }
    }
}

impl StateBackend for S3Backend {
    fn location(&self) -> String {
        self.state_object().location().display().to_string()
    }

    fn load(&self) -> Result<Option<StateDocument>, StateError> {
        self.read()?
            .map(|document| refuse_migrated(document, &self.location()))
            .transpose()
    }

    fn load_backup(&self) -> Result<Option<StateDocument>, StateError> {
        let object = self.backup_object();
        let fetched = self.store.fetch(&object, "read")?;
        fetched
            .map(|fetched| decode(fetched.bytes, &self.encryption, &object.location()))
            .transpose()
    }

    fn lock(&self, operation: &str) -> Result<StateLock, StateError> {
        let object = self.lock_object();
        let info = LockInfo::for_this_process(operation);
        let body =
            serde_json::to_vec_pretty(&info).map_err(|source| StateError::Serialize { source })?;
        // A lock released between our refused create and the read of its holder is tried
        // again; a few rounds settle any such race.
        for _ in 0..3 {
            let created = {
                let object = object.clone();
                let body = body.clone();
                self.store
                    .run(async move { Ok(object.put(&body, &Condition::Absent).await) })?
            };
            match created {
                Ok(etag) => return Ok(self.held(object, info, body, etag)),
                Err(Failure::Precondition) => {}
                Err(failure) => return Err(object.error("create the lock", failure)),
            }
            let Some(Holder {
                info: holder,
                since_heartbeat,
                ..
            }) = self.holder()?
            else {
                continue;
            };
            let stale = since_heartbeat.is_some_and(|age| age > self.store.location.stale_after);
            let environment = self.environment.clone();
            return Err(if stale {
                StateError::StaleLock {
                    path: object.location(),
                    age: describe_age(since_heartbeat),
                    holder: Box::new(holder),
                    environment,
                }
            } else {
                StateError::Locked {
                    path: object.location(),
                    age: describe_age(holder.age()),
                    holder: Box::new(holder),
                    environment,
                }
            });
        }
        Err(StateError::LockUnreadable {
            path: object.location(),
            detail: "it kept changing while being read; run again".to_string(),
        })
    }

    fn persist(&self, document: &StateDocument) -> Result<(), StateError> {
        let object = self.state_object();
        let path = object.location();
        let known = self.known().clone();
        let known = match known {
            Some(known) => known,
            None => {
                // Never read by this backend: read it now, which records its ETag.
                let _ = self.read()?;
                self.known()
                    .clone()
                    .ok_or_else(|| StateError::StateChanged { path: path.clone() })?
            }
        };
        if let Some(_etag) = &known.etag {
            if known.lineage != document.lineage {
                return Err(StateError::LineageMismatch {
                    path,
                    on_disk: known.lineage,
                    writing: document.lineage.clone(),
                });
            }
            if known.serial >= document.serial {
                return Err(StateError::StaleSerial {
                    path,
                    on_disk: known.serial,
                    writing: document.serial,
                });
            }
        }
        let bytes = encode(document, &self.encryption, &path)?;
        let backup = self.backup_object();
        let etag = {
            let known = known.clone();
            self.store.run(async move {
                let condition = match &known.etag {
                    Some(etag) => {
                        // The version being replaced becomes the backup, copied only while
                        // it is still the version this run read: a replaced state leaves
                        // the backup alone too.
                        object
                            .copy_to(&backup, etag)
                            .await
                            .map_err(|failure| object.error("back up", failure))?;
                        Condition::Matches(etag.clone())
                    }
                    None => Condition::Absent,
                };
                object
                    .put(&bytes, &condition)
                    .await
                    .map_err(|failure| object.error("write", failure))
            })?
        };
        *self.known() = Some(Known {
            etag,
            lineage: document.lineage.clone(),
            serial: document.serial,
        });
        Ok(())
    }

    fn receive(
        &self,
        state: &StateDocument,
        backup: Option<&StateDocument>,
    ) -> Result<(), StateError> {
        let object = self.state_object();
        let existing = self.read()?;
        if let Some(existing) = existing
            && existing.migrated.is_none()
        {
            return Err(StateError::DestinationInUse {
                path: object.location(),
                lineage: existing.lineage,
                serial: existing.serial,
            });
        }
        let condition = match self.known().as_ref().and_then(|known| known.etag.clone()) {
            Some(etag) => Condition::Matches(etag),
            None => Condition::Absent,
        };
        let backup_object = self.backup_object();
        let backup_bytes = backup
            .map(|backup| encode(backup, &self.encryption, &backup_object.location()))
            .transpose()?;
        let bytes = encode(state, &self.encryption, &object.location())?;
        let etag = self.store.run(async move {
            match backup_bytes {
                Some(bytes) => backup_object
                    .put(&bytes, &Condition::Always)
                    .await
                    .map(drop)
                    .map_err(|failure| backup_object.error("write", failure))?,
                None => backup_object
                    .delete(None)
                    .await
                    .map_err(|failure| backup_object.error("remove", failure))?,
            }
            object
                .put(&bytes, &condition)
                .await
                .map_err(|failure| object.error("write", failure))
        })?;
        *self.known() = Some(Known {
            etag,
            lineage: state.lineage.clone(),
            serial: state.serial,
        });
        Ok(())
    }

    fn force_unlock(&self, lock_id: &str) -> Result<(), StateError> {
        let object = self.lock_object();
        match self.holder()? {
            None => Err(StateError::NotLocked {
                path: object.location(),
            }),
            Some(Holder { info: holder, .. }) if holder.id != lock_id => {
                Err(StateError::LockIdMismatch {
                    given: lock_id.to_string(),
                    holder: Box::new(holder),
                })
            }
            Some(Holder { etag, .. }) => self.store.run(async move {
                object
                    .delete(etag.as_deref())
                    .await
                    .map_err(|failure| object.error("remove the lock", failure))
            }),
        }
    }

    fn audit_location(&self) -> String {
        self.audit_object().location().display().to_string()
    }

    fn append_audit(&self, line: &str) -> Result<(), StateError> {
        let object = self.audit_object();
        let line = format!("{line}\n");
        self.store.run(async move {
            // Read, append, write back conditionally: another environment's run may append
            // at the same time, so a refused write reads again.
            let mut backoff = crate::util::backoff::Backoff::of(&RETRY);
            for attempt in 1..=RETRY.attempts * 2 {
                let fetched = object
                    .get()
                    .await
                    .map_err(|failure| object.error("read", failure))?;
                let (mut bytes, condition) = match fetched {
                    Some(fetched) => (
                        fetched.bytes,
                        fetched.etag.map_or(Condition::Always, Condition::Matches),
                    ),
                    None => (Vec::new(), Condition::Absent),
                };
                bytes.extend_from_slice(line.as_bytes());
                match object.put(&bytes, &condition).await {
                    Ok(_) => return Ok(()),
                    Err(Failure::Precondition) => {
                        tokio::time::sleep(backoff.delay(attempt)).await;
                    }
                    Err(failure) => return Err(object.error("append to", failure)),
                }
            }
            Err(object.error("append to", Failure::Precondition))
        })
    }

    fn read_audit(&self) -> Result<Vec<String>, StateError> {
        let object = self.audit_object();
        let fetched = self.store.fetch(&object, "read")?;
        Ok(fetched
            .map(|fetched| {
                String::from_utf8_lossy(&fetched.bytes)
                    .lines()
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default())
    }

    fn history_location(&self) -> String {
        self.store
            .object("history")
            .location()
            .display()
            .to_string()
    }

    fn read_history(&self, name: &str) -> Result<Option<Vec<u8>>, StateError> {
        let object = self.store.object(&format!("history/{name}"));
        let Some(fetched) = self.store.fetch(&object, "read")? else {
            return Ok(None);
        };
        self.encryption
            .open(fetched.bytes)
            .map(Some)
            .map_err(|source| StateError::Encryption {
                path: object.location(),
                source,
            })
    }

    fn write_history(&self, name: &str, bytes: Vec<u8>) -> Result<(), StateError> {
        let object = self.store.object(&format!("history/{name}"));
        let sealed = self
            .encryption
            .seal(bytes)
            .map_err(|source| StateError::Encryption {
                path: object.location(),
                source,
            })?;
        // A put replaces the object whole: readers see the old bytes or the new ones. The
        // writer holds the environment's lock, so no other run writes its history meanwhile.
        self.store.run(async move {
            object
                .put(&sealed, &Condition::Always)
                .await
                .map(drop)
                .map_err(|failure| object.error("write", failure))
        })
    }
}

impl S3Backend {
    /// The guard of a lock just created with `etag`: starts its heartbeat, and on drop stops
    /// it and deletes the lock object if it is still ours.
    fn held(
        &self,
        object: Object,
        info: LockInfo,
        body: Vec<u8>,
        etag: Option<String>,
    ) -> StateLock {
        let etag = Arc::new(Mutex::new(etag));
        let interval = (self.store.location.stale_after / 4).max(Duration::from_millis(250));
        let store = Arc::clone(&self.store);
        let beating = store.runtime.as_ref().map(|runtime| {
            runtime.spawn(heartbeat(object.clone(), body, Arc::clone(&etag), interval))
        });
        let id = info.id.clone();
        StateLock::new(info, move || {
            if let Some(beating) = beating {
                beating.abort();
            }
            let current = etag
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .clone();
            // Released only while still ours: the holder named in it is this run, and the
            // delete is conditional on the version our heartbeat wrote last.
            let released = store.run(async move {
                let Some(fetched) = object
                    .get()
                    .await
                    .map_err(|failure| object.error("read the lock", failure))?
                else {
                    return Ok(());
                };
                let ours = serde_json::from_slice::<LockInfo>(&fetched.bytes)
                    .is_ok_and(|holder| holder.id == id);
                if ours {
                    object
                        .delete(fetched.etag.as_deref().or(current.as_deref()))
                        .await
                        .map_err(|failure| object.error("remove the lock", failure))?;
                }
                Ok(())
            });
            if let Err(error) = released {
                tracing::warn!("could not release the state lock: {error}");
            }
        })
    }
}
