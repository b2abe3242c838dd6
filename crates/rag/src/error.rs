//! The rag crate's errors: each names the thing that failed, where, and what to do about it.
//!
//! Problems with one input file are *not* errors: they are reported per file in the
//! [`IngestReport`](crate::IngestReport) so one bad document never stops the others.

use std::path::PathBuf;

/// Everything retrieval can fail with.
#[derive(Debug, thiserror::Error)]
pub enum RagError {
    /// The index database could not be opened, read or written.
    #[error("{}", database_message(path, source))]
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

/// The message of [`RagError::Database`]: a full disk says so and where (it is not damage).
fn database_message(path: &std::path::Path, source: &rusqlite::Error) -> String {
    if source.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull) {
        let folder = path.parent().unwrap_or(path);
        return format!(
            "the disk holding {} is full, so the document index {} cannot be written; free some space there \
             (or choose another home folder with --home) and index again. An index that was there keeps its last \
             complete state.",
            folder.display(),
            path.display()
        );
    }
    format!(
        "the document index {} cannot be used: {source}. Delete it and index the documents again if it is damaged.",
        path.display()
    )
}
