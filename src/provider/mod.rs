//! The provider boundary: one trait the engine calls, two implementations (`sim`, the built-in
//! simulated cloud, and `aws`).
//!
//! A provider mirrors the operations the engine needs and nothing else: read every owned
//! resource of one kind in one region in a batch, create, update, delete and import. It sees
//! plain attributes (see [`crate::model`] for each kind's attribute contract), never HCL, and
//! every reference in the attributes it receives has already been resolved.

#[cfg(feature = "aws")]
pub mod aws;
mod core_provider;
pub mod pacing;
pub mod quota;
pub mod rate_limits;
mod read_session;
mod retry;
mod settings;
pub mod sim;
pub(crate) mod window;
mod wrapper;

pub use core_provider::CoreProvider;
pub use pacing::Paced;
pub use quota::{Quota, QuotaName};
pub use read_session::ReadSession;
pub use retry::{Retrying, TAG_CREATE_TOKEN};
pub use settings::CloudSettings;
pub use window::{ENV_CONSISTENCY_WINDOW, InvalidWindow, window_from_env};
pub use wrapper::{Answer, Layer, Operation, Wrapped};

use crate::model::{Attributes, Kind, Owner, Tags};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// A resource as the cloud reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveResource {
    pub kind: Kind,
    pub region: String,
    /// The cloud's id (`vpc-…`, `sg-…`, an autoscaling group's name, …).
    pub id: String,
    /// Attributes in the shape of the kind's contract, including computed ones.
    pub attributes: Attributes,
    /// All tags, ownership tags included.
    pub tags: Tags,
}

/// A request to create one resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateRequest {
    pub kind: Kind,
    pub region: String,
    pub attributes: Attributes,
    /// User tags plus ownership tags; a provider sets them in the creation call itself
    /// (`TagSpecifications`), never in a second call, so a crash cannot leave an untagged
    /// resource.
    pub tags: Tags,
    /// Idempotency token: the same token must not create a second resource where the API
    /// supports tokens.
    pub token: String,
}

/// A request to change an existing resource in place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateRequest {
    pub kind: Kind,
    pub region: String,
    pub id: String,
    /// The attributes as last known (from refresh).
    pub before: Attributes,
    /// The attributes wanted; only attributes that update in place differ.
    pub after: Attributes,
    pub tags: Tags,
    pub token: String,
}

/// What went wrong in a provider call, classified so the engine knows whether to retry.
#[derive(Debug, Clone, PartialEq, thiserror::Error, miette::Diagnostic)]
pub enum ProviderError {
    /// The API asked us to slow down; retry with backoff.
    #[error("throttled: {message}")]
    Throttled { message: String },
    /// A failure that may succeed when tried again, of a call that had no effect: it was
    /// refused before the cloud acted on it (a connection that could not be made, a
    /// simulated failure before the effect).
    #[error("transient error: {message}")]
    Transient { message: String },
    /// A call that changes something was sent and no answer came back (a 5xx, a timeout, a
    /// connection reset after the request went out): it may or may not have taken effect.
    /// Trying it again is allowed, but a create is only sent again once its object has been
    /// looked for (see `crate::apply`).
    #[error("outcome unknown: {message}")]
    Ambiguous { message: String },
    /// The resource does not exist (any more).
    #[error("{kind} `{id}` not found in {region}")]
    NotFound {
        kind: Kind,
        region: String,
        id: String,
    },
    /// The region cannot be reached at all (outage, or unknown region).
    #[error("region `{region}` is unavailable: {message}")]
    RegionUnavailable { region: String, message: String },
    /// The API refused the request; `code` is the cloud's error code
    /// (`InvalidParameterValue`, `DependencyViolation`, …).
    #[error("{code}: {message}")]
    Api { code: String, message: String },
    /// Credentials are missing or refused.
    #[error("credentials: {message}")]
    #[diagnostic(help(
        "check AWS_PROFILE or the AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in use, or run `aws sso login`"
    ))]
    Credentials { message: String },
}

