//! The AWS provider: the [`Provider`] trait over the real SDK clients (aws-config,
//! aws-sdk-ec2, aws-sdk-autoscaling, aws-sdk-elasticloadbalancingv2, aws-sdk-cloudwatch and
//! aws-sdk-route53).
//!
//! Promises:
//! - Credentials, profile, region and endpoint come from the standard aws-config chain
//!   (environment, profiles, SSO, IMDS; `AWS_ENDPOINT_URL` included); [`AwsSettings`] only
//!   overrides the profile and the endpoint. Nothing here knows whether it talks to AWS or to
//!   an emulator.
//! - A `read` is batched: Describe* calls filtered by the `cairn:stack`/`cairn:env` tags,
//!   following every page, so calls grow with kinds × regions × pages, never with resources.
//!   The services without a tag filter are listed whole and their ownership read in batches
//!   (ELB: DescribeTags, 20 a call; Route 53: ten a call; CloudWatch: from each alarm's
//!   description, since it reads tags one alarm at a time). Listeners are read per owned
//!   load balancer, DNS records per owned zone: their APIs list nothing wider. Inside a read
//!   session (a refresh), the owned balancers and zones are listed once and shared by the
//!   kinds that need them (see [`shared`]).
//! - Route 53 is global: its kinds live in the pseudo-region `global`, served by the
//!   us-east-1 endpoint.
//! - Tags are set by the creating call itself; idempotency tokens are passed where the API
//!   takes one (RunInstances, CreateLaunchTemplate[Version], CreateVolume, CreateRouteTable,
//!   and Route 53's caller references). Route 53 zones and health checks take no tags when
//!   created: their ownership is written where the creating call can (a zone's comment, a
//!   health check's caller reference) and the tags set by the next call.
//! - `read` after `create` or `update` returns the attributes asked for plus the computed
//!   ones, in the shapes of [`crate::model::Kind`]'s contract (sets such as subnet ids come
//!   back sorted), so a plan right after an apply is empty.
//! - Errors are classified (see [`error`]) so the engine knows what to retry. The SDK sends a
//!   call that changes something again only after throttling ([`retry`]); any other failure
//!   of such a call is `Ambiguous`, and so is every retryable failure of a create once its
//!   object exists, so the engine looks for the object before creating it again.
//! - The consistency window (how long a new object may be missing from Describe calls) is
//!   [`DEFAULT_CONSISTENCY_WINDOW`] unless `CAIRN_CONSISTENCY_WINDOW` says otherwise.
//!
//! Each kind lives in its own module with the same functions: `describe` (by owner or by
//! id), `create` (returns the new id), `delete`, and `update` where an attribute of the kind
//! changes in place. Tags are synced here, for every kind, after the kind's own update.

mod alarm;
mod attributes;
mod autoscaling_group;
mod consistency;
mod context;
mod dns_health_check;
mod dns_record;
mod dns_zone;
mod elb;
mod error;
mod images;
mod instance;
mod internet_gateway;
mod launch_template;
mod listener;
mod load_balancer;
mod network;
mod quotas;
mod region;
mod retry;
mod route_table;
mod scaling_policy;
mod security_group;
mod shared;
mod snapshot;
mod subnet;
mod tags;
mod target_group;
mod volume;
mod zones;

pub use error::AwsError;
pub use region::check_region;

use crate::model::cloud::GLOBAL_REGION;
use crate::model::{Kind, Owner, Tags};
use crate::provider::{
    CallCount, CreateRequest, LiveResource, Provider, ProviderError, ReadSession, UpdateRequest,
};
use async_trait::async_trait;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ec2::config::ProvideCredentials;
use consistency::until_visible;
use context::{CallCounter, RegionContext, Selector};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How to reach AWS, beyond what the standard chain already reads from the environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsSettings {
    /// The shared-config profile to use (the environment's `profile`); `None` keeps the
    /// chain's default (`AWS_PROFILE`, then `default`).
    pub profile: Option<String>,
    /// An endpoint URL for every service (an emulator such as moto). `None` keeps the chain's
    /// default, which honours `AWS_ENDPOINT_URL`.
    pub endpoint: Option<String>,
    /// At most this many items per page of every Describe call (never more than the
    /// operation's own maximum, which `None` uses): for tests whose reads must span pages
    /// with a few resources (moto honours it). AWS refuses pages below an operation's
    /// minimum (5 for most EC2 Describe calls).
    pub page_size: Option<i32>,
}

