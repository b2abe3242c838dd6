//! BERT-family encoders (BERT, MiniLM / all-MiniLM, DistilBERT, RoBERTa / XLM-R) built from
//! differentiable operations, with pooling and a sequence-classification head.
//!
//! Promises:
//! - Real checkpoints load by their own tensor names, whatever prefix their export used
//!   (`bert.` / `roberta.` / `distilbert.` / none, as sentence-transformers writes BertModel).
//! - Every parameter can train: attention uses a composed softmax and LayerNorm is built from
//!   elementary ops, so gradients reach embeddings, norms and all linear layers (see FIELD-NOTES).
//! - Padding is masked in attention and in mean pooling, so a padded batch gives each row the same
//!   result as that row alone.
//! - RoBERTa's positions start after its padding index (`pad + 1`), as transformers computes them.
//! - Classification uses the checkpoint's own head when it has one (BERT's pooler + `classifier`,
//!   RoBERTa's `classifier.dense` / `classifier.out_proj`, DistilBERT's `pre_classifier` +
//!   `classifier`), else a new `classifier` linear over CLS or mean pooling.

use std::sync::Arc;

use candle_core::{DType, Tensor};
use serde::Deserialize;

use crate::models::checkpoint::read_json;
use crate::nn::attention::{attention, AttentionSpec};
use crate::nn::checkpoint::{checkpoint, BlockFn, NewVars};
use crate::nn::layer_norm::LayerNorm;
use crate::nn::linear::Linear;
use crate::nn::ops;
use crate::nn::params::Params;
use crate::{EngineError, Result};

/// The parts of `config.json` an encoder needs; DistilBERT's own field names are accepted too.
#[derive(Debug, Clone, Deserialize)]
pub struct BertConfig {
    /// `bert`, `distilbert`, `roberta`, `xlm-roberta`, `camembert` ...
    #[serde(default)]
    pub model_type: String,
    /// Token vocabulary size.
    pub vocab_size: usize,
    /// Model width.
    #[serde(alias = "dim")]
    pub hidden_size: usize,
    /// Number of transformer layers.
    #[serde(alias = "n_layers")]
    pub num_hidden_layers: usize,
    /// Attention heads per layer.
    #[serde(alias = "n_heads")]
    pub num_attention_heads: usize,
    /// MLP width.
    #[serde(alias = "hidden_dim")]
    pub intermediate_size: usize,
    /// MLP activation (`gelu`, `gelu_new`, `relu`).
    #[serde(alias = "activation", default = "default_act")]
    pub hidden_act: String,
    /// Longest sequence the position table covers.
    #[serde(default = "default_max_pos")]
    pub max_position_embeddings: usize,
    /// Number of segment types (0 when the model has none).
    #[serde(default)]
    pub type_vocab_size: usize,
    /// LayerNorm epsilon.
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    /// Padding token id (RoBERTa's position offset).
    #[serde(default)]
    pub pad_token_id: Option<u32>,
    /// Dropout on hidden states during training.
    #[serde(alias = "dropout", default = "default_dropout")]
    pub hidden_dropout_prob: f32,
    /// Dropout on attention probabilities during training.
    #[serde(alias = "attention_dropout", default = "default_dropout")]
    pub attention_probs_dropout_prob: f32,
    /// Class names by id, when the checkpoint is a classifier.
    #[serde(default)]
    pub id2label: Option<std::collections::BTreeMap<String, String>>,
    /// `single_label_classification` or `multi_label_classification`.
    #[serde(default)]
    pub problem_type: Option<String>,
    /// Only `absolute` positions are supported.
    #[serde(default)]
    pub position_embedding_type: Option<String>,
    /// Sinusoidal DistilBERT positions are stored as a table too; recorded to check.
    #[serde(default)]
    pub sinusoidal_pos_embds: bool,
}

fn default_act() -> String {
    "gelu".into()
}
fn default_max_pos() -> usize {
    512
}
fn default_eps() -> f64 {
    1e-12
}
fn default_dropout() -> f32 {
    0.1
}

