//! A loaded sentence encoder's model side: a BERT-family checkpoint, frozen, on the CPU, with its
//! own tokenizer, turning a batch of texts into each token's hidden vector and the mask of real
//! tokens. How those vectors become one per text (the sentence-transformers recipe's pooling and
//! normalisation) is decided above the engine, by the RAG crate's recipe.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;
use tokenizers::Tokenizer;

use crate::models::bert::{BertConfig, BertModel};
use crate::models::checkpoint::Checkpoint;
use crate::nn::params::Backbone;
use crate::tokenizer::hf::read_tokenizer;
use crate::{EngineError, Result};

/// A frozen BERT-family encoder for embeddings, on the CPU (embedding a few thousand passages is
/// fast there, and it leaves an accelerator to training).
pub struct SentenceModel {
    model: BertModel,
    tokenizer: Tokenizer,
    max_tokens: usize,
    dimension: usize,
    device: Device,
}

/// A batch's hidden vectors: `rows` texts of `len` positions each (padded), `dimension` numbers
/// per position, row after row, and the mask (1 for a real token, 0 for padding) of each position.
#[derive(Debug, Clone, PartialEq)]
pub struct HiddenStates {
    /// `rows * len * dimension` numbers.
    pub values: Vec<f32>,
    /// `rows * len` marks.
    pub mask: Vec<u32>,
    /// Texts in the batch.
    pub rows: usize,
    /// Positions per text.
    pub len: usize,
}

impl SentenceModel {
    /// Loads the encoder in `dir`, reading at most `max_seq_length` tokens per text (the model's
    /// usable positions when `None` or more; 512 at most when unsaid). A `tokenizer.json` that
    /// cannot be loaded is [`EngineError::Checkpoint`] naming it.
    pub fn load(dir: &Path, max_seq_length: Option<usize>) -> Result<SentenceModel> {
        let cfg = BertConfig::from_file(&dir.join("config.json"))?;
        let device = Device::Cpu;
        let params =
            Checkpoint::open(dir)?.params(DType::F32, &device, VarMap::new(), Backbone::Frozen)?;
        let model = BertModel::load(&params, &cfg)?;
        let tokenizer_file = dir.join("tokenizer.json");
        // The engine's one reader of tokenizer.json: size and shape checked, the library's panics
        // contained, the BPE without the library's leaking word cache.
        let mut tokenizer = read_tokenizer(&tokenizer_file).map_err(|e| match e {
            EngineError::Checkpoint { path, reason } => EngineError::Checkpoint {
                path,
                reason: format!(
                    "the tokenizer cannot be loaded (it {reason}); an embedding model folder needs tokenizer.json"
                ),
            },
            other => other,
        })?;
        // sentence-transformers' tokenizer.json often pads and truncates to a fixed length
        // (all-MiniLM: 128). Counting tokens for chunking must see the text alone, and batches are
        // padded and truncated here, to the recipe's max_seq_length, with a matching attention mask.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(None)
            .map_err(|e| EngineError::Checkpoint {
                path: tokenizer_file.clone(),
                reason: format!("its truncation settings cannot be cleared ({e})"),
            })?;
        Ok(SentenceModel {
            model,
            tokenizer,
            max_tokens: max_seq_length.unwrap_or(512).min(cfg.usable_positions()),
            dimension: cfg.hidden_size,
            device,
        })
    }

    /// The longest input the model reads, in tokens.
    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    /// The numbers per token vector.
    pub fn dimension(&self) -> usize {
        self.dimension
    }

    /// How many tokens `text` is, without special tokens (chunking budgets the text itself); a
    /// text the tokenizer rejects counts its words rather than failing the whole index.
    pub fn count(&self, text: &str) -> usize {
        self.tokenizer
            .encode(text, false)
            .map(|e| e.len())
            .unwrap_or_else(|_| text.split_whitespace().count())
    }

    /// Each text's token vectors, truncated to what the model reads (keeping the closing
    /// separator) and padded to the longest.
    pub fn hidden_states(&self, texts: &[&str]) -> Result<HiddenStates> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| EngineError::Invalid(e.to_string()))?;
        let rows: Vec<Vec<u32>> = encodings
            .iter()
            .map(|e| {
                let ids = e.get_ids();
                if ids.len() <= self.max_tokens {
                    ids.to_vec()
                } else {
                    let mut v = ids[..self.max_tokens - 1].to_vec();
                    v.push(*ids.last().unwrap_or(&0));
                    v
                }
            })
            .collect();
        let len = rows.iter().map(Vec::len).max().unwrap_or(0).max(1);
        let mut ids = Vec::with_capacity(rows.len() * len);
        let mut mask = Vec::with_capacity(rows.len() * len);
        for r in &rows {
            let pad = len - r.len();
            ids.extend(r.iter().copied().chain(std::iter::repeat_n(0, pad)));
            mask.extend(std::iter::repeat_n(1u32, r.len()).chain(std::iter::repeat_n(0, pad)));
        }
        let b = rows.len();
        let ids_t = Tensor::from_vec(ids, (b, len), &self.device)?;
        let mask_t = Tensor::from_vec(mask.clone(), (b, len), &self.device)?;
        let hidden = self.model.forward_t(&ids_t, &mask_t, None, false)?;
        let values: Vec<f32> = hidden.flatten_all()?.to_vec1()?;
        Ok(HiddenStates {
            values,
            mask,
            rows: b,
            len,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_padded_to_its_longest_text_with_a_mask_of_its_real_tokens() {
        let dir = tunesmith_testkit::paths::fixtures_dir().join("tiny-bert");
        let m = SentenceModel::load(&dir, Some(8)).unwrap();
        assert_eq!(m.max_tokens(), 8);
        let long = "the cat sat on the mat and then the dog sat on the log";
        let h = m.hidden_states(&["cat", long]).unwrap();
        assert_eq!((h.rows, h.len), (2, 8), "the long text is cut to 8 tokens");
        assert_eq!(h.values.len(), 2 * 8 * m.dimension());
        let short: u32 = h.mask[..8].iter().sum();
        assert!(
            short < 8 && short >= 3,
            "[CLS] cat [SEP], then padding: {:?}",
            h.mask
        );
        assert!(h.mask[8..].iter().all(|&x| x == 1));
        assert!(m.count(long) > 8, "counting does not truncate");
    }
}
