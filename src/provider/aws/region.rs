//! The AWS regions Cairn accepts.
//!
//! A region name is checked before any call: an unknown name would otherwise become a DNS
//! failure against real AWS (reported as a transient network error and retried) or an HTTP
//! 500 from moto, neither of which tells the user they mistyped the region. The names are the
//! catalog's ([`crate::model::regions`]), the same table configuration checks and the
//! simulated cloud read.

use crate::model::regions;
use crate::provider::ProviderError;

/// Refuses a region name that no AWS partition knows, suggesting the closest known name.
///
/// # Errors
/// [`ProviderError::RegionUnavailable`] naming the region and the closest known one.
pub fn check_region(region: &str) -> Result<(), ProviderError> {
    if regions::is_region(region) {
        return Ok(());
    }
    let closest = regions::region_names()
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
