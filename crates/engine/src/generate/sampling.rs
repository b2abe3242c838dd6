//! Choosing the next token from logits: greedy, or sampling with temperature, top-k, top-p and a
//! repetition penalty, in transformers' order (penalty, temperature, top-k, top-p), from a seeded
//! generator so that the same seed gives the same text.
//!
//! This is the host reference: the decoding loop samples on the model's device
//! ([`super::device_sampling`]), which must pick the ids this one picks (its tests say where not).
//! The random number of the `n`-th sampled token is [`uniform`]`(seed, n)`, a counter-based draw,
//! so that neither side keeps generator state.

use serde::{Deserialize, Serialize};
use tunesmith_vocab::SplitMix64;

/// How the next token is chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SamplingConfig {
    /// 0 means greedy (always the most likely token); higher values flatten the distribution.
    pub temperature: f64,
    /// Keep only the `k` most likely tokens (`None` or 0: all).
    pub top_k: Option<usize>,
    /// Keep the smallest set of tokens whose probability adds up to `p` (`None` or 1.0: all).
    pub top_p: Option<f64>,
    /// Above 1 discourages tokens already in the prompt or the answer (CTRL's penalty, as transformers).
    pub repetition_penalty: f32,
    /// The random seed.
    pub seed: u64,
}

impl Default for SamplingConfig {
    fn default() -> Self {
        Self {
            temperature: 0.0,
            top_k: None,
            top_p: None,
            repetition_penalty: 1.0,
            seed: 42,
        }
    }
}

/// Picks tokens according to a [`SamplingConfig`].
#[derive(Debug, Clone)]
pub struct Sampler {
    cfg: SamplingConfig,
    /// How many tokens were sampled (the index of the next random draw).
    draws: u64,
}

/// The uniform number in `[0, 1)` (53 random bits) of the `index`-th sampled token under `seed`:
/// element `index` of SplitMix64's stream, so the same numbers a sequential generator would draw.
pub fn uniform(seed: u64, index: u64) -> f64 {
    (SplitMix64::at(seed, index) >> 11) as f64 / (1u64 << 53) as f64
}

impl Sampler {
    /// A sampler seeded from the config.
    pub fn new(cfg: SamplingConfig) -> Self {
        Self { cfg, draws: 0 }
    }

    /// The next token given `logits` (one per vocabulary entry) and the ids seen so far.
    pub fn sample(&mut self, logits: &mut [f32], seen: &[u32]) -> u32 {
        let draw = self.draws;
        self.draws += 1;
        let p = self.cfg.repetition_penalty;
        if p != 1.0 && p > 0.0 {
            let mut done = std::collections::HashSet::new();
            for &id in seen {
                if let Some(l) = logits.get_mut(id as usize) {
                    if done.insert(id) {
                        *l = if *l > 0.0 { *l / p } else { *l * p };
                    }
                }
            }
        }
        if self.cfg.temperature <= 0.0 {
            return argmax(logits);
        }
        let t = self.cfg.temperature as f32;
        let mut idx: Vec<usize> = (0..logits.len()).collect();
        idx.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
        if let Some(k) = self.cfg.top_k.filter(|&k| k > 0) {
            idx.truncate(k.max(1));
        }
        let max = logits[idx[0]] / t;
        let mut probs: Vec<f64> = idx
            .iter()
            .map(|&i| ((logits[i] / t - max) as f64).exp())
            .collect();
        let sum: f64 = probs.iter().sum();
        probs.iter_mut().for_each(|p| *p /= sum);
        if let Some(top_p) = self.cfg.top_p.filter(|&p| p < 1.0) {
            let mut acc = 0.0;
            let mut keep = probs.len();
            for (n, p) in probs.iter().enumerate() {
                acc += p;
                if acc >= top_p {
                    keep = n + 1;
                    break;
                }
            }
            probs.truncate(keep.max(1));
            idx.truncate(keep.max(1));
            let s: f64 = probs.iter().sum();
            probs.iter_mut().for_each(|p| *p /= s);
        }
        let r = uniform(self.cfg.seed, draw);
        let mut acc = 0.0;
        for (n, p) in probs.iter().enumerate() {
            acc += p;
            if r < acc {
                return idx[n] as u32;
            }
        }
        idx[probs.len() - 1] as u32
    }
}

/// The index of the largest value (the first one on ties).
pub fn argmax(xs: &[f32]) -> u32 {
    let mut best = 0;
    for (i, x) in xs.iter().enumerate() {
        if *x > xs[best] {
            best = i;
        }
    }
    best as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_picks_the_largest_logit() {
        let mut s = Sampler::new(SamplingConfig::default());
        assert_eq!(s.sample(&mut [0.1, 2.0, -1.0], &[]), 1);
    }

    #[test]
    fn the_repetition_penalty_can_change_the_greedy_choice() {
        let cfg = SamplingConfig {
            repetition_penalty: 2.0,
            ..Default::default()
        };
        let mut s = Sampler::new(cfg);
        assert_eq!(s.sample(&mut [1.5, 1.0, -1.0], &[0]), 1);
    }

    #[test]
    fn top_k_one_is_greedy_whatever_the_temperature() {
        let cfg = SamplingConfig {
            temperature: 5.0,
            top_k: Some(1),
            ..Default::default()
        };
        let mut s = Sampler::new(cfg);
        for _ in 0..20 {
            assert_eq!(s.sample(&mut [0.0, 0.3, 0.2], &[]), 1);
        }
    }

    #[test]
    fn top_p_keeps_only_the_nucleus() {
        let cfg = SamplingConfig {
            temperature: 1.0,
            top_p: Some(0.5),
            ..Default::default()
        };
        let mut s = Sampler::new(cfg);
        for _ in 0..50 {
            // token 2 has probability ~0.84: the nucleus for p = 0.5 is that token alone.
            assert_eq!(s.sample(&mut [0.0, 0.0, 2.96], &[]), 2);
        }
    }

    #[test]
    fn the_counter_based_draw_is_the_sequential_generators_stream() {
        let mut rng = SplitMix64::new(42);
        for i in 0..10 {
            assert_eq!(uniform(42, i), rng.next_f64());
        }
    }

    #[test]
    fn the_same_seed_draws_the_same_tokens_and_another_seed_differs() {
        let draw = |seed| {
            let mut s = Sampler::new(SamplingConfig {
                temperature: 1.0,
                seed,
                ..Default::default()
            });
            (0..32)
                .map(|_| s.sample(&mut [0.0; 16], &[]))
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
    }
}
