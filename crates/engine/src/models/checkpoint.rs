//! Opening a Hugging Face checkpoint folder: `config.json` and single or sharded `*.safetensors`.
//!
//! Promises: every file is checked before use (a truncated or corrupt safetensors file is an error
//! naming it, not a crash later), pickle checkpoints (`pytorch_model.bin`, `*.pt`) are refused with
//! the reason, and each tensor remembers its file so later errors can name it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device};
use candle_nn::{VarBuilder, VarMap};

use crate::nn::params::{Backbone, Origin, Params};
use crate::{EngineError, Result};

/// A checkpoint folder's weights, memory-mapped, and where each tensor lives.
pub struct Checkpoint {
    dir: PathBuf,
    files: Vec<PathBuf>,
    origin: HashMap<String, String>,
}

impl Checkpoint {
    /// Finds and checks the weight files of `dir`: `model.safetensors.index.json` (sharded), else
    /// `model.safetensors`, else every `*.safetensors`.
    pub fn open(dir: &Path) -> Result<Self> {
        let bad = |path: &Path, reason: String| EngineError::Checkpoint {
            path: path.to_path_buf(),
            reason,
        };
        if !dir.is_dir() {
            return Err(bad(
                dir,
                "is not a folder; pick a model folder holding config.json and *.safetensors".into(),
            ));
        }
        let index = dir.join("model.safetensors.index.json");
        let files: Vec<PathBuf> = if index.exists() {
            let text = std::fs::read_to_string(&index)
                .map_err(|e| bad(&index, format!("cannot be read: {e}")))?;
            let json: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| bad(&index, format!("is not valid JSON: {e}")))?;
            let map = json
                .get("weight_map")
                .and_then(|m| m.as_object())
                .ok_or_else(|| {
                    bad(
                        &index,
                        "has no `weight_map`; download the model again".into(),
                    )
                })?;
            let mut files: Vec<String> = map
                .values()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            files.sort();
            files.dedup();
            files.into_iter().map(|f| dir.join(f)).collect()
        } else if dir.join("model.safetensors").exists() {
            vec![dir.join("model.safetensors")]
        } else {
            let listing: Vec<PathBuf> = std::fs::read_dir(dir)
                .map_err(|e| bad(dir, format!("cannot be listed: {e}")))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            let mut found: Vec<PathBuf> = listing
                .iter()
                .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
                .cloned()
                .collect();
            found.sort();
            if found.is_empty() {
                let pickle = listing.iter().any(|p| {
                    p.extension()
                        .is_some_and(|x| x == "bin" || x == "pt" || x == "pth")
                });
                return Err(bad(
                    dir,
                    if pickle {
                        "holds only a pickle checkpoint (pytorch_model.bin / *.pt), which can run arbitrary code \
                         when read, so Tunesmith does not load it; download the model's safetensors version or \
                         convert it"
                            .into()
                    } else {
                        "has no *.safetensors weights".into()
                    },
                ));
            }
            found
        };
        let mut origin = HashMap::new();
        for f in &files {
            for name in safetensors_header(f)?.into_keys() {
                origin.insert(name, f.display().to_string());
            }
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            files,
            origin,
        })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The weight files.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// Whether any file holds `tensor`.
    pub fn contains(&self, tensor: &str) -> bool {
        self.origin.contains_key(tensor)
    }

    /// All tensor names.
    pub fn tensor_names(&self) -> impl Iterator<Item = &str> {
        self.origin.keys().map(String::as_str)
    }

    /// A [`Params`] over the memory-mapped weights, converted to `dtype` on `device` as they load.
    pub fn params(
        &self,
        dtype: DType,
        device: &Device,
        trainable: VarMap,
        backbone: Backbone,
    ) -> Result<Params> {
        // SAFETY: the files are mapped read-only and Tunesmith never writes a checkpoint it has open.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&self.files, dtype, device) }
            .map_err(|e| EngineError::Checkpoint {
                path: self.dir.clone(),
                reason: format!("cannot be memory-mapped: {e}"),
            })?;
        let default = match self.files.as_slice() {
            [one] => one.display().to_string(),
            _ => self.dir.display().to_string(),
        };
        Ok(Params::new(
            vb,
            trainable,
            backbone,
            Origin {
                files: self.origin.clone(),
                default,
            },
        ))
    }
}

