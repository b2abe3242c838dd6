//! Searching the hub for models: `GET /api/models?search=&filter=&sort=downloads&limit=` with the
//! expanded fields a domain expert needs to choose (size, licence, gated, last change), and the
//! "supported" badge from each model's config architectures.

use serde::Serialize;

use crate::client::HubClient;
use crate::support::{support_of, Support};
use crate::wire::{parse_model_list, ApiModel, ApiSafetensors};
use crate::{HubError, Result};

/// The tasks Tunesmith trains for, as hub pipeline tags.
pub const TASKS: &[&str] = &[
    "text-classification",
    "feature-extraction",
    "sentence-similarity",
    "text-generation",
];

/// The fields asked of the hub for each result.
const EXPAND: &[&str] = &[
    "pipeline_tag",
    "downloads",
    "likes",
    "lastModified",
    "gated",
    "safetensors",
    "config",
    "cardData",
    "tags",
    "usedStorage",
];

/// One search result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ModelSummary {
    /// `owner/name`.
    pub id: String,
    /// The hub's task tag.
    pub task: Option<String>,
    /// Parameters, from the safetensors metadata.
    pub parameters: Option<u64>,
    /// Bytes of safetensors weights to download (from parameters and their dtypes); `None` when
    /// the hub does not report them.
    pub download_bytes: Option<u64>,
    /// Licence, from the model card or tags.
    pub license: Option<String>,
    /// Whether a token and an accepted licence are needed.
    pub gated: bool,
    /// Downloads in the last month.
    pub downloads: Option<u64>,
    /// Likes.
    pub likes: Option<u64>,
    /// When the repository last changed (ISO 8601).
    pub last_modified: Option<String>,
    /// Whether Tunesmith's engine loads it, and why not.
    pub support: Support,
}

/// Bytes per parameter of a safetensors dtype name.
pub fn dtype_bytes(dtype: &str) -> Option<u64> {
    Some(match dtype.to_ascii_uppercase().as_str() {
        "F64" | "I64" | "U64" => 8,
        "F32" | "I32" | "U32" => 4,
        "F16" | "BF16" | "I16" | "U16" => 2,
        "F8_E4M3" | "F8_E5M2" | "I8" | "U8" | "BOOL" => 1,
        _ => return None,
    })
}

impl ModelSummary {
    /// The summary of a model the hub described; `None` when the answer names no model id.
    pub fn from_api(r: &ApiModel) -> Option<Self> {
        let id = r.repo_id()?.to_string();
        let parameters = r.safetensors.as_ref().map(ApiSafetensors::parameters);
        let download_bytes = r.safetensors.as_ref().and_then(|s| {
            s.parameters
                .iter()
                .map(|(dtype, n)| dtype_bytes(dtype).and_then(|b| b.checked_mul(*n)))
                .try_fold(0u64, |a, b| a.checked_add(b?))
        });
        let mut support = match &r.config {
            Some(c) => support_of(&c.architectures, c.model_type.as_deref()),
            None => Support {
                supported: false,
                family: None,
                architecture: None,
                reason: Some(
                    "the hub lists no config.json for it, so Tunesmith cannot tell how to load it"
                        .into(),
                ),
            },
        };
        if support.supported && r.safetensors.is_none() {
            let has_gguf = r.tags.iter().any(|t| t == "gguf");
            if !has_gguf {
                support.supported = false;
                support.reason = Some(
                    "it has no safetensors weights (only pickle files, which Tunesmith never loads)".to_string(),
                );
            }
        }
        if r.disabled == Some(true) {
            support.supported = false;
            support.reason =
                Some("the hub has disabled this repository: its files cannot be downloaded".into());
        }
        Some(ModelSummary {
            id,
            task: r.pipeline_tag.clone(),
            parameters,
            download_bytes,
            license: r.license(),
            gated: r.gated.is_gated(),
            downloads: r.downloads,
            likes: r.likes,
            last_modified: r.last_modified.clone(),
            support,
        })
    }
}

impl HubClient {
    /// Searches the hub, most downloaded first. `task` is one of [`TASKS`] (or any hub tag).
    pub fn search(
        &self,
        query: &str,
        task: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ModelSummary>> {
        if self.offline() {
            return Err(HubError::Network {
                endpoint: self.endpoint().to_string(),
                reason: "offline mode is on (HF_HUB_OFFLINE); `tunesmith models list` shows the cached models".into(),
            });
        }
        let mut query_pairs: Vec<(&str, String)> = vec![
            ("search", query.to_string()),
            ("sort", "downloads".to_string()),
            ("direction", "-1".to_string()),
            ("limit", limit.clamp(1, 100).to_string()),
        ];
        if let Some(t) = task {
            query_pairs.push(("filter", t.to_string()));
        }
        for e in EXPAND {
            query_pairs.push(("expand", e.to_string()));
        }
        let url = format!("{}/api/models", self.endpoint());
        let req = self.get(&url).query(&query_pairs);
        let resp = self.send(req, "search", "the model search")?;
        let body = crate::client::read_body(resp, &url, crate::client::MAX_JSON_BYTES)?;
        let models =
            parse_model_list(&body).map_err(|reason| HubError::BadResponse { url, reason })?;
        Ok(models.iter().filter_map(ModelSummary::from_api).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_result_reads_size_licence_gating_and_support() {
        let raw = crate::wire::parse_model(
            br#"{"id":"meta-llama/Llama-3.2-1B","pipeline_tag":"text-generation","downloads":5,"gated":"manual",
                "safetensors":{"parameters":{"BF16":1000},"total":1000},"config":{"architectures":["LlamaForCausalLM"],"model_type":"llama"},
                "cardData":{"license":"llama3.2"},"tags":["license:other"],"lastModified":"2024-10-01T00:00:00.000Z"}"#,
        )
        .unwrap();
        let m = ModelSummary::from_api(&raw).unwrap();
        assert!(m.gated);
        assert_eq!(m.parameters, Some(1000));
        assert_eq!(m.download_bytes, Some(2000));
        assert_eq!(m.license.as_deref(), Some("llama3.2"));
        assert!(m.support.supported);
    }

    #[test]
    fn a_supported_architecture_with_only_pickle_weights_is_greyed_with_the_reason() {
        let raw = crate::wire::parse_model(
            br#"{"id":"o/old-bert","gated":false,"config":{"architectures":["BertModel"]},"tags":[]}"#,
        )
        .unwrap();
        let m = ModelSummary::from_api(&raw).unwrap();
        assert!(!m.support.supported);
        assert!(m.support.reason.unwrap().contains("pickle"));
        assert!(!m.gated);
    }
}