impl ProviderError {
    /// Whether trying the same call again may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ProviderError::Throttled { .. }
                | ProviderError::Transient { .. }
                | ProviderError::Ambiguous { .. }
        )
    }

    /// Whether the cloud refused a create because something with the same name, range or
    /// identity exists (`InvalidGroup.Duplicate`, `InvalidSubnet.Conflict`, `AlreadyExists`).
    /// Right after a create whose answer was lost, that something is most likely the lost
    /// create's own object.
    pub fn is_conflict(&self) -> bool {
        match self {
            ProviderError::Api { code, .. } => {
                code.contains("Duplicate")
                    || code.contains("Conflict")
                    || code.contains("AlreadyExists")
            }
            _ => false,
        }
    }
}

/// Per-operation counts of the API calls a provider made, for `-v`, the JSON plan and benches.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallCount {
    pub reads: u64,
    pub mutations: u64,
}

/// Sleeps until the wall clock reads `when` and answers what it reads then: what waiting on a
/// cloud's clock is on AWS, and on the simulated cloud whose clock is not set.
pub(crate) async fn wait_on_wall_clock(
    when: chrono::DateTime<chrono::Utc>,
) -> chrono::DateTime<chrono::Utc> {
    if let Ok(left) = (when - chrono::Utc::now()).to_std() {
        tokio::time::sleep(left).await;
    }
    chrono::Utc::now()
}

/// What the cloud's clock reads, or the wall clock when the cloud's cannot be read: for a time
/// that is only recorded (when a rollout started, when one was rolled back), never waited on.
pub(crate) async fn recorded_time(provider: &dyn Provider) -> chrono::DateTime<chrono::Utc> {
    provider.now().await.unwrap_or_else(|_| chrono::Utc::now())
}

/// The operations the engine needs from a cloud.
///
/// No method has a default body: every implementation says what each one does, so that a
/// method added here is a compile error in every cloud and wrapper until it decides (a
/// wrapper that fell back on a refusing default once answered "cannot" on AWS). Wrappers
/// forward every method through [`Wrapped`]; test doubles that only read, create, update,
/// delete and import implement [`CoreProvider`] instead.
#[async_trait]
pub trait Provider: Send + Sync {
    /// `sim` or `aws`.
    fn name(&self) -> &'static str;

    /// Every resource of `kind` in `region` whose ownership tags match `owner`, read in
    /// batches (filtered by tags, paginated), never one call per resource.
    async fn read(
        &self,
        region: &str,
        kind: Kind,
        owner: &Owner,
    ) -> Result<Vec<LiveResource>, ProviderError>;

    /// Creates one resource, tagged in the creating call.
    ///
    /// # Errors
    /// Once the object exists (a create of several calls whose first one went through), any
    /// failure is [`ProviderError::Ambiguous`]: the engine then looks for the object instead
    /// of creating it again. Before that, the cloud's refusal as it is.
    async fn create(&self, request: &CreateRequest) -> Result<LiveResource, ProviderError>;

    async fn update(&self, request: &UpdateRequest) -> Result<LiveResource, ProviderError>;

    /// Deletes the resource; deleting one that is already gone is `NotFound`.
    async fn delete(&self, region: &str, kind: Kind, id: &str) -> Result<(), ProviderError>;

    /// Rewrites the ownership tags of one resource (see [`crate::model::OWNERSHIP_TAGS`]):
    /// they become exactly `ownership`, every other tag stays as it is. Empty `ownership`
    /// releases the resource (`cairn state rm`): no refresh adopts it again and it is left
    /// alive, as one Cairn never made. Another owner's tags take it over (`cairn import`).
    /// Kinds that take no tags (scaling policies, owned through their group) have nothing to
    /// rewrite. Returns the resource as read afterwards.
    ///
    /// # Errors
    /// [`ProviderError::NotFound`] when the resource does not exist; the cloud's refusals.
    async fn set_ownership(
        &self,
        region: &str,
        kind: Kind,
        id: &str,
        ownership: &Tags,
    ) -> Result<LiveResource, ProviderError>;

