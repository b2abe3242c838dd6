//! The memory estimate before training: peak memory broken down into weights, trainable
//! parameters, gradients, optimiser state, activations and overhead, for a model, a method, a batch
//! size and a maximum length; a verdict against the device's free memory; and a suggestion (a
//! smaller batch, a lighter method, shorter texts) when it does not fit.
//!
//! The breakdown is analytic (counted from the model's shapes and the engine's training layout:
//! f32 weights, AdamW with two moments, no gradient checkpointing, differentiable attention that
//! keeps its score matrices). The constants that are assumptions rather than counts are listed in
//! [`Estimate::assumptions`]. The time estimate needs a measured calibration of the engine's
//! training step on this machine; until the engine exposes one, [`TimeEstimate`] says so instead of
//! inventing a number.

use serde::Serialize;

use crate::config::ModelConfig;
use crate::gguf::GgufHeader;
use crate::support::Family;
use crate::{HubError, Result};

const F32: u64 = 4;
const MIB: u64 = 1024 * 1024;

/// How the model is trained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Every weight trained.
    Full,
    /// Frozen backbone, a trained head on its features.
    FeatureExtraction,
    /// Low-rank adapters on the attention projections.
    Lora,
    /// LoRA over a 4-bit quantised frozen base.
    Qlora,
}

impl std::str::FromStr for Method {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "full" => Ok(Method::Full),
            "feature-extraction" | "frozen" | "head" => Ok(Method::FeatureExtraction),
            "lora" => Ok(Method::Lora),
            "qlora" => Ok(Method::Qlora),
            other => Err(format!(
                "`{other}` is not a method; choose full, feature-extraction, lora or qlora"
            )),
        }
    }
}

/// The sizes of a model that memory depends on.
#[derive(Debug, Clone, PartialEq, Serialize)]
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

    /// LoRA parameters of rank `r` on the query and value projections (PEFT's default targets).
    pub fn lora_parameters(&self, r: u64) -> u64 {
        self.layers * (r * (self.hidden + self.hidden) + r * (self.hidden + self.kv_dim()))
    }
}

/// What is being estimated.
#[derive(Debug, Clone, PartialEq, Serialize)]
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

/// Peak memory, by part, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
pub struct TimeEstimate {
    /// Whether a measured calibration on this machine backs the numbers.
    pub calibrated: bool,
    /// Seconds per optimiser step, when calibrated.
    pub seconds_per_step: Option<f64>,
    /// What the estimate rests on, or why it is missing.
    pub note: String,
}

impl TimeEstimate {
    /// The honest answer until the engine's training step can be timed here.
    pub fn not_calibrated() -> Self {
        TimeEstimate {
            calibrated: false,
            seconds_per_step: None,
            note: "not calibrated: the time estimate comes from timing a few training steps of the engine on this \
                   machine, and the engine does not expose its training step to the estimator yet"
                .to_string(),
        }
    }
}

/// The estimate.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
}

/// Fixed runtime memory: the process, the tokenizer, allocator pools.
const RUNTIME_BYTES: u64 = 256 * MIB;
/// Allocator fragmentation and temporaries, as a fraction of the rest.
const SLACK: f64 = 0.10;
/// Bytes per parameter of the 4-bit base (Q4_K: 144 bytes per 256 weights).
const Q4_BYTES_PER_PARAM: f64 = 144.0 / 256.0;

fn trainable_count(shape: &ModelShape, req: &EstimateRequest) -> (u64, u64) {
    // (trainable parameters in total, of which beyond the base weights)
    let head = match shape.family {
        Family::Encoder => shape.hidden * req.num_labels + req.num_labels,
        Family::Decoder => 0,
    };
    match req.method {
        Method::Full => (shape.parameters + head, head),
        Method::FeatureExtraction => (head, head),
        Method::Lora | Method::Qlora => {
            let lora = shape.lora_parameters(req.lora_rank) + head;
            (lora, lora)
        }
    }
}

/// Activation elements kept per token and layer: the normalised inputs, projections, residuals and
/// the MLP's intermediates (`c_h` per hidden unit, `c_i` per intermediate unit), and the attention
/// scores, probabilities and mask (3 per head per key position).
fn activation_bytes(shape: &ModelShape, req: &EstimateRequest) -> u64 {
    let s = req.max_len;
    let tokens = req.batch * s;
    let (c_h, c_i) = match shape.family {
        Family::Encoder => (10, 3),
        Family::Decoder => (10, 5),
    };
    let per_token_layer =
        c_h * shape.hidden + c_i * shape.intermediate + 3 * shape.heads * s + 2 * shape.kv_dim();
    let logits = match shape.family {
        // logits, their log-softmax and its gradient
        Family::Decoder => 3 * tokens * shape.vocab,
        Family::Encoder => 0,
    };
    let layers = match req.method {
        // no backward through the frozen backbone: one layer's worth is alive at a time
        Method::FeatureExtraction => 2,
        _ => shape.layers,
    };
    let lora = match req.method {
        Method::Lora | Method::Qlora => 2 * tokens * req.lora_rank * shape.layers,
        _ => 0,
    };
    (tokens * per_token_layer * layers + logits + lora + tokens * shape.hidden * 2) * F32
}

