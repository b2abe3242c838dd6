//! Before a job loads a model: will it fit in the memory free now? A job that would not is refused
//! with what to change, instead of being killed by the operating system halfway (which took the
//! app's window, and the user's unsaved choices, with it).
//!
//! Promises:
//! - Training is checked with the memory estimate the Train screen shows (the hub crate's, through
//!   [`crate::models::estimate`]) for the run's method, batch and length; loading a model to chat,
//!   compare or evaluate is checked with the same estimate for a frozen model (one sequence, no
//!   training state; a GGUF dequantised as a run trained on it), or the file's size for a GGUF
//!   that stays quantised.
//! - Only a job estimated above the free memory is refused ([`Error::Memory`], code `memory`); a
//!   tight fit goes ahead (the Train screen warns). Where free memory or the estimate cannot be
//!   had (another platform, a model the estimate does not know), nothing is refused: the check
//!   never blocks a job on a guess.
//! - [`FREE_MEMORY_ENV`] overrides the free memory read from the system, in bytes: for containers
//!   whose `MemAvailable` is not theirs, and for tests of the refusal.

use std::path::Path;

use tunesmith_engine::device::DeviceRequest;
use tunesmith_engine::train::Method;
use tunesmith_hub::estimate::{verdict, Checkpointing, Verdict};

use crate::home::Home;
use crate::models::{Calibrate, EstimateOptions};
use crate::run::TrainPlan;
use crate::{Error, Result};

/// Overrides the free memory (bytes) the check compares with.
pub const FREE_MEMORY_ENV: &str = "TUNESMITH_FREE_MEMORY";
/// What a chat or comparison keeps beside the weights (the process, tokenizer, cache of one
/// answer); the estimate's own runtime share for training.
const INFERENCE_OVERHEAD: u64 = 300 << 20;

/// The free memory of `device` in bytes: [`FREE_MEMORY_ENV`] when set, else what the system says.
pub fn free_bytes(device: &str) -> Option<u64> {
    free_memory(device).bytes
}

/// The free memory of `device` as the estimate reports it: [`FREE_MEMORY_ENV`] when set (its
/// source says so), else what the system says.
pub fn free_memory(device: &str) -> tunesmith_hub::memory::FreeMemory {
    let system = tunesmith_hub::memory::free_memory(device);
    match std::env::var_os(FREE_MEMORY_ENV)
        .and_then(|v| v.to_str().and_then(|s| s.trim().parse::<u64>().ok()))
    {
        Some(b) => tunesmith_hub::memory::FreeMemory {
            bytes: Some(b),
            source: format!("{FREE_MEMORY_ENV} (set in the environment)"),
            ..system
        },
        None => system,
    }
}

/// The memory estimate of training `plan` with `batch` rows a step and activation checkpointing
/// as `checkpointing` says, against the free memory; `None` where the model cannot be estimated.
pub(crate) fn training_estimate(
    home: &Home,
    plan: &TrainPlan,
    batch: usize,
    checkpointing: Checkpointing,
) -> Option<crate::models::EstimateReport> {
    let opts = EstimateOptions {
        method: plan.method(),
        batch: Some(batch.max(1) as u64),
        max_len: Some(plan.max_len(usize::MAX).max(1) as u64),
        device: plan.request().device,
        calibrate: Calibrate::Off,
        rows: None,
        epochs: None,
        data: None,
        checkpointing,
    };
    let model = plan.model().display().to_string();
    crate::models::estimate(home, &model, &opts).ok()
}

/// Refuses training `plan` with `batch` rows a step when its estimated peak, with activation
/// checkpointing as the plan resolved it, is above the free memory.
pub fn before_training(home: &Home, plan: &TrainPlan, batch: usize) -> Result<()> {
    let device = plan.request().device.as_str();
    let Some(free) = free_bytes(device) else {
        return Ok(());
    };
    let max_len = plan.max_len(usize::MAX);
    // The setting the run trains with: a run that fits only with checkpointing is not refused.
    let ckpt = if plan.activation_checkpointing() {
        Checkpointing::On
    } else {
        Checkpointing::Off
    };
    let Some(report) = training_estimate(home, plan, batch, ckpt) else {
        return Ok(());
    };
    let need = report.estimate.breakdown.total;
    if verdict(need, free) != Verdict::DoesNotFit {
        return Ok(());
    }
    let what_to_do = report.estimate.suggestion.unwrap_or_else(|| {
        "use a smaller batch (--batch), shorter texts (--max-len) or a lighter method (LoRA or feature extraction)".into()
    });
    Err(Error::Memory(format!(
        "training {} with {}{} at {batch} rows of up to {max_len} tokens a step needs about {}, but only {} of memory is free; {what_to_do}. Closing other programs frees memory too.",
        plan.model().display(),
        plan.method().in_words(),
        if plan.activation_checkpointing() { " and activation checkpointing" } else { "" },
        gib(need),
        gib(free)
    )))
}

/// Refuses loading the model `spec` (a folder, a `.gguf` file or a cached hub id) to `what`
/// ("chat", "compare") when it would not fit in the free memory; `quantised` when a GGUF's weights
/// stay quantised (its file's size), else they are counted dequantised (f32, as a run trained).
pub fn before_loading(home: &Home, spec: &str, what: &str, quantised: bool) -> Result<()> {
    let Some(free) = free_bytes("auto") else {
        return Ok(());
    };
    let Some(need) = inference_bytes(home, spec, quantised) else {
        return Ok(());
    };
    if verdict(need, free) != Verdict::DoesNotFit {
        return Ok(());
    }
    Err(Error::Memory(format!(
        "loading {spec} to {what} needs about {}, but only {} of memory is free; close other programs or jobs, or choose a smaller model (or a quantised .gguf of it)",
        gib(need),
        gib(free)
    )))
}

/// Bytes a frozen model needs to answer: a GGUF's file when it stays quantised, else the estimate
/// for a frozen (f32) model reading one sequence.
fn inference_bytes(home: &Home, spec: &str, quantised: bool) -> Option<u64> {
    let path = Path::new(spec);
    if quantised
        && path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("gguf"))
    {
        return std::fs::metadata(path)
            .ok()
            .map(|m| m.len() + INFERENCE_OVERHEAD);
    }
    let opts = EstimateOptions {
        method: Method::Features,
        batch: Some(1),
        max_len: Some(512),
        device: DeviceRequest::Auto,
        calibrate: Calibrate::Off,
        rows: None,
        epochs: None,
        data: None,
        checkpointing: Checkpointing::Off,
    };
    let report = crate::models::estimate(home, spec, &opts).ok()?;
    Some(report.estimate.breakdown.total + INFERENCE_OVERHEAD)
}

/// `1.3 GB` (GiB, as the estimate and the Train screen show it).
fn gib(bytes: u64) -> String {
    format!("{:.1} GB", bytes as f64 / (1u64 << 30) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_said_in_gigabytes_with_one_decimal() {
        assert_eq!(gib(3 << 29), "1.5 GB");
        assert_eq!(gib(100 << 20), "0.1 GB");
    }
}
