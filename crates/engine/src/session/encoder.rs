//! A loaded encoder, a classification run's model: a BERT-family model folder's config and
//! tokenizer on a device, and the classifier tasks built on it: fresh (head and LoRA factors from
//! a seed, so a run can be repeated exactly) or as a run ended (its saved weights restored).

use std::path::{Path, PathBuf};

use candle_core::Device;
use candle_nn::VarMap;

use super::restore::restore_trainable;
use crate::models::bert::{BertConfig, ClassifierOptions, SequenceClassifier};
use crate::models::checkpoint::Checkpoint;
use crate::nn::params::Backbone;
use crate::task::ClassifyTask;
use crate::tokenizer::TextTokenizer;
use crate::train::TrainTask;
use crate::Result;

/// A BERT-family model folder opened for classification: config, tokenizer, device and the
/// longest input in tokens.
pub struct Encoder {
    /// The model folder.
    pub dir: PathBuf,
    /// The encoder's config.
    pub cfg: BertConfig,
    /// Its tokenizer.
    pub tok: TextTokenizer,
    /// Where it computes.
    pub device: Device,
    /// The longest input in tokens: the positions the model can use unless set lower.
    pub max_len: usize,
}

/// How a classifier task is built on an [`Encoder`].
#[derive(Debug, Clone)]
pub struct ClassifierSetup {
    /// What trains (frozen for feature extraction or a base head, full, LoRA).
    pub backbone: Backbone,
    /// Whether examples carry the frozen model's cached features (feature extraction).
    pub features: bool,
    /// The seed the head and any LoRA factors start from.
    pub seed: u64,
    /// Whether training forwards recompute each block (evaluation and prediction are unchanged).
    pub activation_checkpointing: bool,
    /// The number format, resolved for the session's device ([`crate::precision`]).
    pub precision: crate::precision::Precision,
}

impl Encoder {
    /// Opens the model folder `dir` on `device`, its inputs as long as its usable positions
    /// (RoBERTa's start after its padding index: not all of them are usable).
    pub fn open(dir: &Path, device: Device) -> Result<Encoder> {
        let cfg = BertConfig::from_file(&dir.join("config.json"))?;
        let tok = TextTokenizer::from_dir(dir)?;
        Ok(Encoder {
            dir: dir.to_path_buf(),
            max_len: cfg.usable_positions(),
            cfg,
            tok,
            device,
        })
    }

    /// The classifier task for `labels` as `setup` builds it.
    pub fn classifier(&self, labels: &[String], setup: &ClassifierSetup) -> Result<ClassifyTask> {
        let trainable = VarMap::new();
        let params = Checkpoint::open(&self.dir)?
            .params(
                crate::precision::compute_dtype(setup.precision, &self.device),
                &self.device,
                trainable.clone(),
                setup.backbone.clone(),
            )?
            .with_seed(setup.seed);
        let mut model = SequenceClassifier::load(
            &params,
            &self.cfg,
            &ClassifierOptions {
                num_labels: labels.len(),
                pooling: None,
                multi_label: false,
            },
        )?;
        model.set_activation_checkpointing(setup.activation_checkpointing);
        Ok(ClassifyTask::new(
            model,
            trainable,
            self.tok.pad_id(),
            self.device.clone(),
            labels.to_vec(),
            setup.features,
        ))
    }

    /// `task`'s trainable weights set from the training checkpoint at `weights` (a run's best
    /// weights or its last checkpoint); one of another model or method is refused.
    pub fn restore(&self, task: &ClassifyTask, weights: &Path) -> Result<()> {
        restore_trainable(&task.trainable(), weights, &self.device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seeded_classifier_is_the_same_twice_and_restores_its_saved_weights() {
        let dir = tunesmith_testkit::paths::fixtures_dir().join("tiny-bert");
        let encoder = Encoder::open(&dir, Device::Cpu).unwrap();
        let labels = vec!["a".to_string(), "b".to_string()];
        let setup = ClassifierSetup {
            backbone: Backbone::Frozen,
            features: false,
            seed: 7,
            activation_checkpointing: false,
            precision: Default::default(),
        };
        let first = encoder.classifier(&labels, &setup).unwrap();
        let second = encoder.classifier(&labels, &setup).unwrap();
        let values = |t: &ClassifyTask| -> Vec<Vec<f32>> {
            let mut vars = t.trainable();
            vars.sort_by(|a, b| a.0.cmp(&b.0));
            vars.iter()
                .map(|(_, v)| v.flatten_all().unwrap().to_vec1().unwrap())
                .collect()
        };
        assert!(!first.trainable().is_empty(), "a fresh head trains");
        assert_eq!(values(&first), values(&second));

        let saved = tempfile::tempdir().unwrap();
        let path = saved.path().join("best.safetensors");
        let tensors: Vec<_> = first
            .trainable()
            .into_iter()
            .map(|(n, v)| (format!("w.{n}"), v.as_tensor().clone()))
            .collect();
        crate::train::checkpoint::save_tensors(&path, &tensors, Default::default()).unwrap();
        let other = encoder
            .classifier(&labels, &ClassifierSetup { seed: 8, ..setup })
            .unwrap();
        assert_ne!(values(&other), values(&first));
        encoder.restore(&other, &path).unwrap();
        assert_eq!(values(&other), values(&first));
    }
}
