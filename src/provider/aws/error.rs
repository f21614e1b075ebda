//! How AWS failures become [`ProviderError`]s.
//!
//! Every SDK call's error is first reduced to a [`CallError`] (the AWS error code, message and
//! a class), independent of which operation failed; the kind module that made the call then
//! turns it into a [`ProviderError`] with the resource it was about. This keeps the code
//! tables in one place: throttling codes become `Throttled`, 5xx and timeouts `Transient` —
//! or `Ambiguous` for a call that changes something, whose effect they may hide —
//! `*.NotFound` codes (and Route 53's `NoSuch*`) `NotFound` (only when the call targeted an
//! existing resource; a missing *referenced* id during a create is an API error the user must
//! fix), and everything else `Api { code, message }`.

use crate::model::Kind;
use crate::provider::ProviderError;
use crate::util::errors::error_chain;
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};

/// Errors from setting up the AWS provider, before any resource call.
#[derive(Debug, Clone, PartialEq, thiserror::Error, miette::Diagnostic)]
pub enum AwsError {
    /// No usable credentials were found by the standard chain.
    #[error("no AWS credentials found{profile}: {message}")]
    #[diagnostic(help(
        "set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run `aws sso login`"
    ))]
    Credentials { profile: String, message: String },
    /// A setting is not usable (for example a malformed endpoint URL).
    #[error("invalid AWS setting `{setting}`: {message}")]
    Setting { setting: String, message: String },
}

impl From<AwsError> for ProviderError {
    fn from(error: AwsError) -> Self {
        match error {
            AwsError::Credentials { .. } => ProviderError::Credentials {
                message: error.to_string(),
            },
            AwsError::Setting { setting, message } => ProviderError::Api {
                code: "InvalidSetting".to_string(),
                message: format!("`{setting}`: {message}"),
            },
        }
    }
}

/// How a failed call should be treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorClass {
    Throttled,
    Transient,
    /// A call that changes something failed in a way that may hide its effect (a 5xx, a
    /// timeout, a lost connection).
    Ambiguous,
    Credentials,
    /// The code says the named resource does not exist (`InvalidVpcID.NotFound`, ...).
    NotFound,
    Api,
}

/// One failed AWS call, reduced to what the engine needs to know.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CallError {
    pub code: String,
    pub message: String,
    pub class: ErrorClass,
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// Error codes AWS uses to ask callers to slow down.
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "EC2ThrottledException",
    "PriorRequestNotComplete",
    "SlowDown",
    "BandwidthLimitExceeded",
];

/// Error codes that mean "try again": the service, not the request, failed.
const TRANSIENT_CODES: &[&str] = &[
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "Unavailable",
    "RequestTimeout",
    "RequestTimeoutException",
    "IDPCommunicationError",
];

/// Error codes that mean the credentials themselves are missing, wrong or expired.
const CREDENTIAL_CODES: &[&str] = &[
    "AuthFailure",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "RequestExpired",
    "MissingAuthenticationToken",
];

impl CallError {
    /// Classifies an error code and HTTP status the way the engine's retry logic needs.
    pub fn from_code(code: &str, message: &str, status: Option<u16>) -> CallError {
        let class = if THROTTLING_CODES.contains(&code) || status == Some(429) {
            ErrorClass::Throttled
        } else if TRANSIENT_CODES.contains(&code) || status.is_some_and(|status| status >= 500) {
            ErrorClass::Transient
        } else if CREDENTIAL_CODES.contains(&code) {
            ErrorClass::Credentials
        } else if code.ends_with("NotFound")
            || code.ends_with("NotFoundException")
            // Route 53: `NoSuchHostedZone`, `NoSuchHealthCheck`.
            || code.starts_with("NoSuch")
            // Auto Scaling reports a missing group or policy as a validation error.
            || (code == "ValidationError" && message.contains("not found"))
        {
            ErrorClass::NotFound
        } else {
            ErrorClass::Api
        };
        CallError {
            code: code.to_string(),
            message: message.to_string(),
            class,
        }
    }

