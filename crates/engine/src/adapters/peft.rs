//! LoRA adapters in PEFT's file layout: `adapter_config.json` + `adapter_model.safetensors`.
//!
//! Promises:
//! - [`save`] writes what `PeftModel.save_pretrained` writes for LoRA: tensor names
//!   `base_model.model.<module>.lora_A.weight` (`r x in`) / `...lora_B.weight` (`out x r`), heads
//!   listed in `modules_to_save` as `base_model.model.<name>`, and a config PEFT reads back
//!   (`peft_type: LORA`, `r`, `lora_alpha`, `lora_dropout`, `target_modules`, `task_type`, ...).
//! - [`PeftAdapter::load`] reads such a folder (made by PEFT or by us); features we do not
//!   implement (DoRA, per-module rank or alpha patterns, `fan_in_fan_out`, bias training) are refused
//!   by name rather than silently producing different numbers.
//! - Merging is [`crate::nn::linear::Linear::merged`] (`W + (alpha/r) B A`) applied by each model.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use candle_core::{Device, Tensor};
use candle_nn::VarMap;
use serde_json::{json, Value};

use crate::adapters::lora::LoraConfig;
use crate::nn::params::{Backbone, LoraSetup};
use crate::{EngineError, Result};

/// The config file's name.
pub const CONFIG_FILE: &str = "adapter_config.json";
/// The weights file's name.
pub const WEIGHTS_FILE: &str = "adapter_model.safetensors";
/// Tunesmith's provenance beside the adapter (PEFT warns on unknown keys in its config, so they
/// live in a file of their own).
pub const PROVENANCE_FILE: &str = "tunesmith.json";
const PREFIX: &str = "base_model.model.";

/// A LoRA adapter read from a PEFT folder.
#[derive(Debug, Clone)]
pub struct PeftAdapter {
    /// Rank, alpha, dropout, targets.
    pub config: LoraConfig,
    /// PEFT's `task_type` (`SEQ_CLS`, `CAUSAL_LM`, ...), if set.
    pub task_type: Option<String>,
    /// The base model the adapter was trained on, as recorded.
    pub base_model_name_or_path: Option<String>,
    /// LoRA factors by module path (without `base_model.model.`): (`A`, `B`).
    pub factors: HashMap<String, (Tensor, Tensor)>,
    /// Fully saved modules' tensors (heads in `modules_to_save`) by their model name, e.g.
    /// `classifier.weight`.
    pub saved: HashMap<String, Tensor>,
}

