//! AWS-shaped resource ids: a prefix (`vpc-`, `subnet-`, `sg-`, …, from
//! [`crate::model::cloud::id_prefix`]) and 17 lowercase hex digits.
//!
//! Promise: ids are unique within one cloud file, across processes, because they are derived
//! from a counter stored in the file and a salt drawn when the file was created.

/// Prefix of a security group rule id.
pub const RULE_PREFIX: &str = "sgr";

/// The id for the `counter`-th id drawn in a cloud with this `salt`.
pub fn format_id(prefix: &str, salt: u64, counter: u64) -> String {
    let high = mix(salt ^ counter);
    let low = mix(high ^ salt.rotate_left(17));
    // 17 hex digits: 16 from one mixed word and one more from a second.
    format!("{prefix}-{high:016x}{:x}", low & 0xf)
}

#[cfg(test)]
/// Whether `id` has the shape `prefix-` followed by 17 hex digits.
pub fn is_well_formed(prefix: &str, id: &str) -> bool {
    id.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|hex| {
            hex.len() == 17
                && hex
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        })
}

/// SplitMix64: a cheap bijective mixer, so distinct counters give distinct words.
fn mix(value: u64) -> u64 {
    let mut z = value.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn ids_have_the_aws_shape() {
        let id = format_id("vpc", 42, 1);
        assert!(is_well_formed("vpc", &id), "{id}");
        assert_eq!(id.len(), "vpc-".len() + 17);
        assert!(!is_well_formed("vpc", "vpc-123"));
        assert!(!is_well_formed("subnet", &id));
    }

    #[test]
    fn ids_differ_for_every_counter() {
        let ids: BTreeSet<String> = (0..10_000).map(|n| format_id("i", 7, n)).collect();
        assert_eq!(ids.len(), 10_000);
    }
}
