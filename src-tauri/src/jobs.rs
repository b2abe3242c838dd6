//! The running long jobs (training, downloads, indexing, chats, comparisons), by the id the UI gave
//! each one, so `job_cancel` can stop any of them and a window close can tell what would be lost.
//!
//! Promises: a job id names at most one running job (a second start with the same id is refused);
//! a job leaves the registry when its work ends, however it ends (the [`JobGuard`] is dropped on
//! the worker thread, also on a panic); cancelling never blocks: it flips the job's own switch,
//! and the job ends at its next safe point (training: after the current step, with a checkpoint).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use tunesmith::error::ErrorPayload;

/// What kind of work a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Training (a new run, a resumed one, or a re-run).
    Train,
    /// Downloading a model.
    Pull,
    /// Building or updating a document index.
    RagIndex,
    /// Answering one chat message.
    Chat,
    /// Answering a question set with every configuration.
    Compare,
    /// Predicting every row of a data file with a run.
    PredictFile,
}

impl JobKind {
    /// The kind as the UI spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Train => "train",
            JobKind::Pull => "pull",
            JobKind::RagIndex => "rag_index",
            JobKind::Chat => "chat",
            JobKind::Compare => "compare",
            JobKind::PredictFile => "predict_file",
        }
    }

    /// Whether closing the window would throw away work the user waited for (a chat answer is
    /// quick to ask again; a training run, a download or an index is not).
    pub fn loses_work_on_close(self) -> bool {
        !matches!(self, JobKind::Chat)
    }
}

/// How a job is stopped.
#[derive(Debug, Clone)]
pub enum Stopper {
    /// Training: stops after the current step and writes a checkpoint (`train_resume` continues).
    Train(tunesmith::train::CancelHandle),
    /// Generation (chat, compare): stops before the next token.
    Generate(tunesmith::chat::CancelHandle),
    /// A download: stops between chunks; the partial file is kept and a later pull resumes it.
    Pull(tunesmith::models::CancelToken),
    /// Work that runs to its end once started (indexing has no safe point to stop at yet).
    Uncancellable,
}

impl Stopper {
    /// Asks the job to stop; `false` when this kind of job cannot be stopped.
    fn stop(&self) -> bool {
        match self {
            Stopper::Train(h) => h.cancel(),
            Stopper::Generate(h) => h.cancel(),
            Stopper::Pull(t) => t.cancel(),
            Stopper::Uncancellable => return false,
        }
        true
    }
}

/// A running job as the UI sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct RunningJob {
    /// The id the UI gave it.
    pub job_id: String,
    /// What it does.
    pub kind: JobKind,
}

struct Entry {
    kind: JobKind,
    stopper: Stopper,
}

/// The registry: job id -> how to stop it. Shared by the commands and the window's close handler.
#[derive(Default)]
pub struct Jobs {
    running: Mutex<HashMap<String, Entry>>,
}

impl std::fmt::Debug for Jobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jobs")
            .field("running", &self.running().len())
            .finish()
    }
}

fn job_error(message: String) -> ErrorPayload {
    ErrorPayload {
        code: "job".into(),
        message,
    }
}

