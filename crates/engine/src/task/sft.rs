//! Supervised fine-tuning (SFT) of a Llama-family decoder as a [`TrainTask`]: prompt/response
//! pairs, already rendered with the model's chat template and tokenised, learned as a causal
//! language model with the loss on the response tokens only.
//!
//! It promises: prompt tokens (and padding) carry the label [`IGNORE_INDEX`], so they never count
//! in the loss; batches are right-padded with an attention mask; the loss is the mean over counted
//! response tokens and reports that count, so gradient accumulation is exact; evaluation is the
//! token-weighted held-out response loss and its perplexity. Full, LoRA and QLoRA differ only in how
//! the [`LlamaModel`] was loaded (which parameters are in its trainable `VarMap`, whether its frozen
//! base is quantised); the task is the same.

use std::path::Path;

use candle_core::{DType, Device, Var};

use crate::adapters::lora::LoraConfig;
use crate::adapters::peft::{self, SaveOptions};
use crate::metrics::generation::{GenerationReport, LossAccumulator};
use crate::models::llama::LlamaModel;
use crate::train::batching::{pad, pad_labels};
use crate::train::loss::{MaskedLoss, IGNORE_INDEX};
use crate::train::{BatchLoss, Metrics, Rng, TrainTask};
use crate::{EngineError, Result};

/// Rows per forward pass when evaluating.
pub const EVAL_BATCH: usize = 8;

/// One tokenised prompt/response example.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SftExample {
    /// The whole conversation's token ids (prompt then response), truncated.
    pub ids: Vec<u32>,
    /// One label per id: the id itself for response tokens, [`IGNORE_INDEX`] for prompt tokens.
    pub labels: Vec<i64>,
}

impl SftExample {
    /// An example from the tokenised prompt (up to where the answer starts) and the tokenised full
    /// text (prompt + response). The prompt part is the longest common prefix of the two, so a
    /// tokenizer that merges across the boundary still masks exactly the shared prompt tokens.
    /// Truncates to `max_len` from the right; errors when no response token is left to learn.
    pub fn new(prompt_ids: &[u32], full_ids: &[u32], max_len: usize) -> Result<Self> {
        let shared = prompt_ids
            .iter()
            .zip(full_ids)
            .take_while(|(a, b)| a == b)
            .count();
        let len = full_ids.len().min(max_len);
        if shared >= len {
            return Err(EngineError::Invalid(format!(
                "the prompt takes {shared} tokens and leaves no room for the response within {max_len} tokens; \
                 shorten the prompt or raise --max-len"
            )));
        }
        let ids = full_ids[..len].to_vec();
        let labels = ids
            .iter()
            .enumerate()
            .map(|(i, &t)| if i < shared { IGNORE_INDEX } else { t as i64 })
            .collect();
        Ok(SftExample { ids, labels })
    }

    /// How many tokens the loss learns (response tokens).
    pub fn response_tokens(&self) -> usize {
        self.labels.iter().filter(|&&l| l != IGNORE_INDEX).count()
    }
}

/// A decoder being fine-tuned on prompt/response pairs.
pub struct SftTask {
    model: LlamaModel,
    pad_id: u32,
    device: Device,
}

impl SftTask {
    /// Wraps `model` (its trainable `VarMap` decides what trains); `pad_id` fills padding, which is
    /// masked out of attention and of the loss, so any valid id works.
    pub fn new(model: LlamaModel, pad_id: u32) -> Self {
        let device = model.device().clone();
        SftTask {
            model,
            pad_id,
            device,
        }
    }

    /// The model.
    pub fn model(&self) -> &LlamaModel {
        &self.model
    }

    /// The mean response loss of `batch` (the output head and the loss fused, see
    /// [`LlamaModel::next_token_loss_t`]).
    fn batch_loss(&self, batch: &[&SftExample], train: bool) -> Result<MaskedLoss> {
        let seqs: Vec<&[u32]> = batch.iter().map(|e| e.ids.as_slice()).collect();
        let p = pad(&seqs, self.pad_id, usize::MAX, &self.device)?;
        let width = p.input_ids.dim(1)?;
        let labels: Vec<&[i64]> = batch.iter().map(|e| e.labels.as_slice()).collect();
        // The labels stay on the CPU: the loss reads them on the host to count and check them,
        // and a copy on the GPU would make that read wait for the device (issue 13: no sync).
        let labels = pad_labels(&labels, width, &candle_core::Device::Cpu)?;
        self.model
            .next_token_loss_t(&p.input_ids, Some(&p.attention_mask), &labels, train)
    }

