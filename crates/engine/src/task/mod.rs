//! Models adapted to training: each wraps a model family and implements
//! [`crate::train::TrainTask`].
//!
//! - `classify`: sequence classification over BERT-family encoders (full, LoRA, or a head on
//!   features cached once).

pub mod classify;

pub use classify::{ClassifyExample, ClassifyTask};
