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

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Var};
use candle_nn::VarMap;
use serde::Serialize;
use tunesmith_engine::adapters::peft::PeftAdapter;
use tunesmith_engine::device;
use tunesmith_engine::metrics::{ClassificationReport, GenerationReport};
use tunesmith_engine::models::bert::{BertConfig, ClassifierOptions, SequenceClassifier};
use tunesmith_engine::models::checkpoint::Checkpoint;
use tunesmith_engine::nn::params::Backbone;
use tunesmith_engine::task::{ClassifyExample, ClassifyTask, SftExample, SftTask};
use tunesmith_engine::tokenizer::TextTokenizer;
use tunesmith_engine::train::checkpoint::{load_tensors, BEST_FILE, LAST_FILE};
use tunesmith_engine::train::{
    defaults, train as run_loop, CancelHandle, EarlyStopping, Method, TrainConfig, TrainOptions,
    TrainTask,
};
use tunesmith_engine::EngineError;
use tunesmith_store::{ArtefactKind, EvalModel, Split};

use crate::data::{Content, DataRequest, Dataset, InspectOptions, RoleOverrides, SplitConfig};
use crate::home::Home;
use crate::train::RunRecord;
use crate::train_generate::Decoder;
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
}

fn invalid(msg: String) -> Error {
    Error::Engine(EngineError::Invalid(msg))
}

/// A run found in the history, with its `run.json`.
#[derive(Debug, Clone)]
pub struct FoundRun {
    /// The run's id.
    pub id: String,
    /// Its folder.
    pub dir: PathBuf,
    /// What `run.json` records.
    pub record: RunRecord,
}

/// Finds the classification run `query` names (id, prefix, suffix or name) and reads its
/// `run.json`; a generation run is refused (`predict` and the per-class report need labels).
pub fn find_run(home: &Home, query: &str) -> Result<FoundRun> {
    let run = find_any_run(home, query)?;
    if run.record.request.task != crate::data::Task::Classify {
        return Err(invalid(format!(
            "run {} is a generation run, which answers with text rather than labels; `predict` scores classification runs (talk to it with `tunesmith chat --run {}`, or score it with `tunesmith eval --run {}`)",
            run.id, run.id, run.id
        )));
    }
    Ok(run)
}

/// Finds the run `query` names (id, prefix, suffix or name), of either task, and reads its
/// `run.json`.
pub fn find_any_run(home: &Home, query: &str) -> Result<FoundRun> {
    let store = crate::runs::open_for_reading(home)?;
    let run = store.resolve_run(query)?;
    let dir = store.run_dir(&run.id);
    let record = read_record(&dir)?;
    Ok(FoundRun {
        id: run.id,
        dir,
        record,
    })
}

/// Reads a run folder's `run.json`.
pub fn read_record(dir: &Path) -> Result<RunRecord> {
    let path = dir.join("run.json");
    let bytes = std::fs::read(&path).map_err(|e| {
        invalid(format!(
            "cannot read {}: {e}; the run's folder is incomplete (was it trained by this version of Tunesmith?)",
            path.display()
        ))
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        invalid(format!(
            "{} is not a readable run record: {e}",
            path.display()
        ))
    })
}

/// The data request a run's file was read with (roles and split as the run recorded them).
pub fn data_request(record: &RunRecord, file: &Path) -> DataRequest {
    let req = &record.request;
    if req.task == crate::data::Task::Generate {
        return crate::train_generate::data_request(req, file);
    }
    DataRequest {
        file: file.to_path_buf(),
        model: None,
        options: InspectOptions {
            roles: RoleOverrides {
                task: Some(req.task),
                text_columns: req.text_column.iter().cloned().collect(),
                label_column: req.label_column.clone(),
                response_column: None,
            },
            split: SplitConfig {
                validation: req.val_fraction,
                test: req.test_fraction,
                seed: req.seed,
                ..Default::default()
            },
            fixes: req.fixes,
            ..Default::default()
        },
    }
}

/// The run's data read again, refused when it is no longer what the run trained on.
pub fn reload_data(record: &RunRecord) -> Result<Dataset> {
    let request = data_request(record, &record.request.data);
    let dataset = crate::data::load(&request, &mut |_| {})?;
    crate::data::require_usable(&dataset.report)?;
    if dataset.fingerprint() != record.fingerprint {
        return Err(invalid(format!(
            "{} changed since run {} was trained (its content fingerprint differs), so its held-out rows can no longer be told apart; evaluate with --data on a separate test file instead",
            record.request.data.display(),
            record.run_id
        )));
    }
    Ok(dataset)
}

