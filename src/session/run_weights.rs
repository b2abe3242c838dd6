//! What a finished generation run contributes to chat and compare: the base its plan trained on
//! and the weights to put on it (its adapter, or its merged weights for full fine-tuning or an
//! exported merge).
//!
//! The run is found once ([`find_run`]) and read through its plan ([`TrainPlan::of_run`]), as
//! evaluation and export read it; the adapter is the one [`FoundRun::adapter_dir`] names.
//!
//! A run answers on its base as it trained ([`BaseHeld::AsTrained`], the default): a GGUF base
//! dequantised (4-bit again for QLoRA, as training quantised it), so chat, compare and predict
//! give the answers evaluation shows and PEFT reproduces from the exported adapter. Keeping the
//! GGUF's own quantisation ([`BaseHeld::Quantised`], chat's `--quantised`) is faster and about a
//! quarter of the memory, but its answers differ where two words are nearly tied: against PEFT on a
//! SmolLM2-135M Q4_1 run, as trained matched 10 of 10 greedy answers, quantised 6 of 10
//! (tests/reference/README.md, "chat --run against PEFT").

use std::path::PathBuf;

use tunesmith_data::Task;
use tunesmith_engine::train::Method;
use tunesmith_store::ArtefactKind;

use super::decoder::{DecoderSession, Hold};
use crate::home::Home;
use crate::run::{find_run, FoundRun, TrainPlan};
use crate::{Error, Result};

/// How a run's base is held when the run answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BaseHeld {
    /// As the run trained on it: the answers evaluation shows and another tool reproduces.
    #[default]
    AsTrained,
    /// A GGUF base kept in its file's quantisation: faster, a quarter of the memory, approximate.
    Quantised,
}

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

    /// The run's model, as [`RunWeights::model_and_adapter`] names it, loaded to answer with its
    /// base held as `held` says.
    pub fn open(&self, model: Option<&str>, held: BaseHeld) -> Result<DecoderSession> {
        let (spec, adapter) = self.model_and_adapter(model);
        DecoderSession::open_as(&spec, adapter.as_deref(), self.hold(held))
    }

    /// The base alone (`model` if given), held as [`RunWeights::open`] holds it: what the run is
    /// compared against, so the comparison shows the training and not the quantisation.
    pub fn open_base(&self, model: Option<&str>, held: BaseHeld) -> Result<DecoderSession> {
        let spec = model
            .map(str::to_string)
            .unwrap_or_else(|| self.base.display().to_string());
        DecoderSession::open_as(&spec, None, self.hold(held))
    }

    /// Whether [`RunWeights::open`] holds the base quantised (for the memory check).
    pub fn held_quantised(&self, held: BaseHeld) -> bool {
        match self.hold(held) {
            Hold::Stored => true,
            Hold::AsTrained(policy) => policy.is_some(),
        }
    }

    fn hold(&self, held: BaseHeld) -> Hold {
        match held {
            BaseHeld::AsTrained => Hold::AsTrained(TrainPlan::of_run(&self.run).quantize()),
            BaseHeld::Quantised => Hold::Stored,
        }
    }
}