impl PeftAdapter {
    /// Reads `dir/adapter_config.json` and `dir/adapter_model.safetensors` onto `device`.
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        let cfg_path = dir.join(CONFIG_FILE);
        let bad = |path: &Path, reason: String| EngineError::Checkpoint {
            path: path.to_path_buf(),
            reason,
        };
        let text = std::fs::read_to_string(&cfg_path).map_err(|e| {
            bad(
                &cfg_path,
                format!("cannot be read ({e}); is this a PEFT adapter folder?"),
            )
        })?;
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| bad(&cfg_path, format!("is not valid JSON: {e}")))?;
        let peft_type = v.get("peft_type").and_then(Value::as_str).unwrap_or("");
        if peft_type != "LORA" {
            return Err(bad(
                &cfg_path,
                format!("is a `{peft_type}` adapter; only LORA adapters are supported"),
            ));
        }
        let refuse = |what: &str| {
            bad(
                &cfg_path,
                format!("uses {what}, which Tunesmith does not implement"),
            )
        };
        if v.get("use_dora").and_then(Value::as_bool).unwrap_or(false) {
            return Err(refuse("DoRA (use_dora)"));
        }
        if v.get("fan_in_fan_out")
            .and_then(Value::as_bool)
            .unwrap_or(false)
        {
            return Err(refuse("fan_in_fan_out (GPT-2 style Conv1D weights)"));
        }
        for key in ["rank_pattern", "alpha_pattern"] {
            if v.get(key)
                .and_then(Value::as_object)
                .is_some_and(|m| !m.is_empty())
            {
                return Err(refuse(&format!("a per-module `{key}`")));
            }
        }
        if v.get("bias")
            .and_then(Value::as_str)
            .is_some_and(|b| b != "none")
        {
            return Err(refuse("trained biases (`bias` other than \"none\")"));
        }
        let r = v
            .get("r")
            .and_then(Value::as_u64)
            .ok_or_else(|| bad(&cfg_path, "has no rank `r`".into()))? as usize;
        let alpha = v.get("lora_alpha").and_then(Value::as_f64).unwrap_or(8.0);
        let dropout = v.get("lora_dropout").and_then(Value::as_f64).unwrap_or(0.0) as f32;
        let target_modules = match v.get("target_modules") {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            Some(Value::String(s)) if s == "all-linear" => vec!["all-linear".to_string()],
            Some(Value::String(s)) => {
                return Err(bad(
                    &cfg_path,
                    format!(
                    "targets modules by the regular expression `{s}`; list them by name instead"
                ),
                ))
            }
            _ => Vec::new(),
        };
        let use_rslora = v
            .get("use_rslora")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let config = LoraConfig {
            r,
            alpha,
            dropout,
            target_modules,
            use_rslora,
        };
        config
            .validate()
            .map_err(|e| bad(&cfg_path, e.to_string()))?;

        let w_path = dir.join(WEIGHTS_FILE);
        if !w_path.exists() {
            let reason = if dir.join("adapter_model.bin").exists() {
                "is missing; the folder holds only a pickle adapter_model.bin, which Tunesmith does not load (it can run arbitrary code); save the adapter with safe_serialization"
            } else {
                "is missing"
            };
            return Err(bad(&w_path, reason.into()));
        }
        crate::models::checkpoint::safetensors_header(&w_path)?;
        let tensors = candle_core::safetensors::load(&w_path, device)
            .map_err(|e| bad(&w_path, format!("cannot be read: {e}")))?;
        let mut a_map: HashMap<String, Tensor> = HashMap::new();
        let mut b_map: HashMap<String, Tensor> = HashMap::new();
        let mut saved = HashMap::new();
        for (name, t) in tensors {
            let short = name
                .strip_prefix(PREFIX)
                .unwrap_or(&name)
                .replace(".modules_to_save.default", "");
            if let Some(m) = short
                .strip_suffix(".lora_A.weight")
                .or_else(|| short.strip_suffix(".lora_A.default.weight"))
            {
                a_map.insert(m.to_string(), t);
            } else if let Some(m) = short
                .strip_suffix(".lora_B.weight")
                .or_else(|| short.strip_suffix(".lora_B.default.weight"))
            {
                b_map.insert(m.to_string(), t);
            } else {
                saved.insert(short, t);
            }
        }
        let mut factors = HashMap::new();
        for (m, a) in a_map {
            let b = b_map
                .remove(&m)
                .ok_or_else(|| bad(&w_path, format!("has lora_A but no lora_B for `{m}`")))?;
            if a.dims().first() != Some(&r) || b.dims().get(1) != Some(&r) {
                return Err(bad(
                    &w_path,
                    format!("the factors of `{m}` do not have rank {r} as the config says"),
                ));
            }
            factors.insert(m, (a, b));
        }
        if let Some(m) = b_map.keys().next() {
            return Err(bad(&w_path, format!("has lora_B but no lora_A for `{m}`")));
        }
        if factors.is_empty() {
            return Err(bad(&w_path, "holds no LoRA factors".into()));
        }
        Ok(Self {
            config,
            task_type: v
                .get("task_type")
                .and_then(Value::as_str)
                .map(str::to_string),
            base_model_name_or_path: v
                .get("base_model_name_or_path")
                .and_then(Value::as_str)
                .map(str::to_string),
            factors,
            saved,
        })
    }

    /// The policy that rebuilds a model with this adapter: LoRA on exactly the modules the file
    /// has factors for, starting from its values.
    pub fn backbone(&self) -> Backbone {
        let mut config = self.config.clone();
        // Target what the file actually holds (full module paths), so a module the config's pattern
        // would match but the file lacks is reported as missing rather than freshly initialised.
        config.target_modules = self.factors.keys().cloned().collect();
        Backbone::Lora(LoraSetup {
            config,
            initial: self.factors.clone(),
        })
    }
}

