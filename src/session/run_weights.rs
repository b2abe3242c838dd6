//! What a finished generation run contributes to chat and compare: the base its plan trained on
//! and the weights to put on it (its adapter, or its merged weights for full fine-tuning or an
//! exported merge).
//!
//! The run is found once ([`find_run`]) and read through its plan ([`TrainPlan::of_run`]), as
//! evaluation and export read it; the adapter is the one [`FoundRun::adapter_dir`] names.

use std::path::PathBuf;

use tunesmith_data::Task;
use tunesmith_engine::train::Method;
use tunesmith_store::ArtefactKind;

use crate::home::Home;
use crate::run::{find_run, FoundRun, TrainPlan};
use crate::{Error, Result};

/// A run's weights as chat and compare load them.
#[derive(Debug, Clone)]
pub struct RunWeights {
    /// The run.
    pub run: FoundRun,
    /// The model it trained on (resolved to a path when it trained).
    pub base: PathBuf,
    /// Its PEFT adapter folder (LoRA, QLoRA), applied on the base.
    pub adapter: Option<PathBuf>,
    /// Its merged weights (full fine-tuning, or an exported merge), used instead of the base.
    pub merged: Option<PathBuf>,
}

impl RunWeights {
    /// Finds the weights of the run `query` names: its adapter, else its newest merged model (for
    /// full fine-tuning, merged from its checkpoint the first time). A classifier is refused.
    pub fn find(home: &Home, query: &str) -> Result<RunWeights> {
        let run = find_run(home, query)?;
        let plan = TrainPlan::of_run(&run);
        let store = crate::runs::open_for_reading(home)?;
        let record = store.resolve_run(&run.id)?;
        if plan.task() == Task::Classify {
            return Err(Error::Chat(format!(
                "run `{}` trained a classifier, which answers with labels rather than text; use it with predict, not chat or compare",
                record.name
            )));
        }
        let newest_merged = store
            .artefacts(&run.id)?
            .into_iter()
            .filter(|a| a.kind == ArtefactKind::Merged && a.path.exists())
            .max_by_key(|a| (a.created_at, a.id))
            .map(|a| a.path);
        drop(store);
        let adapter = match plan.method() {
            Method::Full => None,
            _ => run.adapter_dir(home).ok(),
        };
        let mut merged = newest_merged;
        if adapter.is_none()
            && merged.is_none()
            && plan.method() == Method::Full
            && run.folder.has_weights()
        {
            // Full fine-tuning keeps its weights in training checkpoints; the first chat merges
            // them into a model folder once (seconds for a small model) and later chats reuse it.
            merged = Some(crate::export::merged_of_full_run(home, &run.id)?);
        }
        if adapter.is_none() && merged.is_none() {
            return Err(Error::Chat(format!(
                "run `{}` ({}) has no adapter or merged model on disk yet; wait for it to finish, or pick another run (tunesmith runs list)",
                record.name,
                record.status.as_str()
            )));
        }
        Ok(RunWeights {
            base: plan.model().to_path_buf(),
            run,
            adapter,
            merged,
        })
    }

    /// The model to load (`model` if given, else the run's base, or its merged weights when it
    /// has no adapter) and the adapter to apply.
    pub fn model_and_adapter(&self, model: Option<&str>) -> (String, Option<PathBuf>) {
        if let Some(merged) = &self.merged {
            if self.adapter.is_none() {
                return (merged.display().to_string(), None);
            }
        }
        let base = model
            .map(str::to_string)
            .unwrap_or_else(|| self.base.display().to_string());
        (base, self.adapter.clone())
    }
}
