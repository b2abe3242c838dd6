//! Fine-tuning a model on a spreadsheet: the app's `train` action, shared by the CLI and the UI.
//!
//! It reads and checks the data (the data crate's doctor and honest split), loads the model for the
//! chosen method, trains with the engine's loop, and keeps the run's files in its own folder under
//! the home folder: `run.json` (the resolved settings, labels and split) and `checkpoints/`
//! (resumable checkpoint and best weights). Every engine event is passed on tagged with the run id.
//! Wired today: classification with BERT-family encoders (`full`, `features`, `lora`).

use std::path::{Path, PathBuf};

use candle_core::DType;
use candle_nn::VarMap;
use serde::{Deserialize, Serialize};
use tunesmith_data::{Dataset, InspectOptions, RoleOverrides, SplitConfig, Task};
use tunesmith_engine::adapters::lora::LoraConfig;
use tunesmith_engine::device::{self, DeviceRequest};
use tunesmith_engine::models::bert::{BertConfig, ClassifierOptions, SequenceClassifier};
use tunesmith_engine::models::checkpoint::Checkpoint;
use tunesmith_engine::nn::params::{Backbone, LoraSetup};
use tunesmith_engine::task::{ClassifyExample, ClassifyTask};
use tunesmith_engine::tokenizer::TextTokenizer;
use tunesmith_engine::train::{
    defaults, train as run_loop, EarlyStopping, Method, Metrics, TrainConfig, TrainEvent,
    TrainOptions, TrainStatus,
};
use tunesmith_engine::EngineError;

/// Stops (or pauses) a training run between steps; cancelling writes a checkpoint to resume from.
pub use tunesmith_engine::train::CancelHandle;

use crate::home::Home;
use crate::{Error, Result};

/// What the user asked for (the CLI's flags, the UI's form). `None` takes the method's default.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct TrainRequest {
    /// A local model folder or `.gguf` file, or a hub id (`owner/name`), resolved from the HF
    /// cache (pulled when missing and online) before training.
    pub model: PathBuf,
    /// The data file (CSV, TSV, JSONL).
    pub data: PathBuf,
    /// `classify` or `generate`.
    pub task: Task,
    /// How to fine-tune.
    pub method: Method,
    /// The text column (classification).
    pub text_column: Option<String>,
    /// The label column (classification).
    pub label_column: Option<String>,
    /// The prompt column (generation).
    #[serde(default)]
    pub prompt_column: Option<String>,
    /// The response column (generation).
    #[serde(default)]
    pub response_column: Option<String>,
    /// Passes over the training rows.
    pub epochs: Option<usize>,
    /// Peak learning rate.
    pub lr: Option<f64>,
    /// Rows per step.
    pub batch: Option<usize>,
    /// Longest input in tokens.
    pub max_len: Option<usize>,
    /// Seed of the split, the order and the head's initialisation.
    pub seed: u64,
    /// LoRA rank.
    pub lora_rank: Option<usize>,
    /// LoRA alpha.
    pub lora_alpha: Option<f64>,
    /// Fraction of rows for validation.
    pub val_fraction: f64,
    /// Fraction of rows held out for the final test.
    pub test_fraction: f64,
    /// The compute device.
    pub device: DeviceRequest,
    /// Write a resumable checkpoint every this many steps (default: at the end of each epoch).
    #[serde(default)]
    pub checkpoint_every: Option<usize>,
    /// The data doctor's fixes to apply before the split (none by default).
    #[serde(default)]
    #[specta(optional)]
    pub fixes: tunesmith_data::Fixes,
}

/// An engine event tagged with its run, as printed by `train --json` and sent to the UI.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct RunEvent {
    /// The run.
    pub run_id: String,
    /// What happened.
    #[serde(flatten)]
    pub event: TrainEvent,
    /// This process's resident memory when it happened (bytes), where the OS reports it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[specta(optional)]
    pub memory_bytes: Option<u64>,
}

impl RunEvent {
    /// `event` of run `run_id`, with the memory in use now.
    pub fn new(run_id: &str, event: TrainEvent) -> Self {
        RunEvent {
            run_id: run_id.to_string(),
            event,
            memory_bytes: crate::resident::resident_bytes(),
        }
    }
}

/// What `run.json` records: enough to evaluate, predict with, or resume the run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    /// The run's id (its folder name).
    pub run_id: String,
    /// The request as given.
    pub request: TrainRequest,
    /// The loop's resolved settings.
    pub config: TrainConfig,
    /// Class names by index.
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
    /// The device used.
    pub device: String,
}

/// The result of a run.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct TrainSummary {
    /// The run.
    pub run_id: String,
    /// Its folder.
    pub dir: PathBuf,
    /// Finished or cancelled.
    pub status: TrainStatus,
    /// Validation metrics of the kept weights.
    pub metrics: Metrics,
}

