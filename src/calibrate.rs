//! The time part of the estimate before training: a short calibration that times a few real
//! training steps of the engine on this machine, with the model, method, batch size and maximum
//! length the user chose, and remembers the result.
//!
//! It promises: the timed step is the engine's own loop (`tunesmith_engine::train::train`) on the
//! same task the `train` action builds (a sequence classifier for encoders, supervised fine-tuning
//! for decoders), on synthetic token ids of exactly `max_len` tokens (speed does not depend on the
//! text); one warm-up step is not counted and the median of the timed steps is reported. Feature
//! extraction also times its one-off pass (each row's features computed once) per row.
//! Calibrations are kept in `calibrations.json` in the home folder, keyed by the model file, the
//! settings, the device, the thread count and the Tunesmith version, so a repeated estimate (the
//! app asks on every change of a setting) is instant and a new build or machine measures again.

use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::DType;
use candle_nn::VarMap;
use serde::{Deserialize, Serialize};
use tunesmith_vocab::SplitMix64;
use tunesmith_engine::adapters::lora::LoraConfig;
use tunesmith_engine::device::{self, DeviceRequest};
use tunesmith_engine::models::bert::{BertConfig, ClassifierOptions, SequenceClassifier};
use tunesmith_engine::models::checkpoint::Checkpoint;
use tunesmith_engine::models::llama::{LlamaLoadOptions, LlamaModel};
use tunesmith_engine::nn::params::{Backbone, LoraSetup};
use tunesmith_engine::nn::quantized::QuantPolicy;
use tunesmith_engine::task::{ClassifyExample, ClassifyTask, SftExample, SftTask};
use tunesmith_engine::train::{
    train as run_loop, CancelHandle, TrainConfig, TrainEvent, TrainOptions, TrainTask,
};
use tunesmith_engine::EngineError;
use tunesmith_hub::estimate::{Method, StepTiming};
use tunesmith_hub::locate::Located;
use tunesmith_hub::support::Family;

use crate::home::Home;
use crate::{Error, Result};

/// Untimed steps before the timed ones (the first step allocates and warms caches).
pub const WARMUP_STEPS: usize = 1;
/// Timed steps; the median is reported.
pub const TIMED_STEPS: usize = 3;
/// The file in the home folder that keeps calibrations.
pub const CALIBRATIONS_FILE: &str = "calibrations.json";

/// What a calibration depends on: the same key measures the same thing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalibrationKey {
    /// The model's weights file or folder, absolute.
    pub model: String,
    /// Size and modification time of the model's main file, so a replaced model measures again.
    pub model_stamp: String,
    /// `full`, `feature_extraction`, `lora` or `qlora`.
    pub method: String,
    /// Sequences per step.
    pub batch: u64,
    /// Tokens per sequence.
    pub max_len: u64,
    /// The device the engine opened (`cpu`, `cuda:0` ...).
    pub device: String,
    /// The engine's CPU threads.
    pub threads: usize,
    /// The Tunesmith version (a faster engine measures again).
    pub version: String,
    /// Whether the steps recompute each block (activation checkpointing: about a third slower);
    /// calibrations from before it was recorded measured without.
    #[serde(default)]
    pub activation_checkpointing: bool,
}

/// A remembered calibration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// What was measured.
    pub key: CalibrationKey,
    /// Median seconds per optimiser step.
    pub seconds_per_step: f64,
    /// Seconds per row of the one-off setup (feature extraction's feature pass), else 0.
    pub setup_seconds_per_row: f64,
    /// Steps timed.
    pub timed_steps: u32,
    /// When it was measured, seconds since the Unix epoch.
    pub measured_at: u64,
}

