//! Choosing the next token on the model's device: the logits never leave it, only the chosen id
//! (one `u32`) is read back per token, and the id tensor itself is the next step's input.
//!
//! The same choice as the host reference ([`super::sampling::Sampler`]), step by step, with candle
//! tensor ops that run on every device:
//! - repetition penalty: a `[vocab]` count of the ids seen (prompt and answer), updated on the
//!   device with the sampled id (`index_add`); seen logits `l > 0` become `l / p`, others `l * p`;
//! - greedy (temperature 0): the first index holding the maximum, the reference's tie-breaking on
//!   every device (candle's argmax on the CPU; max, equality and a masked min over the indices
//!   elsewhere);
//! - sampling: `z = l / t`; the candidates are the `min(top_k, MAX_CANDIDATES)` largest `z` in
//!   descending order (a tournament of sorts over rows of `SORT_ROW`: candle's CUDA sort holds one
//!   row in a block's shared memory, so a whole vocabulary cannot be sorted in one row); softmax in
//!   f32 (over the candidates with a top-k, over the whole vocabulary without, as the reference);
//!   top-p keeps the candidates whose preceding cumulative probability is below `p` (at least one);
//!   the kept probabilities are renormalised and the id is the first whose cumulative probability
//!   exceeds the uniform number `uniform(seed, n)` of the `n`-th sampled token (a counter-based draw
//!   computed on the host and passed as a kernel argument: no device state, no upload).
//!
//! Every constant tensor (indices, scalars, the triangular matrix of the cumulative sums, the
//! sorts' padding) is made once per generation; a step uploads nothing.
//!
//! Differences from the host reference, all stated by the tests:
//! - at most [`MAX_CANDIDATES`] tokens are ever sampled from: without a top-k (or with a larger
//!   one), tokens beyond the 1,024 most likely are never drawn (the reference can draw them; their
//!   probability is the tail mass beyond rank 1,024, with top-p usually none);
//! - the probabilities and their cumulative sums are f32 (the reference: f64), so a draw within
//!   about 1e-7 of a boundary between two tokens may fall on the other side;
//! - on CUDA, candle's bitonic sort is not stable: tokens with exactly equal logits may be ordered
//!   differently among the candidates than on the CPU (by index there, as the reference).

use candle_core::{DType, Device, Tensor};

use super::sampling::{uniform, SamplingConfig};
use crate::{EngineError, Result};

/// The most tokens the sampled path draws from (an implicit top-k).
pub const MAX_CANDIDATES: usize = 1024;

/// The width of one row of the tournament's sorts (16 KiB of indices in CUDA shared memory).
const SORT_ROW: usize = 4096;

/// One round of the tournament: the padding that makes the values a whole number of rows.
#[derive(Debug, Clone)]
struct Round {
    rows: usize,
    /// `-inf` values and any indices, `rows * SORT_ROW - n` of each (`None`: no padding).
    pad: Option<(Tensor, Tensor)>,
}

/// Picks tokens on the device according to a [`SamplingConfig`].
#[derive(Debug, Clone)]
pub struct DeviceSampler {
    cfg: SamplingConfig,
    vocab: usize,
    /// `0..vocab` as u32.
    iota: Tensor,
    /// `[vocab]` u32 all equal to `vocab` (what no maximum can hold).
    beyond: Tensor,
    /// `[1]` u32 `vocab - 1`.
    last_id: Tensor,
    /// `[1]` f32 zero and one.
    zero: Tensor,
    one: Tensor,
    /// `[1]` f32 scalars of the config.
    penalty: Tensor,
    temperature: Tensor,
    top_p: Tensor,
    /// How often each id was seen, `[vocab]` f32 (only with a repetition penalty).
    seen: Option<Tensor>,
    /// How many candidates the sampled path keeps.
    candidates: usize,
    /// The tournament's rounds before the last sort.
    rounds: Vec<Round>,
    /// Upper-triangular ones, `[candidates, candidates]` (cumulative sums as one product).
    triu: Option<Tensor>,
    /// How many tokens were sampled (the index of the next random draw).
    draws: u64,
}

