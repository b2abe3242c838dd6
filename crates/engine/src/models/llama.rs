//! The Llama-family decoder (Llama 2/3, Mistral, Qwen2/2.5, SmolLM2), built from differentiable ops.
//!
//! It promises transformers' numbers: RMSNorm, "rotate half" RoPE with the config's theta and
//! scaling, grouped-query attention, SwiGLU, tied or untied output head, Qwen2's q/k/v biases; logits
//! for every position (training) and a KV-cache path (generation). Every operation has a backward
//! pass, so whichever parameters [`Params`] made trainable (all of them, LoRA factors, ...) get
//! gradients, and with a quantised base (QLoRA) the gradient still flows through the frozen layers.
//!
//! Loading reads a checkpoint folder (`config.json` + single or sharded `*.safetensors`) by the
//! checkpoint's own tensor names, or a `.gguf` file, with llama.cpp's Q/K row permutation undone.
//! A GGUF is dequantised, unless [`QuantPolicy::Stored`] asks to keep its weights quantised as the
//! file stores them (quantised inference: the matmuls run on the quantised blocks, a LoRA adapter
//! still applies on top). Pickle `pytorch_model.bin` checkpoints are refused.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{DType, Device, Module, Tensor, D};
use candle_nn::{VarBuilder, VarMap};

use crate::generate::kv_cache::KvCache;
use crate::gguf::{self, GgufFile};
use crate::models::llama_config::LlamaConfig;
use crate::nn::attention::{attention, AttentionSpec};
use crate::nn::checkpoint::{checkpoint, BlockFn, NewVars};
use crate::nn::linear::{Linear, LinearBase};
use crate::nn::params::{Backbone, Origin, Params};
use crate::nn::quantized::{for_inference, qtensor_resident_bytes, QuantPolicy, QuantizedBase};
use crate::nn::rms_norm::RmsNorm;
use crate::nn::rope::{RopeScaling, RotaryEmbedding};
use crate::tokenizer::GgufTokenizer;
use crate::train::loss::{cross_entropy, linear_cross_entropy, MaskedLoss};
use crate::{EngineError, Result};

/// How to load a decoder.
#[derive(Debug, Clone)]
pub struct LlamaLoadOptions {
    /// What trains (frozen, full, LoRA).
    pub backbone: Backbone,
    /// Store the frozen base quantised (QLoRA, or quantised inference); `None` keeps it dense.
    /// [`QuantPolicy::Stored`] keeps a GGUF file's own quantised weights.
    pub quantize: Option<QuantPolicy>,
    /// Compute dtype of dense weights and activations.
    pub dtype: DType,
    /// Device.
    pub device: Device,
    /// The seed fresh parameters (LoRA's `A` factors) are drawn from: the run's seed.
    pub seed: u64,
}

impl Default for LlamaLoadOptions {
    fn default() -> Self {
        Self {
            backbone: Backbone::Frozen,
            quantize: None,
            dtype: DType::F32,
            device: Device::Cpu,
            seed: 0,
        }
    }
}

/// The token embedding: dense (frozen or trainable) or quantised (frozen).
#[derive(Debug, Clone)]
enum Embedding {
    Dense(Tensor),
    Quantized(Arc<QTensor>),
}

impl Embedding {
    fn forward(&self, ids: &Tensor, dtype: DType) -> Result<Tensor> {
        let (b, t) = ids.dims2()?;
        match self {
            Embedding::Dense(w) => {
                let flat = ids.flatten_all()?;
                let hidden = w.dim(1)?;
                // A trainable embedding is f32 (the master copy): the lookup is cast to the
                // compute dtype, as the quantised one below is.
                Ok(w.index_select(&flat, 0)?
                    .reshape((b, t, hidden))?
                    .to_dtype(dtype)?)
            }
            Embedding::Quantized(q) if q.device().is_cpu() => {
                Ok(q.embedding(ids)?.to_dtype(dtype)?)
            }
            // On a GPU, rows of the table dequantised for this lookup only (candle's plain
            // per-block kernel, not its quantised `get_rows`; see nn::quantized's module docs).
            Embedding::Quantized(q) => {
                let flat = ids.flatten_all()?;
                let table = q.dequantize(&q.device())?.to_dtype(dtype)?;
                let hidden = table.dim(1)?;
                Ok(table.index_select(&flat, 0)?.reshape((b, t, hidden))?)
            }
        }
    }

