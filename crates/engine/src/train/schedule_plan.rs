//! The training schedule chosen from the data: how many passes and optimiser steps, at which
//! learning rate, with which LoRA rank, and when early stopping may act, from the number of
//! training rows, the task, the method and the model's size; with one plain line saying why.
//!
//! Promises:
//! - [`plan`] is a pure function: the same rows, task, method and model size give the same plan.
//! - Small sets get many passes (a 30-row FAQ is seen dozens of times: a model learns a fact from a
//!   handful of examples only by seeing them again and again); large sets (10,000 rows and more)
//!   get one to three passes, where more only overfits and costs hours.
//! - Learning rates come from the literature, by method and model size, checked here: LoRA/QLoRA
//!   on decoders 1e-3 under 0.5B parameters and 5e-4 to 2B (the top of the 1e-4..1e-3 range of the
//!   QLoRA paper and PEFT's examples, for small models and few steps: bench/facts measured 58 % of
//!   the facts learned at 5e-4 and 70-75 % at 1e-3 on SmolLM2-135M), 2e-4 for 2-7B, 1e-4 above;
//!   full fine-tuning of decoders 5e-5/2e-5/1e-5 by size; encoders for classification 2e-5 (full,
//!   the BERT paper), LoRA 1e-3 under 200M parameters and 4e-4 above (the LoRA paper's RoBERTa
//!   rates; MiniLM on SST-2 measured 84.75 % at 2e-4, 86.0 % at 1e-3), 1e-3 for a head on frozen
//!   features (a freshly initialised linear layer learns fast).
//! - LoRA goes on every linear layer of attention and MLP (QLoRA paper: all-linear adapters match
//!   full fine-tuning where attention-only ones do not), with a rank that grows with the data.
//! - Generation learns from the answer tokens only (the prompt is context, not a target).
//! - Early stopping watches the validation loss but cannot act before `min_steps`: early in a run
//!   on a small set the validation loss moves by chance and the facts are not learned yet, so
//!   weights from then are neither kept as the best nor a reason to stop.
//! - A user's explicit setting wins ([`SchedulePlan::with_overrides`]) and the reason says so.

use serde::{Deserialize, Serialize};

use super::defaults::Method;
use super::early_stop::EarlyStopping;

/// What a model learns to do (the engine's view of the data crate's task).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum PlanTask {
    /// Text in, label out (encoders).
    Classify,
    /// Prompt in, answer out (decoders).
    Generate,
}

/// What the plan is chosen from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanInput {
    /// Rows the model trains on (after the validation and test rows are held out).
    pub train_rows: usize,
    /// The task.
    pub task: PlanTask,
    /// The method.
    pub method: Method,
    /// The model's parameter count, when known (`None` is taken as a small model, under 0.5B).
    pub model_parameters: Option<u64>,
}

/// The schedule a run trains with, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SchedulePlan {
    /// Rows the plan was made for.
    pub train_rows: u64,
    /// Passes over the training rows.
    pub epochs: u64,
    /// Rows per optimiser step.
    pub batch_size: u64,
    /// Optimiser steps per pass.
    pub steps_per_epoch: u64,
    /// Optimiser steps in all (`epochs x steps_per_epoch`), unless early stopping ends the run.
    pub total_steps: u64,
    /// Peak learning rate.
    pub lr: f64,
    /// Fraction of the steps warming the learning rate up.
    pub warmup_ratio: f64,
    /// AdamW's decoupled weight decay.
    pub weight_decay: f64,
    /// LoRA rank (LoRA and QLoRA only).
    pub lora_rank: Option<u64>,
    /// LoRA alpha (the update is scaled by `alpha / rank`).
    pub lora_alpha: Option<f64>,
    /// Which layers get adapters (`all-linear`: every linear layer of attention and MLP).
    pub lora_targets: Option<String>,
    /// Whether only the answer tokens are learned (generation); classification learns the label.
    pub loss_on_answers_only: bool,
    /// Early stopping neither keeps weights from, nor stops, before this step.
    pub min_steps: u64,
    /// Evaluations without a better validation loss (after `min_steps`) before stopping.
    pub patience: u64,
    /// One plain line of what was chosen and why.
    pub reason: String,
}

/// The user's explicit settings, which win over the plan's.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Overrides {
    /// Passes over the rows.
    pub epochs: Option<usize>,
    /// Peak learning rate.
    pub lr: Option<f64>,
    /// Rows per step.
    pub batch_size: Option<usize>,
    /// LoRA rank.
    pub lora_rank: Option<usize>,
    /// LoRA alpha.
    pub lora_alpha: Option<f64>,
}

