//! GGUF files (llama.cpp's format): metadata, tensors, and their translation to Hugging Face layout.
//!
//! - `header`: a bounded reader of the header (every length capped, every tensor inside the file).
//! - `file`: opening a `.gguf`, typed metadata access, reading one tensor quantised or dequantised,
//!   with errors naming the file and the tensor.
//! - `names`: GGUF tensor names (`blk.3.attn_q.weight`) to and from the checkpoint names our models
//!   use (`model.layers.3.self_attn.q_proj.weight`).
//! - `permute`: undoing the row permutation llama.cpp's converter applies to Q and K weights so that
//!   its interleaved RoPE matches; after it, GGUF weights use the same "rotate half" RoPE as
//!   safetensors checkpoints.
//! - `config`: a [`crate::models::llama_config::LlamaConfig`] from `llama.*` metadata.

pub mod config;
pub mod file;
pub mod header;
pub mod names;
pub mod permute;

pub use file::GgufFile;