    fn resident_bytes(&self) -> usize {
        match self {
            Embedding::Dense(w) => w.elem_count() * w.dtype().size_in_bytes(),
            Embedding::Quantized(q) => qtensor_resident_bytes(q),
        }
    }

    /// [`Self::resident_bytes`] without a CPU kernel's tile copy (what a GPU keeps).
    fn stored_bytes(&self) -> usize {
        match self {
            Embedding::Dense(w) => w.elem_count() * w.dtype().size_in_bytes(),
            Embedding::Quantized(q) => q.storage_size_in_bytes(),
        }
    }
}

#[derive(Debug, Clone)]
struct Attention {
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
}

#[derive(Debug, Clone)]
struct Mlp {
    gate: Linear,
    up: Linear,
    down: Linear,
}

#[derive(Debug, Clone)]
struct Block {
    input_norm: RmsNorm,
    attn: Attention,
    post_norm: RmsNorm,
    mlp: Mlp,
    /// The trainable tensors registered while building the block (what activation checkpointing
    /// hands their gradients to).
    params: Vec<Tensor>,
}

/// A Llama-family causal language model.
#[derive(Clone)]
pub struct LlamaModel {
    cfg: LlamaConfig,
    embed: Embedding,
    blocks: Vec<Block>,
    norm: RmsNorm,
    lm_head: Linear,
    /// Whether the output head is the embedding matrix (counted once in memory reports).
    tied_head: bool,
    rope: RotaryEmbedding,
    trainable: VarMap,
    dtype: DType,
    device: Device,
    /// Recompute each block in the backward instead of keeping its activations (training only).
    checkpointing: bool,
}

impl std::fmt::Debug for LlamaModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlamaModel")
            .field("model_type", &self.cfg.model_type)
            .field("layers", &self.blocks.len())
            .field("hidden_size", &self.cfg.hidden_size)
            .field("trainable_tensors", &self.trainable.all_vars().len())
            .finish_non_exhaustive()
    }
}

/// A loaded decoder with what came with it.
#[derive(Debug)]
pub struct LoadedLlama {
    /// The model.
    pub model: LlamaModel,
    /// The tokenizer rebuilt from GGUF metadata (GGUF files only; folders ship `tokenizer.json`).
    pub gguf_tokenizer: Option<GgufTokenizer>,
    /// The file(s) the weights came from.
    pub source: PathBuf,
}

