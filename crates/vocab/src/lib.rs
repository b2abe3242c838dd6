//! The vocabulary every Tunesmith crate shares, defined once: how a model is fine-tuned
//! ([`Method`]) and in what number format ([`Precision`]), how a long job is cancelled or paused from another thread ([`CancelHandle`]) and
//! the seeded random numbers that make splits, shuffles, sampling and dropout reproducible
//! ([`SplitMix64`]), where a model came from ([`ModelSource`]), and what a model folder's `tokenizer_config.json` says ([`TokenizerConfig`]),
//! which the data doctor, the engine's export and the facade's model sessions all read.
//!
//! The engine, the hub client and the data crate do not depend on one another; they all depend on
//! this crate, which depends on none of them (DESIGN.md: dependencies point one way).

#[cfg(feature = "tokenizers")]
pub mod bpe_cache;
pub mod cancel;
pub mod method;
pub mod model_source;
pub mod precision;
pub mod rng;
pub mod tokenizer_config;

pub use cancel::CancelHandle;
pub use method::{Method, UnknownMethod};
pub use model_source::{ModelSource, UnknownModelSource};
pub use precision::{Precision, UnknownPrecision};
pub use rng::SplitMix64;
pub use tokenizer_config::{TokenizerConfig, TOKENIZER_CONFIG_FILE};
