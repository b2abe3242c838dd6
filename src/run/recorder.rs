//! Recording a training run's event stream in the run history: the bridge between the engine's
//! `TrainEvent` (which knows nothing of SQLite) and the store's `RunRecorder` (which knows nothing
//! of the engine).
//!
//! It promises: step metrics are buffered (a fast loop is not slowed), evaluation metrics are
//! written at once, a checkpoint is recorded only after the engine reported it written (the engine
//! writes atomically, so a half-written file is never recorded), and the run ends with the status
//! the stream ended with (finished, cancelled, failed). A history write that fails does not stop
//! the training (the weights on disk matter more); the first such error is kept and reported.

use std::path::{Path, PathBuf};

use tunesmith_engine::train::checkpoint::BEST_FILE;
use tunesmith_engine::train::TrainEvent;
use tunesmith_store::{ArtefactKind, RunRecorder, RunStatus, Split, StoreError};

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
            TrainEvent::Started { .. } => Ok(()),
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
