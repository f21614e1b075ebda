//! The API surface of the simulated cloud: one request (read, create, update, delete, import)
//! applied to a [`Cloud`], with AWS operation names for the call log, idempotency tokens, and
//! the passage of time between calls (pending instances start, groups replace instances).
//!
//! Promise: [`perform`] either applies the whole request or returns an error; callers run it on
//! a draft of the cloud and keep the draft only on success.

use super::autoscaling;
use super::block_storage;
use super::cloud::{Cloud, Resource, TokenRecord, TokenUse};
use super::compute;
use super::dns;
use super::error::api;
use super::load_balancing;
use super::monitoring;
use super::network::{self, replace_attributes};
use super::security_group;
use crate::model::Value;
use crate::model::timings::Timings;
use crate::model::{Attributes, Kind, OWNERSHIP_TAGS, Owner, Tags};
use crate::provider::{CreateRequest, LiveResource, ProviderError, UpdateRequest};
use chrono::{DateTime, Utc};
use std::collections::BTreeSet;

/// Where and when a call happens.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub region: &'a str,
    /// The call's sequence number; instances launched by it start on a later call.
    pub sequence: u64,
    pub now: DateTime<Utc>,
    /// The wall clock: a read lag is eventual consistency in real time, which a stopped cloud
    /// clock (`cairn sim clock --set`) must not stretch forever.
    pub wall_clock: DateTime<Utc>,
    /// Regions currently unavailable (for cross-region copies).
    pub outages: &'a BTreeSet<String>,
    /// How long a new object stays missing from reads (zero: reads see every write).
    pub read_lag: chrono::TimeDelta,
    /// How long the snapshots, copies and boots this call starts take (on the cloud's clock).
    pub timings: Timings,
}

impl Context<'_> {
    /// Whether a read sees `resource` yet: with a read lag, one created less than the lag ago
    /// is missing, as a new id is from AWS's Describe calls for a while.
    fn sees(&self, resource: &Resource) -> bool {
        resource
            .created
            .is_none_or(|created| self.wall_clock - created >= self.read_lag)
    }
}

/// One API call.
#[derive(Debug, Clone)]
pub enum Request {
    /// The resources of `kind` that `owner`'s tags select; every one without an owner
    /// (`cairn discover`).
    Read {
        kind: Kind,
        owner: Option<Owner>,
    },
    Create(CreateRequest),
    Update(UpdateRequest),
    Delete {
        kind: Kind,
        id: String,
    },
    Import {
        kind: Kind,
        id: String,
    },
    /// Rewrites the ownership tags of one resource (CreateTags and DeleteTags).
    SetOwnership {
        kind: Kind,
        id: String,
        ownership: Tags,
    },
    /// Terminates one instance of a group, lowering its desired capacity.
    TerminateInGroup {
        group: String,
        instance: String,
    },
    /// The targets of one target group with their health (DescribeTargetHealth).
    TargetHealth {
        target_group: String,
    },
    /// One version's settings (DescribeLaunchTemplateVersions).
    TemplateVersion {
        template: String,
        version: Value,
    },
    /// RegisterTargets (`register`) or DeregisterTargets.
    Registration {
        target_group: String,
        instances: Vec<String>,
        register: bool,
    },
}

/// What a call returns.
#[derive(Debug, Clone)]
pub enum Response {
    Many(Vec<LiveResource>),
    One(LiveResource),
    /// Instance ids with their target health.
    Health(Vec<(String, String)>),
    /// A launch template version's settings.
    Settings(Attributes),
    Done,
}

impl Request {
    pub fn kind(&self) -> Kind {
        match self {
            Request::Read { kind, .. }
            | Request::Delete { kind, .. }
            | Request::Import { kind, .. }
            | Request::SetOwnership { kind, .. } => *kind,
            Request::Create(request) => request.kind,
            Request::Update(request) => request.kind,
            Request::TerminateInGroup { .. } => Kind::Instance,
            Request::TargetHealth { .. } | Request::Registration { .. } => Kind::TargetGroup,
            Request::TemplateVersion { .. } => Kind::LaunchTemplate,
        }
    }

    pub fn is_mutating(&self) -> bool {
        matches!(
            self,
            Request::Create(_)
                | Request::Update(_)
                | Request::Delete { .. }
                | Request::SetOwnership { .. }
                | Request::TerminateInGroup { .. }
                | Request::Registration { .. }
        )
    }

