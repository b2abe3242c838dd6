//! The memory estimate before training: peak memory broken down into weights, trainable
//! parameters, gradients, optimiser state, activations and overhead, for a model, a method, a batch
//! size and a maximum length; a verdict against the device's free memory; and a suggestion (a
//! smaller batch, a lighter method, shorter texts) when it does not fit.
//!
//! The breakdown is analytic (counted from the model's shapes and the engine's training layout:
//! f32 weights, AdamW with two moments, an attention op that keeps no score matrix), with or
//! without activation checkpointing ([`Checkpointing`]: each transformer block recomputed in the
//! backward, so only its input is kept per layer). [`estimate_with`] can choose checkpointing by
//! itself, when a run would not fit without it. The constants that are assumptions rather than
//! counts are listed in [`Estimate::assumptions`]. The time estimate needs a measured calibration of the engine's
//! training step on this machine ([`StepTiming`], measured by the application, which knows the
//! engine); without one, [`TimeEstimate`] says so instead of inventing a number.

use serde::{Deserialize, Serialize};

use crate::config::ModelConfig;
use crate::gguf::GgufHeader;
use crate::support::Family;
use crate::{HubError, Result};

const F32: u64 = 4;
const MIB: u64 = 1024 * 1024;

pub use tunesmith_vocab::Method;

/// The sizes of a model that memory depends on.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ModelShape {
    /// Encoder or decoder.
    pub family: Family,
    /// Parameters (counted from the weights when available).
    pub parameters: u64,
    /// Hidden width.
    pub hidden: u64,
    /// Layers.
    pub layers: u64,
    /// Attention heads.
    pub heads: u64,
    /// Key/value heads.
    pub kv_heads: u64,
    /// Feed-forward width.
    pub intermediate: u64,
    /// Vocabulary size.
    pub vocab: u64,
    /// Context length.
    pub context_length: Option<u64>,
    /// Size of a GGUF file, which the engine reads and dequantises to f32 while loading (`None`
    /// for safetensors folders and for models not on disk).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_bytes: Option<u64>,
}

impl ModelShape {
    /// From a `config.json`; `parameters` from the weight headers when known.
    pub fn from_config(cfg: &ModelConfig, family: Family, parameters: Option<u64>) -> Result<Self> {
        let need = |v: Option<u64>, name: &str| {
            v.ok_or_else(|| {
                HubError::invalid(
                    "config.json",
                    format!("has no {name}, which the memory estimate needs"),
                )
            })
        };
        let hidden = need(cfg.hidden_size, "hidden_size")?;
        let layers = need(cfg.num_hidden_layers, "num_hidden_layers")?;
        let heads = need(cfg.num_attention_heads, "num_attention_heads")?;
        let intermediate = cfg.intermediate_size.unwrap_or(4 * hidden);
        let vocab = need(cfg.vocab_size, "vocab_size")?;
        let mut shape = ModelShape {
            family,
            parameters: 0,
            hidden,
            layers,
            heads,
            kv_heads: cfg.num_key_value_heads.unwrap_or(heads),
            intermediate,
            vocab,
            context_length: cfg.max_position_embeddings,
            file_bytes: None,
        };
        shape.parameters = parameters
            .unwrap_or_else(|| shape.analytic_parameters(cfg.tie_word_embeddings.unwrap_or(true)));
        Ok(shape)
    }

    /// From a GGUF header (decoders).
    pub fn from_gguf(h: &GgufHeader) -> Result<Self> {
        let need = |key: &str| {
            h.arch_int(key).ok_or_else(|| {
                HubError::invalid(
                    "GGUF metadata",
                    format!("has no <arch>.{key}, which the memory estimate needs"),
                )
            })
        };
        let hidden = need("embedding_length")?;
        let heads = need("attention.head_count")?;
        Ok(ModelShape {
            family: Family::Decoder,
            parameters: h.parameters(),
            hidden,
            layers: need("block_count")?,
            heads,
            kv_heads: h.arch_int("attention.head_count_kv").unwrap_or(heads),
            intermediate: need("feed_forward_length")?,
            vocab: match h.metadata.get("tokenizer.ggml.tokens") {
                Some(crate::gguf::MetaValue::Array(n)) => *n,
                _ => h.arch_int("vocab_size").unwrap_or(32_000),
            },
            context_length: h.arch_int("context_length"),
            file_bytes: None,
        })
    }

    fn kv_dim(&self) -> u64 {
        self.hidden / self.heads.max(1) * self.kv_heads
    }

    /// Parameters of the linear layers inside the transformer blocks (what QLoRA quantises).
    pub fn block_linear_parameters(&self) -> u64 {
        let attention = 2 * self.hidden * self.hidden + 2 * self.hidden * self.kv_dim();
        let mlp = match self.family {
            Family::Encoder => 2 * self.hidden * self.intermediate,
            Family::Decoder => 3 * self.hidden * self.intermediate,
        };
        self.layers * (attention + mlp)
    }