/// Sets this large or larger are "large": one to three passes.
pub const LARGE_SET_ROWS: usize = 10_000;
/// Optimiser steps a small generation set is trained for (before rounding to whole passes): about
/// what LoRA at 5e-4 needs to fix a few dozen facts in a 0.1-1B model.
pub const SMALL_SET_TARGET_STEPS: usize = 240;
/// Most passes over any set: beyond this a tiny set is memorised word for word.
pub const MAX_EPOCHS: usize = 40;

const BILLION: u64 = 1_000_000_000;

/// The plan for `input` (see the module's promises).
pub fn plan(input: &PlanInput) -> SchedulePlan {
    let rows = input.train_rows.max(1);
    let params = input.model_parameters.unwrap_or(0);
    let batch = batch_size(input.task, rows);
    let epochs = epochs(input.task, input.method, rows, batch);
    let lr = learning_rate(input.task, input.method, params);
    let lora = matches!(input.method, Method::Lora | Method::Qlora);
    let rank = lora.then(|| lora_rank(input.task, rows));
    let mut p = SchedulePlan {
        train_rows: rows as u64,
        epochs: epochs as u64,
        batch_size: batch as u64,
        steps_per_epoch: 0,
        total_steps: 0,
        lr,
        warmup_ratio: 0.1,
        weight_decay: 0.01,
        lora_rank: rank.map(|r| r as u64),
        lora_alpha: rank.map(|r| 2.0 * r as f64),
        lora_targets: lora.then(|| "all-linear".to_string()),
        loss_on_answers_only: input.task == PlanTask::Generate,
        min_steps: 0,
        patience: 3,
        reason: String::new(),
    };
    p.recount();
    p.reason = reason(&p, input, None);
    p
}

impl SchedulePlan {
    /// The plan with the user's explicit settings in place of the chosen ones; steps and the
    /// early-stopping floor are recounted and the reason names what the user set. A setting equal
    /// to the plan's own (the app's form filled from the plan) changes nothing and is not named.
    pub fn with_overrides(mut self, input: &PlanInput, o: &Overrides) -> SchedulePlan {
        let mut set = Vec::new();
        if let Some(e) = o.epochs.filter(|&e| e as u64 != self.epochs) {
            self.epochs = e as u64;
            set.push("epochs");
        }
        if let Some(b) = o.batch_size.filter(|&b| b as u64 != self.batch_size) {
            self.batch_size = b as u64;
            set.push("batch size");
        }
        if let Some(lr) = o.lr.filter(|&lr| lr != self.lr) {
            self.lr = lr;
            set.push("learning rate");
        }
        if self.lora_rank.is_some() {
            if let Some(r) = o.lora_rank.filter(|&r| Some(r as u64) != self.lora_rank) {
                self.lora_rank = Some(r as u64);
                // Alpha follows the rank unless it was set too, so the update keeps its scale.
                if o.lora_alpha.is_none() {
                    self.lora_alpha = Some(2.0 * r as f64);
                }
                set.push("LoRA rank");
            }
            if let Some(a) = o.lora_alpha.filter(|&a| Some(a) != self.lora_alpha) {
                self.lora_alpha = Some(a);
                set.push("LoRA alpha");
            }
        }
        self.recount();
        self.reason = reason(&self, input, (!set.is_empty()).then_some(&set));
        self
    }

    /// Early stopping as the plan says: validation loss, `patience` evaluations, not before
    /// `min_steps`.
    pub fn early_stopping(&self) -> EarlyStopping {
        EarlyStopping {
            metric: "loss".into(),
            higher_is_better: false,
            patience: Some(self.patience as usize),
            min_delta: 0.0,
            min_steps: self.min_steps as usize,
        }
    }

    /// Steps per pass, in all, and the early-stopping floor, from rows, batch and epochs.
    fn recount(&mut self) {
        let batch = self.batch_size.max(1);
        self.steps_per_epoch = self.train_rows.div_ceil(batch).max(1);
        self.total_steps = self.steps_per_epoch * self.epochs.max(1);
        // Half the run on sets trained for many passes (facts take most of the run to settle),
        // one pass otherwise; never past the last step.
        self.min_steps = if self.epochs >= 6 {
            self.total_steps / 2
        } else {
            self.steps_per_epoch
        }
        .min(self.total_steps);
    }
}

