//! The built-in simulated cloud with AWS semantics, persisted in a local file.
//!
//! It is a full implementation of [`Provider`], not a mock: regions and zones, AWS-shaped ids
//! (`vpc-` + 17 hex digits, …), AWS validation errors and codes, dependency checks on delete,
//! instance lifecycle (pending, then running), autoscaling groups that launch and terminate
//! instances across zones, snapshots and cross-region copies, idempotency tokens; load
//! balancers whose targets' health follows their instances (and what `cairn sim unhealthy`
//! marks), alarms that follow simulated metrics, Route 53 zones, health checks and failover
//! records in the global pseudo-region.
//!
//! Promises:
//! - The whole cloud lives in one JSON file ([`SimProvider::open`]) and the journal of what
//!   the batches since its last rewrite changed; every call is load-modify-save under an
//!   exclusive file lock with an atomic write, so separate `cairn` processes see one cloud, and parallel calls of one process are serialized by an async
//!   mutex (latency is slept outside it, so parallel calls overlap); calls waiting for the
//!   mutex together run in order as one batch with one load and save. A call that returned is
//!   saved, also across the process's exit (not flushed against a machine crash; see
//!   `store`). A corrupt file is an error, never reset.
//! - Every call is appended to `calls.jsonl` beside the cloud file ([`read_call_log`]).
//! - Faults are injected from `CAIRN_SIM_*` variables and from settings stored in the file
//!   (see [`faults`]), reproducibly for a given seed.
//! - Out-of-band changes, inventory and reset for drift tests and `cairn sim` go through
//!   [`SimCloud`].

mod attributes;
mod autoscaling;
mod block_storage;
mod call_log;
mod cloud;
mod compute;
mod dns;
mod error;
pub mod faults;
mod ids;
mod journal;
mod load_balancing;
mod monitoring;
mod network;
mod operations;
mod out_of_band;
mod rate_limits;
mod region;
mod security_group;
mod store;

#[cfg(test)]
mod tests;

pub use call_log::{CallOutcome, CallRecord, LOG_FILE_NAME, log_path, read_call_log};
pub use error::SimError;
pub use faults::{FaultConfig, FaultSettings};
pub use out_of_band::{HealthTarget, Inventory, InventoryItem, SimCloud};
// The simulated cloud's regions are the AWS catalog's; re-exported for callers that ask the
// sim which zones it offers.
pub use crate::model::regions::{region_names, zones};

use crate::model::cloud::GLOBAL_REGION;
use crate::model::{Attributes, Kind, Owner, Tags, Value, regions};
use crate::provider::{
    CallCount, CreateRequest, LiveResource, Provider, ProviderError, ReadSession, UpdateRequest,
};
use async_trait::async_trait;
use call_log::CallOutcome as Outcome;
use cloud::Cloud;
use faults::Fault;
use operations::{Context, Request, Response};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use store::Store;

/// Environment variable overriding where `cairn sim` and the engine find the cloud file.
pub const ENV_SIM_FILE: &str = "CAIRN_SIM_FILE";

/// The cloud file of the stack in `stack_dir`: `$CAIRN_SIM_FILE` if set, else
/// `<stack_dir>/.cairn/sim/cloud.json`.
pub fn cloud_file_for_stack(stack_dir: &Path) -> PathBuf {
    match std::env::var_os(ENV_SIM_FILE) {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => stack_dir.join(".cairn").join("sim").join("cloud.json"),
    }
}

/// The simulated cloud as a [`Provider`].
pub struct SimProvider {
    store: Arc<Store>,
    faults: Arc<FaultConfig>,
    dice: Arc<std::sync::Mutex<fastrand::Rng>>,
    /// Serializes this process's calls; the file lock serializes processes.
    gate: tokio::sync::Mutex<()>,
    /// Calls waiting for the gate. Its holder runs them all as one batch, with one load and
    /// one save of the cloud: when many calls arrive together (a wide apply) that costs one
    /// save of the whole cloud instead of one per call, and a call never waits for more than
    /// the batch before it.
    waiting: std::sync::Mutex<Vec<Waiting>>,
    reads: AtomicU64,
    mutations: AtomicU64,
    /// How long a new object may be missing from reads: the read lag, unless overridden.
    consistency_window: Duration,
}