/// The region Route 53's API signs in, whichever region its records point at.
const ROUTE53_REGION: &str = "us-east-1";

/// SDK attempts per call, the first included. Standard mode retries throttling and 5xx with
/// exponential backoff and jitter behind a client-side retry quota; adaptive mode's extra
/// client-side rate limiting is left out because the executor already adapts its
/// concurrency to `Throttled` errors. Five attempts (about 20 s of backoff at most) ride out
/// a burst of throttling during a large apply without hiding a real outage for long.
const SDK_MAX_ATTEMPTS: u32 = 5;

/// How long a new EC2 or Auto Scaling object may be missing from Describe calls. AWS
/// documents eventual consistency of "a few seconds" that can stretch under load; half a
/// minute covers what has been seen without making a recovery wait long.
pub const DEFAULT_CONSISTENCY_WINDOW: Duration = Duration::from_secs(30);

/// The AWS provider. Cheap to share; SDK clients are created per region on first use and
/// cached.
#[derive(Debug)]
pub struct AwsProvider {
    config: SdkConfig,
    regions: Mutex<BTreeMap<String, RegionContext>>,
    counter: Arc<CallCounter>,
    /// What the reads of an open read session share (see [`shared`]).
    shared: Arc<shared::SharedListings>,
    consistency_window: Duration,
    page_size: Option<i32>,
}

impl AwsProvider {
    /// Loads the AWS configuration through the standard chain and checks that credentials
    /// can be found, so a missing login fails before planning starts.
    ///
    /// # Errors
    /// [`AwsError::Credentials`] when the chain finds no credentials;
    /// [`AwsError::Setting`] when `endpoint` is not an http(s) URL.
    pub async fn connect(settings: &AwsSettings) -> Result<AwsProvider, AwsError> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(RetryConfig::standard().with_max_attempts(SDK_MAX_ATTEMPTS))
            // A hung connection becomes a retryable timeout instead of an apply that never
            // ends; 30 s per attempt is far above any EC2 or Auto Scaling call's latency.
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(Duration::from_secs(30))
                    .build(),
            );
        if let Some(profile) = &settings.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(endpoint) = &settings.endpoint {
            if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
                return Err(AwsError::Setting {
                    setting: "endpoint".to_string(),
                    message: format!("`{endpoint}` is not an http:// or https:// URL"),
                });
            }
            loader = loader.endpoint_url(endpoint);
        }
        let consistency_window = crate::provider::window_from_env()
            .map_err(|error| AwsError::Setting {
                setting: crate::provider::ENV_CONSISTENCY_WINDOW.to_string(),
                message: error.to_string(),
            })?
            .unwrap_or(DEFAULT_CONSISTENCY_WINDOW);
        let config = loader.load().await;
        let profile = settings
            .profile
            .as_ref()
            .map(|profile| format!(" for profile `{profile}`"))
            .unwrap_or_default();
        let Some(credentials) = config.credentials_provider() else {
            return Err(AwsError::Credentials {
                profile,
                message: "no credentials provider is configured".to_string(),
            });
        };
        if let Err(error) = credentials.provide_credentials().await {
            return Err(AwsError::Credentials {
                profile,
                message: crate::util::errors::error_chain(&error),
            });
        }
        Ok(AwsProvider {
            config,
            regions: Mutex::new(BTreeMap::new()),
            counter: Arc::new(CallCounter::default()),
            shared: Arc::default(),
            consistency_window,
            page_size: settings.page_size.filter(|size| *size > 0),
        })
    }

    /// The clients of `region`, created on first use. The global pseudo-region of DNS gets
    /// clients of Route 53's own region.
    fn region(&self, region: &str) -> Result<RegionContext, ProviderError> {
        let endpoint_region = if region == GLOBAL_REGION {
            ROUTE53_REGION
        } else {
            check_region(region)?;
            region
        };
        // A poisoned lock only means another thread panicked while inserting; the map is
        // still a valid cache.
        let mut regions = self
            .regions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let context = regions.entry(region.to_string()).or_insert_with(|| {
            let at = || Region::new(endpoint_region.to_string());
            let ec2 = aws_sdk_ec2::config::Builder::from(&self.config)
                .region(at())
                .interceptor(retry::NoBlindRetry)
                .build();
            let autoscaling = aws_sdk_autoscaling::config::Builder::from(&self.config)
                .region(at())
                .interceptor(retry::NoBlindRetry)
                .build();
            let elbv2 = aws_sdk_elasticloadbalancingv2::config::Builder::from(&self.config)
                .region(at())
                .interceptor(retry::NoBlindRetry)
                .build();
            let cloudwatch = aws_sdk_cloudwatch::config::Builder::from(&self.config)
                .region(at())
                .interceptor(retry::NoBlindRetry)
                .build();
            // Route 53 is one service for every region; its endpoint signs in us-east-1.
            let route53 = aws_sdk_route53::config::Builder::from(&self.config)
                .region(Region::new(ROUTE53_REGION))
                .interceptor(retry::NoBlindRetry)
                .build();
            RegionContext {
                region: region.to_string(),
                ec2: aws_sdk_ec2::Client::from_conf(ec2),
                autoscaling: aws_sdk_autoscaling::Client::from_conf(autoscaling),
                elbv2: aws_sdk_elasticloadbalancingv2::Client::from_conf(elbv2),
                cloudwatch: aws_sdk_cloudwatch::Client::from_conf(cloudwatch),
                route53: aws_sdk_route53::Client::from_conf(route53),
                counter: Arc::clone(&self.counter),
                shared: Arc::clone(&self.shared),
                changed: Arc::default(),
                page_size: self.page_size,
            }
        });
        Ok(context.clone())
    }
}

