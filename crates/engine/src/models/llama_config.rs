//! The Llama-family configuration (Llama 2/3, Mistral, Qwen2/2.5, SmolLM2), read from a checkpoint's
//! `config.json` or from a GGUF file's metadata.
//!
//! Field names follow `config.json`; both the classic layout (`rope_theta`, `rope_scaling`) and
//! transformers 5's `rope_parameters` are accepted. Whatever would change the numbers and is not
//! implemented (an activation other than SiLU, YaRN or dynamic RoPE scaling) is refused here, before
//! any weight is read, rather than giving quietly different outputs.

use std::path::Path;

use serde::Deserialize;

use crate::nn::rope::RopeScaling;
use crate::{EngineError, Result};

/// One token id or several (`eos_token_id` may be a list).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum TokenIds {
    /// A single id.
    One(u32),
    /// Several ids.
    Many(Vec<u32>),
}

impl TokenIds {
    /// The ids as a list.
    pub fn to_vec(&self) -> Vec<u32> {
        match self {
            TokenIds::One(i) => vec![*i],
            TokenIds::Many(v) => v.clone(),
        }
    }
}

/// RoPE settings as they appear in `rope_scaling` or `rope_parameters`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct RopeParameters {
    /// `rope_type` (or the older `type`): `default`, `linear`, `llama3`, ...
    #[serde(default, alias = "type")]
    pub rope_type: Option<String>,
    /// The base (transformers 5 puts it here).
    #[serde(default)]
    pub rope_theta: Option<f64>,
    /// Scaling factor.
    #[serde(default)]
    pub factor: Option<f64>,
    /// Llama 3 low-frequency factor.
    #[serde(default)]
    pub low_freq_factor: Option<f64>,
    /// Llama 3 high-frequency factor.
    #[serde(default)]
    pub high_freq_factor: Option<f64>,
    /// Llama 3 pre-training context length.
    #[serde(default)]
    pub original_max_position_embeddings: Option<usize>,
}

/// A Llama-family decoder's configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LlamaConfig {
    /// `model_type`: `llama`, `mistral`, `qwen2`, ...
    #[serde(default = "default_model_type")]
    pub model_type: String,
    /// Vocabulary size (rows of the embedding).
    pub vocab_size: usize,
    /// Width of the residual stream.
    pub hidden_size: usize,
    /// Width of the MLP.
    pub intermediate_size: usize,
    /// Number of decoder layers.
    pub num_hidden_layers: usize,
    /// Number of query heads.
    pub num_attention_heads: usize,
    /// Number of key/value heads (grouped-query attention); equals the query heads when absent.
    #[serde(default)]
    pub num_key_value_heads: Option<usize>,
    /// Per-head width; `hidden_size / num_attention_heads` when absent.
    #[serde(default)]
    pub head_dim: Option<usize>,
    /// RMSNorm epsilon.
    #[serde(default = "default_eps")]
    pub rms_norm_eps: f64,
    /// RoPE base (classic layout).
    #[serde(default)]
    pub rope_theta: Option<f64>,
    /// RoPE scaling (classic layout).
    #[serde(default)]
    pub rope_scaling: Option<RopeParameters>,
    /// RoPE settings (transformers 5 layout).
    #[serde(default)]
    pub rope_parameters: Option<RopeParameters>,
    /// Longest sequence the position tables cover.
    #[serde(default = "default_max_pos")]
    pub max_position_embeddings: usize,
    /// Whether the output head reuses the embedding matrix.
    #[serde(default)]
    pub tie_word_embeddings: bool,
    /// Bias on q/k/v/o (Llama's `attention_bias`); Qwen2 has it on q/k/v whatever this says.
    #[serde(default)]
    pub attention_bias: bool,
    /// Bias on the MLP projections.
    #[serde(default)]
    pub mlp_bias: bool,
    /// The MLP activation; only `silu` is implemented.
    #[serde(default = "default_act")]
    pub hidden_act: String,
    /// Beginning-of-sequence id.
    #[serde(default)]
    pub bos_token_id: Option<TokenIds>,
    /// End-of-sequence id(s).
    #[serde(default)]
    pub eos_token_id: Option<TokenIds>,
}

fn default_model_type() -> String {
    "llama".into()
}
fn default_eps() -> f64 {
    1e-6
}
fn default_max_pos() -> usize {
    2048
}
fn default_act() -> String {
    "silu".into()
}

/// The architectures this decoder implements.
pub const SUPPORTED_MODEL_TYPES: &[&str] = &["llama", "mistral", "qwen2", "smollm2", "smollm"];

