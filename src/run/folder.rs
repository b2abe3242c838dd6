//! A run's folder: where its description, checkpoints, adapter and merged weights live, and where
//! its exports go by default; and [`find_run`], which turns what a user typed into that folder.
//!
//! Every path of a run is named here once, so training, evaluation, chat and export cannot
//! disagree about where a file is:
//!
//! ```text
//! <home>/runs/<run id>/run.json       the run's manifest (RunManifest)
//!                     checkpoints/    resumable checkpoint (last) and best weights (the engine's)
//!                     adapter/        the PEFT adapter of a LoRA/QLoRA generation run
//!                     merged/         a full fine-tune's weights as a model folder, for chat
//! <home>/exports/<run name>-<format>  an export, unless the user chose the folder
//! ```

use std::path::{Path, PathBuf};

use tunesmith_data::Task;
use tunesmith_engine::train::checkpoint::{BEST_FILE, LAST_FILE};
use tunesmith_store::ArtefactKind;

use super::manifest::RunManifest;
use crate::home::Home;
use crate::{Error, Result};

/// The folder, inside the run folder, that holds the engine's checkpoints.
pub const CHECKPOINTS_DIR: &str = "checkpoints";
/// The folder, inside the run folder, that holds the PEFT adapter.
pub const ADAPTER_DIR: &str = "adapter";
/// The folder inside a full fine-tuning run's folder that holds its merged weights for chat.
pub const MERGED_DIR: &str = "merged";
/// The folder, inside the home folder, that exports go to unless the user chose one.
pub const EXPORTS_DIR: &str = "exports";

/// One run's folder and the paths inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFolder {
    dir: PathBuf,
}

impl RunFolder {
    /// The run folder at `dir` (the store's `run_dir`).
    pub fn new(dir: PathBuf) -> Self {
        RunFolder { dir }
    }

    /// The folder itself.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the engine keeps the resumable checkpoint and the best weights.
    pub fn checkpoints(&self) -> PathBuf {
        self.dir.join(CHECKPOINTS_DIR)
    }

    /// Where a LoRA/QLoRA generation run saves its PEFT adapter.
    pub fn adapter(&self) -> PathBuf {
        self.dir.join(ADAPTER_DIR)
    }

    /// Where a full fine-tune's weights are merged into a model folder for chat.
    pub fn merged(&self) -> PathBuf {
        self.dir.join(MERGED_DIR)
    }

    /// Whether the run saved weights (a best or a resumable checkpoint).
    pub fn has_weights(&self) -> bool {
        let dir = self.checkpoints();
        [BEST_FILE, LAST_FILE].iter().any(|f| dir.join(f).is_file())
    }

    /// The run's best weights file, or its last checkpoint; `run_id` names the run in the error.
    pub fn weights_file(&self, run_id: &str) -> Result<PathBuf> {
        let ckpt = self.checkpoints();
        [ckpt.join(BEST_FILE), ckpt.join(LAST_FILE)]
            .into_iter()
            .find(|p| p.is_file())
            .ok_or_else(|| {
                Error::invalid(format!(
                    "run {run_id} has no saved weights in {} (it stopped before its first checkpoint); resume or re-run it",
                    ckpt.display()
                ))
            })
    }
}

/// The folder exports go to unless the user chose one (each export is `<run name>-<format>` in it).
pub fn exports_dir(home: &Home) -> PathBuf {
    home.root().join(EXPORTS_DIR)
}

/// A run found in the history, with its folder and manifest.
#[derive(Debug, Clone)]
pub struct FoundRun {
    /// The run's id.
    pub id: String,
    /// Its folder.
    pub dir: PathBuf,
    /// Its folder's layout.
    pub folder: RunFolder,
    /// What `run.json` records.
    pub record: RunManifest,
}

/// Finds the run `query` names (id, prefix, suffix or name), of either task, and reads its
/// `run.json`.
pub fn find_run(home: &Home, query: &str) -> Result<FoundRun> {
    let store = crate::runs::open_for_reading(home)?;
    let run = store.resolve_run(query)?;
    let dir = store.run_dir(&run.id);
    let record = RunManifest::read(&dir)?;
    Ok(FoundRun {
        id: run.id,
        folder: RunFolder::new(dir.clone()),
        dir,
        record,
    })
}

impl FoundRun {
    /// The run's task.
    pub fn task(&self) -> Task {
        self.record.request.task
    }

    /// This run, refused unless it is a classification run: `action` (e.g. "`predict`") names what
    /// needs labels.
    pub fn require_classification(self, action: &str) -> Result<FoundRun> {
        if self.task() == Task::Classify {
            return Ok(self);
        }
        Err(Error::invalid(format!(
            "run {} is a generation run, which answers with text rather than labels; {action} scores classification runs (talk to it with `tunesmith chat --run {}`, or score it with `tunesmith eval --run {}`)",
            self.id, self.id, self.id
        )))
    }

    /// The run's PEFT adapter folder: the newest one the history records, else the run folder's own.
    pub fn adapter_dir(&self, home: &Home) -> Result<PathBuf> {
        let store = crate::runs::open_for_reading(home)?;
        let recorded = store
            .artefacts(&self.id)?
            .into_iter()
            .filter(|a| a.kind == ArtefactKind::Adapter && a.path.is_dir())
            .max_by_key(|a| (a.created_at, a.id))
            .map(|a| a.path);
        let own = self.folder.adapter();
        recorded
            .or_else(|| own.is_dir().then_some(own))
            .ok_or_else(|| {
                Error::invalid(format!(
                    "run {} has no LoRA adapter on disk (it saves one when training ends); wait for it to finish, or re-run it",
                    self.id
                ))
            })
    }
}
