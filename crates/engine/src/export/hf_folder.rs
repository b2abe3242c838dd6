//! Writing a decoder as a transformers checkpoint folder: `config.json`, `model.safetensors` and
//! the tokenizer files, loadable with `AutoModelForCausalLM.from_pretrained(folder)` (and by
//! Tunesmith itself, as a local model).
//!
//! From a checkpoint folder the base's own `config.json` and tokenizer files are carried over; from
//! a GGUF file they are rebuilt from its metadata (`config.json` from the sizes,
//! `tokenizer.json` from the rebuilt tokenizer, `tokenizer_config.json` with the chat template and
//! special tokens).

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Tensor};
use serde_json::{json, Map, Value};

use crate::export::decoder_weights::{BaseSource, DecoderWeights};
use crate::export::write_text;
use crate::gguf::GgufFile;
use crate::models::checkpoint::read_json;
use crate::tokenizer::GgufTokenizer;
use crate::{EngineError, Result};

/// The weights file's name.
pub const WEIGHTS_FILE: &str = "model.safetensors";

/// transformers' name for a dtype (`torch_dtype` / `dtype` in `config.json`).
fn torch_name(dtype: DType) -> &'static str {
    match dtype {
        DType::BF16 => "bfloat16",
        DType::F16 => "float16",
        _ => "float32",
    }
}

/// Writes `weights` as a transformers folder in `dir` (which must exist), weights in `dtype`.
pub fn write_hf_folder(dir: &Path, weights: &DecoderWeights, dtype: DType) -> Result<()> {
    let tied = weights.config.tie_word_embeddings;
    let mut tensors: Vec<(String, Tensor)> = Vec::with_capacity(weights.tensors.len());
    for (name, t) in &weights.tensors {
        if tied && name == "lm_head.weight" {
            continue;
        }
        tensors.push((name.clone(), t.to_dtype(dtype)?.contiguous()?));
    }
    let path = dir.join(WEIGHTS_FILE);
    let meta = HashMap::from([("format".to_string(), "pt".to_string())]);
    safetensors::tensor::serialize_to_file(
        tensors.iter().map(|(n, t)| (n.as_str(), t)),
        Some(meta),
        &path,
    )
    .map_err(|e| {
        let needed = tensors
            .iter()
            .map(|(_, t)| (t.elem_count() * t.dtype().size_in_bytes()) as u64)
            .sum();
        super::safetensors_write_error(&path, needed, e)
    })?;

    match &weights.source {
        BaseSource::Folder(base) => {
            let mut config: Value = read_json(&base.join("config.json"))?;
            if let Some(obj) = config.as_object_mut() {
                set_dtype(obj, dtype);
            }
            write_json(&dir.join("config.json"), &config)?;
            copy_tokenizer_files(base, dir)
        }
        BaseSource::Gguf(base) => {
            let file = GgufFile::open(base)?;
            let tokenizer = GgufTokenizer::from_gguf(&file)?;
            write_json(
                &dir.join("config.json"),
                &config_from_gguf(weights, &file, dtype)?,
            )?;
            let tok_path = dir.join("tokenizer.json");
            tokenizer
                .tokenizer
                .save(&tok_path, false)
                .map_err(|e| EngineError::Checkpoint {
                    path: tok_path.clone(),
                    reason: format!("cannot be written: {e}"),
                })?;
            write_json(
                &dir.join("tokenizer_config.json"),
                &tokenizer_config_from_gguf(&tokenizer, weights.config.max_position_embeddings),
            )
        }
    }
}

fn set_dtype(obj: &mut Map<String, Value>, dtype: DType) {
    let name = Value::String(torch_name(dtype).into());
    let mut set = false;
    for key in ["torch_dtype", "dtype"] {
        if obj.contains_key(key) {
            obj.insert(key.into(), name.clone());
            set = true;
        }
    }
    if !set {
        obj.insert("torch_dtype".into(), name);
    }
}

