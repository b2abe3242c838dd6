//! The blind order of a rating: which of the two picked columns is shown as "Answer 1" for each
//! question, drawn from a seed so that it is random to the rater but recorded, and so the same seed
//! always gives the same order (the tally un-blinds through it; a test can replay it).
//!
//! Promises: the order of question `item` depends only on `(seed, item)`; over many questions
//! both orders occur about equally often; seeds fit in 32 bits, so they travel to the app's
//! JavaScript without losing precision.

use serde::Serialize;
use tunesmith_store::Side;

/// The order of a round of blind ratings: its seed and, per question, the column shown first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct BlindOrder {
    /// The seed it was drawn from (recorded with every rating).
    pub seed: u32,
    /// For question `i`, the column shown as "Answer 1".
    pub first: Vec<Side>,
}

/// SplitMix64's finaliser: every input bit flips about half the output bits, so consecutive items
/// (and consecutive seeds) give unrelated orders.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The column shown as "Answer 1" for question `item` of the round drawn from `seed`.
pub fn shown_first(seed: u32, item: u64) -> Side {
    if mix((u64::from(seed) << 32) ^ mix(item)) & 1 == 0 {
        Side::A
    } else {
        Side::B
    }
}

/// A fresh seed for a new round (from the clock and the process id; not for secrets, only for an
/// order the rater cannot guess).
pub fn new_seed() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    (mix(nanos ^ (u64::from(std::process::id()) << 40)) >> 32) as u32
}

/// The order of `items` questions drawn from `seed` (a fresh seed when `None`).
pub fn order(seed: Option<u32>, items: usize) -> BlindOrder {
    let seed = seed.unwrap_or_else(new_seed);
    BlindOrder {
        seed,
        first: (0..items as u64).map(|i| shown_first(seed, i)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_many_questions_both_orders_occur_about_equally_often() {
        for seed in [0, 1, 7, 12345, u32::MAX] {
            let o = order(Some(seed), 1000);
            let a_first = o.first.iter().filter(|s| **s == Side::A).count();
            assert!(
                (400..=600).contains(&a_first),
                "seed {seed}: column a first in {a_first} of 1000"
            );
        }
        // Even a short round mixes: ten questions are not all in one order for most seeds.
        let mixed = (0..100u32)
            .filter(|s| {
                let o = order(Some(*s), 10);
                o.first.contains(&Side::A) && o.first.contains(&Side::B)
            })
            .count();
        assert!(mixed >= 95, "{mixed} of 100 seeds mix ten questions");
    }

    #[test]
    fn the_same_seed_gives_the_same_order_and_another_seed_another() {
        let a = order(Some(42), 64);
        assert_eq!(a, order(Some(42), 64));
        assert_eq!(a.first[10], shown_first(42, 10));
        assert_ne!(a.first, order(Some(43), 64).first);
    }
}
