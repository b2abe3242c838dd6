//! What Tunesmith reads from a model's `config.json`: architecture and the sizes the memory estimate
//! and the registry need. Foreign names (BERT's, DistilBERT's, Llama's) are mapped here, once.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::support::{support_of, Support};
use crate::{HubError, Result};

/// The parts of `config.json` Tunesmith uses.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ModelConfig {
    /// `architectures`.
    #[serde(default)]
    pub architectures: Vec<String>,
    /// `model_type`.
    #[serde(default)]
    pub model_type: Option<String>,
    /// Width of the hidden states (`hidden_size`, DistilBERT's `dim`).
    #[serde(default, alias = "dim", alias = "n_embd")]
    pub hidden_size: Option<u64>,
    /// Transformer layers (`num_hidden_layers`, DistilBERT's `n_layers`).
    #[serde(default, alias = "n_layers", alias = "n_layer")]
    pub num_hidden_layers: Option<u64>,
    /// Attention heads (`num_attention_heads`, DistilBERT's `n_heads`).
    #[serde(default, alias = "n_heads", alias = "n_head")]
    pub num_attention_heads: Option<u64>,
    /// Key/value heads for grouped-query attention (defaults to the attention heads).
    #[serde(default)]
    pub num_key_value_heads: Option<u64>,
    /// Width of the feed-forward layer (`intermediate_size`, DistilBERT's `hidden_dim`).
    #[serde(default, alias = "hidden_dim")]
    pub intermediate_size: Option<u64>,
    /// Vocabulary size.
    #[serde(default)]
    pub vocab_size: Option<u64>,
    /// Context length (`max_position_embeddings`).
    #[serde(default, alias = "n_positions")]
    pub max_position_embeddings: Option<u64>,
    /// Whether the output projection shares the embedding matrix.
    #[serde(default)]
    pub tie_word_embeddings: Option<bool>,
}

impl ModelConfig {
    /// Reads and parses `config.json` at `path`.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| HubError::io(path, e))?;
        Self::parse(&text).map_err(|reason| HubError::invalid(path, reason))
    }

    /// Parses the text of a `config.json`.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        serde_json::from_str(text).map_err(|e| {
            format!("config.json is not valid JSON ({e}); re-download or fix the file")
        })
    }

    /// Whether the engine loads this model.
    pub fn support(&self) -> Support {
        support_of(&self.architectures, self.model_type.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distilbert_names_are_read_under_the_common_ones() {
        let c = ModelConfig::parse(r#"{"architectures":["DistilBertModel"],"dim":768,"n_layers":6,"n_heads":12,"hidden_dim":3072,"vocab_size":30522,"max_position_embeddings":512}"#).unwrap();
        assert_eq!(c.hidden_size, Some(768));
        assert_eq!(c.num_hidden_layers, Some(6));
        assert_eq!(c.intermediate_size, Some(3072));
        assert!(c.support().supported);
    }
}