impl SimProvider {
    /// Every resource of `kind` in `region` that `owner`'s tags select, or every one.
    async fn read_all(
        &self,
        region: &str,
        kind: Kind,
        owner: Option<Owner>,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        match self.call(region, Request::Read { kind, owner }).await? {
            Response::Many(resources) => Ok(resources),
            other => Err(ProviderError::Api {
                code: "InternalError".to_string(),
                message: format!("the simulated cloud answered {other:?} to a read"),
            }),
        }
    }

    /// Opens the cloud stored at `path` (created on the first call if missing), with faults
    /// from the `CAIRN_SIM_*` environment variables.
    ///
    /// # Errors
    /// [`SimError::Corrupt`] / [`SimError::UnsupportedFormat`] for a file that is not a
    /// simulated cloud, [`SimError::Io`] when it cannot be read, [`SimError::InvalidFault`] for a
    /// bad fault variable.
    pub fn open(path: &Path) -> Result<SimProvider, SimError> {
        let mut provider = Self::open_with_faults(path, FaultConfig::from_env()?)?;
        if let Some(window) = crate::provider::window_from_env()? {
            provider.consistency_window = window;
        }
        Ok(provider)
    }

    /// Opens the cloud at `path` with the given faults instead of the environment's.
    ///
    /// # Errors
    /// As [`SimProvider::open`], without the variable checks.
    pub fn open_with_faults(path: &Path, faults: FaultConfig) -> Result<SimProvider, SimError> {
        let store = Store::new(path);
        let stored = store.peek()?;
        let seed = faults
            .settings
            .seed
            .or_else(|| stored.as_ref().and_then(|cloud| cloud.faults.seed))
            .unwrap_or_else(|| fastrand::u64(..));
        // The cloud promises nothing more than its read lag: a new object shows up in reads
        // once the lag has passed.
        let read_lag = faults
            .settings
            .read_lag_ms
            .or_else(|| stored.as_ref().and_then(|cloud| cloud.faults.read_lag_ms))
            .unwrap_or(0);
        Ok(SimProvider {
            store: Arc::new(store),
            faults: Arc::new(faults),
            dice: Arc::new(std::sync::Mutex::new(fastrand::Rng::with_seed(seed))),
            gate: tokio::sync::Mutex::new(()),
            waiting: std::sync::Mutex::new(Vec::new()),
            reads: AtomicU64::new(0),
            mutations: AtomicU64::new(0),
            consistency_window: Duration::from_millis(read_lag),
        })
    }

    /// The cloud file.
    pub fn path(&self) -> &Path {
        self.store.path()
    }

    /// RegisterTargets (`register`) or DeregisterTargets of `instances` in `target_group`.
    async fn registration(
        &self,
        region: &str,
        target_group: &str,
        instances: &[String],
        register: bool,
    ) -> Result<(), ProviderError> {
        let request = Request::Registration {
            target_group: target_group.to_string(),
            instances: instances.to_vec(),
            register,
        };
        self.call(region, request).await.map(|_| ())
    }

