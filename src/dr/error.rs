//! The errors of backup and DR operations.

use crate::provider::ProviderError;

/// What stopped a backup or DR operation.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum DrError {
    /// A cloud call failed.
    #[error("cannot {action} in `{region}`: {source}")]
    Provider {
        action: String,
        region: String,
        #[source]
        source: ProviderError,
    },
    /// The environment defines no `backup_policy`.
    #[error("environment `{environment}` has no backup policy")]
    #[diagnostic(help("add a `backup_policy` block that selects the data volumes"))]
    NoPolicies { environment: String },
    /// A drill of an environment without a DR region.
    #[error("environment `{environment}` has no DR region")]
    #[diagnostic(help(
        "add a `dr {{ region = ..., zones = [...] }}` block, or pass `--to REGION`"
    ))]
    NoDrRegion { environment: String },
    /// A redeploy into a region whose zones are unknown.
    #[error("no zones known for region `{region}`")]
    #[diagnostic(help("set `dr {{ region = \"{region}\", zones = [...] }}` in the environment"))]
    NoZones { region: String },
    /// A data volume has no backup copy in the region a drill restores into.
    #[error("no backup copy of `{address}` in `{region}`")]
    #[diagnostic(help("run `cairn backup run -e {environment}` first"))]
    NoBackup {
        address: String,
        region: String,
        environment: String,
    },
    /// Every backup copy of a data volume in the region is still pending.
    #[error("no completed backup copy of `{address}` in `{region}`: {pending}")]
    #[diagnostic(help(
        "wait until the copy completes (`cairn backup run -e {environment} --wait` waits for it), then run this again"
    ))]
    NoCompletedBackup {
        address: String,
        region: String,
        pending: String,
        environment: String,
    },
    /// A snapshot or copy did not complete within the time a `--wait` allowed.
    #[error(
        "backup snapshot `{id}` in `{region}` is still pending ({progress}) after {waited_seconds}s"
    )]
    #[diagnostic(help("run `cairn backup run` again later; it carries on where this one stopped"))]
    StillPending {
        id: String,
        region: String,
        progress: String,
        waited_seconds: u64,
    },
    /// The drill's apply did not complete.
    #[error("the drill's apply failed: {reason}")]
    DrillApply { reason: String },
    /// A failover's or failback's apply did not complete; the environment stays recorded where
    /// the operation moved it, so running it again resumes.
    #[error("the {operation}'s apply failed: {reason}")]
    #[diagnostic(help("fix the cause and run `cairn dr {operation}` again; it resumes"))]
    Apply { operation: String, reason: String },
    /// A drill or failover of an environment that already runs in its DR region.
    #[error("environment `{environment}` is failed over to `{region}`")]
    #[diagnostic(help("run `cairn dr failback -e {environment}` once the primary is back"))]
    FailedOver { environment: String, region: String },
    /// A failback of an environment that runs in its primary region.
    #[error("environment `{environment}` is not failed over; it runs in its primary `{region}`")]
    #[diagnostic(help(
        "if an earlier failback stopped during its apply, `cairn apply -e {environment}` completes it"
    ))]
    NotFailedOver { environment: String, region: String },
    /// Failback needs the primary region to answer.
    #[error("the primary region `{region}` is still unavailable: {source}")]
    #[diagnostic(help("fail back once the primary region answers again"))]
    PrimaryUnavailable {
        region: String,
        #[source]
        source: ProviderError,
    },
    /// The drill's groups did not reach their minimum in service in time.
    #[error(
        "autoscaling group `{group}` has {in_service} of {min} instances in service after {waited_seconds}s"
    )]
    Unhealthy {
        group: String,
        in_service: usize,
        min: usize,
        waited_seconds: u64,
    },
    /// The audit log could not be written.
    #[error("cannot use the audit log `{path}`: {source}")]
    Audit {
        path: String,
        #[source]
        source: crate::state::StateError,
    },
}

impl DrError {
    pub(crate) fn provider(action: impl Into<String>, region: &str, source: ProviderError) -> Self {
        DrError::Provider {
            action: action.into(),
            region: region.to_string(),
            source,
        }
    }
}
