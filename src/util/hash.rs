//! A stable hash for idempotency tokens and anything else that must hash the same in every
//! build: FNV-1a (the `fnv` crate), whose values are fixed by its specification, unlike the
//! standard library's hasher, which may change between Rust releases.

use fnv::FnvHasher;
use std::hash::Hasher;

/// A second FNV key, for the other half of [`stable_hash_128`].
const SECOND_KEY: u64 = 0x8422_2325_cbf2_9ce4;

/// FNV-1a of `bytes` (64 bits).
pub fn stable_hash(bytes: &[u8]) -> u64 {
    let mut hasher = FnvHasher::default();
    hasher.write(bytes);
    hasher.finish()
}

/// Two differently keyed FNV-1a passes over `bytes`: 128 bits, for tokens that must differ
/// between any two inputs in practice.
pub fn stable_hash_128(bytes: &[u8]) -> u128 {
    let mut second = FnvHasher::with_key(SECOND_KEY);
    second.write(bytes);
    (u128::from(stable_hash(bytes)) << 64) | u128::from(second.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_fnv_1a_and_stable() {
        // FNV-1a's published test vectors: the empty input is the offset basis.
        assert_eq!(stable_hash(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(stable_hash(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(stable_hash(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn different_inputs_hash_differently_in_both_halves() {
        let one = stable_hash_128(b"us-east-1|a");
        let other = stable_hash_128(b"us-west-2|a");
        assert_ne!(one >> 64, other >> 64);
        assert_ne!(one as u64, other as u64);
        assert_eq!(one >> 64, u128::from(stable_hash(b"us-east-1|a")));
        assert_eq!(one, stable_hash_128(b"us-east-1|a"));
    }
}
