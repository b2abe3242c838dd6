//! Sequence classification as a [`TrainTask`]: the encoder helper's BERT-family
//! [`SequenceClassifier`] trained end to end (full, LoRA) or as a head on cached features.
//!
//! Feature extraction computes each example's pooled features once, with the frozen encoder, and
//! keeps them on the example: every epoch after that costs only the head. The loss is our masked
//! cross-entropy, so micro-batches are weighted exactly under gradient accumulation.

use candle_core::{Device, Tensor, Var};
use candle_nn::VarMap;

use crate::metrics::classification::{classification_report, ClassificationReport};
use crate::models::bert::SequenceClassifier;
use crate::train::batching::pad;
use crate::train::loss::cross_entropy;
use crate::train::{BatchLoss, Metrics, Rng, TrainTask};
use crate::{EngineError, Result};

/// Rows per forward pass when caching features or evaluating.
pub const EVAL_BATCH: usize = 32;

/// One tokenised example and its class.
#[derive(Debug, Clone)]
pub struct ClassifyExample {
    /// Token ids with the tokenizer's special tokens, already truncated.
    pub ids: Vec<u32>,
    /// The class index.
    pub label: usize,
    /// The pooled features `[hidden]` (feature extraction only), computed once.
    pub features: Option<Tensor>,
}

impl ClassifyExample {
    /// An example from `ids`, truncated to `max_len` keeping the final special token (`[SEP]`).
    pub fn new(mut ids: Vec<u32>, label: usize, max_len: usize) -> Self {
        if ids.len() > max_len && max_len >= 2 {
            let last = ids[ids.len() - 1];
            ids.truncate(max_len - 1);
            ids.push(last);
        }
        ClassifyExample {
            ids,
            label,
            features: None,
        }
    }
}

/// A classifier being trained.
pub struct ClassifyTask {
    model: SequenceClassifier,
    trainable: VarMap,
    pad_id: u32,
    device: Device,
    /// Whether the encoder is frozen and examples carry cached features.
    pub cached_features: bool,
    /// The labels by class index (for reports).
    pub labels: Vec<String>,
}

impl ClassifyTask {
    /// Wraps `model`, whose trainable parameters live in `trainable`. With `cached_features` the
    /// encoder must be frozen and [`ClassifyTask::cache_features`] must run on every example first.
    pub fn new(
        model: SequenceClassifier,
        trainable: VarMap,
        pad_id: u32,
        device: Device,
        labels: Vec<String>,
        cached_features: bool,
    ) -> Self {
        ClassifyTask {
            model,
            trainable,
            pad_id,
            device,
            cached_features,
            labels,
        }
    }

    /// The classifier.
    pub fn model(&self) -> &SequenceClassifier {
        &self.model
    }

