//! `listener` → ELB listener whose default action forwards to target groups by weight (its
//! id is its ARN).
//!
//! Batching: DescribeListeners answers for one load balancer at a time (or for listener ARNs
//! already known), so a refresh reads the owned balancers of the region (see
//! [`super::load_balancer::owned_balancers`]; inside a read session, the listing the
//! `load_balancer` read made), then the listeners of each (400 a page), then their tags, 20
//! ARNs a call: one read per owned balancer and page, not per listener.

use super::context::{RegionContext, Selector};
use super::{attributes, elb, load_balancer};
use crate::model::{Attributes, Kind, Tags, Value};
use crate::provider::{CreateRequest, LiveResource, ProviderError, UpdateRequest};
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Certificate, ForwardActionConfig, Listener, ProtocolEnum,
    TargetGroupTuple,
};
use serde_json::json;

async fn listeners(
    context: &RegionContext,
    selector: Selector<'_>,
) -> Result<Vec<(String, Listener, Tags)>, ProviderError> {
    let error = |error| selector.error(Kind::Listener, &context.region, error);
    let parents: Vec<Option<String>> = match selector {
        Selector::Owner(owner) => load_balancer::owned_balancers(context, owner)
            .await?
            .into_iter()
            .map(Some)
            .collect(),
        Selector::All => load_balancer::balancers(context, selector)
            .await?
            .into_iter()
            .map(|(arn, _, _)| Some(arn))
            .collect(),
        Selector::Id(_) => vec![None],
    };
    let mut found: Vec<(String, Listener)> = Vec::new();
    for parent in parents {
        let listed = context
            .read_pages(
                |token| {
                    let call = context.elbv2.describe_listeners().set_marker(token);
                    match (&parent, selector) {
                        (Some(balancer), _) => call
                            .load_balancer_arn(balancer)
                            .page_size(context.page(400)),
                        (None, Selector::Id(arn)) => call.listener_arns(arn),
                        (None, Selector::Owner(_) | Selector::All) => call,
                    }
                    .send()
                },
                |page| page.next_marker(),
            )
            .await;
        let pages = match listed {
            // A balancer deleted between listing the balancers and its listeners has no
            // listeners left to report (someone else's delete, or a concurrent run's).
            Err(failure) if parent.is_some() && failure.is_not_found() => continue,
            listed => listed.map_err(error)?,
        };
        found.extend(
            pages
                .into_iter()
                .flat_map(|page| page.listeners.unwrap_or_default())
                .filter_map(|listener| Some((listener.listener_arn()?.to_string(), listener))),
        );
    }
    elb::owned(context, selector.owner(), found)
        .await
        .map_err(error)
}

pub(super) async fn describe(
    context: &RegionContext,
    selector: Selector<'_>,
) -> Result<Vec<LiveResource>, ProviderError> {
    Ok(listeners(context, selector)
        .await?
        .into_iter()
        .map(|(arn, listener, tags)| {
            let mut forward: Vec<(String, i32)> = listener
                .default_actions()
                .iter()
                .filter(|action| action.r#type() == Some(&ActionTypeEnum::Forward))
                .flat_map(|action| match action.forward_config() {
                    Some(config) => config
                        .target_groups()
                        .iter()
                        .filter_map(|tuple| {
                            Some((
                                tuple.target_group_arn()?.to_string(),
                                tuple.weight().unwrap_or(1),
                            ))
                        })
                        .collect::<Vec<_>>(),
                    None => action
                        .target_group_arn()
                        .map(|group| vec![(group.to_string(), 1)])
                        .unwrap_or_default(),
                })
                .collect();
            forward.sort();
            let attributes = Attributes::from([
                (
                    "load_balancer_id".to_string(),
                    Value::from(listener.load_balancer_arn().unwrap_or_default()),
                ),
                (
                    "port".to_string(),
                    Value::from(listener.port().unwrap_or_default()),
                ),
                (
                    "protocol".to_string(),
                    Value::from(listener.protocol().map(ProtocolEnum::as_str).unwrap_or("HTTP")),
                ),
                (
                    "forward".to_string(),
                    Value::Array(
                        forward
                            .into_iter()
                            .map(|(group, weight)| {
                                json!({ "target_group_id": group, "weight": weight })
                            })
                            .collect(),
                    ),
                ),
            ]);
            // An HTTP listener has no certificate: absent, which the plan reads as null.
            let mut attributes = attributes;
            if let Some(certificate) = listener
                .certificates()
                .first()
                .and_then(Certificate::certificate_arn)
            {
                attributes.insert("certificate".to_string(), Value::from(certificate));
            }
            context.live(Kind::Listener, &arn, attributes, tags)
        })
        .collect())
}

/// The settings a create or modify sends: protocol, certificates and the forward action.
struct Settings {
    port: i32,
    protocol: ProtocolEnum,
    certificates: Option<Vec<Certificate>>,
    action: Action,
}

fn settings(attributes: &Attributes) -> Result<Settings, ProviderError> {
    let mut groups = Vec::new();
    for entry in attributes::objects(attributes, "forward")? {
        groups.push(
            TargetGroupTuple::builder()
                .target_group_arn(attributes::string(&entry, "target_group_id")?)
                .weight(attributes::integer32(&entry, "weight")?)
                .build(),
        );
    }
    let certificates = attributes::optional_string(attributes, "certificate")?
        .map(|arn| vec![Certificate::builder().certificate_arn(arn).build()]);
    Ok(Settings {
        port: attributes::integer32(attributes, "port")?,
        protocol: ProtocolEnum::from(attributes::string(attributes, "protocol")?.as_str()),
        certificates,
        action: Action::builder()
            .r#type(ActionTypeEnum::Forward)
            .forward_config(
                ForwardActionConfig::builder()
                    .set_target_groups(Some(groups))
                    .build(),
            )
            .build(),
    })
}

pub(super) async fn create(
    context: &RegionContext,
    request: &CreateRequest,
) -> Result<String, ProviderError> {
    let settings = settings(&request.attributes)?;
    let call = context
        .elbv2
        .create_listener()
        .load_balancer_arn(attributes::string(&request.attributes, "load_balancer_id")?)
        .port(settings.port)
        .protocol(settings.protocol)
        .set_certificates(settings.certificates)
        .default_actions(settings.action)
        .set_tags(Some(elb::to_elb(&request.tags)));
    context
        .create(
            "CreateListener",
            || call.clone().send(),
            |output| {
                output
                    .listeners()
                    .first()
                    .and_then(|listener| listener.listener_arn())
            },
        )
        .await
}

pub(super) async fn update(
    context: &RegionContext,
    _current: &LiveResource,
    request: &UpdateRequest,
) -> Result<(), ProviderError> {
    let settings = settings(&request.after)?;
    let call = context
        .elbv2
        .modify_listener()
        .listener_arn(&request.id)
        .port(settings.port)
        .protocol(settings.protocol)
        .set_certificates(settings.certificates)
        .default_actions(settings.action);
    context
        .mutate_on(Kind::Listener, &request.id, call.send())
        .await?;
    Ok(())
}

pub(super) async fn delete(context: &RegionContext, arn: &str) -> Result<(), ProviderError> {
    context
        .delete(
            Kind::Listener,
            arn,
            context.elbv2.delete_listener().listener_arn(arn).send(),
        )
        .await
}
