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
use tunesmith_engine::device::DeviceRequest;
use tunesmith_hub::config::ModelConfig;
use tunesmith_hub::estimate::{EstimateRequest, Method, ModelShape, RunSize, TimeEstimate};
use tunesmith_hub::gguf::GgufHeader;
pub use tunesmith_hub::import::ModelRecord;
use tunesmith_hub::locate::Located;
use tunesmith_hub::memory::FreeMemory;
use tunesmith_hub::search::ModelSummary;
pub use tunesmith_hub::suggested::Suggestion;
use tunesmith_hub::{HubClient, HubError};

pub use tunesmith_hub::estimate::Estimate;
pub use tunesmith_hub::{CancelToken, PullEvent};

use crate::home::Home;
use crate::Result;

/// What a search returns: the hub's results and the curated suggestions for the task.
#[derive(Debug, Clone, Serialize, specta::Type)]
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

/// What the hub says about model `id` at `revision` (owner, licence, gating, files and the bytes a
/// pull downloads, the supported badge), without downloading it.
pub fn info(id: &str, revision: &str) -> Result<tunesmith_hub::info::ModelDetails> {
    Ok(HubClient::from_env()?.model_info(id, revision)?)
}

/// The curated suggestions (from `assets/suggested-models.json`, compiled in), for `task`
/// (`text-classification`, `text-generation`) or all of them; works offline.
pub fn suggested(task: Option<&str>) -> Vec<Suggestion> {
    tunesmith_hub::suggested::suggestions(task)
}

/// What a pull ends with.
#[derive(Debug, Clone, Serialize, specta::Type)]
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
#[derive(Debug, Clone, Serialize, specta::Type)]
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

/// The path of the model named by `spec` (a folder, a `.gguf` file, or a hub id from the cache,
/// pulled when missing if `pull_if_missing`): what `train`, `chat` and the rest load.
pub fn model_path(
    spec: &str,
    pull_if_missing: bool,
    on_event: &mut dyn FnMut(&PullEvent),
) -> Result<PathBuf> {
    Ok(match resolve(spec, "main", pull_if_missing, on_event)? {
        Located::Folder(p) | Located::Gguf(p) => p,
    })
}

/// Saves a hub access token in the operating system's keyring, where pulls find it (after
/// `HF_TOKEN`). It is never written to Tunesmith's database or logs. Without a usable keyring (a
/// headless Linux machine has no Secret Service) the error says to set `HF_TOKEN` instead.
pub fn login(token: &str) -> Result<()> {
    let token = tunesmith_hub::token::Token::new(token).ok_or_else(|| {
        HubError::invalid(
            "token",
            "is empty; paste a read token from https://huggingface.co/settings/tokens",
        )
    })?;
    let entry = tunesmith_hub::keyring_token::entry()?;
    tunesmith_hub::keyring_token::save(&entry, &token)?;
    Ok(())
}

/// Removes the saved hub token from the keyring; `false` when none was saved.
pub fn logout() -> Result<bool> {
    let entry = tunesmith_hub::keyring_token::entry()?;
    Ok(tunesmith_hub::keyring_token::delete(&entry)?)
}

/// The options of an estimate.
#[derive(Debug, Clone, serde::Deserialize, specta::Type)]
pub struct EstimateOptions {
    /// How the model would be trained.
    pub method: tunesmith_engine::train::Method,
    /// Sequences per step (default: `train`'s).
    #[serde(default)]
    #[specta(optional)]
    pub batch: Option<u64>,
    /// Tokens per sequence (default: `train`'s for the model's task).
    #[serde(default)]
    #[specta(optional)]
    pub max_len: Option<u64>,
    /// Where it would train.
    pub device: DeviceRequest,
    /// Whether to time training steps for the time estimate (the memory part is always instant).
    #[serde(default)]
    pub calibrate: Calibrate,
    /// Rows in the data before the validation/test split (for the run's step count and total time).
    #[serde(default)]
    pub rows: Option<u64>,
    /// Passes over the training rows (default: the `train` action's default for the data size).
    #[serde(default)]
    pub epochs: Option<u64>,
    /// The data file, read for its row count and split when `rows` is not given.
    #[serde(default)]
    pub data: Option<PathBuf>,
    /// Activation checkpointing (default: auto, as `train`: on when the run would not fit
    /// otherwise; the estimate's `activation_checkpointing` says what it assumed).
    #[serde(default = "default_checkpointing")]
    #[specta(optional)]
    pub checkpointing: tunesmith_hub::estimate::Checkpointing,
}

