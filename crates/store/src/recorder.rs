//! Recording a run while it trains: the one object the facade feeds the engine's events into. It
//! marks the run running in this process, buffers step metrics (batched writes), writes evaluation
//! metrics at once, beats the heartbeat, records checkpoints only after flushing the metrics before
//! them, and ends the run with its final status. It knows nothing of the engine's event type.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::{
    clock, ArtefactKind, ArtefactRecord, MetricPoint, MetricWriter, Result, RunRecord, RunStatus,
    Split, Store,
};

/// How often the heartbeat is written while steps arrive.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(5);

/// Records one run's progress into the store.
#[derive(Debug)]
pub struct RunRecorder<'s> {
    store: &'s Store,
    run_id: String,
    writer: MetricWriter<'s>,
    last_heartbeat: Instant,
}

impl<'s> RunRecorder<'s> {
    /// Starts (or restarts) `run_id` in this process.
    pub fn start(store: &'s Store, run_id: &str) -> Result<Self> {
        Self::start_at(store, run_id, clock::now_ms())
    }

    /// Starts `run_id` in this process, its first start dated `started_at` (ms since the epoch;
    /// see [`Store::start_run_at`]).
    pub fn start_at(store: &'s Store, run_id: &str, started_at: i64) -> Result<Self> {
        store.start_run_at(run_id, std::process::id(), started_at)?;
        Ok(RunRecorder {
            store,
            run_id: run_id.to_string(),
            writer: store.metric_writer(run_id),
            last_heartbeat: Instant::now(),
        })
    }

    /// Resumes an interrupted (or paused) run from the checkpoint taken at `from_step`: points
    /// recorded after that step are removed, because the resumed run records those steps again.
    pub fn resume(store: &'s Store, run_id: &str, from_step: u64) -> Result<Self> {
        let recorder = Self::start(store, run_id)?;
        store.truncate_metrics_after(run_id, from_step)?;
        Ok(recorder)
    }

    /// The run being recorded.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Buffers training-step metrics (`loss`, `lr`, `grad_norm`, `tokens_per_s` ...).
    pub fn step(&mut self, step: u64, values: &[(&str, f64)]) -> Result<()> {
        let at = clock::now_ms();
        for (name, value) in values {
            self.writer.push(MetricPoint {
                step,
                split: Split::Train,
                name: (*name).to_string(),
                value: *value,
                at,
            })?;
        }
        if self.last_heartbeat.elapsed() >= HEARTBEAT_EVERY {
            self.store.heartbeat(&self.run_id)?;
            self.last_heartbeat = Instant::now();
        }
        Ok(())
    }

    /// Records evaluation metrics (validation or test) and writes everything buffered now.
    pub fn eval(&mut self, step: u64, split: Split, values: &[(&str, f64)]) -> Result<()> {
        let at = clock::now_ms();
        for (name, value) in values {
            self.writer.push(MetricPoint {
                step,
                split,
                name: (*name).to_string(),
                value: *value,
                at,
            })?;
        }
        self.flush()
    }

    /// Records a complete checkpoint (or other artefact) after writing the metrics that precede it,
    /// so that a resume from it finds its curve up to that step.
    pub fn artefact(
        &mut self,
        kind: ArtefactKind,
        path: &Path,
        step: Option<u64>,
    ) -> Result<ArtefactRecord> {
        self.flush()?;
        let record = self.store.record_artefact(&self.run_id, kind, path, step)?;
        self.store.heartbeat(&self.run_id)?;
        self.last_heartbeat = Instant::now();
        Ok(record)
    }

    /// Writes buffered metrics and the heartbeat.
    pub fn flush(&mut self) -> Result<()> {
        self.writer.flush()?;
        self.store.heartbeat(&self.run_id)?;
        self.last_heartbeat = Instant::now();
        Ok(())
    }

    /// Pauses the run (its process keeps it; the heartbeat keeps it from reading as interrupted).
    pub fn pause(&mut self) -> Result<RunRecord> {
        self.flush()?;
        self.store
            .set_run_status(&self.run_id, RunStatus::Paused, None)
    }

