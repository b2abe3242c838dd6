//! One model's page on the hub, without downloading it: `GET /api/models/<id>/revision/<rev>?blobs=true`
//! read into what a user weighs before a pull (owner, task, licence, gating, size, the files
//! Tunesmith would download and their bytes, the supported badge).

use serde::Serialize;

use crate::client::HubClient;
use crate::download::select_files;
use crate::search::ModelSummary;
use crate::wire::{parse_model, ApiModel};
use crate::{HubError, Result};

/// One file of the repository.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ModelFile {
    /// Its path in the repository.
    pub name: String,
    /// Its size in bytes, when the hub reports it.
    pub size: Option<u64>,
    /// Whether it is stored with LFS (weights).
    pub lfs: bool,
    /// Whether `pull` would download it.
    pub needed: bool,
}

/// What the hub says about one model.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ModelDetails {
    /// The search summary (task, parameters, licence, gated, downloads, likes, support).
    pub summary: ModelSummary,
    /// The owner.
    pub author: Option<String>,
    /// The commit described.
    pub commit: Option<String>,
    /// When the repository was created (ISO 8601).
    pub created_at: Option<String>,
    /// The library its card names.
    pub library: Option<String>,
    /// The base model its card names (a fine-tune's parent).
    pub base_model: Option<String>,
    /// `"auto"` or `"manual"` approval when gated.
    pub gated_mode: Option<String>,
    /// Whether the repository is private (visible with the token only).
    pub private: bool,
    /// Whether the hub has disabled it.
    pub disabled: bool,
    /// The files, in the hub's order.
    pub files: Vec<ModelFile>,
    /// Bytes `pull` would download (the needed files whose sizes are known).
    pub pull_bytes: u64,
    /// Why the model cannot be pulled (no usable weights), if so.
    pub pull_refused: Option<String>,
}

impl ModelDetails {
    /// The details of a model the hub described.
    pub fn from_api(m: &ApiModel) -> Option<Self> {
        let mut summary = ModelSummary::from_api(m)?;
        let names: Vec<String> = m.siblings.iter().map(|s| s.rfilename.clone()).collect();
        let (needed, pull_refused) = match select_files(&summary.id, &names) {
            Ok(n) => (n, None),
            Err(e) => (Vec::new(), Some(e.to_string())),
        };
        let files: Vec<ModelFile> = m
            .siblings
            .iter()
            .map(|s| ModelFile {
                name: s.rfilename.clone(),
                size: s.lfs.as_ref().and_then(|l| l.size).or(s.size),
                lfs: s.lfs.is_some(),
                needed: needed.contains(&s.rfilename),
            })
            .collect();
        let pull_bytes = files
            .iter()
            .filter(|f| f.needed)
            .filter_map(|f| f.size)
            .fold(0u64, u64::saturating_add);
        // The info answer lists the files: their bytes are a better download size than the
        // parameter count (which misses tokenizers and counts no GGUF).
        if summary.download_bytes.is_none() && pull_bytes > 0 {
            summary.download_bytes = Some(pull_bytes);
        }
        Some(ModelDetails {
            summary,
            author: m.author.clone(),
            commit: m.sha.clone(),
            created_at: m.created_at.clone(),
            library: m.library_name.clone(),
            base_model: m.base_model(),
            gated_mode: m.gated.mode().map(str::to_string),
            private: m.private.unwrap_or(false),
            disabled: m.disabled.unwrap_or(false),
            files,
            pull_bytes,
            pull_refused,
        })
    }
}

impl HubClient {
    /// What the hub says about `repo` at `revision` (files with sizes included).
    pub fn model_info(&self, repo: &str, revision: &str) -> Result<ModelDetails> {
        crate::cache::parse_repo_id(repo)?;
        if self.offline() {
            return Err(HubError::Network {
                endpoint: self.endpoint().to_string(),
                reason: "offline mode is on (HF_HUB_OFFLINE); `tunesmith models list` shows the cached models".into(),
            });
        }
        let url = format!(
            "{}/api/models/{repo}/revision/{}?blobs=true",
            self.endpoint(),
            crate::download::encode_revision(revision)
        );
        let resp = self.send(
            self.get(&url),
            repo,
            &format!("model `{repo}` at revision `{revision}`"),
        )?;
        let body = crate::client::read_body(resp, &url, crate::client::MAX_JSON_BYTES)?;
        let m = parse_model(&body).map_err(|reason| HubError::BadResponse {
            url: url.clone(),
            reason,
        })?;
        ModelDetails::from_api(&m).ok_or(HubError::BadResponse {
            url,
            reason: "the answer names no model".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_mark_the_files_a_pull_takes_and_sum_their_bytes() {
        let m = parse_model(
            br#"{"_id":"x","id":"o/m","modelId":"o/m","author":"o","sha":"abc","gated":"auto","private":true,
                "config":{"architectures":["BertModel"]},"safetensors":{"parameters":{"F32":10},"total":10},
                "cardData":{"base_model":"o/parent","license":"mit"},"library_name":"sentence-transformers",
                "siblings":[{"rfilename":"config.json","size":100},{"rfilename":"pytorch_model.bin","size":999,
                "lfs":{"sha256":"aa","size":999,"pointerSize":134}},{"rfilename":"model.safetensors","size":40,
                "lfs":{"sha256":"bb","size":40,"pointerSize":134}},{"rfilename":"README.md","size":5}]}"#,
        )
        .unwrap();
        let d = ModelDetails::from_api(&m).unwrap();
        assert_eq!(d.gated_mode.as_deref(), Some("auto"));
        assert!(d.summary.gated && d.private && !d.disabled);
        assert_eq!(d.base_model.as_deref(), Some("o/parent"));
        let needed: Vec<&str> = d
            .files
            .iter()
            .filter(|f| f.needed)
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(needed, ["config.json", "model.safetensors"]);
        assert_eq!(d.pull_bytes, 140);
        assert!(d.pull_refused.is_none());
    }

    #[test]
    fn details_of_a_pickle_only_repo_say_why_it_cannot_be_pulled() {
        let m = parse_model(
            br#"{"id":"o/old","siblings":[{"rfilename":"config.json"},{"rfilename":"pytorch_model.bin"}]}"#,
        )
        .unwrap();
        let d = ModelDetails::from_api(&m).unwrap();
        assert!(d.pull_refused.unwrap().contains("pickle"));
        assert_eq!(d.pull_bytes, 0);
    }
}
