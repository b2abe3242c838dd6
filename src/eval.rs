//! Evaluating a finished run: the fine-tuned model against the base model on the
//! run's held-out test split (or on another file), as `tunesmith eval` and the app's results page
//! show it, and recorded in the run history.
//!
//! It promises: the test rows are exactly the ones the run held out (the same reader, roles, split
//! fractions and seed; the data's fingerprint is checked, so a changed file is refused rather than
//! silently mixing training rows into the test); the fine-tuned model is the run's best weights (or
//! its last checkpoint); and the base is the untouched backbone with only a head trained on its
//! frozen features (a classifier needs a head, and the base has none for these labels). The `note`
//! field says so, so nobody reads the base's numbers as zero-shot ones.
//!
//! A generation run is scored by held-out response loss and perplexity (prompt tokens masked),
//! computed as training's validation computes them, for the untouched base and for the run's
//! adapter (or full weights) on the same test rows; both are recorded in the history too.

use std::path::Path;

use serde::Serialize;
use tunesmith_engine::device;
use tunesmith_engine::metrics::baseline::{baseline_report, BaselineReport};
use tunesmith_engine::metrics::{ClassificationReport, GenerationReport};
use tunesmith_engine::nn::params::Backbone;
use tunesmith_engine::task::{ClassifyExample, SftExample, SftTask};
use tunesmith_store::{EvalModel, Split};

use crate::data::{Content, Task};
use crate::home::Home;
use crate::run::{find_run, TrainPlan};
use crate::session::{DecoderSession, EncoderSession};
use crate::{Error, Result};

/// How many of the most wrongly classified rows a report lists.
const WORST: usize = 10;

/// What the base model's numbers mean (classification).
pub const BASE_NOTE: &str = "base = the untouched model with only a classification head trained on its frozen features (train split, same seed); a classifier cannot be scored without a head";

/// The base model's scores and what they mean.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct BaseScores {
    /// What "base" means here.
    pub note: String,
    /// The scores.
    #[serde(flatten)]
    pub report: ClassificationReport,
}

/// `tunesmith eval`'s answer.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct EvalReport {
    /// The run.
    pub run_id: String,
    /// Which rows: `test` (the run's held-out split) or the file given.
    pub data: String,
    /// Rows evaluated.
    pub rows: usize,
    /// The fine-tuned model's scores.
    pub fine_tuned: ClassificationReport,
    /// The base model's scores.
    pub base: BaseScores,
    /// Honest baselines on the same rows, trained on the run's training rows: always the most
    /// common label, and a word-count model (TF-IDF + logistic regression). For feature extraction
    /// the base is the fine-tuned model's own frozen backbone, so these are what it is measured by.
    pub baselines: BaselineReport,
}

/// Evaluates run `query` on its test split (or on all rows of `data`), base and fine-tuned, and
/// records both evaluations in the history.
/// A generation run is refused here (its scores have another shape): [`evaluate_any`] or
/// [`evaluate_generation`] score it.
pub fn evaluate(home: &Home, query: &str, data: Option<&Path>) -> Result<EvalReport> {
    let run = find_run(home, query)?;
    if run.task() != Task::Classify {
        return Err(Error::invalid(format!(
            "run {} is a generation run: it is scored by response loss and perplexity, not accuracy; `tunesmith eval --run {}` scores it and records the result on its history page",
            run.id, run.id
        )));
    }
    let labels = &run.record.labels;
    let plan = TrainPlan::of_run(&run);
    crate::run::model_gone::require_model(&run.id, plan.model())?;
    crate::memory_check::before_loading(home, &plan.model().display().to_string(), "evaluate", false)?;
    let model = EncoderSession::open(&plan)?;
    let (dataset, split) = plan.load_data()?;
    let (examples, texts) = model.examples(&dataset, labels)?;
    let pick = |b: usize| -> (Vec<ClassifyExample>, Vec<String>) {
        split
            .indices(b)
            .into_iter()
            .map(|i| (examples[i].clone(), texts[i].clone()))
            .unzip()
    };
    let (train_set, train_texts) = pick(0);
    let (val_set, _) = pick(1);
    let (eval_set, eval_texts, label) = match data {
        None => {
            let (e, t) = pick(2);
            if e.is_empty() {
                return Err(Error::invalid(format!(
                    "run {} held out no test rows (--test-fraction 0); evaluate with --data FILE",
                    run.id
                )));
            }
            (e, t, "test".to_string())
        }
        Some(file) => {
            let ds = crate::data::load(&plan.data_for(file), &mut |_| {})?;
            crate::data::require_usable(&ds.report)?;
            let (e, t) = model.examples(&ds, labels)?;
            (e, t, file.display().to_string())
        }
    };
    let fine = model
        .fine_tuned(&plan, labels, &run.folder.weights_file(&run.id)?)?
        .report(&eval_set, Some(&eval_texts), WORST)?;
    let base = model.base(&plan, labels, &train_set, &val_set)?.report(
        &eval_set,
        Some(&eval_texts),
        WORST,
    )?;
    // Honest baselines: trained on the same training rows, scored on the same rows.
    let train_truth: Vec<usize> = train_set.iter().map(|e| e.label).collect();
    let eval_truth: Vec<usize> = eval_set.iter().map(|e| e.label).collect();
    let baselines = baseline_report(
        labels,
        &train_texts,
        &train_truth,
        &eval_texts,
        &eval_truth,
        WORST,
    )?;
    let report = EvalReport {
        run_id: run.id.clone(),
        data: label,
        rows: eval_set.len(),
        fine_tuned: fine,
        base: BaseScores {
            note: BASE_NOTE.into(),
            report: base,
        },
        baselines,
    };
    // The baselines go with the base's record: a feature-extraction run's base is the run itself,
    // so its page compares it with them instead.
    let base = RecordedBase {
        base: &report.base,
        baselines: &report.baselines,
    };
    record_pair(home, &run.id, report.rows, &report.fine_tuned, &base)?;
    Ok(report)
}