    fn analytic_parameters(&self, tied: bool) -> u64 {
        let embeddings = self.vocab * self.hidden
            + self.context_length.unwrap_or(0)
                * self.hidden
                * u64::from(self.family == Family::Encoder);
        let head = if self.family == Family::Decoder && !tied {
            self.vocab * self.hidden
        } else {
            0
        };
        embeddings + self.block_linear_parameters() + head
    }

    /// The block's linear layers as (input, output) widths: what LoRA adapts (the engine's default
    /// targets every linear layer of a block, as PEFT's `all-linear`).
    fn block_linears(&self) -> Vec<(u64, u64)> {
        let (h, i, kv) = (self.hidden, self.intermediate, self.kv_dim());
        match self.family {
            Family::Encoder => vec![(h, h), (h, h), (h, h), (h, h), (h, i), (i, h)],
            Family::Decoder => vec![(h, h), (h, kv), (h, kv), (h, h), (h, i), (h, i), (i, h)],
        }
    }

    /// Sum of the block linears' input and output widths (LoRA's activations scale with it).
    fn block_linear_widths(&self) -> u64 {
        self.block_linears().iter().map(|(a, b)| a + b).sum()
    }

    /// LoRA parameters of rank `r` on every linear layer of every block (the engine's default).
    pub fn lora_parameters(&self, r: u64) -> u64 {
        self.layers * r * self.block_linear_widths()
    }

    /// Bytes of the frozen base quantised as the engine's 4-bit policy does: Q4_K (4.5 bits per
    /// weight) where a matrix's rows are a multiple of 256 wide, Q8_0 (8.5 bits) elsewhere; the
    /// embedding too; norms and biases stay f32.
    // `is_multiple_of` is newer than the workspace's minimum Rust version.
    #[allow(clippy::manual_is_multiple_of)]
    fn quantised_base_bytes(&self) -> u64 {
        let q = |inp: u64, out: u64| -> f64 {
            let per = if inp % 256 == 0 {
                144.0 / 256.0
            } else {
                34.0 / 32.0
            };
            (inp * out) as f64 * per
        };
        let blocks: f64 = self
            .block_linears()
            .iter()
            .map(|&(a, b)| q(a, b))
            .sum::<f64>()
            * self.layers as f64;
        let embedding = q(self.hidden, self.vocab);
        let quantised = self.layers * self.block_linears().iter().map(|(a, b)| a * b).sum::<u64>()
            + self.vocab * self.hidden;
        let rest = self.parameters.saturating_sub(quantised) * F32;
        (blocks + embedding) as u64 + rest
    }
}

/// What is being estimated.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct EstimateRequest {
    /// The method.
    pub method: Method,
    /// Sequences per step.
    pub batch: u64,
    /// Tokens per sequence.
    pub max_len: u64,
    /// LoRA rank.
    pub lora_rank: u64,
    /// Classes of a classification head (encoders).
    pub num_labels: u64,
}

/// Activation checkpointing, as asked: recompute each transformer block in the backward pass and
/// keep only its input (far less memory, about a third more time per step).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Checkpointing {
    /// Keep every block's activations (the fastest step).
    #[default]
    Off,
    /// Always recompute.
    On,
    /// Recompute only when the run would not fit (or would be tight) otherwise and recomputing
    /// makes it fit better; off when free memory is unknown.
    Auto,
}

/// Peak memory, by part, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Breakdown {
    /// The model's weights as loaded (f32; the quantised part for QLoRA).
    pub weights: u64,
    /// Trainable tensors beyond the weights (LoRA adapters, the head); 0 for full fine-tuning,
    /// whose trainable parameters are the weights.
    pub trainable_parameters: u64,
    /// One gradient per trainable parameter.
    pub gradients: u64,
    /// AdamW's two moments per trainable parameter.
    pub optimizer_state: u64,
    /// Activations kept for the backward pass (and the logits of a decoder).
    pub activations: u64,
    /// The runtime, tokenizer and allocator slack.
    pub overhead: u64,
    /// The sum.
    pub total: u64,
}

/// fits / tight / does_not_fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
// The app's TypeScript already has a `Verdict`; the container name never reaches the JSON.
#[cfg_attr(feature = "specta", serde(rename = "MemoryVerdict"))]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Under 80 % of free memory.
    Fits,
    /// Between 80 % and 100 %: it may work if nothing else grows.
    Tight,
    /// Over the free memory.
    DoesNotFit,
}

/// The time estimate, or why there is none yet.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct TimeEstimate {
    /// Whether a measured calibration on this machine backs the numbers.
    pub calibrated: bool,
    /// Seconds per optimiser step, measured.
    pub seconds_per_step: Option<f64>,
    /// Optimiser steps of the whole run, when the data size is known.
    pub steps: Option<u64>,
    /// Epochs counted in `steps`.
    pub epochs: Option<u64>,
    /// One-off seconds before the first step (feature extraction computes every row's features
    /// once), when the data size is known.
    pub setup_seconds: Option<f64>,
    /// The whole run: `setup_seconds + steps x seconds_per_step`, when the data size is known.
    pub total_seconds: Option<f64>,
    /// Whether the calibration was reused from an earlier measurement rather than timed now.
    pub cached: bool,
    /// What the estimate rests on, or why it is missing.
    pub note: String,
}