impl DeviceSampler {
    /// A sampler for logits of `vocab` entries on `device`; `seen` are the prompt's ids (what the
    /// repetition penalty starts from; ids beyond the vocabulary are ignored, as the reference).
    pub fn new(cfg: &SamplingConfig, vocab: usize, seen: &[u32], device: &Device) -> Result<Self> {
        if vocab == 0 {
            return Err(EngineError::Invalid(
                "the model has an empty vocabulary: nothing to sample from".into(),
            ));
        }
        if !cfg.temperature.is_finite() || cfg.temperature < 0.0 {
            return Err(EngineError::Invalid(format!(
                "the temperature {} is not usable: give 0 (greedy) or a positive number such as 0.7",
                cfg.temperature
            )));
        }
        let scalar = |v: f32| Tensor::new(&[v], device);
        let iota = Tensor::arange(0u32, vocab as u32, device)?;
        let seen = if penalised(cfg) {
            let ids: Vec<u32> = seen
                .iter()
                .copied()
                .filter(|&i| (i as usize) < vocab)
                .collect();
            let counts = Tensor::zeros(vocab, DType::F32, device)?;
            Some(if ids.is_empty() {
                counts
            } else {
                let n = ids.len();
                counts.index_add(
                    &Tensor::from_vec(ids, n, device)?,
                    &Tensor::ones(n, DType::F32, device)?,
                    0,
                )?
            })
        } else {
            None
        };
        let candidates = cfg
            .top_k
            .filter(|&k| k > 0)
            .unwrap_or(MAX_CANDIDATES)
            .min(MAX_CANDIDATES)
            .min(vocab);
        let mut rounds = Vec::new();
        let mut n = vocab;
        while cfg.temperature > 0.0 && n > SORT_ROW {
            let rows = n.div_ceil(SORT_ROW);
            let missing = rows * SORT_ROW - n;
            let pad = if missing > 0 {
                Some((
                    Tensor::full(f32::NEG_INFINITY, missing, device)?,
                    Tensor::zeros(missing, DType::U32, device)?,
                ))
            } else {
                None
            };
            rounds.push(Round { rows, pad });
            n = rows * candidates;
        }
        // A top-p of 0 or below keeps the most likely token alone, as the reference does.
        let top_p = cfg
            .top_p
            .filter(|&p| p < 1.0)
            .map_or(1.0, |p| (p as f32).max(f32::MIN_POSITIVE));
        Ok(Self {
            cfg: cfg.clone(),
            vocab,
            beyond: Tensor::full(vocab as u32, vocab, device)?,
            iota,
            zero: scalar(0.0)?,
            one: scalar(1.0)?,
            penalty: scalar(cfg.repetition_penalty)?,
            temperature: scalar(cfg.temperature as f32)?,
            top_p: scalar(top_p)?,
            last_id: Tensor::new(&[vocab as u32 - 1], device)?,
            seen,
            candidates,
            rounds,
            triu: None,
            draws: 0,
        })
    }

    /// The next token's id, `[1]` u32 on the logits' device, given `logits` (`[vocab]`, any float
    /// dtype). Records the id as seen (for the penalty) on the device.
    pub fn sample(&mut self, logits: &Tensor) -> Result<Tensor> {
        let draw = self.draws;
        self.draws += 1;
        let l = logits.flatten_all()?.to_dtype(DType::F32)?;
        if l.dim(0)? != self.vocab {
            return Err(EngineError::Invalid(format!(
                "the sampler was made for {} logits but got {}",
                self.vocab,
                l.dim(0)?
            )));
        }
        let l = match &self.seen {
            Some(seen) => {
                let penalised = l.broadcast_gt(&self.zero)?.where_cond(
                    &l.broadcast_div(&self.penalty)?,
                    &l.broadcast_mul(&self.penalty)?,
                )?;
                seen.broadcast_gt(&self.zero)?.where_cond(&penalised, &l)?
            }
            None => l,
        };
        let id = if self.cfg.temperature <= 0.0 {
            self.first_argmax(&l)?
        } else {
            self.draw(&l, uniform(self.cfg.seed, draw))?
        };
        if let Some(seen) = &self.seen {
            // Clamped: NaN logits give `vocab` (refused by the caller), which must not index.
            let at = id.minimum(&self.last_id)?;
            self.seen = Some(seen.index_add(&at, &self.one, 0)?);
        }
        Ok(id)
    }

    /// The first index of the largest value, `[1]` u32. On the CPU candle's argmax is exactly that
    /// (one pass; NaN skipped as the reference skips it); elsewhere (CUDA's parallel argmax may
    /// return any of equal maxima) [`Self::first_argmax_masked`].
    fn first_argmax(&self, l: &Tensor) -> Result<Tensor> {
        if l.device().is_cpu() {
            return Ok(l.argmax_keepdim(0)?);
        }
        self.first_argmax_masked(l)
    }

