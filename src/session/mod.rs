//! Loaded models, one loader per family: a decoder ([`DecoderSession`]: Llama-family, for
//! generation runs, chat and compare), an encoder ([`EncoderSession`]: BERT-family, for
//! classification runs) and a sentence encoder ([`SentenceEncoder`]: BERT-family embeddings for
//! document indexes). Each returns the model with its tokenizer (and for a decoder its chat
//! template and stop tokens), loaded as a plan trains it or as a run ended; a decoder generates
//! through one entry point, [`DecoderSession::generate`].
//!
//! Training, evaluation, prediction, chat, compare and RAG load models here and nowhere else; what a
//! run contributes to chat and compare is [`RunWeights`].

pub mod decoder;
pub mod encoder;
pub(crate) mod restore;
pub mod run_weights;
pub mod sentence;

pub use decoder::{
    AnswerOptions, DecoderSession, DecoderText, Hold, DEFAULT_MAX_TOKENS, DEFAULT_TEMPERATURE,
    PLAIN_TEMPLATE,
};
pub use encoder::EncoderSession;
pub use run_weights::{Precision, RunWeights};
pub use sentence::SentenceEncoder;
