//! Models: search the hub, pull into the standard HF cache, list what is known, import from disk,
//! and estimate memory before training. The CLI's `tunesmith models ...` and the app's model page
//! call these.
//!
//! The hub is found through `HF_ENDPOINT`, the token through `HF_TOKEN` (or the token file
//! `huggingface-cli login` writes), the cache through `HF_HUB_CACHE` / `HF_HOME`, and offline mode
//! through `HF_HUB_OFFLINE`, exactly as Python's tools find them. Imported and pulled models are
//! remembered in the run history's models table (`crate::model_registry`); no token is ever written
//! there.

use std::path::{Path, PathBuf};

use serde::Serialize;
use tunesmith_hub::config::ModelConfig;
use tunesmith_hub::estimate::{EstimateRequest, Method, ModelShape};
use tunesmith_hub::gguf::GgufHeader;
use tunesmith_hub::import::ModelRecord;
use tunesmith_hub::locate::Located;
use tunesmith_hub::memory::FreeMemory;
use tunesmith_hub::search::ModelSummary;
use tunesmith_hub::suggested::Suggestion;
use tunesmith_hub::{HubClient, HubError};

pub use tunesmith_hub::estimate::Estimate;
pub use tunesmith_hub::{CancelToken, PullEvent};

use crate::home::Home;
use crate::Result;

/// What a search returns: the hub's results and the curated suggestions for the task.
#[derive(Debug, Clone, Serialize)]
pub struct SearchResults {
    /// The hub's results, most downloaded first.
    pub results: Vec<ModelSummary>,
    /// Curated suggestions for first-time users.
    pub suggestions: Vec<Suggestion>,
}

/// Searches the hub for `query`, optionally for one task.
pub fn search(query: &str, task: Option<&str>, limit: usize) -> Result<SearchResults> {
    let client = HubClient::from_env()?;
    let results = client.search(query, task, limit)?;
    Ok(SearchResults {
        results,
        suggestions: tunesmith_hub::suggested::suggestions(task),
    })
}

/// What a pull ends with.
#[derive(Debug, Clone, Serialize)]
pub struct PullReport {
    /// The repository id.
    pub repo: String,
    /// The commit.
    pub commit: String,
    /// The snapshot folder (what `from_pretrained` loads).
    pub snapshot: PathBuf,
    /// The files pulled.
    pub files: Vec<String>,
    /// Bytes transferred.
    pub bytes_downloaded: u64,
    /// Whether the cached copy was used without asking the hub.
    pub offline: bool,
}

/// Pulls `id` at `revision` into the HF cache, reporting progress through `on_event`.
pub fn pull(
    id: &str,
    revision: &str,
    cancel: &CancelToken,
    on_event: &mut dyn FnMut(&PullEvent),
) -> Result<PullReport> {
    let client = HubClient::from_env()?;
    let cache = tunesmith_hub::cache::hub_cache_dir();
    let p = client.pull(&cache, id, revision, cancel, on_event)?;
    Ok(PullReport {
        repo: p.repo,
        commit: p.commit,
        snapshot: p.snapshot,
        files: p.files,
        bytes_downloaded: p.bytes_downloaded,
        offline: p.offline,
    })
}

/// The models Tunesmith knows.
#[derive(Debug, Clone, Serialize)]
pub struct ModelList {
    /// The HF cache folder scanned.
    pub cache_dir: PathBuf,
    /// Whether offline mode is on.
    pub offline: bool,
    /// The models: cached hub models and imports.
    pub models: Vec<ModelRecord>,
}

fn offline_env() -> bool {
    std::env::var("HF_HUB_OFFLINE")
        .map(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "1" | "true" | "yes" | "on"
            )
        })
        .unwrap_or(false)
}

/// Lists cached and imported models (works offline).
pub fn list(home: &Home) -> Result<ModelList> {
    let cache_dir = tunesmith_hub::cache::hub_cache_dir();
    let store = crate::runs::open_for_reading(home)?;
    let remembered = crate::model_registry::Snapshot(crate::model_registry::remembered(&store)?);
    let models = tunesmith_hub::registry::known_models(&cache_dir, &remembered)?;
    Ok(ModelList {
        cache_dir,
        offline: offline_env(),
        models,
    })
}

/// Imports a model folder or a `.gguf` file after validating it, and remembers it.
pub fn import(home: &Home, path: &Path) -> Result<ModelRecord> {
    let rec = tunesmith_hub::import::import(path)?;
    crate::model_registry::remember(&crate::runs::open_store(home)?, &rec)?;
    Ok(rec)
}

