//! The "supported" badge: whether Tunesmith's engine can load a model, decided from the
//! `architectures` (and `model_type`) of its `config.json`, with the reason when it cannot.
//!
//! The table mirrors the engine's loaders (crates/engine/src/models); a model family is added here
//! when the engine loads and trains it, never before.

use serde::{Deserialize, Serialize};

/// Encoders (classification, embeddings) or decoders (generation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// BERT-like: classification and sentence embeddings.
    Encoder,
    /// Llama-like: text generation.
    Decoder,
}

/// The architectures the engine loads, by `config.json` name, with their family.
pub const SUPPORTED_ARCHITECTURES: &[(&str, Family)] = &[
    ("BertModel", Family::Encoder),
    ("BertForSequenceClassification", Family::Encoder),
    ("BertForMaskedLM", Family::Encoder),
    ("RobertaModel", Family::Encoder),
    ("RobertaForSequenceClassification", Family::Encoder),
    ("RobertaForMaskedLM", Family::Encoder),
    ("XLMRobertaModel", Family::Encoder),
    ("XLMRobertaForSequenceClassification", Family::Encoder),
    ("XLMRobertaForMaskedLM", Family::Encoder),
    ("DistilBertModel", Family::Encoder),
    ("DistilBertForSequenceClassification", Family::Encoder),
    ("DistilBertForMaskedLM", Family::Encoder),
    ("LlamaForCausalLM", Family::Decoder),
    ("MistralForCausalLM", Family::Decoder),
    ("Qwen2ForCausalLM", Family::Decoder),
];

/// `model_type` values (also GGUF `general.architecture`) of the supported families, used when a
/// config lists no architectures (sentence-transformers repos often do not).
pub const SUPPORTED_MODEL_TYPES: &[(&str, Family)] = &[
    ("bert", Family::Encoder),
    ("roberta", Family::Encoder),
    ("xlm-roberta", Family::Encoder),
    ("distilbert", Family::Encoder),
    ("llama", Family::Decoder),
    ("mistral", Family::Decoder),
    ("qwen2", Family::Decoder),
];

/// The verdict on one model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Support {
    /// Whether the engine loads it.
    pub supported: bool,
    /// Encoder or decoder, when known.
    pub family: Option<Family>,
    /// The architecture that decided it.
    pub architecture: Option<String>,
    /// Why it is not supported (absent when it is).
    pub reason: Option<String>,
}

/// Decides support from a config's `architectures` and `model_type`.
pub fn support_of(architectures: &[String], model_type: Option<&str>) -> Support {
    for arch in architectures {
        if let Some((_, family)) = SUPPORTED_ARCHITECTURES.iter().find(|(a, _)| a == arch) {
            return Support {
                supported: true,
                family: Some(*family),
                architecture: Some(arch.clone()),
                reason: None,
            };
        }
    }
    if architectures.is_empty() {
        if let Some(mt) = model_type {
            if let Some((_, family)) = SUPPORTED_MODEL_TYPES.iter().find(|(t, _)| *t == mt) {
                return Support {
                    supported: true,
                    family: Some(*family),
                    architecture: Some(mt.to_string()),
                    reason: None,
                };
            }
        }
    }
    let named = if !architectures.is_empty() {
        format!("architecture {}", architectures.join(", "))
    } else if let Some(mt) = model_type {
        format!("model type `{mt}`")
    } else {
        return Support {
            supported: false,
            family: None,
            architecture: None,
            reason: Some(
                "its config.json names no architecture, so Tunesmith cannot tell how to load it"
                    .to_string(),
            ),
        };
    };
    Support {
        supported: false,
        family: None,
        architecture: architectures.first().cloned().or_else(|| model_type.map(str::to_string)),
        reason: Some(format!(
            "{named} is not one Tunesmith's engine loads yet; it loads BERT, RoBERTa, XLM-RoBERTa and DistilBERT \
             encoders and Llama, Mistral and Qwen2 decoders"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_llama_decoder_is_supported_and_a_t5_is_not_with_a_reason() {
        let s = support_of(&["LlamaForCausalLM".into()], Some("llama"));
        assert!(s.supported);
        assert_eq!(s.family, Some(Family::Decoder));
        let t5 = support_of(&["T5ForConditionalGeneration".into()], Some("t5"));
        assert!(!t5.supported);
        assert!(t5.reason.unwrap().contains("T5ForConditionalGeneration"));
    }

    #[test]
    fn a_config_without_architectures_falls_back_to_its_model_type() {
        assert!(support_of(&[], Some("bert")).supported);
        assert!(!support_of(&[], None).supported);
    }
}