impl Calibration {
    /// The timing the estimate uses.
    pub fn timing(&self) -> StepTiming {
        StepTiming {
            seconds_per_step: self.seconds_per_step,
            setup_seconds_per_row: self.setup_seconds_per_row,
            timed_steps: self.timed_steps,
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct CalibrationFile {
    calibrations: Vec<Calibration>,
}

fn method_key(m: Method) -> &'static str {
    match m {
        Method::Full => "full",
        Method::Features => "feature_extraction",
        Method::Lora => "lora",
        Method::Qlora => "qlora",
    }
}

fn model_path(located: &Located) -> &Path {
    match located {
        Located::Folder(p) | Located::Gguf(p) => p,
    }
}

/// The key for calibrating `located` with these settings on `device_request`, with or without
/// activation checkpointing.
pub fn key(
    located: &Located,
    method: Method,
    batch: u64,
    max_len: u64,
    device_request: DeviceRequest,
    activation_checkpointing: bool,
) -> Result<CalibrationKey> {
    let path = model_path(located);
    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let main_file = match located {
        Located::Gguf(p) => p.clone(),
        Located::Folder(dir) => {
            let single = dir.join("model.safetensors");
            if single.exists() {
                single
            } else {
                dir.join("config.json")
            }
        }
    };
    let stamp = std::fs::metadata(&main_file)
        .map(|m| {
            let mtime = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_secs())
                .unwrap_or(0);
            format!("{} bytes, modified {mtime}", m.len())
        })
        .unwrap_or_default();
    let dev = device::open(device_request)?;
    Ok(CalibrationKey {
        model: abs.display().to_string(),
        model_stamp: stamp,
        method: method_key(method).to_string(),
        batch,
        max_len,
        device: device::name(&dev),
        threads: candle_core::utils::get_num_threads(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        activation_checkpointing,
    })
}

fn file_of(home: &Home) -> PathBuf {
    home.root().join(CALIBRATIONS_FILE)
}

fn read_file(home: &Home) -> CalibrationFile {
    // A missing or unreadable file only means nothing is remembered: the next calibration
    // measures again and rewrites it.
    std::fs::read(file_of(home))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// The remembered calibration for `key`, if any.
pub fn cached(home: &Home, key: &CalibrationKey) -> Option<Calibration> {
    read_file(home)
        .calibrations
        .into_iter()
        .find(|c| &c.key == key)
}

/// Remembers `cal` (replacing an older one with the same key).
pub fn remember(home: &Home, cal: &Calibration) -> Result<()> {
    let mut file = read_file(home);
    file.calibrations.retain(|c| c.key != cal.key);
    file.calibrations.push(cal.clone());
    let json = serde_json::to_vec_pretty(&file)
        .map_err(|e| Error::invalid(format!("cannot record the calibration: {e}")))?;
    tunesmith_engine::train::checkpoint::write_atomic(&file_of(home), &json)?;
    Ok(())
}

/// Times the engine's training step for `located` (of `family`) with `method`, `batch` and
/// `max_len` on `key.device`, returning the calibration (not yet remembered).
pub fn measure(
    located: &Located,
    family: Family,
    method: Method,
    batch: u64,
    max_len: u64,
    device_request: DeviceRequest,
    key: CalibrationKey,
) -> Result<Calibration> {
    if batch == 0 || max_len < 2 {
        return Err(Error::invalid(
            "calibration needs a batch of at least 1 and a maximum length of at least 2 tokens",
        ));
    }
    let device = device::open(device_request)?;
    let (batch, max_len) = (batch as usize, max_len as usize);
    let rows = (WARMUP_STEPS + TIMED_STEPS) * batch;
    let mut ids = SyntheticIds(SplitMix64::new(0x5eed_1234_abcd_ef01));
    let (steps, setup_per_row) = match family {
        Family::Encoder => {
            let Located::Folder(dir) = located else {
                return Err(Error::invalid(format!(
                    "{} is a GGUF file; encoders are model folders",
                    model_path(located).display()
                )));
            };
            let cfg = BertConfig::from_file(&dir.join("config.json"))?;
            let backbone = match method {
                Method::Full => Backbone::Full,
                Method::Features => Backbone::Frozen,
                Method::Lora => lora_backbone(),
                Method::Qlora => {
                    return Err(Error::invalid(
                        "QLoRA applies to decoder models; for an encoder choose full, feature-extraction or lora",
                    ))
                }
            };
            let trainable = VarMap::new();
            let params =
                Checkpoint::open(dir)?.params(DType::F32, &device, trainable.clone(), backbone)?;
            let mut model = SequenceClassifier::load(
                &params,
                &cfg,
                &ClassifierOptions {
                    num_labels: 2,
                    pooling: None,
                    multi_label: false,
                },
            )?;
            model.set_activation_checkpointing(key.activation_checkpointing);
            let len = max_len.min(cfg.usable_positions());
            let vocab = cfg.vocab_size as u32;
            let mut examples: Vec<ClassifyExample> = (0..rows)
                .map(|i| ClassifyExample::new(ids.sequence(len, vocab), i % 2, len))
                .collect();
            let features = method == Method::Features;
            let mut task = ClassifyTask::new(
                model,
                trainable,
                0,
                device.clone(),
                vec!["a".into(), "b".into()],
                features,
            );
            let mut setup_per_row = 0.0;
            if features {
                let t = Instant::now();
                task.cache_features(&mut examples, &mut |_, _| {})?;
                setup_per_row = t.elapsed().as_secs_f64() / rows as f64;
            }
            (time_steps(&mut task, &examples, batch)?, setup_per_row)
        }
        Family::Decoder => {
            let backbone = match method {
                Method::Full => Backbone::Full,
                Method::Lora | Method::Qlora => lora_backbone(),
                Method::Features => {
                    return Err(Error::invalid(
                        "feature extraction trains a classification head; for a decoder choose full, lora or qlora",
                    ))
                }
            };
            let loaded = LlamaModel::load(
                model_path(located),
                &LlamaLoadOptions {
                    backbone,
                    quantize: (method == Method::Qlora).then_some(QuantPolicy::Four),
                    dtype: DType::F32,
                    device: device.clone(),
                    seed: 0,
                },
            )?;
            let mut model = loaded.model;
            model.set_activation_checkpointing(key.activation_checkpointing);
            let len = max_len.min(model.config().max_position_embeddings);
            let vocab = model.config().vocab_size as u32;
            let prompt = (len / 4).clamp(1, 8);
            let examples: Vec<SftExample> = (0..rows)
                .map(|_| {
                    let full = ids.sequence(len, vocab);
                    SftExample::new(&full[..prompt], &full, len)
                })
                .collect::<tunesmith_engine::Result<_>>()?;
            let mut task = SftTask::new(model, 0);
            (time_steps(&mut task, &examples, batch)?, 0.0)
        }
    };
    let mut timed: Vec<f64> = steps.into_iter().skip(WARMUP_STEPS).collect();
    if timed.is_empty() {
        return Err(Error::Engine(EngineError::Training(
            "the calibration run ended before its timed steps".into(),
        )));
    }
    timed.sort_by(|a, b| a.total_cmp(b));
    let seconds_per_step = timed[timed.len() / 2];
    Ok(Calibration {
        key,
        seconds_per_step,
        setup_seconds_per_row: setup_per_row,
        timed_steps: timed.len() as u32,
        measured_at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    })
}

/// The LoRA setup the `train` action uses by default.
fn lora_backbone() -> Backbone {
    Backbone::Lora(LoraSetup {
        config: LoraConfig::default(),
        initial: Default::default(),
    })
}

/// Runs the engine's loop over `examples` (one epoch, no validation, nothing written) and returns
/// the seconds of each optimiser step, from one `step` event to the next.
fn time_steps<T: TrainTask>(
    task: &mut T,
    examples: &[T::Example],
    batch: usize,
) -> Result<Vec<f64>> {
    let config = TrainConfig {
        epochs: 1,
        batch_size: batch,
        ..Default::default()
    };
    let opts = TrainOptions {
        checkpoint_dir: None,
        resume: false,
        cancel: CancelHandle::new(),
    };
    let mut last: Option<Instant> = None;
    let mut steps = Vec::new();
    run_loop(task, examples, &[], &config, &opts, &mut |e| match e {
        TrainEvent::Started { .. } => last = Some(Instant::now()),
        TrainEvent::Step { .. } => {
            let now = Instant::now();
            if let Some(t) = last {
                steps.push((now - t).as_secs_f64());
            }
            last = Some(now);
        }
        _ => {}
    })?;
    Ok(steps)
}

/// Token ids for timing: seeded (the data crate's generator, the one the splits use), spread over
/// the vocabulary, never the low special ids.
struct SyntheticIds(SplitMix64);

impl SyntheticIds {
    fn sequence(&mut self, len: usize, vocab: u32) -> Vec<u32> {
        // Real vocabularies keep their special tokens in the first ids; tiny test ones use them all.
        let low = if vocab > 1000 { 100 } else { 0 };
        let span = (vocab - low).max(1) as usize;
        (0..len).map(|_| low + self.0.below(span) as u32).collect()
    }
}
