//! `load_balancer` → application load balancer (its id is its ARN).
//!
//! Batching: DescribeLoadBalancers lists every balancer of the region (400 a page) and has no
//! tag filter, so ownership is read with DescribeTags, 20 ARNs a call (see [`super::elb`]):
//! a refresh costs one call a page plus ceil(balancers in the region / 20), the API's limit.
//! The listener read lists listeners under the same owned balancers ([`owned_balancers`]);
//! inside a read session the two share one listing (see [`super::shared`]).
//!
//! AWS answers a second CreateLoadBalancer with the same name and settings with the existing
//! balancer, which makes a retried create safe without a token. DeleteLoadBalancer succeeds
//! for a balancer that is gone, so a delete looks first, to say `NotFound` as the engine
//! expects. (After a delete, AWS keeps the balancer's network interfaces for a few minutes,
//! during which its subnets and security groups cannot be deleted.)

use super::context::{RegionContext, Selector};
use super::shared::Balancers;
use super::{attributes, elb};
use crate::model::{Attributes, Kind, Owner, Value};
use crate::provider::{CreateRequest, LiveResource, ProviderError, UpdateRequest};
use aws_sdk_elasticloadbalancingv2::types::{
    LoadBalancer, LoadBalancerSchemeEnum, LoadBalancerTypeEnum,
};

/// The application load balancers `selector` picks, with their tags; an owner's are those
/// the read session listed already, if it did.
pub(super) async fn balancers(
    context: &RegionContext,
    selector: Selector<'_>,
) -> Result<Balancers, ProviderError> {
    context
        .shared
        .balancers(&context.region, selector.owner(), || {
            list(context, selector)
        })
        .await
}

/// Lists the application load balancers `selector` picks, with their tags.
async fn list(context: &RegionContext, selector: Selector<'_>) -> Result<Balancers, ProviderError> {
    let error = |error| selector.error(Kind::LoadBalancer, &context.region, error);
    let pages = context
        .read_pages(
            |token| {
                let call = context.elbv2.describe_load_balancers().set_marker(token);
                match selector {
                    Selector::Owner(_) | Selector::All => call.page_size(context.page(400)),
                    Selector::Id(arn) => call.load_balancer_arns(arn),
                }
                .send()
            },
            |page| page.next_marker(),
        )
        .await
        .map_err(error)?;
    let found: Vec<(String, LoadBalancer)> = pages
        .into_iter()
        .flat_map(|page| page.load_balancers.unwrap_or_default())
        .filter(|balancer| balancer.r#type() == Some(&LoadBalancerTypeEnum::Application))
        .filter_map(|balancer| Some((balancer.load_balancer_arn()?.to_string(), balancer)))
        .collect();
    elb::owned(context, selector.owner(), found)
        .await
        .map_err(error)
}

/// The ARNs of the balancers `owner` owns in the region (the session's listing, if any).
pub(super) async fn owned_balancers(
    context: &RegionContext,
    owner: &Owner,
) -> Result<Vec<String>, ProviderError> {
    Ok(balancers(context, Selector::Owner(owner))
        .await?
        .into_iter()
        .map(|(arn, _, _)| arn)
        .collect())
}

/// How CloudWatch names an ELB resource: the ARN's resource part, without `loadbalancer/`
/// for a balancer (`app/NAME/ID`, `targetgroup/NAME/ID`).
pub(super) fn arn_suffix(arn: &str) -> String {
    let resource = arn.splitn(6, ':').nth(5).unwrap_or_default();
    resource
        .strip_prefix("loadbalancer/")
        .unwrap_or(resource)
        .to_string()
}

pub(super) async fn describe(
    context: &RegionContext,
    selector: Selector<'_>,
) -> Result<Vec<LiveResource>, ProviderError> {
    Ok(balancers(context, selector)
        .await?
        .into_iter()
        .map(|(arn, balancer, tags)| {
            let subnets = balancer
                .availability_zones()
                .iter()
                .filter_map(|zone| zone.subnet_id().map(str::to_string));
            let attributes = Attributes::from([
                (
                    "name".to_string(),
                    Value::from(balancer.load_balancer_name().unwrap_or_default()),
                ),
                ("subnet_ids".to_string(), attributes::string_set(subnets)),
                (
                    "security_group_ids".to_string(),
                    attributes::string_set(balancer.security_groups().iter().cloned()),
                ),
                (
                    "dns_name".to_string(),
                    Value::from(balancer.dns_name().unwrap_or_default().to_ascii_lowercase()),
                ),
                (
                    "zone_id".to_string(),
                    Value::from(balancer.canonical_hosted_zone_id().unwrap_or_default()),
                ),
                ("arn_suffix".to_string(), Value::from(arn_suffix(&arn))),
            ]);
            context.live(Kind::LoadBalancer, &arn, attributes, tags)
        })
        .collect())
}

pub(super) async fn create(
    context: &RegionContext,
    request: &CreateRequest,
) -> Result<String, ProviderError> {
    let call = context
        .elbv2
        .create_load_balancer()
        .name(attributes::string(&request.attributes, "name")?)
        .set_subnets(Some(attributes::strings(
            &request.attributes,
            "subnet_ids",
        )?))
        .set_security_groups(Some(attributes::strings(
            &request.attributes,
            "security_group_ids",
        )?))
        .scheme(LoadBalancerSchemeEnum::InternetFacing)
        .r#type(LoadBalancerTypeEnum::Application)
        .set_tags(Some(elb::to_elb(&request.tags)));
    context
        .create(
            "CreateLoadBalancer",
            || call.clone().send(),
            |output| {
                output
                    .load_balancers()
                    .first()
                    .and_then(|balancer| balancer.load_balancer_arn())
            },
        )
        .await
}

pub(super) async fn update(
    context: &RegionContext,
    current: &LiveResource,
    request: &UpdateRequest,
) -> Result<(), ProviderError> {
    let about = |error: super::error::CallError| {
        error.about(Kind::LoadBalancer, &context.region, &request.id)
    };
    let changed = |name: &str| {
        !Kind::LoadBalancer.same_value(name, current.attributes.get(name), request.after.get(name))
    };
    if changed("subnet_ids") {
        let call = context
            .elbv2
            .set_subnets()
            .load_balancer_arn(&request.id)
            .set_subnets(Some(attributes::strings(&request.after, "subnet_ids")?));
        context.mutate(call.send()).await.map_err(about)?;
    }
    if changed("security_group_ids") {
        let call = context
            .elbv2
            .set_security_groups()
            .load_balancer_arn(&request.id)
            .set_security_groups(Some(attributes::strings(
                &request.after,
                "security_group_ids",
            )?));
        context.mutate(call.send()).await.map_err(about)?;
    }
    Ok(())
}

pub(super) async fn delete(context: &RegionContext, arn: &str) -> Result<(), ProviderError> {
    if balancers(context, Selector::Id(arn)).await?.is_empty() {
        return Err(ProviderError::NotFound {
            kind: Kind::LoadBalancer,
            region: context.region.clone(),
            id: arn.to_string(),
        });
    }
    context
        .delete(
            Kind::LoadBalancer,
            arn,
            context
                .elbv2
                .delete_load_balancer()
                .load_balancer_arn(arn)
                .send(),
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arn_suffixes_are_what_cloudwatch_names_resources_by() {
        let arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188";
        assert_eq!(arn_suffix(arn), "app/web/50dc6c495c0c9188");
        let arn =
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/73e2d6bc24d8a067";
        assert_eq!(arn_suffix(arn), "targetgroup/web/73e2d6bc24d8a067");
    }
}
