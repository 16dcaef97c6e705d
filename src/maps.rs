//! Hash maps cheaper than std's SipHash, which at ~150 instructions per lookup was a tenth of the
//! plugin's cost on dense captures.
//!
//! - `SequenceMap`: keys epan hands out in order (TCP stream and frame numbers); no capture can
//!   choose them, so a plain multiplicative hash does.
//! - `KeyedMap`: keys a capture chooses (call ids, context ids, addresses, names). A folded
//!   multiply under secret per-process keys: without seeing a hash, a capture cannot aim its
//!   keys at one bucket. The tables holding them are capped besides, which bounds the worst case.
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

use once_cell::sync::Lazy;

/// `Hasher` methods that feed an integer key to `self.add` whole, not byte by byte.
macro_rules! integer_writes {
    () => {
        fn write_u8(&mut self, n: u8) {
            self.add(u64::from(n));
        }

        fn write_u16(&mut self, n: u16) {
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
    };
}

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

    integer_writes!();
}

/// A `HashMap` keyed by stream or frame numbers.
pub type SequenceMap<K, V> = HashMap<K, V, BuildHasherDefault<SequenceHasher>>;

/// The process's secret keys, drawn once from std's own random source.
static KEYS: Lazy<(u64, u64, u64)> = Lazy::new(|| {
    let random = RandomState::new();
    (random.hash_one(0x5eed_u64), random.hash_one(0xfee1_u64) | 1, random.hash_one(0xd1ce_u64) | 1)
});

/// Folded multiply: the full 128-bit product's halves xored, so every input bit reaches every output bit.
fn fold(a: u64, b: u64) -> u64 {
    let full = u128::from(a) * u128::from(b);
    (full as u64) ^ ((full >> 64) as u64)
}

/// Hashes capture-chosen keys under the process's secret keys.
#[derive(Clone, Copy)]
pub struct KeyedHasher(u64);

/// Builds a map's `KeyedHasher`s. In fuzzing builds every map draws keys of its own, so that a
/// verdict hanging on a map's iteration order shows as two sessions over one capture disagreeing.
#[cfg(not(fuzzing))]
#[derive(Clone, Copy, Default)]
pub struct KeyedState;

/// A `KeyedState` for maps built in a `const` (never hashed into: they stay empty).
#[cfg(not(fuzzing))]
pub const KEYED: KeyedState = KeyedState;

#[cfg(not(fuzzing))]
impl BuildHasher for KeyedState {
    type Hasher = KeyedHasher;

    fn build_hasher(&self) -> KeyedHasher {
        KeyedHasher(KEYS.0)
    }
}

#[cfg(fuzzing)]
#[derive(Clone, Copy)]
pub struct KeyedState(u64);

#[cfg(fuzzing)]
pub const KEYED: KeyedState = KeyedState(0);

#[cfg(fuzzing)]
impl Default for KeyedState {
    fn default() -> Self {
        KeyedState(RandomState::new().hash_one(0u8))
    }
}

#[cfg(fuzzing)]
impl BuildHasher for KeyedState {
    type Hasher = KeyedHasher;

    fn build_hasher(&self) -> KeyedHasher {
        KeyedHasher(KEYS.0 ^ self.0)
    }
}

impl KeyedHasher {
    fn add(&mut self, v: u64) {
        self.0 = fold(self.0 ^ v, KEYS.1);
    }
}

impl Hasher for KeyedHasher {
    fn finish(&self) -> u64 {
        // One round leaves keys that differ only in high bits with alike low bits: a second mixes them.
        fold(self.0, KEYS.2)
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().unwrap_or_default()));
        }
        let mut tail = [0u8; 8];
        let rest = chunks.remainder();
        tail[..rest.len()].copy_from_slice(rest);
        // The length keeps "ab" + "" apart from "a" + "b" (str hashing adds a terminator as well).
        self.add(u64::from_le_bytes(tail) ^ ((rest.len() as u64) << 56));
    }

    integer_writes!();
}

/// A `HashMap` keyed by values a capture chooses.
pub type KeyedMap<K, V> = HashMap<K, V, KeyedState>;

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

    #[test]
    fn call_ids_a_capture_picks_spread_over_buckets_and_tags() {
        let build = *KeyedMap::<u8, u8>::default().hasher();
        // Consecutive ids, and ids that differ only in high bits as a flood would pick against a weak hash.
        for shift in [0, 20, 52] {
            let hashes: Vec<u64> = (0..4096u64).map(|i| build.hash_one(i << shift)).collect();
            let buckets: std::collections::HashSet<u64> = hashes.iter().map(|h| h & 4095).collect();
            assert!(buckets.len() > 2500, "shift {shift}: {} of 4096 buckets used", buckets.len());
            let tags: std::collections::HashSet<u64> = hashes.iter().map(|h| h >> 57).collect();
            assert_eq!(tags.len(), 128, "shift {shift}: every top-7-bit tag occurs");
        }
    }

    #[test]
    fn names_hash_by_content_and_length() {
        let build = *KeyedMap::<u8, u8>::default().hasher();
        assert_eq!(build.hash_one("administrator"), build.hash_one(String::from("administrator")));
        assert_ne!(build.hash_one(("ab", "")), build.hash_one(("a", "b")));
        assert_ne!(build.hash_one([0u8; 7].as_slice()), build.hash_one([0u8; 8].as_slice()));
    }
}