/// `config.json` for a model read from GGUF metadata. A model whose RoPE scaling GGUF stores as
/// per-frequency factors is refused: `config.json` has no way to say it.
fn config_from_gguf(weights: &DecoderWeights, file: &GgufFile, dtype: DType) -> Result<Value> {
    let c = &weights.config;
    if weights.rope_factors.is_some() {
        return Err(EngineError::Checkpoint {
            path: file.path().to_path_buf(),
            reason: "scales RoPE by per-frequency factors, which config.json cannot express; export GGUF \
                     instead, or fine-tune the model's safetensors folder"
                .into(),
        });
    }
    let qwen = c.model_type == "qwen2";
    let mut v = json!({
        "architectures": [if qwen { "Qwen2ForCausalLM" } else { "LlamaForCausalLM" }],
        "model_type": if qwen { "qwen2" } else { "llama" },
        "vocab_size": c.vocab_size,
        "hidden_size": c.hidden_size,
        "intermediate_size": c.intermediate_size,
        "num_hidden_layers": c.num_hidden_layers,
        "num_attention_heads": c.num_attention_heads,
        "num_key_value_heads": c.kv_heads(),
        "head_dim": c.head_dim(),
        "hidden_act": c.hidden_act,
        "max_position_embeddings": c.max_position_embeddings,
        "rms_norm_eps": c.rms_norm_eps,
        "rope_theta": c.rope_theta(),
        "tie_word_embeddings": c.tie_word_embeddings,
        "attention_bias": c.attention_bias,
        "mlp_bias": c.mlp_bias,
        "bos_token_id": c.bos_token_id.as_ref().and_then(|t| t.to_vec().first().copied()),
        "eos_token_id": c.eos_token_id.as_ref().and_then(|t| t.to_vec().first().copied()),
        "use_cache": true,
    });
    if let Ok(crate::nn::rope::RopeScaling::Linear { factor }) = c.rope_scaling_kind() {
        v["rope_scaling"] = json!({"rope_type": "linear", "factor": factor});
    }
    if let Some(obj) = v.as_object_mut() {
        set_dtype(obj, dtype);
    }
    Ok(v)
}

/// `tokenizer_config.json` for a tokenizer rebuilt from GGUF metadata.
fn tokenizer_config_from_gguf(tokenizer: &GgufTokenizer, max_len: usize) -> Value {
    let text = |id: Option<u32>| id.and_then(|i| tokenizer.tokenizer.id_to_token(i));
    let mut v = json!({
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": max_len,
        "add_bos_token": tokenizer.special.add_bos,
        "clean_up_tokenization_spaces": false,
    });
    for (key, id) in [
        ("bos_token", tokenizer.special.bos),
        ("eos_token", tokenizer.special.eos),
        ("pad_token", tokenizer.special.pad),
    ] {
        if let Some(t) = text(id) {
            v[key] = Value::String(t);
        }
    }
    if let Some(t) = &tokenizer.chat_template {
        v["chat_template"] = Value::String(t.clone());
    }
    v
}

/// Copies the base folder's tokenizer and generation files (everything but weights and config).
fn copy_tokenizer_files(base: &Path, dir: &Path) -> Result<()> {
    let entries = std::fs::read_dir(base).map_err(|e| EngineError::Checkpoint {
        path: base.to_path_buf(),
        reason: format!("cannot be listed: {e}"),
    })?;
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let weights = [
            ".safetensors",
            ".bin",
            ".pt",
            ".pth",
            ".gguf",
            ".safetensors.index.json",
        ]
        .iter()
        .any(|ext| name.ends_with(ext));
        if !path.is_file() || weights || name == "config.json" || name.starts_with('.') {
            continue;
        }
        std::fs::copy(&path, dir.join(name)).map_err(|e| {
            let needed = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            crate::train::checkpoint::write_error(&dir.join(name), needed, &e)
        })?;
    }
    Ok(())
}

fn write_json(path: &Path, value: &Value) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| EngineError::Invalid(format!("cannot serialise {}: {e}", path.display())))?;
    write_text(path, &(text + "\n"))
}
