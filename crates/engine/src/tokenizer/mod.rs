//! Tokenizers for decoder checkpoints.
//!
//! - `hf`: a checkpoint's own `tokenizer.json`, with padded batches for encoders and decoders.
//! - `gguf`: a byte-level BPE tokenizer rebuilt from a GGUF file's `tokenizer.ggml.*` metadata, plus
//!   its special ids and chat template. (candle's own `TokenizerFromGguf` adds a prefix space and
//!   splits `<|im_start|>` for SmolLM2, so it is not used.)
//! Every BPE is built without the library's word cache, which leaks (`tunesmith_vocab::bpe_cache`).

pub mod gguf;
pub mod hf;

pub use gguf::{GgufTokenizer, SpecialTokens, END_OF_TURN};
pub use hf::{EncodedBatch, TextTokenizer};
