//! The training loop: batches in a seeded order, gradient accumulation, clipping, AdamW on a
//! warmup + decay schedule, validation with early stopping and the best weights kept, atomic
//! checkpoints, cancel and pause between steps, and one event stream.
//!
//! Promise: a run resumed from its checkpoint takes exactly the steps the uninterrupted run would
//! have taken, bit for bit on the same machine, because everything a step depends on (weights,
//! moments, step, epoch, position in the epoch, RNG, early-stopping record) is in the checkpoint and
//! the batch order is a pure function of the seed and the epoch.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{Tensor, Var};
use serde::{Deserialize, Serialize};

use super::batching::epoch_batches;
use tunesmith_vocab::CancelHandle;
use super::checkpoint::{load_tensors, save_tensors, BEST_FILE, LAST_FILE, STATE_KEY};
use super::clip::scale_to_norm;
use super::early_stop::{EarlyStopping, Record};
use super::events::{Metrics, TrainEvent};
use super::optim::{AdamW, AdamWConfig};
use super::rng::Rng;
use super::schedule::{Decay, Schedule};
use super::trainable::TrainTask;
use crate::{EngineError, Result};

/// Everything that shapes a run's loss curve (saved with the run and in each checkpoint).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Passes over the training examples.
    pub epochs: usize,
    /// Examples per micro-batch.
    pub batch_size: usize,
    /// Micro-batches per optimiser step.
    pub grad_accum: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Fraction of steps warming up.
    pub warmup_ratio: f64,
    /// Decay after warmup.
    pub decay: Decay,
    /// AdamW's betas, epsilon and weight decay.
    pub optimizer: AdamWConfig,
    /// Clip the global gradient norm to this (`None`: no clipping).
    pub max_grad_norm: Option<f64>,
    /// Seed of the batch order and the task's RNG.
    pub seed: u64,
    /// Evaluate every this many steps (`None`: at the end of each epoch).
    pub eval_every: Option<usize>,
    /// Write a checkpoint every this many steps (`None`: at the end of each epoch).
    pub checkpoint_every: Option<usize>,
    /// The metric that picks the best weights, and the patience.
    pub early_stopping: EarlyStopping,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 3,
            batch_size: 16,
            grad_accum: 1,
            lr: 2e-5,
            warmup_ratio: 0.1,
            decay: Decay::Linear,
            optimizer: AdamWConfig::default(),
            max_grad_norm: Some(1.0),
            seed: 42,
            eval_every: None,
            checkpoint_every: None,
            early_stopping: EarlyStopping::default(),
        }
    }
}

impl TrainConfig {
    /// Checks the values a user may have typed.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(EngineError::Invalid(m));
        if self.epochs == 0 {
            return bad("epochs must be at least 1".into());
        }
        if self.batch_size == 0 || self.grad_accum == 0 {
            return bad("the batch size and gradient accumulation must be at least 1".into());
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(format!(
                "the learning rate must be a positive number, not {}",
                self.lr
            ));
        }
        if !(0.0..=1.0).contains(&self.warmup_ratio) {
            return bad(format!(
                "the warmup ratio must be between 0 and 1, not {}",
                self.warmup_ratio
            ));
        }
        if self.eval_every == Some(0) || self.checkpoint_every == Some(0) {
            return bad("evaluation and checkpoint intervals must be at least 1 step".into());
        }
        Ok(())
    }

    /// Optimiser steps per epoch for `n` training examples.
    pub fn steps_per_epoch(&self, n: usize) -> usize {
        n.div_ceil(self.batch_size).div_ceil(self.grad_accum).max(1)
    }

    /// The fields whose change would make a resumed run a different run.
    fn curve_fingerprint(&self) -> String {
        let mut c = self.clone();
        // Intervals for evaluation and checkpoints do not change the loss curve.
        c.eval_every = None;
        c.checkpoint_every = None;
        // The epoch count may grow: "train longer" continues a finished run past its recorded end
        // (the learning-rate schedule then stretches to the new end). A checkpoint past the new
        // end is refused in `restore`.
        c.epochs = 0;
        serde_json::to_string(&c).unwrap_or_default()
    }
}