/// Describes resources of `kind`.
async fn describe(
    context: &RegionContext,
    kind: Kind,
    selector: Selector<'_>,
) -> Result<Vec<LiveResource>, ProviderError> {
    match kind {
        Kind::Network => network::describe(context, selector).await,
        Kind::Subnet => subnet::describe(context, selector).await,
        Kind::InternetGateway => internet_gateway::describe(context, selector).await,
        Kind::RouteTable => route_table::describe(context, selector).await,
        Kind::SecurityGroup => security_group::describe(context, selector).await,
        Kind::LaunchTemplate => launch_template::describe(context, selector).await,
        Kind::AutoscalingGroup => autoscaling_group::describe(context, selector).await,
        Kind::ScalingPolicy => scaling_policy::describe(context, selector).await,
        Kind::Volume => volume::describe(context, selector).await,
        Kind::Instance => instance::describe(context, selector).await,
        Kind::Snapshot => snapshot::describe(context, selector).await,
        Kind::LoadBalancer => load_balancer::describe(context, selector).await,
        Kind::TargetGroup => target_group::describe(context, selector).await,
        Kind::Listener => listener::describe(context, selector).await,
        Kind::Alarm => alarm::describe(context, selector).await,
        Kind::DnsZone => dns_zone::describe(context, selector).await,
        Kind::DnsHealthCheck => dns_health_check::describe(context, selector).await,
        Kind::DnsRecord => dns_record::describe(context, selector).await,
    }
}

/// Describes the one resource `id`, which should exist already: no wait for it to become
/// visible, so a missing id is `NotFound` at once.
async fn describe_existing(
    context: &RegionContext,
    kind: Kind,
    id: &str,
) -> Result<LiveResource, ProviderError> {
    describe(context, kind, Selector::Id(id))
        .await?
        .into_iter()
        .find(|resource| resource.id == id)
        .ok_or_else(|| ProviderError::NotFound {
            kind,
            region: context.region.clone(),
            id: id.to_string(),
        })
}

/// Describes the one resource `id`, waiting briefly for a just-created id to become visible.
async fn describe_one(
    context: &RegionContext,
    kind: Kind,
    id: &str,
) -> Result<LiveResource, ProviderError> {
    until_visible(|| describe_existing(context, kind, id)).await
}

