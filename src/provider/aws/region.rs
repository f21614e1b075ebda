//! The AWS regions Cairn accepts.
//!
//! A region name is checked before any call: an unknown name would otherwise become a DNS
//! failure against real AWS (reported as a transient network error and retried) or an HTTP
//! 500 from moto, neither of which tells the user they mistyped the region. The list is the
//! regions of the `aws`, `aws-cn` and `aws-us-gov` partitions in the SDK's partition data
//! (aws-sdk-ec2 1.274), which the SDK does not expose publicly.

use crate::provider::ProviderError;

/// Every region name of the commercial, China and GovCloud partitions.
pub const KNOWN_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "cn-north-1",
    "cn-northwest-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-west-1",
    "us-west-2",
];

/// Refuses a region name that no AWS partition knows, suggesting the closest known name.
///
/// # Errors
/// [`ProviderError::RegionUnavailable`] naming the region and the closest known one.
pub fn check_region(region: &str) -> Result<(), ProviderError> {
    if KNOWN_REGIONS.contains(&region) {
        return Ok(());
    }
    let closest = KNOWN_REGIONS
        .iter()
        .min_by_key(|known| strsim::levenshtein(known, region))
        .map(|known| format!("; did you mean `{known}`?"))
        .unwrap_or_default();
    Err(ProviderError::RegionUnavailable {
        region: region.to_string(),
        message: format!("`{region}` is not an AWS region{closest}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_regions_pass() {
        assert_eq!(check_region("us-east-1"), Ok(()));
        assert_eq!(check_region("us-gov-west-1"), Ok(()));
    }

    #[test]
    fn a_typo_is_refused_with_a_suggestion() {
        let error = check_region("us-east-7").unwrap_err();
        let ProviderError::RegionUnavailable { region, message } = error else {
            panic!("expected RegionUnavailable, got {error:?}");
        };
        assert_eq!(region, "us-east-7");
        assert!(message.contains("did you mean `us-east-1`?"), "{message}");
    }
}
