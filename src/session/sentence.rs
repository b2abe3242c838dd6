//! A loaded sentence encoder: a BERT-family checkpoint run by the engine as the RAG crate's
//! [`Embedder`] and [`TokenCounter`], pooled as its folder's sentence-transformers recipe says
//! (`modules.json`: pooling and normalisation), counting tokens with its own tokenizer.

use std::path::Path;

use tunesmith_engine::session::SentenceModel;
use tunesmith_engine::EngineError;
use tunesmith_hub::locate::Located;
use tunesmith_rag::sentence_config::pool;
use tunesmith_rag::{Embedder, RagError, SentenceConfig, TokenCounter};

use crate::rag::DEFAULT_EMBED_MODEL;
use crate::Result;

/// A sentence encoder: a BERT-family checkpoint run by the engine ([`SentenceModel`], on the CPU),
/// pooled as its folder's sentence-transformers recipe says.
pub struct SentenceEncoder {
    id: String,
    model: SentenceModel,
    recipe: SentenceConfig,
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
        let model = SentenceModel::load(dir, recipe.max_seq_length).map_err(|e| match e {
            // The folder's tokenizer is the RAG settings' input, as its recipe is.
            EngineError::Checkpoint { path, reason } if path.ends_with("tokenizer.json") => {
                RagError::Input { path, reason }.into()
            }
            other => crate::Error::from(other),
        })?;
        Ok(SentenceEncoder { id, model, recipe })
    }

    fn encode_batch(&self, texts: &[&str]) -> std::result::Result<Vec<Vec<f32>>, String> {
        let hidden = self.model.hidden_states(texts).map_err(|e| e.to_string())?;
        let dimension = self.model.dimension();
        let per_row = hidden.len * dimension;
        Ok((0..hidden.rows)
            .map(|i| {
                pool(
                    &hidden.values[i * per_row..(i + 1) * per_row],
                    &hidden.mask[i * hidden.len..(i + 1) * hidden.len],
                    dimension,
                    &self.recipe,
                )
            })
            .collect())
    }

    /// The longest input the model reads, in tokens.
    pub fn max_tokens(&self) -> usize {
        self.model.max_tokens()
    }
}

impl Embedder for SentenceEncoder {
    fn model_id(&self) -> String {
        self.id.clone()
    }

    fn dimension(&self) -> usize {
        self.model.dimension()
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
        // Without special tokens; a text the tokenizer rejects counts its words (the engine's).
        self.model.count(text)
    }
}
