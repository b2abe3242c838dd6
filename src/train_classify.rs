//! `train --task classify`: fine-tuning a BERT-family encoder on text/label rows (`full`,
//! `features`, `lora`); new, re-run or resumed after a crash, as the plan says.
//!
//! It reads and checks the data (the data crate's doctor and honest split, the same refusal as
//! `tunesmith data inspect`), loads the encoder for the method (see
//! [`crate::session::EncoderSession`]) and trains with the engine's loop in the run's folder (see
//! [`crate::run`]).

use tunesmith_engine::device;
use tunesmith_engine::train::{CancelHandle, Method, PrepStage};

use crate::session::EncoderSession;
use crate::home::Home;
use crate::run::preparing::Preparation;
use crate::run::{recorder, RunEvent, TrainPlan, TrainSummary};
use crate::Result;

/// Trains a classifier as `plan` says (its task is `classify`), reporting every event to `on_event`.
pub(crate) fn train(
    home: &Home,
    plan: &TrainPlan,
    cancel: CancelHandle,
    on_event: &mut dyn FnMut(&RunEvent),
) -> Result<TrainSummary> {
    let mut prep = Preparation::begin(plan);
    prep.stage(PrepStage::ReadingData, on_event);
    let (dataset, split) = plan.load_data()?;
    let labels = dataset.classes.clone();
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
    let encoder = EncoderSession::open(plan)?;
    prep.stage(PrepStage::Tokenising, on_event);
    let (examples, _) = encoder.examples(&dataset, &labels)?;
    let pick = |b: usize| -> Vec<_> {
        split
            .indices(b)
            .into_iter()
            .map(|i| examples[i].clone())
            .collect()
    };
    let (mut train_set, mut val_set) = (pick(0), pick(1));
    let test_len = split.indices(2).len();

    let features = plan.method() == Method::Features;
    let mut task = encoder.task(plan, &labels, plan.backbone(), features)?;
    if features {
        // One count over both sets: the user waits for the sum.
        let (n_train, all) = (train_set.len(), train_set.len() + val_set.len());
        prep.stage(PrepStage::CachingFeatures, on_event);
        let stage = PrepStage::CachingFeatures;
        task.cache_features(&mut train_set, &mut |done, _| {
            prep.count(stage, done, all, on_event)
        })?;
        task.cache_features(&mut val_set, &mut |done, _| {
            prep.count(stage, n_train + done, all, on_event)
        })?;
    }

    let config = plan.train_config(train_set.len());
    // The run history gives the run its id and folder; every event is recorded there too.
    let store = crate::runs::open_store(home)?;
    let manifest = plan.manifest(
        &config,
        labels,
        &dataset,
        &split,
        [train_set.len(), val_set.len(), test_len],
        device::name(&encoder.device),
    );
    let run = recorder::open(
        &store,
        plan,
        manifest,
        tunesmith_store::PrimaryMetric {
            name: "accuracy".into(),
            split: tunesmith_store::Split::Validation,
            goal: tunesmith_store::Goal::Max,
        },
        prep.started_ms(),
    )?;
    let (run_id, dir) = (run.id.clone(), run.folder.dir().to_path_buf());
    let out = recorder::drive(
        run, &mut task, &train_set, &val_set, &config, cancel, None, on_event,
    )?;
    Ok(TrainSummary {
        run_id,
        dir,
        status: out.status,
        metrics: out.metrics,
        schedule: Some(schedule),
        fact_recall: None,
        forgetting: None,
    })
}
