//! A hub model's shape without downloading its weights: `config.json` (a few KB) and the headers of
//! its safetensors files, read with HTTP Range requests (the first 8 bytes give the header's length,
//! a second range the header), so the estimate can answer "will it fit?" before a download.

use std::io::Read;

use crate::client::HubClient;
use crate::config::ModelConfig;
use crate::safetensors::SafetensorsHeader;
use crate::{HubError, Result};

/// What the hub says about a model's shape.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteModel {
    /// The commit read.
    pub commit: String,
    /// Its `config.json`.
    pub config: ModelConfig,
    /// Parameters counted from the safetensors headers (`None` without safetensors weights).
    pub parameters: Option<u64>,
}

/// Safetensors headers above this size are refused.
const MAX_HEADER: u64 = 100 * 1024 * 1024;

impl HubClient {
    /// Reads `repo`'s config and counts its parameters from the safetensors headers.
    pub fn remote_model(&self, repo: &str, revision: &str) -> Result<RemoteModel> {
        let files = self.repo_files(repo, revision)?;
        let config_bytes = self.range(repo, &files.sha, "config.json", None)?;
        let config =
            ModelConfig::parse(&String::from_utf8_lossy(&config_bytes)).map_err(|reason| {
                HubError::BadResponse {
                    url: format!("{repo}/config.json"),
                    reason,
                }
            })?;
        let shards: Vec<&str> = files
            .siblings
            .iter()
            .map(|s| s.rfilename.as_str())
            .filter(|n| !n.contains('/') && n.ends_with(".safetensors"))
            .collect();
        let mut parameters = None;
        for shard in shards {
            let len_bytes = self.range(repo, &files.sha, shard, Some((0, 7)))?;
            let len = len_bytes
                .get(..8)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_le_bytes)
                .filter(|n| *n <= MAX_HEADER)
                .ok_or_else(|| HubError::BadResponse {
                    url: format!("{repo}/{shard}"),
                    reason: "the safetensors header length could not be read".into(),
                })?;
            let header = self.range(repo, &files.sha, shard, Some((8, 8 + len - 1)))?;
            let h = SafetensorsHeader::parse(&header, None).map_err(|reason| {
                HubError::BadResponse {
                    url: format!("{repo}/{shard}"),
                    reason,
                }
            })?;
            *parameters.get_or_insert(0) += h.parameters();
        }
        Ok(RemoteModel {
            commit: files.sha,
            config,
            parameters,
        })
    }

    /// The bytes `first..=last` of a file (the whole file without a range). A server that ignores
    /// the range is cut off after the bytes asked for.
    fn range(
        &self,
        repo: &str,
        commit: &str,
        file: &str,
        range: Option<(u64, u64)>,
    ) -> Result<Vec<u8>> {
        let url = format!("{}/{repo}/resolve/{commit}/{file}", self.endpoint());
        let mut req = self.get(&url);
        if let Some((first, last)) = range {
            req = req.header(reqwest::header::RANGE, format!("bytes={first}-{last}"));
        }
        let resp = self.send(req, repo, &format!("file `{file}` of `{repo}`"))?;
        let limit = range.map(|(a, b)| b - a + 1).unwrap_or(16 * 1024 * 1024);
        let mut out = Vec::new();
        resp.take(limit)
            .read_to_end(&mut out)
            .map_err(|e| HubError::Network {
                endpoint: self.endpoint().to_string(),
                reason: e.to_string(),
            })?;
        Ok(out)
    }
}
