//! The catalog of AWS regions and their availability zones: the one table that configuration
//! checks, the AWS provider's region check and the simulated cloud all read.
//!
//! Promises:
//! - the catalog is static: checking a configuration never calls a cloud;
//! - it holds every region of the `aws`, `aws-cn` and `aws-us-gov` partitions (as the AWS SDK's
//!   partition data lists them), each with the zone letters that AWS uses in that region.
//!   Zone names are mapped per account, so a region lists every letter any account can see
//!   (`us-west-1` has `a`, `b` and `c` although one account sees two of them): a name in the
//!   catalog may still be missing from one account, but a name outside it exists in none;
//! - the simulated cloud offers exactly these regions and zones, so a configuration that
//!   passes here behaves the same on `sim` and on `aws`.

/// One region: its name and the letters of its zones (`us-east-1` + `a` = `us-east-1a`).
struct RegionEntry {
    name: &'static str,
    zone_letters: &'static str,
}

const fn region(name: &'static str, zone_letters: &'static str) -> RegionEntry {
    RegionEntry { name, zone_letters }
}

/// Every region, sorted by name.
const CATALOG: &[RegionEntry] = &[
    region("af-south-1", "abc"),
    region("ap-east-1", "abc"),
    region("ap-east-2", "abc"),
    region("ap-northeast-1", "abcd"),
    region("ap-northeast-2", "abcd"),
    region("ap-northeast-3", "abc"),
    region("ap-south-1", "abc"),
    region("ap-south-2", "abc"),
    region("ap-southeast-1", "abc"),
    region("ap-southeast-2", "abc"),
    region("ap-southeast-3", "abc"),
    region("ap-southeast-4", "abc"),
    region("ap-southeast-5", "abc"),
    region("ap-southeast-6", "abc"),
    region("ap-southeast-7", "abc"),
    region("ca-central-1", "abd"),
    region("ca-west-1", "abc"),
    region("cn-north-1", "abd"),
    region("cn-northwest-1", "abc"),
    region("eu-central-1", "abc"),
    region("eu-central-2", "abc"),
    region("eu-north-1", "abc"),
    region("eu-south-1", "abc"),
    region("eu-south-2", "abc"),
    region("eu-west-1", "abc"),
    region("eu-west-2", "abc"),
    region("eu-west-3", "abc"),
    region("il-central-1", "abc"),
    region("me-central-1", "abc"),
    region("me-south-1", "abc"),
    region("mx-central-1", "abc"),
    region("sa-east-1", "abc"),
    region("us-east-1", "abcdef"),
    region("us-east-2", "abc"),
    region("us-gov-east-1", "abc"),
    region("us-gov-west-1", "abc"),
    region("us-west-1", "abc"),
    region("us-west-2", "abcd"),
];

fn entry(region: &str) -> Option<&'static RegionEntry> {
    CATALOG.iter().find(|entry| entry.name == region)
}

/// Names of every region, sorted.
pub fn region_names() -> impl Iterator<Item = &'static str> {
    CATALOG.iter().map(|entry| entry.name)
}

/// Whether `region` is a region of some AWS partition.
pub fn is_region(region: &str) -> bool {
    entry(region).is_some()
}

/// The zones of `region` in letter order (`us-east-1a`, …), or `None` for an unknown region.
pub fn zones(region: &str) -> Option<Vec<String>> {
    entry(region).map(|entry| {
        entry
            .zone_letters
            .chars()
            .map(|letter| format!("{}{letter}", entry.name))
            .collect()
    })
}

/// The region a zone name belongs to, if it is a zone of a known region.
pub fn region_of_zone(zone: &str) -> Option<&'static str> {
    CATALOG.iter().find_map(|entry| {
        let letter = zone.strip_prefix(entry.name)?;
        (letter.len() == 1 && entry.zone_letters.contains(letter)).then_some(entry.name)
    })
}

