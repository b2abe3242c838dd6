//! Importing a model from disk: a folder as `save_pretrained` writes it (config.json, safetensors
//! weights, tokenizer.json) or a single `.gguf` file. Each is validated before Tunesmith relies on it:
//! a truncated safetensors header, missing weights or tokenizer, or an architecture the engine does
//! not load is refused with a message saying what is wrong and how to fix it.
//!
//! The same inspection describes cached hub snapshots for the registry.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::ModelConfig;
use crate::gguf::GgufHeader;
use crate::safetensors::SafetensorsHeader;
use crate::support::{support_of, Family, SUPPORTED_MODEL_TYPES};
use crate::{HubError, Result};

/// Where a model came from (the shared vocabulary's; the run history stores the same type).
pub use tunesmith_vocab::ModelSource;

/// A model Tunesmith knows, as the registry stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ModelRecord {
    /// The hub id, or `local/<folder>` / `gguf/<file>` for imports.
    pub id: String,
    /// Where it came from.
    pub source: ModelSource,
    /// The folder (snapshot or local) or the `.gguf` file.
    pub path: PathBuf,
    /// The commit, for hub models.
    pub revision: Option<String>,
    /// The architecture (config `architectures[0]`, or GGUF `general.architecture`).
    pub architecture: Option<String>,
    /// Encoder or decoder.
    pub family: Option<Family>,
    /// Whether the engine loads it.
    pub supported: bool,
    /// Why not, when it does not.
    pub unsupported_reason: Option<String>,
    /// Parameters, counted from the weight headers.
    pub parameters: Option<u64>,
    /// Context length in tokens.
    pub context_length: Option<u64>,
    /// Bytes on disk.
    pub size_on_disk: u64,
}

/// Imports `path`: a model folder or a `.gguf` file.
pub fn import(path: &Path) -> Result<ModelRecord> {
    let meta = std::fs::metadata(path).map_err(|e| {
        HubError::invalid(
            path,
            format!("cannot be opened ({e}); give the path of a model folder or a .gguf file"),
        )
    })?;
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    if let Some(gguf) = meta.is_dir().then(|| single_gguf(&canonical)).flatten() {
        return inspect_gguf(&gguf);
    }
    if meta.is_dir() {
        let mut rec = inspect_folder(&canonical)?;
        if !rec.supported {
            return Err(HubError::invalid(
                path,
                format!(
                    "unknown architecture: {}",
                    rec.unsupported_reason.take().unwrap_or_default()
                ),
            ));
        }
        rec.id = format!("local/{}", file_name(&canonical));
        Ok(rec)
    } else if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gguf"))
    {
        inspect_gguf(&canonical)
    } else {
        Err(HubError::invalid(path, "is neither a model folder nor a .gguf file; give the folder that holds config.json, or a .gguf file"))
    }
}

/// The one `.gguf` file of a folder that has no `config.json` (a folder holding a downloaded GGUF),
/// so the user may name the folder or the file.
pub fn single_gguf(dir: &Path) -> Option<PathBuf> {
    if dir.join("config.json").exists() {
        return None;
    }
    let ggufs: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("gguf"))
        })
        .collect();
    match ggufs.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into())
}

/// Describes and validates a model folder (config, weights, tokenizer). An architecture the engine
/// does not load is reported in the record (`supported: false`), not as an error, so cached
/// models can still be listed.
pub fn inspect_folder(dir: &Path) -> Result<ModelRecord> {
    let config_path = dir.join("config.json");
    if !config_path.is_file() {
        return Err(HubError::invalid(
            dir,
            "has no config.json; a model folder needs config.json, *.safetensors weights and tokenizer.json, as `save_pretrained` writes them",
        ));
    }
    let config = ModelConfig::read(&config_path)?;
    let weights = weight_files(dir)?;
    let mut parameters = 0;
    for w in &weights {
        parameters += SafetensorsHeader::read(w)?.parameters();
    }
    if !dir.join("tokenizer.json").is_file() {
        let hint = if dir.join("vocab.txt").is_file() || dir.join("tokenizer.model").is_file() {
            " (it has only a slow-tokenizer vocabulary; `AutoTokenizer.from_pretrained(folder).save_pretrained(folder)` in Python writes tokenizer.json)"
        } else {
            " (save the tokenizer with the model: `tokenizer.save_pretrained(folder)`)"
        };
        return Err(HubError::invalid(
            dir,
            format!("is missing tokenizer.json, which Tunesmith needs to read text{hint}"),
        ));
    }
    let support = config.support();
    Ok(ModelRecord {
        id: file_name(dir),
        source: ModelSource::Local,
        path: dir.to_path_buf(),
        revision: None,
        architecture: support.architecture.clone(),
        family: support.family,
        supported: support.supported,
        unsupported_reason: support.reason,
        parameters: Some(parameters),
        context_length: config.max_position_embeddings,
        size_on_disk: folder_size(dir),
    })
}

