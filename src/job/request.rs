//! What a user asks of a job hand-off ([`JobExportRequest`]: the same [`TrainRequest`] a local
//! run takes, a trainer and a folder) and what export and import report back.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::run::TrainRequest;

/// The distributed trainer a job is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum Trainer {
    /// Hugging Face TRL (`SFTTrainer`) for generation, transformers `Trainer` + PEFT for
    /// classification, launched with Accelerate (DDP, FSDP, DeepSpeed).
    Trl,
    /// Axolotl (generation only), from one YAML config.
    Axolotl,
}

impl Trainer {
    /// The name the CLI and the manifest use.
    pub fn as_str(self) -> &'static str {
        match self {
            Trainer::Trl => "trl",
            Trainer::Axolotl => "axolotl",
        }
    }
}

impl std::str::FromStr for Trainer {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "trl" => Ok(Trainer::Trl),
            "axolotl" => Ok(Trainer::Axolotl),
            other => Err(format!("unknown trainer `{other}`: choose trl or axolotl")),
        }
    }
}

/// `tunesmith job export`: the run a local `train` would make, written for `trainer` into `out`.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct JobExportRequest {
    /// The run's settings, exactly as `train` takes them (same defaults, same doctor fixes).
    pub train: TrainRequest,
    /// The trainer that will run it.
    pub trainer: Trainer,
    /// A new (or empty) folder to write the job into.
    pub out: PathBuf,
}

/// What `job export` wrote.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct JobExportSummary {
    /// The run the job becomes once imported (queued in the history until then).
    pub run_id: String,
    /// The job folder.
    pub dir: PathBuf,
    /// The trainer it is written for.
    pub trainer: Trainer,
    /// Rows written for training and validation.
    pub train_rows: usize,
    /// Rows written for validation.
    pub validation_rows: usize,
    /// The base model as the job names it (a hub id, or the folder copied into the job).
    pub base_model: String,
    /// The files written, relative to the folder.
    pub files: Vec<String>,
    /// The command that launches it on one machine with several GPUs (see the job's README).
    pub launch: String,
}

/// What `job import` recorded.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct JobImportSummary {
    /// The run, now finished in the history.
    pub run_id: String,
    /// Its folder.
    pub dir: PathBuf,
    /// What was imported: `adapter` (PEFT LoRA) or `full` (a whole checkpoint).
    pub kind: String,
    /// Training steps the trainer logged.
    pub steps: u64,
    /// Loss points recorded from the trainer's log.
    pub loss_points: usize,
    /// The last validation metrics the trainer logged (`loss`, `perplexity`, `accuracy` ...).
    pub metrics: std::collections::BTreeMap<String, f64>,
    /// Processes the trainer ran on, when it said.
    #[specta(optional)]
    pub world_size: Option<u64>,
}