/// Which of the BERT-family checkpoints' naming schemes (and position numbering) a checkpoint uses;
/// not the hub's encoder-or-decoder `Family`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    /// BERT, MiniLM, ELECTRA-style encoders.
    Bert,
    /// RoBERTa, XLM-R, CamemBERT: BERT names, positions offset by the padding index.
    Roberta,
    /// DistilBERT: its own names, no segment embeddings.
    DistilBert,
}

impl BertConfig {
    /// Reads `config.json`.
    pub fn from_file(path: &std::path::Path) -> Result<Self> {
        let cfg: Self = read_json(path)?;
        cfg.validate().map_err(|reason| EngineError::Checkpoint {
            path: path.to_path_buf(),
            reason,
        })?;
        Ok(cfg)
    }

    /// The naming scheme, from `model_type`.
    pub fn naming(&self) -> std::result::Result<Naming, String> {
        match self.model_type.as_str() {
            "bert" | "" | "electra" => Ok(Naming::Bert),
            "roberta" | "xlm-roberta" | "camembert" => Ok(Naming::Roberta),
            "distilbert" => Ok(Naming::DistilBert),
            other => Err(format!(
                "model_type `{other}` is not a supported encoder (supported: bert, roberta, xlm-roberta, camembert, distilbert)"
            )),
        }
    }

    /// The most tokens one input may hold. RoBERTa-family encoders number positions from the
    /// padding index + 1 (transformers' `create_position_ids_from_input_ids`), so of their
    /// `max_position_embeddings` (514) only `max_position_embeddings - pad - 1` (512) are usable;
    /// the others use every position from 0.
    pub fn usable_positions(&self) -> usize {
        match self.naming() {
            Ok(Naming::Roberta) => {
                let pad = self.pad_token_id.unwrap_or(1) as usize;
                self.max_position_embeddings.saturating_sub(pad + 1)
            }
            _ => self.max_position_embeddings,
        }
    }