#[async_trait]
impl Provider for AwsProvider {
    fn name(&self) -> &'static str {
        "aws"
    }

    /// AWS throttles every account and region to its API token buckets: calls are paced.
    fn rate_limited(&self) -> bool {
        true
    }

    async fn read(
        &self,
        region: &str,
        kind: Kind,
        owner: &Owner,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let context = self.region(region)?;
        let mut resources = describe(&context, kind, Selector::Owner(owner)).await?;
        resources.sort_by(|left, right| left.id.cmp(&right.id));
        Ok(resources)
    }

    async fn discover(&self, region: &str, kind: Kind) -> Result<Vec<LiveResource>, ProviderError> {
        let context = self.region(region)?;
        // The kinds `cairn discover` writes configuration for.
        let mut resources = match kind {
            Kind::Volume => volume::all(&context).await?,
            Kind::Network => network::all(&context).await?.1,
            Kind::SecurityGroup => security_group::all(&context).await?,
            Kind::Instance => instance::all(&context).await?,
            Kind::Subnet | Kind::InternetGateway | Kind::RouteTable => {
                let members = match kind {
                    Kind::Subnet => subnet::all(&context).await?,
                    Kind::InternetGateway => internet_gateway::all(&context).await?,
                    _ => route_table::all(&context).await?,
                };
                // What AWS makes with the region's default VPC belongs to no block.
                let (defaults, _) = network::all(&context).await?;
                members
                    .into_iter()
                    .filter(|member| {
                        member
                            .attributes
                            .get("network_id")
                            .and_then(|network| network.as_str())
                            .is_none_or(|network| !defaults.iter().any(|id| id == network))
                    })
                    .collect()
            }
            Kind::LaunchTemplate
            | Kind::AutoscalingGroup
            | Kind::ScalingPolicy
            | Kind::LoadBalancer
            | Kind::TargetGroup
            | Kind::Listener
            | Kind::Alarm
            | Kind::DnsZone
            | Kind::DnsHealthCheck
            | Kind::DnsRecord => describe(&context, kind, Selector::All).await?,
            _ => {
                return Err(ProviderError::Api {
                    code: "UnsupportedOperation".to_string(),
                    message: format!("cairn cannot list {kind} resources on aws yet"),
                });
            }
        };
        resources.sort_by(|left, right| left.id.cmp(&right.id));
        Ok(resources)
    }

    async fn create(&self, request: &CreateRequest) -> Result<LiveResource, ProviderError> {
        let context = self.region(&request.region)?.for_one_operation();
        let created = async {
            let id = match request.kind {
                Kind::Network => network::create(&context, request).await?,
                Kind::Subnet => subnet::create(&context, request).await?,
                Kind::InternetGateway => internet_gateway::create(&context, request).await?,
                Kind::RouteTable => route_table::create(&context, request).await?,
                Kind::SecurityGroup => security_group::create(&context, request).await?,
                Kind::LaunchTemplate => launch_template::create(&context, request).await?,
                Kind::AutoscalingGroup => autoscaling_group::create(&context, request).await?,
                Kind::ScalingPolicy => scaling_policy::create(&context, request).await?,
                Kind::Volume => volume::create(&context, request).await?,
                Kind::Instance => instance::create(&context, request).await?,
                Kind::Snapshot => snapshot::create(&context, request).await?,
                Kind::LoadBalancer => load_balancer::create(&context, request).await?,
                Kind::TargetGroup => target_group::create(&context, request).await?,
                Kind::Listener => listener::create(&context, request).await?,
                Kind::Alarm => alarm::create(&context, request).await?,
                Kind::DnsZone => dns_zone::create(&context, request).await?,
                Kind::DnsHealthCheck => dns_health_check::create(&context, request).await?,
                Kind::DnsRecord => dns_record::create(&context, request).await?,
            };
            describe_one(&context, request.kind, &id).await
        }
        .await;
        created.map_err(|error| {
            if context.changed_something() {
                after_effect(request.kind, error)
            } else {
                error
            }
        })
    }

    async fn update(&self, request: &UpdateRequest) -> Result<LiveResource, ProviderError> {
        let context = self.region(&request.region)?;
        // The live resource, not `before`, is what the changes are computed against: rules,
        // routes and tags changed outside Cairn since the refresh are brought in line too.
        let current = describe_one(&context, request.kind, &request.id).await?;
        match request.kind {
            Kind::Network | Kind::InternetGateway | Kind::Snapshot | Kind::DnsZone => {}
            Kind::Subnet => subnet::update(&context, &current, request).await?,
            Kind::RouteTable => route_table::update(&context, &current, request).await?,
            Kind::SecurityGroup => security_group::update(&context, &current, request).await?,
            Kind::LaunchTemplate => launch_template::update(&context, &current, request).await?,
            Kind::AutoscalingGroup => {
                autoscaling_group::update(&context, &current, request).await?
            }
            Kind::ScalingPolicy => scaling_policy::update(&context, &current, request).await?,
            Kind::Volume => volume::update(&context, &current, request).await?,
            Kind::Instance => instance::update(&context, &current, request).await?,
            Kind::LoadBalancer => load_balancer::update(&context, &current, request).await?,
            Kind::TargetGroup => target_group::update(&context, &current, request).await?,
            Kind::Listener => listener::update(&context, &current, request).await?,
            Kind::Alarm => alarm::update(&context, &current, request).await?,
            Kind::DnsHealthCheck => dns_health_check::update(&context, &current, request).await?,
            Kind::DnsRecord => dns_record::update(&context, &current, request).await?,
        }
        match request.kind {
            Kind::AutoscalingGroup => {
                autoscaling_group::sync_tags(&context, &current, &request.tags).await?
            }
            // Scaling policies and DNS records carry no tags; theirs are the group's or zone's.
            Kind::ScalingPolicy | Kind::DnsRecord => {}
            Kind::LoadBalancer | Kind::TargetGroup | Kind::Listener => {
                elb::sync_tags(&context, &request.id, &current.tags, &request.tags)
                    .await
                    .map_err(|error| error.about(request.kind, &request.region, &request.id))?
            }
            Kind::Alarm => alarm::sync_tags(&context, &current, &request.tags).await?,
            Kind::DnsZone | Kind::DnsHealthCheck => {
                let resource_type = if request.kind == Kind::DnsZone {
                    aws_sdk_route53::types::TagResourceType::Hostedzone
                } else {
                    aws_sdk_route53::types::TagResourceType::Healthcheck
                };
                dns_zone::sync_tags(
                    &context,
                    resource_type,
                    &request.id,
                    &current.tags,
                    &request.tags,
                )
                .await
                .map_err(|error| error.about(request.kind, &request.region, &request.id))?
            }
            _ => tags::sync_ec2(&context, &request.id, &current.tags, &request.tags)
                .await
                .map_err(|error| error.about(request.kind, &request.region, &request.id))?,
        }
        describe_one(&context, request.kind, &request.id).await
    }

    async fn delete(&self, region: &str, kind: Kind, id: &str) -> Result<(), ProviderError> {
        let context = self.region(region)?;
        match kind {
            Kind::Network => network::delete(&context, id).await,
            Kind::Subnet => subnet::delete(&context, id).await,
            Kind::InternetGateway => internet_gateway::delete(&context, id).await,
            Kind::RouteTable => route_table::delete(&context, id).await,
            Kind::SecurityGroup => security_group::delete(&context, id).await,
            Kind::LaunchTemplate => launch_template::delete(&context, id).await,
            Kind::AutoscalingGroup => autoscaling_group::delete(&context, id).await,
            Kind::ScalingPolicy => scaling_policy::delete(&context, id).await,
            Kind::Volume => volume::delete(&context, id).await,
            Kind::Instance => instance::delete(&context, id).await,
            Kind::Snapshot => snapshot::delete(&context, id).await,
            Kind::LoadBalancer => load_balancer::delete(&context, id).await,
            Kind::TargetGroup => target_group::delete(&context, id).await,
            Kind::Listener => listener::delete(&context, id).await,
            Kind::Alarm => alarm::delete(&context, id).await,
            Kind::DnsZone => dns_zone::delete(&context, id).await,
            Kind::DnsHealthCheck => dns_health_check::delete(&context, id).await,
            Kind::DnsRecord => dns_record::delete(&context, id).await,
        }
    }

    async fn import(
        &self,
        region: &str,
        kind: Kind,
        id: &str,
    ) -> Result<LiveResource, ProviderError> {
        describe_existing(&self.region(region)?, kind, id).await
    }

    async fn set_ownership(
        &self,
        region: &str,
        kind: Kind,
        id: &str,
        ownership: &Tags,
    ) -> Result<LiveResource, ProviderError> {
        let context = self.region(region)?;
        let current = describe_existing(&context, kind, id).await?;
        match kind {
            // A policy carries its group's ownership, a record its zone's; neither has tags
            // to rewrite.
            Kind::ScalingPolicy | Kind::DnsRecord => return Ok(current),
            Kind::DnsZone => dns_zone::set_ownership(&context, &current, ownership).await?,
            Kind::DnsHealthCheck => {
                dns_health_check::set_ownership(&context, &current, ownership).await?
            }
            Kind::AutoscalingGroup => {
                autoscaling_group::set_ownership(&context, &current, ownership).await?
            }
            // ELB and CloudWatch tag through their own APIs, not EC2's CreateTags; an alarm's
            // description carries its tags too, which a refresh reads ownership from.
            Kind::LoadBalancer | Kind::TargetGroup | Kind::Listener | Kind::Alarm => {
                let (set, remove) = tags::ownership_difference(&current.tags, ownership);
                if kind == Kind::Alarm {
                    alarm::retag(&context, &current, set, remove).await?
                } else {
                    elb::change_tags(&context, id, &set, remove)
                        .await
                        .map_err(|error| error.about(kind, region, id))?
                }
            }
            _ => {
                let (set, remove) = tags::ownership_difference(&current.tags, ownership);
                tags::change_ec2(&context, id, &set, &remove)
                    .await
                    .map_err(|error| error.about(kind, region, id))?
            }
        }
        describe_one(&context, kind, id).await
    }

    async fn zones(&self, region: &str) -> Result<Vec<String>, ProviderError> {
        zones::describe(&self.region(region)?).await
    }

    async fn image_exists(&self, region: &str, image: &str) -> Result<Option<bool>, ProviderError> {
        images::exists(&self.region(region)?, image).await.map(Some)
    }

    async fn quotas(&self, region: &str) -> Result<Vec<crate::provider::Quota>, ProviderError> {
        quotas::describe(&self.region(region)?).await
    }

    fn consistency_window(&self) -> Duration {
        self.consistency_window
    }

    /// AWS stamps snapshots with its own clock, which is the wall clock give or take its
    /// skew.
    async fn now(&self) -> Result<chrono::DateTime<chrono::Utc>, ProviderError> {
        Ok(chrono::Utc::now())
    }

    async fn wait(&self, duration: Duration) -> Result<(), ProviderError> {
        tokio::time::sleep(duration).await;
        Ok(())
    }

    async fn wait_until(
        &self,
        when: chrono::DateTime<chrono::Utc>,
    ) -> Result<chrono::DateTime<chrono::Utc>, ProviderError> {
        Ok(super::wait_on_wall_clock(when).await)
    }

    fn timings(&self) -> crate::model::timings::Timings {
        crate::model::timings::Timings::AWS
    }

    async fn terminate_in_group(
        &self,
        region: &str,
        group: &str,
        instance: &str,
    ) -> Result<(), ProviderError> {
        // AWS finds the group from the instance; `group` names it for the sim's check only.
        let _ = group;
        autoscaling_group::terminate_instance(&self.region(region)?, instance).await
    }

    fn read_session(&self) -> ReadSession {
        self.shared.open();
        let shared = Arc::clone(&self.shared);
        ReadSession::closing_with(move || shared.close())
    }

    async fn target_health(
        &self,
        region: &str,
        target_group: &str,
    ) -> Result<Vec<(String, String)>, ProviderError> {
        target_group::health(&self.region(region)?, target_group).await
    }

    async fn launch_template_version(
        &self,
        region: &str,
        template: &str,
        version: &crate::model::Value,
    ) -> Result<crate::model::Attributes, ProviderError> {
        launch_template::version_settings(&self.region(region)?, template, version).await
    }

    async fn register_targets(
        &self,
        region: &str,
        target_group: &str,
        instances: &[String],
    ) -> Result<(), ProviderError> {
        target_group::register(&self.region(region)?, target_group, instances).await
    }

    async fn deregister_targets(
        &self,
        region: &str,
        target_group: &str,
        instances: &[String],
    ) -> Result<(), ProviderError> {
        target_group::deregister(&self.region(region)?, target_group, instances).await
    }

    fn calls(&self) -> CallCount {
        self.counter.snapshot()
    }

    /// AWS keeps nothing on this machine.
    async fn finish(&self) -> Result<(), ProviderError> {
        Ok(())
    }
}

/// The failure of a create whose object exists (its creating call went through, a later
/// call of it failed): anything worth trying again is `Ambiguous`, so that the engine adopts
/// the object instead of creating a second one; a refusal (a rule the cloud rejects) stays
/// what it is, and the next plan adopts the object by its tags.
fn after_effect(kind: Kind, error: ProviderError) -> ProviderError {
    match error {
        ProviderError::Throttled { message }
        | ProviderError::Transient { message }
        | ProviderError::Ambiguous { message } => ProviderError::Ambiguous {
            message: format!("the {kind} was made, then: {message}"),
        },
        ProviderError::NotFound { id, .. } => ProviderError::Ambiguous {
            message: format!("the {kind} `{id}` was made but does not show in reads yet"),
        },
        other => other,
    }
}
