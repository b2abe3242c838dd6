//! Text generation: a KV-cached decoding loop with greedy or seeded sampling, stop tokens, streamed
//! text deltas and cancellation.
//!
//! - `kv_cache`: the per-layer key/value cache, preallocated and written in place.
//! - `decode_attention`: one new query against the cached keys (the per-token attention).
//! - `sampling`: greedy, temperature, top-k, top-p, repetition penalty, seeded (the host reference).
//! - `device_sampling`: the same choice on the model's device (what the loop runs).
//!
//! Per token, the host sends nothing to the device (the sampled id tensor is the next input) and
//! reads back one `u32`, the sampled id: the logits, the cache and the sampler's state stay on the
//! device.
//!
//! [`generate`] promises: the prompt is processed once, then one token per step; it stops at any of
//! the stop ids (EOS and the chat template's end-of-turn tokens; the stop token is not part of the
//! answer), at `max_new_tokens`, at the model's context length, or when the [`CancelHandle`] is
//! cancelled (checked before every step); each step's new text is passed to `on_delta` as soon as it
//! is complete UTF-8 (a character split over two tokens waits for the second).

pub mod decode_attention;
pub mod device_sampling;
pub mod kv_cache;
pub mod sampling;

use std::time::Instant;

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};
use tokenizers::Tokenizer;

pub use device_sampling::DeviceSampler;
pub use kv_cache::KvCache;
pub use sampling::{Sampler, SamplingConfig};

use crate::{EngineError, Result};

/// A model that can continue a sequence one step at a time.
pub trait CausalLm {
    /// A fresh, empty cache.
    fn new_cache(&self) -> KvCache;
    /// Appends `ids` (`[1, seq]`) to the cached sequence; returns the last position's logits `[vocab]`.
    fn forward_cached(&self, ids: &Tensor, cache: &mut KvCache) -> Result<Tensor>;
    /// The longest sequence the model handles.
    fn max_positions(&self) -> usize;
    /// The device inputs go to.
    fn device(&self) -> &Device;
}

impl CausalLm for crate::models::llama::LlamaModel {
    fn new_cache(&self) -> KvCache {
        crate::models::llama::LlamaModel::new_cache(self)
    }
    fn forward_cached(&self, ids: &Tensor, cache: &mut KvCache) -> Result<Tensor> {
        crate::models::llama::LlamaModel::forward_cached(self, ids, cache)
    }
    fn max_positions(&self) -> usize {
        self.config().max_position_embeddings
    }
    fn device(&self) -> &Device {
        crate::models::llama::LlamaModel::device(self)
    }
}

/// What to generate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerateConfig {
    /// The most tokens to produce.
    pub max_new_tokens: usize,
    /// How each token is chosen.
    pub sampling: SamplingConfig,
    /// Token ids that end the answer (EOS, end-of-turn).
    pub stop_ids: Vec<u32>,
}

impl Default for GenerateConfig {
    fn default() -> Self {
        Self {
            max_new_tokens: 256,
            sampling: SamplingConfig::default(),
            stop_ids: Vec::new(),
        }
    }
}

/// Why generation ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case", tag = "reason", content = "token")]
pub enum StopReason {
    /// A stop token was produced (its id).
    StopToken(u32),
    /// `max_new_tokens` was reached.
    MaxTokens,
    /// The model's context length was reached.
    ContextFull,
    /// The caller cancelled.
    Cancelled,
}

/// The result of [`generate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Generated {
    /// The generated ids (without the stop token).
    pub tokens: Vec<u32>,
    /// Their text (special tokens skipped).
    pub text: String,
    /// Why it ended.
    pub stop: StopReason,
    /// Prompt length in tokens.
    pub prompt_tokens: usize,
    /// Seconds spent on the prompt.
    pub prompt_seconds: f64,
    /// Seconds spent producing the answer's tokens.
    pub generation_seconds: f64,
}

impl Generated {
    /// Answer tokens per second (0 when nothing was generated).
    pub fn tokens_per_second(&self) -> f64 {
        if self.generation_seconds > 0.0 {
            self.tokens.len() as f64 / self.generation_seconds
        } else {
            0.0
        }
    }
}

pub use tunesmith_vocab::CancelHandle;

/// Continues `prompt` (token ids) with `model`, streaming text pieces to `on_delta`. On a GPU the
/// next step is queued before the sampled id is read back ([`generate_with_lookahead`]); on the CPU,
/// where nothing runs ahead, it is not.
pub fn generate(
    model: &dyn CausalLm,
    tokenizer: &Tokenizer,
    prompt: &[u32],
    cfg: &GenerateConfig,
    cancel: Option<&CancelHandle>,
    on_delta: &mut dyn FnMut(&str),
) -> Result<Generated> {
    let lookahead = !model.device().is_cpu();
    generate_with_lookahead(model, tokenizer, prompt, cfg, cancel, on_delta, lookahead)
}