    /// Every resource of `kind` in `region`, owned or not, read in batches (for `cairn
    /// discover`, which keeps those nobody owns).
    /// `sim` lists every kind, `aws` the kinds `cairn discover` writes configuration for.
    ///
    /// # Errors
    /// `UnsupportedOperation` for a kind the cloud does not list; the cloud's own errors.
    async fn discover(&self, region: &str, kind: Kind) -> Result<Vec<LiveResource>, ProviderError>;

    /// Reads one resource by id, owned or not (for `cairn import`).
    async fn import(
        &self,
        region: &str,
        kind: Kind,
        id: &str,
    ) -> Result<LiveResource, ProviderError>;

    /// The availability zones of `region` that can be used, sorted by name: where a
    /// redeploy into a region without configured zones places what the primary had in its
    /// n-th zone (DescribeAvailabilityZones on AWS, the catalogue on `sim`).
    ///
    /// # Errors
    /// [`ProviderError::RegionUnavailable`] for a region that does not exist or does not
    /// answer; the cloud's own errors otherwise.
    async fn zones(&self, region: &str) -> Result<Vec<String>, ProviderError>;

    /// How long a new object may stay missing from reads: the cloud's eventual consistency
    /// window. An engine that cannot tell whether a create happened looks for its object
    /// this long before creating it again, and a refresh right after an apply waits this long
    /// before it calls a recorded object deleted.
    fn consistency_window(&self) -> std::time::Duration;

    /// What the cloud's clock says now: the time snapshot start times are measured on, so
    /// backup windows and RPOs compare like with like. The wall clock on AWS; the
    /// simulated cloud's own clock on `sim` (see `cairn sim clock`).
    ///
    /// # Errors
    /// When the cloud's clock cannot be read.
    async fn now(&self) -> Result<chrono::DateTime<chrono::Utc>, ProviderError>;

    /// Terminates instance `instance` of autoscaling group `group` and lowers the group's
    /// desired capacity by one, so that no replacement is launched
    /// (TerminateInstanceInAutoScalingGroup with ShouldDecrementDesiredCapacity): how a
    /// rollout removes the instances it chose, old ones going forward, new ones rolling back.
    ///
    /// # Errors
    /// [`ProviderError::NotFound`] when the group or the instance (in that group) does not
    /// exist; the cloud's refusal when the group would fall below its `min`.
    async fn terminate_in_group(
        &self,
        region: &str,
        group: &str,
        instance: &str,
    ) -> Result<(), ProviderError>;

    /// The targets registered in target group `target_group` with their health as the load
    /// balancer judges it now (DescribeTargetHealth): instance id and state (`healthy`,
    /// `unhealthy`, `initial`, `unused`, `draining`), sorted by id. How a rollout tells when
    /// the instances of a group behind a load balancer take traffic.
    /// A cloud that cannot tell refuses; a rollout then reads health from the group.
    ///
    /// # Errors
    /// [`ProviderError::NotFound`] when the target group does not exist; the cloud's errors.
    async fn target_health(
        &self,
        region: &str,
        target_group: &str,
    ) -> Result<Vec<(String, String)>, ProviderError>;

    /// Registers `instances` in target group `target_group` (RegisterTargets), beside
    /// whatever their autoscaling group registers: how a weighted canary puts its new
    /// instances in a target group of their own. Registering a registered target changes
    /// nothing.
    ///
    /// # Errors
    /// [`ProviderError::NotFound`] when the target group does not exist; the cloud's refusal
    /// of an instance it does not know.
    async fn register_targets(
        &self,
        region: &str,
        target_group: &str,
        instances: &[String],
    ) -> Result<(), ProviderError>;

    /// Takes `instances` out of target group `target_group` (DeregisterTargets), even where
    /// their autoscaling group registered them: a weighted canary's new instances serve from
    /// the canary target group only. Deregistering what is not registered changes nothing.
    ///
    /// # Errors
    /// [`ProviderError::NotFound`] when the target group does not exist.
    async fn deregister_targets(
        &self,
        region: &str,
        target_group: &str,
        instances: &[String],
    ) -> Result<(), ProviderError>;

