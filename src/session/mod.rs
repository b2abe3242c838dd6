//! Loaded models, one loader per family: a decoder ([`DecoderSession`]: Llama-family, for
//! generation runs, chat and compare) and an encoder ([`EncoderSession`]: BERT-family, for
//! classification runs). Each returns the model with its tokenizer (and for a decoder its chat
//! template and stop tokens), loaded as a plan trains it or as a run ended; a decoder generates
//! through one entry point, [`DecoderSession::generate`].
//!
//! Training, evaluation, prediction, chat and compare load models here and nowhere else; what a
//! run contributes to chat and compare is [`RunWeights`].

pub mod decoder;
pub mod encoder;
pub(crate) mod restore;
pub mod run_weights;

pub use decoder::{
    AnswerOptions, DecoderSession, DecoderText, DEFAULT_MAX_TOKENS, DEFAULT_TEMPERATURE,
    PLAIN_TEMPLATE,
};
pub use encoder::EncoderSession;
pub use run_weights::RunWeights;
