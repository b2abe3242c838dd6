//! Tunesmith's training engine, built on candle.
//!
//! It promises models that load real Hugging Face checkpoints by their own tensor names and train
//! end to end through differentiable operations, the four fine-tuning methods, and one typed event
//! stream for training. It knows nothing of SQLite, Tauri or specta.
#![deny(missing_docs)]

pub mod adapters;
pub mod calibrate;
pub mod device;
pub mod error;
pub mod export;
pub mod generate;
pub mod gguf;
pub mod metrics;
pub mod models;
pub mod nn;
pub mod precision;
pub mod session;
pub mod task;
pub mod tokenizer;
pub mod train;

pub use error::{EngineError, Result};