/// Classification examples (token ids and class index) and their texts, with the run's labels.
pub fn classify_examples(
    dataset: &Dataset,
    labels: &[String],
    tok: &TextTokenizer,
    max_len: usize,
) -> Result<(Vec<ClassifyExample>, Vec<String>)> {
    let mut examples = Vec::with_capacity(dataset.examples.len());
    let mut texts = Vec::with_capacity(dataset.examples.len());
    for e in &dataset.examples {
        let Content::Labelled { text, label } = &e.content else {
            return Err(invalid(format!(
                "{} line {}: not a text with a label",
                dataset.report.file, e.line
            )));
        };
        let class = labels.iter().position(|l| l == label).ok_or_else(|| {
            invalid(format!(
                "{} line {}: the label `{label}` is not one the run was trained on ({}); fix the label or remove the row",
                dataset.report.file,
                e.line,
                labels.join(", ")
            ))
        })?;
        examples.push(ClassifyExample::new(
            tok.encode(text, true)?,
            class,
            max_len,
        ));
        texts.push(text.clone());
    }
    Ok((examples, texts))
}

/// The model side of a run: config, tokenizer, device and maximum length.
pub struct RunModel {
    /// The encoder's config.
    pub cfg: BertConfig,
    /// Its tokenizer.
    pub tok: TextTokenizer,
    /// Where it computes.
    pub device: Device,
    /// The longest input in tokens, as trained.
    pub max_len: usize,
}

impl RunModel {
    /// Opens the run's model folder on the run's device choice.
    pub fn open(record: &RunRecord) -> Result<Self> {
        let req = &record.request;
        let cfg = BertConfig::from_file(&req.model.join("config.json"))?;
        let tok = TextTokenizer::from_dir(&req.model)?;
        let max_len = req.max_len.unwrap_or(128).min(cfg.max_position_embeddings);
        Ok(RunModel {
            cfg,
            tok,
            device: device::open(req.device)?,
            max_len,
        })
    }

    /// The classifier as `backbone` loads it, with its trainable parameters.
    fn classifier(
        &self,
        record: &RunRecord,
        backbone: Backbone,
    ) -> Result<(SequenceClassifier, VarMap)> {
        let trainable = VarMap::new();
        let params = Checkpoint::open(&record.request.model)?
            .params(DType::F32, &self.device, trainable.clone(), backbone)?
            .with_seed(record.request.seed);
        let model = SequenceClassifier::load(
            &params,
            &self.cfg,
            &ClassifierOptions {
                num_labels: record.labels.len(),
                pooling: None,
                multi_label: false,
            },
        )?;
        Ok((model, trainable))
    }

    /// The fine-tuned classifier: the run's best weights, or its last checkpoint.
    pub fn fine_tuned(&self, record: &RunRecord, run_dir: &Path) -> Result<ClassifyTask> {
        let (model, trainable) = self.classifier(record, backbone_for(record))?;
        let path = checkpoint_file(record, run_dir)?;
        let task = ClassifyTask::new(
            model,
            trainable,
            self.tok.pad_id(),
            self.device.clone(),
            record.labels.clone(),
            false,
        );
        restore(&task.trainable(), &path, &self.device)?;
        Ok(task)
    }

    /// The base: the untouched backbone, frozen, with a head trained on its features of the
    /// run's training rows (same seed), ready to score (features not cached).
    pub fn base(
        &self,
        record: &RunRecord,
        train_set: &[ClassifyExample],
        val_set: &[ClassifyExample],
    ) -> Result<ClassifyTask> {
        let (model, trainable) = self.classifier(record, Backbone::Frozen)?;
        let mut task = ClassifyTask::new(
            model,
            trainable,
            self.tok.pad_id(),
            self.device.clone(),
            record.labels.clone(),
            true,
        );
        let (mut train_set, mut val_set) = (train_set.to_vec(), val_set.to_vec());
        task.cache_features(&mut train_set, &mut |_, _| {})?;
        task.cache_features(&mut val_set, &mut |_, _| {})?;
        let d = defaults(Method::Features, train_set.len());
        let config = TrainConfig {
            epochs: d.epochs,
            batch_size: d.batch_size,
            lr: d.lr,
            warmup_ratio: d.warmup_ratio,
            seed: record.config.seed,
            // As `train` does: validation loss is smooth where accuracy on few rows is noisy.
            early_stopping: EarlyStopping {
                metric: "loss".into(),
                higher_is_better: false,
                patience: Some(3),
                min_delta: 0.0,
            },
            optimizer: tunesmith_engine::train::AdamWConfig {
                weight_decay: d.weight_decay,
                ..Default::default()
            },
            ..Default::default()
        };
        let opts = TrainOptions {
            checkpoint_dir: None,
            resume: false,
            cancel: CancelHandle::new(),
        };
        run_loop(&mut task, &train_set, &val_set, &config, &opts, &mut |_| {})?;
        task.cached_features = false;
        Ok(task)
    }
}