/// The breakdown for `shape` and `req`.
pub fn breakdown(shape: &ModelShape, req: &EstimateRequest) -> (Breakdown, u64) {
    let (trainable, extra) = trainable_count(shape, req);
    let weights = match req.method {
        Method::Qlora => {
            let quantised = shape.block_linear_parameters().min(shape.parameters);
            (quantised as f64 * Q4_BYTES_PER_PARAM) as u64 + (shape.parameters - quantised) * F32
        }
        _ => shape.parameters * F32,
    };
    let trainable_parameters = extra * F32;
    let gradients = trainable * F32;
    let optimizer_state = 2 * trainable * F32;
    let activations = activation_bytes(shape, req);
    let mut overhead = RUNTIME_BYTES;
    if req.method == Method::Qlora {
        // the backward pass dequantises one layer's largest matrix at a time
        overhead += 2 * shape.hidden * shape.intermediate.max(shape.hidden) * F32;
    }
    let sub = weights + trainable_parameters + gradients + optimizer_state + activations + overhead;
    overhead += (sub as f64 * SLACK) as u64;
    let total =
        weights + trainable_parameters + gradients + optimizer_state + activations + overhead;
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

/// Estimates `req` on `shape` against `free` bytes of memory.
pub fn estimate(shape: &ModelShape, req: &EstimateRequest, free: Option<u64>) -> Estimate {
    let (b, trainable) = breakdown(shape, req);
    let v = free.map(|f| verdict(b.total, f));
    let suggestion = match (v, free) {
        (Some(Verdict::DoesNotFit), Some(f)) => Some(suggest(shape, req, f)),
        (Some(Verdict::Tight), Some(f)) => Some(match fitting_batch(shape, req, f) {
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
        time: TimeEstimate::not_calibrated(),
        assumptions: vec![
            "weights, gradients and optimiser state in f32 (the engine trains in f32)".into(),
            "AdamW: two moments per trainable parameter".into(),
            "no gradient checkpointing; attention keeps scores, probabilities and mask".into(),
            format!(
                "LoRA rank {} on the query and value projections",
                req.lora_rank
            ),
            "QLoRA base: block linear layers at 4.5 bits per weight (Q4_K), the rest in f32".into(),
            format!(
                "runtime {} MiB plus {:.0} % allocator slack",
                RUNTIME_BYTES / MIB,
                SLACK * 100.0
            ),
        ],
    }
}

fn fitting_batch(shape: &ModelShape, req: &EstimateRequest, free: u64) -> Option<u64> {
    let mut b = req.batch;
    while b >= 1 {
        let r = EstimateRequest {
            batch: b,
            ..req.clone()
        };
        if verdict(breakdown(shape, &r).0.total, free) == Verdict::Fits {
            return Some(b);
        }
        b /= 2;
    }
    None
}

fn method_name(m: Method) -> &'static str {
    match m {
        Method::Full => "full",
        Method::FeatureExtraction => "feature-extraction",
        Method::Lora => "lora",
        Method::Qlora => "qlora",
    }
}

fn suggest(shape: &ModelShape, req: &EstimateRequest, free: u64) -> String {
    if let Some(b) = fitting_batch(shape, req, free).filter(|b| *b < req.batch) {
        return format!("use --batch {b} (same method); it fits with room to spare");
    }
    let lighter: &[Method] = match (shape.family, req.method) {
        (_, Method::FeatureExtraction) | (_, Method::Qlora) => &[],
        (Family::Encoder, Method::Full) => &[Method::Lora, Method::FeatureExtraction],
        (Family::Encoder, Method::Lora) => &[Method::FeatureExtraction],
        (Family::Decoder, Method::Full) => &[Method::Lora, Method::Qlora],
        (Family::Decoder, Method::Lora) => &[Method::Qlora],
    };
    for m in lighter {
        let r = EstimateRequest {
            method: *m,
            ..req.clone()
        };
        if let Some(b) = fitting_batch(shape, &r, free) {
            return format!(
                "use --method {} --batch {b}; it fits where {} does not",
                method_name(*m),
                method_name(req.method)
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
        if verdict(breakdown(shape, &r).0.total, free) == Verdict::Fits {
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
    fn lighter_methods_need_less_memory_than_full_fine_tuning() {
        let full = breakdown(&minilm(), &req(Method::Full, 16)).0.total;
        let lora = breakdown(&minilm(), &req(Method::Lora, 16)).0.total;
        let frozen = breakdown(&minilm(), &req(Method::FeatureExtraction, 16))
            .0
            .total;
        assert!(full > lora && lora > frozen, "{full} {lora} {frozen}");
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
}