/// Where a run keeps its checkpoints, and whether to continue from one.
#[derive(Debug, Clone, Default)]
pub struct TrainOptions {
    /// The run's checkpoint folder (`None`: nothing written, the best weights kept in memory).
    pub checkpoint_dir: Option<PathBuf>,
    /// Continue from the checkpoint in `checkpoint_dir` (an error if there is none).
    pub resume: bool,
    /// Checked between steps.
    pub cancel: CancelHandle,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum TrainStatus {
    /// All epochs ran, or early stopping ended the run.
    Finished,
    /// The user cancelled; a checkpoint was written if the run has a folder.
    Cancelled,
}

/// The result of [`train`].
#[derive(Debug, Clone)]
pub struct TrainOutcome {
    /// How it ended.
    pub status: TrainStatus,
    /// Steps taken.
    pub steps: usize,
    /// Validation metrics of the kept weights (or `train_loss` when there is no validation set).
    pub metrics: Metrics,
    /// The step whose weights are in the task now.
    pub best_step: Option<usize>,
}

/// The loop's own state, saved in each checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct LoopState {
    format: u32,
    config: String,
    train_examples: usize,
    step: usize,
    epoch: usize,
    batch_in_epoch: usize,
    rng: Rng,
    record: Record,
    elapsed: f64,
    last_loss: f64,
}

const STATE_FORMAT: u32 = 1;

/// Trains `task` on `train_set`, validating on `val_set`, reporting every event to `on_event`.
///
/// Errors are also reported as a `failed` event before being returned.
pub fn train<T: TrainTask>(
    task: &mut T,
    train_set: &[T::Example],
    val_set: &[T::Example],
    config: &TrainConfig,
    options: &TrainOptions,
    on_event: &mut dyn FnMut(&TrainEvent),
) -> Result<TrainOutcome> {
    let result = run(task, train_set, val_set, config, options, on_event);
    if let Err(e) = &result {
        on_event(&TrainEvent::Failed {
            error: e.to_string(),
        });
    }
    result
}