    /// The first index of the largest value on any device: the minimum index among those equal
    /// to the maximum (`vocab` when none is: NaN logits).
    fn first_argmax_masked(&self, l: &Tensor) -> Result<Tensor> {
        let max = l.max_keepdim(0)?;
        let at_max = l.broadcast_eq(&max)?;
        Ok(at_max
            .where_cond(&self.iota, &self.beyond)?
            .min_keepdim(0)?)
    }

    /// The sampled id for the penalised logits `l` and the uniform number `r`.
    fn draw(&mut self, l: &Tensor, r: f64) -> Result<Tensor> {
        let z = l.broadcast_div(&self.temperature)?;
        let (cz, cidx) = self.top_candidates(&z)?;
        let max = cz.narrow(0, 0, 1)?;
        let e = cz.broadcast_sub(&max)?.exp()?;
        let total = if self.cfg.top_k.is_some_and(|k| k > 0) {
            e.sum_keepdim(0)?
        } else {
            z.broadcast_sub(&max)?.exp()?.sum_keepdim(0)?
        };
        let mut probs = e.broadcast_div(&total)?;
        if self.cfg.top_p.is_some_and(|p| p < 1.0) {
            let before = (self.cumsum(&probs)? - &probs)?;
            let keep = before.broadcast_lt(&self.top_p)?.to_dtype(DType::F32)?;
            let kept = (probs * keep)?;
            probs = kept.broadcast_div(&kept.sum_keepdim(0)?)?;
        }
        let cum = self.cumsum(&probs)?;
        // How many cumulative sums are <= r: the position of the first one above it.
        let below = cum
            .affine(1.0, -r)?
            .broadcast_le(&self.zero)?
            .to_dtype(DType::F32)?
            .sum_keepdim(0)?;
        // Never past the last token with a nonzero probability (f32 sums may stop short of 1).
        let last = probs
            .broadcast_gt(&self.zero)?
            .to_dtype(DType::F32)?
            .sum_keepdim(0)?
            .affine(1.0, -1.0)?;
        let pos = below.minimum(&last)?.to_dtype(DType::U32)?;
        Ok(cidx.index_select(&pos, 0)?)
    }

    /// Cumulative sums of `p` (`[candidates]`) as one product with the triangular matrix.
    fn cumsum(&mut self, p: &Tensor) -> Result<Tensor> {
        let triu = match &self.triu {
            Some(t) => t.clone(),
            None => {
                let t = Tensor::triu2(self.candidates, DType::F32, p.device())?;
                self.triu = Some(t.clone());
                t
            }
        };
        Ok(p.unsqueeze(0)?.matmul(&triu)?.squeeze(0)?)
    }

    /// The `candidates` largest values of `z` in descending order and their ids (ties by id on the
    /// CPU): sorts of rows of `SORT_ROW`, each row's best kept, until one row is left.
    fn top_candidates(&self, z: &Tensor) -> Result<(Tensor, Tensor)> {
        let c = self.candidates;
        let (mut vals, mut idx) = (z.clone(), self.iota.clone());
        for round in &self.rounds {
            if let Some((pv, pi)) = &round.pad {
                vals = Tensor::cat(&[&vals, pv], 0)?;
                idx = Tensor::cat(&[&idx, pi], 0)?;
            }
            let v2 = vals.reshape((round.rows, SORT_ROW))?;
            let best = v2.arg_sort_last_dim(false)?.narrow(1, 0, c)?.contiguous()?;
            vals = v2.gather(&best, 1)?.flatten_all()?;
            idx = idx
                .reshape((round.rows, SORT_ROW))?
                .gather(&best, 1)?
                .flatten_all()?;
        }
        let best = vals.arg_sort_last_dim(false)?.narrow(0, 0, c)?;
        Ok((vals.index_select(&best, 0)?, idx.index_select(&best, 0)?))
    }
}