impl LlamaConfig {
    /// Reads and checks `config.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| EngineError::Checkpoint {
            path: path.to_path_buf(),
            reason: format!("cannot read the model's config.json: {e}"),
        })?;
        let cfg: Self = serde_json::from_str(&text).map_err(|e| EngineError::Checkpoint {
            path: path.to_path_buf(),
            reason: format!("config.json is not a valid Llama-family configuration: {e}"),
        })?;
        cfg.validate().map_err(|reason| EngineError::Checkpoint {
            path: path.to_path_buf(),
            reason,
        })?;
        Ok(cfg)
    }

    /// Checks the configuration describes something this decoder computes exactly.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if !SUPPORTED_MODEL_TYPES.contains(&self.model_type.as_str()) {
            return Err(format!(
                "model_type `{}` is not a supported decoder architecture (supported: {}); pick a Llama, \
                 Mistral, Qwen2 or SmolLM2 model",
                self.model_type,
                SUPPORTED_MODEL_TYPES.join(", ")
            ));
        }
        if self.hidden_act != "silu" {
            return Err(format!(
                "hidden_act `{}` is not supported (only silu)",
                self.hidden_act
            ));
        }
        if self.num_attention_heads == 0 || self.num_attention_heads % self.kv_heads().max(1) != 0 {
            return Err(format!(
                "num_attention_heads {} is not a multiple of num_key_value_heads {}",
                self.num_attention_heads,
                self.kv_heads()
            ));
        }
        if self.head_dim.is_none() && self.hidden_size % self.num_attention_heads != 0 {
            return Err(format!(
                "hidden_size {} is not divisible by num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            ));
        }
        if self.head_dim() % 2 != 0 {
            return Err(format!(
                "head_dim {} must be even for rotary embeddings",
                self.head_dim()
            ));
        }
        self.rope_scaling_kind()?;
        Ok(())
    }

    /// Key/value heads.
    pub fn kv_heads(&self) -> usize {
        self.num_key_value_heads.unwrap_or(self.num_attention_heads)
    }

    /// Per-head width.
    pub fn head_dim(&self) -> usize {
        self.head_dim
            .unwrap_or(self.hidden_size / self.num_attention_heads.max(1))
    }

    /// The RoPE base.
    pub fn rope_theta(&self) -> f64 {
        self.rope_theta
            .or(self.rope_parameters.as_ref().and_then(|p| p.rope_theta))
            .unwrap_or(10000.0)
    }

    /// Whether q/k/v carry a bias (Qwen2 always; Llama when `attention_bias`).
    pub fn qkv_bias(&self) -> bool {
        self.model_type == "qwen2" || self.attention_bias
    }

    /// Whether the output projection carries a bias.
    pub fn o_bias(&self) -> bool {
        self.model_type != "qwen2" && self.attention_bias
    }

    /// The end-of-sequence ids from the config.
    pub fn eos_ids(&self) -> Vec<u32> {
        self.eos_token_id
            .as_ref()
            .map(|e| e.to_vec())
            .unwrap_or_default()
    }

    /// The RoPE scaling to apply, or why it is not supported.
    pub fn rope_scaling_kind(&self) -> std::result::Result<RopeScaling, String> {
        let p = match (&self.rope_scaling, &self.rope_parameters) {
            (Some(p), _) => p,
            (None, Some(p)) => p,
            (None, None) => return Ok(RopeScaling::None),
        };
        let need = |v: Option<f64>, name: &str| {
            v.ok_or_else(|| format!("RoPE scaling `{name}` is missing from config.json"))
        };
        match p.rope_type.as_deref().unwrap_or("default") {
            "default" => Ok(RopeScaling::None),
            "linear" => Ok(RopeScaling::Linear {
                factor: need(p.factor, "factor")?,
            }),
            "llama3" => Ok(RopeScaling::Llama3 {
                factor: need(p.factor, "factor")?,
                low_freq_factor: need(p.low_freq_factor, "low_freq_factor")?,
                high_freq_factor: need(p.high_freq_factor, "high_freq_factor")?,
                original_max_position_embeddings: p
                    .original_max_position_embeddings
                    .ok_or("RoPE scaling `original_max_position_embeddings` is missing")?,
            }),
            other => Err(format!(
                "RoPE scaling `{other}` is not supported (supported: default, linear, llama3)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transformers_five_rope_parameters_are_understood() {
        let cfg: LlamaConfig = serde_json::from_str(
            r#"{"vocab_size":100,"hidden_size":32,"intermediate_size":64,"num_hidden_layers":2,
            "num_attention_heads":4,"num_key_value_heads":2,"model_type":"llama",
            "rope_parameters":{"rope_type":"llama3","rope_theta":500000.0,"factor":8.0,
            "low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":64}}"#,
        )
        .expect("config");
        assert_eq!(cfg.rope_theta(), 500000.0);
        assert!(matches!(
            cfg.rope_scaling_kind(),
            Ok(RopeScaling::Llama3 { .. })
        ));
        assert_eq!(cfg.head_dim(), 8);
        assert!(cfg.validate().is_ok());
    }

    #[test]
    fn an_unknown_architecture_is_refused_by_name() {
        let cfg: LlamaConfig = serde_json::from_str(
            r#"{"vocab_size":10,"hidden_size":8,"intermediate_size":8,"num_hidden_layers":1,
            "num_attention_heads":2,"model_type":"gpt_neox"}"#,
        )
        .expect("config");
        assert!(cfg.validate().unwrap_err().contains("gpt_neox"));
    }

    #[test]
    fn yarn_scaling_is_refused_rather_than_ignored() {
        let cfg: LlamaConfig = serde_json::from_str(
            r#"{"vocab_size":10,"hidden_size":8,"intermediate_size":8,"num_hidden_layers":1,
            "num_attention_heads":2,"rope_scaling":{"type":"yarn","factor":4.0}}"#,
        )
        .expect("config");
        assert!(cfg.validate().unwrap_err().contains("yarn"));
    }
}
