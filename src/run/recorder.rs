//! A training session recorded in the run history: opening the run (a new one, a re-run, or the
//! one being resumed), driving the engine's loop on its folder, and the bridge between the engine's
//! `TrainEvent` (which knows nothing of SQLite) and the store's `RunRecorder` (which knows nothing
//! of the engine). Classification and generation train through [`open`] and [`drive`] alike.
//!
//! It promises: step metrics are buffered (a fast loop is not slowed), evaluation metrics are
//! written at once, a checkpoint is recorded only after the engine reported it written (the engine
//! writes atomically, so a half-written file is never recorded), and the run ends with the status
//! the stream ended with (finished, cancelled, failed). A history write that fails does not stop
//! the training (the weights on disk matter more); the first such error is kept and reported.

use std::path::{Path, PathBuf};

use tunesmith_engine::train::checkpoint::BEST_FILE;
use tunesmith_engine::train::{
    train as run_loop, CancelHandle, TrainConfig, TrainEvent, TrainOptions, TrainOutcome, TrainTask,
};
use tunesmith_store::{
    ArtefactKind, PrimaryMetric, RunRecorder, RunStatus, Split, Store, StoreError,
};

use super::folder::RunFolder;
use super::manifest::RunManifest;
use super::plan::{Start, TrainPlan};
use super::request::RunEvent;
use crate::Result;

/// A run opened in the history for a training session.
pub(crate) struct OpenedRun<'s> {
    /// The run's id.
    pub id: String,
    /// Its folder.
    pub folder: RunFolder,
    recorder: RunRecorder<'s>,
    resume: bool,
}

/// Opens the run `plan` trains in `store`: for a resume, the run itself, its history continued from
/// the checkpoint's step; otherwise a new run (pointing back at its parent for a re-run) created
/// from `manifest`, whose `run.json` is written before the first step, and whose recorded start is
/// `started_ms` (when its preparation began).
pub(crate) fn open<'s>(
    store: &'s Store,
    plan: &TrainPlan,
    mut manifest: RunManifest,
    primary_metric: PrimaryMetric,
    started_ms: i64,
) -> Result<OpenedRun<'s>> {
    let parent = match plan.start() {
        Start::Resume { run_id, from_step } => {
            return Ok(OpenedRun {
                id: run_id.clone(),
                folder: RunFolder::new(store.run_dir(run_id)),
                recorder: RunRecorder::resume(store, run_id, *from_step)?,
                resume: true,
            })
        }
        Start::Rerun { parent } => Some(parent.clone()),
        Start::New => None,
    };
    let created = store.create_run(&manifest.new_run(primary_metric, parent)?)?;
    let folder = RunFolder::new(store.run_dir(&created.id));
    manifest.run_id = created.id.clone();
    manifest.write(folder.dir())?;
    Ok(OpenedRun {
        recorder: RunRecorder::start_at(store, &created.id, started_ms)?,
        id: created.id,
        folder,
        resume: false,
    })
}

/// Runs the engine's loop for `run` on its folder (continuing from its checkpoint when resumed),
/// feeding every event to the history and, tagged with the run id, to `on_event`. `after_started`
/// is reported and recorded right after the `started` event (a base model's numbers at step 0).
#[allow(clippy::too_many_arguments)]
pub(crate) fn drive<T: TrainTask>(
    run: OpenedRun<'_>,
    task: &mut T,
    train_set: &[T::Example],
    val_set: &[T::Example],
    config: &TrainConfig,
    cancel: CancelHandle,
    mut after_started: Option<TrainEvent>,
    on_event: &mut dyn FnMut(&RunEvent),
) -> Result<TrainOutcome> {
    let opts = TrainOptions {
        checkpoint_dir: Some(run.folder.checkpoints()),
        resume: run.resume,
        cancel,
    };
    let run_id = run.id;
    let mut history = EventRecorder::new(run.recorder, opts.checkpoint_dir.as_deref());
    let out = run_loop(task, train_set, val_set, config, &opts, &mut |e| {
        history.record(e);
        on_event(&RunEvent::new(&run_id, e.clone()));
        if matches!(e, TrainEvent::Started { .. }) {
            if let Some(extra) = after_started.take() {
                history.record(&extra);
                on_event(&RunEvent::new(&run_id, extra));
            }
        }
    });
    let out = match out {
        Ok(out) => out,
        Err(e) => {
            history.fail(&e.to_string());
            return Err(e.into());
        }
    };
    if let Some(e) = history.into_error() {
        return Err(e.into());
    }
    Ok(out)
}