    /// Checks the numbers fit together, returning a message a user can act on.
    pub fn validate(&self) -> std::result::Result<(), String> {
        self.naming()?;
        if self.num_attention_heads == 0 || self.hidden_size % self.num_attention_heads != 0 {
            return Err(format!(
                "hidden_size {} is not divisible by num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            ));
        }
        if let Some(p) = &self.position_embedding_type {
            if p != "absolute" {
                return Err(format!(
                    "position_embedding_type `{p}` is not supported (only absolute)"
                ));
            }
        }
        match self.hidden_act.as_str() {
            "gelu" | "gelu_new" | "gelu_pytorch_tanh" | "relu" => Ok(()),
            other => Err(format!("hidden_act `{other}` is not supported")),
        }
    }

    /// The number of classes the checkpoint's head predicts, if it names them.
    pub fn num_labels(&self) -> Option<usize> {
        self.id2label.as_ref().map(|m| m.len())
    }
}

#[derive(Debug, Clone)]
struct Embeddings {
    word: Tensor,
    position: Tensor,
    token_type: Option<Tensor>,
    norm: LayerNorm,
    dropout: f32,
    position_offset: Option<u32>,
}

#[derive(Debug, Clone)]
struct Layer {
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    attn_norm: LayerNorm,
    up: Linear,
    down: Linear,
    out_norm: LayerNorm,
    /// The trainable tensors registered while building the layer (what activation checkpointing
    /// hands their gradients to).
    params: Vec<Tensor>,
}

/// A BERT-family encoder: `forward` gives the last hidden states.
#[derive(Debug, Clone)]
pub struct BertModel {
    cfg: BertConfig,
    naming: Naming,
    prefix: String,
    embeddings: Embeddings,
    layers: Vec<Layer>,
    pooler: Option<Linear>,
    /// Recompute each layer in the backward instead of keeping its activations (training only).
    checkpointing: bool,
    /// The compute dtype (the frozen weights' and the activations'); trainable weights are f32.
    dtype: DType,
}

impl BertModel {
    /// Builds the encoder from `p` (rooted at the checkpoint's top level), finding the prefix the
    /// export used.
    pub fn load(p: &Params, cfg: &BertConfig) -> Result<Self> {
        cfg.validate().map_err(EngineError::Invalid)?;
        let naming = cfg.naming().map_err(EngineError::Invalid)?;
        let candidates: &[&str] = match naming {
            Naming::Bert => &["bert", "", "model", "electra"],
            Naming::Roberta => &["roberta", "", "model"],
            Naming::DistilBert => &["distilbert", ""],
        };
        let prefix = candidates
            .iter()
            .find(|c| {
                let root = if c.is_empty() { p.clone() } else { p.pp(c) };
                root.contains("embeddings.word_embeddings.weight")
            })
            .ok_or_else(|| EngineError::MissingTensor {
                file: "the checkpoint".into(),
                tensor: format!(
                    "{}embeddings.word_embeddings.weight",
                    candidates[0].to_string() + "."
                ),
            })?
            .to_string();
        let root = if prefix.is_empty() {
            p.clone()
        } else {
            p.pp(&prefix)
        };
        let h = cfg.hidden_size;
        let e = root.pp("embeddings");
        let token_type = if naming != Naming::DistilBert && cfg.type_vocab_size > 0 {
            Some(e.weight("token_type_embeddings.weight", (cfg.type_vocab_size, h))?)
        } else {
            None
        };
        let embeddings = Embeddings {
            word: e.weight("word_embeddings.weight", (cfg.vocab_size, h))?,
            position: e.weight(
                "position_embeddings.weight",
                (cfg.max_position_embeddings, h),
            )?,
            token_type,
            norm: LayerNorm::load(&e.pp("LayerNorm"), h, cfg.layer_norm_eps)?,
            dropout: cfg.hidden_dropout_prob,
            position_offset: (naming == Naming::Roberta).then(|| cfg.pad_token_id.unwrap_or(1)),
        };
        let i = cfg.intermediate_size;
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        for n in 0..cfg.num_hidden_layers {
            let registered = NewVars::mark(p.trainable());
            let mut layer = match naming {
                Naming::DistilBert => {
                    let l = root.pp("transformer").pp("layer").pp(n);
                    let a = l.pp("attention");
                    Layer {
                        q: a.pp("q_lin").linear(h, h, true)?,
                        k: a.pp("k_lin").linear(h, h, true)?,
                        v: a.pp("v_lin").linear(h, h, true)?,
                        o: a.pp("out_lin").linear(h, h, true)?,
                        attn_norm: LayerNorm::load(&l.pp("sa_layer_norm"), h, cfg.layer_norm_eps)?,
                        up: l.pp("ffn").pp("lin1").linear(h, i, true)?,
                        down: l.pp("ffn").pp("lin2").linear(i, h, true)?,
                        out_norm: LayerNorm::load(
                            &l.pp("output_layer_norm"),
                            h,
                            cfg.layer_norm_eps,
                        )?,
                        params: Vec::new(),
                    }
                }
                _ => {
                    let l = root.pp("encoder").pp("layer").pp(n);
                    let a = l.pp("attention");
                    Layer {
                        q: a.pp("self").pp("query").linear(h, h, true)?,
                        k: a.pp("self").pp("key").linear(h, h, true)?,
                        v: a.pp("self").pp("value").linear(h, h, true)?,
                        o: a.pp("output").pp("dense").linear(h, h, true)?,
                        attn_norm: LayerNorm::load(
                            &a.pp("output").pp("LayerNorm"),
                            h,
                            cfg.layer_norm_eps,
                        )?,
                        up: l.pp("intermediate").pp("dense").linear(h, i, true)?,
                        down: l.pp("output").pp("dense").linear(i, h, true)?,
                        out_norm: LayerNorm::load(
                            &l.pp("output").pp("LayerNorm"),
                            h,
                            cfg.layer_norm_eps,
                        )?,
                        params: Vec::new(),
                    }
                }
            };
            layer.params = registered.since(p.trainable());
            layers.push(layer);
        }
        let pooler = if root.contains("pooler.dense.weight") {
            Some(root.pp("pooler").pp("dense").linear(h, h, true)?)
        } else {
            None
        };
        Ok(Self {
            cfg: cfg.clone(),
            naming,
            prefix,
            embeddings,
            layers,
            pooler,
            checkpointing: false,
            dtype: p.dtype(),
        })
    }

    /// Activation checkpointing: when on, a training forward keeps only each layer's input and
    /// recomputes the layer in the backward (less memory, about a third more time; the same
    /// losses and gradients). Off by default.
    pub fn set_activation_checkpointing(&mut self, on: bool) {
        self.checkpointing = on;
    }

    /// Whether activation checkpointing is on.
    pub fn activation_checkpointing(&self) -> bool {
        self.checkpointing
    }

    /// The config.
    pub fn config(&self) -> &BertConfig {
        &self.cfg
    }

    /// The naming scheme.
    pub fn naming(&self) -> Naming {
        self.naming
    }

    /// The prefix the checkpoint's encoder tensors carry (`bert`, `roberta`, `distilbert` or empty).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Every linear layer, in order (for LoRA bookkeeping and merging).
    pub fn linears(&self) -> Vec<&Linear> {
        let mut out = Vec::new();
        for l in &self.layers {
            out.extend([&l.q, &l.k, &l.v, &l.o, &l.up, &l.down]);
        }
        out.extend(self.pooler.as_ref());
        out
    }

    /// The last hidden states `[batch, seq, hidden]` for `input_ids` and `attention_mask`
    /// (`[batch, seq]`, integer, 1 = token, 0 = padding); `token_type_ids` default to zeros.
    /// `train` enables dropout.
    pub fn forward_t(
        &self,
        input_ids: &Tensor,
        attention_mask: &Tensor,
        token_type_ids: Option<&Tensor>,
        train: bool,
    ) -> Result<Tensor> {
        let (b, s) = input_ids.dims2()?;
        if attention_mask.dims() != [b, s] {
            return Err(EngineError::Invalid(format!(
                "the attention mask has shape {:?} but the input ids have [{b}, {s}]",
                attention_mask.dims()
            )));
        }
        if s > self.cfg.max_position_embeddings {
            return Err(EngineError::Invalid(format!(
                "a sequence of {s} tokens is longer than this model's {} positions; lower the maximum length",
                self.cfg.max_position_embeddings
            )));
        }
        let e = &self.embeddings;
        let ids = input_ids.to_dtype(DType::U32)?;
        let word = e.word.embedding(&ids.flatten_all()?)?.reshape((b, s, ()))?;
        let positions = self.position_ids(input_ids, attention_mask)?;
        let pos = e
            .position
            .embedding(&positions.flatten_all()?)?
            .reshape((b, s, ()))?;
        let mut x = (word + pos)?;
        if let Some(tt) = &e.token_type {
            let types = match token_type_ids {
                Some(t) => t.to_dtype(DType::U32)?,
                None => Tensor::zeros((b, s), DType::U32, input_ids.device())?,
            };
            x = (x + tt.embedding(&types.flatten_all()?)?.reshape((b, s, ()))?)?;
        }
        // Trainable (f32) embeddings under mixed precision: the activations start in the
        // compute dtype, as with frozen ones.
        let x = x.to_dtype(self.dtype)?;
        let mut x = dropout(&e.norm.forward(&x)?, e.dropout, train)?;
        for layer in &self.layers {
            x = if self.checkpointing && train {
                let (l, cfg, mask) = (layer.clone(), self.cfg.clone(), attention_mask.clone());
                let f: BlockFn =
                    Arc::new(move |x: &Tensor| layer_forward(&cfg, &l, x, &mask, true));
                checkpoint(&x, &layer.params, f)?
            } else {
                layer_forward(&self.cfg, layer, &x, attention_mask, train)?
            };
        }
        Ok(x)
    }

    /// BERT's pooler: `tanh(dense(h[:, 0]))`, when the checkpoint has one.
    pub fn pooler_forward(&self, hidden: &Tensor, train: bool) -> Result<Option<Tensor>> {
        match &self.pooler {
            Some(p) => Ok(Some(
                p.forward_t(&hidden.narrow(1, 0, 1)?.squeeze(1)?, train)?
                    .tanh()?,
            )),
            None => Ok(None),
        }
    }

    /// The same encoder with every LoRA update folded into its base weights (frozen).
    pub fn merged(&self) -> Result<Self> {
        let mut m = self.clone();
        for l in &mut m.layers {
            for lin in [
                &mut l.q,
                &mut l.k,
                &mut l.v,
                &mut l.o,
                &mut l.up,
                &mut l.down,
            ] {
                *lin = lin.merged()?;
            }
        }
        if let Some(p) = &mut m.pooler {
            *p = p.merged()?;
        }
        Ok(m)
    }

    fn position_ids(&self, input_ids: &Tensor, attention_mask: &Tensor) -> Result<Tensor> {
        let (b, s) = input_ids.dims2()?;
        let dev = input_ids.device();
        match self.embeddings.position_offset {
            None => Ok(Tensor::arange(0u32, s as u32, dev)?
                .unsqueeze(0)?
                .broadcast_as((b, s))?
                .contiguous()?),
            Some(pad) => {
                // transformers: positions = cumsum(ids != pad) * (ids != pad) + pad. The mask stands in
                // for `ids != pad` (they agree on padded batches; the mask is what the caller controls).
                let m: Vec<Vec<u32>> = attention_mask.to_dtype(DType::U32)?.to_vec2()?;
                let mut out = Vec::with_capacity(b * s);
                for row in m {
                    let mut c = 0u32;
                    for v in row {
                        if v != 0 {
                            c += 1;
                            out.push(c + pad);
                        } else {
                            out.push(pad);
                        }
                    }
                }
                if out
                    .iter()
                    .any(|&p| p as usize >= self.cfg.max_position_embeddings)
                {
                    return Err(EngineError::Invalid(format!(
                        "a sequence of {s} tokens needs more than this model's {} positions; lower the maximum length",
                        self.cfg.max_position_embeddings
                    )));
                }
                Ok(Tensor::from_vec(out, (b, s), dev)?)
            }
        }
    }
}

/// One encoder layer; `mask` is the `[batch, seq]` attention mask (1 = token, 0 = padding).
fn layer_forward(
    cfg: &BertConfig,
    l: &Layer,
    x: &Tensor,
    mask: &Tensor,
    train: bool,
) -> Result<Tensor> {
    let (b, s, h) = x.dims3()?;
    let heads = cfg.num_attention_heads;
    let d = h / heads;
    let split = |t: Tensor| -> Result<Tensor> {
        Ok(t.reshape((b, s, heads, d))?.transpose(1, 2)?.contiguous()?)
    };
    let q = split(l.q.forward_t(x, train)?)?;
    let k = split(l.k.forward_t(x, train)?)?;
    let v = split(l.v.forward_t(x, train)?)?;
    // Padding mask, scale and attention dropout inside one op (no [b, heads, s, s] tensor kept).
    let spec = AttentionSpec {
        scale: 1.0 / (d as f64).sqrt(),
        causal: false,
        offset: 0,
        key_mask: Some(mask.clone()),
        dropout: if train {
            cfg.attention_probs_dropout_prob
        } else {
            0.0
        },
    };
    let ctx = attention(&q, &k, &v, &spec)?
        .transpose(1, 2)?
        .reshape((b, s, h))?;
    let attn = dropout(&l.o.forward_t(&ctx, train)?, cfg.hidden_dropout_prob, train)?;
    let x = l.attn_norm.forward(&(attn + x)?)?;
    let up = l.up.forward_t(&x, train)?;
    let act = match cfg.hidden_act.as_str() {
        "gelu" => ops::gelu_erf(&up)?,
        "relu" => up.relu()?,
        _ => ops::gelu_tanh(&up)?,
    };
    let down = dropout(
        &l.down.forward_t(&act, train)?,
        cfg.hidden_dropout_prob,
        train,
    )?;
    l.out_norm.forward(&(down + x)?)
}

fn dropout(x: &Tensor, p: f32, train: bool) -> Result<Tensor> {
    if train && p > 0.0 {
        // The run's seeded masks (not candle's unseeded ones), so runs are reproducible.
        crate::nn::dropout::dropout(x, p)
    } else {
        Ok(x.clone())
    }
}

/// How a sequence becomes one vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pooling {
    /// The first token's hidden state.
    Cls,
    /// The mean over unpadded tokens (sentence-transformers).
    Mean,
    /// BERT's pooler: `tanh(dense(CLS))` (checkpoints that have `pooler.dense`).
    Pooler,
}

/// Pools `hidden` (`[batch, seq, hidden]`) with `mask`.
pub fn pool(
    model: &BertModel,
    hidden: &Tensor,
    mask: &Tensor,
    pooling: Pooling,
    train: bool,
) -> Result<Tensor> {
    match pooling {
        Pooling::Cls => Ok(hidden.narrow(1, 0, 1)?.squeeze(1)?),
        Pooling::Mean => ops::mean_pool(hidden, mask),
        Pooling::Pooler => model.pooler_forward(hidden, train)?.ok_or_else(|| {
            EngineError::Invalid(
                "this checkpoint has no pooler layer; choose CLS or mean pooling".into(),
            )
        }),
    }
}

/// A sentence embedding: mean-pooled, L2-normalised (all-MiniLM's recipe) for each row.
pub fn sentence_embedding(
    model: &BertModel,
    input_ids: &Tensor,
    attention_mask: &Tensor,
) -> Result<Tensor> {
    let h = model.forward_t(input_ids, attention_mask, None, false)?;
    ops::l2_normalize(&ops::mean_pool(&h, attention_mask)?)
}

/// Options for [`SequenceClassifier::load`].
#[derive(Debug, Clone)]
pub struct ClassifierOptions {
    /// Number of classes (labels for multi-label).
    pub num_labels: usize,
    /// Pooling for a new head; `None` uses the checkpoint head's own pooling, or mean for a new head.
    pub pooling: Option<Pooling>,
    /// Independent yes/no per label (sigmoid + BCE) instead of one class per row (softmax + CE).
    pub multi_label: bool,
}

#[derive(Debug, Clone)]
enum Head {
    /// A single linear `classifier` (BERT, new heads).
    Linear(Linear),
    /// DistilBERT: `pre_classifier` + ReLU + `classifier`.
    Distil { pre: Linear, out: Linear },
    /// RoBERTa: `classifier.dense` + tanh + `classifier.out_proj`.
    Roberta { dense: Linear, out: Linear },
}

/// An encoder with a classification head.
#[derive(Debug, Clone)]
pub struct SequenceClassifier {
    encoder: BertModel,
    head: Head,
    pooling: Pooling,
    multi_label: bool,
    num_labels: usize,
    head_dropout: f32,
}

impl SequenceClassifier {
    /// Loads the encoder and its head: the checkpoint's own when it has one with `num_labels`
    /// outputs, otherwise a new trainable `classifier`. Head parameters always land in the trainable
    /// `VarMap` of `p`.
    pub fn load(p: &Params, cfg: &BertConfig, opts: &ClassifierOptions) -> Result<Self> {
        if opts.num_labels == 0 {
            return Err(EngineError::Invalid(
                "a classifier needs at least one label".into(),
            ));
        }
        let encoder = BertModel::load(p, cfg)?;
        let h = cfg.hidden_size;
        let n = opts.num_labels;
        let has = |name: &str, rows: usize| p.contains(name) && has_rows(p, name, rows);
        let (head, native) = match encoder.naming() {
            Naming::Roberta if has("classifier.out_proj.weight", n) => (
                Head::Roberta {
                    dense: p.pp("classifier").pp("dense").head_linear(h, h)?,
                    out: p.pp("classifier").pp("out_proj").head_linear(h, n)?,
                },
                Pooling::Cls,
            ),
            Naming::DistilBert
                if has("classifier.weight", n) && p.contains("pre_classifier.weight") =>
            {
                (
                    Head::Distil {
                        pre: p.pp("pre_classifier").head_linear(h, h)?,
                        out: p.pp("classifier").head_linear(h, n)?,
                    },
                    Pooling::Cls,
                )
            }
            _ if has("classifier.weight", n) => (
                Head::Linear(p.pp("classifier").head_linear(h, n)?),
                if encoder.pooler.is_some() {
                    Pooling::Pooler
                } else {
                    Pooling::Cls
                },
            ),
            // The checkpoint is a classifier for a different number of labels (a 2-class
            // sentiment model reused for 3 classes): its head cannot serve, so a fresh one takes
            // its place, over the pooling that head used (what transformers does with
            // `ignore_mismatched_sizes`).
            _ if p.contains("classifier.weight") => (
                Head::Linear(fresh_head_linear(&p.pp("classifier"), h, n)?),
                if encoder.pooler.is_some() {
                    Pooling::Pooler
                } else {
                    Pooling::Cls
                },
            ),
            _ => (
                Head::Linear(p.pp("classifier").head_linear(h, n)?),
                Pooling::Mean,
            ),
        };
        let pooling = opts.pooling.unwrap_or(native);
        if pooling == Pooling::Pooler && encoder.pooler.is_none() {
            return Err(EngineError::Invalid(
                "this checkpoint has no pooler layer; choose CLS or mean pooling".into(),
            ));
        }
        let head_dropout = cfg.hidden_dropout_prob;
        Ok(Self {
            encoder,
            head,
            pooling,
            multi_label: opts.multi_label,
            num_labels: n,
            head_dropout,
        })
    }

