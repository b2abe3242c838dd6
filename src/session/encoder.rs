//! A loaded encoder, a classification run's model: the BERT-family model of a plan with its
//! tokenizer, device and maximum length, loaded as the run trains it (fresh head and LoRA factors
//! from the run's seed), as it ended (its saved weights restored), or as the base it is compared
//! with (a head trained on the frozen model's features). Training, evaluation and prediction load
//! it here alike.

use std::path::Path;

use candle_core::Device;
use tunesmith_engine::precision::compute_dtype;
use candle_nn::VarMap;
use tunesmith_data::{Content, Dataset};
use tunesmith_engine::device;
use tunesmith_engine::models::bert::{BertConfig, ClassifierOptions, SequenceClassifier};
use tunesmith_engine::models::checkpoint::Checkpoint;
use tunesmith_engine::nn::params::Backbone;
use tunesmith_engine::task::{ClassifyExample, ClassifyTask};
use tunesmith_engine::tokenizer::TextTokenizer;
use tunesmith_engine::train::{train as run_loop, CancelHandle, TrainOptions, TrainTask};

use super::restore::restore;
use crate::run::TrainPlan;
use crate::{Error, Result};

/// The model side of a classification run: config, tokenizer, device and maximum length.
pub struct EncoderSession {
    /// The encoder's config.
    pub cfg: BertConfig,
    /// Its tokenizer.
    pub tok: TextTokenizer,
    /// Where it computes.
    pub device: Device,
    /// The longest input in tokens, as trained.
    pub max_len: usize,
}

impl EncoderSession {
    /// Opens the plan's model folder on the plan's device choice.
    pub fn open(plan: &TrainPlan) -> Result<Self> {
        let cfg = BertConfig::from_file(&plan.model().join("config.json"))?;
        let tok = TextTokenizer::from_dir(plan.model())?;
        Ok(EncoderSession {
            // RoBERTa's positions start after its padding index: not all of them are usable.
            max_len: plan.max_len(cfg.usable_positions()),
            cfg,
            tok,
            device: device::open(plan.request().device)?,
        })
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
        let trainable = VarMap::new();
        let params = Checkpoint::open(plan.model())?
            .params(
                compute_dtype(plan.precision(), &self.device),
                &self.device,
                trainable.clone(),
                backbone,
            )?
            .with_seed(plan.seed());
        let mut model = SequenceClassifier::load(
            &params,
            &self.cfg,
            &ClassifierOptions {
                num_labels: labels.len(),
                pooling: None,
                multi_label: false,
            },
        )?;
        // Only training forwards recompute; evaluation and prediction are unchanged by it.
        model.set_activation_checkpointing(plan.activation_checkpointing());
        Ok(ClassifyTask::new(
            model,
            trainable,
            self.tok.pad_id(),
            self.device.clone(),
            labels.to_vec(),
            features,
        ))
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
        restore(&task.trainable(), weights, &self.device)?;
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