/// Feeds one run's events into the history.
#[derive(Debug)]
pub struct EventRecorder<'s> {
    recorder: Option<RunRecorder<'s>>,
    best: Option<PathBuf>,
    error: Option<StoreError>,
}

impl<'s> EventRecorder<'s> {
    /// Records through `recorder` (started or resumed by the caller); `checkpoint_dir` is where
    /// the engine keeps the run's best weights.
    pub fn new(recorder: RunRecorder<'s>, checkpoint_dir: Option<&Path>) -> Self {
        EventRecorder {
            recorder: Some(recorder),
            best: checkpoint_dir.map(|d| d.join(BEST_FILE)),
            error: None,
        }
    }

    /// Records one event. After a history error, nothing more is written (the error is kept).
    pub fn record(&mut self, event: &TrainEvent) {
        if self.error.is_some() {
            return;
        }
        if let Err(e) = self.try_record(event) {
            self.error = Some(e);
        }
    }

    fn try_record(&mut self, event: &TrainEvent) -> tunesmith_store::Result<()> {
        let Some(rec) = self.recorder.as_mut() else {
            return Ok(());
        };
        match event {
            TrainEvent::Preparing { .. } | TrainEvent::Started { .. } => Ok(()),
            TrainEvent::Step {
                step,
                epoch,
                loss,
                lr,
                grad_norm,
                tokens_per_s,
                ..
            } => rec.step(
                *step as u64,
                &[
                    ("loss", *loss),
                    ("lr", *lr),
                    ("grad_norm", *grad_norm),
                    ("tokens_per_s", *tokens_per_s),
                    ("epoch", *epoch as f64),
                ],
            ),
            TrainEvent::Eval { step, metrics, .. } => {
                let values: Vec<(&str, f64)> =
                    metrics.iter().map(|(k, v)| (k.as_str(), *v)).collect();
                rec.eval(*step as u64, Split::Validation, &values)
            }
            TrainEvent::Checkpoint { step, path } => rec
                .artefact(ArtefactKind::Checkpoint, path, Some(*step as u64))
                .map(|_| ()),
            TrainEvent::Finished { .. } => self.end(RunStatus::Finished, None),
            TrainEvent::Cancelled { .. } => self.end(RunStatus::Cancelled, None),
            TrainEvent::Failed { error } => self.end(RunStatus::Failed, Some(error)),
        }
    }

    /// Records the best weights (written atomically by the engine when an evaluation improved)
    /// and ends the run with `status`.
    fn end(&mut self, status: RunStatus, error: Option<&str>) -> tunesmith_store::Result<()> {
        let Some(mut rec) = self.recorder.take() else {
            return Ok(());
        };
        if let Some(best) = self.best.as_ref().filter(|p| p.is_file()) {
            rec.artefact(ArtefactKind::BestCheckpoint, best, None)?;
        }
        rec.finish(status, error).map(|_| ())
    }

    /// Ends the run as failed when the engine returned an error without a `Failed` event (a run
    /// already ended is left as it is).
    pub fn fail(&mut self, error: &str) {
        if let Some(rec) = self.recorder.take() {
            if let Err(e) = rec.finish(RunStatus::Failed, Some(error)) {
                self.error.get_or_insert(e);
            }
        }
    }

    /// The first history error, if any.
    pub fn into_error(self) -> Option<StoreError> {
        self.error
    }
}
