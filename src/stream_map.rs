//! Maps keyed by numbers epan hands out in order (TCP stream and frame numbers): no capture can
//! choose colliding keys, so SipHash's resistance to hash flooding buys nothing there, and at
//! ~150 instructions per lookup it was a tenth of the plugin's cost on dense captures. Keys a
//! capture chooses (call ids, context ids, addresses) stay in SipHash maps.
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A multiplicative hash (Fibonacci hashing) over the key's integers.
#[derive(Default, Clone, Copy)]
pub struct SequenceHasher(u64);

const K: u64 = 0x9e37_79b9_7f4a_7c15;

impl SequenceHasher {
    fn add(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(K);
    }
}

impl Hasher for SequenceHasher {
    fn finish(&self) -> u64 {
        // hashbrown takes the bucket from the low bits and a tag from the top seven.
        self.0 ^ (self.0 >> 29)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.add(u64::from(b));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
}

/// A `HashMap` keyed by stream or frame numbers.
pub type SequenceMap<K, V> = HashMap<K, V, BuildHasherDefault<SequenceHasher>>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn consecutive_streams_spread_over_buckets_and_tags() {
        let build = BuildHasherDefault::<SequenceHasher>::default();
        let hashes: Vec<u64> = (0..4096u32).map(|s| build.hash_one((s, s % 2 == 0))).collect();
        let buckets: std::collections::HashSet<u64> = hashes.iter().map(|h| h & 4095).collect();
        assert!(buckets.len() > 2500, "{} of 4096 buckets used", buckets.len());
        let tags: std::collections::HashSet<u64> = hashes.iter().map(|h| h >> 57).collect();
        assert_eq!(tags.len(), 128, "every top-7-bit tag occurs");
    }
}
