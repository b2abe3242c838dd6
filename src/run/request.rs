//! What a user asks of a training run (the CLI's flags, the app's form), the defaults a request
//! leaves out, and what a run reports back: the run's vocabulary, before anything is resolved.
//!
//! The defaults live here once, as constants the CLI's flags, the app's form (through the generated
//! bindings) and [`super::TrainPlan`] all read; the loop's defaults by method and data size are the
//! engine's (`tunesmith_engine::train::defaults`), applied by the plan alone.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tunesmith_data::{SplitConfig, Task};
use tunesmith_engine::device::DeviceRequest;
use tunesmith_engine::precision::Precision;
use tunesmith_engine::train::{Method, Metrics, TrainEvent, TrainStatus};
pub use tunesmith_hub::estimate::Checkpointing;

/// The seed of the split, the order and the fresh weights, when none is given.
pub const DEFAULT_SEED: u64 = 42;
/// The longest classification input in tokens, when none is given (capped by the model's context).
pub const DEFAULT_CLASSIFY_MAX_LEN: usize = 128;
/// The longest generation row (prompt and response) in tokens, when none is given (capped by the
/// model's context).
pub const DEFAULT_GENERATE_MAX_LEN: usize = 256;

/// The share of rows held out for validation when none is given: the data crate's split default.
pub fn default_val_fraction() -> f64 {
    SplitConfig::default().validation
}

/// The share of rows held out for the final test when none is given: the data crate's split default.
pub fn default_test_fraction() -> f64 {
    SplitConfig::default().test
}

fn default_seed() -> u64 {
    DEFAULT_SEED
}

/// Activation checkpointing when none is asked for: automatic, on only when the run would not fit
/// in the free memory otherwise (the plan decides once, from the memory estimate).
pub const DEFAULT_CHECKPOINTING: Checkpointing = Checkpointing::Auto;

fn default_checkpointing() -> Checkpointing {
    DEFAULT_CHECKPOINTING
}

/// Whether a generation run checks what it forgot after training, when not said: yes.
pub const DEFAULT_FORGETTING_CHECK: bool = true;

fn default_forgetting_check() -> bool {
    DEFAULT_FORGETTING_CHECK
}

/// What the user asked for (the CLI's flags, the UI's form). `None` takes the method's default;
/// the plan ([`super::TrainPlan`]) applies every default, once.
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
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// LoRA rank.
    pub lora_rank: Option<usize>,
    /// LoRA alpha.
    pub lora_alpha: Option<f64>,
    /// Fraction of rows for validation.
    #[serde(default = "default_val_fraction")]
    pub val_fraction: f64,
    /// Fraction of rows held out for the final test.
    #[serde(default = "default_test_fraction")]
    pub test_fraction: f64,
    /// The compute device.
    #[serde(default)]
    pub device: DeviceRequest,
    /// Write a resumable checkpoint every this many steps (default: at the end of each epoch).
    #[serde(default)]
    pub checkpoint_every: Option<usize>,
    /// The number format: `auto` (bf16 mixed precision on a GPU, f32 on the CPU), `f32`, or
    /// `bf16` (see `tunesmith_engine::precision`). Runs recorded before it existed read as auto.
    #[serde(default)]
    #[specta(optional)]
    pub precision: Precision,
    /// The data doctor's fixes to apply before the split (none by default).
    #[serde(default)]
    #[specta(optional)]
    pub fixes: tunesmith_data::Fixes,
    /// Activation checkpointing (recompute each block in the backward pass: far less memory,
    /// about a third slower): off, on, or auto (on when the run would not fit otherwise; the
    /// plan resolves it once and the run records the outcome).
    #[serde(default = "default_checkpointing")]
    #[specta(optional)]
    pub checkpointing: Checkpointing,
    /// Generation: after training, the base and the fine-tuned model answer general questions
    /// and read a general text, to show what fine-tuning made it forget (see
    /// [`crate::forgetting`]). Classification runs have nothing to check.
    #[serde(default = "default_forgetting_check")]
    #[specta(optional)]
    pub forgetting_check: bool,
}

impl TrainRequest {
    /// A request for `model` on `data` with every setting left to its default.
    pub fn new(model: PathBuf, data: PathBuf, task: Task, method: Method) -> Self {
        TrainRequest {
            model,
            data,
            task,
            method,
            text_column: None,
            label_column: None,
            prompt_column: None,
            response_column: None,
            epochs: None,
            lr: None,
            batch: None,
            max_len: None,
            seed: DEFAULT_SEED,
            lora_rank: None,
            lora_alpha: None,
            val_fraction: default_val_fraction(),
            test_fraction: default_test_fraction(),
            device: DeviceRequest::default(),
            checkpoint_every: None,
            precision: Precision::Auto,
            fixes: Default::default(),
            checkpointing: DEFAULT_CHECKPOINTING,
            forgetting_check: DEFAULT_FORGETTING_CHECK,
        }
    }
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
    /// The schedule the run trained with and why (chosen from the data, or as the user set it).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[specta(optional)]
    pub schedule: Option<tunesmith_engine::train::SchedulePlan>,
    /// Generation: the held-out questions answered before and after training, checked for their
    /// reference's key facts ("did it learn?").
    #[serde(skip_serializing_if = "Option::is_none")]
    #[specta(optional)]
    pub fact_recall: Option<crate::fact_recall::FactRecallReport>,
    /// Generation: what fine-tuning made it forget (general answers kept, general-text
    /// perplexity before and after), unless the request turned the check off.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[specta(optional)]
    pub forgetting: Option<crate::forgetting::ForgettingReport>,
}