    /// The encoder.
    pub fn encoder(&self) -> &BertModel {
        &self.encoder
    }

    /// Activation checkpointing of the encoder's layers ([`BertModel::set_activation_checkpointing`]).
    pub fn set_activation_checkpointing(&mut self, on: bool) {
        self.encoder.set_activation_checkpointing(on);
    }

    /// The pooling in use.
    pub fn pooling(&self) -> Pooling {
        self.pooling
    }

    /// Number of labels.
    pub fn num_labels(&self) -> usize {
        self.num_labels
    }

    /// Whether this is a multi-label classifier.
    pub fn multi_label(&self) -> bool {
        self.multi_label
    }

    /// The pooled features `[batch, hidden]` the head reads. With a frozen encoder these can be
    /// computed once and cached (feature extraction); for `Pooler` pooling they include the
    /// pooler layer.
    pub fn features(
        &self,
        input_ids: &Tensor,
        attention_mask: &Tensor,
        train: bool,
    ) -> Result<Tensor> {
        let h = self
            .encoder
            .forward_t(input_ids, attention_mask, None, train)?;
        pool(&self.encoder, &h, attention_mask, self.pooling, train)
    }

    /// Logits `[batch, num_labels]` from pooled features, in f32 under mixed precision (the loss
    /// and the probabilities accumulate in f32).
    pub fn head_forward(&self, features: &Tensor, train: bool) -> Result<Tensor> {
        let x = dropout(features, self.head_dropout, train)?;
        let logits = match &self.head {
            Head::Linear(l) => l.forward_t(&x, train),
            Head::Distil { pre, out } => {
                let y = dropout(&pre.forward_t(&x, train)?.relu()?, self.head_dropout, train)?;
                out.forward_t(&y, train)
            }
            Head::Roberta { dense, out } => {
                let y = dropout(
                    &dense.forward_t(&x, train)?.tanh()?,
                    self.head_dropout,
                    train,
                )?;
                out.forward_t(&y, train)
            }
        }?;
        Ok(logits.to_dtype(ops::accumulation_dtype(logits.dtype()))?)
    }

