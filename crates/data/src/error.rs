//! The data crate's errors: each says which file, where, and what the user can do about it.
//!
//! Problems inside a readable file (a ragged row, an empty label) are not errors of this type: they
//! are findings in the doctor's report, so one bad row never hides the rest of the file.

use std::path::PathBuf;

/// Everything reading a dataset can fail with before a report can be made.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {source}. Check that the file exists and that you may read it.")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The file has no bytes at all.
    #[error("{path} is empty (0 bytes). Export your spreadsheet again, or pick the file that holds the rows.")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The file holds no text: a spreadsheet workbook, an archive, an image, ...
    #[error("{path} is not a text file: {what}. {advice}")]
    Binary {
        /// The file.
        path: PathBuf,
        /// What it looks like.
        what: String,
        /// What to do instead.
        advice: String,
    },
    /// The file's structure could not be understood (e.g. a JSONL file whose first line is not JSON).
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong, where, and what to do.
        message: String,
    },
    /// A column named by the user does not exist.
    #[error("{path} has no column `{column}`; its columns are: {available}. Check the spelling of the column name.")]
    NoSuchColumn {
        /// The file.
        path: PathBuf,
        /// The name asked for.
        column: String,
        /// The columns there are.
        available: String,
    },
    /// A model folder's tokenizer or configuration could not be used.
    #[error("the model at {path} cannot be used: {reason}")]
    Model {
        /// The model folder or file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A chat template could not be compiled or rendered.
    #[error("the chat template cannot be used: {0}")]
    Template(String),
    /// A split was asked for with impossible settings.
    #[error("the split cannot be made: {0}")]
    Split(String),
}

/// The data crate's result alias.
pub type Result<T> = std::result::Result<T, DataError>;
