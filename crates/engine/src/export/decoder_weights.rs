//! A decoder's weights as plain dense tensors by transformers' names, with a fine-tuning folded in:
//! the starting point of every merged export.
//!
//! The base is read as it is stored (a checkpoint folder's safetensors, or a GGUF file dequantised
//! with llama.cpp's Q/K permutation undone, as [`crate::models::llama::LlamaModel`] loads it), so
//! what is exported is exactly what Tunesmith trained on. A LoRA adapter is folded in as PEFT's
//! `merge_and_unload` does (`W + scale * B A`); a full fine-tune's checkpoint replaces the tensors
//! it holds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};

use crate::adapters::peft::PeftAdapter;
use crate::gguf::{self, GgufFile};
use crate::models::checkpoint::Checkpoint;
use crate::models::llama_config::LlamaConfig;
use crate::train::checkpoint::load_tensors;
use crate::nn::rope::{inverse_frequencies, RopeScaling};
use crate::{EngineError, Result};

/// Where the base weights came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BaseSource {
    /// A transformers checkpoint folder.
    Folder(PathBuf),
    /// A `.gguf` file.
    Gguf(PathBuf),
}

/// A decoder's dense weights (f32, by transformers' tensor names) and its configuration.
#[derive(Debug, Clone)]
pub struct DecoderWeights {
    /// The architecture and sizes.
    pub config: LlamaConfig,
    /// RoPE's per-frequency divisors when the model scales RoPE that way (Llama 3's scaling, as a
    /// GGUF file's `rope_freqs.weight` stores it); `None` when RoPE is unscaled or linearly scaled.
    pub rope_factors: Option<Vec<f32>>,
    /// Every weight, by transformers' name (`model.layers.0.self_attn.q_proj.weight`).
    pub tensors: BTreeMap<String, Tensor>,
    /// The base it was read from.
    pub source: BaseSource,
    /// The dtype a merged folder is written in: the folder's own (its first floating tensor's), or
    /// bf16 for a GGUF file, whose quantised blocks hold far less precision than bf16 keeps.
    pub stored_dtype: DType,
}

fn bad(path: &Path, reason: String) -> EngineError {
    EngineError::Checkpoint {
        path: path.to_path_buf(),
        reason,
    }
}