    /// The id the request names, if any.
    pub fn target(&self) -> Option<&str> {
        match self {
            Request::Delete { id, .. }
            | Request::Import { id, .. }
            | Request::SetOwnership { id, .. } => Some(id),
            Request::Update(request) => Some(&request.id),
            Request::TerminateInGroup { instance, .. } => Some(instance),
            Request::TargetHealth { target_group } | Request::Registration { target_group, .. } => {
                Some(target_group)
            }
            Request::TemplateVersion { template, .. } => Some(template),
            Request::Read { .. } | Request::Create(_) => None,
        }
    }

    /// The AWS operation this request stands for.
    pub fn operation(&self) -> &'static str {
        let kind = self.kind();
        match self {
            Request::Read { .. } | Request::Import { .. } => describe_operation(kind),
            Request::Create(request) => create_operation(kind, &request.attributes),
            Request::Update(_) => update_operation(kind),
            Request::Delete { .. } => delete_operation(kind),
            Request::SetOwnership { .. } if kind == Kind::AutoscalingGroup => "CreateOrUpdateTags",
            Request::SetOwnership { .. } => "CreateTags",
            Request::TerminateInGroup { .. } => "TerminateInstanceInAutoScalingGroup",
            Request::TargetHealth { .. } => "DescribeTargetHealth",
            Request::TemplateVersion { .. } => "DescribeLaunchTemplateVersions",
            Request::Registration { register: true, .. } => "RegisterTargets",
            Request::Registration { .. } => "DeregisterTargets",
        }
    }
}

fn describe_operation(kind: Kind) -> &'static str {
    match kind {
        Kind::Network => "DescribeVpcs",
        Kind::Subnet => "DescribeSubnets",
        Kind::InternetGateway => "DescribeInternetGateways",
        Kind::RouteTable => "DescribeRouteTables",
        Kind::SecurityGroup => "DescribeSecurityGroups",
        Kind::LaunchTemplate => "DescribeLaunchTemplates",
        Kind::AutoscalingGroup => "DescribeAutoScalingGroups",
        Kind::ScalingPolicy => "DescribePolicies",
        Kind::Volume => "DescribeVolumes",
        Kind::Instance => "DescribeInstances",
        Kind::Snapshot => "DescribeSnapshots",
        Kind::LoadBalancer => "DescribeLoadBalancers",
        Kind::TargetGroup => "DescribeTargetGroups",
        Kind::Listener => "DescribeListeners",
        Kind::Alarm => "DescribeAlarms",
        Kind::DnsZone => "ListHostedZones",
        Kind::DnsHealthCheck => "ListHealthChecks",
        Kind::DnsRecord => "ListResourceRecordSets",
    }
}

fn create_operation(kind: Kind, attributes: &Attributes) -> &'static str {
    match kind {
        Kind::Network => "CreateVpc",
        Kind::Subnet => "CreateSubnet",
        Kind::InternetGateway => "CreateInternetGateway",
        Kind::RouteTable => "CreateRouteTable",
        Kind::SecurityGroup => "CreateSecurityGroup",
        Kind::LaunchTemplate => "CreateLaunchTemplate",
        Kind::AutoscalingGroup => "CreateAutoScalingGroup",
        Kind::ScalingPolicy => "PutScalingPolicy",
        Kind::Volume => "CreateVolume",
        Kind::Instance => "RunInstances",
        Kind::Snapshot if attributes.contains_key("source_snapshot_id") => "CopySnapshot",
        Kind::Snapshot => "CreateSnapshot",
        Kind::LoadBalancer => "CreateLoadBalancer",
        Kind::TargetGroup => "CreateTargetGroup",
        Kind::Listener => "CreateListener",
        Kind::Alarm => "PutMetricAlarm",
        Kind::DnsZone => "CreateHostedZone",
        Kind::DnsHealthCheck => "CreateHealthCheck",
        Kind::DnsRecord => "ChangeResourceRecordSets",
    }
}

fn update_operation(kind: Kind) -> &'static str {
    match kind {
        Kind::Network | Kind::InternetGateway | Kind::Snapshot => "CreateTags",
        Kind::DnsZone => "ChangeTagsForResource",
        Kind::Subnet => "ModifySubnetAttribute",
        Kind::RouteTable => "ReplaceRoute",
        Kind::SecurityGroup => "ModifySecurityGroupRules",
        Kind::LaunchTemplate => "CreateLaunchTemplateVersion",
        Kind::AutoscalingGroup => "UpdateAutoScalingGroup",
        Kind::ScalingPolicy => "PutScalingPolicy",
        Kind::Volume => "ModifyVolume",
        Kind::Instance => "ModifyInstanceAttribute",
        Kind::LoadBalancer => "SetSubnets",
        Kind::TargetGroup => "ModifyTargetGroup",
        Kind::Listener => "ModifyListener",
        Kind::Alarm => "PutMetricAlarm",
        Kind::DnsHealthCheck => "UpdateHealthCheck",
        Kind::DnsRecord => "ChangeResourceRecordSets",
    }
}

