//! `train --task generate`: supervised fine-tuning of a Llama-family decoder (a model folder or a
//! `.gguf` file) on prompt/response rows, with full fine-tuning, LoRA or QLoRA; new, re-run or
//! resumed after a crash, as the plan says.
//!
//! Only the response tokens are learned (see [`crate::session::DecoderSession`]). Validation reports the held-out
//! response loss and perplexity; for a new run the untouched base model's numbers on the same rows
//! are measured first, sent as an `eval` event at step 0 and returned as `base_loss` /
//! `base_perplexity` (a resumed run recorded them when it started). The run folder gets `run.json`,
//! `checkpoints/`, and for LoRA/QLoRA the adapter in PEFT's format under `adapter/`.
//!
//! "Did it learn?": the validation questions are answered greedily before training (the base) and
//! after (the kept weights), each answer checked for its reference's key facts; the result is the
//! summary's `fact_recall` (see [`crate::fact_recall`]) with a plain warning when it is low. The
//! schedule (epochs, steps, learning rate, LoRA rank, early stopping) is chosen from the data
//! ([`crate::train_schedule`]) and returned with its reason as the summary's `schedule`.
//!
//! "Did it forget?": unless the request turns it off, the base (cached per base model) and the
//! kept weights answer the built-in general probes and read a general text; the result is the
//! summary's `forgetting` (see [`crate::forgetting`]), kept in the run's folder.
//!
//! Resume promises what classification's does: the loop restores the trainable weights (LoRA
//! factors, or every weight for full fine-tuning), the optimiser, the schedule, the RNG and the data
//! position from the checkpoint, so the loss curve continues as an uninterrupted run's would.

use tunesmith_engine::device;
use tunesmith_engine::task::{SftExample, SftTask};
use tunesmith_engine::train::{CancelHandle, Method, Metrics, PrepStage, TrainEvent, TrainStatus};
use tunesmith_store::{ArtefactKind, MetricPoint, Split};

use crate::home::Home;
use crate::run::preparing::Preparation;
use crate::run::{recorder, RunEvent, Start, TrainPlan, TrainSummary};
use crate::session::DecoderSession;
use crate::{Error, Result};