/// What the run history records about a new run: the request and resolved settings, the data's
/// fingerprint and split, the device and versions. Shared by classification and generation so the
/// two kinds of run are recorded alike.
#[allow(clippy::too_many_arguments)]
pub(crate) fn new_run(
    req: &TrainRequest,
    task: &str,
    config: &TrainConfig,
    dataset: &Dataset,
    plan: &tunesmith_data::SplitPlan,
    sizes: [usize; 3],
    device: &str,
    primary_metric: tunesmith_store::PrimaryMetric,
    parent_run: Option<String>,
) -> Result<tunesmith_store::NewRun> {
    let config_json = serde_json::to_value(config)
        .map_err(|e| invalid(format!("cannot record the run's settings: {e}")))?;
    Ok(tunesmith_store::NewRun {
        name: None,
        task: task.into(),
        method: req.method.to_string(),
        model_id: None,
        model_ref: req.model.display().to_string(),
        dataset_id: None,
        dataset_ref: req.data.display().to_string(),
        data_fingerprint: Some(dataset.fingerprint().to_string()),
        config: serde_json::json!({ "train": config_json, "request": req }),
        device: device.to_string(),
        hardware: serde_json::json!({}),
        versions: serde_json::json!({ "tunesmith": env!("CARGO_PKG_VERSION") }),
        seed: req.seed,
        split: serde_json::json!({
            "seed": plan.seed,
            "fingerprint": plan.fingerprint,
            "fractions": plan.fractions,
            "sizes": sizes,
        }),
        primary_metric: Some(primary_metric),
        parent_run,
    })
}

/// The loop's settings for `req` over `train_rows` rows: what the user set, the method's defaults
/// for the rest. Shared by classification and generation so both train alike.
pub(crate) fn train_config(req: &TrainRequest, train_rows: usize) -> TrainConfig {
    let d = defaults(req.method, train_rows);
    TrainConfig {
        epochs: req.epochs.unwrap_or(d.epochs),
        batch_size: req.batch.unwrap_or(d.batch_size),
        lr: req.lr.unwrap_or(d.lr),
        warmup_ratio: d.warmup_ratio,
        seed: req.seed,
        // Validation loss, not accuracy: on a few hundred validation rows accuracy moves by a
        // few points from one evaluation to the next by chance, so patience on it stopped runs
        // (seen: a head on SST-2 at 5 of 20 epochs, 77 % instead of 80 %) while the loss, smooth,
        // was still falling.
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
        checkpoint_every: req.checkpoint_every,
        ..Default::default()
    }
}

/// The LoRA settings `req` asks for (rank and alpha), the defaults for the rest.
pub(crate) fn lora_config(req: &TrainRequest) -> LoraConfig {
    let mut c = LoraConfig::default();
    if let Some(r) = req.lora_rank {
        c.r = r;
    }
    if let Some(a) = req.lora_alpha {
        c.alpha = a;
    }
    c
}

/// What of the backbone `req`'s method trains: everything (full), nothing (features: frozen), or
/// LoRA factors beside the frozen weights.
pub(crate) fn backbone(req: &TrainRequest) -> Backbone {
    match req.method {
        Method::Full => Backbone::Full,
        Method::Features => Backbone::Frozen,
        _ => Backbone::Lora(LoraSetup {
            config: lora_config(req),
            initial: Default::default(),
        }),
    }
}

fn invalid(msg: String) -> Error {
    Error::Engine(EngineError::Invalid(msg))
}

/// Trains as `req` asks, reporting every event to `on_event`.
pub fn train(
    home: &Home,
    req: &TrainRequest,
    cancel: CancelHandle,
    on_event: &mut dyn FnMut(&RunEvent),
) -> Result<TrainSummary> {
    // A hub id becomes its cached snapshot (pulled first when missing and online); the run records
    // the resolved path, so eval, predict and resume find the same files.
    let mut req = req.clone();
    req.model = crate::models::model_path(&req.model.to_string_lossy(), true, &mut |_| {})?;
    let req = &req;
    if req.task == Task::Generate {
        return crate::train_generate::train(home, req, cancel, on_event);
    }
    train_classify(home, req, None, cancel, on_event)
}

/// An earlier run a new session builds on: its id, resolved settings and data fingerprint, and
/// what to do with it: continue it from the checkpoint at `from_step`, or (`None`) train it
/// again from the start as a new run pointing back at it.
struct Resume {
    run_id: String,
    config: TrainConfig,
    from_step: Option<u64>,
    fingerprint: String,
}