    async fn call(&self, region: &str, request: Request) -> Result<Response, ProviderError> {
        let counter = if request.is_mutating() {
            &self.mutations
        } else {
            &self.reads
        };
        counter.fetch_add(1, Ordering::Relaxed);

        let (reply, answer) = tokio::sync::oneshot::channel();
        self.queue().push(Waiting {
            region: region.to_string(),
            request,
            reply,
        });
        {
            let _gate = self.gate.lock().await;
            // Whoever holds the gate runs every call waiting by then, ours included unless the
            // previous holder took it already (its batch has then answered before letting go).
            let batch = std::mem::take(&mut *self.queue());
            if !batch.is_empty() {
                let store = Arc::clone(&self.store);
                let faults = Arc::clone(&self.faults);
                let dice = Arc::clone(&self.dice);
                let ran = tokio::task::spawn_blocking(move || {
                    execute_batch(&store, &faults, &dice, batch);
                })
                .await;
                if let Err(error) = ran {
                    return Err(storage_failure(&SimError::Task {
                        message: error.to_string(),
                    }));
                }
            }
        }
        let (result, latency) = answer.await.map_err(|_| {
            storage_failure(&SimError::Task {
                message: "the batch running the call ended without answering it".to_string(),
            })
        })?;
        if latency > 0 {
            tokio::time::sleep(Duration::from_millis(latency)).await;
        }
        result
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Vec<Waiting>> {
        // Only pushed to and taken whole, so a panic elsewhere cannot leave it torn.
        self.waiting
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The stored cloud as it is now, read off the async runtime's threads without taking the
    /// store's lock (no call is made, so nothing is counted or logged).
    async fn peek(&self) -> Result<Option<Cloud>, ProviderError> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || store.peek())
            .await
            .map_err(|error| {
                storage_failure(&SimError::Task {
                    message: error.to_string(),
                })
            })?
            .map_err(|error| storage_failure(&error))
    }
}

/// A call waiting for the gate, and where to send its result and latency.
struct Waiting {
    region: String,
    request: Request,
    reply: tokio::sync::oneshot::Sender<Answer>,
}

/// A call's result, and the latency to wait before handing it over.
type Answer = (Result<Response, ProviderError>, u64);

/// Runs a batch of calls and answers each (see [`run_batch`]).
fn execute_batch(
    store: &Store,
    faults: &FaultConfig,
    dice: &std::sync::Mutex<fastrand::Rng>,
    batch: Vec<Waiting>,
) {
    let (calls, replies): (Vec<_>, Vec<_>) = batch
        .into_iter()
        // A caller that went away before its call ran gave up on it: the call never reaches
        // the cloud, as a request never sent.
        .filter(|waiting| !waiting.reply.is_closed())
        .map(|waiting| ((waiting.region, waiting.request), waiting.reply))
        .unzip();
    if calls.is_empty() {
        return;
    }
    match run_batch(store, faults, dice, &calls) {
        Ok(answers) => {
            for (reply, answer) in replies.into_iter().zip(answers) {
                // A caller that went away no longer wants its answer.
                let _ = reply.send(answer);
            }
        }
        Err(error) => {
            // Nothing of the batch is known to be saved: every call fails.
            for reply in replies {
                let _ = reply.send((Err(storage_failure(&error)), 0));
            }
        }
    }
}

/// Runs `calls` in order under one lock, load and save, returning each call's result and
/// latency once the save that holds them all is done. With a crash injected, saves and logs up
/// to the call it follows and exits without answering.
///
/// # Errors
/// A failure to lock, load, save or log; nothing of the batch is then known to be saved.
fn run_batch(
    store: &Store,
    faults: &FaultConfig,
    dice: &std::sync::Mutex<fastrand::Rng>,
    calls: &[(String, Request)],
) -> Result<Vec<Answer>, SimError> {
    let locked = store.lock()?;
    // The cloud notes what the batch changes (see `Cloud::saved`): the journal saves that.
    let mut cloud = locked.load()?;
    let mut answers = Vec::with_capacity(calls.len());
    let mut records = Vec::with_capacity(calls.len());
    let mut crash = false;
    for (region, request) in calls {
        let (result, latency, record, crash_now) =
            execute_one(&mut cloud, faults, dice, region, request);
        answers.push((result, latency));
        records.push(record);
        if crash_now {
            // The calls after this one never reach the cloud.
            crash = true;
            break;
        }
    }
    locked.save_changes(cloud)?;
    locked.append_calls(&records)?;
    if crash {
        // The simulated kill: the change is saved and logged, the caller never hears back.
        std::process::exit(faults::CRASH_EXIT_CODE);
    }
    Ok(answers)
}