/// Whether the config's repetition penalty changes anything (as the reference decides).
fn penalised(cfg: &SamplingConfig) -> bool {
    cfg.repetition_penalty != 1.0 && cfg.repetition_penalty > 0.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::sampling::Sampler;
    use tunesmith_vocab::SplitMix64;

    /// Logits like a language model's: about 40 strong candidates (6 to 12) over a long weak tail
    /// (-2 to -1), so that top-p nuclei hold a few dozen tokens whatever the vocabulary.
    fn logits(seed: u64, vocab: usize) -> Vec<f32> {
        let mut rng = SplitMix64::new(seed);
        (0..vocab)
            .map(|_| {
                let strong = rng.next_f64() < 40.0 / vocab as f64;
                let u = rng.next_f64();
                (if strong { 6.0 + 6.0 * u } else { -2.0 + u }) as f32
            })
            .collect()
    }

    /// The ids the host reference and the device sampler pick over `steps` tokens.
    fn both(cfg: &SamplingConfig, vocab: usize, steps: usize) -> Result<(Vec<u32>, Vec<u32>)> {
        let dev = Device::Cpu;
        let prompt = [3u32, 5, 5, 7];
        let mut host = Sampler::new(cfg.clone());
        let mut device = DeviceSampler::new(cfg, vocab, &prompt, &dev)?;
        let mut seen = prompt.to_vec();
        let (mut h, mut d) = (Vec::new(), Vec::new());
        for step in 0..steps {
            let l = logits(step as u64 * 31 + 7, vocab);
            let hid = host.sample(&mut l.clone(), &seen);
            let did = device
                .sample(&Tensor::new(l.as_slice(), &dev)?)?
                .to_vec1::<u32>()?[0];
            seen.push(hid);
            h.push(hid);
            d.push(did);
        }
        Ok((h, d))
    }

    #[test]
    fn greedy_picks_what_the_host_picks_with_and_without_a_penalty() -> Result<()> {
        for penalty in [1.0, 1.3] {
            let cfg = SamplingConfig {
                repetition_penalty: penalty,
                ..Default::default()
            };
            let (h, d) = both(&cfg, 5000, 12)?;
            assert_eq!(h, d, "penalty {penalty}");
        }
        Ok(())
    }

    #[test]
    fn greedy_breaks_ties_by_the_lowest_index_as_the_host() -> Result<()> {
        let dev = Device::Cpu;
        let l = [0.5f32, 2.0, -1.0, 2.0, 2.0];
        let mut s = DeviceSampler::new(&SamplingConfig::default(), 5, &[], &dev)?;
        assert_eq!(s.sample(&Tensor::new(&l, &dev)?)?.to_vec1::<u32>()?, [1]);
        assert_eq!(super::super::sampling::argmax(&l), 1);
        Ok(())
    }

    #[test]
    fn the_masked_argmax_of_the_gpu_path_is_the_hosts_argmax() -> Result<()> {
        let dev = Device::Cpu;
        let s = DeviceSampler::new(&SamplingConfig::default(), 5000, &[], &dev)?;
        for seed in 0..20 {
            let mut l = logits(seed, 5000);
            // An exact tie for the maximum in some cases, the later index first in memory order of
            // a parallel reduction's threads.
            if seed % 2 == 0 {
                l[4000] = 50.0;
                l[17] = 50.0;
            }
            let want = super::super::sampling::argmax(&l);
            let t = Tensor::new(l.as_slice(), &dev)?;
            assert_eq!(s.first_argmax_masked(&t)?.to_vec1::<u32>()?, [want]);
            assert_eq!(s.first_argmax(&t)?.to_vec1::<u32>()?, [want]);
        }
        Ok(())
    }

    #[test]
    fn sampling_picks_what_the_host_picks_for_the_same_seed() -> Result<()> {
        // Vocabularies below one sort row and across several rounds of the tournament (49,152:
        // SmolLM2's), top-k below and at the cap, top-p nuclei inside the cap, penalties.
        let cases = [
            (300, 1.0, None, None, 1.0),
            (300, 0.7, Some(20), Some(0.9), 1.2),
            (49_152, 1.0, Some(50), Some(0.95), 1.1),
            (49_152, 0.8, Some(1024), None, 1.0),
            (49_152, 1.0, None, Some(0.8), 1.0),
            (20_000, 1.5, Some(3), None, 1.0),
            (9000, 1.0, None, Some(0.0), 1.0),
        ];
        for (n, (vocab, t, k, p, pen)) in cases.into_iter().enumerate() {
            let cfg = SamplingConfig {
                temperature: t,
                top_k: k,
                top_p: p,
                repetition_penalty: pen,
                seed: 100 + n as u64,
            };
            let (h, d) = both(&cfg, vocab, 24)?;
            assert_eq!(h, d, "case {n}: {cfg:?}");
            let distinct: std::collections::HashSet<_> = d.iter().collect();
            if k != Some(3) && p != Some(0.0) {
                assert!(distinct.len() > 3, "case {n} really samples: {d:?}");
            }
        }
        Ok(())
    }

    #[test]
    fn the_tournament_finds_the_same_candidates_as_one_full_sort() -> Result<()> {
        let dev = Device::Cpu;
        let vocab = 3 * SORT_ROW + 17;
        let mut l = logits(9, vocab);
        // Exact ties across rows: the lower id must come first.
        l[5] = 100.0;
        l[SORT_ROW + 1] = 100.0;
        let cfg = SamplingConfig {
            temperature: 1.0,
            top_k: Some(300),
            ..Default::default()
        };
        let s = DeviceSampler::new(&cfg, vocab, &[], &dev)?;
        assert!(!s.rounds.is_empty());
        let (vals, ids) = s.top_candidates(&Tensor::new(l.as_slice(), &dev)?)?;
        let mut order: Vec<usize> = (0..vocab).collect();
        order.sort_by(|&a, &b| l[b].total_cmp(&l[a]).then(a.cmp(&b)));
        let want: Vec<u32> = order[..300].iter().map(|&i| i as u32).collect();
        assert_eq!(ids.to_vec1::<u32>()?, want);
        assert_eq!(ids.to_vec1::<u32>()?[..2], [5, SORT_ROW as u32 + 1]);
        let want_vals: Vec<f32> = order[..300].iter().map(|&i| l[i]).collect();
        assert_eq!(vals.to_vec1::<f32>()?, want_vals);
        Ok(())
    }

    #[test]
    fn beyond_the_candidate_cap_the_device_never_draws_the_tail() -> Result<()> {
        // A flat distribution over 5,000 tokens at a high temperature: the reference draws from all
        // of them, the device only from the 1,024 most likely (the stated difference).
        let dev = Device::Cpu;
        let vocab = 5000;
        let l: Vec<f32> = (0..vocab).map(|i| -(i as f32) * 1e-4).collect();
        let cfg = SamplingConfig {
            temperature: 2.0,
            seed: 1,
            ..Default::default()
        };
        let mut s = DeviceSampler::new(&cfg, vocab, &[], &dev)?;
        let mut host = Sampler::new(cfg);
        let (mut host_tail, mut device_tail) = (0, 0);
        for _ in 0..64 {
            let d = s
                .sample(&Tensor::new(l.as_slice(), &dev)?)?
                .to_vec1::<u32>()?[0];
            let h = host.sample(&mut l.clone(), &[]);
            device_tail += usize::from(d as usize >= MAX_CANDIDATES);
            host_tail += usize::from(h as usize >= MAX_CANDIDATES);
        }
        assert_eq!(device_tail, 0);
        assert!(host_tail > 0);
        Ok(())
    }

    #[test]
    fn bf16_logits_are_sampled_as_their_f32_values() -> Result<()> {
        let dev = Device::Cpu;
        let l = logits(4, 700);
        let half = Tensor::new(l.as_slice(), &dev)?.to_dtype(DType::BF16)?;
        let widened = half.to_dtype(DType::F32)?;
        let cfg = SamplingConfig {
            temperature: 0.9,
            top_k: Some(40),
            seed: 5,
            ..Default::default()
        };
        let mut a = DeviceSampler::new(&cfg, 700, &[], &dev)?;
        let mut b = DeviceSampler::new(&cfg, 700, &[], &dev)?;
        for _ in 0..8 {
            assert_eq!(
                a.sample(&half)?.to_vec1::<u32>()?,
                b.sample(&widened)?.to_vec1::<u32>()?
            );
        }
        Ok(())
    }

    #[test]
    fn nan_logits_give_the_hosts_id_on_the_cpu_and_an_id_beyond_the_vocabulary_elsewhere(
    ) -> Result<()> {
        let dev = Device::Cpu;
        let nan = [f32::NAN, f32::NAN, f32::NAN];
        let mut s = DeviceSampler::new(&SamplingConfig::default(), 3, &[], &dev)?;
        let t = Tensor::new(&nan, &dev)?;
        // The host reference skips NaN (index 0 when all are NaN); the GPU path's masked argmax
        // finds no maximum and says so with `vocab`, which the decoding loop refuses.
        assert_eq!(
            s.sample(&t)?.to_vec1::<u32>()?,
            [super::super::sampling::argmax(&nan)]
        );
        assert_eq!(s.first_argmax_masked(&t)?.to_vec1::<u32>()?, [3]);
        Ok(())
    }

    #[test]
    fn a_wrong_logit_count_or_temperature_is_refused_with_a_reason() -> Result<()> {
        let dev = Device::Cpu;
        let mut s = DeviceSampler::new(&SamplingConfig::default(), 4, &[], &dev)?;
        let err = s.sample(&Tensor::zeros(5, DType::F32, &dev)?).unwrap_err();
        assert!(err.to_string().contains("made for 4 logits"), "{err}");
        let bad = SamplingConfig {
            temperature: f64::NAN,
            ..Default::default()
        };
        assert!(DeviceSampler::new(&bad, 4, &[], &dev).is_err());
        Ok(())
    }
}
