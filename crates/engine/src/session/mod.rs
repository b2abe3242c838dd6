//! Loaded models, one loader per family: a decoder ([`Decoder`]: Llama-family, for generation
//! runs, chat and compare), an encoder ([`Encoder`]: BERT-family, for classification runs) and a
//! sentence encoder ([`SentenceModel`]: BERT-family token vectors for document indexes). Each
//! returns the model with its tokenizer (and for a decoder its chat template's source and stop
//! tokens), and puts a run's saved weights back ([`restore_trainable`]); a decoder generates
//! through one entry point, [`DecoderTokens::generate`]. Weights trained elsewhere become a run's
//! checkpoint in [`imported`].
//!
//! What is above the engine stays above it: a decoder hands on its chat template as text
//! ([`TemplateSource`]) and takes prompts already rendered, so the engine knows nothing of
//! conversations, datasets or runs; an embedding's pooling is the RAG crate's.

pub mod decoder;
pub mod encoder;
pub mod imported;
pub mod restore;
pub mod sentence;

pub use decoder::{Decoder, DecoderTokens, TemplateSource};
pub use encoder::{ClassifierSetup, Encoder};
pub use restore::restore_trainable;
pub use sentence::{HiddenStates, SentenceModel};