fn run<T: TrainTask>(
    task: &mut T,
    train_set: &[T::Example],
    val_set: &[T::Example],
    config: &TrainConfig,
    options: &TrainOptions,
    on_event: &mut dyn FnMut(&TrainEvent),
) -> Result<TrainOutcome> {
    config.validate()?;
    if train_set.is_empty() {
        return Err(EngineError::Invalid(
            "there are no training examples; add rows to the training data".into(),
        ));
    }
    let vars = task.trainable();
    if vars.is_empty() {
        return Err(EngineError::Training(
            "the model has no trainable parameters for this method".into(),
        ));
    }
    let trainable_params: usize = vars.iter().map(|(_, v)| v.elem_count()).sum();
    let mut optimizer = AdamW::new(vars, config.optimizer)?;
    let n = train_set.len();
    let steps_per_epoch = config.steps_per_epoch(n);
    let total_steps = steps_per_epoch * config.epochs;
    let schedule =
        Schedule::with_warmup_ratio(config.lr, config.warmup_ratio, total_steps, config.decay);
    let lengths: Option<Vec<usize>> = train_set.iter().map(|e| task.length(e)).collect();

    let last_path = options.checkpoint_dir.as_ref().map(|d| d.join(LAST_FILE));
    let best_path = options.checkpoint_dir.as_ref().map(|d| d.join(BEST_FILE));
    let mut state = LoopState {
        format: STATE_FORMAT,
        config: config.curve_fingerprint(),
        train_examples: n,
        step: 0,
        epoch: 0,
        batch_in_epoch: 0,
        rng: Rng::derived(config.seed, 0x7461_736B),
        record: Record::default(),
        elapsed: 0.0,
        last_loss: f64::NAN,
    };
    let mut resumed_from = None;
    if options.resume {
        let path = last_path.as_ref().ok_or_else(|| {
            EngineError::Training("resuming needs the run's checkpoint folder".into())
        })?;
        state = restore(path, &mut optimizer, config, n)?;
        resumed_from = Some(state.step);
    }
    on_event(&TrainEvent::Started {
        total_steps,
        epochs: config.epochs,
        steps_per_epoch,
        train_examples: n,
        val_examples: val_set.len(),
        trainable_params,
        resumed_from,
    });

    let mut best_in_memory: Option<Vec<Tensor>> = None;
    let session_start = Instant::now();
    let elapsed_before = state.elapsed;
    let steps_before = state.step;
    let mut stopped_early = false;
    let mut checked_gradients = false;

    'epochs: while state.epoch < config.epochs {
        let batches = epoch_batches(
            n,
            config.batch_size,
            config.seed,
            state.epoch,
            lengths.as_deref(),
        );
        while state.batch_in_epoch < batches.len() {
            if options.cancel.checkpoint_wait() {
                state.elapsed = elapsed_before + session_start.elapsed().as_secs_f64();
                if let Some(path) = &last_path {
                    save(path, &optimizer, &state)?;
                    on_event(&TrainEvent::Checkpoint {
                        step: state.step,
                        path: path.clone(),
                    });
                }
                on_event(&TrainEvent::Cancelled { step: state.step });
                return Ok(TrainOutcome {
                    status: TrainStatus::Cancelled,
                    steps: state.step,
                    metrics: state.record.best_metrics.clone(),
                    best_step: state.record.best.map(|b| b.1),
                });
            }
            let step_start = Instant::now();
            let end = (state.batch_in_epoch + config.grad_accum).min(batches.len());
            let group = &batches[state.batch_in_epoch..end];

            // Sum of (mean loss x units) per micro-batch, divided by all units: exactly the mean over
            // the whole group, so accumulation equals one large batch.
            let mut sums: Vec<Option<Tensor>> = vec![None; optimizer.names().len()];
            let mut units = 0usize;
            let mut tokens = 0usize;
            // The weighted losses stay on the device until the step's one read (below).
            let mut loss_sum: Option<Tensor> = None;
            for (m, micro) in group.iter().enumerate() {
                let examples: Vec<&T::Example> = micro.iter().map(|&i| &train_set[i]).collect();
                // Dropout masks are keyed by (seed, step, micro-batch, layer), so a run's masks
                // depend only on its seed and step, and a resumed run draws the same.
                let dropout_seed =
                    crate::nn::dropout::step_key(config.seed, state.step as u64, m as u64);
                let bl = crate::nn::dropout::with_seed(dropout_seed, || {
                    task.loss(&examples, &mut state.rng)
                })?;
                tokens += bl.tokens;
                if bl.units == 0 {
                    continue;
                }
                let weighted = (&bl.loss * bl.units as f64)?;
                let w64 = weighted.detach().to_dtype(candle_core::DType::F64)?;
                loss_sum = Some(match loss_sum.take() {
                    Some(acc) => (acc + w64)?,
                    None => w64,
                });
                units += bl.units;
                let grads = weighted.backward()?;
                for (slot, var) in sums.iter_mut().zip(optimizer.vars()) {
                    if let Some(g) = grads.get(var.as_tensor()) {
                        *slot = Some(match slot.take() {
                            Some(acc) => accumulate(acc, g)?,
                            None => g.clone(),
                        });
                    }
                }
            }
            let mut present: Vec<usize> = Vec::new();
            let mut grads: Vec<Tensor> = Vec::new();
            if units > 0 {
                if !checked_gradients {
                    if sums.iter().all(|g| g.is_none()) {
                        return Err(EngineError::Training(
                            "no trainable parameter received a gradient: this model/method would train nothing".into(),
                        ));
                    }
                    checked_gradients = true;
                }
                present = (0..sums.len()).filter(|&i| sums[i].is_some()).collect();
                grads = present
                    .iter()
                    .map(|&i| {
                        sums[i]
                            .as_ref()
                            .map(|g| g * (1.0 / units as f64))
                            .transpose()
                    })
                    .collect::<std::result::Result<Vec<_>, _>>()?
                    .into_iter()
                    .flatten()
                    .collect();
            }
            // The step's one read from the device (issue 13: no other host-device synchronisation
            // inside a step): the summed loss and the gradients' squared norm, in one transfer.
            let squared_norm = match grads.is_empty() {
                true => None,
                false => Some(super::clip::squared_norm(grads.iter())?),
            };
            let (loss_sum, grad_norm) = read_loss_and_norm(loss_sum, squared_norm)?;
            let loss = if units > 0 {
                loss_sum / units as f64
            } else {
                0.0
            };
            if !loss.is_finite() {
                return Err(EngineError::Training(format!(
                    "the training loss became {loss} at step {}; lower the learning rate (now {}) and start again",
                    state.step + 1,
                    config.lr
                )));
            }
            let lr = schedule.lr_at(state.step);
            if !grads.is_empty() {
                if !grad_norm.is_finite() {
                    return Err(EngineError::Training(format!(
                        "the gradient became {grad_norm} at step {}; lower the learning rate and start again",
                        state.step + 1
                    )));
                }
                if let Some(max) = config.max_grad_norm {
                    scale_to_norm(&mut grads, grad_norm, max)?;
                }
                let mut full: Vec<Option<Tensor>> = vec![None; sums.len()];
                for (i, g) in present.into_iter().zip(grads) {
                    full[i] = Some(g);
                }
                optimizer.step(&full, lr)?;
            }
            let epoch_of_step = state.epoch + 1;
            state.batch_in_epoch = end;
            state.step += 1;
            state.last_loss = loss;
            let epoch_done = state.batch_in_epoch >= batches.len();
            if epoch_done {
                state.epoch += 1;
                state.batch_in_epoch = 0;
            }
            let session = session_start.elapsed().as_secs_f64();
            state.elapsed = elapsed_before + session;
            let per_step = session / (state.step - steps_before) as f64;
            let dt = step_start.elapsed().as_secs_f64().max(1e-9);
            on_event(&TrainEvent::Step {
                step: state.step,
                total_steps,
                epoch: epoch_of_step,
                loss,
                lr,
                grad_norm,
                tokens_per_s: tokens as f64 / dt,
                elapsed: state.elapsed,
                eta: per_step * (total_steps - state.step) as f64,
            });

            let due = |every: Option<usize>| match every {
                Some(e) => state.step % e == 0 || state.step == total_steps,
                None => epoch_done,
            };
            if !val_set.is_empty() && due(config.eval_every) {
                let metrics = task.evaluate(val_set)?;
                let verdict =
                    config
                        .early_stopping
                        .observe(&mut state.record, &metrics, state.step);
                if verdict.improved {
                    let weights: Vec<Tensor> = optimizer
                        .vars()
                        .iter()
                        .map(|v| v.as_tensor().copy())
                        .collect::<candle_core::Result<_>>()?;
                    match &best_path {
                        Some(p) => save_weights(p, &optimizer, state.step)?,
                        None => best_in_memory = Some(weights),
                    }
                }
                on_event(&TrainEvent::Eval {
                    step: state.step,
                    metrics,
                    best: verdict.improved,
                });
                stopped_early = verdict.stop && state.step < total_steps;
            }
            if let Some(path) = &last_path {
                if due(config.checkpoint_every) || stopped_early {
                    save(path, &optimizer, &state)?;
                    on_event(&TrainEvent::Checkpoint {
                        step: state.step,
                        path: path.clone(),
                    });
                }
            }
            if stopped_early {
                break 'epochs;
            }
            if epoch_done {
                break;
            }
        }
    }

    // Put the best weights back so whatever uses the task next (evaluation, export) sees them.
    let best_step = state.record.best.map(|b| b.1);
    if best_step.is_some_and(|b| b != state.step) {
        if let Some(p) = &best_path {
            restore_weights(p, &optimizer)?;
        } else if let Some(w) = &best_in_memory {
            for (var, t) in optimizer.vars().into_iter().zip(w) {
                var.set(t)?;
            }
        }
    }
    let metrics = if val_set.is_empty() {
        Metrics::from([("train_loss".to_string(), state.last_loss)])
    } else {
        state.record.best_metrics.clone()
    };
    on_event(&TrainEvent::Finished {
        metrics: metrics.clone(),
        steps: state.step,
        best_step,
        stopped_early,
    });
    Ok(TrainOutcome {
        status: TrainStatus::Finished,
        steps: state.step,
        metrics,
        best_step,
    })
}