/// The run's best weights file, or its last checkpoint.
pub(crate) fn checkpoint_file(record: &RunRecord, run_dir: &Path) -> Result<PathBuf> {
    let ckpt = run_dir.join("checkpoints");
    [ckpt.join(BEST_FILE), ckpt.join(LAST_FILE)]
        .into_iter()
        .find(|p| p.is_file())
        .ok_or_else(|| {
            invalid(format!(
                "run {} has no saved weights in {} (it stopped before its first checkpoint); resume or re-run it",
                record.run_id,
                ckpt.display()
            ))
        })
}

/// Sets every trainable variable from the checkpoint at `path` (saved as `w.<name>`), refusing a
/// checkpoint of another model or method.
fn restore(trainable: &[(String, Var)], path: &Path, device: &Device) -> Result<()> {
    let (tensors, _) = load_tensors(path, device)?;
    for (name, var) in trainable {
        let t = tensors.get(&format!("w.{name}")).ok_or_else(|| {
            invalid(format!(
                "{} has no weights for `{name}`: it belongs to a different model or method",
                path.display()
            ))
        })?;
        if t.dims() != var.dims() {
            return Err(invalid(format!(
                "{}: the weights `{name}` have shape {:?}, the model expects {:?}",
                path.display(),
                t.dims(),
                var.dims()
            )));
        }
        t.to_dtype(var.dtype())
            .and_then(|t| var.set(&t))
            .map_err(EngineError::from)?;
    }
    Ok(())
}

/// The backbone a run trained: frozen for features, LoRA with the run's rank and alpha, or full.
pub fn backbone_for(record: &RunRecord) -> Backbone {
    crate::train::backbone(&record.request)
}

