//! Loaded models, one loader per family: a decoder ([`DecoderSession`]: Llama-family, for
//! generation runs, chat and compare), an encoder ([`EncoderSession`]: BERT-family, for
//! classification runs) and a sentence encoder ([`SentenceEncoder`]: BERT-family embeddings for
//! document indexes). Each returns the model with its tokenizer (and for a decoder its chat
//! template and stop tokens), loaded as a plan trains it or as a run ended; a decoder generates
//! through one entry point, [`DecoderSession::generate`].
//!
//! Training, evaluation, prediction, chat, compare and RAG load models here and nowhere else; what a
//! run contributes to chat and compare is [`RunWeights`].
//!
//! The tensor work is the engine's ([`tunesmith_engine::session`]: loading, tokenising, restoring
//! a run's weights, generating); what stays here is what the engine must not know: a plan's
//! choices, a dataset's rows, a conversation rendered in the chat template (the data crate's),
//! the RAG crate's pooling.

pub mod decoder;
pub mod encoder;
pub mod run_weights;
pub mod sentence;

pub use decoder::{
    AnswerOptions, DecoderSession, DecoderText, Hold, DEFAULT_MAX_TOKENS, DEFAULT_TEMPERATURE,
    PLAIN_TEMPLATE,
};
pub use encoder::EncoderSession;
pub use run_weights::{BaseHeld, RunWeights};
pub use sentence::SentenceEncoder;

use tunesmith_engine::EngineError;

use crate::Error;

/// An engine error about what it was given (a checkpoint of another model, a text the tokenizer
/// refuses) as the facade's invalid input; any other as the engine's.
pub(crate) fn invalid_of(e: EngineError) -> Error {
    match e {
        EngineError::Invalid(message) => Error::Invalid(message),
        other => Error::Engine(other),
    }
}