/// A classifier's base evaluation as the history records it: the base's scores, and the simple
/// baselines scored on the same rows (`baselines.majority_label`, `.majority`, `.bag_of_words`).
#[derive(Serialize)]
struct RecordedBase<'a> {
    #[serde(flatten)]
    base: &'a BaseScores,
    baselines: &'a BaselineReport,
}

/// Records a fine-tuned and a base evaluation of `rows` held-out rows in the run's history, so the
/// run page shows them side by side.
fn record_pair<F: Serialize, B: Serialize>(
    home: &Home,
    run_id: &str,
    rows: usize,
    fine_tuned: &F,
    base: &B,
) -> Result<()> {
    let store = crate::runs::open_store(home)?;
    let rows = rows as u64;
    store.record_evaluation(
        run_id,
        EvalModel::FineTuned,
        Split::Test,
        rows,
        &json(fine_tuned)?,
    )?;
    store.record_evaluation(run_id, EvalModel::Base, Split::Test, rows, &json(base)?)?;
    Ok(())
}

fn json<T: Serialize>(v: &T) -> Result<serde_json::Value> {
    serde_json::to_value(v)
        .map_err(|e| Error::invalid(format!("cannot record the evaluation: {e}")))
}

/// What the base model's numbers mean (generation).
pub const GENERATION_BASE_NOTE: &str = "base = the untouched model the run started from (4-bit when the run is QLoRA, as it trained), scored on the same responses";

/// `tunesmith eval`'s answer for a generation run: held-out response loss and perplexity (prompt
/// tokens masked), base and fine-tuned.
#[derive(Debug, Clone, Serialize)]
pub struct GenerationEvalReport {
    /// The run.
    pub run_id: String,
    /// Which rows: `test` (the run's held-out split) or the file given.
    pub data: String,
    /// Rows evaluated.
    pub rows: usize,
    /// The fine-tuned model's scores.
    pub fine_tuned: GenerationReport,
    /// The base model's scores.
    pub base: GenerationBaseScores,
    /// A few held-out prompts with the reference answer and both models' greedy answers.
    pub samples: Vec<SampleAnswer>,
    /// "Did it learn?": the evaluated questions (up to [`crate::fact_recall::MAX_QUESTIONS`])
    /// answered greedily by both models and checked for their reference's key facts.
    pub fact_recall: crate::fact_recall::FactRecallReport,
}

/// One held-out prompt answered by the base and the fine-tuned model (greedy), beside the
/// reference answer from the data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct SampleAnswer {
    /// The user's prompt (the row's last user turn).
    pub prompt: String,
    /// The answer in the data.
    pub reference: String,
    /// The base model's answer.
    pub base: String,
    /// The fine-tuned model's answer.
    pub fine_tuned: String,
}

/// How many held-out prompts are answered as samples, and how long each answer may be.
const SAMPLES: usize = 3;
const SAMPLE_TOKENS: usize = 48;

/// The base model's generation scores and what they mean.
#[derive(Debug, Clone, Serialize)]
pub struct GenerationBaseScores {
    /// What "base" means here.
    pub note: String,
    /// The scores.
    #[serde(flatten)]
    pub report: GenerationReport,
}

/// An evaluation of either task, as `tunesmith eval` prints it.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Evaluation {
    /// A classification run's.
    Classification(EvalReport),
    /// A generation run's.
    Generation(GenerationEvalReport),
}

/// Evaluates run `query` of either task (see [`evaluate`] and [`evaluate_generation`]).
pub fn evaluate_any(home: &Home, query: &str, data: Option<&Path>) -> Result<Evaluation> {
    let run = find_run(home, query)?;
    if run.task() == Task::Generate {
        evaluate_generation(home, &run.id, data).map(Evaluation::Generation)
    } else {
        evaluate(home, &run.id, data).map(Evaluation::Classification)
    }
}

