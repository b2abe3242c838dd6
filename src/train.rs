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
    defaults, train as run_loop, CancelHandle, EarlyStopping, Method, Metrics, TrainConfig,
    TrainEvent, TrainOptions, TrainStatus,
};
use tunesmith_engine::EngineError;

use crate::home::Home;
use crate::{Error, Result};

/// What the user asked for (the CLI's flags, the UI's form). `None` takes the method's default.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainRequest {
    /// A local model folder.
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
}

/// An engine event tagged with its run, as printed by `train --json` and sent to the UI.
#[derive(Debug, Clone, Serialize)]
pub struct RunEvent {
    /// The run.
    pub run_id: String,
    /// What happened.
    #[serde(flatten)]
    pub event: TrainEvent,
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
    /// The device used.
    pub device: String,
}

/// The result of a run.
#[derive(Debug, Clone, Serialize)]
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

fn invalid(msg: String) -> Error {
    Error::Engine(EngineError::Invalid(msg))
}

fn new_run_id() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!(
        "run-{}-{:04x}",
        t.as_secs(),
        (t.subsec_nanos() ^ std::process::id()) & 0xffff
    )
}

/// Trains as `req` asks, reporting every event to `on_event`.
pub fn train(
    home: &Home,
    req: &TrainRequest,
    cancel: CancelHandle,
    on_event: &mut dyn FnMut(&RunEvent),
) -> Result<TrainSummary> {
    if req.task != Task::Classify {
        return Err(invalid(
            "`tunesmith train --task generate` is not available in this build yet; only --task classify is".into(),
        ));
    }
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
        ..Default::default()
    };
    let dataset = Dataset::load(&req.data, &options, None, &mut |_| {})?;
    if !dataset.is_usable() {
        return Err(Error::DataUnusable {
            file: req.data.display().to_string(),
            reasons: dataset.errors().iter().map(|f| f.message.clone()).collect(),
        });
    }
    let plan = dataset.split(&options.split)?;
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

    let backbone = match req.method {
        Method::Full => Backbone::Full,
        Method::Features => Backbone::Frozen,
        _ => {
            let mut c = LoraConfig::default();
            if let Some(r) = req.lora_rank {
                c.r = r;
            }
            if let Some(a) = req.lora_alpha {
                c.alpha = a;
            }
            Backbone::Lora(LoraSetup {
                config: c,
                initial: Default::default(),
            })
        }
    };
    let trainable = VarMap::new();
    let params =
        Checkpoint::open(&req.model)?.params(DType::F32, &device, trainable.clone(), backbone)?;
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

    let d = defaults(req.method, train_set.len());
    let config = TrainConfig {
        epochs: req.epochs.unwrap_or(d.epochs),
        batch_size: req.batch.unwrap_or(d.batch_size),
        lr: req.lr.unwrap_or(d.lr),
        warmup_ratio: d.warmup_ratio,
        seed: req.seed,
        early_stopping: EarlyStopping {
            metric: "accuracy".into(),
            higher_is_better: true,
            patience: Some(3),
            min_delta: 0.0,
        },
        optimizer: tunesmith_engine::train::AdamWConfig {
            weight_decay: d.weight_decay,
            ..Default::default()
        },
        ..Default::default()
    };
    let run_id = new_run_id();
    let dir = home.runs_dir().join(&run_id);
    let record = RunRecord {
        run_id: run_id.clone(),
        request: req.clone(),
        config: config.clone(),
        labels,
        fingerprint: dataset.fingerprint().to_string(),
        split_sizes: [train_set.len(), val_set.len(), test_len],
        device: device::name(&device),
    };
    write_record(&dir, &record)?;
    let opts = TrainOptions {
        checkpoint_dir: Some(dir.join("checkpoints")),
        resume: false,
        cancel,
    };
    let out = run_loop(&mut task, &train_set, &val_set, &config, &opts, &mut |e| {
        on_event(&RunEvent {
            run_id: run_id.clone(),
            event: e.clone(),
        })
    })?;
    Ok(TrainSummary {
        run_id,
        dir,
        status: out.status,
        metrics: out.metrics,
    })
}

fn write_record(dir: &Path, record: &RunRecord) -> Result<()> {
    let json = serde_json::to_vec_pretty(record)
        .map_err(|e| invalid(format!("cannot record the run: {e}")))?;
    tunesmith_engine::train::checkpoint::write_atomic(&dir.join("run.json"), &json)?;
    Ok(())
}
