//! A loaded encoder, a classification run's model: the BERT-family model of a plan with its
//! tokenizer, device and maximum length, loaded as the run trains it (fresh head and LoRA factors
//! from the run's seed), as it ended (its saved weights restored), or as the base it is compared
//! with (a head trained on the frozen model's features). Training, evaluation and prediction load
//! it here alike.

use std::path::Path;

use tunesmith_data::{Content, Dataset};
use tunesmith_engine::device;
use tunesmith_engine::nn::params::Backbone;
use tunesmith_engine::session::{ClassifierSetup, Encoder};
use tunesmith_engine::task::{ClassifyExample, ClassifyTask};
use tunesmith_engine::train::{train as run_loop, CancelHandle, TrainOptions};

use super::invalid_of;
use crate::run::TrainPlan;
use crate::{Error, Result};

/// The model side of a classification run: the engine's [`Encoder`] (config, tokenizer, device,
/// and the longest input in tokens, here the plan's: `max_len`, as trained), read through it.
pub struct EncoderSession {
    encoder: Encoder,
}

impl std::ops::Deref for EncoderSession {
    type Target = Encoder;
    fn deref(&self) -> &Encoder {
        &self.encoder
    }
}

impl EncoderSession {
    /// Opens the plan's model folder on the plan's device choice.
    pub fn open(plan: &TrainPlan) -> Result<Self> {
        let mut encoder = Encoder::open(plan.model(), device::open(plan.request().device)?)?;
        // The engine's length is the usable positions (RoBERTa's start after its padding index):
        // the plan's is at most that.
        encoder.max_len = plan.max_len(encoder.max_len);
        Ok(EncoderSession { encoder })
    }

    /// The classifier task for `labels` as `backbone` loads it: the head and any LoRA factors
    /// start from the plan's seed, so a run can be repeated exactly; `features` caches the frozen
    /// model's features (feature extraction).
    pub fn task(
        &self,
        plan: &TrainPlan,
        labels: &[String],
        backbone: Backbone,
        features: bool,
    ) -> Result<ClassifyTask> {
        // Only training forwards recompute; evaluation and prediction are unchanged by it.
        Ok(self.encoder.classifier(
            labels,
            &ClassifierSetup {
                backbone,
                features,
                seed: plan.seed(),
                activation_checkpointing: plan.activation_checkpointing(),
                precision: plan.precision(),
            },
        )?)
    }

    /// The fine-tuned classifier: the plan's backbone with the weights saved in `weights` (the
    /// run's best weights, or its last checkpoint).
    pub fn fine_tuned(
        &self,
        plan: &TrainPlan,
        labels: &[String],
        weights: &Path,
    ) -> Result<ClassifyTask> {
        let task = self.task(plan, labels, plan.backbone(), false)?;
        self.encoder.restore(&task, weights).map_err(invalid_of)?;
        Ok(task)
    }

    /// The base: the untouched backbone, frozen, with a head trained on its features of the
    /// run's training rows (same seed), ready to score (features not cached).
    pub fn base(
        &self,
        plan: &TrainPlan,
        labels: &[String],
        train_set: &[ClassifyExample],
        val_set: &[ClassifyExample],
    ) -> Result<ClassifyTask> {
        let mut task = self.task(plan, labels, Backbone::Frozen, true)?;
        let (mut train_set, mut val_set) = (train_set.to_vec(), val_set.to_vec());
        task.cache_features(&mut train_set, &mut |_, _| {})?;
        task.cache_features(&mut val_set, &mut |_, _| {})?;
        let config = plan.base_head_config(train_set.len());
        let opts = TrainOptions {
            checkpoint_dir: None,
            resume: false,
            cancel: CancelHandle::new(),
        };
        run_loop(&mut task, &train_set, &val_set, &config, &opts, &mut |_| {})?;
        task.cached_features = false;
        Ok(task)
    }

    /// Classification examples (token ids and class index) of `dataset` and their texts, with
    /// `labels` as the classes.
    pub fn examples(
        &self,
        dataset: &Dataset,
        labels: &[String],
    ) -> Result<(Vec<ClassifyExample>, Vec<String>)> {
        let mut examples = Vec::with_capacity(dataset.examples.len());
        let mut texts = Vec::with_capacity(dataset.examples.len());
        for e in &dataset.examples {
            let Content::Labelled { text, label } = &e.content else {
                return Err(Error::invalid(format!(
                    "{} line {}: not a text with a label",
                    dataset.report.file, e.line
                )));
            };
            let class = labels.iter().position(|l| l == label).ok_or_else(|| {
                Error::invalid(format!(
                    "{} line {}: the label `{label}` is not one the run was trained on ({}); fix the label or remove the row",
                    dataset.report.file,
                    e.line,
                    labels.join(", ")
                ))
            })?;
            examples.push(ClassifyExample::new(
                self.tok.encode(text, true)?,
                class,
                self.max_len,
            ));
            texts.push(text.clone());
        }
        Ok((examples, texts))
    }
}
