//! Classifying a text with a trained run: `tunesmith predict` and the app's "try it" box.
//!
//! It promises: the text goes through the run's own tokenizer and maximum length and the run's
//! best weights (or last checkpoint), and the answer lists every label with its probability,
//! most likely first.

use serde::Serialize;
use tunesmith_engine::task::ClassifyExample;

use crate::session::EncoderSession;
use crate::home::Home;
use crate::run::{find_run, TrainPlan};
use crate::{Error, Result};

/// One label's probability.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct LabelProbability {
    /// The label.
    pub label: String,
    /// Its probability (0..1).
    pub probability: f32,
}

/// `tunesmith predict`'s answer.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct Prediction {
    /// The run.
    pub run_id: String,
    /// The text classified.
    pub text: String,
    /// The most likely label.
    pub label: String,
    /// Every label, most likely first.
    pub probabilities: Vec<LabelProbability>,
}

/// Classifies `text` with run `query`.
pub fn predict(home: &Home, query: &str, text: &str) -> Result<Prediction> {
    if text.trim().is_empty() {
        return Err(Error::invalid(
            "the text to classify is empty; give it with --text \"...\"",
        ));
    }
    let run = find_run(home, query)?.require_classification("`predict`")?;
    let plan = TrainPlan::of_run(&run);
    crate::run::model_gone::require_model(&run.id, plan.model())?;
    let model = EncoderSession::open(&plan)?;
    let task = model.fine_tuned(
        &plan,
        &run.record.labels,
        &run.folder.weights_file(&run.id)?,
    )?;
    let example = ClassifyExample::new(model.tok.encode(text, true)?, 0, model.max_len);
    let probs = task
        .probabilities(std::slice::from_ref(&example))?
        .into_iter()
        .next()
        .unwrap_or_default();
    let mut probabilities: Vec<LabelProbability> = run
        .record
        .labels
        .iter()
        .zip(probs)
        .map(|(label, probability)| LabelProbability {
            label: label.clone(),
            probability,
        })
        .collect();
    probabilities.sort_by(|a, b| b.probability.total_cmp(&a.probability));
    let label = probabilities
        .first()
        .map(|p| p.label.clone())
        .ok_or_else(|| Error::invalid(format!("run {} has no labels recorded", run.id)))?;
    Ok(Prediction {
        run_id: run.id,
        text: text.to_string(),
        label,
        probabilities,
    })
}
