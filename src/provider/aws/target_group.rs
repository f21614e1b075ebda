//! `target_group` → ELB target group of instances, with its health check (its id is its ARN).
//!
//! Batching: DescribeTargetGroups lists the region's target groups (400 a page) without tags;
//! ownership comes from DescribeTags, 20 ARNs a call (the API's limit): one call a page plus
//! ceil(target groups in the region / 20). A second CreateTargetGroup with the same
//! name and settings answers the existing group, so a retried create is safe. A group still
//! forwarded to cannot be deleted (`ResourceInUse`); the plan deletes listeners first, and the
//! delete waits out the moment ELB takes to see a listener gone.

use super::consistency::until_released;
use super::context::{RegionContext, Selector};
use super::load_balancer::arn_suffix;
use super::{attributes, elb};
use crate::model::{Attributes, Kind, Value};
use crate::provider::{CreateRequest, LiveResource, ProviderError, UpdateRequest};
use aws_sdk_elasticloadbalancingv2::types::{
    Matcher, ProtocolEnum, TargetDescription, TargetGroup, TargetTypeEnum,
};
use serde_json::json;

async fn groups(
    context: &RegionContext,
    selector: Selector<'_>,
) -> Result<Vec<(String, TargetGroup, crate::model::Tags)>, ProviderError> {
    let error = |error| selector.error(Kind::TargetGroup, &context.region, error);
    let pages = context
        .read_pages(
            |token| {
                let call = context.elbv2.describe_target_groups().set_marker(token);
                match selector {
                    Selector::Owner(_) | Selector::All => call.page_size(context.page(400)),
                    Selector::Id(arn) => call.target_group_arns(arn),
                }
                .send()
            },
            |page| page.next_marker(),
        )
        .await
        .map_err(error)?;
    let found: Vec<(String, TargetGroup)> = pages
        .into_iter()
        .flat_map(|page| page.target_groups.unwrap_or_default())
        .filter_map(|group| Some((group.target_group_arn()?.to_string(), group)))
        .collect();
    elb::owned(context, selector.owner(), found)
        .await
        .map_err(error)
}

pub(super) async fn describe(
    context: &RegionContext,
    selector: Selector<'_>,
) -> Result<Vec<LiveResource>, ProviderError> {
    Ok(groups(context, selector)
        .await?
        .into_iter()
        .map(|(arn, group, tags)| {
            let protocol = |protocol: Option<&ProtocolEnum>| {
                Value::from(protocol.map(ProtocolEnum::as_str).unwrap_or("HTTP"))
            };
            let health_check = json!({
                "path": group.health_check_path().unwrap_or("/"),
                "port": group.health_check_port().unwrap_or("traffic-port"),
                "protocol": protocol(group.health_check_protocol()),
                "interval": group.health_check_interval_seconds().unwrap_or_default(),
                "timeout": group.health_check_timeout_seconds().unwrap_or_default(),
                "healthy": group.healthy_threshold_count().unwrap_or_default(),
                "unhealthy": group.unhealthy_threshold_count().unwrap_or_default(),
                "matcher": group.matcher().and_then(Matcher::http_code).unwrap_or("200"),
            });
            let attributes = Attributes::from([
                (
                    "name".to_string(),
                    Value::from(group.target_group_name().unwrap_or_default()),
                ),
                (
                    "network_id".to_string(),
                    Value::from(group.vpc_id().unwrap_or_default()),
                ),
                (
                    "port".to_string(),
                    Value::from(group.port().unwrap_or_default()),
                ),
                ("protocol".to_string(), protocol(group.protocol())),
                ("health_check".to_string(), health_check),
                ("arn_suffix".to_string(), Value::from(arn_suffix(&arn))),
            ]);
            context.live(Kind::TargetGroup, &arn, attributes, tags)
        })
        .collect())
}

/// The health check settings of a request.
struct HealthCheck {
    path: String,
    port: String,
    protocol: ProtocolEnum,
    interval: i32,
    timeout: i32,
    healthy: i32,
    unhealthy: i32,
    matcher: String,
}

/// Sets `check` on a CreateTargetGroup or a ModifyTargetGroup call: the SDK's two builders
/// share these setters, but no trait names them.
macro_rules! with_health_check {
    ($call:expr, $check:expr) => {{
        let check = $check;
        $call
            .health_check_enabled(true)
            .health_check_path(check.path)
            .health_check_port(check.port)
            .health_check_protocol(check.protocol)
            .health_check_interval_seconds(check.interval)
            .health_check_timeout_seconds(check.timeout)
            .healthy_threshold_count(check.healthy)
            .unhealthy_threshold_count(check.unhealthy)
            .matcher(Matcher::builder().http_code(check.matcher).build())
    }};
}