    /// Held-out response loss and perplexity over `examples` (inference mode, token-weighted).
    pub fn report(&self, examples: &[SftExample]) -> Result<GenerationReport> {
        let mut acc = LossAccumulator::default();
        for chunk in examples.chunks(EVAL_BATCH) {
            let refs: Vec<&SftExample> = chunk.iter().collect();
            let l = self.batch_loss(&refs, false)?;
            let mean = l.loss.to_dtype(DType::F64)?.to_scalar::<f64>()?;
            acc.add(mean, l.count, chunk.len());
        }
        Ok(acc.report())
    }

    /// Saves the LoRA factors in PEFT's layout (`adapter_config.json` +
    /// `adapter_model.safetensors`, task type `CAUSAL_LM`) to `dir`. Errors when the model has no
    /// LoRA factors (full fine-tuning saves checkpoints instead).
    pub fn save_adapter(&self, dir: &Path, config: &LoraConfig, base_model: &str) -> Result<()> {
        let mut config = config.clone();
        // PEFT lists the module names that carry factors; let `save` derive them from the VarMap.
        config.target_modules.clear();
        peft::save(
            dir,
            &config,
            self.model.trainable(),
            &SaveOptions {
                base_model_name_or_path: base_model.to_string(),
                task_type: Some("CAUSAL_LM".into()),
                modules_to_save: Vec::new(),
            },
        )
    }
}

impl TrainTask for SftTask {
    type Example = SftExample;

    fn trainable(&self) -> Vec<(String, Var)> {
        let map = self.model.trainable();
        match map.data().lock() {
            Ok(m) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            Err(poisoned) => poisoned
                .into_inner()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    fn loss(&mut self, batch: &[&SftExample], _rng: &mut Rng) -> Result<BatchLoss> {
        let l = self.batch_loss(batch, true)?;
        Ok(BatchLoss {
            loss: l.loss,
            units: l.count,
            tokens: batch.iter().map(|e| e.ids.len()).sum(),
        })
    }

    fn evaluate(&mut self, examples: &[SftExample]) -> Result<Metrics> {
        let r = self.report(examples)?;
        Ok(Metrics::from([
            ("loss".to_string(), r.loss),
            ("perplexity".to_string(), r.perplexity),
        ]))
    }

    fn length(&self, example: &SftExample) -> Option<usize> {
        Some(example.ids.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_tokens_are_masked_and_response_tokens_are_their_own_labels() {
        let e = SftExample::new(&[1, 2, 3], &[1, 2, 3, 7, 8], 16).unwrap();
        assert_eq!(e.ids, vec![1, 2, 3, 7, 8]);
        assert_eq!(
            e.labels,
            vec![IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX, 7, 8]
        );
        assert_eq!(e.response_tokens(), 2);
    }

    #[test]
    fn a_token_merged_across_the_boundary_is_learned_not_masked() {
        // The prompt ends in token 3, but the full text tokenised `3 + response start` as 9.
        let e = SftExample::new(&[1, 2, 3], &[1, 2, 9, 8], 16).unwrap();
        assert_eq!(e.labels, vec![IGNORE_INDEX, IGNORE_INDEX, 9, 8]);
    }

    #[test]
    fn truncation_keeps_the_prompt_and_cuts_the_response() {
        let e = SftExample::new(&[1, 2], &[1, 2, 5, 6, 7], 3).unwrap();
        assert_eq!(e.ids, vec![1, 2, 5]);
        assert_eq!(e.labels, vec![IGNORE_INDEX, IGNORE_INDEX, 5]);
    }

    #[test]
    fn a_prompt_that_fills_max_len_is_an_error_not_an_empty_example() {
        let err = SftExample::new(&[1, 2, 3], &[1, 2, 3, 4], 3).unwrap_err();
        assert!(err.to_string().contains("--max-len"), "{err}");
    }
}
