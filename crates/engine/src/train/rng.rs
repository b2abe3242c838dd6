//! A small seeded random number generator whose whole state fits in a checkpoint.
//!
//! Shuffling must be reproducible from a seed and resumable from a saved state, across platforms and
//! crate versions, so we keep our own xoshiro256** (seeded through SplitMix64) rather than depend on
//! a library whose stream may change between releases.

use serde::{Deserialize, Serialize};
use tunesmith_vocab::SplitMix64;

/// xoshiro256**: fast, statistically sound, and its state is four integers we can serialise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator seeded from `seed`; equal seeds give equal streams on every platform.
    pub fn new(seed: u64) -> Self {
        // SplitMix64 spreads a small seed over the whole state (xoshiro must not start at zero).
        let mut spread = SplitMix64::new(seed);
        Rng {
            s: std::array::from_fn(|_| spread.next_u64()),
        }
    }

    /// A generator for one purpose (an epoch's shuffle, a split) derived from a seed, so streams
    /// for different purposes never overlap by accident.
    pub fn derived(seed: u64, purpose: u64) -> Self {
        Rng::new(seed ^ purpose.wrapping_mul(0xD1B5_4A32_D192_ED03).rotate_left(17))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// A uniform number in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform integer in `[0, n)` (`n > 0`), without modulo bias.
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let x = self.next_u64();
            if x < zone {
                return x % n;
            }
        }
    }

    /// Shuffles `items` in place (Fisher-Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_seeds_give_equal_streams_and_different_seeds_differ() {
        let a: Vec<u64> = (0..5)
            .scan(Rng::new(7), |r, _| Some(r.next_u64()))
            .collect();
        let b: Vec<u64> = (0..5)
            .scan(Rng::new(7), |r, _| Some(r.next_u64()))
            .collect();
        let c: Vec<u64> = (0..5)
            .scan(Rng::new(8), |r, _| Some(r.next_u64()))
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn a_saved_state_continues_the_same_stream() {
        let mut r = Rng::new(3);
        r.next_u64();
        let saved = serde_json::to_string(&r).unwrap();
        let expected = r.next_u64();
        let mut restored: Rng = serde_json::from_str(&saved).unwrap();
        assert_eq!(restored.next_u64(), expected);
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut v: Vec<usize> = (0..100).collect();
        Rng::new(1).shuffle(&mut v);
        assert_ne!(v, (0..100).collect::<Vec<_>>());
        v.sort();
        assert_eq!(v, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn uniform_floats_stay_in_the_unit_interval() {
        let mut r = Rng::new(11);
        let mean = (0..10_000)
            .map(|_| r.next_f64())
            .inspect(|x| assert!((0.0..1.0).contains(x)))
            .sum::<f64>()
            / 10_000.0;
        assert!((mean - 0.5).abs() < 0.02, "{mean}");
    }
}