/// `acc + g`, in place in `acc` on the CPU (f32, contiguous, same shape): no buffer per
/// micro-batch. `acc` is the previous micro-batches' sum, owned by the loop alone (candle's
/// gradient store hands out fresh tensors and is dropped after each micro-batch).
fn accumulate(acc: Tensor, g: &Tensor) -> Result<Tensor> {
    let fits = |t: &Tensor| {
        t.device().is_cpu() && t.dtype() == candle_core::DType::F32 && t.is_contiguous()
    };
    if fits(&acc) && fits(g) && acc.dims() == g.dims() {
        acc.inplace_op2(g, &AddAssign)?;
        return Ok(acc);
    }
    Ok((acc + g)?)
}

/// `dst += src` elementwise (contiguous f32).
struct AddAssign;

impl candle_core::InplaceOp2 for AddAssign {
    fn name(&self) -> &'static str {
        "tunesmith-add-assign"
    }
    fn cpu_fwd(
        &self,
        s1: &mut candle_core::CpuStorage,
        l1: &candle_core::Layout,
        s2: &candle_core::CpuStorage,
        l2: &candle_core::Layout,
    ) -> candle_core::Result<()> {
        use candle_core::CpuStorage::F32;
        match (s1, l1.contiguous_offsets(), s2, l2.contiguous_offsets()) {
            (F32(d), Some((a, b)), F32(s), Some((c, e))) => {
                for (d, s) in d[a..b].iter_mut().zip(&s[c..e]) {
                    *d += s;
                }
                Ok(())
            }
            _ => candle_core::bail!("{}: needs contiguous f32 tensors", self.name()),
        }
    }
}

