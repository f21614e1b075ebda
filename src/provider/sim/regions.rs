//! The regions the simulated cloud has and the availability zones of each.
//!
//! Promise: the catalogue is fixed and matches the zone letters AWS offers to a typical
//! account, so zone validation behaves the same on `sim` and on `aws`.

/// Every region with its zone letters.
const REGIONS: [(&str, &str); 7] = [
    ("us-east-1", "abcdef"),
    ("us-east-2", "abc"),
    ("us-west-1", "ac"),
    ("us-west-2", "abcd"),
    ("eu-west-1", "abc"),
    ("eu-central-1", "abc"),
    ("ap-southeast-1", "abc"),
];

/// The hosted zone of each region's load balancer DNS names (AWS's published ids), which an
/// alias record names as its target's zone.
const LOAD_BALANCER_ZONES: [(&str, &str); 7] = [
    ("us-east-1", "Z35SXDOTRQ7X7K"),
    ("us-east-2", "Z3AADJGX6KTTL2"),
    ("us-west-1", "Z368ELLRRE2KJ0"),
    ("us-west-2", "Z1H1FL5HABSF5"),
    ("eu-west-1", "Z32O12XQLNTSW2"),
    ("eu-central-1", "Z215JYRZR1TBD5"),
    ("ap-southeast-1", "Z1LMS91P8CMLE5"),
];

/// The hosted zone of the load balancer DNS names of `region`.
pub fn load_balancer_zone(region: &str) -> Option<&'static str> {
    LOAD_BALANCER_ZONES
        .iter()
        .find(|(name, _)| *name == region)
        .map(|(_, zone)| *zone)
}

/// Names of every region the simulated cloud knows.
pub fn region_names() -> impl Iterator<Item = &'static str> {
    REGIONS.iter().map(|(name, _)| *name)
}

/// Whether `region` exists.
pub fn is_region(region: &str) -> bool {
    REGIONS.iter().any(|(name, _)| *name == region)
}

/// Whether calls may name `region`: a region, or the global pseudo-region of DNS.
pub fn is_callable(region: &str) -> bool {
    is_region(region) || region == crate::model::cloud::GLOBAL_REGION
}

/// The zones of `region` (`us-east-1a`, …), or `None` for an unknown region.
pub fn zones(region: &str) -> Option<Vec<String>> {
    REGIONS
        .iter()
        .find(|(name, _)| *name == region)
        .map(|(name, letters)| {
            letters
                .chars()
                .map(|letter| format!("{name}{letter}"))
                .collect()
        })
}

/// The region a zone name belongs to, if it is a zone of a known region.
pub fn region_of_zone(zone: &str) -> Option<&'static str> {
    REGIONS.iter().find_map(|(name, letters)| {
        let letter = zone.strip_prefix(name)?;
        (letter.len() == 1 && letters.contains(letter)).then_some(*name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_have_the_aws_zone_letters() {
        assert_eq!(
            zones("us-east-1"),
            Some(
                ["a", "b", "c", "d", "e", "f"]
                    .map(|letter| format!("us-east-1{letter}"))
                    .to_vec()
            )
        );
        assert_eq!(
            zones("us-west-1"),
            Some(vec!["us-west-1a".to_string(), "us-west-1c".to_string()])
        );
        assert_eq!(zones("mars-north-1"), None);
        assert_eq!(region_names().count(), 7);
    }

    #[test]
    fn zones_map_back_to_their_region() {
        assert_eq!(region_of_zone("us-west-2d"), Some("us-west-2"));
        assert_eq!(region_of_zone("us-west-1b"), None);
        assert_eq!(region_of_zone("us-east-1"), None);
        assert_eq!(region_of_zone("eu-central-1c"), Some("eu-central-1"));
    }
}