fn default_checkpointing() -> tunesmith_hub::estimate::Checkpointing {
    crate::run::DEFAULT_CHECKPOINTING
}

/// How the time estimate is obtained.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize, specta::Type,
)]
#[serde(rename_all = "snake_case")]
pub enum Calibrate {
    /// No time estimate.
    Off,
    /// Use a calibration measured earlier with the same settings, if there is one; measure
    /// nothing (instant: what the app asks while the user changes settings).
    #[default]
    Cached,
    /// Use the remembered calibration, or time a few training steps now (seconds to a minute).
    Measure,
}

/// The estimate with the device it was made for.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct EstimateReport {
    /// The model as named.
    pub model: String,
    /// The device and where its free memory came from.
    pub device: FreeMemory,
    /// The estimate.
    #[serde(flatten)]
    pub estimate: Estimate,
    /// The training schedule `train` will choose from the data, with its reason (when the data's
    /// size is known: `rows` or `data` given).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[specta(optional)]
    pub schedule: Option<tunesmith_engine::train::SchedulePlan>,
}

/// Estimates peak memory (and says whether it fits) for training `model` with `opts`, and the time
/// from a calibration as `opts.calibrate` says. The model is read from disk or the cache, or, for a
/// hub id not downloaded, from its config and weight headers on the hub: an estimate never downloads
/// the weights (and without them there is nothing to calibrate).
pub fn estimate(home: &Home, model: &str, opts: &EstimateOptions) -> Result<EstimateReport> {
    let method = opts.method;
    // Left out, batch and length are what `train` would use (the run module's defaults).
    let defaults = crate::run::TrainDefaults::current();
    let batch = opts.batch.unwrap_or(defaults.batch as u64);
    if batch == 0 || opts.max_len == Some(0) {
        return Err(HubError::invalid("--batch/--max-len", "must be at least 1").into());
    }
    let cache = tunesmith_hub::cache::hub_cache_dir();
    let located = tunesmith_hub::locate::locate(model, &cache, "main")?;
    let shape = match &located {
        Some(Located::Folder(dir)) => {
            let rec = tunesmith_hub::import::inspect_folder(dir)?;
            let family = family_or_refuse(dir, rec.supported, rec.family, rec.unsupported_reason)?;
            let cfg = ModelConfig::read(&dir.join("config.json"))?;
            ModelShape::from_config(&cfg, family, rec.parameters)?
        }
        Some(Located::Gguf(file)) => {
            tunesmith_hub::import::inspect_gguf(file)?;
            let mut shape = ModelShape::from_gguf(&GgufHeader::read(file)?)?;
            // The engine reads the whole file and dequantises it to f32 while loading.
            shape.file_bytes = std::fs::metadata(file).map(|m| m.len()).ok();
            shape
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
    let wanted_len = opts.max_len.unwrap_or(match shape.family {
        tunesmith_hub::support::Family::Encoder => defaults.classify_max_len,
        tunesmith_hub::support::Family::Decoder => defaults.generate_max_len,
    } as u64);
    // The engine cuts longer texts to the model's context, as `train` does.
    let max_len = shape
        .context_length
        .map_or(wanted_len, |c| wanted_len.min(c.max(1)));
    let req = EstimateRequest {
        method,
        batch,
        max_len,
        lora_rank: 8,
        num_labels: 2,
    };
    // The free memory the check before training compares with (the environment's override too).
    let device = crate::memory_check::free_memory(opts.device.as_str());
    let mut estimate =
        tunesmith_hub::estimate::estimate_with(&shape, &req, device.bytes, opts.checkpointing);
    // The data file is read and split once, for the schedule and the time estimate both. A file
    // that cannot be read leaves the schedule out; only a calibrated time estimate reports it.
    let size = run_size(&estimate, opts);
    let schedule = size.as_ref().ok().and_then(Option::as_ref).map(|size| {
        schedule_of(
            &estimate,
            estimate.request.method,
            size.train_rows,
            opts.epochs,
        )
    });
    estimate.time = time_estimate(home, located.as_ref(), &estimate, opts, size)?;
    Ok(EstimateReport {
        model: model.to_string(),
        device,
        estimate,
        schedule,
    })
}

/// The time part of an estimate, as `opts.calibrate` asks, for a run of `size` (see `run_size`).
fn time_estimate(
    home: &Home,
    located: Option<&Located>,
    e: &Estimate,
    opts: &EstimateOptions,
    size: Result<Option<RunSize>>,
) -> Result<TimeEstimate> {
    let r = &e.request;
    if opts.calibrate == Calibrate::Off {
        return Ok(TimeEstimate::not_calibrated(
            "not calibrated (calibration was turned off)",
        ));
    }
    let Some(located) = located else {
        return Ok(TimeEstimate::not_calibrated(
            "not calibrated: timing training steps needs the model's weights on this machine; pull the model first",
        ));
    };
    // A device this build cannot open leaves the memory estimate standing; only an explicit
    // calibration request reports it as an error.
    // Timed as the run would train: with activation checkpointing when the estimate assumes it.
    let key = match crate::calibrate::key(
        located,
        r.method,
        r.batch,
        r.max_len,
        opts.device,
        e.activation_checkpointing,
    ) {
        Ok(k) => k,
        Err(e) if opts.calibrate == Calibrate::Cached => {
            return Ok(TimeEstimate::not_calibrated(format!("not calibrated: {e}")))
        }
        Err(e) => return Err(e),
    };
    let (cal, cached) = match crate::calibrate::cached(home, &key) {
        Some(c) => (c, true),
        None if opts.calibrate == Calibrate::Measure => {
            if e.verdict == Some(tunesmith_hub::estimate::Verdict::DoesNotFit) {
                return Ok(TimeEstimate::not_calibrated(
                    "not calibrated: these settings do not fit in memory, so no training step was timed; follow the suggestion first",
                ));
            }
            let c = crate::calibrate::measure(
                located,
                e.shape.family,
                r.method,
                r.batch,
                r.max_len,
                opts.device,
                key,
            )?;
            crate::calibrate::remember(home, &c)?;
            (c, false)
        }
        None => {
            return Ok(TimeEstimate::not_calibrated(format!(
                "not measured yet for these settings: measuring runs {} training steps on this computer (after {} warm-up) and remembers the result",
                crate::calibrate::TIMED_STEPS,
                crate::calibrate::WARMUP_STEPS
            )))
        }
    };
    let size = size?;
    Ok(TimeEstimate::from_timing(
        &cal.timing(),
        r.batch,
        size,
        cached,
    ))
}

/// The task a model of `e`'s family trains for: encoders classify, decoders generate.
fn task_of(e: &Estimate) -> tunesmith_data::Task {
    match e.shape.family {
        tunesmith_hub::support::Family::Encoder => tunesmith_data::Task::Classify,
        tunesmith_hub::support::Family::Decoder => tunesmith_data::Task::Generate,
    }
}

/// The schedule `train` would choose for `e`'s model and method over `train_rows` rows, `epochs`
/// over it when given.
fn schedule_of(
    e: &Estimate,
    method: tunesmith_engine::train::Method,
    train_rows: u64,
    epochs: Option<u64>,
) -> tunesmith_engine::train::SchedulePlan {
    crate::train_schedule::schedule(
        task_of(e),
        method,
        train_rows as usize,
        Some(e.shape.parameters).filter(|&p| p > 0),
        &tunesmith_engine::train::Overrides {
            epochs: epochs.map(|e| e as usize),
            ..Default::default()
        },
    )
}

/// The run's size from `opts.rows` or `opts.data`, split as `train` splits by default.
fn run_size(e: &Estimate, opts: &EstimateOptions) -> Result<Option<RunSize>> {
    // `train`'s default split (the data crate's).
    let split = tunesmith_data::SplitConfig::default();
    let (validation, test) = (split.validation, split.test);
    let (train_rows, val_rows) = match (opts.rows, &opts.data) {
        (Some(rows), _) => {
            let val = (rows as f64 * validation).round() as u64;
            let test = (rows as f64 * test).round() as u64;
            (rows.saturating_sub(val + test).max(1), val)
        }
        (None, Some(file)) => {
            let request = crate::data::InspectRequest {
                task: Some(task_of(e)),
                val_fraction: Some(validation),
                test_fraction: Some(test),
                ..crate::data::InspectRequest::new(file.clone())
            }
            .into_data_request();
            let dataset = crate::data::load(&request, &mut |_| {})?;
            let plan = dataset.split(&request.options.split)?;
            (plan.indices(0).len() as u64, plan.indices(1).len() as u64)
        }
        (None, None) => return Ok(None),
    };
    // The passes `train` will choose from the data (see `train_schedule`), unless given.
    let epochs = opts.epochs.unwrap_or_else(|| {
        schedule_of(e, e.request.method, train_rows, None).epochs
    });
    let setup_rows = if e.request.method == Method::Features {
        train_rows + val_rows
    } else {
        0
    };
    Ok(Some(RunSize {
        train_rows,
        setup_rows,
        epochs,
    }))
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