/// A measured calibration: the engine's training step timed on this machine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepTiming {
    /// Median seconds per optimiser step, after the warm-up.
    pub seconds_per_step: f64,
    /// Seconds per row of the one-off work before training (0 when there is none).
    pub setup_seconds_per_row: f64,
    /// Steps timed (after the warm-up).
    pub timed_steps: u32,
}

/// How much data the run trains on, for counting its steps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunSize {
    /// Training rows (after the validation and test split).
    pub train_rows: u64,
    /// Rows the one-off setup touches (training plus validation rows for feature extraction).
    pub setup_rows: u64,
    /// Passes over the training rows.
    pub epochs: u64,
}

impl TimeEstimate {
    /// No time estimate, and why (`note`).
    pub fn not_calibrated(note: impl Into<String>) -> Self {
        TimeEstimate {
            calibrated: false,
            seconds_per_step: None,
            steps: None,
            epochs: None,
            setup_seconds: None,
            total_seconds: None,
            cached: false,
            note: note.into(),
        }
    }

    /// The time of a run of `size` (when known) in batches of `batch`, from `timing`.
    pub fn from_timing(
        timing: &StepTiming,
        batch: u64,
        size: Option<RunSize>,
        cached: bool,
    ) -> Self {
        let how = format!(
            "median of {} training steps of the engine timed on this machine{}",
            timing.timed_steps,
            if cached {
                " (an earlier calibration with the same settings)"
            } else {
                ""
            }
        );
        let Some(size) = size else {
            return TimeEstimate {
                calibrated: true,
                seconds_per_step: Some(timing.seconds_per_step),
                steps: None,
                epochs: None,
                setup_seconds: None,
                total_seconds: None,
                cached,
                note: format!("{how}; give the data (--data FILE, or --rows and --epochs) for the run's total"),
            };
        };
        let steps = size.train_rows.div_ceil(batch.max(1)).max(1) * size.epochs.max(1);
        let setup = timing.setup_seconds_per_row * size.setup_rows as f64;
        TimeEstimate {
            calibrated: true,
            seconds_per_step: Some(timing.seconds_per_step),
            steps: Some(steps),
            epochs: Some(size.epochs),
            setup_seconds: Some(setup),
            total_seconds: Some(setup + steps as f64 * timing.seconds_per_step),
            cached,
            note: format!("{how}; validation passes are not counted"),
        }
    }
}

/// The estimate.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Estimate {
    /// The model's shape.
    pub shape: ModelShape,
    /// What was asked.
    pub request: EstimateRequest,
    /// Trainable parameters, counted.
    pub trainable_parameter_count: u64,
    /// Peak memory by part.
    pub breakdown: Breakdown,
    /// The device's free memory, when it can be read.
    pub free_memory: Option<u64>,
    /// The verdict, when free memory is known.
    pub verdict: Option<Verdict>,
    /// What to change when it does not fit (or is tight).
    pub suggestion: Option<String>,
    /// The time estimate.
    pub time: TimeEstimate,
    /// The constants that are assumptions, not counts.
    pub assumptions: Vec<String>,
    /// The checkpointing setting asked for.
    pub checkpointing: Checkpointing,
    /// Whether the breakdown, verdict and suggestion assume activation checkpointing (with
    /// [`Checkpointing::Auto`]: whether it was turned on because the run would not fit otherwise).
    pub activation_checkpointing: bool,
    /// The peak total without activation checkpointing, bytes.
    pub total_without_checkpointing: u64,
    /// The peak total with activation checkpointing, bytes.
    pub total_with_checkpointing: u64,
}

