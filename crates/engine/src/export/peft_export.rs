//! A PEFT adapter folder as a Python user loads it: `adapter_config.json` whose
//! `base_model_name_or_path` is the base's hub id where known (so
//! `AutoPeftModelForCausalLM.from_pretrained(folder)` finds the base), with no key PEFT does not
//! know (PEFT warns on each), the weights as trained, Tunesmith's provenance in `tunesmith.json`,
//! and a README saying which base to load and how.

use std::path::Path;

use serde_json::{json, Value};

use crate::adapters::peft::{CONFIG_FILE, PROVENANCE_FILE, WEIGHTS_FILE};
use crate::export::base_id::{base_hub_id, BaseId};
use crate::{EngineError, Result};

/// Exports run `run_id`'s adapter folder `from` (trained with `method` on `base_path`) into the
/// new folder `to`, naming the base by hub id when it can be found; answers how to use it.
pub fn export_adapter(
    from: &Path,
    to: &Path,
    run_id: &str,
    method: &str,
    base_path: &Path,
) -> Result<String> {
    let base_id = base_hub_id(base_path);
    write_adapter_export(
        from,
        to,
        &AdapterExport {
            run_id,
            method,
            base_path,
            base_id: base_id.as_ref(),
        },
    )?;
    Ok(match &base_id {
        Some(b) => format!(
            "A PEFT {method} adapter for {}: AutoPeftModelForCausalLM.from_pretrained(folder) loads it with its \
             base{}; README.md says more.",
            b.id,
            if b.certain { "" } else { " (the base's hub id was inferred: check it)" }
        ),
        None => format!(
            "A PEFT {method} adapter for {}: load that base in transformers, then \
             PeftModel.from_pretrained(base, folder); README.md says more.",
            base_path.display()
        ),
    })
}

/// What the export knows about the run.
#[derive(Debug, Clone)]
pub struct AdapterExport<'a> {
    /// The run's id.
    pub run_id: &'a str,
    /// The method's name (`LoRA`, `QLoRA`).
    pub method: &'a str,
    /// The base the run trained on, as a local path.
    pub base_path: &'a Path,
    /// Its hub id, when known.
    pub base_id: Option<&'a BaseId>,
}

/// The keys `peft.LoraConfig` accepts that Tunesmith writes or passes through; any other key in a
/// run's `adapter_config.json` (such as the `library` key older Tunesmith versions wrote) moves to
/// `tunesmith.json`.
const PEFT_KEYS: &[&str] = &[
    "peft_type",
    "task_type",
    "base_model_name_or_path",
    "revision",
    "inference_mode",
    "auto_mapping",
    "r",
    "lora_alpha",
    "lora_dropout",
    "target_modules",
    "exclude_modules",
    "modules_to_save",
    "use_rslora",
    "use_dora",
    "fan_in_fan_out",
    "bias",
    "init_lora_weights",
    "layers_to_transform",
    "layers_pattern",
    "rank_pattern",
    "alpha_pattern",
    "megatron_config",
    "megatron_core",
    "loftq_config",
    "eva_config",
    "corda_config",
    "layer_replication",
    "runtime_config",
    "lora_bias",
    "trainable_token_indices",
    "target_parameters",
];