/// Evaluates generation run `query` on its test split (or on all rows of `data`): the response
/// loss and perplexity of the untouched base and of the fine-tuned model (the run's adapter
/// applied, or its full weights), computed as training's validation computes them, and records
/// both evaluations in the history.
pub fn evaluate_generation(
    home: &Home,
    query: &str,
    data: Option<&Path>,
) -> Result<GenerationEvalReport> {
    let run = find_run(home, query)?;
    let plan = TrainPlan::of_run(&run);
    if plan.task() != Task::Generate {
        return Err(Error::invalid(format!(
            "run {} is a classification run; evaluate it with `tunesmith eval --run {}`",
            run.id, run.id
        )));
    }
    crate::run::model_gone::require_model(&run.id, plan.model())?;
    // The base as it trains (a GGUF dequantised, 4-bit for QLoRA).
    let quantised = plan.quantize().is_some();
    crate::memory_check::before_loading(home, &plan.model().display().to_string(), "evaluate", quantised)?;
    let device = device::open(plan.request().device)?;
    let (dataset, label, rows) = match data {
        None => {
            let (dataset, split) = plan.load_data()?;
            let rows = split.indices(2);
            if rows.is_empty() {
                return Err(Error::invalid(format!(
                    "run {} held out no test rows (--test-fraction 0); evaluate with --data FILE",
                    run.id
                )));
            }
            (dataset, "test".to_string(), Some(rows))
        }
        Some(file) => {
            let ds = crate::data::load(&plan.data_for(file), &mut |_| {})?;
            crate::data::require_usable(&ds.report)?;
            (ds, file.display().to_string(), None)
        }
    };
    let pick = |examples: Vec<SftExample>| -> Vec<SftExample> {
        match &rows {
            Some(rows) => rows.iter().map(|&i| examples[i].clone()).collect(),
            None => examples,
        }
    };
    // Every evaluated question (up to a bound) is answered for the fact check; the first few are
    // also shown as samples.
    let fact_rows: Vec<usize> = match &rows {
        Some(rows) => rows.clone(),
        None => (0..dataset.examples.len()).collect(),
    }
    .into_iter()
    .take(crate::fact_recall::MAX_QUESTIONS)
    .collect();
    let sample_rows: Vec<usize> = fact_rows.iter().copied().take(SAMPLES).collect();

    // One model in memory at a time: the base first, then the fine-tuned one.
    let answer_tokens: usize;
    let (base, base_answers) = {
        let decoder = DecoderSession::of_plan(&plan, Backbone::Frozen, &device)?;
        let eval_set = pick(decoder.examples(&dataset)?);
        answer_tokens = crate::fact_recall::answer_tokens(&eval_set).max(SAMPLE_TOKENS);
        let answers = decoder.answers(&dataset, &fact_rows, answer_tokens)?;
        let (model, pad_id) = decoder.into_model();
        (SftTask::new(model, pad_id).report(&eval_set)?, answers)
    };
    let (fine, fine_answers) = {
        let decoder = DecoderSession::of_run(home, &run, &plan, &device)?;
        let eval_set = pick(decoder.examples(&dataset)?);
        let answers = decoder.answers(&dataset, &fact_rows, answer_tokens)?;
        let (model, pad_id) = decoder.into_model();
        (SftTask::new(model, pad_id).report(&eval_set)?, answers)
    };
    let what = if label == "test" {
        "held-out test questions"
    } else {
        "questions"
    };
    let fact_recall = crate::fact_recall::report(
        &crate::fact_recall::questions(&dataset, &fact_rows),
        &base_answers,
        &fine_answers,
        what,
    );
    let samples = sample_rows
        .iter()
        .zip(base_answers.into_iter().zip(fine_answers))
        .take(SAMPLES)
        .map(|(&i, (base, fine_tuned))| {
            let turn = |role: &str| match &dataset.examples[i].content {
                Content::Chat { messages } => messages
                    .iter()
                    .rev()
                    .find(|m| m.role == role)
                    .map(|m| m.content.clone())
                    .unwrap_or_default(),
                _ => String::new(),
            };
            SampleAnswer {
                prompt: turn("user"),
                reference: turn("assistant"),
                base,
                fine_tuned,
            }
        })
        .collect();
    let report = GenerationEvalReport {
        run_id: run.id.clone(),
        data: label,
        rows: fine.rows,
        fine_tuned: fine,
        base: GenerationBaseScores {
            note: GENERATION_BASE_NOTE.into(),
            report: base,
        },
        samples,
        fact_recall,
    };
    record_pair(home, &run.id, report.rows, &report.fine_tuned, &report.base)?;
    Ok(report)
}