/// Reads a step's summed loss (0 without one) and its gradient norm (0 without gradients) from
/// the device in one transfer.
fn read_loss_and_norm(loss: Option<Tensor>, squared_norm: Option<Tensor>) -> Result<(f64, f64)> {
    let parts: Vec<Tensor> = [loss.clone(), squared_norm.clone()]
        .into_iter()
        .flatten()
        .collect();
    if parts.is_empty() {
        return Ok((0.0, 0.0));
    }
    // Both are f64 scalars; on different devices (a norm of no gradients is made on the CPU) they
    // are read one by one.
    let same_device = parts.iter().all(|p| p.device().same_device(parts[0].device()));
    let values: Vec<f64> = if same_device {
        Tensor::stack(&parts, 0)?.to_vec1::<f64>()?
    } else {
        parts
            .iter()
            .map(|p| p.to_scalar::<f64>())
            .collect::<candle_core::Result<_>>()?
    };
    let mut it = values.into_iter();
    let loss = match loss {
        Some(_) => it.next().unwrap_or(0.0),
        None => 0.0,
    };
    let norm = match squared_norm {
        Some(_) => it.next().unwrap_or(0.0).sqrt(),
        None => 0.0,
    };
    Ok((loss, norm))
}

fn weight_tensors(optimizer: &AdamW) -> Vec<(String, Tensor)> {
    optimizer
        .names()
        .into_iter()
        .zip(optimizer.vars())
        .map(|(n, v)| (format!("w.{n}"), v.as_tensor().clone()))
        .collect()
}