// The constants below are counts of what the engine keeps alive, fitted to the measured peak
// resident memory of `tunesmith train` runs (all-MiniLM-L6-v2 full/lora/features at 16x64 and 4x128
// tokens, SmolLM2-135M full/lora/qlora at 2x64 and 1x128; tests/estimate_peaks.rs and
// bench/README.md). They are per token and layer, in f32 values, so they scale with the model's
// shape; a change of the engine's ops moves them, and that test says so.
//
// Re-fitted 2026-12-04 to the lean training step (frozen weights get no gradient, `nn/frozen.rs`;
// the output head and the loss are one op holding the logits once, `train/loss.rs`; norms,
// SiLU-gate and GELU are fused ops keeping one output each, `nn/fused.rs`): each earlier measured
// peak moved by what the engine benchmark measured the same configuration to drop (bench/README.md,
// "lean training step"), and the hidden/intermediate/LoRA counts re-solved on those six points
// (all within 9 %). Re-fitted again the same day to the memory-efficient attention op
// (`nn/attention.rs`): it keeps q, k, v, the output and one number per row, never a (length x
// length) score matrix, so nothing is counted per score any more (its per-block scratch is
// transient); the encoder's per-hidden count absorbs what the op keeps, fitted on
// tests/estimate_peaks.rs's measured peaks (MiniLM 16x64 full 1132 MB, LoRA 1236, features 213).
//
// Re-fitted for LoRA and QLoRA the same evening to the fused LoRA layer and the fused head
// split-and-rotate (and LoRA gradients that no longer carry a graph keeping every layer's `dY`
// alive): `bench/attention_step.rs` measured SmolLM2-135M LoRA 8x512 at 6618 MiB (11,215 values
// per token and layer beyond the weights and the logits; the estimate says 6785) and 1727 MiB
// with activation checkpointing (estimate 1809); `bench/train_step.rs`, before -> after the same
// change: MiniLM LoRA 16x64 1240 -> 520 MiB, SmolLM2 LoRA 2x64 1549 -> 759, QLoRA 1271 -> 673
// (full fine-tuning unchanged, 882 -> 884). The LoRA counts were solved on those points moved by
// the same drops (bench/README.md, "The 8x512 peak explained and cut"); the full fine-tuning and
// feature extraction counts are unchanged.

/// The process itself: the binary, the tokenizer, the run history, the data.
const RUNTIME_BYTES: u64 = 40 * MIB;
/// Values kept per token and layer for the backward pass, per hidden unit (residual stream,
/// projections, fused norms' outputs, dropout masks and their retained gradients).
///
/// The encoder's count re-fitted 2026-12-04 22:05 (27, was 50): it had been solved on a MiniLM
/// 16x64 full peak of 1132 MB measured before the engine's later changes; `tunesmith train`
/// measures 865 MB for it now (tests/estimate_peaks.rs; `bench/train_step.rs` had 884 MiB), which
/// the old count overestimated by 29 %. 27 puts the estimate 4 % above that peak.
const ACT_PER_HIDDEN: [u64; 2] = [27, 30]; // [encoder, decoder]
/// ... per intermediate (MLP) unit.
const ACT_PER_INTERMEDIATE: [u64; 2] = [4, 13];
/// ... per head and key position: none, the attention op recomputes its scores in the backward.
const ACT_PER_SCORE: u64 = 0;
/// Under LoRA and QLoRA, values kept per token and layer per hidden unit and per intermediate
/// unit instead: each adapted layer is one op (`nn/lora_linear.rs`) keeping its input and the
/// rank-r projection (no dropout mask, dropped input, update, scaled update and base output), and
/// a decoder's queries and keys are split and rotated by one op (`nn/rope.rs`).
///
/// The encoder's count re-fitted 2026-12-05 (13, was 21): since the dropout op keeps no mask
/// (`nn/dropout.rs`: the backward redraws it from its key), BERT's hidden-state dropouts keep
/// nothing of their own, and `tunesmith train` measures MiniLM LoRA 16x64 at 403 MB (was 480);
/// 13 puts the estimate 15 % above it, about where it was (+13 %).
const ACT_LORA_PER_HIDDEN: [u64; 2] = [13, 12]; // [encoder, decoder]
const ACT_LORA_PER_INTERMEDIATE: [u64; 2] = [3, 3];
/// Values kept per token and layer under activation checkpointing, per hidden unit: the block's
/// input (its output is the next block's input), nothing else until the block is recomputed.
const CKPT_PER_HIDDEN: u64 = 1;
/// Copies of the logits a decoder's loss keeps: one (the fused head-and-loss op turns it into its
/// own gradient in place).
const LOGIT_COPIES: u64 = 1;
/// QLoRA's output head is quantised; the fused loss dequantises it for the step: one f32 copy.
const QUANTISED_HEAD_COPIES: u64 = 1;
/// Feature extraction computes features (and evaluation runs) in batches of this many rows.
const EVAL_BATCH: u64 = 32;
/// Values alive per token during an inference forward pass, per hidden unit and per head x key.
const INFER_PER_HIDDEN: u64 = 8;
const INFER_PER_SCORE: u64 = 0;

fn family_index(f: Family) -> usize {
    match f {
        Family::Encoder => 0,
        Family::Decoder => 1,
    }
}

fn trainable_count(shape: &ModelShape, req: &EstimateRequest) -> (u64, u64) {
    // (trainable parameters in total, of which beyond the base weights)
    let head = match shape.family {
        Family::Encoder => shape.hidden * req.num_labels + req.num_labels,
        Family::Decoder => 0,
    };
    match req.method {
        Method::Full => (shape.parameters + head, head),
        Method::Features => (head, head),
        Method::Lora | Method::Qlora => {
            let lora = shape.lora_parameters(req.lora_rank) + head;
            (lora, lora)
        }
    }
}

