//! A transformers `trainer_state.json` read as a loss curve: its `log_history` split into training
//! steps (`loss`, `learning_rate`, `grad_norm`, `epoch`) and evaluations (`eval_*`, named as
//! Tunesmith names its validation metrics: `eval_loss` -> `loss`, with `perplexity` added for
//! generation). TRL, Axolotl and the plain `Trainer` all write this file.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::{Error, Result};

/// The file's name.
pub const TRAINER_STATE_FILE: &str = "trainer_state.json";

/// One logged training step.
#[derive(Debug, Clone, PartialEq)]
pub struct StepPoint {
    /// The optimiser step.
    pub step: u64,
    /// The training loss logged at it.
    pub loss: f64,
    /// The learning rate.
    pub lr: Option<f64>,
    /// The gradient norm before clipping.
    pub grad_norm: Option<f64>,
    /// The (fractional) epoch.
    pub epoch: Option<f64>,
}

/// One evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalPoint {
    /// The optimiser step it ran after.
    pub step: u64,
    /// Its metrics, Tunesmith's names.
    pub metrics: BTreeMap<String, f64>,
}

/// The loss curve and evaluations of a trainer's run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TrainerLog {
    /// Training steps, in order.
    pub steps: Vec<StepPoint>,
    /// Evaluations, in order.
    pub evals: Vec<EvalPoint>,
    /// The last optimiser step.
    pub global_step: u64,
}

/// The evaluation metrics a local run records: the trainers also log figures about the evaluation
/// itself (runtime, samples per second) and TRL its own diagnostics (entropy, token accuracy).
const KEPT: [&str; 2] = ["loss", "accuracy"];

impl TrainerLog {
    /// Reads `path`; `generation` adds `perplexity` (e^loss) to each evaluation, as a local
    /// generation run reports it.
    pub fn read(path: &Path, generation: bool) -> Result<TrainerLog> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::invalid(format!(
                "cannot read {}: {e}; copy back the trainer's output folder with its trainer_state.json",
                path.display()
            ))
        })?;
        let v: Value = serde_json::from_str(&text).map_err(|e| {
            Error::invalid(format!("{} is not a trainer state (JSON): {e}", path.display()))
        })?;
        TrainerLog::from_value(&v, generation)
            .map_err(|why| Error::invalid(format!("{}: {why}", path.display())))
    }

    /// Reads a parsed `trainer_state.json`.
    pub fn from_value(v: &Value, generation: bool) -> std::result::Result<TrainerLog, String> {
        let history = v
            .get("log_history")
            .and_then(Value::as_array)
            .ok_or("it has no `log_history` list (was it written by a transformers Trainer?)")?;
        let mut log = TrainerLog {
            global_step: v.get("global_step").and_then(Value::as_u64).unwrap_or(0),
            ..Default::default()
        };
        for entry in history {
            let Some(step) = entry.get("step").and_then(Value::as_u64) else {
                continue;
            };
            let num = |k: &str| entry.get(k).and_then(Value::as_f64).filter(|x| x.is_finite());
            if let Some(loss) = num("loss") {
                log.steps.push(StepPoint {
                    step,
                    loss,
                    lr: num("learning_rate"),
                    grad_norm: num("grad_norm"),
                    epoch: num("epoch"),
                });
            }
            let mut metrics = BTreeMap::new();
            if let Some(m) = entry.as_object() {
                for (k, val) in m {
                    let (Some(name), Some(x)) = (k.strip_prefix("eval_"), val.as_f64()) else {
                        continue;
                    };
                    if !KEPT.contains(&name) || !x.is_finite() {
                        continue;
                    }
                    metrics.insert(name.to_string(), x);
                }
            }
            if !metrics.is_empty() {
                if generation {
                    if let Some(loss) = metrics.get("loss").copied() {
                        metrics.insert("perplexity".into(), loss.exp());
                    }
                }
                log.evals.push(EvalPoint { step, metrics });
            }
            log.global_step = log.global_step.max(step);
        }
        if log.steps.is_empty() {
            return Err("its `log_history` holds no training loss (logging_steps too large, or the run did not train)".into());
        }
        Ok(log)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn steps_and_evaluations_are_told_apart_and_named_as_tunesmith_names_them() {
        let v = json!({"global_step": 2, "log_history": [
            {"step": 1, "epoch": 0.5, "loss": 2.0, "learning_rate": 1e-4, "grad_norm": 3.0},
            {"step": 2, "epoch": 1.0, "loss": 1.5, "learning_rate": 5e-5},
            {"step": 2, "epoch": 1.0, "eval_loss": 1.0, "eval_runtime": 0.1, "eval_accuracy": 0.5, "eval_entropy": 5.7},
            {"step": 2, "train_loss": 1.75, "train_runtime": 3.0}
        ]});
        let log = TrainerLog::from_value(&v, true).unwrap();
        assert_eq!(log.steps.len(), 2);
        assert_eq!(log.steps[0].grad_norm, Some(3.0));
        assert_eq!(log.evals.len(), 1);
        let m = &log.evals[0].metrics;
        assert_eq!(m.keys().collect::<Vec<_>>(), ["accuracy", "loss", "perplexity"]);
        assert!((m["perplexity"] - 1f64.exp()).abs() < 1e-12);
    }

    #[test]
    fn a_log_without_training_loss_is_refused() {
        let v = json!({"log_history": [{"step": 1, "eval_loss": 1.0}]});
        assert!(TrainerLog::from_value(&v, false).is_err());
    }
}