/// Reads and checks the header of a safetensors file: tensor name -> (dtype, shape). A file shorter
/// than its header promises (an interrupted download) is an error naming it.
pub fn safetensors_header(path: &Path) -> Result<HashMap<String, (String, Vec<usize>)>> {
    use std::io::Read;
    let bad = |reason: String| EngineError::Checkpoint {
        path: path.to_path_buf(),
        reason,
    };
    let mut f = std::fs::File::open(path).map_err(|e| bad(format!("cannot be opened: {e}")))?;
    let size = f
        .metadata()
        .map_err(|e| bad(format!("cannot be read: {e}")))?
        .len();
    let mut len = [0u8; 8];
    f.read_exact(&mut len)
        .map_err(|_| bad("is too short to be a safetensors file; download it again".into()))?;
    let n = u64::from_le_bytes(len);
    if n > 100_000_000 || 8 + n > size {
        return Err(bad(format!(
            "is not a complete safetensors file (header of {n} bytes, file of {size}); it may be truncated: download it again"
        )));
    }
    let mut header = vec![0u8; n as usize];
    f.read_exact(&mut header)
        .map_err(|e| bad(format!("cannot be read: {e}")))?;
    let json: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&header)
        .map_err(|e| {
            bad(format!(
                "has a corrupt safetensors header ({e}); download it again"
            ))
        })?;
    let mut out = HashMap::new();
    let mut end = 0u64;
    for (name, v) in json {
        if name == "__metadata__" {
            continue;
        }
        let dtype = v
            .get("dtype")
            .and_then(|d| d.as_str())
            .unwrap_or("")
            .to_string();
        let shape: Vec<usize> = v
            .get("shape")
            .and_then(|s| s.as_array())
            .and_then(|a| {
                a.iter()
                    .map(|x| x.as_u64().and_then(|x| usize::try_from(x).ok()))
                    .collect::<Option<Vec<usize>>>()
            })
            .ok_or_else(|| {
                bad(format!(
                    "tensor `{name}` has no valid shape in the header (a list of sizes); download it again"
                ))
            })?;
        let stop = v
            .get("data_offsets")
            .and_then(|o| o.as_array())
            .and_then(|o| o.get(1))
            .and_then(|x| x.as_u64())
            .ok_or_else(|| bad(format!("tensor `{name}` has no data offsets in the header")))?;
        end = end.max(stop);
        out.insert(name, (dtype, shape));
    }
    // `end` comes from the file: add without overflowing.
    let needed = (8 + n).saturating_add(end);
    if needed > size {
        return Err(bad(format!(
            "is truncated: its tensors need {needed} bytes but the file has {size}; download it again"
        )));
    }
    Ok(out)
}

/// Reads `config.json` (or any JSON file) into `T`, with errors naming the file.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let bad = |reason: String| EngineError::Checkpoint {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(format!("cannot be read: {e}")))?;
    serde_json::from_str(&text)
        .map_err(|e| bad(format!("is not valid JSON of the expected shape: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_truncated_safetensors_file_is_named_as_truncated() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| EngineError::Invalid(e.to_string()))?;
        let t = candle_core::Tensor::ones((4, 4), DType::F32, &Device::Cpu)?;
        let path = dir.path().join("model.safetensors");
        candle_core::safetensors::save(&HashMap::from([("w".to_string(), t)]), &path)?;
        let bytes = std::fs::read(&path).map_err(|e| EngineError::Invalid(e.to_string()))?;
        std::fs::write(&path, &bytes[..bytes.len() - 10])
            .map_err(|e| EngineError::Invalid(e.to_string()))?;
        let err = Checkpoint::open(dir.path())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("truncated") && err.contains("model.safetensors"),
            "{err}"
        );
        Ok(())
    }

    #[test]
    fn a_pickle_only_folder_is_refused_with_the_reason() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| EngineError::Invalid(e.to_string()))?;
        std::fs::write(dir.path().join("pytorch_model.bin"), b"pickle")
            .map_err(|e| EngineError::Invalid(e.to_string()))?;
        let err = Checkpoint::open(dir.path())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("pickle") && err.contains("safetensors"),
            "{err}"
        );
        Ok(())
    }
}