/// Trains run `query` again from the start as a new run (same settings, seed and split), after
/// checking that its data file still has the recorded fingerprint.
pub fn rerun(
    home: &Home,
    query: &str,
    cancel: CancelHandle,
    on_event: &mut dyn FnMut(&RunEvent),
) -> Result<TrainSummary> {
    let run_id = crate::runs::open_for_reading(home)?.resolve_run(query)?.id;
    let record = crate::eval::read_record(&home.runs_dir().join(&run_id))?;
    if record.request.task != Task::Classify {
        return Err(invalid(format!(
            "run {run_id} is a generation run; re-running is available for classification runs in this build"
        )));
    }
    let prior = Resume {
        run_id,
        config: record.config.clone(),
        from_step: None,
        fingerprint: record.fingerprint.clone(),
    };
    train_classify(home, &record.request, Some(prior), cancel, on_event)
}

/// Continues run `query` (interrupted, cancelled or failed) from its last checkpoint, with the
/// settings, data and seed it started with; its history continues from that checkpoint's step.
pub fn resume(
    home: &Home,
    query: &str,
    cancel: CancelHandle,
    on_event: &mut dyn FnMut(&RunEvent),
) -> Result<TrainSummary> {
    let (run_id, from_step) = {
        let store = crate::runs::open_store(home)?;
        let run = store.resolve_run(query)?;
        match run.status {
            tunesmith_store::RunStatus::Finished => {
                return Err(invalid(format!(
                    "run {} already finished; `tunesmith runs rerun {}` trains it again from the start",
                    run.id, run.id
                )))
            }
            tunesmith_store::RunStatus::Running => {
                return Err(invalid(format!(
                    "run {} is still running in another Tunesmith process; wait for it or cancel it first",
                    run.id
                )))
            }
            _ => {}
        }
        let step = store
            .last_checkpoint(&run.id)?
            .and_then(|a| a.step)
            .ok_or_else(|| {
                invalid(format!(
                    "run {} stopped before its first checkpoint, so there is nothing to resume from; `tunesmith runs rerun {}` starts it again",
                    run.id, run.id
                ))
            })?;
        (run.id, step)
    };
    let record = crate::eval::read_record(&home.runs_dir().join(&run_id))?;
    if record.request.task != Task::Classify {
        return Err(invalid(format!(
            "run {run_id} is a generation run; resuming is available for classification runs in this build"
        )));
    }
    let resume = Resume {
        run_id,
        config: record.config.clone(),
        from_step: Some(from_step),
        fingerprint: record.fingerprint.clone(),
    };
    train_classify(home, &record.request, Some(resume), cancel, on_event)
}

