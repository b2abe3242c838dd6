//! Models adapted to training: each wraps a model family and implements
//! [`crate::train::TrainTask`].
//!
//! - `classify`: sequence classification over BERT-family encoders (full, LoRA, or a head on
//!   features cached once).
//! - `sft`: supervised fine-tuning of Llama-family decoders on prompt/response pairs, loss on the
//!   response tokens only (full, LoRA, QLoRA).

pub mod classify;
pub mod sft;

pub use classify::{ClassifyExample, ClassifyTask};
pub use sft::{SftExample, SftTask};