/// Where a model named by the user is: a folder or a `.gguf` file. A hub id is taken from the
/// cache, or pulled when it is missing and `pull_if_missing` (and the hub is reachable).
pub fn resolve(
    spec: &str,
    revision: &str,
    pull_if_missing: bool,
    on_event: &mut dyn FnMut(&PullEvent),
) -> Result<Located> {
    let cache = tunesmith_hub::cache::hub_cache_dir();
    match tunesmith_hub::locate::locate(spec, &cache, revision)? {
        Some(l) => Ok(l),
        None if pull_if_missing => {
            let report = pull(spec, revision, &CancelToken::new(), on_event)?;
            Ok(Located::Folder(report.snapshot))
        }
        None => Err(HubError::NotCached {
            repo: spec.to_string(),
            cache,
        }
        .into()),
    }
}

/// The options of an estimate.
#[derive(Debug, Clone)]
pub struct EstimateOptions {
    /// `full`, `feature-extraction`, `lora` or `qlora`.
    pub method: String,
    /// Sequences per step.
    pub batch: u64,
    /// Tokens per sequence.
    pub max_len: u64,
    /// `cpu`, `cuda`, `metal` or `auto`.
    pub device: String,
}

/// The estimate with the device it was made for.
#[derive(Debug, Clone, Serialize)]
pub struct EstimateReport {
    /// The model as named.
    pub model: String,
    /// The device and where its free memory came from.
    pub device: FreeMemory,
    /// The estimate.
    #[serde(flatten)]
    pub estimate: Estimate,
}

/// Estimates peak memory (and says whether it fits) for training `model` with `opts`. The model is
/// read from disk or the cache, or, for a hub id not downloaded, from its config and weight headers
/// on the hub: an estimate never downloads the weights.
pub fn estimate(model: &str, opts: &EstimateOptions) -> Result<EstimateReport> {
    let method: Method = opts
        .method
        .parse()
        .map_err(|m: String| HubError::invalid("--method", m))?;
    if opts.batch == 0 || opts.max_len == 0 {
        return Err(HubError::invalid("--batch/--max-len", "must be at least 1").into());
    }
    let cache = tunesmith_hub::cache::hub_cache_dir();
    let shape = match tunesmith_hub::locate::locate(model, &cache, "main")? {
        Some(Located::Folder(dir)) => {
            let rec = tunesmith_hub::import::inspect_folder(&dir)?;
            let family = family_or_refuse(&dir, rec.supported, rec.family, rec.unsupported_reason)?;
            let cfg = ModelConfig::read(&dir.join("config.json"))?;
            ModelShape::from_config(&cfg, family, rec.parameters)?
        }
        Some(Located::Gguf(file)) => {
            tunesmith_hub::import::inspect_gguf(&file)?;
            ModelShape::from_gguf(&GgufHeader::read(&file)?)?
        }
        None => {
            // Not downloaded: read the config and the weight headers from the hub (a few KB), so
            // the verdict comes before a download.
            let client = HubClient::from_env()?;
            if client.offline() {
                return Err(HubError::NotCached {
                    repo: model.to_string(),
                    cache,
                }
                .into());
            }
            let remote = client.remote_model(model, "main")?;
            let support = remote.config.support();
            let family = family_or_refuse(
                Path::new(model),
                support.supported,
                support.family,
                support.reason,
            )?;
            ModelShape::from_config(&remote.config, family, remote.parameters)?
        }
    };
    let req = EstimateRequest {
        method,
        batch: opts.batch,
        max_len: opts.max_len,
        lora_rank: 8,
        num_labels: 2,
    };
    let device = tunesmith_hub::memory::free_memory(&opts.device);
    let estimate = tunesmith_hub::estimate::estimate(&shape, &req, device.bytes);
    Ok(EstimateReport {
        model: model.to_string(),
        device,
        estimate,
    })
}

/// The model's family, or an error saying why it cannot be estimated.
fn family_or_refuse(
    what: &Path,
    supported: bool,
    family: Option<tunesmith_hub::support::Family>,
    reason: Option<String>,
) -> Result<tunesmith_hub::support::Family> {
    match (supported, family) {
        (true, Some(f)) => Ok(f),
        _ => Err(HubError::invalid(
            what,
            format!(
                "cannot be estimated: {}",
                reason.unwrap_or_else(|| "unknown architecture".into())
            ),
        )
        .into()),
    }
}
