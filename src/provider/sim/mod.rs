//! The built-in simulated cloud with AWS semantics, persisted in a local file.
//!
//! It is a full implementation of [`Provider`], not a mock: regions and zones, AWS-shaped ids
//! (`vpc-` + 17 hex digits, …), AWS validation errors and codes, dependency checks on delete,
//! instance lifecycle (pending, then running), autoscaling groups that launch and terminate
//! instances across zones, snapshots and cross-region copies, idempotency tokens.
//!
//! Promises:
//! - The whole cloud lives in one JSON file ([`SimProvider::open`]); every call is
//!   load-modify-save under an exclusive file lock with an atomic write, so separate `cairn`
//!   processes see one cloud, and parallel calls of one process are serialized by an async
//!   mutex (latency is slept outside it, so parallel calls overlap). A call that returned is
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
mod error;
pub mod faults;
mod ids;
mod network;
mod operations;
mod out_of_band;
mod regions;
mod security_group;
mod store;

#[cfg(test)]
mod tests;

pub use call_log::{CallOutcome, CallRecord, LOG_FILE_NAME, log_path, read_call_log};
pub use error::SimError;
pub use faults::{FaultConfig, FaultSettings};
pub use out_of_band::{Inventory, InventoryItem, SimCloud};
pub use regions::{region_names, zones};

use crate::model::{Kind, Owner};
use crate::provider::{
    CallCount, CreateRequest, LiveResource, Provider, ProviderError, UpdateRequest,
};
use async_trait::async_trait;
use call_log::CallOutcome as Outcome;
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
    reads: AtomicU64,
    mutations: AtomicU64,
}

impl SimProvider {
    /// Opens the cloud stored at `path` (created on the first call if missing), with faults
    /// from the `CAIRN_SIM_*` environment variables.
    ///
    /// # Errors
    /// [`SimError::Corrupt`] / [`SimError::UnsupportedFormat`] for a file that is not a
    /// simulated cloud, [`SimError::Io`] when it cannot be read, [`SimError::InvalidFault`] for a
    /// bad fault variable.
    pub fn open(path: &Path) -> Result<SimProvider, SimError> {
        Self::open_with_faults(path, FaultConfig::from_env()?)
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
        Ok(SimProvider {
            store: Arc::new(store),
            faults: Arc::new(faults),
            dice: Arc::new(std::sync::Mutex::new(fastrand::Rng::with_seed(seed))),
            gate: tokio::sync::Mutex::new(()),
            reads: AtomicU64::new(0),
            mutations: AtomicU64::new(0),
        })
    }

    /// The cloud file.
    pub fn path(&self) -> &Path {
        self.store.path()
    }

    async fn call(&self, region: &str, request: Request) -> Result<Response, ProviderError> {
        let counter = if request.is_mutating() {
            &self.mutations
        } else {
            &self.reads
        };
        counter.fetch_add(1, Ordering::Relaxed);

        let gate = self.gate.lock().await;
        let store = Arc::clone(&self.store);
        let faults = Arc::clone(&self.faults);
        let dice = Arc::clone(&self.dice);
        let region = region.to_string();
        let (result, latency) =
            tokio::task::spawn_blocking(move || execute(&store, &faults, &dice, &region, &request))
                .await
                .map_err(|error| {
                    storage_failure(&SimError::Task {
                        message: error.to_string(),
                    })
                })?;
        drop(gate);
        if latency > 0 {
            tokio::time::sleep(Duration::from_millis(latency)).await;
        }
        result
    }
}

/// One call: lock, load, roll the dice, apply, save, log, and crash if asked to.
fn execute(
    store: &Store,
    faults: &FaultConfig,
    dice: &std::sync::Mutex<fastrand::Rng>,
    region: &str,
    request: &Request,
) -> (Result<Response, ProviderError>, u64) {
    match execute_locked(store, faults, dice, region, request) {
        Ok(done) => done,
        Err(error) => (Err(storage_failure(&error)), 0),
    }
}

fn execute_locked(
    store: &Store,
    faults: &FaultConfig,
    dice: &std::sync::Mutex<fastrand::Rng>,
    region: &str,
    request: &Request,
) -> Result<(Result<Response, ProviderError>, u64), SimError> {
    let locked = store.lock()?;
    let mut cloud = locked.load()?;
    cloud.sequence += 1;
    let now = chrono::Utc::now();
    let settings = cloud.faults.overridden_by(&faults.settings);
    let outages: std::collections::BTreeSet<String> =
        cloud.outages.union(&faults.outages).cloned().collect();
    let fault = {
        let mut rng = dice.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        faults::roll(&mut rng, &settings)
    };
    let context = Context {
        region,
        sequence: cloud.sequence,
        now,
        outages: &outages,
    };

    let mut effect = false;
    let result = if !regions::is_region(region) {
        Err(ProviderError::RegionUnavailable {
            region: region.to_string(),
            message: format!(
                "Could not connect to the endpoint URL: \"https://ec2.{region}.amazonaws.com/\" (unknown region)"
            ),
        })
    } else if outages.contains(region) {
        Err(ProviderError::RegionUnavailable {
            region: region.to_string(),
            message: "simulated outage: the region's endpoints do not answer".to_string(),
        })
    } else if fault == Fault::Throttle {
        Err(ProviderError::Throttled {
            message: "Rate exceeded (simulated)".to_string(),
        })
    } else if fault == Fault::ErrorBefore {
        Err(ProviderError::Transient {
            message: "simulated: the request failed before reaching the service".to_string(),
        })
    } else {
        operations::advance(&mut cloud, &context);
        let mut draft = cloud.clone();
        match operations::perform(&mut draft, &context, request) {
            Ok(response) => {
                cloud = draft;
                effect = true;
                if fault == Fault::ErrorAfter {
                    Err(ProviderError::Transient {
                        message: "simulated: the connection was lost after the request was sent"
                            .to_string(),
                    })
                } else {
                    Ok(response)
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
        Err(ProviderError::Transient { .. }) if effect => (Outcome::TransientAfterEffect, None),
        Err(ProviderError::Transient { .. }) => (Outcome::Transient, None),
        Err(ProviderError::Throttled { .. }) => (Outcome::Throttled, None),
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
    locked.save(cloud)?;
    locked.append_call(&record)?;
    if request.is_mutating() && effect && faults::count_mutation_and_check_crash(faults.crash_after)
    {
        // The simulated kill: the change is saved and logged, the caller never hears back.
        std::process::exit(faults::CRASH_EXIT_CODE);
    }
    Ok((result, settings.latency_ms.unwrap_or(0)))
}

/// A failure of the simulation's own storage, reported as a non-retryable API error.
fn storage_failure(error: &SimError) -> ProviderError {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    ProviderError::Api {
        code: "SimStorageError".to_string(),
        message,
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
        let request = Request::Read {
            kind,
            owner: owner.clone(),
        };
        match self.call(region, request).await? {
            Response::Many(resources) => Ok(resources),
            other => Err(ProviderError::Api {
                code: "InternalError".to_string(),
                message: format!("the simulated cloud answered {other:?} to a read"),
            }),
        }
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

    fn calls(&self) -> CallCount {
        CallCount {
            reads: self.reads.load(Ordering::Relaxed),
            mutations: self.mutations.load(Ordering::Relaxed),
        }
    }
}