    /// The settings of version `version` of launch template `template` (a number, or
    /// `$Latest`), in the contract's attributes (`image`, `instance_type`, …; see
    /// [`crate::model::cloud::LAUNCH_TEMPLATE_VERSION_FIELDS`]): what an instance launched from
    /// it runs (DescribeLaunchTemplateVersions). How a blue-green release tells that the group
    /// it kept runs what the release brings back.
    ///
    /// # Errors
    /// The cloud's refusal of a template or version that does not exist.
    async fn launch_template_version(
        &self,
        region: &str,
        template: &str,
        version: &crate::model::Value,
    ) -> Result<crate::model::Attributes, ProviderError>;

    /// Lets `duration` pass on the cloud's clock, for a rollout's warmup, bake and health
    /// polling: a real wait on AWS. The simulated cloud with its clock set
    /// (`cairn sim clock`) moves that clock on at once instead, so that a rollout baking for
    /// minutes takes no time in tests; with the wall clock it waits too.
    ///
    /// # Errors
    /// When the cloud's clock cannot be moved.
    async fn wait(&self, duration: std::time::Duration) -> Result<(), ProviderError>;

    /// Waits until the cloud's clock reads `when` (at once if it is past) and answers what it
    /// reads then: how a client pacing its calls to the cloud's rate limits lets their buckets
    /// refill (see [`pacing`]). A real wait on AWS ([`wait_on_wall_clock`]). The simulated cloud with
    /// its clock set moves that clock on to `when` at once, never back, so that callers
    /// waiting together, in one process or several, move it as far as the latest of them
    /// and no further.
    ///
    /// # Errors
    /// When the cloud's clock cannot be read or moved.
    async fn wait_until(
        &self,
        when: chrono::DateTime<chrono::Utc>,
    ) -> Result<chrono::DateTime<chrono::Utc>, ProviderError>;

    /// Whether this cloud throttles calls past AWS's API token buckets (see [`rate_limits`]),
    /// so that calls to it are paced ([`Paced`]): AWS does; the simulated cloud when it
    /// emulates them (`CAIRN_SIM_RATE_LIMITS=aws`).
    fn rate_limited(&self) -> bool;

    /// How long this cloud takes to complete snapshots and copies and to boot instances:
    /// what `cairn dr check` predicts a recovery time from. AWS's figures on AWS; the
    /// simulated cloud answers with the profile it plays (`CAIRN_SIM_PROFILE`).
    fn timings(&self) -> crate::model::timings::Timings;

    /// Whether image `image` exists in `region` (DescribeImages), for the readiness check of
    /// a DR region: `None` when this cloud cannot tell, which the check reports as unverified.
    ///
    /// # Errors
    /// When the region cannot be asked.
    async fn image_exists(&self, region: &str, image: &str) -> Result<Option<bool>, ProviderError>;

    /// The account quotas of `region` this cloud exposes (see [`quota`]), each with its
    /// limit and what is used of it now, for the readiness check of a DR region. Empty when
    /// the cloud exposes none, which the check reports as unverified.
    ///
    /// # Errors
    /// When the region cannot be asked.
    async fn quotas(&self, region: &str) -> Result<Vec<Quota>, ProviderError>;

    /// Opens a read session (see [`ReadSession`]): until it is dropped, reads of different
    /// kinds may share the listings they have in common, each made once. A provider that reads
    /// every kind with calls of its own shares nothing (`ReadSession::default()`).
    fn read_session(&self) -> ReadSession;

    /// The API calls made so far through this provider.
    fn calls(&self) -> CallCount;

    /// Told once a command that changed the cloud has made its last call: a cloud that keeps
    /// files of its own leaves them in the shape the next command reads fastest. The
    /// simulated cloud writes itself whole instead of leaving a journal for every later
    /// command to replay (issue 14); nothing to do on AWS.
    ///
    /// # Errors
    /// When the cloud's files cannot be written; every call made stays saved all the same.
    async fn finish(&self) -> Result<(), ProviderError>;
}
