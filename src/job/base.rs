//! The base model a job trains, named so another machine loads exactly the same weights.
//!
//! A model from the Hugging Face cache is named by its hub id and the snapshot's commit (the
//! revision), which the cluster downloads. Any other folder travels with the job: its files are
//! hard-linked (or copied) into the job's `base-model/` folder and their SHA-256 recorded, so the
//! trainer reads the very files the local run would. A `.gguf` file cannot be trained by
//! transformers as it is: the job names the hub model it was converted from, when the file says.

use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use tunesmith_engine::export::base_id::{base_hub_id, id_from_cache_path};

use crate::{Error, Result};

/// The folder, inside a job, that holds a base model copied with it.
pub const BASE_DIR: &str = "base-model";

/// One file of a base model copied into the job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct BaseFile {
    /// Its name inside the base folder.
    pub name: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// `sha256:<hex>` of its content.
    pub sha256: String,
}

/// How a job names its base model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct BaseModel {
    /// What the trainer loads: a hub id, or `base-model` (the folder copied into the job).
    pub reference: String,
    /// The hub revision (commit) for a hub id, when the cache says.
    pub revision: Option<String>,
    /// The hub id, when known.
    pub hub_id: Option<String>,
    /// Where the local run reads it.
    pub local_path: PathBuf,
    /// How it was identified, in words.
    pub found_in: String,
    /// The files copied into the job, with their hashes (a folder that is not a hub snapshot).
    pub files: Vec<BaseFile>,
}

impl BaseModel {
    /// Names `model` (a folder or a `.gguf` file) for a job written to `job_dir`, copying a folder
    /// that is not a hub snapshot into `job_dir/base-model`.
    pub fn identify(model: &Path, job_dir: &Path) -> Result<BaseModel> {
        if model.is_file() {
            let found = base_hub_id(model).ok_or_else(|| {
                Error::invalid(format!(
                    "{} is a GGUF file, which a distributed trainer cannot fine-tune, and it does not name the model it was converted from; train the job from that model's folder or hub id instead (--model owner/name)",
                    model.display()
                ))
            })?;
            return Ok(BaseModel {
                reference: found.id.clone(),
                revision: None,
                hub_id: Some(found.id),
                local_path: model.to_path_buf(),
                found_in: format!(
                    "{} (the local run reads a quantised GGUF; the job trains the original weights)",
                    found.found_in
                ),
                files: Vec::new(),
            });
        }
        if let Some(id) = id_from_cache_path(model) {
            return Ok(BaseModel {
                reference: id.clone(),
                revision: snapshot_revision(model),
                hub_id: Some(id),
                local_path: model.to_path_buf(),
                found_in: "the Hugging Face cache folder the local run loads".into(),
                files: Vec::new(),
            });
        }
        let files = copy_folder(model, &job_dir.join(BASE_DIR))?;
        Ok(BaseModel {
            reference: BASE_DIR.into(),
            revision: None,
            hub_id: None,
            local_path: model.to_path_buf(),
            found_in: format!("the folder {}, copied into the job", model.display()),
            files,
        })
    }
}

/// The commit of a cache snapshot path (`.../snapshots/<commit>/...`).
fn snapshot_revision(path: &Path) -> Option<String> {
    let comps: Vec<String> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    comps
        .windows(2)
        .rev()
        .find(|w| w[0] == "snapshots")
        .map(|w| w[1].clone())
}

/// Hard-links (else copies) the files of `from` into `to`, with their hashes. Sub-folders are
/// left out: a model folder's weights, config and tokenizer lie at its top.
fn copy_folder(from: &Path, to: &Path) -> Result<Vec<BaseFile>> {
    let io = |what: &str, p: &Path, e: std::io::Error| {
        Error::invalid(format!("cannot {what} {}: {e}", p.display()))
    };
    std::fs::create_dir_all(to).map_err(|e| io("create", to, e))?;
    let mut entries: Vec<PathBuf> = std::fs::read_dir(from)
        .map_err(|e| io("read the model folder", from, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        // Folders are skipped, and so are the links to them (a cache snapshot's files are links).
        .filter(|p| p.is_file())
        .collect();
    entries.sort();
    let mut files = Vec::new();
    for src in entries {
        let Some(name) = src.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        let dst = to.join(&name);
        // A link costs no disk (same file system); a copy is the fallback elsewhere.
        let real = std::fs::canonicalize(&src).unwrap_or_else(|_| src.clone());
        if std::fs::hard_link(&real, &dst).is_err() {
            std::fs::copy(&real, &dst).map_err(|e| io("copy", &src, e))?;
        }
        let bytes = std::fs::metadata(&dst).map(|m| m.len()).unwrap_or(0);
        let sha256 = tunesmith_hub::download::sha256_file(&dst)?;
        files.push(BaseFile {
            name,
            bytes,
            sha256: format!("sha256:{sha256}"),
        });
    }
    if !files.iter().any(|f| f.name == "config.json") {
        return Err(Error::invalid(format!(
            "{} has no config.json, so a trainer cannot load it; pick a model folder with config.json, *.safetensors and tokenizer.json",
            from.display()
        )));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cache_snapshot_names_its_revision() {
        let p = Path::new("/c/hub/models--o--n/snapshots/abc123/");
        assert_eq!(snapshot_revision(p).as_deref(), Some("abc123"));
        assert_eq!(snapshot_revision(Path::new("/models/tiny")), None);
    }
}