/// The safetensors files of a folder: the shards its index names, else the root `*.safetensors`.
pub fn weight_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let index = dir.join("model.safetensors.index.json");
    if index.is_file() {
        let text = std::fs::read_to_string(&index).map_err(|e| HubError::io(&index, e))?;
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            HubError::invalid(
                &index,
                format!("is not valid JSON ({e}); download it again"),
            )
        })?;
        let map = v
            .get("weight_map")
            .and_then(|m| m.as_object())
            .ok_or_else(|| HubError::invalid(&index, "has no weight_map; download it again"))?;
        let mut shards: Vec<PathBuf> = map
            .values()
            .filter_map(|s| s.as_str())
            .map(|s| dir.join(s))
            .collect();
        shards.sort();
        shards.dedup();
        for s in &shards {
            if !s.is_file() {
                return Err(HubError::invalid(
                    s,
                    "is named by model.safetensors.index.json but missing; download or copy it",
                ));
            }
        }
        return Ok(shards);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| HubError::io(dir, e))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    files.sort();
    if files.is_empty() {
        let pickle = dir.join("pytorch_model.bin").exists();
        return Err(HubError::invalid(
            dir,
            if pickle {
                "has only pickle weights (pytorch_model.bin), which Tunesmith never loads; convert them with \
                 `model.save_pretrained(folder, safe_serialization=True)` in Python"
            } else {
                "has no *.safetensors weights; a model folder needs config.json, *.safetensors and tokenizer.json"
            },
        ));
    }
    Ok(files)
}

/// Describes and validates a `.gguf` file.
pub fn inspect_gguf(path: &Path) -> Result<ModelRecord> {
    let h = GgufHeader::read(path)?;
    let arch = h.architecture().map(str::to_string);
    let Some(arch_name) = arch.clone() else {
        return Err(HubError::invalid(path, "the GGUF metadata has no general.architecture; the file was not written by a known converter"));
    };
    let support = support_of(&[], Some(&arch_name));
    if !support.supported {
        let known: Vec<&str> = SUPPORTED_MODEL_TYPES
            .iter()
            .filter(|(_, f)| *f == Family::Decoder)
            .map(|(t, _)| *t)
            .collect();
        return Err(HubError::invalid(
            path,
            format!(
                "unknown architecture `{arch_name}`: Tunesmith loads GGUF files of {} models",
                known.join(", ")
            ),
        ));
    }
    if !h.has_tokenizer() {
        return Err(HubError::invalid(
            path,
            "has no embedded tokenizer (tokenizer.ggml.tokens); convert the model again with llama.cpp's convert_hf_to_gguf.py, which embeds it",
        ));
    }
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    Ok(ModelRecord {
        id: format!(
            "gguf/{}",
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        ),
        source: ModelSource::Gguf,
        path: path.to_path_buf(),
        revision: None,
        architecture: arch,
        family: support.family,
        supported: true,
        unsupported_reason: None,
        parameters: Some(h.parameters()),
        context_length: h.arch_int("context_length"),
        size_on_disk: size,
    })
}

/// Bytes of the files under `dir`, following symlinks (a snapshot's files link to blobs).
pub fn folder_size(dir: &Path) -> u64 {
    crate::download::list_files(dir)
        .iter()
        .filter_map(|f| std::fs::metadata(dir.join(f)).ok())
        .map(|m| m.len())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_is_neither_folder_nor_gguf_is_refused_with_what_to_give() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("notes.txt");
        std::fs::write(&p, "x").unwrap();
        assert!(import(&p)
            .unwrap_err()
            .to_string()
            .contains("neither a model folder"));
        assert!(import(&dir.path().join("missing"))
            .unwrap_err()
            .to_string()
            .contains("cannot be opened"));
    }
}
