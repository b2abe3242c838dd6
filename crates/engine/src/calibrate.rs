//! Timing the engine's training step on this machine: a few real optimiser steps of the engine's
//! own loop ([`crate::train::train`]) on the task training builds (a sequence classifier for an
//! encoder, supervised fine-tuning for a decoder), fed synthetic token ids of exactly the length
//! asked (speed does not depend on the text). The layer above decides what the steps mean (which
//! are warm-up, the median) and remembers them; this module only measures.

use std::path::Path;
use std::time::Instant;

use candle_core::{DType, Device};
use candle_nn::VarMap;
use tunesmith_vocab::SplitMix64;

use crate::models::bert::{BertConfig, ClassifierOptions, SequenceClassifier};
use crate::models::checkpoint::Checkpoint;
use crate::models::llama::{LlamaLoadOptions, LlamaModel};
use crate::nn::params::Backbone;
use crate::nn::quantized::QuantPolicy;
use crate::task::{ClassifyExample, ClassifyTask, SftExample, SftTask};
use crate::train::{
    train as run_loop, CancelHandle, TrainConfig, TrainEvent, TrainOptions, TrainTask,
};
use crate::{EngineError, Result};

/// Which kind of model is timed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimedFamily {
    /// A BERT-family model folder, as a two-class sequence classifier.
    Encoder,
    /// A Llama-family folder or `.gguf` file, as supervised fine-tuning.
    Decoder,
}

/// What to time.
#[derive(Debug, Clone)]
pub struct TimingSetup {
    /// What trains.
    pub backbone: Backbone,
    /// The frozen base's quantisation (QLoRA's 4-bit); decoders only.
    pub quantize: Option<QuantPolicy>,
    /// Feature extraction: each row's frozen features computed once first (timed per row);
    /// encoders only.
    pub features: bool,
    /// Sequences per step.
    pub batch: usize,
    /// Tokens per sequence (capped by the model's usable positions).
    pub max_len: usize,
    /// Whether the steps recompute each block (activation checkpointing).
    pub activation_checkpointing: bool,
    /// Optimiser steps to run (every one is timed; the caller decides which are warm-up).
    pub steps: usize,
}

/// What was measured.
#[derive(Debug, Clone, PartialEq)]
pub struct StepTimes {
    /// Seconds of each optimiser step, from one step to the next (the first from the loop's
    /// start).
    pub step_seconds: Vec<f64>,
    /// Seconds per row of the one-off feature pass (feature extraction), else 0.
    pub setup_seconds_per_row: f64,
}

/// Times `setup.steps` training steps of the model at `model` (of `family`) on `device`.
pub fn time_training_steps(
    model: &Path,
    family: TimedFamily,
    setup: &TimingSetup,
    device: &Device,
) -> Result<StepTimes> {
    if setup.batch == 0 || setup.max_len < 2 {
        return Err(EngineError::Invalid(
            "timing needs a batch of at least 1 and a maximum length of at least 2 tokens".into(),
        ));
    }
    let (batch, max_len) = (setup.batch, setup.max_len);
    let rows = setup.steps * batch;
    let mut ids = SyntheticIds(SplitMix64::new(0x5eed_1234_abcd_ef01));
    match family {
        TimedFamily::Encoder => {
            let cfg = BertConfig::from_file(&model.join("config.json"))?;
            let trainable = VarMap::new();
            let params = Checkpoint::open(model)?.params(
                DType::F32,
                device,
                trainable.clone(),
                setup.backbone.clone(),
            )?;
            let mut classifier = SequenceClassifier::load(
                &params,
                &cfg,
                &ClassifierOptions {
                    num_labels: 2,
                    pooling: None,
                    multi_label: false,
                },
            )?;
            classifier.set_activation_checkpointing(setup.activation_checkpointing);
            let len = max_len.min(cfg.usable_positions());
            let vocab = cfg.vocab_size as u32;
            let mut examples: Vec<ClassifyExample> = (0..rows)
                .map(|i| ClassifyExample::new(ids.sequence(len, vocab), i % 2, len))
                .collect();
            let mut task = ClassifyTask::new(
                classifier,
                trainable,
                0,
                device.clone(),
                vec!["a".into(), "b".into()],
                setup.features,
            );
            let mut setup_seconds_per_row = 0.0;
            if setup.features {
                let t = Instant::now();
                task.cache_features(&mut examples, &mut |_, _| {})?;
                setup_seconds_per_row = t.elapsed().as_secs_f64() / rows.max(1) as f64;
            }
            Ok(StepTimes {
                step_seconds: time_steps(&mut task, &examples, batch)?,
                setup_seconds_per_row,
            })
        }
        TimedFamily::Decoder => {
            let loaded = LlamaModel::load(
                model,
                &LlamaLoadOptions {
                    backbone: setup.backbone.clone(),
                    quantize: setup.quantize,
                    device: device.clone(),
                    seed: 0,
                    ..Default::default()
                },
            )?;
            let mut llama = loaded.model;
            llama.set_activation_checkpointing(setup.activation_checkpointing);
            let len = max_len.min(llama.config().max_position_embeddings);
            let vocab = llama.config().vocab_size as u32;
            let prompt = (len / 4).clamp(1, 8);
            let examples: Vec<SftExample> = (0..rows)
                .map(|_| {
                    let full = ids.sequence(len, vocab);
                    SftExample::new(&full[..prompt], &full, len)
                })
                .collect::<Result<_>>()?;
            let mut task = SftTask::new(llama, 0);
            Ok(StepTimes {
                step_seconds: time_steps(&mut task, &examples, batch)?,
                setup_seconds_per_row: 0.0,
            })
        }
    }
}

