//! Writing a decoder as one `.gguf` file that llama.cpp (and LM Studio, Ollama, ...) loads.
//!
//! Tensors take llama.cpp's names, Q and K get its row permutation back (Llama-style
//! architectures), vectors (norms, biases, RoPE factors) stay f32 and matrices are stored as F16
//! or Q8_0. The metadata is the base GGUF's own when the base was a GGUF file (architecture,
//! tokenizer, chat template: everything llama.cpp read before), or is built from `config.json` and
//! `tokenizer.json` for a checkpoint folder.

use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::Tensor;

use crate::export::decoder_weights::{BaseSource, DecoderWeights};
use crate::export::gguf_tokenizer::tokenizer_metadata;
use crate::gguf::{self, GgufFile};
use crate::train::checkpoint::write_error;
use crate::{EngineError, Result};

/// The GGUF format version written (current llama.cpp writes 3).
pub const GGUF_VERSION: u32 = 3;

/// How the matrices are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GgufType {
    /// 16-bit floats: no loss beyond rounding (about 2 bytes per weight).
    #[default]
    F16,
    /// 8-bit blocks (llama.cpp's Q8_0): half the size of F16, nearly no loss.
    Q8_0,
}

impl GgufType {
    /// llama.cpp's `general.file_type` for it.
    fn file_type(self) -> u32 {
        match self {
            GgufType::F16 => 1,
            GgufType::Q8_0 => 7,
        }
    }

    fn ggml(self) -> GgmlDType {
        match self {
            GgufType::F16 => GgmlDType::F16,
            GgufType::Q8_0 => GgmlDType::Q8_0,
        }
    }
}

/// llama.cpp's architecture name for the model.
fn architecture(weights: &DecoderWeights) -> &'static str {
    if weights.config.model_type == "qwen2" {
        "qwen2"
    } else {
        "llama"
    }
}

/// Writes `weights` to `path` as GGUF with matrices in `ty`, naming the model `name`.
pub fn write_gguf(path: &Path, weights: &DecoderWeights, ty: GgufType, name: &str) -> Result<()> {
    let mut metadata = match &weights.source {
        BaseSource::Gguf(base) => metadata_of_gguf(base)?,
        BaseSource::Folder(dir) => {
            let mut m = architecture_metadata(weights);
            m.extend(tokenizer_metadata(dir, &weights.config)?);
            m
        }
    };
    metadata.retain(|(k, _)| {
        !matches!(
            k.as_str(),
            "general.name"
                | "general.file_type"
                | "general.alignment"
                | "general.quantization_version"
        )
    });
    metadata.push(("general.name".into(), Value::String(name.into())));
    metadata.push(("general.file_type".into(), Value::U32(ty.file_type())));
    metadata.push(("general.quantization_version".into(), Value::U32(2)));

    let tensors = gguf_tensors(weights, ty)?;
    let meta_refs: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let tensor_refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, t)| (k.as_str(), t)).collect();

    let needed: u64 = tensors
        .iter()
        .map(|(_, t)| t.storage_size_in_bytes() as u64)
        .sum();
    let file = std::fs::File::create(path).map_err(|e| EngineError::Checkpoint {
        path: path.to_path_buf(),
        reason: format!("cannot be created: {e}"),
    })?;
    let mut w = BufWriter::new(file);
    gguf_file::write(&mut w, &meta_refs, &tensor_refs).map_err(|e| match e {
        candle_core::Error::Io(io) => write_error(path, needed, &io),
        other => EngineError::Checkpoint {
            path: path.to_path_buf(),
            reason: format!("cannot be written: {other}"),
        },
    })?;
    // candle writes version 2; current llama.cpp writes 3, which differs only in allowing
    // big-endian files (ours are little-endian): the same bytes with the version field set to 3.
    w.seek(SeekFrom::Start(4))
        .and_then(|_| w.write_all(&GGUF_VERSION.to_le_bytes()))
        .map_err(|e| write_error(path, needed, &e))?;
    let file = w
        .into_inner()
        .map_err(|e| write_error(path, needed, e.error()))?;
    file.sync_all().map_err(|e| write_error(path, needed, &e))?;
    Ok(())
}

/// The base GGUF's metadata, every key as it was.
fn metadata_of_gguf(base: &Path) -> Result<Vec<(String, Value)>> {
    let file = GgufFile::open(base)?;
    let mut keys: Vec<(String, Value)> = file
        .metadata()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    keys.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(keys)
}

