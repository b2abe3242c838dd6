//! Exporting a classification run so the Python ecosystem gets the same predictions:
//! `tunesmith export --run RUN --format classifier`.
//!
//! The folder is a sentence-transformers one whose pooling and head are the run's own (the engine
//! writes it: [`tunesmith_engine::export::classifier`], which says why transformers'
//! `*ForSequenceClassification` classes cannot state every head); here the run is read through
//! its plan: its base, its trained weights, its labels, its maximum length and its LoRA scale.
//! `tests/reference/classifier_export_check.py` loads the folder with sentence-transformers and
//! compares its probabilities with `tunesmith predict`'s.

use std::path::Path;

use tunesmith_engine::export::classifier::{self, ClassifierRun};
use tunesmith_engine::EngineError;

use crate::run::{FoundRun, TrainPlan};
use crate::{Error, Result};

/// Writes run `run`'s classifier into `dir` as a sentence-transformers folder; answers how to use it.
pub(crate) fn write_classifier(run: &FoundRun, dir: &Path) -> Result<String> {
    let plan = TrainPlan::of_run(run);
    // Already within the usable positions (RoBERTa's start after its padding index), as trained.
    let max_len = crate::session::EncoderSession::open(&plan)?.max_len;
    let weights = run.folder.weights_file(&run.id)?;
    let exported = classifier::write_classifier(
        &ClassifierRun {
            id: &run.id,
            model: plan.model(),
            weights: &weights,
            labels: &run.record.labels,
            max_len,
            lora_scale: plan.lora().scale(),
        },
        dir,
    );
    exported.map_err(|e| match e {
        // What the run's weights cannot be exported as: the export's own refusal.
        EngineError::Invalid(message) => Error::Export(message),
        other => Error::Engine(other),
    })
}