/// Writes the adapter in `from` (a run's adapter folder) to the new folder `to`.
pub fn write_adapter_export(from: &Path, to: &Path, about: &AdapterExport<'_>) -> Result<()> {
    let cfg_path = from.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&cfg_path).map_err(|e| EngineError::Checkpoint {
        path: cfg_path.clone(),
        reason: format!("cannot be read ({e}); the run's adapter is incomplete"),
    })?;
    let v: Value = serde_json::from_str(&text).map_err(|e| EngineError::Checkpoint {
        path: cfg_path.clone(),
        reason: format!("is not valid JSON ({e}); the run's adapter is damaged"),
    })?;
    let Value::Object(map) = v else {
        return Err(EngineError::Checkpoint {
            path: cfg_path,
            reason: "is not a JSON object; the run's adapter is damaged".into(),
        });
    };
    let mut config = serde_json::Map::new();
    let mut moved = serde_json::Map::new();
    for (k, v) in map {
        if PEFT_KEYS.contains(&k.as_str()) {
            config.insert(k, v);
        } else {
            moved.insert(k, v);
        }
    }
    let base_for_peft = match about.base_id {
        Some(b) => b.id.clone(),
        None => about.base_path.display().to_string(),
    };
    config.insert("base_model_name_or_path".into(), json!(base_for_peft));
    let cfg_text = serde_json::to_string_pretty(&Value::Object(config))
        .map_err(|e| EngineError::Invalid(e.to_string()))?;
    super::write_text(&to.join(CONFIG_FILE), &(cfg_text + "\n"))?;

    copy(&from.join(WEIGHTS_FILE), &to.join(WEIGHTS_FILE))?;

    // Provenance: what the run's folder recorded, plus what this export decided.
    let mut prov = match std::fs::read_to_string(from.join(PROVENANCE_FILE))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
    {
        Some(Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    for (k, v) in moved {
        prov.entry(k).or_insert(v);
    }
    prov.insert("library".into(), json!("tunesmith"));
    prov.insert("version".into(), json!(env!("CARGO_PKG_VERSION")));
    prov.insert("run".into(), json!(about.run_id));
    prov.insert("method".into(), json!(about.method));
    prov.insert(
        "base_model_path".into(),
        json!(about.base_path.display().to_string()),
    );
    prov.insert(
        "base_model_hub_id".into(),
        json!(about.base_id.map(|b| &b.id)),
    );
    prov.insert(
        "base_model_hub_id_found_in".into(),
        json!(about.base_id.map(|b| &b.found_in)),
    );
    let prov_text = serde_json::to_string_pretty(&Value::Object(prov))
        .map_err(|e| EngineError::Invalid(e.to_string()))?;
    super::write_text(&to.join(PROVENANCE_FILE), &(prov_text + "\n"))?;
    super::write_text(&to.join("README.md"), &readme(about))?;
    Ok(())
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    std::fs::copy(from, to).map_err(|e| EngineError::Checkpoint {
        path: to.to_path_buf(),
        reason: format!(
            "cannot be copied from {} ({e}); is the disk full?",
            from.display()
        ),
    })?;
    Ok(())
}

/// The export's README: which base to load, and the two ways to load the adapter.
pub fn readme(about: &AdapterExport<'_>) -> String {
    let base_line = match about.base_id {
        Some(b) if b.certain => format!(
            "The base model is `{}` on the Hugging Face hub (from {}); `adapter_config.json` names it, so \
             PEFT downloads it by itself.",
            b.id, b.found_in
        ),
        Some(b) => format!(
            "The base model is most likely `{}` on the Hugging Face hub (inferred from {}); \
             `adapter_config.json` names it. If that is not the model the run was trained on \
             (`{}`), edit `base_model_name_or_path` or load the base yourself as below.",
            b.id,
            b.found_in,
            about.base_path.display()
        ),
        None => format!(
            "Tunesmith could not tell which hub model the base is: it was trained on the local file \
             `{}`, which `adapter_config.json` names. Load the base yourself (the hub model this file was \
             made from, or the same weights saved as a transformers folder) as below, or put its hub id in \
             `base_model_name_or_path`.",
            about.base_path.display()
        ),
    };
    let base_arg = about
        .base_id
        .map(|b| b.id.clone())
        .unwrap_or_else(|| "<the base model's hub id or folder>".into());
    format!(
        "# A {method} adapter made by Tunesmith (run {run})\n\n\
         {base_line}\n\n\
         ## Load it with PEFT\n\n\
         ```python\n\
         from peft import AutoPeftModelForCausalLM\n\
         model = AutoPeftModelForCausalLM.from_pretrained(\"path/to/this/folder\")\n\
         ```\n\n\
         or, choosing the base yourself:\n\n\
         ```python\n\
         from transformers import AutoModelForCausalLM\n\
         from peft import PeftModel\n\
         base = AutoModelForCausalLM.from_pretrained(\"{base_arg}\")\n\
         model = PeftModel.from_pretrained(base, \"path/to/this/folder\")\n\
         ```\n\n\
         `model.merge_and_unload()` folds the adapter into the base. `tunesmith.json` records where the \
         adapter came from (Tunesmith's version, the run, the local base path); PEFT ignores it.\n",
        method = about.method,
        run = about.run_id,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_adapter(dir: &Path, config: &str) {
        std::fs::write(dir.join(CONFIG_FILE), config).unwrap();
        std::fs::write(dir.join(WEIGHTS_FILE), b"weights").unwrap();
    }

    #[test]
    fn the_exported_config_names_the_hub_id_and_has_no_key_peft_does_not_know() {
        let from = tempfile::tempdir().unwrap();
        let to = tempfile::tempdir().unwrap();
        run_adapter(
            from.path(),
            r#"{"peft_type":"LORA","r":8,"lora_alpha":16,"base_model_name_or_path":"/home/u/SmolLM2.gguf","library":"tunesmith","target_modules":["q_proj"]}"#,
        );
        let id = BaseId {
            id: "HuggingFaceTB/SmolLM2-135M-Instruct".into(),
            found_in: "the cache".into(),
            certain: true,
        };
        let base = Path::new("/home/u/SmolLM2.gguf");
        write_adapter_export(
            from.path(),
            to.path(),
            &AdapterExport {
                run_id: "r1",
                method: "LoRA",
                base_path: base,
                base_id: Some(&id),
            },
        )
        .unwrap();
        let cfg: Value =
            serde_json::from_str(&std::fs::read_to_string(to.path().join(CONFIG_FILE)).unwrap())
                .unwrap();
        assert_eq!(
            cfg["base_model_name_or_path"],
            "HuggingFaceTB/SmolLM2-135M-Instruct"
        );
        assert!(cfg.get("library").is_none());
        assert_eq!(cfg["r"], 8);
        let prov: Value = serde_json::from_str(
            &std::fs::read_to_string(to.path().join(PROVENANCE_FILE)).unwrap(),
        )
        .unwrap();
        assert_eq!(prov["library"], "tunesmith");
        assert_eq!(prov["base_model_path"], "/home/u/SmolLM2.gguf");
        assert_eq!(
            std::fs::read(to.path().join(WEIGHTS_FILE)).unwrap(),
            b"weights"
        );
        let readme = std::fs::read_to_string(to.path().join("README.md")).unwrap();
        assert!(readme.contains("AutoPeftModelForCausalLM"));
        assert!(readme.contains("`HuggingFaceTB/SmolLM2-135M-Instruct`"));
    }

    #[test]
    fn without_a_hub_id_the_readme_says_which_base_to_load() {
        let from = tempfile::tempdir().unwrap();
        let to = tempfile::tempdir().unwrap();
        run_adapter(from.path(), r#"{"peft_type":"LORA","r":4}"#);
        let base = Path::new("/data/my model.gguf");
        write_adapter_export(
            from.path(),
            to.path(),
            &AdapterExport {
                run_id: "r2",
                method: "QLoRA",
                base_path: base,
                base_id: None,
            },
        )
        .unwrap();
        let readme = std::fs::read_to_string(to.path().join("README.md")).unwrap();
        assert!(
            readme.contains("could not tell which hub model"),
            "{readme}"
        );
        assert!(readme.contains("/data/my model.gguf"));
    }

    #[test]
    fn a_damaged_run_config_is_refused_with_its_name() {
        let from = tempfile::tempdir().unwrap();
        let to = tempfile::tempdir().unwrap();
        run_adapter(from.path(), "{\"peft_type\": \"LO");
        let e = write_adapter_export(
            from.path(),
            to.path(),
            &AdapterExport {
                run_id: "r",
                method: "LoRA",
                base_path: Path::new("b"),
                base_id: None,
            },
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains(CONFIG_FILE) && e.contains("not valid JSON"),
            "{e}"
        );
    }
}
