//! Fine-tuning a model on a spreadsheet: the app's `train`, `resume` and `rerun` actions, shared by
//! the CLI and the UI, for both tasks.
//!
//! Each action makes a plan (see [`crate::run`]): a new request is resolved once
//! ([`TrainPlan::resolve`]); a past run is read back from its folder, to continue it from its last
//! checkpoint or train it again as a new run. The plan then goes to the task's trainer
//! (classification: [`crate::train_classify`], generation: [`crate::train_generate`]), which keeps
//! the run's files in its folder under the home folder and passes every engine event on, tagged
//! with the run id.

use tunesmith_data::Task;
use tunesmith_store::RunStatus;

/// Stops (or pauses) a training run between steps; cancelling writes a checkpoint to resume from.
pub use tunesmith_engine::train::CancelHandle;

pub use crate::run::{RunEvent, RunManifest, TrainPlan, TrainRequest, TrainSummary};

use crate::home::Home;
use crate::run::find_run;
use crate::{Error, Result};

/// Trains as `req` asks, reporting every event to `on_event`. A hub id is resolved (pulled when
/// missing and online) first; [`start`] takes a plan already resolved.
pub fn train(
    home: &Home,
    req: &TrainRequest,
    cancel: CancelHandle,
    on_event: &mut dyn FnMut(&RunEvent),
) -> Result<TrainSummary> {
    let plan = TrainPlan::resolve(req, &mut |_| {})?;
    start(home, &plan, cancel, on_event)
}

/// Trains as `plan` says (a new run, a re-run or a resume), reporting every event to `on_event`.
pub fn start(
    home: &Home,
    plan: &TrainPlan,
    cancel: CancelHandle,
    on_event: &mut dyn FnMut(&RunEvent),
) -> Result<TrainSummary> {
    match plan.task() {
        Task::Classify => crate::train_classify::train(home, plan, cancel, on_event),
        Task::Generate => crate::train_generate::train(home, plan, cancel, on_event),
    }
}

/// Trains run `query` again from the start as a new run (same settings, seed and split), after
/// checking that its data file still has the recorded fingerprint.
pub fn rerun(
    home: &Home,
    query: &str,
    cancel: CancelHandle,
    on_event: &mut dyn FnMut(&RunEvent),
) -> Result<TrainSummary> {
    let run = find_run(home, query)?;
    let plan = TrainPlan::rerun(&run);
    crate::run::model_gone::require_model(&run.id, plan.model())?;
    start(home, &plan, cancel, on_event)
}

/// "Train longer": a finished run `query` continues from its last checkpoint for `more_epochs` more
/// passes over the same rows (`None`: half as many again as it planned, at least one), as the same run (its history goes on from that step; the learning
/// rate schedule stretches to the new end). For a run that answered too few held-out questions
/// with the right fact. Its `run.json` records the new length first, so a crash on the way is
/// resumed with `runs resume` like any other run.
pub fn longer(
    home: &Home,
    query: &str,
    more_epochs: Option<usize>,
    cancel: CancelHandle,
    on_event: &mut dyn FnMut(&RunEvent),
) -> Result<TrainSummary> {
    if more_epochs == Some(0) {
        return Err(Error::invalid(
            "training longer needs at least 1 more epoch",
        ));
    }
    let from_step = {
        let store = crate::runs::open_store(home)?;
        let run = store.resolve_run(query)?;
        if run.status != RunStatus::Finished {
            return Err(Error::invalid(format!(
                "run {} has not finished; `tunesmith runs resume {}` continues it to its planned end first",
                run.id, run.id
            )));
        }
        store
            .last_checkpoint(&run.id)?
            .and_then(|a| a.step)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "run {} kept no checkpoint to continue from; `tunesmith runs rerun {}` trains it again",
                    run.id, run.id
                ))
            })?
    };
    let mut run = find_run(home, query)?;
    let more_epochs = more_epochs.unwrap_or(run.record.config.epochs.div_ceil(2).max(1));
    run.record.extend_by(more_epochs);
    run.record.write(&run.dir)?;
    start(home, &TrainPlan::resume(&run, from_step), cancel, on_event)
}

/// Continues run `query` (interrupted, cancelled or failed) from its last checkpoint, with the
/// settings, data and seed it started with; its history continues from that checkpoint's step.
pub fn resume(
    home: &Home,
    query: &str,
    cancel: CancelHandle,
    on_event: &mut dyn FnMut(&RunEvent),
) -> Result<TrainSummary> {
    let from_step = {
        let store = crate::runs::open_store(home)?;
        let run = store.resolve_run(query)?;
        match run.status {
            RunStatus::Finished => {
                return Err(Error::invalid(format!(
                    "run {} already finished; `tunesmith runs rerun {}` trains it again from the start",
                    run.id, run.id
                )))
            }
            RunStatus::Running => {
                return Err(Error::invalid(format!(
                    "run {} is still running in another Tunesmith process; wait for it or cancel it first",
                    run.id
                )))
            }
            _ => {}
        }
        store
            .last_checkpoint(&run.id)?
            .and_then(|a| a.step)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "run {} stopped before its first checkpoint, so there is nothing to resume from; `tunesmith runs rerun {}` starts it again",
                    run.id, run.id
                ))
            })?
    };
    let run = find_run(home, query)?;
    let plan = TrainPlan::resume(&run, from_step);
    crate::run::model_gone::require_model(&run.id, plan.model())?;
    start(home, &plan, cancel, on_event)
}
