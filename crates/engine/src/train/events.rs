//! The one typed stream a training run reports through.
//!
//! Every consumer (the CLI's progress bars and `--json` lines, the UI's channel, the run history)
//! reads the same events. Serialised with an `event` field naming the kind (`preparing`, `started`,
//! `step`, `eval`, `checkpoint`, `finished`, `failed`, `cancelled`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Named scalar metrics (`loss`, `accuracy`, `macro_f1`, `perplexity`, ...), in name order.
pub type Metrics = BTreeMap<String, f64>;

/// What a run does before its first step (reported by the application around the loop).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum PrepStage {
    /// Reading, checking and splitting the data file.
    ReadingData,
    /// Loading the model's weights and tokenizer.
    LoadingModel,
    /// Turning every example into token ids.
    Tokenising,
    /// Reading each example once through the frozen model (feature extraction).
    CachingFeatures,
    /// Measuring the untouched model on the held-out rows, to compare against later.
    MeasuringBase,
}

/// What happened in a training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TrainEvent {
    /// The run is being prepared (before `started`): the application reports each stage, with a
    /// count where the stage has one. The loop itself never sends it.
    Preparing {
        /// What is being done.
        stage: PrepStage,
        /// Items of this stage done so far, where it counts them.
        done: Option<usize>,
        /// Items in this stage, where known.
        total: Option<usize>,
        /// Seconds since the preparation began.
        elapsed: f64,
    },
    /// Training is about to take its first (or, resumed, its next) step.
    Started {
        /// Optimiser steps the whole run takes.
        total_steps: usize,
        /// Epochs over the training examples.
        epochs: usize,
        /// Optimiser steps per epoch.
        steps_per_epoch: usize,
        /// Training examples.
        train_examples: usize,
        /// Validation examples.
        val_examples: usize,
        /// Trainable parameters (scalars).
        trainable_params: usize,
        /// The step a resumed run continues from, or `None` for a fresh run.
        resumed_from: Option<usize>,
    },
    /// One optimiser step was taken.
    Step {
        /// The step number (1-based).
        step: usize,
        /// Of how many.
        total_steps: usize,
        /// The epoch it belongs to (1-based).
        epoch: usize,
        /// Training loss of this step's examples.
        loss: f64,
        /// Learning rate used.
        lr: f64,
        /// Global gradient norm before clipping.
        grad_norm: f64,
        /// Tokens (or examples, for cached features) per second over this step.
        tokens_per_s: f64,
        /// Seconds of training so far (across resumes).
        elapsed: f64,
        /// Estimated seconds left.
        eta: f64,
    },
    /// The model was evaluated on the validation examples.
    Eval {
        /// At step.
        step: usize,
        /// Validation metrics.
        metrics: Metrics,
        /// Whether this is the best evaluation so far (its weights are kept).
        best: bool,
    },
    /// A resumable checkpoint was written.
    Checkpoint {
        /// At step.
        step: usize,
        /// The checkpoint file.
        path: PathBuf,
    },
    /// Training ended normally (all epochs, or early stopping).
    Finished {
        /// Validation metrics of the kept (best) weights.
        metrics: Metrics,
        /// Steps taken.
        steps: usize,
        /// The step whose weights were kept.
        best_step: Option<usize>,
        /// Whether early stopping ended the run before its last epoch.
        stopped_early: bool,
    },
    /// The user cancelled; the run can be resumed from the checkpoint written on the way out.
    Cancelled {
        /// Steps taken.
        step: usize,
    },
    /// Training failed.
    Failed {
        /// What went wrong, in words the user can act on.
        error: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialise_with_their_kind_in_an_event_field() {
        let e = TrainEvent::Step {
            step: 3,
            total_steps: 10,
            epoch: 1,
            loss: 0.5,
            lr: 1e-3,
            grad_norm: 1.5,
            tokens_per_s: 100.0,
            elapsed: 2.0,
            eta: 4.0,
        };
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["event"], "step");
        assert_eq!(v["grad_norm"], 1.5);
        let f = serde_json::to_value(TrainEvent::Failed { error: "x".into() }).unwrap();
        assert_eq!(f["event"], "failed");
        let back: TrainEvent = serde_json::from_value(v).unwrap();
        assert_eq!(back, e);
    }
}
