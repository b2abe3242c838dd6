//! `job.json`: what a job folder is, written by `job export` and checked by `job import`.
//!
//! It records what makes the job the same run as a local one (Tunesmith's version, the base model
//! and how it was identified, the method and every resolved setting, the data's fingerprint and
//! split) and the run it becomes: the run is created in the history, queued, when the job is
//! exported, so its id is known before the trainer starts and the import fills that very run.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tunesmith_engine::adapters::lora::LoraConfig;
use tunesmith_engine::train::TrainConfig;

use super::base::BaseModel;
use super::request::Trainer;
use crate::run::TrainRequest;
use crate::{Error, Result};

/// The manifest's file name in a job folder.
pub const JOB_FILE: &str = "job.json";
/// The trainer's config file (TRL), read by `train.py`.
pub const CONFIG_FILE: &str = "train_config.json";
/// The Axolotl config file.
pub const AXOLOTL_FILE: &str = "axolotl.yaml";
/// The folder the trainer writes into (copied back before the import).
pub const OUTPUT_DIR: &str = "output";
/// What the TRL script writes beside the trained weights: the run id and the job it ran.
pub const RESULT_FILE: &str = "tunesmith-result.json";

/// The split a job's rows come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSplit {
    /// The split's seed.
    pub seed: u64,
    /// The split plan's fingerprint (same data, fractions and seed: same fingerprint).
    pub fingerprint: String,
    /// Shares of train, validation, test.
    pub fractions: Vec<f64>,
    /// Rows in train, validation, test.
    pub sizes: [usize; 3],
}

/// `job.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobManifest {
    /// The manifest's format.
    pub format: u32,
    /// The Tunesmith version that wrote it.
    pub tunesmith_version: String,
    /// The run this job becomes in the history.
    pub run_id: String,
    /// The trainer it was written for.
    pub trainer: Trainer,
    /// The base model.
    pub base: BaseModel,
    /// The request as a local `train` takes it (the model resolved to a path).
    pub request: TrainRequest,
    /// The loop's resolved settings.
    pub config: TrainConfig,
    /// The LoRA settings (rank, alpha, dropout, targets as the engine has them).
    pub lora: LoraConfig,
    /// The modules that get LoRA, as written for PEFT (what the import checks).
    pub targets: Vec<String>,
    /// Modules trained whole beside the adapter (a classifier's head).
    pub modules_to_save: Vec<String>,
    /// The longest row in tokens.
    pub max_len: usize,
    /// Class names by index (classification).
    pub labels: Vec<String>,
    /// The data's content fingerprint.
    pub data_fingerprint: String,
    /// The split.
    pub split: JobSplit,
    /// The schedule the local run would have chosen from the data (the settings above come from it).
    #[serde(default)]
    pub schedule: Option<tunesmith_engine::train::SchedulePlan>,
    /// `sha256:` of the trainer's config file as written, so the import can tell it was not edited.
    pub config_sha256: String,
}

/// The manifest format this version writes.
pub const FORMAT: u32 = 1;

impl JobManifest {
    /// Reads `dir/job.json`.
    pub fn read(dir: &Path) -> Result<JobManifest> {
        let path = dir.join(JOB_FILE);
        let bytes = std::fs::read(&path).map_err(|e| {
            Error::invalid(format!(
                "cannot read {}: {e}; give the folder `tunesmith job export` wrote (with the trainer's output/ copied back into it)",
                path.display()
            ))
        })?;
        let m: JobManifest = serde_json::from_slice(&bytes).map_err(|e| {
            Error::invalid(format!("{} is not a Tunesmith job manifest: {e}", path.display()))
        })?;
        if m.format > FORMAT {
            return Err(Error::invalid(format!(
                "{} was written by a newer Tunesmith ({}); update Tunesmith to import it",
                path.display(),
                m.tunesmith_version
            )));
        }
        Ok(m)
    }
}
