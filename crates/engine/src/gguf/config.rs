//! A Llama-family configuration from GGUF metadata (`{arch}.block_count`, `{arch}.rope.freq_base` ...).
//!
//! The architecture is `general.architecture`; `llama` (which covers Llama 2/3, Mistral and SmolLM2
//! conversions), `mistral` and `qwen2` are understood. Tied embeddings are inferred from the absence
//! of `output.weight`, and Llama 3's RoPE scaling from the `rope_freqs.weight` tensor llama.cpp
//! stores instead of the config's numbers.

use crate::gguf::GgufFile;
use crate::models::llama_config::{LlamaConfig, RopeParameters, TokenIds};
use crate::nn::rope::RopeScaling;
use crate::{EngineError, Result};

/// The architectures whose GGUF files this decoder reads.
pub const GGUF_ARCHITECTURES: &[&str] = &["llama", "mistral", "qwen2"];

/// The configuration a GGUF file describes, plus RoPE per-frequency factors when the file has them.
pub fn llama_config(file: &mut GgufFile) -> Result<(LlamaConfig, Option<RopeScaling>)> {
    let arch = file.string("general.architecture")?;
    if !GGUF_ARCHITECTURES.contains(&arch.as_str()) {
        return Err(EngineError::Checkpoint {
            path: file.path().to_path_buf(),
            reason: format!(
                "the GGUF architecture `{arch}` is not supported (supported: {}); pick a Llama, Mistral, \
                 Qwen2 or SmolLM2 model",
                GGUF_ARCHITECTURES.join(", ")
            ),
        });
    }
    let key = |k: &str| format!("{arch}.{k}");
    let heads = file.uint(&key("attention.head_count"))? as usize;
    let hidden = file.uint(&key("embedding_length"))? as usize;
    let vocab_size = match file.uint(&key("vocab_size")) {
        Ok(v) => v as usize,
        Err(_) => file.strings("tokenizer.ggml.tokens")?.len(),
    };
    let head_dim = file
        .uint(&key("attention.key_length"))
        .ok()
        .map(|v| v as usize);
    let rope_theta = file.float(&key("rope.freq_base")).unwrap_or(10000.0);
    let linear_factor = match file.string(&key("rope.scaling.type")).ok().as_deref() {
        Some("linear") => Some(file.float(&key("rope.scaling.factor"))?),
        Some("none") | None => None,
        Some(other) => {
            return Err(EngineError::Checkpoint {
                path: file.path().to_path_buf(),
                reason: format!("RoPE scaling `{other}` in this GGUF file is not supported"),
            })
        }
    };
    let per_freq = if file.has_tensor("rope_freqs.weight") {
        let t = file.dequantized("rope_freqs.weight", &candle_core::Device::Cpu)?;
        Some(RopeScaling::PerFrequency(
            t.flatten_all()?.to_vec1::<f32>()?,
        ))
    } else {
        None
    };
    let cfg = LlamaConfig {
        model_type: if arch == "qwen2" {
            "qwen2".into()
        } else {
            "llama".into()
        },
        vocab_size,
        hidden_size: hidden,
        intermediate_size: file.uint(&key("feed_forward_length"))? as usize,
        num_hidden_layers: file.uint(&key("block_count"))? as usize,
        num_attention_heads: heads,
        num_key_value_heads: Some(
            file.uint(&key("attention.head_count_kv"))
                .unwrap_or(heads as u64) as usize,
        ),
        head_dim,
        rms_norm_eps: file
            .float(&key("attention.layer_norm_rms_epsilon"))
            .unwrap_or(1e-6),
        rope_theta: Some(rope_theta),
        rope_scaling: linear_factor.map(|f| RopeParameters {
            rope_type: Some("linear".into()),
            factor: Some(f),
            ..Default::default()
        }),
        rope_parameters: None,
        max_position_embeddings: file.uint(&key("context_length")).unwrap_or(2048) as usize,
        tie_word_embeddings: !file.has_tensor("output.weight"),
        attention_bias: file.has_tensor("blk.0.attn_output.bias"),
        mlp_bias: false,
        hidden_act: "silu".into(),
        bos_token_id: file
            .uint("tokenizer.ggml.bos_token_id")
            .ok()
            .map(|v| TokenIds::One(v as u32)),
        eos_token_id: file
            .uint("tokenizer.ggml.eos_token_id")
            .ok()
            .map(|v| TokenIds::One(v as u32)),
    };
    cfg.validate().map_err(|reason| EngineError::Checkpoint {
        path: file.path().to_path_buf(),
        reason,
    })?;
    Ok((cfg, per_freq))
}