/// Activations kept for the backward pass of one step (with a decoder's logits), or, for feature
/// extraction, the frozen forward pass that computes each row's features once.
fn activation_bytes(shape: &ModelShape, req: &EstimateRequest, checkpointing: bool) -> u64 {
    let s = req.max_len;
    if req.method == Method::Features {
        let tokens = EVAL_BATCH * s;
        return tokens
            * (INFER_PER_HIDDEN * shape.hidden + INFER_PER_SCORE * shape.heads * s)
            * F32;
    }
    let tokens = req.batch * s;
    let f = family_index(shape.family);
    let per_token_layer = if matches!(req.method, Method::Lora | Method::Qlora) {
        // The rank-r projection of every adapted layer, beyond the shared counts.
        ACT_LORA_PER_HIDDEN[f] * shape.hidden
            + ACT_LORA_PER_INTERMEDIATE[f] * shape.intermediate
            + shape.block_linears().len() as u64 * req.lora_rank
    } else {
        ACT_PER_HIDDEN[f] * shape.hidden
            + ACT_PER_INTERMEDIATE[f] * shape.intermediate
            + ACT_PER_SCORE * shape.heads * s
    };
    let logits = match shape.family {
        Family::Decoder => {
            let head = match req.method {
                Method::Qlora => QUANTISED_HEAD_COPIES * shape.vocab * shape.hidden,
                _ => 0,
            };
            LOGIT_COPIES * tokens * shape.vocab + head
        }
        Family::Encoder => 0,
    };
    let kept = if checkpointing {
        // Each block's input, plus one block's activations while it is recomputed.
        tokens * (shape.layers * CKPT_PER_HIDDEN * shape.hidden + per_token_layer)
    } else {
        tokens * shape.layers * per_token_layer
    };
    (kept + logits) * F32
}

/// The breakdown for `shape` and `req`.
///
/// The peak is the largest of three moments: the end of a step's backward pass (weights,
/// trainable state, gradients and activations, the sum of the parts), saving a checkpoint (weights
/// and both moments serialised while the step's gradients are still held), and, for a GGUF file,
/// loading (the file dequantised to f32). What the last two add beyond the step is in `overhead`.
pub fn breakdown(shape: &ModelShape, req: &EstimateRequest) -> (Breakdown, u64) {
    breakdown_with(shape, req, false)
}

/// [`breakdown`], with each block's activations recomputed in the backward when `checkpointing`
/// (feature extraction has no backward: the same either way).
pub fn breakdown_with(
    shape: &ModelShape,
    req: &EstimateRequest,
    checkpointing: bool,
) -> (Breakdown, u64) {
    let (trainable, extra) = trainable_count(shape, req);
    let f32_weights = shape.parameters * F32;
    let weights = match req.method {
        Method::Qlora => shape.quantised_base_bytes(),
        _ => f32_weights,
    };
    let trainable_parameters = extra * F32;
    // Only trainable parameters get a gradient: frozen weights' backward computes the input's
    // gradient alone (the engine's frozen linear op).
    let gradients = trainable * F32;
    let optimizer_state = 2 * trainable * F32;
    let activations = activation_bytes(shape, req, checkpointing);
    // A safetensors folder stays memory-mapped while the model lives, and its pages were all read.
    let mapped = match shape.file_bytes {
        Some(_) => 0,
        None => f32_weights,
    };
    let step = weights + trainable_parameters + gradients + optimizer_state + activations;
    // Saving a checkpoint: the weights, the step's gradients (summed and scaled copies) and
    // the serialised trainable weights and moments, all at once.
    let checkpoint = weights
        + trainable_parameters
        + optimizer_state
        + 2 * trainable * F32
        + 3 * trainable * F32;
    // Loading a GGUF: the file, its f32 dequantisation, and the trainable copies or the quantised
    // base built from it.
    let load = shape.file_bytes.map_or(0, |file| {
        file + f32_weights
            + match req.method {
                Method::Full => f32_weights,
                Method::Qlora => weights,
                _ => 0,
            }
    });
    let peak_excess = checkpoint.max(load).saturating_sub(step);
    let overhead = RUNTIME_BYTES + mapped + peak_excess;
    let total = step + overhead;
    (
        Breakdown {
            weights,
            trainable_parameters,
            gradients,
            optimizer_state,
            activations,
            overhead,
            total,
        },
        trainable,
    )
}

/// The verdict of `total` bytes against `free` bytes.
pub fn verdict(total: u64, free: u64) -> Verdict {
    if (total as f64) <= 0.8 * free as f64 {
        Verdict::Fits
    } else if total <= free {
        Verdict::Tight
    } else {
        Verdict::DoesNotFit
    }
}

/// Estimates `req` on `shape` against `free` bytes of memory, without activation checkpointing.
pub fn estimate(shape: &ModelShape, req: &EstimateRequest, free: Option<u64>) -> Estimate {
    estimate_with(shape, req, free, Checkpointing::Off)
}