/// Trains a decoder as `plan` says (its task is `generate`), reporting every event to `on_event`.
pub(crate) fn train(
    home: &Home,
    plan: &TrainPlan,
    cancel: CancelHandle,
    on_event: &mut dyn FnMut(&RunEvent),
) -> Result<TrainSummary> {
    let mut prep = Preparation::begin(plan);
    prep.stage(PrepStage::ReadingData, on_event);
    let (dataset, split) = plan.load_data()?;
    let device = device::open(plan.request().device)?;
    // The schedule (and LoRA rank) chosen from the data, before the adapters are built.
    let mut plan = plan.clone();
    let schedule = plan.settle(split.indices(0).len());
    let batch = plan.train_config(split.indices(0).len()).batch_size;
    // Activation checkpointing decided once for this batch (auto: on when it would not fit
    // otherwise), so the memory check below estimates the run as it will train.
    plan.settle_checkpointing(home, batch);
    let plan = &plan;
    // Refused here, before the model is loaded, when it would not fit in the memory free now.
    crate::memory_check::before_training(home, plan, batch)?;

    prep.stage(PrepStage::LoadingModel, on_event);
    let decoder = DecoderSession::of_plan(plan, plan.backbone(), &device)?;
    prep.stage(PrepStage::Tokenising, on_event);
    let examples = decoder.examples(&dataset)?;
    // The task owns the model while it trains; a session without one answers the questions
    // before and after with the same tokenizer and template.
    let (mut model, pad_id, answerer) = decoder.into_parts();
    model.set_activation_checkpointing(plan.activation_checkpointing());
    let pick = |b: usize| -> Vec<SftExample> {
        split
            .indices(b)
            .into_iter()
            .map(|i| examples[i].clone())
            .collect()
    };
    let (train_set, val_set) = (pick(0), pick(1));
    let test_len = split.indices(2).len();
    if train_set.is_empty() {
        return Err(Error::invalid(format!(
            "{} has no rows left for training after the split; add rows or lower --val-fraction/--test-fraction",
            plan.request().data.display()
        )));
    }

    // "Did it learn?": the held-out questions answered greedily before training (the base: LoRA
    // factors start at zero) and after, checked for their reference's key facts.
    let fact_rows: Vec<usize> = split
        .indices(1)
        .into_iter()
        .take(crate::fact_recall::MAX_QUESTIONS)
        .collect();
    let answer_tokens = crate::fact_recall::answer_tokens(&val_set);
    let resuming = matches!(plan.start(), Start::Resume { .. });
    if !fact_rows.is_empty() || !resuming {
        prep.stage(PrepStage::MeasuringBase, on_event);
    }
    // Answered on a resume too (the model is the base until the loop restores the checkpoint), so
    // a run continued or trained longer still reports what it learned.
    let base_answers = if fact_rows.is_empty() {
        Vec::new()
    } else {
        answerer.answers_of(&model, &dataset, &fact_rows, answer_tokens)?
    };
    let mut task = SftTask::new(model, pad_id);
    // The untouched base on the same held-out rows, so the user sees what training changed; a
    // resumed run measured it when it started (its history has it at step 0).
    let base = if val_set.is_empty() || resuming {
        None
    } else {
        Some(task.report(&val_set)?)
    };
    // "Did it forget?": the untouched model's general answers and general-text perplexity, once
    // per base model (cached); the same after training. The model is still the base here (LoRA
    // factors start at zero; a resume restores its checkpoint in the loop).
    let forgetting_base = if plan.request().forgetting_check {
        let probes = crate::forgetting::ProbeSet::builtin()?;
        let key = crate::forgetting::base_key(plan, &device, &probes);
        let (m, cached) = crate::forgetting::base_measurement(home, &key, &probes, || {
            crate::forgetting::measure(&answerer, &task, &probes)
        })?;
        Some((probes, m, cached))
    } else {
        None
    };

    let config = plan.train_config(train_set.len());
    let store = crate::runs::open_store(home)?;
    let manifest = plan.manifest(
        &config,
        Vec::new(),
        &dataset,
        &split,
        [train_set.len(), val_set.len(), test_len],
        device::name(&device),
    );
    let run = recorder::open(
        &store,
        plan,
        manifest,
        tunesmith_store::PrimaryMetric {
            name: "perplexity".into(),
            split: tunesmith_store::Split::Validation,
            goal: tunesmith_store::Goal::Min,
        },
        prep.started_ms(),
    )?;
    let (run_id, folder) = (run.id.clone(), run.folder.clone());
    // The untouched model's held-out numbers, reported as an evaluation at step 0 right after the
    // `started` event (the event stream always opens with `started`), before any update.
    let base_eval = base.as_ref().map(|b| TrainEvent::Eval {
        step: 0,
        metrics: Metrics::from([
            ("loss".to_string(), b.loss),
            ("perplexity".to_string(), b.perplexity),
        ]),
        best: false,
    });
    let out = recorder::drive(
        run, &mut task, &train_set, &val_set, &config, cancel, base_eval, on_event,
    )?;
    if plan.method() != Method::Full {
        let adapter = folder.adapter();
        task.save_adapter(&adapter, plan.lora(), &plan.model().display().to_string())?;
        // Recorded in the history so `chat --run` and `compare` find it.
        store.record_artefact(&run_id, ArtefactKind::Adapter, &adapter, None)?;
    }
    let mut metrics = out.metrics;
    if let Some(b) = base {
        metrics.insert("base_loss".into(), b.loss);
        metrics.insert("base_perplexity".into(), b.perplexity);
    }
    let fact_recall = if base_answers.is_empty() || out.status != TrainStatus::Finished {
        None
    } else {
        let fine = answerer.answers_of(task.model(), &dataset, &fact_rows, answer_tokens)?;
        let questions = crate::fact_recall::questions(&dataset, &fact_rows);
        let r = crate::fact_recall::report(&questions, &base_answers, &fine, "held-out questions");
        metrics.insert("fact_recall".into(), r.fine_tuned as f64);
        metrics.insert("fact_recall_base".into(), r.base as f64);
        metrics.insert("fact_recall_total".into(), r.total as f64);
        // Kept in the history beside the validation loss, so History shows "did it learn?" too.
        let at = out.steps as u64;
        let point = |name: &str, v: u64| MetricPoint::now(at, Split::Validation, name, v as f64);
        store.record_metrics(
            &run_id,
            &[
                point("fact_recall", r.fine_tuned),
                point("fact_recall_base", r.base),
                point("fact_recall_total", r.total),
            ],
        )?;
        Some(r)
    };
    let forgetting = match forgetting_base {
        Some((probes, base, cached)) if out.status == TrainStatus::Finished => {
            let fine = crate::forgetting::measure(&answerer, &task, &probes)?;
            let report = crate::forgetting::report_of(&run_id, &probes, &base, &fine, cached);
            crate::forgetting::record(folder.dir(), &report)?;
            Some(report)
        }
        _ => None,
    };
    Ok(TrainSummary {
        run_id,
        dir: folder.dir().to_path_buf(),
        status: out.status,
        metrics,
        schedule: Some(schedule),
        fact_recall,
        forgetting,
    })
}