/// The hosted zone of the load balancer DNS names of each region (AWS's published ids for
/// application load balancers), which an alias record names as its target's zone.
const LOAD_BALANCER_ZONES: &[(&str, &str)] = &[
    ("ap-northeast-1", "Z14GRHDCWA56QT"),
    ("ap-northeast-2", "ZWKZPGTI48KDX"),
    ("ap-south-1", "ZP97RAFLXTNZK"),
    ("ap-southeast-1", "Z1LMS91P8CMLE5"),
    ("ap-southeast-2", "Z1GM3OXH4ZPM65"),
    ("ca-central-1", "ZQSVJUPU6J1EY"),
    ("eu-central-1", "Z215JYRZR1TBD5"),
    ("eu-west-1", "Z32O12XQLNTSW2"),
    ("eu-west-2", "ZHURV8PSTC4K8"),
    ("eu-west-3", "Z3Q77PNBQS71R4"),
    ("sa-east-1", "Z2P70J7HTTTPLU"),
    ("us-east-1", "Z35SXDOTRQ7X7K"),
    ("us-east-2", "Z3AADJGX6KTTL2"),
    ("us-west-1", "Z368ELLRRE2KJ0"),
    ("us-west-2", "Z1H1FL5HABSF5"),
];

/// The hosted zone of the load balancer DNS names of `region`, for the regions whose id the
/// catalog holds.
pub fn load_balancer_zone(region: &str) -> Option<&'static str> {
    LOAD_BALANCER_ZONES
        .iter()
        .find(|(name, _)| *name == region)
        .map(|(_, zone)| *zone)
}

/// Whether `zone` is a Local Zone or Wavelength Zone of `region`
/// (`us-west-2-lax-1a`, `us-east-1-wl1-bos-wlz-1`): AWS names them after their parent region
/// and adds them per account on opt-in, so the catalog cannot list them; only their shape is
/// checked.
pub fn is_edge_zone_of(zone: &str, region: &str) -> bool {
    let Some(rest) = zone
        .strip_prefix(region)
        .and_then(|rest| rest.strip_prefix('-'))
    else {
        return false;
    };
    let parts: Vec<&str> = rest.split('-').collect();
    parts.len() >= 2
        && parts.iter().all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .and_then(|last| last.chars().next())
            .is_some_and(|c| c.is_ascii_digit())
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
            zones("ca-central-1"),
            Some(vec![
                "ca-central-1a".to_string(),
                "ca-central-1b".to_string(),
                "ca-central-1d".to_string()
            ])
        );
        assert_eq!(zones("mars-north-1"), None);
    }

    #[test]
    fn the_catalog_is_sorted_and_every_region_has_zones() {
        let names: Vec<&str> = region_names().collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted);
        assert!(names.contains(&"us-gov-west-1") && names.contains(&"cn-north-1"));
        for name in names {
            assert!(zones(name).is_some_and(|zones| zones.len() >= 2), "{name}");
        }
    }

    #[test]
    fn zones_map_back_to_their_region() {
        assert_eq!(region_of_zone("us-west-2d"), Some("us-west-2"));
        assert_eq!(region_of_zone("us-west-2e"), None);
        assert_eq!(region_of_zone("us-east-1"), None);
        assert_eq!(region_of_zone("eu-central-1c"), Some("eu-central-1"));
        assert_eq!(region_of_zone("ca-central-1c"), None);
    }

    #[test]
    fn local_and_wavelength_zones_are_recognised_by_their_parent_region() {
        assert!(is_edge_zone_of("us-west-2-lax-1a", "us-west-2"));
        assert!(is_edge_zone_of("us-east-1-wl1-bos-wlz-1", "us-east-1"));
        assert!(!is_edge_zone_of("us-west-2-lax-1a", "us-east-1"));
        assert!(!is_edge_zone_of("us-west-2a", "us-west-2"));
        assert!(!is_edge_zone_of("us-west-2-a", "us-west-2"));
        assert!(!is_edge_zone_of("us-west-2-LAX-1a", "us-west-2"));
    }
}