    /// Continues a paused run.
    pub fn unpause(&mut self) -> Result<RunRecord> {
        self.store.start_run(&self.run_id, std::process::id())
    }

    /// Ends the run: `Finished`, `Failed` (with the error) or `Cancelled`.
    pub fn finish(mut self, status: RunStatus, error: Option<&str>) -> Result<RunRecord> {
        self.flush()?;
        self.store.set_run_status(&self.run_id, status, error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::temp_store;

    fn run(store: &Store) -> String {
        store
            .create_run(&crate::NewRun {
                name: None,
                task: "generate".into(),
                method: "qlora".into(),
                model_id: None,
                model_ref: "smol.gguf".into(),
                dataset_id: None,
                dataset_ref: "qa.csv".into(),
                data_fingerprint: None,
                config: serde_json::json!({}),
                device: "cpu".into(),
                hardware: serde_json::json!({}),
                versions: serde_json::json!({}),
                seed: 0,
                split: serde_json::json!({}),
                primary_metric: None,
                parent_run: None,
            })
            .unwrap()
            .id
    }

    #[test]
    fn a_resumed_run_records_the_steps_after_its_checkpoint_once() {
        let (_dir, store) = temp_store();
        let id = run(&store);
        let mut r = RunRecorder::start(&store, &id).unwrap();
        for step in 1..=15 {
            r.step(step, &[("loss", 1.0)]).unwrap();
        }
        r.flush().unwrap();
        // The process dies after step 15; the last checkpoint was at step 10.
        store.mark_interrupted(&id, "killed").unwrap();
        let mut r = RunRecorder::resume(&store, &id, 10).unwrap();
        for step in 11..=20 {
            r.step(step, &[("loss", 0.5)]).unwrap();
        }
        r.eval(20, Split::Validation, &[("perplexity", 3.0)])
            .unwrap();
        let done = r.finish(RunStatus::Finished, None).unwrap();
        assert_eq!(done.status, RunStatus::Finished);
        let steps: Vec<u64> = store
            .metric_series(&id, "loss", Split::Train)
            .unwrap()
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        assert_eq!(steps, (1..=20).collect::<Vec<_>>());
        assert_eq!(
            store
                .metric_series(&id, "perplexity", Split::Validation)
                .unwrap(),
            vec![(20, Some(3.0))]
        );
    }

    #[test]
    fn a_live_run_wrongly_taken_for_dead_is_reclaimed_by_its_next_heartbeat() {
        let (_dir, store) = temp_store();
        let id = run(&store);
        let mut r = RunRecorder::start(&store, &id).unwrap();
        // Another process saw no heartbeat for too long (a very long evaluation).
        store.mark_interrupted(&id, "silent").unwrap();
        r.step(1, &[("loss", 1.0)]).unwrap();
        let done = r.finish(RunStatus::Finished, None).unwrap();
        assert_eq!(done.status, RunStatus::Finished);
        assert_eq!(done.error, None);
    }

    #[test]
    fn a_checkpoint_is_recorded_after_the_metrics_before_it() {
        let (_dir, store) = temp_store();
        let id = run(&store);
        let mut r = RunRecorder::start(&store, &id).unwrap();
        r.step(1, &[("loss", 2.0)]).unwrap();
        let path = store.run_dir(&id).join("checkpoint-1");
        crate::files::write_atomic(&path, b"weights").unwrap();
        r.artefact(ArtefactKind::Checkpoint, &path, Some(1))
            .unwrap();
        assert_eq!(
            store
                .metric_series(&id, "loss", Split::Train)
                .unwrap()
                .len(),
            1
        );
        assert_eq!(store.last_checkpoint(&id).unwrap().unwrap().step, Some(1));
        let failed = r.finish(RunStatus::Failed, Some("out of memory")).unwrap();
        assert_eq!(failed.error.as_deref(), Some("out of memory"));
    }
}
