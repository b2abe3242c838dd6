//! The time part of the estimate before training: a short calibration that times a few real
//! training steps of the engine on this machine, with the model, method, batch size and maximum
//! length the user chose, and remembers the result.
//!
//! It promises: the timed step is the engine's own loop (`tunesmith_engine::train::train`, timed
//! by `tunesmith_engine::calibrate`, which does the tensor work) on the same task the `train`
//! action builds (a sequence classifier for encoders, supervised fine-tuning for decoders), on synthetic token ids of exactly `max_len` tokens (speed does not depend on the
//! text); one warm-up step is not counted and the median of the timed steps is reported. Feature
//! extraction also times its one-off pass (each row's features computed once) per row.
//! Calibrations are kept in `calibrations.json` in the home folder, keyed by the model file, the
//! settings, the device, the thread count and the Tunesmith version, so a repeated estimate (the
//! app asks on every change of a setting) is instant and a new build or machine measures again.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tunesmith_engine::adapters::lora::LoraConfig;
use tunesmith_engine::calibrate::{time_training_steps, TimedFamily, TimingSetup};
use tunesmith_engine::device::{self, DeviceRequest};
use tunesmith_engine::nn::params::{Backbone, LoraSetup};
use tunesmith_engine::nn::quantized::QuantPolicy;
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
        threads: device::compute_threads(),
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
    let (family, backbone) = match family {
        Family::Encoder => {
            if let Located::Gguf(file) = located {
                return Err(Error::invalid(format!(
                    "{} is a GGUF file; encoders are model folders",
                    file.display()
                )));
            }
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
            (TimedFamily::Encoder, backbone)
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
            (TimedFamily::Decoder, backbone)
        }
    };
    let setup = TimingSetup {
        backbone,
        quantize: (method == Method::Qlora).then_some(QuantPolicy::Four),
        features: method == Method::Features,
        batch: batch as usize,
        max_len: max_len as usize,
        activation_checkpointing: key.activation_checkpointing,
        steps: WARMUP_STEPS + TIMED_STEPS,
    };
    let times = time_training_steps(model_path(located), family, &setup, &device)?;
    let (steps, setup_per_row) = (times.step_seconds, times.setup_seconds_per_row);
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
