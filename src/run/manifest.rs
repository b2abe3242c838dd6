//! `run.json`: a run folder's description of itself, and the one type the run's history record is
//! made from.
//!
//! The run history (the store) is the record of a run; `run.json` is written from the same
//! [`RunManifest`] when the run is created, so the folder can be read on its own (copied to another
//! machine, inspected by hand) and says exactly what the history says: the request, the resolved
//! loop settings, the data's fingerprint and split, the device. Evaluation, prediction, resume and
//! export read it back to rebuild the run's plan.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tunesmith_data::Task;
use tunesmith_engine::train::TrainConfig;

use super::request::TrainRequest;
use crate::{Error, Result};

/// The file, in a run folder, that describes the run.
pub const MANIFEST_FILE: &str = "run.json";

/// What `run.json` records: enough to evaluate, predict with, resume or re-run the run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunManifest {
    /// The run's id (its folder name).
    pub run_id: String,
    /// The request as given (the model resolved to a path).
    pub request: TrainRequest,
    /// The loop's resolved settings.
    pub config: TrainConfig,
    /// Class names by index (classification).
    pub labels: Vec<String>,
    /// The data's content fingerprint.
    pub fingerprint: String,
    /// Rows in train, validation, test.
    pub split_sizes: [usize; 3],
    /// The split plan's seed (rows are assigned to train/validation/test by it).
    #[serde(default)]
    pub split_seed: u64,
    /// The split plan's fingerprint: the same data, fractions and seed give the same one.
    #[serde(default)]
    pub split_fingerprint: String,
    /// The split plan's shares of train, validation and test.
    #[serde(default)]
    pub split_fractions: Vec<f64>,
    /// The device used.
    pub device: String,
    /// The schedule chosen from the data, with its reason (runs from before it was recorded have
    /// none: they trained with the request's values over the method's defaults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<tunesmith_engine::train::SchedulePlan>,
    /// Whether the run trains with activation checkpointing (the request's setting resolved once;
    /// runs from before it was recorded trained without).
    #[serde(default)]
    pub activation_checkpointing: bool,
}

impl RunManifest {
    /// The task's name as the history records it (`classify`, `generate`).
    pub fn task_name(&self) -> &'static str {
        match self.request.task {
            Task::Classify => "classify",
            Task::Generate => "generate",
        }
    }

    /// The history's record of a new run made from this manifest: the request and resolved
    /// settings, the data's fingerprint and split, the device and versions.
    pub(crate) fn new_run(
        &self,
        primary_metric: tunesmith_store::PrimaryMetric,
        parent_run: Option<String>,
    ) -> Result<tunesmith_store::NewRun> {
        let req = &self.request;
        let config_json = serde_json::to_value(&self.config)
            .map_err(|e| Error::invalid(format!("cannot record the run's settings: {e}")))?;
        Ok(tunesmith_store::NewRun {
            name: None,
            task: self.task_name().into(),
            method: req.method.to_string(),
            model_id: None,
            model_ref: req.model.display().to_string(),
            dataset_id: None,
            dataset_ref: req.data.display().to_string(),
            data_fingerprint: Some(self.fingerprint.clone()),
            config: serde_json::json!({
                "train": config_json,
                "request": req,
                "activation_checkpointing": self.activation_checkpointing,
            }),
            device: self.device.clone(),
            hardware: serde_json::json!({}),
            versions: serde_json::json!({ "tunesmith": env!("CARGO_PKG_VERSION") }),
            seed: req.seed,
            split: serde_json::json!({
                "seed": self.split_seed,
                "fingerprint": self.split_fingerprint,
                "fractions": self.split_fractions,
                "sizes": self.split_sizes,
            }),
            primary_metric: Some(primary_metric),
            parent_run,
        })
    }

    /// Reads the manifest of the run folder `dir`.
    pub fn read(dir: &Path) -> Result<RunManifest> {
        let path = dir.join(MANIFEST_FILE);
        let bytes = std::fs::read(&path).map_err(|e| {
            Error::invalid(format!(
                "cannot read {}: {e}; the run's folder is incomplete (was it trained by this version of Tunesmith?)",
                path.display()
            ))
        })?;
        serde_json::from_slice(&bytes).map_err(|e| {
            Error::invalid(format!(
                "{} is not a readable run record: {e}",
                path.display()
            ))
        })
    }

    /// The run made `more_epochs` passes longer ("train longer"): its loop settings and, for a run
    /// planned from its data, the schedule and its reason.
    pub fn extend_by(&mut self, more_epochs: usize) {
        self.config.epochs += more_epochs;
        if let Some(s) = &mut self.schedule {
            s.epochs += more_epochs as u64;
            s.total_steps = s.steps_per_epoch * s.epochs;
            s.reason = format!(
                "{} Then trained longer: {more_epochs} more epochs ({} steps in all).",
                s.reason.trim_end(),
                s.total_steps
            );
        }
    }

    /// Writes the manifest into the run folder `dir`, atomically (never half-written).
    pub fn write(&self, dir: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::invalid(format!("cannot record the run: {e}")))?;
        tunesmith_engine::train::checkpoint::write_atomic(&dir.join(MANIFEST_FILE), &json)?;
        Ok(())
    }
}