fn delete_operation(kind: Kind) -> &'static str {
    match kind {
        Kind::Network => "DeleteVpc",
        Kind::Subnet => "DeleteSubnet",
        Kind::InternetGateway => "DeleteInternetGateway",
        Kind::RouteTable => "DeleteRouteTable",
        Kind::SecurityGroup => "DeleteSecurityGroup",
        Kind::LaunchTemplate => "DeleteLaunchTemplate",
        Kind::AutoscalingGroup => "DeleteAutoScalingGroup",
        Kind::ScalingPolicy => "DeletePolicy",
        Kind::Volume => "DeleteVolume",
        Kind::Instance => "TerminateInstances",
        Kind::Snapshot => "DeleteSnapshot",
        Kind::LoadBalancer => "DeleteLoadBalancer",
        Kind::TargetGroup => "DeleteTargetGroup",
        Kind::Listener => "DeleteListener",
        Kind::Alarm => "DeleteAlarms",
        Kind::DnsZone => "DeleteHostedZone",
        Kind::DnsHealthCheck => "DeleteHealthCheck",
        Kind::DnsRecord => "ChangeResourceRecordSets",
    }
}

/// Lets time pass in the call's region before the call is served: snapshots and copies whose
/// time has come are completed, instances launched by earlier calls (or, with a timing
/// profile, whose boot time has passed) are running, groups have replaced instances that went away, and alarms
/// whose metric changed have left a forced state.
pub fn advance(cloud: &mut Cloud, context: &Context) {
    block_storage::progress(cloud, context);
    compute::start_pending(cloud, context);
    autoscaling::reconcile_all(cloud, context);
    monitoring::settle(cloud, context.region);
}

/// Applies one request.
///
/// # Errors
/// The AWS-shaped refusal of the request; the cloud may then be partly changed, so callers
/// apply requests to a draft.
pub fn perform(
    cloud: &mut Cloud,
    context: &Context,
    request: &Request,
) -> Result<Response, ProviderError> {
    match request {
        Request::Read { kind, owner } => Ok(Response::Many(
            cloud
                .all_of(context.region, *kind)
                .filter(|resource| {
                    owner
                        .as_ref()
                        .is_none_or(|owner| owner.owns(&resource.tags))
                        && context.sees(resource)
                })
                .map(|resource| live(cloud, context.region, resource))
                .collect(),
        )),
        Request::Import { kind, id } => {
            let resource = cloud.target(context.region, *kind, id)?;
            if !context.sees(resource) {
                return Err(ProviderError::NotFound {
                    kind: *kind,
                    region: context.region.to_string(),
                    id: id.clone(),
                });
            }
            Ok(Response::One(live(cloud, context.region, resource)))
        }
        Request::Create(request) => create(cloud, context, request).map(Response::One),
        Request::Update(request) => update(cloud, context, request).map(Response::One),
        Request::Delete { kind, id } => delete(cloud, context, *kind, id).map(|()| Response::Done),
        Request::SetOwnership {
            kind,
            id,
            ownership,
        } => {
            let mut resource = cloud.target_mut(context.region, *kind, id)?;
            // A scaling policy carries its group's ownership, not its own (as in AWS).
            if kind.takes_tags() {
                resource
                    .tags
                    .retain(|key, _| !OWNERSHIP_TAGS.contains(&key.as_str()));
                resource.tags.extend(ownership.clone());
            }
            drop(resource);
            if *kind == Kind::DnsZone {
                dns::own_records(cloud, context, id, ownership)?;
            }
            let resource = cloud.target(context.region, *kind, id)?;
            Ok(Response::One(live(cloud, context.region, resource)))
        }
        Request::TerminateInGroup { group, instance } => {
            autoscaling::terminate_in_group(cloud, context, group, instance)
                .map(|()| Response::Done)
        }
        Request::TargetHealth { target_group } => {
            cloud.target(context.region, Kind::TargetGroup, target_group)?;
            let mut health: Vec<(String, String)> =
                load_balancing::targets(cloud, context.region, target_group)
                    .into_iter()
                    .map(|(id, state)| (id, state.to_string()))
                    .collect();
            health.sort();
            Ok(Response::Health(health))
        }
        Request::TemplateVersion { template, version } => {
            compute::template_version(cloud, context.region, template, Some(version))
                .map(|(_, settings)| Response::Settings(settings))
        }
        Request::Registration {
            target_group,
            instances,
            register,
        } => load_balancing::set_registered(cloud, context, target_group, instances, *register)
            .map(|()| Response::Done),
    }
}