/// Evaluates run `query` on its test split (or on all rows of `data`), base and fine-tuned, and
/// records both evaluations in the history.
/// A generation run is refused here (its scores have another shape): [`evaluate_any`] or
/// [`evaluate_generation`] score it.
pub fn evaluate(home: &Home, query: &str, data: Option<&Path>) -> Result<EvalReport> {
    let run = find_any_run(home, query)?;
    if run.record.request.task != crate::data::Task::Classify {
        return Err(invalid(format!(
            "run {} is a generation run: it is scored by response loss and perplexity, not accuracy; `tunesmith eval --run {}` scores it and records the result on its history page",
            run.id, run.id
        )));
    }
    let record = &run.record;
    let model = RunModel::open(record)?;
    let dataset = reload_data(record)?;
    let plan = dataset.split(&data_request(record, &record.request.data).options.split)?;
    let (examples, texts) = classify_examples(&dataset, &record.labels, &model.tok, model.max_len)?;
    let pick = |b: usize| -> (Vec<ClassifyExample>, Vec<String>) {
        plan.indices(b)
            .into_iter()
            .map(|i| (examples[i].clone(), texts[i].clone()))
            .unzip()
    };
    let (train_set, _) = pick(0);
    let (val_set, _) = pick(1);
    let (eval_set, eval_texts, label) = match data {
        None => {
            let (e, t) = pick(2);
            if e.is_empty() {
                return Err(invalid(format!(
                    "run {} held out no test rows (--test-fraction 0); evaluate with --data FILE",
                    run.id
                )));
            }
            (e, t, "test".to_string())
        }
        Some(file) => {
            let ds = crate::data::load(&data_request(record, file), &mut |_| {})?;
            crate::data::require_usable(&ds.report)?;
            let (e, t) = classify_examples(&ds, &record.labels, &model.tok, model.max_len)?;
            (e, t, file.display().to_string())
        }
    };
    let fine = model
        .fine_tuned(record, &run.dir)?
        .report(&eval_set, Some(&eval_texts), WORST)?;
    let base =
        model
            .base(record, &train_set, &val_set)?
            .report(&eval_set, Some(&eval_texts), WORST)?;
    let report = EvalReport {
        run_id: run.id.clone(),
        data: label,
        rows: eval_set.len(),
        fine_tuned: fine,
        base: BaseScores {
            note: BASE_NOTE.into(),
            report: base,
        },
    };
    record_pair(home, &run.id, report.rows, &report.fine_tuned, &report.base)?;
    Ok(report)
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
    serde_json::to_value(v).map_err(|e| invalid(format!("cannot record the evaluation: {e}")))
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
    let run = find_any_run(home, query)?;
    if run.record.request.task == crate::data::Task::Generate {
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
    let run = find_any_run(home, query)?;
    let record = &run.record;
    let req = &record.request;
    if req.task != crate::data::Task::Generate {
        return Err(invalid(format!(
            "run {} is a classification run; evaluate it with `tunesmith eval --run {}`",
            run.id, run.id
        )));
    }
    let device = device::open(req.device)?;
    let (dataset, label, rows) = match data {
        None => {
            let dataset = reload_data(record)?;
            let plan = dataset.split(&data_request(record, &req.data).options.split)?;
            let rows = plan.indices(2);
            if rows.is_empty() {
                return Err(invalid(format!(
                    "run {} held out no test rows (--test-fraction 0); evaluate with --data FILE",
                    run.id
                )));
            }
            (dataset, "test".to_string(), Some(rows))
        }
        Some(file) => {
            let ds = crate::data::load(&data_request(record, file), &mut |_| {})?;
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
    let sample_rows: Vec<usize> = match &rows {
        Some(rows) => rows.iter().copied().take(SAMPLES).collect(),
        None => (0..dataset.examples.len().min(SAMPLES)).collect(),
    };

    // One model in memory at a time: the base first, then the fine-tuned one.
    let (base, base_answers) = {
        let decoder = Decoder::load(req, Backbone::Frozen, &device)?;
        let eval_set = pick(decoder.examples(&dataset)?);
        let answers = decoder.answers(&dataset, &sample_rows, SAMPLE_TOKENS)?;
        (
            SftTask::new(decoder.model, decoder.pad_id).report(&eval_set)?,
            answers,
        )
    };
    let (fine, fine_answers) = {
        let decoder = if req.method == Method::Full {
            let decoder = Decoder::load(req, Backbone::Full, &device)?;
            let vars: Vec<(String, Var)> = match decoder.model.trainable().data().lock() {
                Ok(m) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                Err(_) => {
                    return Err(invalid(
                        "the model's weights were poisoned by a panic".into(),
                    ))
                }
            };
            restore(&vars, &checkpoint_file(record, &run.dir)?, &device)?;
            decoder
        } else {
            let adapter = adapter_dir(home, &run)?;
            let peft = PeftAdapter::load(&adapter, &device)?;
            Decoder::load(req, peft.backbone(), &device)?
        };
        let eval_set = pick(decoder.examples(&dataset)?);
        let answers = decoder.answers(&dataset, &sample_rows, SAMPLE_TOKENS)?;
        (
            SftTask::new(decoder.model, decoder.pad_id).report(&eval_set)?,
            answers,
        )
    };
    let samples = sample_rows
        .iter()
        .zip(base_answers.into_iter().zip(fine_answers))
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
    };
    record_pair(home, &run.id, report.rows, &report.fine_tuned, &report.base)?;
    Ok(report)
}

/// The run's PEFT adapter folder: the newest one the history records, else the run folder's own.
pub(crate) fn adapter_dir(home: &Home, run: &FoundRun) -> Result<PathBuf> {
    let store = crate::runs::open_for_reading(home)?;
    let recorded = store
        .artefacts(&run.id)?
        .into_iter()
        .filter(|a| a.kind == ArtefactKind::Adapter && a.path.is_dir())
        .max_by_key(|a| (a.created_at, a.id))
        .map(|a| a.path);
    let own = run.dir.join(crate::train_generate::ADAPTER_DIR);
    recorded
        .or_else(|| own.is_dir().then_some(own))
        .ok_or_else(|| {
            invalid(format!(
                "run {} has no LoRA adapter on disk (it saves one when training ends); wait for it to finish, or re-run it",
                run.id
            ))
        })
}
