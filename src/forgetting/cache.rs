//! The base model's side of the forgetting check, kept once per (base model, probe set): its
//! answers and its general-text perplexity do not change between runs on the same base, so they
//! are measured once and read back after (`<home>/cache/forgetting/<key>.json`).
//!
//! The key is a fingerprint of the model's files (name, size and modification time of its
//! weights, config and tokenizer files: a changed or replaced model is measured again), how it is
//! loaded (4-bit for QLoRA), the device, and the probe set's fingerprint. A damaged cache file is
//! measured again, never trusted.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::probes::hex;
use crate::home::Home;
use crate::Result;

/// One model's answers to a probe set and its perplexity on the set's text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// One short answer per probe, in order.
    pub answers: Vec<String>,
    /// Perplexity on the general text.
    pub perplexity: f64,
}

/// The files of a model that decide its answers: a `.gguf` file itself, or a folder's weights,
/// config and tokenizer files.
fn model_files(model: &Path) -> Vec<PathBuf> {
    if model.is_file() {
        return vec![model.to_path_buf()];
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(model)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    let name = p
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    name.ends_with(".safetensors")
                        || name.ends_with(".gguf")
                        || name.ends_with(".json")
                        || name.ends_with(".model")
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// The cache key of `model` loaded as `loading` (e.g. the quantisation) on `device`, asked
/// `probes_fingerprint`.
pub fn key(model: &Path, loading: &str, device: &str, probes_fingerprint: &str) -> String {
    let mut h = Sha256::new();
    let path = std::fs::canonicalize(model).unwrap_or_else(|_| model.to_path_buf());
    h.update(path.to_string_lossy().as_bytes());
    for file in model_files(model) {
        h.update([0]);
        h.update(
            file.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
                .as_bytes(),
        );
        if let Ok(meta) = std::fs::metadata(&file) {
            h.update(meta.len().to_le_bytes());
            let modified = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            h.update(modified.to_le_bytes());
        }
    }
    for part in [loading, device, probes_fingerprint] {
        h.update([1]);
        h.update(part.as_bytes());
    }
    hex(&h.finalize()[..16])
}

fn path(home: &Home, key: &str) -> PathBuf {
    home.root()
        .join("cache")
        .join("forgetting")
        .join(format!("{key}.json"))
}

/// The measurement cached under `key` for `probes` questions, if there is a sound one.
pub fn load(home: &Home, key: &str, probes: usize) -> Option<Measurement> {
    let text = std::fs::read_to_string(path(home, key)).ok()?;
    let m: Measurement = serde_json::from_str(&text).ok()?;
    (m.answers.len() == probes).then_some(m)
}

/// Keeps `m` under `key` (written whole or not at all).
pub fn save(home: &Home, key: &str, m: &Measurement) -> Result<()> {
    let target = path(home, key);
    if let Some(dir) = target.parent() {
        std::fs::create_dir_all(dir).map_err(|e| {
            crate::Error::invalid(format!(
                "cannot create the cache folder {}: {e}",
                dir.display()
            ))
        })?;
    }
    let bytes = serde_json::to_vec(m)
        .map_err(|e| crate::Error::invalid(format!("cannot keep the base model's answers: {e}")))?;
    tunesmith_store::files::write_atomic(&target, &bytes)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_measurement_is_read_back_under_its_key_and_a_damaged_or_short_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path().to_path_buf()).unwrap();
        let m = Measurement {
            answers: vec!["Paris".into(), "4".into()],
            perplexity: 12.5,
        };
        save(&home, "k1", &m).unwrap();
        assert_eq!(load(&home, "k1", 2), Some(m));
        assert_eq!(load(&home, "k1", 3), None, "a different number of probes");
        assert_eq!(load(&home, "k2", 2), None);
        std::fs::write(path(&home, "k1"), "{ damaged").unwrap();
        assert_eq!(load(&home, "k1", 2), None);
    }

    #[test]
    fn the_key_changes_with_the_model_files_the_loading_and_the_probes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.json"), "{}").unwrap();
        std::fs::write(dir.path().join("model.safetensors"), "abc").unwrap();
        let k = key(dir.path(), "f32", "cpu", "p1");
        assert_eq!(k, key(dir.path(), "f32", "cpu", "p1"));
        assert_ne!(k, key(dir.path(), "q4", "cpu", "p1"));
        assert_ne!(k, key(dir.path(), "f32", "cpu", "p2"));
        std::fs::write(dir.path().join("model.safetensors"), "abcd").unwrap();
        assert_ne!(
            k,
            key(dir.path(), "f32", "cpu", "p1"),
            "a changed weights file"
        );
    }
}
