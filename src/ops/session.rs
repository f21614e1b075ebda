//! What every DR operation starts from: its start time, the stack loaded once, and the
//! environment's cloud opened once.

use super::OpsError;
use super::backup::cloud_now;
use super::run::{PlanRequest, Stack};
use crate::dr::failover::Move;
use crate::provider::{Provider, Retrying};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Instant;

/// One DR operation's stack and cloud.
pub(super) struct Session {
    /// When the operation started, for RTO and RPO.
    pub started: Instant,
    /// The same moment by the cloud's clock ([`Provider::now`]), for RPO and the audit log.
    pub started_at: DateTime<Utc>,
    pub stack: Stack,
    /// The cloud as the apply executor wants it: it retries on its own, adapting its
    /// concurrency to throttling.
    pub provider: Arc<dyn Provider>,
    /// The same cloud behind the retrying wrapper, for the backups, restores and health checks
    /// that run outside the executor.
    pub cloud: Arc<dyn Provider>,
}

impl Session {
    /// Starts the clock, loads the stack and opens its cloud.
    ///
    /// # Errors
    /// As [`Stack::open`] and [`Stack::provider`].
    pub async fn open(request: &PlanRequest) -> Result<Session, OpsError> {
        let started = Instant::now();
        let stack = Stack::open(request)?;
        let provider = stack.provider().await?;
        let cloud = Retrying::wrap(Arc::clone(&provider));
        // The RPO compares this with the cloud's snapshot start times: same clock.
        let started_at = cloud_now(cloud.as_ref()).await?;
        Ok(Session {
            started,
            started_at,
            stack,
            provider,
            cloud,
        })
    }

    /// Seconds since the operation started, on the cloud's clock (as its start time is): on
    /// the simulated cloud with its clock set, what its timing profile made the operation
    /// wait. Falls back to the wall clock when the cloud's clock cannot be read.
    pub async fn elapsed_seconds(&self) -> f64 {
        match self.cloud.now().await {
            Ok(now) => (now - self.started_at)
                .to_std()
                .unwrap_or_default()
                .as_secs_f64(),
            Err(_) => self.started.elapsed().as_secs_f64(),
        }
    }

    /// A failover or failback of this session's environment, from region `from` to `region`,
    /// that has restored nothing yet.
    pub fn move_of(&self, operation: &'static str, from: String, region: String) -> Move {
        Move {
            operation,
            stack: self.stack.config.stack.clone(),
            environment: self.stack.environment.name.clone(),
            from,
            region,
            started: self.started,
            started_at: self.started_at,
            backups: Vec::new(),
            restored: Vec::new(),
            skipped: Vec::new(),
            resumed: false,
        }
    }
}
