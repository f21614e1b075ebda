//! Errors of the simulated cloud itself (its file, its lock, out-of-band commands), and the
//! constructors of the AWS-shaped API errors its operations return.
//!
//! A [`SimError`] is about the simulation's own machinery; an API refusal seen by the engine is
//! a [`ProviderError::Api`] with an AWS error code, built with [`api`].

use crate::model::Kind;
use crate::provider::ProviderError;
use std::path::PathBuf;

/// What can go wrong with the simulated cloud's file or with an out-of-band change.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SimError {
    /// Reading, writing or locking a file failed.
    #[error("cannot {action} `{path}`: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The cloud file exists but is not a valid simulated cloud; it is never reset silently.
    #[error("the simulated cloud file `{path}` is corrupt: {source}")]
    #[diagnostic(help(
        "the file was not overwritten; fix it, or remove it with `cairn sim reset` after moving it aside"
    ))]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// The cloud file was written by a newer Cairn.
    #[error(
        "the simulated cloud file `{path}` has format {found}, this Cairn reads format {supported}"
    )]
    UnsupportedFormat {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    /// A line of the cloud's journal, before its last, is not what a batch changed.
    #[error("line {line} of the simulated cloud's journal `{path}` is corrupt: {source}")]
    #[diagnostic(help(
        "the journal was not overwritten; fix it, or remove it with `cairn sim reset` after moving it aside"
    ))]
    CorruptJournal {
        path: PathBuf,
        line: usize,
        #[source]
        source: serde_json::Error,
    },
    /// A line of the call log is not a call record.
    #[error("line {line} of the call log `{path}` is not a call record: {source}")]
    CorruptCallLog {
        path: PathBuf,
        line: usize,
        #[source]
        source: serde_json::Error,
    },
    /// An image id (`cairn sim image`) not shaped as AWS takes one: `reason` says what is.
    #[error("{reason}")]
    MalformedImage { reason: String },
    /// No resource in any region has this id.
    #[error("no resource `{id}` exists in the simulated cloud")]
    #[diagnostic(help("run `cairn sim show` to list the ids that exist"))]
    UnknownId { id: String },
    /// The id exists in several regions (autoscaling group names are per region).
    #[error("`{id}` exists in several regions: {}", regions.join(", "))]
    #[diagnostic(help("delete or change it in one region through the stack"))]
    AmbiguousId { id: String, regions: Vec<String> },
    /// The attribute cannot be changed out of band.
    #[error("attribute `{attribute}` of {kind} `{id}` cannot be set: {reason}")]
    InvalidAttribute {
        kind: Kind,
        id: String,
        attribute: String,
        reason: String,
    },
    /// A fault setting is out of range.
    #[error("invalid fault setting `{name}`: {reason}")]
    InvalidFault { name: String, reason: String },
    /// No alarm has that name.
    #[error("no alarm `{name}` exists in the simulated cloud")]
    #[diagnostic(help(
        "name an alarm by its block (`cpu_high`) or its cloud name; `cairn sim show` lists them"
    ))]
    UnknownAlarm { name: String },
    /// A load outside 0 to 100 percent.
    #[error("a CPU load of {percent} % is not a percentage")]
    InvalidLoad { percent: f64 },
    /// The clock cannot be set where asked.
    #[error("cannot set the simulated cloud's clock: {reason}")]
    InvalidClock { reason: String },
    /// The region is not one the simulated cloud has.
    #[error("unknown region `{region}`")]
    UnknownRegion { region: String },
    /// The simulated API refused an out-of-band change (for example a dependency violation).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Refused(#[from] ProviderError),
    /// A background task of the provider failed to run.
    #[error("a simulated cloud task failed: {message}")]
    Task { message: String },
    /// `CAIRN_CONSISTENCY_WINDOW` is not a duration.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Window(#[from] crate::provider::InvalidWindow),
}

/// An AWS-shaped API refusal.
pub(crate) fn api(code: &str, message: impl Into<String>) -> ProviderError {
    ProviderError::Api {
        code: code.to_string(),
        message: message.into(),
    }
}

/// The code AWS returns for a reference to a missing resource of `kind`.
pub(crate) fn not_found_code(kind: Kind) -> &'static str {
    match kind {
        Kind::Network => "InvalidVpcID.NotFound",
        Kind::Subnet => "InvalidSubnetID.NotFound",
        Kind::InternetGateway => "InvalidInternetGatewayID.NotFound",
        Kind::RouteTable => "InvalidRouteTableID.NotFound",
        Kind::SecurityGroup => "InvalidGroup.NotFound",
        Kind::LaunchTemplate => "InvalidLaunchTemplateId.NotFound",
        Kind::AutoscalingGroup | Kind::ScalingPolicy => "ValidationError",
        Kind::Volume => "InvalidVolume.NotFound",
        Kind::Instance => "InvalidInstanceID.NotFound",
        Kind::Snapshot => "InvalidSnapshot.NotFound",
        Kind::LoadBalancer => "LoadBalancerNotFound",
        Kind::TargetGroup => "TargetGroupNotFound",
        Kind::Listener => "ListenerNotFound",
        Kind::Alarm => "ResourceNotFound",
        Kind::DnsZone => "NoSuchHostedZone",
        Kind::DnsHealthCheck => "NoSuchHealthCheck",
        Kind::DnsRecord => "InvalidChangeBatch",
    }
}

/// The refusal for an attribute that references a missing resource.
pub(crate) fn missing_reference(kind: Kind, id: &str) -> ProviderError {
    api(
        not_found_code(kind),
        format!("The {kind} ID '{id}' does not exist"),
    )
}
