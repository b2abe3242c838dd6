//! A loaded sentence encoder: a BERT-family checkpoint run by the engine as the RAG crate's
//! [`Embedder`] and [`TokenCounter`], pooled as its folder's sentence-transformers recipe says
//! (`modules.json`: pooling and normalisation), counting tokens with its own tokenizer.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use tunesmith_engine::models::bert::{BertConfig, BertModel};
use tunesmith_engine::models::checkpoint::Checkpoint;
use tunesmith_engine::nn::params::Backbone;
use tunesmith_hub::locate::Located;
use tunesmith_rag::sentence_config::pool;
use tunesmith_rag::{Embedder, RagError, SentenceConfig, TokenCounter};

use crate::rag::DEFAULT_EMBED_MODEL;
use crate::Result;

/// A sentence encoder: a BERT-family checkpoint run by the engine, pooled as its folder's
/// sentence-transformers recipe says, on the CPU (embedding a few thousand passages is fast there,
/// and it leaves an accelerator to training).
pub struct SentenceEncoder {
    id: String,
    model: BertModel,
    tokenizer: tokenizers::Tokenizer,
    recipe: SentenceConfig,
    max_tokens: usize,
    dimension: usize,
    device: Device,
}

impl SentenceEncoder {
    /// Loads the model named by `spec`: a model folder, or a hub id from the HF cache (downloaded when
    /// missing if `allow_download`).
    pub fn load(spec: &str, allow_download: bool) -> Result<SentenceEncoder> {
        let dir = match crate::models::resolve(spec, "main", allow_download, &mut |_| {})? {
            Located::Folder(dir) => dir,
            Located::Gguf(file) => {
                return Err(RagError::Settings(format!(
                    "{} is a GGUF file; an embedding model is a folder with config.json, model.safetensors and tokenizer.json (for example {DEFAULT_EMBED_MODEL})",
                    file.display()
                ))
                .into())
            }
        };
        // A folder is recorded by its absolute path so that queries from any directory find it.
        let id = if Path::new(spec).exists() {
            std::fs::canonicalize(spec)
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| spec.to_string())
        } else {
            spec.to_string()
        };
        SentenceEncoder::from_dir(&dir, id)
    }

    /// Loads the encoder in `dir`, to be recorded in indexes as `id`.
    pub fn from_dir(dir: &Path, id: String) -> Result<SentenceEncoder> {
        let recipe = SentenceConfig::read(dir)?;
        let cfg = BertConfig::from_file(&dir.join("config.json"))?;
        let device = Device::Cpu;
        let checkpoint = Checkpoint::open(dir)?;
        let params = checkpoint.params(
            DType::F32,
            &device,
            candle_nn::VarMap::new(),
            Backbone::Frozen,
        )?;
        let model = BertModel::load(&params, &cfg)?;
        let tokenizer_file = dir.join("tokenizer.json");
        let mut tokenizer = tokenizers::Tokenizer::from_file(&tokenizer_file).map_err(|e| RagError::Input {
            path: tokenizer_file.clone(),
            reason: format!("the tokenizer cannot be loaded ({e}); an embedding model folder needs tokenizer.json"),
        })?;
        // sentence-transformers' tokenizer.json often pads and truncates to a fixed length (all-MiniLM:
        // 128). Counting tokens for chunking must see the text alone, and batches are padded and
        // truncated here, to the recipe's max_seq_length, with a matching attention mask.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(None)
            .map_err(|e| RagError::Input {
                path: tokenizer_file.clone(),
                reason: format!("its truncation settings cannot be cleared ({e})"),
            })?;
        let max_tokens = recipe
            .max_seq_length
            .unwrap_or(512)
            .min(cfg.usable_positions());
        Ok(SentenceEncoder {
            id,
            model,
            tokenizer,
            recipe,
            max_tokens,
            dimension: cfg.hidden_size,
            device,
        })
    }

    fn encode_batch(&self, texts: &[&str]) -> std::result::Result<Vec<Vec<f32>>, String> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| e.to_string())?;
        // Truncate to what the model reads (keeping the closing [SEP]) and pad to the longest.
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
        let ids_t = Tensor::from_vec(ids, (b, len), &self.device).map_err(|e| e.to_string())?;
        let mask_t =
            Tensor::from_vec(mask.clone(), (b, len), &self.device).map_err(|e| e.to_string())?;
        let hidden = self
            .model
            .forward_t(&ids_t, &mask_t, None, false)
            .map_err(|e| e.to_string())?;
        let hidden: Vec<f32> = hidden
            .flatten_all()
            .and_then(|h| h.to_vec1())
            .map_err(|e| e.to_string())?;
        let per_row = len * self.dimension;
        Ok((0..b)
            .map(|i| {
                pool(
                    &hidden[i * per_row..(i + 1) * per_row],
                    &mask[i * len..(i + 1) * len],
                    self.dimension,
                    &self.recipe,
                )
            })
            .collect())
    }

    /// The longest input the model reads, in tokens.
    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }
}

impl Embedder for SentenceEncoder {
    fn model_id(&self) -> String {
        self.id.clone()
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    fn batch_size(&self) -> usize {
        16
    }

    fn embed(&self, texts: &[&str]) -> tunesmith_rag::Result<Vec<Vec<f32>>> {
        self.encode_batch(texts)
            .map_err(|message| RagError::Embedding {
                model: self.id.clone(),
                message,
            })
    }
}

impl TokenCounter for SentenceEncoder {
    fn id(&self) -> String {
        format!("tokenizer of {}", self.id)
    }

    fn count(&self, text: &str) -> usize {
        // Without special tokens: chunking budgets the text itself. A text the tokenizer rejects
        // falls back to a word count rather than failing the whole index.
        self.tokenizer
            .encode(text, false)
            .map(|e| e.len())
            .unwrap_or_else(|_| text.split_whitespace().count())
    }
}