/// Rows per step: small generation sets take small steps so they get enough updates.
fn batch_size(task: PlanTask, rows: usize) -> usize {
    match task {
        PlanTask::Classify => 16,
        PlanTask::Generate => match rows {
            0..=500 => 4,
            501..=5_000 => 8,
            _ => 16,
        },
    }
}

/// Passes over `rows` rows.
fn epochs(task: PlanTask, method: Method, rows: usize, batch: usize) -> usize {
    if rows >= LARGE_SET_ROWS {
        // One pass over 50,000 rows is thousands of updates; two over 10,000.
        return match (method, rows) {
            (Method::Features, _) => 3,
            (_, r) if r >= 50_000 => 1,
            _ => 2,
        };
    }
    match task {
        // As many passes as it takes to reach the target steps, at least two.
        PlanTask::Generate => SMALL_SET_TARGET_STEPS
            .div_ceil(rows.div_ceil(batch))
            .clamp(2, MAX_EPOCHS),
        // Measured on SST-2 (2,000 rows: MiniLM LoRA 85 %); a head on cached features is cheap
        // and needs more passes to converge.
        PlanTask::Classify => {
            let base = match rows {
                0..=500 => 10,
                501..=2_000 => 5,
                _ => 3,
            };
            if method == Method::Features {
                base * 4
            } else {
                base
            }
        }
    }
}

/// The peak learning rate for the task, method and model size.
fn learning_rate(task: PlanTask, method: Method, params: u64) -> f64 {
    match (task, method) {
        (PlanTask::Classify, Method::Full) => 2e-5,
        // Measured on SST-2 (2,000 rows, MiniLM 22M): 2e-4 reached 84.75 %, 1e-3 86.0 %.
        (PlanTask::Classify, Method::Lora | Method::Qlora) => match params {
            p if p < BILLION / 5 => 1e-3,
            _ => 4e-4,
        },
        (_, Method::Features) => 1e-3,
        (PlanTask::Generate, Method::Full) => match params {
            p if p < BILLION / 2 => 5e-5,
            p if p < 3 * BILLION => 2e-5,
            _ => 1e-5,
        },
        // Measured on bench/facts (SmolLM2-135M, 64 rows): 5e-4 answered 58 % of the paraphrased
        // questions after 160 steps, 1e-3 70 % (75 % after 240 steps).
        (PlanTask::Generate, Method::Lora | Method::Qlora) => match params {
            p if p < BILLION / 2 => 1e-3,
            p if p < 2 * BILLION => 5e-4,
            p if p < 7 * BILLION => 2e-4,
            _ => 1e-4,
        },
    }
}

/// LoRA rank: enough capacity for the facts of a generation set, more for larger sets;
/// classification needs little (a label is a few bits).
fn lora_rank(task: PlanTask, rows: usize) -> usize {
    match (task, rows) {
        (PlanTask::Classify, 0..=9_999) => 8,
        (PlanTask::Classify, _) => 16,
        (PlanTask::Generate, 0..=4_999) => 16,
        (PlanTask::Generate, 5_000..=49_999) => 32,
        (PlanTask::Generate, _) => 64,
    }
}

