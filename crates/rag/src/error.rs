//! The rag crate's errors: each names the thing that failed, where, and what to do about it.
//!
//! Problems with one input file are *not* errors: they are reported per file in the
//! [`IngestReport`](crate::IngestReport) so one bad document never stops the others.

use std::path::PathBuf;

/// Everything retrieval can fail with.
#[derive(Debug, thiserror::Error)]
pub enum RagError {
    /// The index database could not be opened, read or written.
    #[error("the document index {path} cannot be used: {source}. Delete it and index the documents again if it is damaged.")]
    Database {
        /// The index file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// A path given to index does not exist or cannot be listed.
    #[error("{path} cannot be read: {reason}. Check the path and its permissions.")]
    Input {
        /// The path as given.
        path: PathBuf,
        /// Why it cannot be read.
        reason: String,
    },
    /// The embedding model failed.
    #[error("the embedding model {model} failed: {message}")]
    Embedding {
        /// The model's identifier.
        model: String,
        /// What went wrong.
        message: String,
    },
    /// A setting is out of range.
    #[error("{0}")]
    Settings(String),
    /// The index was built in a way that cannot answer this request.
    #[error("{0}")]
    Mismatch(String),
}

/// The rag crate's result alias.
pub type Result<T> = std::result::Result<T, RagError>;
