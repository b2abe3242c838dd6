//! The one error shape that crosses to the UI and the CLI: a message a domain expert can act on,
//! and a `code` where the UI branches on it.

use serde::Serialize;

/// Everything the application API can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The home folder could not be found or created.
    #[error("the Tunesmith folder {path} cannot be used: {reason}. Choose another with --home or TUNESMITH_HOME.")]
    Home {
        /// The folder.
        path: std::path::PathBuf,
        /// Why it cannot be used.
        reason: String,
    },
    /// What the user asked for cannot be done as asked (a setting out of range, a run of the wrong
    /// kind for the action, a data file that changed since its run): the message names the thing and
    /// what to do instead. Not an engine failure.
    #[error("{0}")]
    Invalid(String),
    /// The training engine failed.
    #[error(transparent)]
    Engine(#[from] tunesmith_engine::EngineError),
    /// The run history failed.
    #[error(transparent)]
    Store(#[from] tunesmith_store::StoreError),
    /// A dataset could not be read.
    #[error(transparent)]
    Data(#[from] tunesmith_data::DataError),
    /// Searching, downloading, importing or estimating a model failed.
    #[error(transparent)]
    Hub(#[from] tunesmith_hub::HubError),
    /// Indexing or searching documents failed.
    #[error(transparent)]
    Rag(#[from] tunesmith_rag::RagError),
    /// A chat or comparison that cannot be carried out as asked (a run without an adapter, a
    /// question file without a question column, passages that do not fit ...).
    #[error("{0}")]
    Chat(String),
    /// A dataset was read but cannot be trained on; the doctor's blocking findings say why.
    #[error("{file} cannot be used for training: {}", .reasons.join("; "))]
    DataUnusable {
        /// The dataset file.
        file: String,
        /// The blocking findings, each with its fix.
        reasons: Vec<String>,
    },

    /// An export that cannot be made as asked (a classifier, an adapter of a full fine-tune, a
    /// destination that exists).
    #[error("{0}")]
    Export(String),

    /// A job would not fit in the memory free now (see [`crate::memory_check`]): the message says
    /// how much it needs, how much is free, and what to change.
    #[error("{0}")]
    Memory(String),

    /// The operating system could not do what was asked (e.g. open a folder in its file manager).
    #[error("{0}")]
    System(String),
}

impl Error {
    /// A stable code the UI can branch on.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Home { .. } => "home",
            Error::Invalid(_) => "invalid",
            Error::Engine(_) => "engine",
            // The model the user chose, not their data file, is what cannot be used.
            Error::Data(tunesmith_data::DataError::Model { .. }) => "model",
            Error::Store(e) => e.code(),
            Error::Data(_) => "data",
            Error::DataUnusable { .. } => "data_unusable",
            Error::Hub(e) => e.code(),
            Error::Rag(_) => "rag",
            Error::Chat(_) => "chat",
            Error::Export(_) => "export",
            Error::Memory(_) => "memory",
            Error::System(_) => "system",
        }
    }
}

/// The serialised form of an error: `{ code, message }`.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ErrorPayload {
    /// A stable code the UI can branch on.
    pub code: String,
    /// A message that says what happened and what to do.
    pub message: String,
}

impl From<&Error> for ErrorPayload {
    fn from(e: &Error) -> Self {
        ErrorPayload {
            code: e.code().to_string(),
            message: e.to_string(),
        }
    }
}

impl Error {
    /// An [`Error::Invalid`] with `message`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::Invalid(message.into())
    }
}

/// The application API's result alias.
pub type Result<T> = std::result::Result<T, Error>;