/// `5e-4` style, as people write learning rates (Rust's `{:e}` writes 0.0005 as `5e-4`).
fn rate(lr: f64) -> String {
    format!("{lr:e}")
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// The plain line: what was chosen, then why.
fn reason(p: &SchedulePlan, input: &PlanInput, user_set: Option<&Vec<&str>>) -> String {
    let mut what = format!(
        "{}: {}, {} (batch {}), learning rate {}",
        plural(p.train_rows, "training row", "training rows"),
        plural(p.epochs, "epoch", "epochs"),
        plural(p.total_steps, "step", "steps"),
        p.batch_size,
        rate(p.lr),
    );
    if let Some(r) = p.lora_rank {
        what.push_str(&format!(", LoRA rank {r} on every linear layer"));
    }
    let why = if let Some(set) = user_set {
        format!(
            "with your {} and the rest chosen from the data",
            set.join(", ")
        )
    } else if p.train_rows as usize >= LARGE_SET_ROWS {
        "because large sets learn in one or two passes and only overfit with more".to_string()
    } else {
        match input.task {
            PlanTask::Generate if p.epochs >= 6 => {
                "because small sets need many passes to learn their facts".to_string()
            }
            PlanTask::Generate => {
                "because a few passes over this many rows give enough updates".to_string()
            }
            PlanTask::Classify if input.method == Method::Features => {
                "because a head on frozen features is cheap and needs many passes".to_string()
            }
            PlanTask::Classify => {
                "because fewer rows need more passes to settle on the labels".to_string()
            }
        }
    };
    let stop = if p.min_steps > 0 {
        format!(
            "; early stopping on validation loss, not before step {}",
            thousands(p.min_steps)
        )
    } else {
        String::new()
    };
    format!("{what}, {why}{stop}.")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(rows: usize, task: PlanTask, method: Method) -> PlanInput {
        PlanInput {
            train_rows: rows,
            task,
            method,
            model_parameters: Some(134_515_008),
        }
    }

    fn gen(rows: usize) -> SchedulePlan {
        plan(&input(rows, PlanTask::Generate, Method::Lora))
    }

    #[test]
    fn a_thirty_row_faq_gets_many_passes_and_about_240_steps_with_its_reason() {
        let p = gen(24);
        assert_eq!(p.batch_size, 4);
        assert_eq!(p.epochs, 40);
        assert_eq!(p.total_steps, 240);
        assert_eq!(p.lr, 1e-3);
        assert_eq!(p.lora_rank, Some(16));
        assert_eq!(p.lora_alpha, Some(32.0));
        assert_eq!(p.lora_targets.as_deref(), Some("all-linear"));
        assert!(p.loss_on_answers_only);
        assert_eq!(
            p.reason,
            "24 training rows: 40 epochs, 240 steps (batch 4), learning rate 1e-3, LoRA rank 16 on every linear layer, because small sets need many passes to learn their facts; early stopping on validation loss, not before step 120."
        );
    }

    #[test]
    fn epochs_never_rise_as_the_data_grows_and_large_sets_stay_at_one_to_three() {
        for (task, method) in [
            (PlanTask::Generate, Method::Lora),
            (PlanTask::Generate, Method::Qlora),
            (PlanTask::Generate, Method::Full),
            (PlanTask::Classify, Method::Lora),
            (PlanTask::Classify, Method::Full),
            (PlanTask::Classify, Method::Features),
        ] {
            let sizes = [5, 30, 100, 400, 2_000, 9_999, 10_000, 50_000, 1_000_000];
            let e: Vec<u64> = sizes
                .iter()
                .map(|&n| plan(&input(n, task, method)).epochs)
                .collect();
            assert!(
                e.windows(2).all(|w| w[0] >= w[1]),
                "{task:?} {method:?}: {e:?}"
            );
            for (&n, &ep) in sizes.iter().zip(&e) {
                assert!(ep >= 1 && ep <= MAX_EPOCHS as u64, "{n} rows: {ep} epochs");
                if n >= LARGE_SET_ROWS {
                    assert!(
                        (1..=3).contains(&ep),
                        "{task:?} {method:?} {n} rows: {ep} epochs"
                    );
                }
            }
        }
        let big = gen(20_000);
        assert!(
            big.reason.contains("large sets learn in one or two passes"),
            "{}",
            big.reason
        );
    }

    #[test]
    fn small_generation_sets_reach_the_target_steps_whatever_their_size() {
        // From 24 rows (6 steps a pass) up; fewer rows reach the epoch cap first.
        for rows in [24, 37, 64, 120, 300] {
            let p = gen(rows);
            assert!(
                p.total_steps >= SMALL_SET_TARGET_STEPS as u64,
                "{rows} rows: {} steps",
                p.total_steps
            );
            // Whole passes round up by at most one pass.
            assert!(p.total_steps < SMALL_SET_TARGET_STEPS as u64 + p.steps_per_epoch + 1);
        }
        assert_eq!(gen(2).epochs, MAX_EPOCHS as u64, "a tiny set is capped");
    }

    #[test]
    fn learning_rates_follow_the_method_and_the_model_size() {
        let at = |task, method, params| {
            plan(&PlanInput {
                train_rows: 100,
                task,
                method,
                model_parameters: Some(params),
            })
            .lr
        };
        use Method::*;
        use PlanTask::*;
        let small = 135_000_000;
        assert_eq!(at(Generate, Lora, small), 1e-3);
        assert_eq!(at(Generate, Qlora, small), 1e-3);
        assert_eq!(at(Generate, Lora, 1_000_000_000), 5e-4);
        assert_eq!(at(Generate, Lora, 3_000_000_000), 2e-4);
        assert_eq!(at(Generate, Lora, 8_000_000_000), 1e-4);
        assert_eq!(at(Generate, Full, small), 5e-5);
        assert_eq!(at(Generate, Full, 1_500_000_000), 2e-5);
        assert_eq!(at(Generate, Full, 8_000_000_000), 1e-5);
        assert_eq!(at(Classify, Full, 22_000_000), 2e-5);
        assert_eq!(at(Classify, Lora, 22_000_000), 1e-3);
        assert_eq!(at(Classify, Lora, 335_000_000), 4e-4);
        assert_eq!(at(Classify, Features, 22_000_000), 1e-3);
        for (task, method) in [(Generate, Lora), (Generate, Qlora)] {
            for p in [100_000_000, 1_000_000_000] {
                let lr = at(task, method, p);
                assert!(
                    (1e-4..=1e-3).contains(&lr),
                    "LoRA on a 0.1-1B decoder: {lr}"
                );
            }
        }
        for p in [100_000_000, 1_000_000_000] {
            assert!((1e-5..=5e-5).contains(&at(Generate, Full, p)));
        }
        // A fresh head on frozen features takes steps at least as large as adapters do.
        assert!(at(Classify, Features, 1) >= at(Classify, Lora, 1));
        assert!(at(Classify, Features, 1) > at(Classify, Lora, 335_000_000));
    }

    #[test]
    fn lora_rank_grows_with_the_data_and_only_adapter_methods_have_one() {
        let r: Vec<u64> = [100, 5_000, 60_000]
            .iter()
            .map(|&n| gen(n).lora_rank.unwrap_or(0))
            .collect();
        assert_eq!(r, vec![16, 32, 64]);
        assert_eq!(
            plan(&input(100, PlanTask::Generate, Method::Full)).lora_rank,
            None
        );
        assert_eq!(
            plan(&input(100, PlanTask::Classify, Method::Lora)).lora_rank,
            Some(8)
        );
        let p = plan(&input(100, PlanTask::Classify, Method::Features));
        assert_eq!((p.lora_rank, p.lora_targets), (None, None));
        assert!(!p.loss_on_answers_only);
    }

    #[test]
    fn early_stopping_cannot_act_before_half_a_long_run_or_the_first_pass() {
        let small = gen(24);
        assert_eq!(small.min_steps, small.total_steps / 2);
        let es = small.early_stopping();
        assert_eq!((es.metric.as_str(), es.higher_is_better), ("loss", false));
        assert_eq!(es.min_steps, 120);
        let large = gen(20_000);
        assert_eq!(large.min_steps, large.steps_per_epoch);
        assert!(large.min_steps <= large.total_steps);
    }

    #[test]
    fn the_users_settings_win_and_the_reason_says_so() {
        let i = input(24, PlanTask::Generate, Method::Lora);
        let p = plan(&i).with_overrides(
            &i,
            &Overrides {
                epochs: Some(3),
                lr: Some(1e-4),
                lora_rank: Some(4),
                ..Default::default()
            },
        );
        assert_eq!((p.epochs, p.total_steps, p.lr), (3, 18, 1e-4));
        assert_eq!((p.lora_rank, p.lora_alpha), (Some(4), Some(8.0)));
        assert_eq!(p.min_steps, 6, "a short run may stop after its first pass");
        assert!(
            p.reason.contains(
                "with your epochs, learning rate, LoRA rank and the rest chosen from the data"
            ),
            "{}",
            p.reason
        );
        // A rank asked of a method without adapters changes nothing.
        let f = input(24, PlanTask::Generate, Method::Full);
        let q = plan(&f).with_overrides(
            &f,
            &Overrides {
                lora_rank: Some(4),
                ..Default::default()
            },
        );
        assert_eq!(q.lora_rank, None);
        assert_eq!(q, plan(&f));
        // The plan's own values given back (the app's form filled from it) are not "yours".
        let p = plan(&i);
        let same = p.clone().with_overrides(
            &i,
            &Overrides {
                epochs: Some(p.epochs as usize),
                lr: Some(p.lr),
                batch_size: Some(p.batch_size as usize),
                lora_rank: p.lora_rank.map(|r| r as usize),
                lora_alpha: p.lora_alpha,
            },
        );
        assert_eq!(same, p);
    }

    #[test]
    fn the_plan_is_the_same_for_the_same_input_and_an_empty_set_does_not_divide_by_zero() {
        assert_eq!(gen(64), gen(64));
        let p = gen(0);
        assert!(p.total_steps >= 1 && p.steps_per_epoch >= 1);
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