/// [`generate`], choosing whether to look ahead: with `lookahead`, the forward pass of the sampled
/// token is queued on the device before that token's id is read back to the host, so the device
/// computes while the host waits for the id, decodes its text and checks for a stop (the one read
/// per token is then the only wait). A token that ends the answer wastes that one queued step,
/// never its result: the answer, its stop reason and its deltas are the same either way.
pub fn generate_with_lookahead(
    model: &dyn CausalLm,
    tokenizer: &Tokenizer,
    prompt: &[u32],
    cfg: &GenerateConfig,
    cancel: Option<&CancelHandle>,
    on_delta: &mut dyn FnMut(&str),
    lookahead: bool,
) -> Result<Generated> {
    if prompt.is_empty() {
        return Err(EngineError::Invalid(
            "the prompt is empty: give the model some text to continue".into(),
        ));
    }
    let max_positions = model.max_positions();
    if prompt.len() >= max_positions {
        return Err(EngineError::Invalid(format!(
            "the prompt is {} tokens, but the model reads at most {max_positions}; shorten it",
            prompt.len(),
        )));
    }
    let cancelled = || cancel.is_some_and(|c| c.is_cancelled());
    let device = model.device().clone();
    let mut cache = model.new_cache();
    cache.reserve(
        prompt
            .len()
            .saturating_add(cfg.max_new_tokens)
            .min(max_positions),
    );
    let mut tokens: Vec<u32> = Vec::new();
    let mut emitted = String::new();
    let decode = |ids: &[u32]| {
        tokenizer
            .decode(ids, true)
            .map_err(|e| EngineError::Invalid(format!("cannot decode tokens: {e}")))
    };

    let start = Instant::now();
    if cancelled() {
        return Ok(Generated {
            tokens,
            text: emitted,
            stop: StopReason::Cancelled,
            prompt_tokens: prompt.len(),
            prompt_seconds: 0.0,
            generation_seconds: 0.0,
        });
    }
    let input = Tensor::new(prompt, &device)?.unsqueeze(0)?;
    let logits = model.forward_cached(&input, &mut cache)?;
    let vocab = logits.elem_count();
    let mut sampler = DeviceSampler::new(&cfg.sampling, vocab, prompt, &device)?;
    // The prompt's time is the prompt's, not the first token's: wait for the device here, once.
    device.synchronize()?;
    let prompt_seconds = start.elapsed().as_secs_f64();
    let gen_start = Instant::now();
    // The sampled id stays on the device; it is the next step's input as it is.
    let mut next_id = sampler.sample(&logits)?;
    let stop = loop {
        // Whether a step will follow this token if it does not end the answer (the checks below).
        let room = tokens.len() + 1 < cfg.max_new_tokens && cache.len() + 1 < max_positions;
        let ahead = if lookahead && room && !cancelled() {
            Some(model.forward_cached(&next_id.reshape((1, 1))?, &mut cache)?)
        } else {
            None
        };
        let next = next_id.to_vec1::<u32>()?[0];
        if next as usize >= vocab {
            return Err(EngineError::Invalid(format!(
                "the model's scores for token {} are not numbers (NaN): the weights or the run \
                 are broken; try the f32 precision or another checkpoint",
                tokens.len() + 1
            )));
        }
        if cfg.stop_ids.contains(&next) {
            break StopReason::StopToken(next);
        }
        tokens.push(next);
        let text = decode(&tokens)?;
        if !text.ends_with('\u{FFFD}') && text.len() > emitted.len() && text.starts_with(&emitted) {
            on_delta(&text[emitted.len()..]);
            emitted = text;
        }
        if tokens.len() >= cfg.max_new_tokens {
            break StopReason::MaxTokens;
        }
        let cached = cache.len() - usize::from(ahead.is_some());
        if cached + 1 >= max_positions {
            break StopReason::ContextFull;
        }
        if cancelled() {
            break StopReason::Cancelled;
        }
        let logits = match ahead {
            Some(logits) => logits,
            None => model.forward_cached(&next_id.reshape((1, 1))?, &mut cache)?,
        };
        next_id = sampler.sample(&logits)?;
    };
    let text = decode(&tokens)?;
    if text.len() > emitted.len() && text.starts_with(&emitted) {
        on_delta(&text[emitted.len()..]);
    }
    Ok(Generated {
        tokens,
        text,
        stop,
        prompt_tokens: prompt.len(),
        prompt_seconds,
        generation_seconds: gen_start.elapsed().as_secs_f64(),
    })
}