/// Runs the engine's loop over `examples` (one epoch, no validation, nothing written) and returns
/// the seconds of each optimiser step, from one `step` event to the next.
fn time_steps<T: TrainTask>(
    task: &mut T,
    examples: &[T::Example],
    batch: usize,
) -> Result<Vec<f64>> {
    let config = TrainConfig {
        epochs: 1,
        batch_size: batch,
        ..Default::default()
    };
    let opts = TrainOptions {
        checkpoint_dir: None,
        resume: false,
        cancel: CancelHandle::new(),
    };
    let mut last: Option<Instant> = None;
    let mut steps = Vec::new();
    run_loop(task, examples, &[], &config, &opts, &mut |e| match e {
        TrainEvent::Started { .. } => last = Some(Instant::now()),
        TrainEvent::Step { .. } => {
            let now = Instant::now();
            if let Some(t) = last {
                steps.push((now - t).as_secs_f64());
            }
            last = Some(now);
        }
        _ => {}
    })?;
    Ok(steps)
}

/// Token ids for timing: seeded (the shared generator, the one the splits use), spread over the
/// vocabulary, never the low special ids.
struct SyntheticIds(SplitMix64);

impl SyntheticIds {
    fn sequence(&mut self, len: usize, vocab: u32) -> Vec<u32> {
        // Real vocabularies keep their special tokens in the first ids; tiny test ones use them all.
        let low = if vocab > 1000 { 100 } else { 0 };
        let span = (vocab - low).max(1) as usize;
        (0..len).map(|_| low + self.0.below(span) as u32).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_step_of_a_tiny_decoder_and_encoder_is_timed() {
        let fixtures = tunesmith_testkit::paths::fixtures_dir();
        let setup = TimingSetup {
            backbone: Backbone::Full,
            quantize: None,
            features: false,
            batch: 2,
            max_len: 8,
            activation_checkpointing: false,
            steps: 3,
        };
        let d = time_training_steps(
            &fixtures.join("tiny-llama"),
            TimedFamily::Decoder,
            &setup,
            &Device::Cpu,
        )
        .unwrap();
        assert_eq!(d.step_seconds.len(), 3);
        assert!(d.step_seconds.iter().all(|s| *s > 0.0));
        let e = time_training_steps(
            &fixtures.join("tiny-bert"),
            TimedFamily::Encoder,
            &TimingSetup {
                backbone: Backbone::Frozen,
                features: true,
                ..setup.clone()
            },
            &Device::Cpu,
        )
        .unwrap();
        assert_eq!(e.step_seconds.len(), 3);
        assert!(e.setup_seconds_per_row > 0.0);
        let none = time_training_steps(
            &fixtures.join("tiny-bert"),
            TimedFamily::Encoder,
            &TimingSetup { batch: 0, ..setup },
            &Device::Cpu,
        );
        assert!(none
            .unwrap_err()
            .to_string()
            .contains("batch of at least 1"));
    }
}