/// One call against the loaded cloud: roll the dice, apply, and say whether to crash now.
fn execute_one(
    cloud: &mut Cloud,
    faults: &FaultConfig,
    dice: &std::sync::Mutex<fastrand::Rng>,
    region: &str,
    request: &Request,
) -> (Result<Response, ProviderError>, u64, CallRecord, bool) {
    cloud.sequence += 1;
    let now = cloud.now();
    let settings = cloud.faults.overridden_by(&faults.settings);
    let outages: std::collections::BTreeSet<String> =
        cloud.outages.union(&faults.outages).cloned().collect();
    let fault = {
        let mut rng = dice.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        faults::roll(&mut rng, &settings)
    };
    let read_lag = settings
        .read_lag_ms
        .map_or(chrono::TimeDelta::zero(), |lag| {
            chrono::TimeDelta::milliseconds(i64::try_from(lag).unwrap_or(i64::MAX))
        });
    let context = Context {
        region,
        sequence: cloud.sequence,
        now,
        wall_clock: chrono::Utc::now(),
        outages: &outages,
        read_lag,
        timings: faults.timings,
    };

    let mut effect = false;
    // The code of a refusal by an emulated API bucket, for the call log.
    let mut throttle_code = None;
    let within_limits = |cloud: &mut Cloud| {
        if faults.rate_limits {
            rate_limits::admit(cloud, region, request, now)
        } else {
            Ok(())
        }
    };
    let result = if !(regions::is_region(region) || region == GLOBAL_REGION) {
        Err(unknown_region(region))
    } else if outages.contains(region) {
        Err(region_in_outage(region))
    } else if let Err((refusal, code)) = within_limits(cloud) {
        throttle_code = Some(code.to_string());
        Err(refusal)
    } else if fault == Fault::Throttle {
        Err(ProviderError::Throttled {
            message: "Rate exceeded (simulated)".to_string(),
        })
    } else if fault == Fault::ErrorBefore {
        Err(ProviderError::Transient {
            message: "simulated: the request failed before reaching the service".to_string(),
        })
    } else {
        operations::advance(cloud, &context);
        let performed = if request.is_mutating() {
            // A refused change may have been partly made: what it made is undone.
            cloud.attempt(|cloud| operations::perform(cloud, &context, request))
        } else {
            operations::perform(cloud, &context, request)
        };
        match performed {
            Ok(response) => {
                effect = true;
                let message =
                    "simulated: the connection was lost after the request was sent".to_string();
                match fault {
                    Fault::ErrorAfter if request.is_mutating() => {
                        Err(ProviderError::Ambiguous { message })
                    }
                    Fault::ErrorAfter => Err(ProviderError::Transient { message }),
                    _ => Ok(response),
                }
            }
            Err(error) => Err(error),
        }
    };

    let id = match &result {
        Ok(Response::One(live)) => Some(live.id.clone()),
        _ => request.target().map(str::to_string),
    };
    let (outcome, error_code) = match &result {
        Ok(_) => (Outcome::Ok, None),
        Err(ProviderError::Transient { .. } | ProviderError::Ambiguous { .. }) if effect => {
            (Outcome::TransientAfterEffect, None)
        }
        Err(ProviderError::Transient { .. } | ProviderError::Ambiguous { .. }) => {
            (Outcome::Transient, None)
        }
        Err(ProviderError::Throttled { .. }) => (Outcome::Throttled, throttle_code),
        Err(ProviderError::RegionUnavailable { .. }) => (Outcome::RegionUnavailable, None),
        Err(ProviderError::NotFound { .. }) => (Outcome::NotFound, None),
        Err(ProviderError::Api { code, .. }) => (Outcome::ApiError, Some(code.clone())),
        Err(ProviderError::Credentials { .. }) => {
            (Outcome::ApiError, Some("AuthFailure".to_string()))
        }
    };
    let record = CallRecord {
        sequence: cloud.sequence,
        time: now,
        region: region.to_string(),
        operation: request.operation().to_string(),
        kind: request.kind(),
        id,
        mutating: request.is_mutating(),
        outcome,
        error_code,
    };
    let crash = request.is_mutating()
        && effect
        && faults::count_mutation_and_check_crash(faults.crash_after);
    (result, settings.latency_ms.unwrap_or(0), record, crash)
}