/// Whether [`Checkpointing::Auto`] turns checkpointing on: the run does not fit, or is tight,
/// without it, and fits better with it.
fn auto_checkpointing(shape: &ModelShape, req: &EstimateRequest, free: Option<u64>) -> bool {
    let Some(f) = free else { return false };
    let rank = |v: Verdict| match v {
        Verdict::Fits => 0,
        Verdict::Tight => 1,
        Verdict::DoesNotFit => 2,
    };
    let off = verdict(breakdown_with(shape, req, false).0.total, f);
    let on = verdict(breakdown_with(shape, req, true).0.total, f);
    rank(on) < rank(off)
}

/// Estimates `req` on `shape` against `free` bytes of memory, with activation checkpointing as
/// `checkpointing` says ([`Checkpointing::Auto`] turns it on when the run would not fit
/// otherwise; [`Estimate::activation_checkpointing`] says what was assumed).
pub fn estimate_with(
    shape: &ModelShape,
    req: &EstimateRequest,
    free: Option<u64>,
    checkpointing: Checkpointing,
) -> Estimate {
    let ckpt = match checkpointing {
        Checkpointing::Off => false,
        Checkpointing::On => true,
        Checkpointing::Auto => auto_checkpointing(shape, req, free),
    };
    let (b, trainable) = breakdown_with(shape, req, ckpt);
    let v = free.map(|f| verdict(b.total, f));
    let suggestion = match (v, free) {
        (Some(Verdict::DoesNotFit), Some(f)) => Some(suggest(shape, req, f, ckpt)),
        (Some(Verdict::Tight), Some(f)) => Some(match fitting_batch(shape, req, f, ckpt) {
            Some(n) if n < req.batch => {
                format!("it may just fit; --batch {n} leaves room, or close other applications")
            }
            _ => "it may just fit; close other applications before training".to_string(),
        }),
        _ => None,
    };
    Estimate {
        shape: shape.clone(),
        request: req.clone(),
        trainable_parameter_count: trainable,
        breakdown: b,
        free_memory: free,
        verdict: v,
        suggestion,
        time: TimeEstimate::not_calibrated(
            "not calibrated: the time comes from timing a few training steps of the engine on this machine (--calibrate)",
        ),
        assumptions: vec![
            "weights, gradients and optimiser state in f32 (the engine trains in f32)".into(),
            "AdamW: two moments per trainable parameter".into(),
            "every row is max_len tokens long (shorter rows need less)".into(),
            if ckpt {
                "activation checkpointing: each block's input kept, one block's activations at a time while it is recomputed; counts fitted to the engine's measured peaks".into()
            } else {
                "no activation checkpointing; activation counts per token and layer are fitted to the engine's measured peaks".into()
            },
            format!(
                "LoRA rank {} on every linear layer of each block (the engine's default); frozen weights get no gradient; a decoder's logits are held once",
                req.lora_rank
            ),
            "QLoRA base: Q4_K where a matrix's rows are a multiple of 256 wide, Q8_0 elsewhere, norms in f32".into(),
            "a model folder's safetensors stay memory-mapped; a GGUF file is dequantised to f32 while loading".into(),
            format!(
                "runtime {} MiB; a checkpoint is serialised in memory before it is written",
                RUNTIME_BYTES / MIB
            ),
        ],
        checkpointing,
        activation_checkpointing: ckpt,
        total_without_checkpointing: breakdown_with(shape, req, false).0.total,
        total_with_checkpointing: breakdown_with(shape, req, true).0.total,
    }
}

fn fitting_batch(shape: &ModelShape, req: &EstimateRequest, free: u64, ckpt: bool) -> Option<u64> {
    let mut b = req.batch;
    while b >= 1 {
        let r = EstimateRequest {
            batch: b,
            ..req.clone()
        };
        if verdict(breakdown_with(shape, &r, ckpt).0.total, free) == Verdict::Fits {
            return Some(b);
        }
        b /= 2;
    }
    None
}