/// `general.architecture` and the `{arch}.*` sizes llama.cpp reads, from the configuration.
fn architecture_metadata(weights: &DecoderWeights) -> Vec<(String, Value)> {
    let cfg = &weights.config;
    let arch = architecture(weights);
    let key = |k: &str| format!("{arch}.{k}");
    let u = |v: usize| Value::U32(v as u32);
    let mut m = vec![
        (
            "general.architecture".to_string(),
            Value::String(arch.into()),
        ),
        (key("context_length"), u(cfg.max_position_embeddings)),
        (key("embedding_length"), u(cfg.hidden_size)),
        (key("block_count"), u(cfg.num_hidden_layers)),
        (key("feed_forward_length"), u(cfg.intermediate_size)),
        (key("attention.head_count"), u(cfg.num_attention_heads)),
        (key("attention.head_count_kv"), u(cfg.kv_heads())),
        (
            key("attention.layer_norm_rms_epsilon"),
            Value::F32(cfg.rms_norm_eps as f32),
        ),
        (key("rope.freq_base"), Value::F32(cfg.rope_theta() as f32)),
        (key("rope.dimension_count"), u(cfg.head_dim())),
        (key("vocab_size"), u(cfg.vocab_size)),
    ];
    if cfg.head_dim() * cfg.num_attention_heads != cfg.hidden_size {
        m.push((key("attention.key_length"), u(cfg.head_dim())));
        m.push((key("attention.value_length"), u(cfg.head_dim())));
    }
    if let Ok(crate::nn::rope::RopeScaling::Linear { factor }) = cfg.rope_scaling_kind() {
        m.push((key("rope.scaling.type"), Value::String("linear".into())));
        m.push((key("rope.scaling.factor"), Value::F32(factor as f32)));
    }
    m
}

/// Every tensor under its GGUF name, permuted and stored as llama.cpp expects, in llama.cpp's order
/// (embedding, layers, final norm, output).
fn gguf_tensors(weights: &DecoderWeights, ty: GgufType) -> Result<Vec<(String, QTensor)>> {
    let cfg = &weights.config;
    let permuted = architecture(weights) == "llama";
    let mut out = Vec::with_capacity(weights.tensors.len() + 1);
    for (hf, t) in &weights.tensors {
        // A tied head is the embedding; RoPE's inverse frequencies (older checkpoints save them)
        // are recomputed by llama.cpp from the metadata.
        if (hf == "lm_head.weight" && cfg.tie_word_embeddings)
            || hf.ends_with("rotary_emb.inv_freq")
        {
            continue;
        }
        let name = gguf::names::gguf_name(hf).ok_or_else(|| {
            EngineError::Invalid(format!(
                "the model has a tensor `{hf}` that GGUF's Llama layout has no place for"
            ))
        })?;
        let mut t = t.clone();
        if permuted {
            if hf.contains("self_attn.q_proj.") {
                t = gguf::permute::permute_qk(&t, cfg.num_attention_heads)?;
            } else if hf.contains("self_attn.k_proj.") {
                t = gguf::permute::permute_qk(&t, cfg.kv_heads())?;
            }
        }
        out.push((name, store(&t, ty)?));
    }
    if let Some(factors) = &weights.rope_factors {
        let t = Tensor::new(factors.as_slice(), &candle_core::Device::Cpu)?;
        out.push((
            "rope_freqs.weight".into(),
            QTensor::quantize(&t, GgmlDType::F32)?,
        ));
    }
    out.sort_by_key(|(name, _)| order_key(name));
    Ok(out)
}

/// A matrix in `ty` (F16 when its rows do not split into Q8_0's 32-wide blocks); vectors in f32.
fn store(t: &Tensor, ty: GgufType) -> Result<QTensor> {
    let dtype = match t.dims() {
        [_] => GgmlDType::F32,
        [_, cols] if ty == GgufType::Q8_0 && cols % 32 != 0 => GgmlDType::F16,
        _ => ty.ggml(),
    };
    Ok(QTensor::quantize(&t.contiguous()?, dtype)?)
}

/// Sorts `token_embd`, `rope_freqs`, then blocks by number, then `output_norm` and `output`.
fn order_key(name: &str) -> (usize, usize, String) {
    match name.strip_prefix("blk.").and_then(|r| r.split_once('.')) {
        Some((n, rest)) => (1, n.parse().unwrap_or(usize::MAX), rest.to_string()),
        None if name.starts_with("output") => (2, 0, name.to_string()),
        None => (0, 0, name.to_string()),
    }
}