impl Jobs {
    /// The map, even if a thread panicked while holding the lock: the map itself stays consistent
    /// (every change is one insert or remove).
    fn running(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers job `job_id`; it stays registered until the returned guard is dropped.
    pub fn start(
        self: &Arc<Self>,
        job_id: &str,
        kind: JobKind,
        stopper: Stopper,
    ) -> Result<JobGuard, ErrorPayload> {
        if job_id.trim().is_empty() {
            return Err(job_error(
                "a job needs an id (the app makes one with crypto.randomUUID())".into(),
            ));
        }
        let mut running = self.running();
        if running.contains_key(job_id) {
            return Err(job_error(format!(
                "a job with id `{job_id}` is already running; give each job its own id"
            )));
        }
        running.insert(job_id.to_string(), Entry { kind, stopper });
        Ok(JobGuard {
            jobs: Arc::clone(self),
            job_id: job_id.to_string(),
        })
    }

    /// Asks job `job_id` to stop. The job ends on its own thread shortly after, and the command
    /// that started it answers with how it ended (a training run answers `cancelled`).
    pub fn cancel(&self, job_id: &str) -> Result<(), ErrorPayload> {
        let running = self.running();
        let entry = running.get(job_id).ok_or_else(|| {
            job_error(format!(
                "no job `{job_id}` is running (it may have finished already)"
            ))
        })?;
        if entry.stopper.stop() {
            Ok(())
        } else {
            Err(job_error(format!(
                "job `{job_id}` ({}) cannot be stopped once started; it ends by itself",
                entry.kind.as_str()
            )))
        }
    }

    /// Asks every job that can be stopped to stop.
    pub fn cancel_all(&self) {
        for entry in self.running().values() {
            entry.stopper.stop();
        }
    }

    /// The jobs running now, by id.
    pub fn list(&self) -> Vec<RunningJob> {
        let mut jobs: Vec<RunningJob> = self
            .running()
            .iter()
            .map(|(id, e)| RunningJob {
                job_id: id.clone(),
                kind: e.kind,
            })
            .collect();
        jobs.sort_by(|a, b| a.job_id.cmp(&b.job_id));
        jobs
    }

    /// Whether a job that can be stopped is still running (what quitting waits for).
    pub fn any_stoppable(&self) -> bool {
        self.running()
            .values()
            .any(|e| !matches!(e.stopper, Stopper::Uncancellable))
    }

    /// Whether job `job_id` is running.
    pub fn is_running(&self, job_id: &str) -> bool {
        self.running().contains_key(job_id)
    }
}

/// Keeps a job registered while alive; dropping it (the job's work ended) unregisters the job.
#[derive(Debug)]
pub struct JobGuard {
    jobs: Arc<Jobs>,
    job_id: String,
}

impl Drop for JobGuard {
    fn drop(&mut self) {
        self.jobs.running().remove(&self.job_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_is_listed_while_its_guard_lives_and_gone_after() {
        let jobs = Arc::new(Jobs::default());
        let guard = jobs
            .start("a", JobKind::Train, Stopper::Uncancellable)
            .unwrap();
        assert_eq!(
            jobs.list(),
            vec![RunningJob {
                job_id: "a".into(),
                kind: JobKind::Train
            }]
        );
        drop(guard);
        assert!(jobs.list().is_empty());
    }

    #[test]
    fn a_second_job_with_the_same_id_is_refused() {
        let jobs = Arc::new(Jobs::default());
        let _guard = jobs
            .start("a", JobKind::Pull, Stopper::Uncancellable)
            .unwrap();
        let err = jobs
            .start("a", JobKind::Pull, Stopper::Uncancellable)
            .unwrap_err();
        assert_eq!(err.code, "job");
        assert!(err.message.contains("already running"), "{}", err.message);
    }

    #[test]
    fn cancelling_flips_the_jobs_own_switch() {
        let jobs = Arc::new(Jobs::default());
        let handle = tunesmith::train::CancelHandle::new();
        let _guard = jobs
            .start("t", JobKind::Train, Stopper::Train(handle.clone()))
            .unwrap();
        jobs.cancel("t").unwrap();
        assert!(handle.is_cancelled());
    }

    #[test]
    fn cancelling_an_unknown_or_uncancellable_job_says_so() {
        let jobs = Arc::new(Jobs::default());
        let err = jobs.cancel("nope").unwrap_err();
        assert!(err.message.contains("no job `nope`"), "{}", err.message);
        let _guard = jobs
            .start("i", JobKind::RagIndex, Stopper::Uncancellable)
            .unwrap();
        let err = jobs.cancel("i").unwrap_err();
        assert!(err.message.contains("cannot be stopped"), "{}", err.message);
    }
}