    /// Reduces an SDK error (from either the EC2 or the Auto Scaling client).
    pub fn from_sdk<E>(error: SdkError<E>) -> CallError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let detail = error_chain(&error);
        match &error {
            SdkError::ServiceError(service) => {
                let status = service.raw().status().as_u16();
                let code = error.code().unwrap_or("Unknown").to_string();
                let message = error.message().unwrap_or(&detail).to_string();
                CallError::from_code(&code, &message, Some(status))
            }
            SdkError::TimeoutError(_) => CallError {
                code: "Timeout".to_string(),
                message: detail,
                class: ErrorClass::Transient,
            },
            SdkError::DispatchFailure(failure)
                if !failure.is_user() && !mentions_credentials(&detail) =>
            {
                CallError {
                    code: "DispatchFailure".to_string(),
                    message: detail,
                    class: ErrorClass::Transient,
                }
            }
            SdkError::ResponseError(response) => {
                // A body the SDK cannot parse; a 5xx (moto answers unimplemented operations
                // with an HTML 500) is the server's failure, anything else a protocol error.
                let status = response.raw().status().as_u16();
                let class = if status >= 500 {
                    ErrorClass::Transient
                } else {
                    ErrorClass::Api
                };
                CallError {
                    code: format!("HTTP{status}"),
                    message: detail,
                    class,
                }
            }
            _ if mentions_credentials(&detail) => CallError {
                code: "NoCredentials".to_string(),
                message: detail,
                class: ErrorClass::Credentials,
            },
            _ => CallError {
                code: "RequestFailed".to_string(),
                message: detail,
                class: ErrorClass::Api,
            },
        }
    }

    /// The same failure of a call that changes something: a 5xx, a timeout or a lost
    /// connection does not say whether the call took effect. (A connection that could not be
    /// made at all is counted too: the SDK's errors do not always tell it apart from one lost
    /// after the request went out, and looking first costs only time.)
    pub fn of_mutation(mut self) -> CallError {
        if self.class == ErrorClass::Transient {
            self.class = ErrorClass::Ambiguous;
        }
        self
    }

    pub fn is_not_found(&self) -> bool {
        self.class == ErrorClass::NotFound
    }

    /// The error for a call about the existing resource `id` of `kind`.
    pub fn about(self, kind: Kind, region: &str, id: &str) -> ProviderError {
        match self.class {
            ErrorClass::NotFound => ProviderError::NotFound {
                kind,
                region: region.to_string(),
                id: id.to_string(),
            },
            _ => self.general(),
        }
    }

    /// The error for a call that does not target one existing resource (creates, batched
    /// reads): a `NotFound` code names some *other* id the request referenced, so it stays an
    /// API error with the cloud's message.
    pub fn general(self) -> ProviderError {
        match self.class {
            ErrorClass::Throttled => ProviderError::Throttled {
                message: format!("{}: {}", self.code, self.message),
            },
            ErrorClass::Transient => ProviderError::Transient {
                message: format!("{}: {}", self.code, self.message),
            },
            ErrorClass::Ambiguous => ProviderError::Ambiguous {
                message: format!("{}: {}", self.code, self.message),
            },
            ErrorClass::Credentials => ProviderError::Credentials {
                message: format!("{}: {}", self.code, self.message),
            },
            ErrorClass::NotFound | ErrorClass::Api => ProviderError::Api {
                code: self.code,
                message: self.message,
            },
        }
    }
}

/// The error for a create response without the new resource's id (a broken emulator or an
/// API change; never expected from AWS).
pub(crate) fn missing_id(operation: &str) -> ProviderError {
    ProviderError::Api {
        code: "MissingId".to_string(),
        message: format!("{operation} answered without the new resource's id"),
    }
}

fn mentions_credentials(detail: &str) -> bool {
    let detail = detail.to_ascii_lowercase();
    detail.contains("credential") || detail.contains("no auth scheme")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_codes_are_throttled() {
        for code in ["Throttling", "RequestLimitExceeded", "ThrottlingException"] {
            let error = CallError::from_code(code, "slow down", Some(400));
            assert!(matches!(error.general(), ProviderError::Throttled { .. }));
        }
    }

    #[test]
    fn server_errors_are_transient() {
        let error = CallError::from_code("Whatever", "boom", Some(503));
        assert!(matches!(error.general(), ProviderError::Transient { .. }));
        let error = CallError::from_code("InternalError", "boom", Some(400));
        assert!(error.general().is_retryable());
    }

    #[test]
    fn a_server_error_of_a_call_that_changes_something_is_ambiguous() {
        let error = CallError::from_code("InternalError", "boom", Some(500)).of_mutation();
        assert!(matches!(error.general(), ProviderError::Ambiguous { .. }));
        // Throttling is a refusal before any effect, whatever the call.
        let error = CallError::from_code("RequestLimitExceeded", "slow", Some(503)).of_mutation();
        assert!(matches!(error.general(), ProviderError::Throttled { .. }));
        let error = CallError::from_code("InvalidGroup.Duplicate", "exists", Some(400));
        assert!(error.of_mutation().general().is_conflict());
    }

    #[test]
    fn not_found_names_the_resource_only_when_the_call_was_about_it() {
        let error = CallError::from_code("InvalidVpcID.NotFound", "vpc-1 missing", Some(400));
        assert_eq!(
            error.clone().about(Kind::Network, "us-east-1", "vpc-1"),
            ProviderError::NotFound {
                kind: Kind::Network,
                region: "us-east-1".to_string(),
                id: "vpc-1".to_string(),
            }
        );
        assert_eq!(
            error.general(),
            ProviderError::Api {
                code: "InvalidVpcID.NotFound".to_string(),
                message: "vpc-1 missing".to_string(),
            }
        );
    }

    #[test]
    fn autoscaling_validation_errors_about_missing_groups_are_not_found() {
        let error = CallError::from_code(
            "ValidationError",
            "AutoScalingGroup name not found - web",
            Some(400),
        );
        assert!(error.is_not_found());
        let error = CallError::from_code("ValidationError", "MinSize too large", Some(400));
        assert!(!error.is_not_found());
    }

    #[test]
    fn api_errors_keep_code_and_message() {
        let error = CallError::from_code(
            "DependencyViolation",
            "The vpc 'vpc-1' has dependencies and cannot be deleted.",
            Some(400),
        );
        assert_eq!(
            error.about(Kind::Network, "us-east-1", "vpc-1"),
            ProviderError::Api {
                code: "DependencyViolation".to_string(),
                message: "The vpc 'vpc-1' has dependencies and cannot be deleted.".to_string(),
            }
        );
    }

    #[test]
    fn missing_balancers_alarms_and_zones_are_not_found() {
        for code in [
            "LoadBalancerNotFound",
            "TargetGroupNotFound",
            "ListenerNotFound",
            "ResourceNotFoundException",
            "NoSuchHostedZone",
            "NoSuchHealthCheck",
        ] {
            assert!(
                CallError::from_code(code, "gone", Some(400)).is_not_found(),
                "{code}"
            );
        }
        assert!(!CallError::from_code("ResourceInUse", "used", Some(400)).is_not_found());
    }

    #[test]
    fn refused_credentials_are_credential_errors() {
        let error = CallError::from_code("AuthFailure", "bad key", Some(401));
        assert!(matches!(error.general(), ProviderError::Credentials { .. }));
    }
}