/// Trains (or, with `resume`, continues) a classification run.
fn train_classify(
    home: &Home,
    req: &TrainRequest,
    resume: Option<Resume>,
    cancel: CancelHandle,
    on_event: &mut dyn FnMut(&RunEvent),
) -> Result<TrainSummary> {
    if req.method == Method::Qlora {
        return Err(invalid("QLoRA applies to decoder models (--task generate); for classification choose full, features or lora".into()));
    }
    let options = InspectOptions {
        roles: RoleOverrides {
            task: Some(Task::Classify),
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
    };
    // The same reader, doctor and refusal as `tunesmith data inspect`, so a file is refused here
    // with exactly the messages the user saw there.
    let request = crate::data::DataRequest {
        file: req.data.clone(),
        model: None,
        options,
    };
    let dataset: Dataset = crate::data::load(&request, &mut |_| {})?;
    crate::data::require_usable(&dataset.report)?;
    if let Some(r) = &resume {
        if dataset.fingerprint() != r.fingerprint {
            return Err(invalid(format!(
                "{} changed since run {} started (its content fingerprint differs), so the run cannot be repeated on the same rows. Restore the file, or start a new run with `tunesmith train`",
                req.data.display(),
                r.run_id
            )));
        }
    }
    let plan = dataset.split(&request.options.split)?;
    let labels = dataset.classes.clone();
    let device = device::open(req.device)?;

    let cfg = BertConfig::from_file(&req.model.join("config.json"))?;
    let tok = TextTokenizer::from_dir(&req.model)?;
    let max_len = req.max_len.unwrap_or(128).min(cfg.max_position_embeddings);
    let examples: Vec<ClassifyExample> = dataset
        .examples
        .iter()
        .map(|e| {
            let (text, label) = match &e.content {
                tunesmith_data::Content::Labelled { text, label } => {
                    (text.as_str(), label.as_str())
                }
                _ => return Err(invalid(format!("line {}: not a text with a label", e.line))),
            };
            let class = labels
                .iter()
                .position(|l| l == label)
                .ok_or_else(|| invalid(format!("line {}: unknown label `{label}`", e.line)))?;
            Ok(ClassifyExample::new(
                tok.encode(text, true)?,
                class,
                max_len,
            ))
        })
        .collect::<Result<_>>()?;
    let pick = |b: usize| -> Vec<ClassifyExample> {
        plan.indices(b)
            .into_iter()
            .map(|i| examples[i].clone())
            .collect()
    };
    let (mut train_set, mut val_set) = (pick(0), pick(1));
    let test_len = plan.indices(2).len();

    let backbone = backbone(req);
    let trainable = VarMap::new();
    // The head and LoRA factors start from the run's seed, so a run can be repeated exactly.
    let params = Checkpoint::open(&req.model)?
        .params(DType::F32, &device, trainable.clone(), backbone)?
        .with_seed(req.seed);
    let model = SequenceClassifier::load(
        &params,
        &cfg,
        &ClassifierOptions {
            num_labels: labels.len(),
            pooling: None,
            multi_label: false,
        },
    )?;
    let features = req.method == Method::Features;
    let task_labels = labels.clone();
    let mut task = ClassifyTask::new(
        model,
        trainable,
        tok.pad_id(),
        device.clone(),
        task_labels,
        features,
    );
    if features {
        task.cache_features(&mut train_set, &mut |_, _| {})?;
        task.cache_features(&mut val_set, &mut |_, _| {})?;
    }

    let config = train_config(req, train_set.len());
    // A resumed run continues with exactly the settings it recorded.
    let config = resume.as_ref().map_or(config, |r| r.config.clone());
    // The run history gives the run its id and folder; every event is recorded there too.
    let store = crate::runs::open_store(home)?;
    let parent_run = match resume {
        Some(Resume {
            run_id,
            from_step: Some(from_step),
            ..
        }) => {
            let dir = store.run_dir(&run_id);
            let recorder = tunesmith_store::RunRecorder::resume(&store, &run_id, from_step)?;
            return run_recorded(
                &mut task, &train_set, &val_set, &config, cancel, true, recorder, run_id, dir,
                on_event,
            );
        }
        Some(prior) => Some(prior.run_id),
        None => None,
    };
    let created = store.create_run(&new_run(
        req,
        "classify",
        &config,
        &dataset,
        &plan,
        [train_set.len(), val_set.len(), test_len],
        &device::name(&device),
        tunesmith_store::PrimaryMetric {
            name: "accuracy".into(),
            split: tunesmith_store::Split::Validation,
            goal: tunesmith_store::Goal::Max,
        },
        parent_run,
    )?)?;
    let run_id = created.id.clone();
    let dir = store.run_dir(&run_id);
    let record = RunRecord {
        run_id: run_id.clone(),
        request: req.clone(),
        config: config.clone(),
        labels,
        fingerprint: dataset.fingerprint().to_string(),
        split_sizes: [train_set.len(), val_set.len(), test_len],
        split_seed: plan.seed,
        split_fingerprint: plan.fingerprint.clone(),
        device: device::name(&device),
    };
    write_record(&dir, &record)?;
    let recorder = tunesmith_store::RunRecorder::start(&store, &run_id)?;
    run_recorded(
        &mut task, &train_set, &val_set, &config, cancel, false, recorder, run_id, dir, on_event,
    )
}

/// Runs the engine's loop on a run's folder, feeding every event to the history and to
/// `on_event`; `resume` continues from the folder's checkpoint.
#[allow(clippy::too_many_arguments)]
fn run_recorded(
    task: &mut ClassifyTask,
    train_set: &[ClassifyExample],
    val_set: &[ClassifyExample],
    config: &TrainConfig,
    cancel: CancelHandle,
    resume: bool,
    recorder: tunesmith_store::RunRecorder<'_>,
    run_id: String,
    dir: PathBuf,
    on_event: &mut dyn FnMut(&RunEvent),
) -> Result<TrainSummary> {
    let opts = TrainOptions {
        checkpoint_dir: Some(dir.join("checkpoints")),
        resume,
        cancel,
    };
    let mut history =
        crate::runs_record::EventRecorder::new(recorder, opts.checkpoint_dir.as_deref());
    let out = run_loop(task, train_set, val_set, config, &opts, &mut |e| {
        history.record(e);
        on_event(&RunEvent::new(&run_id, e.clone()))
    });
    let out = match out {
        Ok(out) => out,
        Err(e) => {
            history.fail(&e.to_string());
            return Err(e.into());
        }
    };
    if let Some(e) = history.into_error() {
        return Err(e.into());
    }
    Ok(TrainSummary {
        run_id,
        dir,
        status: out.status,
        metrics: out.metrics,
    })
}

/// Writes `run.json` into the run folder `dir`, atomically.
pub(crate) fn write_record(dir: &Path, record: &RunRecord) -> Result<()> {
    let json = serde_json::to_vec_pretty(record)
        .map_err(|e| invalid(format!("cannot record the run: {e}")))?;
    tunesmith_engine::train::checkpoint::write_atomic(&dir.join("run.json"), &json)?;
    Ok(())
}
