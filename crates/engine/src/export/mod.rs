//! Exporting a fine-tuned decoder for other tools: merged into its base as a transformers folder
//! (safetensors) or as one GGUF file for llama.cpp, with an Ollama `Modelfile` beside it; and a
//! fine-tuned encoder classifier as a sentence-transformers folder (`classifier`).
//!
//! - `decoder_weights`: the base's dense weights by transformers' names, with a LoRA adapter folded
//!   in or a full fine-tune's weights put in place.
//! - `hf_folder`: `config.json` + `model.safetensors` + tokenizer files.
//! - `gguf_write`: llama.cpp's names, Q/K permutation and metadata; F16 or Q8_0 matrices.
//! - `gguf_tokenizer`: a `tokenizer.json` as GGUF tokenizer metadata.
//! - `modelfile`: the Ollama `Modelfile`.
//! - `base_id`: the base model's hub id (for `base_model_name_or_path`), and how it was found.
//! - `peft_export`: the PEFT adapter as a Python user loads it (training already saves PEFT's
//!   layout; the export names the base by hub id and adds a README).

pub mod base_id;
pub mod classifier;
pub mod decoder_weights;
pub mod gguf_tokenizer;
pub mod gguf_write;
pub mod hf_folder;
pub mod modelfile;
pub mod peft_export;

use std::io::Write;
use std::path::Path;

pub use decoder_weights::{BaseSource, DecoderWeights};
pub use gguf_write::{write_gguf, GgufType};
pub use hf_folder::write_hf_folder;

use crate::train::checkpoint::write_error;
use crate::{EngineError, Result};

/// Writes `text` to `path` and flushes it to disk.
pub(crate) fn write_text(path: &Path, text: &str) -> Result<()> {
    let mut f = std::fs::File::create(path).map_err(|e| EngineError::Checkpoint {
        path: path.to_path_buf(),
        reason: format!("cannot be created: {e}"),
    })?;
    f.write_all(text.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| write_error(path, text.len() as u64, &e))
}

/// The error for a safetensors file that could not be written to `path` (about `needed` bytes).
pub(crate) fn safetensors_write_error(
    path: &Path,
    needed: u64,
    e: safetensors::SafeTensorError,
) -> EngineError {
    match e {
        safetensors::SafeTensorError::IoError(io) => write_error(path, needed, &io),
        other => EngineError::Checkpoint {
            path: path.to_path_buf(),
            reason: format!("cannot be written: {other}"),
        },
    }
}