    /// Logits `[batch, num_labels]` (f32 under mixed precision, see [`Self::head_forward`]).
    pub fn forward_t(
        &self,
        input_ids: &Tensor,
        attention_mask: &Tensor,
        train: bool,
    ) -> Result<Tensor> {
        self.head_forward(&self.features(input_ids, attention_mask, train)?, train)
    }

    /// The mean loss of `logits`: cross-entropy against class ids (`[batch]`, integer) for
    /// single-label; binary cross-entropy against 0/1 targets (`[batch, num_labels]`) for multi-label.
    pub fn loss(&self, logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
        if self.multi_label {
            bce_with_logits(logits, labels)
        } else {
            Ok(candle_nn::loss::cross_entropy(
                logits,
                &labels.to_dtype(DType::U32)?,
            )?)
        }
    }

    /// Class probabilities: softmax (single-label) or per-label sigmoid (multi-label).
    pub fn probabilities(&self, logits: &Tensor) -> Result<Tensor> {
        if self.multi_label {
            Ok(candle_nn::ops::sigmoid(logits)?)
        } else {
            ops::softmax_last(logits)
        }
    }

    /// The same classifier with LoRA folded into the encoder's weights.
    pub fn merged(&self) -> Result<Self> {
        let mut m = self.clone();
        m.encoder = self.encoder.merged()?;
        Ok(m)
    }
}

/// A new trainable linear head at `p`'s path, ignoring any checkpoint tensor of that name (whose
/// shape does not fit). Initialised as transformers initialises heads: normal(0, 0.02), zero bias.
fn fresh_head_linear(p: &Params, in_features: usize, out_features: usize) -> Result<Linear> {
    let w = p.fresh(
        "weight",
        (out_features, in_features),
        candle_nn::Init::Randn {
            mean: 0.0,
            stdev: 0.02,
        },
    )?;
    let b = p.fresh("bias", out_features, candle_nn::Init::Const(0.0))?;
    Linear::dense(p.path(), w, Some(b))
}

fn has_rows(p: &Params, name: &str, rows: usize) -> bool {
    p.dims(name).is_some_and(|d| d.first() == Some(&rows))
}

/// Mean binary cross-entropy of `logits` against `targets` (same shape), in the stable form
/// `max(x, 0) - x y + log(1 + exp(-|x|))`.
pub fn bce_with_logits(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    let y = targets.to_dtype(logits.dtype())?;
    if y.dims() != logits.dims() {
        return Err(EngineError::Invalid(format!(
            "multi-label targets have shape {:?} but the logits have {:?}",
            y.dims(),
            logits.dims()
        )));
    }
    let pos = logits.relu()?;
    let soft = (logits.abs()?.neg()?.exp()? + 1.0)?.log()?;
    Ok((pos - (logits * y)?)?.add(&soft)?.mean_all()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::checkpoint::Checkpoint;
    use crate::nn::params::Backbone;
    use candle_core::Device;
    use candle_nn::VarMap;

    fn tiny_bert(num_labels: usize, backbone: Backbone) -> Result<(SequenceClassifier, VarMap)> {
        let dir = tunesmith_testkit::paths::fixtures_dir().join("tiny-bert");
        let cfg = BertConfig::from_file(&dir.join("config.json"))?;
        let vars = VarMap::new();
        let p = Checkpoint::open(&dir)?.params(DType::F32, &Device::Cpu, vars.clone(), backbone)?;
        let opts = ClassifierOptions {
            num_labels,
            pooling: None,
            multi_label: false,
        };
        Ok((SequenceClassifier::load(&p, &cfg, &opts)?, vars))
    }

    #[test]
    fn a_classifier_checkpoint_with_another_label_count_gets_a_fresh_trainable_head() -> Result<()>
    {
        // The fixture's head has three outputs; five classes need a new head, not a shape error.
        let (model, vars) = tiny_bert(5, Backbone::Frozen)?;
        assert_eq!(model.num_labels(), 5);
        let data = vars.data().lock().map_err(|_| {
            EngineError::Invalid("the trainable parameters' lock is poisoned".into())
        })?;
        let w = data
            .get("classifier.weight")
            .ok_or_else(|| EngineError::Invalid("no trainable classifier.weight".into()))?;
        assert_eq!(w.dims(), &[5, 32]);
        assert_eq!(
            data.get("classifier.bias").map(|b| b.dims().to_vec()),
            Some(vec![5])
        );
        drop(data);
        let ids = Tensor::new(&[[2u32, 7, 9, 3]], &Device::Cpu)?;
        let mask = Tensor::ones((1, 4), DType::U32, &Device::Cpu)?;
        let logits = model.forward_t(&ids, &mask, false)?;
        assert_eq!(logits.dims(), &[1, 5]);
        // The same label count still loads the checkpoint's own head.
        let (own, vars) = tiny_bert(3, Backbone::Frozen)?;
        assert_eq!(own.num_labels(), 3);
        assert!(vars
            .data()
            .lock()
            .map(|d| d.contains_key("classifier.weight"))
            .unwrap_or(false));
        Ok(())
    }

    #[test]
    fn roberta_can_use_its_positions_after_the_padding_index_and_bert_all_of_them() -> Result<()> {
        let dir = tunesmith_testkit::paths::fixtures_dir();
        let roberta = BertConfig::from_file(&dir.join("tiny-roberta/config.json"))?;
        // 34 positions, padding index 0: positions 1..=33 number the tokens.
        assert_eq!(roberta.max_position_embeddings, 34);
        assert_eq!(roberta.usable_positions(), 33);
        let bert = BertConfig::from_file(&dir.join("tiny-bert/config.json"))?;
        assert_eq!(bert.usable_positions(), bert.max_position_embeddings);
        Ok(())
    }
}