fn save(path: &Path, optimizer: &AdamW, state: &LoopState) -> Result<()> {
    let mut tensors = weight_tensors(optimizer);
    let (opt_step, moments) = optimizer.state();
    tensors.extend(moments);
    let json = serde_json::to_string(state)
        .map_err(|e| EngineError::Training(format!("cannot record the loop state: {e}")))?;
    let meta = HashMap::from([
        (STATE_KEY.to_string(), json),
        ("tunesmith.optimizer_step".to_string(), opt_step.to_string()),
    ]);
    save_tensors(path, &tensors, meta)
}

fn save_weights(path: &Path, optimizer: &AdamW, step: usize) -> Result<()> {
    save_tensors(
        path,
        &weight_tensors(optimizer),
        HashMap::from([("tunesmith.step".to_string(), step.to_string())]),
    )
}

fn set_weights(
    path: &Path,
    vars: &[&Var],
    names: &[&str],
    tensors: &HashMap<String, Tensor>,
) -> Result<()> {
    for (name, var) in names.iter().zip(vars) {
        let key = format!("w.{name}");
        let t = tensors.get(&key).ok_or_else(|| EngineError::Checkpoint {
            path: path.to_path_buf(),
            reason: format!(
                "has no weights for `{name}`: it belongs to a different model or method"
            ),
        })?;
        if t.dims() != var.dims() {
            return Err(EngineError::Checkpoint {
                path: path.to_path_buf(),
                reason: format!(
                    "the weights `{name}` have shape {:?}, the model expects {:?}",
                    t.dims(),
                    var.dims()
                ),
            });
        }
        var.set(&t.to_dtype(var.dtype())?)?;
    }
    Ok(())
}

fn restore_weights(path: &Path, optimizer: &AdamW) -> Result<()> {
    let device = optimizer
        .vars()
        .first()
        .map(|v| v.device().clone())
        .unwrap_or(candle_core::Device::Cpu);
    let (tensors, _) = load_tensors(path, &device)?;
    set_weights(path, &optimizer.vars(), &optimizer.names(), &tensors)
}

fn restore(
    path: &Path,
    optimizer: &mut AdamW,
    config: &TrainConfig,
    n: usize,
) -> Result<LoopState> {
    if !path.exists() {
        return Err(EngineError::Checkpoint {
            path: path.to_path_buf(),
            reason: "there is no checkpoint to resume from (the run stopped before its first checkpoint); start it again".into(),
        });
    }
    let device = optimizer
        .vars()
        .first()
        .map(|v| v.device().clone())
        .unwrap_or(candle_core::Device::Cpu);
    let (tensors, meta) = load_tensors(path, &device)?;
    let bad = |reason: String| EngineError::Checkpoint {
        path: path.to_path_buf(),
        reason,
    };
    let json = meta
        .get(STATE_KEY)
        .ok_or_else(|| bad("is not a Tunesmith training checkpoint (no loop state)".into()))?;
    let state: LoopState = serde_json::from_str(json)
        .map_err(|e| bad(format!("its loop state cannot be read: {e}")))?;
    if state.format != STATE_FORMAT {
        return Err(bad(format!(
            "was written by another version of Tunesmith (format {})",
            state.format
        )));
    }
    if state.config != config.curve_fingerprint() || state.train_examples != n {
        return Err(bad("was written with different settings or data; resume with the run's own settings and data".into()));
    }
    if state.epoch > config.epochs {
        return Err(bad(format!(
            "is at epoch {} of a run now set to {} epochs; resume with at least as many epochs as it has trained",
            state.epoch, config.epochs
        )));
    }
    let opt_step: u64 = meta
        .get("tunesmith.optimizer_step")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("has no optimiser step count".into()))?;
    set_weights(path, &optimizer.vars(), &optimizer.names(), &tensors)?;
    optimizer.load_state(opt_step, &tensors)?;
    Ok(state)
}