fn health_check(attributes: &Attributes) -> Result<HealthCheck, ProviderError> {
    let check = attributes::fields(attributes, "health_check")?;
    Ok(HealthCheck {
        path: attributes::string(&check, "path")?,
        port: attributes::string(&check, "port")?,
        protocol: ProtocolEnum::from(attributes::string(&check, "protocol")?.as_str()),
        interval: attributes::integer32(&check, "interval")?,
        timeout: attributes::integer32(&check, "timeout")?,
        healthy: attributes::integer32(&check, "healthy")?,
        unhealthy: attributes::integer32(&check, "unhealthy")?,
        matcher: attributes::string(&check, "matcher")?,
    })
}

pub(super) async fn create(
    context: &RegionContext,
    request: &CreateRequest,
) -> Result<String, ProviderError> {
    let attributes = &request.attributes;
    let check = health_check(attributes)?;
    let call = context
        .elbv2
        .create_target_group()
        .name(attributes::string(attributes, "name")?)
        .vpc_id(attributes::string(attributes, "network_id")?)
        .port(attributes::integer32(attributes, "port")?)
        .protocol(ProtocolEnum::from(
            attributes::string(attributes, "protocol")?.as_str(),
        ))
        .target_type(TargetTypeEnum::Instance)
        .set_tags(Some(elb::to_elb(&request.tags)));
    let call = with_health_check!(call, check);
    context
        .create(
            "CreateTargetGroup",
            || call.clone().send(),
            |output| {
                output
                    .target_groups()
                    .first()
                    .and_then(|group| group.target_group_arn())
            },
        )
        .await
}

pub(super) async fn update(
    context: &RegionContext,
    _current: &LiveResource,
    request: &UpdateRequest,
) -> Result<(), ProviderError> {
    let check = health_check(&request.after)?;
    let call = context
        .elbv2
        .modify_target_group()
        .target_group_arn(&request.id);
    let call = with_health_check!(call, check);
    context
        .mutate_on(Kind::TargetGroup, &request.id, call.send())
        .await?;
    Ok(())
}

pub(super) async fn delete(context: &RegionContext, arn: &str) -> Result<(), ProviderError> {
    if groups(context, Selector::Id(arn)).await?.is_empty() {
        return Err(ProviderError::NotFound {
            kind: Kind::TargetGroup,
            region: context.region.clone(),
            id: arn.to_string(),
        });
    }
    until_released(|| {
        context.mutate(
            context
                .elbv2
                .delete_target_group()
                .target_group_arn(arn)
                .send(),
        )
    })
    .await
    .map_err(|error| error.about(Kind::TargetGroup, &context.region, arn))?;
    Ok(())
}

/// DescribeTargetHealth: the targets of one target group with their state, sorted by id.
pub(super) async fn health(
    context: &RegionContext,
    arn: &str,
) -> Result<Vec<(String, String)>, ProviderError> {
    let output = context
        .read(
            context
                .elbv2
                .describe_target_health()
                .target_group_arn(arn)
                .send(),
        )
        .await
        .map_err(|error| error.about(Kind::TargetGroup, &context.region, arn))?;
    let mut health: Vec<(String, String)> = output
        .target_health_descriptions()
        .iter()
        .filter_map(|description| {
            let id = description.target()?.id()?.to_string();
            let state = description
                .target_health()
                .and_then(|health| health.state())
                .map_or("unavailable", |state| state.as_str());
            Some((id, state.to_string()))
        })
        .collect();
    health.sort();
    Ok(health)
}

/// RegisterTargets: `instances` join target group `arn`.
pub(super) async fn register(
    context: &RegionContext,
    arn: &str,
    instances: &[String],
) -> Result<(), ProviderError> {
    if instances.is_empty() {
        return Ok(());
    }
    let targets = instances
        .iter()
        .map(|id| TargetDescription::builder().id(id).build())
        .collect();
    context
        .mutate(
            context
                .elbv2
                .register_targets()
                .target_group_arn(arn)
                .set_targets(Some(targets))
                .send(),
        )
        .await
        .map_err(|error| error.about(Kind::TargetGroup, &context.region, arn))?;
    Ok(())
}

/// DeregisterTargets of those of `instances` registered in target group `arn`: AWS takes a
/// target that is not registered as done, moto refuses it (`InvalidTarget`), so only the
/// registered ones are named.
pub(super) async fn deregister(
    context: &RegionContext,
    arn: &str,
    instances: &[String],
) -> Result<(), ProviderError> {
    let registered = health(context, arn).await?;
    let targets: Vec<TargetDescription> = instances
        .iter()
        .filter(|id| registered.iter().any(|(listed, _)| listed == *id))
        .map(|id| TargetDescription::builder().id(id).build())
        .collect();
    if targets.is_empty() {
        return Ok(());
    }
    context
        .mutate(
            context
                .elbv2
                .deregister_targets()
                .target_group_arn(arn)
                .set_targets(Some(targets))
                .send(),
        )
        .await
        .map_err(|error| error.about(Kind::TargetGroup, &context.region, arn))?;
    Ok(())
}