/// A stored resource as the engine sees it, derived attributes included.
pub fn live(cloud: &Cloud, region: &str, resource: &Resource) -> LiveResource {
    let mut live = resource.live(region);
    match resource.kind {
        Kind::AutoscalingGroup => {
            autoscaling::complete_live(cloud, region, resource, &mut live.attributes);
        }
        Kind::Alarm => {
            live.attributes.insert(
                "state".to_string(),
                Value::from(monitoring::state(cloud, region, resource)),
            );
        }
        _ => {}
    }
    live
}

/// The request's attributes without the computed ones, which the cloud sets itself.
fn settable(kind: Kind, attributes: &Attributes) -> Attributes {
    attributes
        .iter()
        .filter(|(name, _)| !kind.computed_attributes().contains(&name.as_str()))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

fn create(
    cloud: &mut Cloud,
    context: &Context,
    request: &CreateRequest,
) -> Result<LiveResource, ProviderError> {
    if let Some(record) = cloud.token(TokenUse::Create, &request.token).cloned() {
        if record.kind != request.kind || record.region != context.region {
            return Err(api(
                "IdempotentParameterMismatch",
                format!(
                    "The client token {} was already used for a {} in {}",
                    request.token, record.kind, record.region
                ),
            ));
        }
        if let Some(resource) = cloud.find(context.region, record.kind, &record.id) {
            return Ok(live(cloud, context.region, resource));
        }
    }
    let attributes = settable(request.kind, &request.attributes);
    let tags = &request.tags;
    let id = match request.kind {
        Kind::Network => network::create_network(cloud, context, &attributes, tags),
        Kind::Subnet => network::create_subnet(cloud, context, &attributes, tags),
        Kind::InternetGateway => {
            network::create_internet_gateway(cloud, context, &attributes, tags)
        }
        Kind::RouteTable => network::create_route_table(cloud, context, &attributes, tags),
        Kind::SecurityGroup => security_group::create(cloud, context, &attributes, tags),
        Kind::LaunchTemplate => compute::create_launch_template(cloud, context, &attributes, tags),
        Kind::AutoscalingGroup => autoscaling::create_group(cloud, context, &attributes, tags),
        Kind::ScalingPolicy => autoscaling::create_policy(cloud, context, &attributes),
        Kind::Volume => block_storage::create_volume(cloud, context, &attributes, tags),
        Kind::Instance => compute::create_instance(cloud, context, &attributes, tags),
        Kind::Snapshot => block_storage::create_snapshot(cloud, context, &attributes, tags),
        Kind::LoadBalancer => {
            load_balancing::create_load_balancer(cloud, context, &attributes, tags)
        }
        Kind::TargetGroup => load_balancing::create_target_group(cloud, context, &attributes, tags),
        Kind::Listener => load_balancing::create_listener(cloud, context, &attributes, tags),
        Kind::Alarm => monitoring::put_alarm(cloud, context, &attributes, tags),
        Kind::DnsZone => dns::create_zone(cloud, context, &attributes, tags),
        Kind::DnsHealthCheck => dns::create_health_check(cloud, context, &attributes, tags),
        Kind::DnsRecord => dns::upsert_record(cloud, context, &attributes),
    }?;
    if let Some(mut resource) = cloud.find_mut(context.region, request.kind, &id) {
        resource.created = Some(context.wall_clock);
    }
    if !request.token.is_empty() {
        cloud.record_token(
            TokenUse::Create,
            &request.token,
            TokenRecord {
                region: context.region.to_string(),
                kind: request.kind,
                id: id.clone(),
            },
        );
    }
    let resource = cloud.target(context.region, request.kind, &id)?;
    Ok(live(cloud, context.region, resource))
}

fn update(
    cloud: &mut Cloud,
    context: &Context,
    request: &UpdateRequest,
) -> Result<LiveResource, ProviderError> {
    let kind = request.kind;
    let applied =
        !request.token.is_empty() && cloud.token(TokenUse::Update, &request.token).is_some();
    if !applied {
        let current = cloud.target(context.region, kind, &request.id)?;
        let after = settable(kind, &request.after);
        for attribute in kind.replace_attributes() {
            if current.attributes.get(*attribute) != after.get(*attribute) {
                return Err(api(
                    "InvalidParameterValue",
                    format!(
                        "{attribute} of {kind} {} cannot change in place; the resource must be replaced",
                        request.id
                    ),
                ));
            }
        }
        let id = request.id.as_str();
        match kind {
            Kind::Network | Kind::InternetGateway | Kind::Snapshot | Kind::DnsZone => {
                let mut resource = cloud.target_mut(context.region, kind, id)?;
                let kept: Vec<_> = kind
                    .computed_attributes()
                    .iter()
                    .filter_map(|name| {
                        Some((name.to_string(), resource.attributes.get(*name)?.clone()))
                    })
                    .collect();
                replace_attributes(&mut resource, &after);
                resource.attributes.extend(kept);
            }
            Kind::Subnet => network::update_subnet(cloud, context, id, &after)?,
            Kind::RouteTable => network::update_route_table(cloud, context, id, &after)?,
            Kind::SecurityGroup => security_group::update(cloud, context, id, &after)?,
            Kind::LaunchTemplate => compute::update_launch_template(cloud, context, id, &after)?,
            Kind::AutoscalingGroup => autoscaling::update_group(cloud, context, id, &after)?,
            Kind::ScalingPolicy => autoscaling::update_policy(cloud, context, id, &after)?,
            Kind::Volume => block_storage::update_volume(cloud, context, id, &after)?,
            Kind::Instance => compute::update_instance(cloud, context, id, &after)?,
            Kind::LoadBalancer => load_balancing::update_load_balancer(cloud, context, id, &after)?,
            Kind::TargetGroup => load_balancing::update_target_group(cloud, context, id, &after)?,
            Kind::Listener => load_balancing::update_listener(cloud, context, id, &after)?,
            Kind::Alarm => monitoring::update_alarm(cloud, context, id, &after)?,
            Kind::DnsHealthCheck => dns::update_health_check(cloud, context, id, &after)?,
            Kind::DnsRecord => dns::update_record(cloud, context, id, &after)?,
        }
        // A kind the cloud keeps no tags on keeps the ones it reads with (its owner's).
        if kind.takes_tags() {
            cloud.target_mut(context.region, kind, id)?.tags = request.tags.clone();
        }
        if !request.token.is_empty() {
            cloud.record_token(
                TokenUse::Update,
                &request.token,
                TokenRecord {
                    region: context.region.to_string(),
                    kind,
                    id: id.to_string(),
                },
            );
        }
    }
    let resource = cloud.target(context.region, kind, &request.id)?;
    Ok(live(cloud, context.region, resource))
}

/// Deletes one resource with the AWS dependency checks.
///
/// # Errors
/// `NotFound` when it is gone, `DependencyViolation` and friends when something still uses it.
pub fn delete(
    cloud: &mut Cloud,
    context: &Context,
    kind: Kind,
    id: &str,
) -> Result<(), ProviderError> {
    match kind {
        Kind::Network => network::delete_network(cloud, context, id),
        Kind::Subnet => network::delete_subnet(cloud, context, id),
        Kind::InternetGateway => network::delete_internet_gateway(cloud, context, id),
        Kind::RouteTable => network::delete_route_table(cloud, context, id),
        Kind::SecurityGroup => security_group::delete(cloud, context, id),
        Kind::LaunchTemplate => compute::delete_launch_template(cloud, context, id),
        Kind::AutoscalingGroup => autoscaling::delete_group(cloud, context, id),
        Kind::ScalingPolicy => autoscaling::delete_policy(cloud, context, id),
        Kind::Volume => block_storage::delete_volume(cloud, context, id),
        Kind::Instance => compute::delete_instance(cloud, context, id),
        Kind::Snapshot => block_storage::delete_snapshot(cloud, context, id),
        Kind::LoadBalancer => load_balancing::delete_load_balancer(cloud, context, id),
        Kind::TargetGroup => load_balancing::delete_target_group(cloud, context, id),
        Kind::Listener => load_balancing::delete_listener(cloud, context, id),
        Kind::Alarm => monitoring::delete_alarm(cloud, context, id),
        Kind::DnsZone => dns::delete_zone(cloud, context, id),
        Kind::DnsHealthCheck => dns::delete_health_check(cloud, context, id),
        Kind::DnsRecord => dns::delete_record(cloud, context, id),
    }
}