fn suggest(shape: &ModelShape, req: &EstimateRequest, free: u64, ckpt: bool) -> String {
    if !ckpt
        && req.method != Method::Features
        && verdict(breakdown_with(shape, req, true).0.total, free) == Verdict::Fits
    {
        return "turn on activation checkpointing (saves memory, about a third slower); it fits with the same settings".to_string();
    }
    if let Some(b) = fitting_batch(shape, req, free, ckpt).filter(|b| *b < req.batch) {
        return format!("use --batch {b} (same method); it fits with room to spare");
    }
    let lighter: &[Method] = match (shape.family, req.method) {
        (_, Method::Features) | (_, Method::Qlora) => &[],
        (Family::Encoder, Method::Full) => &[Method::Lora, Method::Features],
        (Family::Encoder, Method::Lora) => &[Method::Features],
        (Family::Decoder, Method::Full) => &[Method::Lora, Method::Qlora],
        (Family::Decoder, Method::Lora) => &[Method::Qlora],
    };
    for m in lighter {
        let r = EstimateRequest {
            method: *m,
            ..req.clone()
        };
        if let Some(b) = fitting_batch(shape, &r, free, ckpt) {
            return format!(
                "use --method {} --batch {b}; it fits where {} does not",
                m.as_str(),
                req.method.as_str()
            );
        }
    }
    let mut len = req.max_len / 2;
    while len >= 32 {
        let r = EstimateRequest {
            max_len: len,
            batch: 1,
            ..req.clone()
        };
        if verdict(breakdown_with(shape, &r, ckpt).0.total, free) == Verdict::Fits {
            return format!("use --max-len {len} --batch 1 (longer texts are cut); it fits");
        }
        len /= 2;
    }
    "this model is too large for this device's free memory with any batch or method; pick a smaller model".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minilm() -> ModelShape {
        // sentence-transformers/all-MiniLM-L6-v2
        ModelShape {
            family: Family::Encoder,
            parameters: 22_713_216,
            hidden: 384,
            layers: 6,
            heads: 12,
            kv_heads: 12,
            intermediate: 1536,
            vocab: 30522,
            context_length: Some(512),
            file_bytes: None,
        }
    }

    fn smollm2() -> ModelShape {
        ModelShape {
            family: Family::Decoder,
            parameters: 134_515_008,
            hidden: 576,
            layers: 30,
            heads: 9,
            kv_heads: 3,
            intermediate: 1536,
            vocab: 49152,
            context_length: Some(8192),
            file_bytes: Some(98_362_432),
        }
    }

    fn req(method: Method, batch: u64) -> EstimateRequest {
        EstimateRequest {
            method,
            batch,
            max_len: 128,
            lora_rank: 8,
            num_labels: 2,
        }
    }

    #[test]
    fn feature_extraction_needs_the_least_memory_and_qlora_less_than_lora() {
        let full = breakdown(&minilm(), &req(Method::Full, 16)).0.total;
        let lora = breakdown(&minilm(), &req(Method::Lora, 16)).0.total;
        let frozen = breakdown(&minilm(), &req(Method::Features, 16))
            .0
            .total;
        assert!(frozen < lora && frozen < full, "{full} {lora} {frozen}");
        let (d, r) = (smollm2(), req(Method::Lora, 2));
        let qlora = EstimateRequest {
            method: Method::Qlora,
            ..r.clone()
        };
        assert!(breakdown(&d, &qlora).0.total < breakdown(&d, &r).0.total);
    }

    #[test]
    fn the_parts_add_up_to_the_total() {
        for m in [Method::Full, Method::Lora, Method::Qlora] {
            let b = breakdown(&smollm2(), &req(m, 2)).0;
            let sum = b.weights
                + b.trainable_parameters
                + b.gradients
                + b.optimizer_state
                + b.activations
                + b.overhead;
            assert_eq!(sum, b.total, "{m:?}");
        }
    }

    #[test]
    fn a_calibrated_time_counts_the_steps_of_the_run_and_its_one_off_setup() {
        let timing = StepTiming {
            seconds_per_step: 0.5,
            setup_seconds_per_row: 0.01,
            timed_steps: 3,
        };
        let size = RunSize {
            train_rows: 81,
            setup_rows: 90,
            epochs: 3,
        };
        let t = TimeEstimate::from_timing(&timing, 16, Some(size), false);
        assert!(t.calibrated && !t.cached);
        assert_eq!(t.steps, Some(6 * 3));
        assert!((t.total_seconds.unwrap() - (0.9 + 18.0 * 0.5)).abs() < 1e-9);
        let unsized_run = TimeEstimate::from_timing(&timing, 16, None, true);
        assert_eq!(unsized_run.seconds_per_step, Some(0.5));
        assert!(unsized_run.total_seconds.is_none() && unsized_run.cached);
    }

    #[test]
    fn full_fine_tuning_keeps_two_moments_and_a_gradient_per_weight() {
        let (b, n) = breakdown(&minilm(), &req(Method::Full, 1));
        assert_eq!(n, 22_713_216 + 384 * 2 + 2);
        assert_eq!(b.gradients, n * 4);
        assert_eq!(b.optimizer_state, 2 * n * 4);
        assert_eq!(b.weights, 22_713_216 * 4);
    }

    #[test]
    fn the_verdict_is_tight_between_eighty_and_a_hundred_percent() {
        assert_eq!(verdict(70, 100), Verdict::Fits);
        assert_eq!(verdict(90, 100), Verdict::Tight);
        assert_eq!(verdict(101, 100), Verdict::DoesNotFit);
    }

    #[test]
    fn a_batch_too_large_for_memory_gets_a_smaller_batch_suggested() {
        let shape = minilm();
        let big = req(Method::Full, 256);
        let free = breakdown(&shape, &req(Method::Full, 8)).0.total * 2;
        let e = estimate(&shape, &big, Some(free));
        assert_eq!(e.verdict, Some(Verdict::DoesNotFit));
        assert!(e.suggestion.unwrap().contains("--batch"));
        assert!(!e.time.calibrated && e.time.seconds_per_step.is_none());
    }

    #[test]
    fn a_decoder_that_does_not_fit_fully_is_offered_a_lighter_method() {
        // SmolLM2-135M-like
        let shape = ModelShape {
            family: Family::Decoder,
            parameters: 134_515_008,
            hidden: 576,
            layers: 30,
            heads: 9,
            kv_heads: 3,
            intermediate: 1536,
            vocab: 49152,
            context_length: Some(8192),
            file_bytes: None,
        };
        let r = EstimateRequest {
            method: Method::Full,
            batch: 1,
            max_len: 64,
            lora_rank: 8,
            num_labels: 2,
        };
        let full = breakdown(&shape, &r).0.total;
        let e = estimate(&shape, &r, Some(full * 3 / 4));
        let s = e.suggestion.unwrap();
        assert!(
            s.contains("--method lora") || s.contains("--method qlora"),
            "{s}"
        );
    }

    #[test]
    fn checkpointing_keeps_one_input_per_layer_and_one_block_instead_of_every_block() {
        let shape = smollm2();
        let r = EstimateRequest {
            batch: 8,
            max_len: 512,
            ..req(Method::Lora, 8)
        };
        let off = breakdown_with(&shape, &r, false).0;
        let on = breakdown_with(&shape, &r, true).0;
        assert_eq!(off, breakdown(&shape, &r).0);
        assert!(on.activations * 3 < off.activations, "{on:?} {off:?}");
        assert_eq!(on.weights, off.weights);
        assert_eq!(on.total - on.activations, off.total - off.activations);
        // The logits and the block inputs are a floor that checkpointing cannot remove.
        let tokens = 8 * 512;
        assert!(on.activations > tokens * (shape.vocab + shape.layers * shape.hidden) * 4);
    }

    #[test]
    fn auto_checkpointing_turns_on_only_when_the_run_would_not_fit_otherwise() {
        let shape = smollm2();
        let r = EstimateRequest {
            batch: 8,
            max_len: 512,
            ..req(Method::Lora, 8)
        };
        let (off, on) = (
            breakdown_with(&shape, &r, false).0.total,
            breakdown_with(&shape, &r, true).0.total,
        );
        // Room for the checkpointed run, not for the plain one.
        let tight = estimate_with(&shape, &r, Some(on * 2), Checkpointing::Auto);
        assert!(on * 2 < off, "{on} {off}");
        assert!(tight.activation_checkpointing);
        assert_eq!(tight.verdict, Some(Verdict::Fits));
        assert_eq!(tight.breakdown.total, on);
        assert_eq!(
            (
                tight.total_without_checkpointing,
                tight.total_with_checkpointing
            ),
            (off, on)
        );
        // Room for both: the faster step.
        let roomy = estimate_with(&shape, &r, Some(off * 2), Checkpointing::Auto);
        assert!(!roomy.activation_checkpointing);
        // Unknown free memory: off; asked for: on.
        assert!(!estimate_with(&shape, &r, None, Checkpointing::Auto).activation_checkpointing);
        assert!(estimate_with(&shape, &r, None, Checkpointing::On).activation_checkpointing);
        // Asked off, it does not fit: the suggestion names checkpointing.
        let plain = estimate(&shape, &r, Some(on * 2));
        assert_eq!(plain.verdict, Some(Verdict::DoesNotFit));
        assert!(plain.suggestion.unwrap().contains("checkpointing"));
    }

    #[test]
    fn lora_estimates_stay_within_ten_percent_of_the_measured_long_sequence_peaks() {
        // bench/README.md, "The 8x512 peak explained and cut": `attention_step` peaks (VmHWM, MiB)
        // of a LoRA step with random or GGUF weights held in memory (nothing mapped: file 0).
        let qwen = ModelShape {
            family: Family::Decoder,
            parameters: 494_032_768,
            hidden: 896,
            layers: 24,
            heads: 14,
            kv_heads: 2,
            intermediate: 4864,
            vocab: 151_936,
            context_length: Some(32768),
            file_bytes: Some(0),
        };
        let lora = |batch, max_len| EstimateRequest {
            batch,
            max_len,
            ..req(Method::Lora, batch)
        };
        for (shape, r, ckpt, measured_mib) in [
            (smollm2(), lora(8, 512), false, 6618u64),
            (smollm2(), lora(8, 512), true, 1727),
            (qwen, lora(4, 512), true, 3432),
        ] {
            let est = breakdown_with(&shape, &r, ckpt).0.total as f64;
            let measured = (measured_mib * MIB) as f64;
            let err = est / measured - 1.0;
            assert!(
                err.abs() < 0.10,
                "{} x {} ckpt {ckpt}: {err:+.3}",
                r.batch,
                r.max_len
            );
        }
    }
}