impl LlamaModel {
    /// Loads a checkpoint folder or a `.gguf` file with `opts`.
    pub fn load(path: &Path, opts: &LlamaLoadOptions) -> Result<LoadedLlama> {
        if path.is_file()
            && path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("gguf"))
        {
            return Self::load_gguf(path, opts);
        }
        if path.is_file() {
            return Err(EngineError::Checkpoint {
                path: path.to_path_buf(),
                reason: "expected a model folder (config.json + *.safetensors) or a .gguf file"
                    .into(),
            });
        }
        let cfg = LlamaConfig::from_file(&path.join("config.json"))?;
        let checkpoint = crate::models::checkpoint::Checkpoint::open(path)?;
        let params = checkpoint
            .params(
                opts.dtype,
                &opts.device,
                VarMap::new(),
                opts.backbone.clone(),
            )?
            .with_seed(opts.seed);
        let model = Self::new(&cfg, &params, opts.quantize, None)?;
        Ok(LoadedLlama {
            model,
            gguf_tokenizer: None,
            source: path.to_path_buf(),
        })
    }

    /// Loads a `.gguf` file: config and tokenizer from its metadata, Q/K un-permuted, weights
    /// dequantised, then re-quantised when `opts.quantize` asks, or, with
    /// [`QuantPolicy::Stored`], the linear layers and the embedding kept as the file quantised them
    /// (types without a fast CPU kernel re-quantised to Q8_0, see
    /// [`crate::nn::quantized::for_inference`]).
    pub fn load_gguf(path: &Path, opts: &LlamaLoadOptions) -> Result<LoadedLlama> {
        let mut file = GgufFile::open(path)?;
        let (cfg, per_freq) = gguf::config::llama_config(&mut file)?;
        let tokenizer = GgufTokenizer::from_gguf(&file)?;
        // llama.cpp permutes Q/K for Llama-style conversions only; Qwen2 uses NeoX RoPE unpermuted.
        let permuted = file.string("general.architecture")? != "qwen2";
        let keep_quantized = opts.quantize == Some(QuantPolicy::Stored);
        let names: Vec<String> = file.tensor_names().map(str::to_string).collect();
        let mut tensors = HashMap::new();
        let mut stored = HashMap::new();
        for name in names {
            let Some(hf) = gguf::names::hf_name(&name) else {
                continue;
            };
            let q = file.qtensor(&name, &opts.device)?;
            let dense_in_file =
                matches!(q.dtype(), GgmlDType::F32 | GgmlDType::F16 | GgmlDType::BF16);
            if keep_quantized && !dense_in_file && is_matmul_weight(&hf) {
                let q = match (permuted, qk_heads(&hf, &cfg)) {
                    (true, Some(heads)) => gguf::permute::unpermute_qk_quantized(&q, heads)?,
                    _ => q,
                };
                stored.insert(hf, Arc::new(for_inference(q)?));
                continue;
            }
            let mut t = q.dequantize(&opts.device)?;
            if permuted {
                if hf.contains("self_attn.q_proj.") {
                    t = gguf::permute::unpermute_qk(&t, cfg.num_attention_heads)?;
                } else if hf.contains("self_attn.k_proj.") {
                    t = gguf::permute::unpermute_qk(&t, cfg.kv_heads())?;
                }
            }
            tensors.insert(hf, t.to_dtype(opts.dtype)?);
        }
        let vb = VarBuilder::from_tensors(tensors, opts.dtype, &opts.device);
        let origin = Origin {
            files: HashMap::new(),
            default: path.display().to_string(),
        };
        let params =
            Params::new(vb, VarMap::new(), opts.backbone.clone(), origin).with_seed(opts.seed);
        let stored = keep_quantized.then_some(&stored);
        let model = Self::build(&cfg, &params, opts.quantize, per_freq, stored)?;
        Ok(LoadedLlama {
            model,
            gguf_tokenizer: Some(tokenizer),
            source: path.to_path_buf(),
        })
    }

    /// Builds the model from `params` (rooted at the checkpoint's top level). With `quantize`, every
    /// frozen linear layer and the embedding are stored quantised (LoRA, if any, stays dense).
    /// `rope_override` replaces the config's RoPE scaling (GGUF's per-frequency factors).
    pub fn new(
        cfg: &LlamaConfig,
        params: &Params,
        quantize: Option<QuantPolicy>,
        rope_override: Option<RopeScaling>,
    ) -> Result<Self> {
        Self::build(cfg, params, quantize, rope_override, None)
    }

    /// [`Self::new`], with `stored`: weights already quantised (a GGUF file's, by checkpoint name),
    /// used as they are; when given, a weight missing from it is one the file stores dense, and it
    /// stays dense (frozen).
    fn build(
        cfg: &LlamaConfig,
        params: &Params,
        quantize: Option<QuantPolicy>,
        rope_override: Option<RopeScaling>,
        stored: Option<&HashMap<String, Arc<QTensor>>>,
    ) -> Result<Self> {
        cfg.validate().map_err(EngineError::Invalid)?;
        if quantize.is_some() && matches!(params.backbone(), Backbone::Full) {
            return Err(EngineError::Invalid(
                "a quantised base cannot be fully fine-tuned; choose LoRA (QLoRA) or full precision".into(),
            ));
        }
        let (h, inter) = (cfg.hidden_size, cfg.intermediate_size);
        let (heads, kv_heads, hd) = (cfg.num_attention_heads, cfg.kv_heads(), cfg.head_dim());
        let m = params.pp("model");
        let stored_weight = |p: &Params, shape: (usize, usize)| -> Result<Option<Arc<QTensor>>> {
            let name = p.name("weight");
            let Some(q) = stored.and_then(|s| s.get(&name)) else {
                return Ok(None);
            };
            if q.shape().dims2()? != shape {
                return Err(EngineError::Invalid(format!(
                    "tensor `{name}` is {:?} in the GGUF file but the config needs {shape:?}; \
                     the file and its metadata disagree: download the model again",
                    q.shape().dims()
                )));
            }
            Ok(Some(q.clone()))
        };
        let linear = |p: &Params, i: usize, o: usize, bias: bool| -> Result<Linear> {
            if let Some(q) = stored_weight(p, (o, i))? {
                let b = if bias {
                    Some(p.frozen("bias", o)?)
                } else {
                    None
                };
                return p.adapt(Arc::new(QuantizedBase::new(q, b)?));
            }
            match quantize {
                None => p.linear(i, o, bias),
                Some(_) if stored.is_some() => p.linear(i, o, bias),
                Some(policy) => {
                    let w = p.frozen("weight", (o, i))?;
                    let b = if bias {
                        Some(p.frozen("bias", o)?)
                    } else {
                        None
                    };
                    p.adapt(Arc::new(QuantizedBase::quantize(&w, b, policy)?))
                }
            }
        };

        let mut blocks = Vec::with_capacity(cfg.num_hidden_layers);
        for i in 0..cfg.num_hidden_layers {
            let registered = NewVars::mark(params.trainable());
            let l = m.pp("layers").pp(i);
            let a = l.pp("self_attn");
            let attn = Attention {
                q: linear(&a.pp("q_proj"), h, heads * hd, cfg.qkv_bias())?,
                k: linear(&a.pp("k_proj"), h, kv_heads * hd, cfg.qkv_bias())?,
                v: linear(&a.pp("v_proj"), h, kv_heads * hd, cfg.qkv_bias())?,
                o: linear(&a.pp("o_proj"), heads * hd, h, cfg.o_bias())?,
                heads,
                kv_heads,
                head_dim: hd,
            };
            let p = l.pp("mlp");
            let mlp = Mlp {
                gate: linear(&p.pp("gate_proj"), h, inter, cfg.mlp_bias)?,
                up: linear(&p.pp("up_proj"), h, inter, cfg.mlp_bias)?,
                down: linear(&p.pp("down_proj"), inter, h, cfg.mlp_bias)?,
            };
            blocks.push(Block {
                input_norm: RmsNorm::new(
                    l.pp("input_layernorm").weight("weight", h)?,
                    cfg.rms_norm_eps,
                ),
                attn,
                post_norm: RmsNorm::new(
                    l.pp("post_attention_layernorm").weight("weight", h)?,
                    cfg.rms_norm_eps,
                ),
                mlp,
                params: registered.since(params.trainable()),
            });
        }
        let norm = RmsNorm::new(m.pp("norm").weight("weight", h)?, cfg.rms_norm_eps);

        // The output head never gets LoRA (PEFT leaves lm_head alone); tied heads share the embedding.
        let has_head = params.contains("lm_head.weight")
            || stored.is_some_and(|s| s.contains_key("lm_head.weight"));
        let tied = cfg.tie_word_embeddings || !has_head;
        let embed_p = m.pp("embed_tokens");
        let (embed, lm_head) = match (stored, quantize) {
            (Some(_), _) => {
                let (v, h) = (cfg.vocab_size, h);
                let embed = match stored_weight(&embed_p, (v, h))? {
                    Some(q) => Embedding::Quantized(q),
                    None => Embedding::Dense(embed_p.frozen("weight", (v, h))?),
                };
                let head_p = params.pp("lm_head");
                let head = match (&embed, tied) {
                    (Embedding::Quantized(q), true) => Linear::new(
                        "lm_head",
                        Arc::new(QuantizedBase::new(q.clone(), None)?),
                        None,
                    )?,
                    (Embedding::Dense(w), true) => Linear::dense("lm_head", w.clone(), None)?,
                    (_, false) => match stored_weight(&head_p, (v, h))? {
                        Some(q) => {
                            Linear::new("lm_head", Arc::new(QuantizedBase::new(q, None)?), None)?
                        }
                        None => Linear::dense("lm_head", head_p.frozen("weight", (v, h))?, None)?,
                    },
                };
                (embed, head)
            }
            (None, None) => {
                let embed_w = embed_p.weight("weight", (cfg.vocab_size, h))?;
                let head_w = if tied {
                    embed_w.clone()
                } else {
                    params.pp("lm_head").weight("weight", (cfg.vocab_size, h))?
                };
                (
                    Embedding::Dense(embed_w),
                    Linear::dense("lm_head", head_w, None)?,
                )
            }
            (None, Some(policy)) => {
                let embed_w = embed_p.frozen("weight", (cfg.vocab_size, h))?;
                let dt = policy.dtype_on(h, embed_w.device())?;
                let qe = Arc::new(QTensor::quantize(&embed_w.to_dtype(DType::F32)?, dt)?);
                let head: Arc<dyn LinearBase> = if tied {
                    Arc::new(QuantizedBase::new(qe.clone(), None)?)
                } else {
                    let w = params.pp("lm_head").frozen("weight", (cfg.vocab_size, h))?;
                    Arc::new(QuantizedBase::quantize(&w, None, policy)?)
                };
                (
                    Embedding::Quantized(qe),
                    Linear::new("lm_head", head, None)?,
                )
            }
        };
        let scaling = match rope_override {
            Some(s) => s,
            None => cfg.rope_scaling_kind().map_err(EngineError::Invalid)?,
        };
        let rope = RotaryEmbedding::new(
            hd,
            cfg.max_position_embeddings,
            cfg.rope_theta(),
            &scaling,
            params.dtype(),
            params.device(),
        )?;
        Ok(Self {
            cfg: cfg.clone(),
            embed,
            blocks,
            norm,
            lm_head,
            tied_head: tied,
            rope,
            trainable: params.trainable().clone(),
            dtype: params.dtype(),
            device: params.device().clone(),
            checkpointing: false,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &LlamaConfig {
        &self.cfg
    }

    /// The trainable parameters (empty for a frozen model); the only thing an optimiser should see.
    pub fn trainable(&self) -> &VarMap {
        &self.trainable
    }

    /// The device.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Activation checkpointing: when on, a training forward keeps only each block's input and
    /// recomputes the block in the backward (less memory, about a third more time; the same
    /// losses and gradients). Off by default.
    pub fn set_activation_checkpointing(&mut self, on: bool) {
        self.checkpointing = on;
    }

    /// Whether activation checkpointing is on.
    pub fn activation_checkpointing(&self) -> bool {
        self.checkpointing
    }

    /// Every linear layer, in checkpoint order, for adapter export and merging.
    pub fn linears(&self) -> Vec<&Linear> {
        let mut v = Vec::new();
        for b in &self.blocks {
            v.extend([
                &b.attn.q,
                &b.attn.k,
                &b.attn.v,
                &b.attn.o,
                &b.mlp.gate,
                &b.mlp.up,
                &b.mlp.down,
            ]);
        }
        v.push(&self.lm_head);
        v
    }

    /// Logits for every position, `[batch, seq, vocab]`; `attention_mask` (`[batch, seq]`, 1 = token,
    /// 0 = padding) hides padding from attention. Inference mode (no dropout).
    pub fn forward(&self, input_ids: &Tensor, attention_mask: Option<&Tensor>) -> Result<Tensor> {
        self.forward_t(input_ids, attention_mask, false)
    }

    /// As [`Self::forward`], with LoRA dropout when `train`.
    pub fn forward_t(
        &self,
        input_ids: &Tensor,
        attention_mask: Option<&Tensor>,
        train: bool,
    ) -> Result<Tensor> {
        let hidden = self.hidden_states(input_ids, attention_mask, train)?;
        self.lm_head.forward_t(&hidden, train)
    }

    /// The mean next-token cross-entropy of `labels` (`[batch, seq]`, [`IGNORE_INDEX`] for
    /// positions that do not count) as transformers computes it (position `i` predicts
    /// `labels[i + 1]`), with the output head and the loss fused
    /// ([`crate::train::loss::linear_cross_entropy`]): the logits are held once, never as
    /// `[batch, seq, vocab]` copies for the shift, the log-softmax and their gradients. `train`
    /// enables dropout.
    ///
    /// [`IGNORE_INDEX`]: crate::train::loss::IGNORE_INDEX
    pub fn next_token_loss_t(
        &self,
        input_ids: &Tensor,
        attention_mask: Option<&Tensor>,
        labels: &Tensor,
        train: bool,
    ) -> Result<MaskedLoss> {
        let (_, t) = input_ids.dims2()?;
        if t < 2 {
            return Err(EngineError::Training(
                "a sequence needs at least two tokens to learn the next one".into(),
            ));
        }
        if labels.dims() != input_ids.dims() {
            return Err(EngineError::Training(format!(
                "the labels have shape {:?} but the input ids {:?}",
                labels.dims(),
                input_ids.dims()
            )));
        }
        let hidden = self.hidden_states(input_ids, attention_mask, train)?;
        let hidden = hidden.narrow(1, 0, t - 1)?;
        let labels = labels.narrow(1, 1, t - 1)?;
        let head = &self.lm_head;
        if head.lora().is_some() || head.base().bias().is_some() {
            // A head with its own adapter or bias: the composed path.
            return cross_entropy(&head.forward_t(&hidden, train)?, &labels);
        }
        // A dense head is its weight (a trainable `Var`'s tensor under full fine-tuning, the tied
        // embedding's included); a quantised one is dequantised for this step only.
        linear_cross_entropy(&hidden, &head.base().dense_weight()?, &labels)
    }

    /// The final (normed) hidden states, `[batch, seq, hidden]`.
    pub fn hidden_states(
        &self,
        input_ids: &Tensor,
        attention_mask: Option<&Tensor>,
        train: bool,
    ) -> Result<Tensor> {
        let mut x = self.embed.forward(input_ids, self.dtype)?;
        for block in &self.blocks {
            x = if self.checkpointing && train {
                let (blk, rope) = (block.clone(), self.rope.clone());
                let mask = attention_mask.cloned();
                let f: BlockFn =
                    Arc::new(move |x: &Tensor| blk.forward(x, mask.as_ref(), &rope, 0, None, true));
                checkpoint(&x, &block.params, f)?
            } else {
                block.forward(&x, attention_mask, &self.rope, 0, None, train)?
            };
        }
        Ok(self.norm.forward(&x)?)
    }

    /// A fresh KV cache for this model.
    pub fn new_cache(&self) -> KvCache {
        KvCache::new(self.blocks.len())
    }

    /// Appends `input_ids` (`[1, seq]`) to the cached sequence and returns the logits of its last
    /// position, `[vocab]`.
    pub fn forward_cached(&self, input_ids: &Tensor, cache: &mut KvCache) -> Result<Tensor> {
        let (_, t) = input_ids.dims2()?;
        let offset = cache.len();
        if offset + t > self.rope.max_positions() {
            return Err(EngineError::Invalid(format!(
                "the conversation is {} tokens long, beyond this model's context of {}",
                offset + t,
                self.rope.max_positions()
            )));
        }
        let mut x = self.embed.forward(input_ids, self.dtype)?;
        for (i, block) in self.blocks.iter().enumerate() {
            x = block.forward(&x, None, &self.rope, offset, Some((cache, i)), false)?;
        }
        cache.advance(t);
        let last = self.norm.forward(&x.narrow(1, t - 1, 1)?)?;
        Ok(self.lm_head.forward_t(&last, false)?.flatten_all()?)
    }

    /// Bytes the frozen base keeps resident (embedding, head, linear bases, norms; not LoRA).
    pub fn base_resident_bytes(&self) -> usize {
        self.base_bytes(false)
    }

    /// Bytes of the frozen base as stored, without the tile copies candle's CPU kernels add at
    /// their first product: what the base keeps resident on a GPU (nn::quantized never runs those
    /// kernels there).
    pub fn base_stored_bytes(&self) -> usize {
        self.base_bytes(true)
    }

    fn base_bytes(&self, stored: bool) -> usize {
        let linear = |l: &Linear| {
            if stored {
                l.base().stored_bytes()
            } else {
                l.base().resident_bytes()
            }
        };
        let mut n = if stored {
            self.embed.stored_bytes()
        } else {
            self.embed.resident_bytes()
        };
        if !self.tied_head {
            n += linear(&self.lm_head);
        }
        for b in &self.blocks {
            for l in [
                &b.attn.q,
                &b.attn.k,
                &b.attn.v,
                &b.attn.o,
                &b.mlp.gate,
                &b.mlp.up,
                &b.mlp.down,
            ] {
                n += linear(l);
            }
            for norm in [&b.input_norm, &b.post_norm] {
                n += norm.weight().elem_count() * norm.weight().dtype().size_in_bytes();
            }
        }
        n + self.norm.weight().elem_count() * self.norm.weight().dtype().size_in_bytes()
    }

    /// Bytes the same base would take in f32 (every parameter once, tied head counted once).
    pub fn base_f32_bytes(&self) -> usize {
        let (v, h) = (self.cfg.vocab_size, self.cfg.hidden_size);
        let mut n = v * h;
        if !self.tied_head {
            n += v * h;
        }
        for b in &self.blocks {
            for l in [
                &b.attn.q,
                &b.attn.k,
                &b.attn.v,
                &b.attn.o,
                &b.mlp.gate,
                &b.mlp.up,
                &b.mlp.down,
            ] {
                n += l.base().in_features() * l.base().out_features();
                n += l.base().bias().map(|t| t.elem_count()).unwrap_or(0);
            }
            n += 2 * h;
        }
        (n + h) * 4
    }
}

impl Block {
    /// `key_mask`: `[batch, offset + seq]`, 1 = token, 0 = padding.
    fn forward(
        &self,
        x: &Tensor,
        key_mask: Option<&Tensor>,
        rope: &RotaryEmbedding,
        offset: usize,
        cache: Option<(&mut KvCache, usize)>,
        train: bool,
    ) -> Result<Tensor> {
        let h = self.attn.forward(
            &self.input_norm.forward(x)?,
            key_mask,
            rope,
            offset,
            cache,
            train,
        )?;
        let x = (x + h)?;
        let h = self.mlp.forward(&self.post_norm.forward(&x)?, train)?;
        Ok((x + h)?)
    }
}

impl Mlp {
    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let g = self.gate.forward_t(x, train)?;
        let u = self.up.forward_t(x, train)?;
        self.down
            .forward_t(&crate::nn::ops::silu_mul(&g, &u)?, train)
    }
}

impl Attention {
    fn forward(
        &self,
        x: &Tensor,
        key_mask: Option<&Tensor>,
        rope: &RotaryEmbedding,
        offset: usize,
        cache: Option<(&mut KvCache, usize)>,
        train: bool,
    ) -> Result<Tensor> {
        let (b, t, _) = x.dims3()?;
        let split = |y: Tensor, n: usize| -> Result<Tensor> {
            Ok(y.reshape((b, t, n, self.head_dim))?
                .transpose(1, 2)?
                .contiguous()?)
        };
        // Split into heads and rotated as one op (nothing of the projection's size kept for the
        // backward but the rotated heads the attention op holds).
        let q = rope.apply_heads(&self.q.forward_t(x, train)?, self.heads, offset)?;
        let k = rope.apply_heads(&self.k.forward_t(x, train)?, self.kv_heads, offset)?;
        let v = split(self.v.forward_t(x, train)?, self.kv_heads)?;
        let decoding = cache.is_some() && t == 1 && key_mask.is_none();
        let (k, v) = match cache {
            Some((c, layer)) => c.append(layer, &k, &v)?,
            None => (k, v),
        };
        let scale = 1.0 / (self.head_dim as f64).sqrt();
        let out = if decoding {
            // One new token against the cache (generation): the cache's buffers read in place,
            // no mask to build (the last position sees every key).
            crate::generate::decode_attention::attend_last(&q, &k, &v, scale)?
        } else {
            // Grouped-query attention, causal and padding masks inside one op (no repeated K/V,
            // no [b, heads, t, t] tensor kept for the backward).
            let spec = AttentionSpec {
                scale,
                causal: true,
                offset,
                key_mask: key_mask.cloned(),
                dropout: 0.0,
            };
            attention(&q, &k, &v, &spec)?
        };
        let out = out
            .transpose(1, 2)?
            .contiguous()?
            .reshape((b, t, self.heads * self.head_dim))?;
        self.o.forward_t(&out, train)
    }
}

/// Whether checkpoint tensor `hf` is a weight that runs through a matmul or an embedding lookup
/// (what quantised inference keeps quantised); norms and biases are not.
fn is_matmul_weight(hf: &str) -> bool {
    hf.ends_with("_proj.weight") || hf == "model.embed_tokens.weight" || hf == "lm_head.weight"
}

/// The number of rotary heads of a Q or K projection weight (whose GGUF rows llama.cpp permuted),
/// `None` for any other tensor.
fn qk_heads(hf: &str, cfg: &LlamaConfig) -> Option<usize> {
    if hf.ends_with("self_attn.q_proj.weight") {
        Some(cfg.num_attention_heads)
    } else if hf.ends_with("self_attn.k_proj.weight") {
        Some(cfg.kv_heads())
    } else {
        None
    }
}

/// Mean cross-entropy of next-token prediction as transformers computes it: position `i` predicts
/// `labels[i + 1]`, and labels of `-100` (prompt tokens, padding) are ignored. `logits` is
/// `[b, t, vocab]`, `labels` `[b, t]` (i64).
pub fn causal_lm_loss(logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
    let (b, t, v) = logits.dims3()?;
    if t < 2 {
        return Err(EngineError::Invalid(
            "a sequence needs at least two tokens to compute a loss".into(),
        ));
    }
    let logits = logits.narrow(1, 0, t - 1)?.reshape((b * (t - 1), v))?;
    let labels = labels
        .to_dtype(DType::I64)?
        .narrow(1, 1, t - 1)?
        .flatten_all()?;
    let keep = labels.ge(0i64)?;
    let count = keep.to_dtype(DType::F32)?.sum_all()?.to_scalar::<f32>()?;
    if count == 0.0 {
        return Err(EngineError::Invalid(
            "every label is masked: there is nothing to learn from".into(),
        ));
    }
    let safe = keep
        .where_cond(&labels, &labels.zeros_like()?)?
        .to_dtype(DType::U32)?;
    let logp = candle_nn::ops::log_softmax(&logits, D::Minus1)?;
    let picked = logp.gather(&safe.unsqueeze(1)?, 1)?.squeeze(1)?;
    let masked = (&picked * keep.to_dtype(picked.dtype())?)?;
    Ok((masked.sum_all()?.neg()? / count as f64)?)
}