impl DecoderWeights {
    /// Reads the base decoder at `path` (a checkpoint folder or a `.gguf` file) as dense f32 tensors.
    pub fn load_base(path: &Path) -> Result<Self> {
        let is_gguf = path.is_file()
            && path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("gguf"));
        if is_gguf {
            return Self::load_gguf(path);
        }
        let config = LlamaConfig::from_file(&path.join("config.json"))?;
        config
            .validate()
            .map_err(|r| bad(&path.join("config.json"), r))?;
        let checkpoint = Checkpoint::open(path)?;
        let mut tensors = BTreeMap::new();
        let mut stored: Option<(String, DType)> = None;
        for file in checkpoint.files() {
            let loaded = candle_core::safetensors::load(file, &Device::Cpu)
                .map_err(|e| bad(file, format!("cannot be read: {e}")))?;
            for (name, t) in loaded {
                if t.dtype().is_float() && stored.as_ref().is_none_or(|(n, _)| name < *n) {
                    stored = Some((name.clone(), t.dtype()));
                }
                tensors.insert(name, t.to_dtype(DType::F32)?);
            }
        }
        let rope_factors = match config.rope_scaling_kind().map_err(|r| bad(path, r))? {
            RopeScaling::None | RopeScaling::Linear { .. } => None,
            scaling => Some(per_frequency_divisors(&config, &scaling)),
        };
        Ok(Self {
            config,
            rope_factors,
            tensors,
            source: BaseSource::Folder(path.to_path_buf()),
            stored_dtype: stored.map_or(DType::F32, |(_, d)| d),
        })
    }

    fn load_gguf(path: &Path) -> Result<Self> {
        let mut file = GgufFile::open(path)?;
        let (config, per_freq) = gguf::config::llama_config(&mut file)?;
        let permuted = file.string("general.architecture")? != "qwen2";
        let names: Vec<String> = file.tensor_names().map(str::to_string).collect();
        let mut tensors = BTreeMap::new();
        for name in names {
            let Some(hf) = gguf::names::hf_name(&name) else {
                continue;
            };
            let mut t = file.dequantized(&name, &Device::Cpu)?;
            if permuted {
                if hf.contains("self_attn.q_proj.") {
                    t = gguf::permute::unpermute_qk(&t, config.num_attention_heads)?;
                } else if hf.contains("self_attn.k_proj.") {
                    t = gguf::permute::unpermute_qk(&t, config.kv_heads())?;
                }
            }
            tensors.insert(hf, t.to_dtype(DType::F32)?);
        }
        let rope_factors = match per_freq {
            Some(RopeScaling::PerFrequency(f)) => Some(f),
            _ => None,
        };
        Ok(Self {
            config,
            rope_factors,
            tensors,
            source: BaseSource::Gguf(path.to_path_buf()),
            stored_dtype: DType::BF16,
        })
    }

    /// Folds LoRA `adapter` into the weights (`W += scale * B A` for each adapted module). Every
    /// module the adapter adapts must exist in the base with the factors' shape: an adapter of
    /// another model is refused before anything changes.
    pub fn merge_lora(&mut self, adapter: &PeftAdapter, adapter_dir: &Path) -> Result<()> {
        let scale = adapter.config.scale();
        let mut merged = Vec::with_capacity(adapter.factors.len());
        for (module, (a, b)) in &adapter.factors {
            let name = format!("{module}.weight");
            let w = self.tensors.get(&name).ok_or_else(|| {
                bad(
                    adapter_dir,
                    format!(
                        "adapts `{module}`, which the base model does not have; was it trained on another model?"
                    ),
                )
            })?;
            let delta = (b.to_dtype(DType::F32)?.matmul(&a.to_dtype(DType::F32)?)? * scale)?;
            if delta.dims() != w.dims() {
                return Err(bad(
                    adapter_dir,
                    format!(
                        "the factors of `{module}` make a {:?} update but the base weight is {:?}; was it trained on another model?",
                        delta.dims(),
                        w.dims()
                    ),
                ));
            }
            merged.push((name, (w + delta)?));
        }
        if !adapter.saved.is_empty() {
            let names: Vec<&str> = adapter.saved.keys().map(String::as_str).collect();
            return Err(bad(
                adapter_dir,
                format!(
                    "also saves whole modules ({}), which a decoder export does not fold in",
                    names.join(", ")
                ),
            ));
        }
        self.tensors.extend(merged);
        Ok(())
    }

    /// Folds the PEFT adapter saved in `adapter_dir` into the weights, as [`Self::merge_lora`]
    /// (the adapter read on the CPU, where exports work).
    pub fn merge_adapter_dir(&mut self, adapter_dir: &Path) -> Result<()> {
        let adapter = PeftAdapter::load(adapter_dir, &Device::Cpu)?;
        self.merge_lora(&adapter, adapter_dir)
    }

    /// Replaces weights with the full fine-tune saved in the training checkpoint at `checkpoint`
    /// (its `w.<name>` entries), as [`Self::replace`].
    pub fn replace_from_checkpoint(&mut self, checkpoint: &Path) -> Result<()> {
        let (tensors, _) = load_tensors(checkpoint, &Device::Cpu)?;
        let trained = tensors
            .into_iter()
            .filter_map(|(k, t)| k.strip_prefix("w.").map(|k| (k.to_string(), t)))
            .collect();
        self.replace(trained, checkpoint)
    }

    /// The stored precision of the base's weights in words a transformers user knows
    /// (`bfloat16`, `float16`, `float32`): what a merged folder is written in.
    pub fn stored_precision(&self) -> &'static str {
        match self.stored_dtype {
            DType::BF16 => "bfloat16",
            DType::F16 => "float16",
            _ => "float32",
        }
    }

    /// Replaces weights with a full fine-tune's: `trained` maps transformers' names to tensors (a
    /// run checkpoint's `w.<name>` entries, prefix removed). A name the base lacks or a shape that
    /// differs is refused before anything changes.
    pub fn replace(&mut self, trained: BTreeMap<String, Tensor>, checkpoint: &Path) -> Result<()> {
        for (name, t) in &trained {
            match self.tensors.get(name) {
                Some(w) if w.dims() == t.dims() => {}
                Some(w) => {
                    return Err(bad(
                        checkpoint,
                        format!(
                            "holds `{name}` with shape {:?}, the base has {:?}; it belongs to another model",
                            t.dims(),
                            w.dims()
                        ),
                    ))
                }
                None => {
                    return Err(bad(
                        checkpoint,
                        format!("holds `{name}`, which the base model does not have; it belongs to another model"),
                    ))
                }
            }
        }
        for (name, t) in trained {
            self.tensors.insert(name, t.to_dtype(DType::F32)?);
        }
        Ok(())
    }
}

/// RoPE's per-frequency divisors for `scaling`, in llama.cpp's convention (`rope_freqs.weight`: each
/// base frequency is divided by its entry).
fn per_frequency_divisors(config: &LlamaConfig, scaling: &RopeScaling) -> Vec<f32> {
    let head_dim = config.head_dim();
    let theta = config.rope_theta();
    let plain = inverse_frequencies(head_dim, theta, &RopeScaling::None);
    let scaled = inverse_frequencies(head_dim, theta, scaling);
    plain.iter().zip(&scaled).map(|(p, s)| p / s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_frequency_divisors_reproduce_the_scaled_frequencies() -> Result<()> {
        let config: LlamaConfig = serde_json::from_str(
            r#"{"model_type":"llama","vocab_size":10,"hidden_size":32,"intermediate_size":64,
                "num_hidden_layers":1,"num_attention_heads":4,"rms_norm_eps":1e-5,
                "max_position_embeddings":128,"hidden_act":"silu",
                "rope_scaling":{"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0,
                  "high_freq_factor":4.0,"original_max_position_embeddings":16}}"#,
        )
        .map_err(|e| EngineError::Invalid(e.to_string()))?;
        let scaling = config.rope_scaling_kind().map_err(EngineError::Invalid)?;
        let divisors = per_frequency_divisors(&config, &scaling);
        let again =
            inverse_frequencies(8, config.rope_theta(), &RopeScaling::PerFrequency(divisors));
        let want = inverse_frequencies(8, config.rope_theta(), &scaling);
        for (a, b) in again.iter().zip(&want) {
            assert!((a - b).abs() <= 1e-6 * b.abs().max(1e-12), "{a} vs {b}");
        }
        Ok(())
    }
}
