//! The model families the engine trains, each a `Config` mirroring the checkpoint's `config.json`,
//! a `load`, and a differentiable `forward`.
//!
//! - `checkpoint`: opening a checkpoint folder (config.json, single or sharded safetensors) with
//!   checked files and errors that name them; pickle checkpoints refused.
//! - `bert`: BERT-family encoders (BERT, MiniLM, DistilBERT, RoBERTa/XLM-R), pooling, classifier.
//! - `llama_config` / `llama`: Llama-family decoders (Llama 2/3, Mistral, Qwen2, SmolLM2).

pub mod bert;
pub mod checkpoint;
pub mod llama;
pub mod llama_config;