/// What a call to a region AWS does not have gets: the SDK cannot resolve its endpoint.
fn unknown_region(region: &str) -> ProviderError {
    ProviderError::RegionUnavailable {
        region: region.to_string(),
        message: format!(
            "Could not connect to the endpoint URL: \"https://ec2.{region}.amazonaws.com/\" (unknown region)"
        ),
    }
}

/// What a call to a region in a simulated outage gets.
fn region_in_outage(region: &str) -> ProviderError {
    ProviderError::RegionUnavailable {
        region: region.to_string(),
        message: "simulated outage: the region's endpoints do not answer".to_string(),
    }
}

/// A failure of the simulation's own storage, reported as a non-retryable API error.
fn storage_failure(error: &SimError) -> ProviderError {
    ProviderError::Api {
        code: "SimStorageError".to_string(),
        message: crate::util::errors::error_chain(error),
    }
}

fn expect_one(response: Response) -> Result<LiveResource, ProviderError> {
    match response {
        Response::One(live) => Ok(live),
        other => Err(ProviderError::Api {
            code: "InternalError".to_string(),
            message: format!(
                "the simulated cloud answered {other:?} where one resource was expected"
            ),
        }),
    }
}

#[async_trait]
impl Provider for SimProvider {
    fn name(&self) -> &'static str {
        "sim"
    }

    async fn read(
        &self,
        region: &str,
        kind: Kind,
        owner: &Owner,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        self.read_all(region, kind, Some(owner.clone())).await
    }

    async fn discover(&self, region: &str, kind: Kind) -> Result<Vec<LiveResource>, ProviderError> {
        self.read_all(region, kind, None).await
    }

    async fn create(&self, request: &CreateRequest) -> Result<LiveResource, ProviderError> {
        let response = self
            .call(&request.region, Request::Create(request.clone()))
            .await?;
        expect_one(response)
    }

    async fn update(&self, request: &UpdateRequest) -> Result<LiveResource, ProviderError> {
        let response = self
            .call(&request.region, Request::Update(request.clone()))
            .await?;
        expect_one(response)
    }

    async fn delete(&self, region: &str, kind: Kind, id: &str) -> Result<(), ProviderError> {
        let request = Request::Delete {
            kind,
            id: id.to_string(),
        };
        self.call(region, request).await.map(|_| ())
    }

    async fn import(
        &self,
        region: &str,
        kind: Kind,
        id: &str,
    ) -> Result<LiveResource, ProviderError> {
        let request = Request::Import {
            kind,
            id: id.to_string(),
        };
        expect_one(self.call(region, request).await?)
    }

    async fn set_ownership(
        &self,
        region: &str,
        kind: Kind,
        id: &str,
        ownership: &Tags,
    ) -> Result<LiveResource, ProviderError> {
        let request = Request::SetOwnership {
            kind,
            id: id.to_string(),
            ownership: ownership.clone(),
        };
        expect_one(self.call(region, request).await?)
    }

    /// The catalogue's zones of `region`. Like DescribeAvailabilityZones it fails for an
    /// unknown region and during the region's outage; it changes nothing in the cloud, so it
    /// is neither counted nor logged as a call.
    async fn zones(&self, region: &str) -> Result<Vec<String>, ProviderError> {
        let Some(zones) = regions::zones(region) else {
            return Err(unknown_region(region));
        };
        let stored = self.peek().await?;
        let stored_outage = stored.is_some_and(|cloud| cloud.outages.contains(region));
        if stored_outage || self.faults.outages.contains(region) {
            return Err(region_in_outage(region));
        }
        Ok(zones)
    }

    fn consistency_window(&self) -> Duration {
        self.consistency_window
    }

    /// The cloud's clock (see [`SimCloud::set_clock`]); not an API call, so neither counted
    /// nor logged.
    async fn now(&self) -> Result<chrono::DateTime<chrono::Utc>, ProviderError> {
        let stored = self.peek().await?;
        Ok(stored.unwrap_or_default().now())
    }

    async fn terminate_in_group(
        &self,
        region: &str,
        group: &str,
        instance: &str,
    ) -> Result<(), ProviderError> {
        let request = Request::TerminateInGroup {
            group: group.to_string(),
            instance: instance.to_string(),
        };
        self.call(region, request).await.map(|_| ())
    }

    async fn target_health(
        &self,
        region: &str,
        target_group: &str,
    ) -> Result<Vec<(String, String)>, ProviderError> {
        let request = Request::TargetHealth {
            target_group: target_group.to_string(),
        };
        match self.call(region, request).await? {
            Response::Health(health) => Ok(health),
            other => Err(ProviderError::Api {
                code: "InternalError".to_string(),
                message: format!("the simulated cloud answered {other:?} to DescribeTargetHealth"),
            }),
        }
    }

    async fn launch_template_version(
        &self,
        region: &str,
        template: &str,
        version: &Value,
    ) -> Result<Attributes, ProviderError> {
        let request = Request::TemplateVersion {
            template: template.to_string(),
            version: version.clone(),
        };
        match self.call(region, request).await? {
            Response::Settings(settings) => Ok(settings),
            other => Err(ProviderError::Api {
                code: "InternalError".to_string(),
                message: format!(
                    "the simulated cloud answered {other:?} to DescribeLaunchTemplateVersions"
                ),
            }),
        }
    }

    async fn register_targets(
        &self,
        region: &str,
        target_group: &str,
        instances: &[String],
    ) -> Result<(), ProviderError> {
        self.registration(region, target_group, instances, true)
            .await
    }

    async fn deregister_targets(
        &self,
        region: &str,
        target_group: &str,
        instances: &[String],
    ) -> Result<(), ProviderError> {
        self.registration(region, target_group, instances, false)
            .await
    }

    /// With the cloud's clock set, moves it on by `duration` at once (no API call, so
    /// neither counted nor logged); with the wall clock, waits.
    async fn wait(&self, duration: Duration) -> Result<(), ProviderError> {
        let store = Arc::clone(&self.store);
        let moved = tokio::task::spawn_blocking(move || -> Result<bool, SimError> {
            let locked = store.lock()?;
            let mut cloud = locked.load()?;
            let Some(now) = cloud.clock else {
                return Ok(false);
            };
            let later = chrono::Duration::from_std(duration)
                .ok()
                .and_then(|by| now.checked_add_signed(by))
                .ok_or(SimError::InvalidClock {
                    reason: format!("the clock cannot move {duration:?} past {now}"),
                })?;
            cloud.clock = Some(later);
            locked.save(cloud)?;
            Ok(true)
        })
        .await
        .map_err(|error| {
            storage_failure(&SimError::Task {
                message: error.to_string(),
            })
        })?
        .map_err(|error| storage_failure(&error))?;
        if !moved {
            tokio::time::sleep(duration).await;
        }
        Ok(())
    }

    /// With the cloud's clock set, moves it on to `when` unless it is there already (not an
    /// API call, so neither counted nor logged); with the wall clock, waits.
    async fn wait_until(
        &self,
        when: chrono::DateTime<chrono::Utc>,
    ) -> Result<chrono::DateTime<chrono::Utc>, ProviderError> {
        let moved = match self.peek().await?.and_then(|cloud| cloud.clock) {
            None => None,
            Some(now) if now >= when => Some(now),
            Some(_) => {
                let store = Arc::clone(&self.store);
                tokio::task::spawn_blocking(move || -> Result<_, SimError> {
                    let locked = store.lock()?;
                    let mut cloud = locked.load()?;
                    // Another caller may have moved it further meanwhile: never back.
                    cloud.clock = cloud.clock.map(|now| now.max(when));
                    let moved = cloud.clock;
                    // Only the clock changed: a journal line, not the whole cloud.
                    locked.save_changes(cloud)?;
                    Ok(moved)
                })
                .await
                .map_err(|error| {
                    storage_failure(&SimError::Task {
                        message: error.to_string(),
                    })
                })?
                .map_err(|error| storage_failure(&error))?
            }
        };
        match moved {
            Some(now) => Ok(now),
            None => Ok(crate::provider::wait_on_wall_clock(when).await),
        }
    }

    fn rate_limited(&self) -> bool {
        self.faults.rate_limits
    }

    fn timings(&self) -> crate::model::timings::Timings {
        self.faults.timings
    }

    /// The simulated cloud answers each kind from its own table: no listing to share.
    fn read_session(&self) -> ReadSession {
        ReadSession::default()
    }

    /// Whether `image` is registered in `region`: every image is, unless `cairn sim image
    /// --missing-in` took it out of the region. Not an API call the engine's changes depend
    /// on, so neither counted nor logged, like [`Provider::zones`].
    async fn image_exists(&self, region: &str, image: &str) -> Result<Option<bool>, ProviderError> {
        if !regions::is_region(region) {
            return Err(unknown_region(region));
        }
        let stored = self.peek().await?.unwrap_or_default();
        if stored.outages.contains(region) || self.faults.outages.contains(region) {
            return Err(region_in_outage(region));
        }
        Ok(Some(!stored.image_missing(region, image)))
    }

    /// The quotas with a limit in `region` (set by `cairn sim quota`, or AWS's defaults under
    /// `CAIRN_SIM_PROFILE=aws`) and their usage. Neither counted nor logged, like
    /// [`Provider::image_exists`].
    async fn quotas(&self, region: &str) -> Result<Vec<crate::provider::Quota>, ProviderError> {
        if !regions::is_region(region) {
            return Err(unknown_region(region));
        }
        let stored = self.peek().await?.unwrap_or_default();
        if stored.outages.contains(region) || self.faults.outages.contains(region) {
            return Err(region_in_outage(region));
        }
        Ok(crate::provider::QuotaName::ALL
            .into_iter()
            .filter_map(|name| {
                Some(crate::provider::Quota {
                    name,
                    limit: stored.quota_limit(region, name, &self.faults.timings)?,
                    usage: stored.quota_usage(region, name),
                })
            })
            .collect())
    }

    fn calls(&self) -> CallCount {
        CallCount {
            reads: self.reads.load(Ordering::Relaxed),
            mutations: self.mutations.load(Ordering::Relaxed),
        }
    }

    /// Folds the journal into the cloud file (see `Locked::compact`): an apply of 100,000
    /// resources left a journal about as large as the file, which the next command parsed
    /// and replayed, or, once it outgrew the file, wrote whole in its first call (issue 14).
    async fn finish(&self) -> Result<(), ProviderError> {
        // Behind every call still running, as a call is.
        let _gate = self.gate.lock().await;
        let store = Arc::clone(&self.store);
        let compacted = tokio::task::spawn_blocking(move || store.lock()?.compact()).await;
        match compacted {
            Ok(result) => result.map_err(|error| storage_failure(&error)),
            Err(error) => Err(storage_failure(&SimError::Task {
                message: error.to_string(),
            })),
        }
    }
}