/// The defaults the app's Train form shows and starts from, read from where they are defined (the
/// engine's tables, the LoRA defaults, this module's constants), exported to the UI through the
/// generated bindings (`TRAIN_DEFAULTS`) so the form never keeps a copy of its own.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct TrainDefaults {
    /// Rows per optimiser step.
    pub batch: usize,
    /// The share of steps spent warming the learning rate up.
    pub warmup_ratio: f64,
    /// AdamW's decoupled weight decay.
    pub weight_decay: f64,
    /// LoRA rank.
    pub lora_rank: usize,
    /// LoRA alpha.
    pub lora_alpha: f64,
    /// The share of rows for validation.
    pub val_fraction: f64,
    /// The share of rows for the final test.
    pub test_fraction: f64,
    /// The seed.
    pub seed: u64,
    /// The longest classification input in tokens.
    pub classify_max_len: usize,
    /// The longest generation row in tokens.
    pub generate_max_len: usize,
    /// The peak learning rate by method.
    pub lr: LrByMethod,
    /// Passes over the training rows by method, falling as the data grows.
    pub epochs: EpochsByMethod,
    /// Activation checkpointing.
    pub checkpointing: Checkpointing,
    /// Whether a generation run checks what it forgot after training.
    pub forgetting_check: bool,
}

/// How many passes a method makes over `rows` training rows: the first step whose `up_to_rows`
/// is at least `rows` (the last has none: any number of rows).
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct EpochStep {
    /// The most rows this step covers; `None` for the last step.
    pub up_to_rows: Option<u64>,
    /// Passes over the training rows.
    pub epochs: u64,
}

/// The epoch steps of each method, read from the engine's table.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct EpochsByMethod {
    /// Full fine-tuning.
    pub full: Vec<EpochStep>,
    /// A head on frozen features.
    pub features: Vec<EpochStep>,
    /// LoRA.
    pub lora: Vec<EpochStep>,
    /// QLoRA.
    pub qlora: Vec<EpochStep>,
}

/// Beyond this many rows the engine's epoch table is taken as flat (its last step).
const EPOCH_TABLE_LIMIT: usize = 100_000_000;

/// The steps of the engine's `default_epochs` for `method`, found where its value changes (it
/// falls as rows grow), so the numbers and boundaries are the engine's own, not a copy.
fn epoch_steps(method: Method) -> Vec<EpochStep> {
    use tunesmith_engine::train::defaults::default_epochs;
    let mut steps = Vec::new();
    let mut from = 0usize;
    loop {
        let epochs = default_epochs(method, from);
        if default_epochs(method, EPOCH_TABLE_LIMIT) == epochs {
            steps.push(EpochStep {
                up_to_rows: None,
                epochs: epochs as u64,
            });
            return steps;
        }
        // The last row count with this value: between `from` (same) and the limit (different).
        let (mut same, mut other) = (from, EPOCH_TABLE_LIMIT);
        while other - same > 1 {
            let mid = same + (other - same) / 2;
            if default_epochs(method, mid) == epochs {
                same = mid;
            } else {
                other = mid;
            }
        }
        steps.push(EpochStep {
            up_to_rows: Some(same as u64),
            epochs: epochs as u64,
        });
        from = other;
    }
}

/// A learning rate for each method.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct LrByMethod {
    /// Full fine-tuning.
    pub full: f64,
    /// A head on frozen features.
    pub features: f64,
    /// LoRA.
    pub lora: f64,
    /// QLoRA.
    pub qlora: f64,
}

impl TrainDefaults {
    /// The defaults in force.
    pub fn current() -> Self {
        use tunesmith_engine::train::defaults::{default_lr, defaults};
        // Batch, warmup and weight decay do not depend on the method or the data size.
        let d = defaults(Method::Lora, 0);
        let lora = tunesmith_engine::adapters::lora::LoraConfig::default();
        TrainDefaults {
            batch: d.batch_size,
            warmup_ratio: d.warmup_ratio,
            weight_decay: d.weight_decay,
            lora_rank: lora.r,
            lora_alpha: lora.alpha,
            val_fraction: default_val_fraction(),
            test_fraction: default_test_fraction(),
            seed: DEFAULT_SEED,
            classify_max_len: DEFAULT_CLASSIFY_MAX_LEN,
            generate_max_len: DEFAULT_GENERATE_MAX_LEN,
            lr: LrByMethod {
                full: default_lr(Method::Full),
                features: default_lr(Method::Features),
                lora: default_lr(Method::Lora),
                qlora: default_lr(Method::Qlora),
            },
            epochs: EpochsByMethod {
                full: epoch_steps(Method::Full),
                features: epoch_steps(Method::Features),
                lora: epoch_steps(Method::Lora),
                qlora: epoch_steps(Method::Qlora),
            },
            checkpointing: DEFAULT_CHECKPOINTING,
            forgetting_check: DEFAULT_FORGETTING_CHECK,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tunesmith_engine::train::defaults::default_epochs;

    #[test]
    fn the_epoch_steps_give_the_engines_epochs_for_any_number_of_rows() {
        for method in [Method::Full, Method::Features, Method::Lora, Method::Qlora] {
            let steps = epoch_steps(method);
            assert_eq!(
                steps.last().unwrap().up_to_rows,
                None,
                "{method}: the last step is open"
            );
            let lookup = |rows: u64| {
                steps
                    .iter()
                    .find(|s| s.up_to_rows.is_none_or(|up| rows <= up))
                    .unwrap()
                    .epochs
            };
            for rows in [
                0u64, 1, 499, 500, 501, 1_999, 2_000, 2_001, 10_000, 10_001, 1_000_000,
            ] {
                assert_eq!(
                    lookup(rows),
                    default_epochs(method, rows as usize) as u64,
                    "{method} at {rows} rows"
                );
            }
        }
    }
}
