//! The SDK's own retries, per operation: a call that changes something is sent again by the
//! SDK only after it was throttled (refused before it had any effect).
//!
//! Any other failure of such a call (a 5xx, a timeout, a connection lost after the request
//! went out) may hide an effect: most EC2 creates take no idempotency token (CreateVpc,
//! CreateSubnet, CreateSecurityGroup, ...), so sending one again blindly can make a second
//! object, an authorize sent again answers `InvalidPermission.Duplicate`, and Route 53's
//! CreateHostedZone sent again answers `HostedZoneAlreadyExists`. Those failures
//! go up to the engine as [`crate::provider::ProviderError::Ambiguous`] at once; the engine
//! looks for what the call did before it sends anything again (see `crate::apply`).
//!
//! Reads keep the SDK's standard retries for every retryable error.

use aws_sdk_ec2::config::interceptors::FinalizerInterceptorContextRef;
use aws_sdk_ec2::config::retry::{RetryAction, RetryConfig};
use aws_sdk_ec2::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime::client::retries::classifiers::run_classifiers_on_ctx;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::classifiers::RetryReason;
use aws_smithy_types::retry::ErrorKind;

/// The interceptor that ends the SDK's retries of a call that changes something after any
/// failure but throttling. Registered on every client (EC2, Auto Scaling, Elastic Load
/// Balancing, CloudWatch, Route 53): the same trait serves them all.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NoBlindRetry;

impl Intercept for NoBlindRetry {
    fn name(&self) -> &'static str {
        "cairn: no blind retry of a call that changes something"
    }

    // Runs after each attempt and before the retry strategy decides: lowering the attempts
    // allowed to one makes the standard strategy stop here.
    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let attempt = context.inner();
        if !attempt.is_failed() {
            return Ok(());
        }
        let mutating = cfg
            .load::<Metadata>()
            .is_some_and(|metadata| changes_something(metadata.name()));
        if !mutating {
            return Ok(());
        }
        let verdict = run_classifiers_on_ctx(runtime_components.retry_classifiers(), attempt);
        if refused_before_effect(&verdict) {
            return Ok(());
        }
        let once = cfg
            .load::<RetryConfig>()
            .cloned()
            .unwrap_or_else(RetryConfig::standard)
            .with_max_attempts(1);
        cfg.interceptor_state().store_put(once);
        Ok(())
    }
}

/// Whether an operation changes something: everything but the `Describe*`, `Get*` and
/// `List*` reads, which is how every service Cairn drives names its reads.
pub(crate) fn changes_something(operation: &str) -> bool {
    !["Describe", "Get", "List"]
        .iter()
        .any(|read| operation.starts_with(read))
}

/// Whether the SDK's verdict on a failed attempt is throttling: the service refused the call
/// before acting on it, so sending it again is safe.
fn refused_before_effect(verdict: &RetryAction) -> bool {
    matches!(
        verdict,
        RetryAction::RetryIndicated(RetryReason::RetryableError {
            kind: ErrorKind::ThrottlingError,
            ..
        })
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_told_apart_from_calls_that_change_something() {
        for read in [
            "DescribeVpcs",
            "DescribeAutoScalingGroups",
            "GetLaunchTemplateData",
            "DescribeTags",
            "DescribeAlarms",
            "ListHostedZones",
            "ListTagsForResources",
            "GetHealthCheck",
        ] {
            assert!(!changes_something(read), "{read}");
        }
        for write in [
            "CreateVpc",
            "AuthorizeSecurityGroupIngress",
            "CreateOrUpdateTags",
            "DeleteVolume",
            "RunInstances",
            "CreateLoadBalancer",
            "PutMetricAlarm",
            "CreateHostedZone",
            "ChangeResourceRecordSets",
            "ChangeTagsForResource",
        ] {
            assert!(changes_something(write), "{write}");
        }
    }

    #[test]
    fn only_throttling_counts_as_refused_before_any_effect() {
        assert!(refused_before_effect(&RetryAction::throttling_error()));
        assert!(!refused_before_effect(&RetryAction::server_error()));
        assert!(!refused_before_effect(&RetryAction::transient_error()));
        assert!(!refused_before_effect(&RetryAction::NoActionIndicated));
    }
}