/// What to record alongside the factors when saving.
#[derive(Debug, Clone, Default)]
pub struct SaveOptions {
    /// The base model (hub id or folder) for `base_model_name_or_path`.
    pub base_model_name_or_path: String,
    /// PEFT's `task_type` (`SEQ_CLS`, `CAUSAL_LM`), if any.
    pub task_type: Option<String>,
    /// Top-level modules saved in full (e.g. `classifier`): every trainable tensor under them.
    pub modules_to_save: Vec<String>,
}

/// Writes the LoRA factors (and `modules_to_save`) found in `trainable` to `dir` in PEFT's layout.
/// `config.target_modules` is written as given, or, when empty, as the set of module names that
/// carry factors (their last component, as PEFT lists them).
pub fn save(dir: &Path, config: &LoraConfig, trainable: &VarMap, opts: &SaveOptions) -> Result<()> {
    let bad = |path: &Path, reason: String| EngineError::Checkpoint {
        path: path.to_path_buf(),
        reason,
    };
    std::fs::create_dir_all(dir).map_err(|e| bad(dir, format!("cannot be created: {e}")))?;
    let data = trainable.data().lock().map_err(|_| {
        EngineError::Invalid("the trainable parameter map was poisoned by a panic".into())
    })?;
    let mut out: Vec<(String, Tensor)> = Vec::new();
    let mut targets = BTreeSet::new();
    for (name, var) in data.iter() {
        let lora_module = name
            .strip_suffix(".lora_A.weight")
            .or_else(|| name.strip_suffix(".lora_B.weight"));
        let keep = if let Some(m) = lora_module {
            targets.insert(m.rsplit('.').next().unwrap_or(m).to_string());
            true
        } else {
            opts.modules_to_save
                .iter()
                .any(|m| name.starts_with(&format!("{m}.")))
        };
        if keep {
            out.push((
                format!("{PREFIX}{name}"),
                var.as_tensor().detach().contiguous()?,
            ));
        }
    }
    drop(data);
    if targets.is_empty() {
        return Err(EngineError::Invalid(
            "there are no LoRA factors to save; was the model loaded with LoRA?".into(),
        ));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    let w_path = dir.join(WEIGHTS_FILE);
    let meta = HashMap::from([("format".to_string(), "pt".to_string())]);
    safetensors::tensor::serialize_to_file(
        out.iter().map(|(n, t)| (n.as_str(), t)),
        Some(meta),
        &w_path,
    )
    .map_err(|e| {
        let needed = out
            .iter()
            .map(|(_, t)| (t.elem_count() * t.dtype().size_in_bytes()) as u64)
            .sum();
        crate::export::safetensors_write_error(&w_path, needed, e)
    })?;
    let target_modules: Vec<String> = if config.target_modules.is_empty() {
        targets.into_iter().collect()
    } else {
        config.target_modules.clone()
    };
    let cfg = json!({
        "peft_type": "LORA",
        "task_type": opts.task_type,
        "base_model_name_or_path": opts.base_model_name_or_path,
        "r": config.r,
        "lora_alpha": config.alpha,
        "lora_dropout": config.dropout,
        "target_modules": target_modules,
        "modules_to_save": if opts.modules_to_save.is_empty() { Value::Null } else { json!(opts.modules_to_save) },
        "use_rslora": config.use_rslora,
        "use_dora": false,
        "fan_in_fan_out": false,
        "bias": "none",
        "init_lora_weights": true,
        "inference_mode": true,
        "rank_pattern": {},
        "alpha_pattern": {},
        "revision": null,
    });
    let c_path = dir.join(CONFIG_FILE);
    let text =
        serde_json::to_string_pretty(&cfg).map_err(|e| EngineError::Invalid(e.to_string()))?;
    std::fs::write(&c_path, text + "\n").map_err(|e| {
        bad(
            &c_path,
            format!("cannot be written (is the disk full?): {e}"),
        )
    })?;
    let prov = json!({
        "library": "tunesmith",
        "version": env!("CARGO_PKG_VERSION"),
        "base_model_path": opts.base_model_name_or_path,
    });
    let p_path = dir.join(PROVENANCE_FILE);
    let text =
        serde_json::to_string_pretty(&prov).map_err(|e| EngineError::Invalid(e.to_string()))?;
    std::fs::write(&p_path, text + "\n").map_err(|e| {
        bad(
            &p_path,
            format!("cannot be written (is the disk full?): {e}"),
        )
    })?;
    Ok(())
}