    /// Computes and stores the pooled features of `examples` with the frozen encoder, in batches;
    /// `progress(done, total)` is called after each batch.
    pub fn cache_features(
        &self,
        examples: &mut [ClassifyExample],
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<()> {
        let total = examples.len();
        for start in (0..total).step_by(EVAL_BATCH) {
            let end = (start + EVAL_BATCH).min(total);
            let seqs: Vec<&[u32]> = examples[start..end]
                .iter()
                .map(|e| e.ids.as_slice())
                .collect();
            let p = pad(&seqs, self.pad_id, usize::MAX, &self.device)?;
            let f = self
                .model
                .features(&p.input_ids, &p.attention_mask, false)?
                .detach();
            for (i, e) in examples[start..end].iter_mut().enumerate() {
                e.features = Some(f.get(i)?);
            }
            progress(end, total);
        }
        Ok(())
    }

    fn logits(&self, batch: &[&ClassifyExample], train: bool) -> Result<Tensor> {
        if self.cached_features {
            let rows = batch
                .iter()
                .map(|e| {
                    e.features.clone().ok_or_else(|| {
                        EngineError::Training(
                            "feature extraction needs the features cached before training".into(),
                        )
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let f = Tensor::stack(&rows, 0)?;
            self.model.head_forward(&f, train)
        } else {
            let seqs: Vec<&[u32]> = batch.iter().map(|e| e.ids.as_slice()).collect();
            let p = pad(&seqs, self.pad_id, usize::MAX, &self.device)?;
            self.model.forward_t(&p.input_ids, &p.attention_mask, train)
        }
    }

    fn labels_tensor(&self, batch: &[&ClassifyExample]) -> Result<Tensor> {
        Ok(Tensor::new(
            batch.iter().map(|e| e.label as i64).collect::<Vec<_>>(),
            &self.device,
        )?)
    }

    /// Class probabilities of each example (inference mode).
    pub fn probabilities(&self, examples: &[ClassifyExample]) -> Result<Vec<Vec<f32>>> {
        let mut out = Vec::with_capacity(examples.len());
        for chunk in examples.chunks(EVAL_BATCH) {
            let refs: Vec<&ClassifyExample> = chunk.iter().collect();
            let logits = self.logits(&refs, false)?;
            out.extend(
                self.model
                    .probabilities(&logits)?
                    .to_dtype(candle_core::DType::F32)?
                    .to_vec2::<f32>()?,
            );
        }
        Ok(out)
    }

    /// The full report (accuracy, macro and per-class scores, confusion, worst examples).
    pub fn report(
        &self,
        examples: &[ClassifyExample],
        texts: Option<&[String]>,
        worst_k: usize,
    ) -> Result<ClassificationReport> {
        let probs = self.probabilities(examples)?;
        let truth: Vec<usize> = examples.iter().map(|e| e.label).collect();
        Ok(classification_report(
            &self.labels,
            &truth,
            &probs,
            texts,
            worst_k,
        ))
    }
}

impl TrainTask for ClassifyTask {
    type Example = ClassifyExample;

    fn trainable(&self) -> Vec<(String, Var)> {
        match self.trainable.data().lock() {
            Ok(map) => map.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            Err(poisoned) => poisoned
                .into_inner()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    fn loss(&mut self, batch: &[&ClassifyExample], _rng: &mut Rng) -> Result<BatchLoss> {
        let logits = self.logits(batch, true)?;
        let l = cross_entropy(&logits, &self.labels_tensor(batch)?)?;
        let tokens = if self.cached_features {
            batch.len()
        } else {
            batch.iter().map(|e| e.ids.len()).sum()
        };
        Ok(BatchLoss {
            loss: l.loss,
            units: l.count,
            tokens,
        })
    }

    fn evaluate(&mut self, examples: &[ClassifyExample]) -> Result<Metrics> {
        let r = self.report(examples, None, 0)?;
        Ok(Metrics::from([
            ("loss".to_string(), r.loss),
            ("accuracy".to_string(), r.accuracy),
            ("macro_f1".to_string(), r.macro_f1),
        ]))
    }

    fn length(&self, example: &ClassifyExample) -> Option<usize> {
        (!self.cached_features).then_some(example.ids.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::lora::LoraConfig;
    use crate::models::bert::{BertConfig, ClassifierOptions};
    use crate::models::checkpoint::Checkpoint;
    use crate::nn::params::{Backbone, LoraSetup};
    use crate::tokenizer::TextTokenizer;
    use crate::train::{train, EarlyStopping, TrainConfig, TrainEvent, TrainOptions};
    use candle_core::DType;

    fn tiny_bert() -> std::path::PathBuf {
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tiny-bert")
    }

    /// Trains the tiny BERT fixture on a toy sentiment set with `backbone`; returns the first and
    /// last step losses and the number of trainable tensors.
    fn run(backbone: Backbone, features: bool, lr: f64) -> (f64, f64, usize) {
        let dir = tiny_bert();
        let cfg = BertConfig::from_file(&dir.join("config.json")).unwrap();
        let tok = TextTokenizer::from_dir(&dir).unwrap();
        let trainable = VarMap::new();
        let p = Checkpoint::open(&dir)
            .unwrap()
            .params(DType::F32, &Device::Cpu, trainable.clone(), backbone)
            .unwrap();
        // The fixture carries a 3-class head; two of its classes are used here.
        let opts = ClassifierOptions {
            num_labels: 3,
            pooling: None,
            multi_label: false,
        };
        let model = SequenceClassifier::load(&p, &cfg, &opts).unwrap();
        let mut task = ClassifyTask::new(
            model,
            trainable,
            tok.pad_id(),
            Device::Cpu,
            vec!["neg".into(), "pos".into(), "unused".into()],
            features,
        );
        let words = [("good great fine", 1), ("bad awful poor", 0)];
        let mut examples: Vec<ClassifyExample> = (0..32)
            .map(|i| {
                let (w, l) = words[i % 2];
                ClassifyExample::new(tok.encode(&format!("{w} {}", i % 5), true).unwrap(), l, 16)
            })
            .collect();
        if features {
            task.cache_features(&mut examples, &mut |_, _| {}).unwrap();
        }
        let config = TrainConfig {
            epochs: 6,
            batch_size: 8,
            lr,
            warmup_ratio: 0.0,
            early_stopping: EarlyStopping {
                patience: None,
                ..Default::default()
            },
            ..Default::default()
        };
        let n_vars = task.trainable().len();
        let mut losses = vec![];
        train(
            &mut task,
            &examples,
            &[],
            &config,
            &TrainOptions::default(),
            &mut |e| {
                if let TrainEvent::Step { loss, .. } = e {
                    losses.push(*loss)
                }
            },
        )
        .unwrap();
        let first = losses[..4].iter().sum::<f64>() / 4.0;
        let last = losses[losses.len() - 4..].iter().sum::<f64>() / 4.0;
        (first, last, n_vars)
    }

    #[test]
    fn a_head_on_cached_features_learns_and_only_the_head_trains() {
        let (first, last, n) = run(Backbone::Frozen, true, 1e-1);
        assert_eq!(n, 2, "classifier weight and bias only");
        assert!(last < first, "loss {first} -> {last}");
    }

    #[test]
    fn full_fine_tuning_trains_every_weight_and_the_loss_falls() {
        let (first, last, n) = run(Backbone::Full, false, 1e-3);
        assert!(n > 10, "{n} trainable tensors");
        assert!(last < first, "loss {first} -> {last}");
    }

    #[test]
    fn lora_trains_adapters_and_head_and_the_loss_falls() {
        let setup = LoraSetup {
            config: LoraConfig {
                dropout: 0.0,
                ..Default::default()
            },
            initial: Default::default(),
        };
        let (first, last, n) = run(Backbone::Lora(setup), false, 1e-2);
        assert!(n > 2, "{n} trainable tensors");
        assert!(last < first, "loss {first} -> {last}");
    }

    #[test]
    fn truncation_keeps_the_final_special_token() {
        let e = ClassifyExample::new(vec![101, 1, 2, 3, 4, 102], 0, 4);
        assert_eq!(e.ids, vec![101, 1, 2, 102]);
    }
}
