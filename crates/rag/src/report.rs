//! What indexing did with every file it was given: added, updated, unchanged, or skipped with the
//! problem that stopped it. Nothing is dropped without a line in this report.

use std::fmt;

use serde::Serialize;

/// Why a file gave no passages.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Problem {
    /// Bigger than the size limit.
    TooLarge {
        /// The file's size.
        bytes: u64,
        /// The limit.
        limit: u64,
    },
    /// No text at all.
    Empty,
    /// The file could not be read or parsed.
    Unreadable {
        /// Why, in words.
        reason: String,
    },
    /// A PDF with pages but no text layer: a scan.
    NoTextLayer {
        /// How many pages it has.
        pages: u32,
    },
    /// An extension Tunesmith does not read.
    Unsupported {
        /// The extension, or "" for none.
        extension: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::TooLarge { bytes, limit } => write!(
                f,
                "too large: {:.1} MB, over the {:.1} MB limit; split it into smaller files or raise the limit",
                *bytes as f64 / 1e6,
                *limit as f64 / 1e6
            ),
            Problem::Empty => write!(f, "empty: it holds no text"),
            Problem::Unreadable { reason } => write!(f, "unreadable: {reason}"),
            Problem::NoTextLayer { pages } => write!(
                f,
                "no text layer: its {pages} page(s) are images (a scan?); run it through OCR and index the result"
            ),
            Problem::Unsupported { extension } if extension.is_empty() => {
                write!(f, "not a supported format (no extension); Tunesmith reads {}", crate::Format::SUPPORTED)
            }
            Problem::Unsupported { extension } => {
                write!(f, "not a supported format (.{extension}); Tunesmith reads {}", crate::Format::SUPPORTED)
            }
        }
    }
}

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    /// New to the index.
    Added,
    /// Its content changed (or the index's settings did) and it was read again.
    Updated,
    /// Same content as last time: kept as it was, not read again.
    Unchanged,
    /// Not indexed; see the problem.
    Skipped,
}

/// One file's line in the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FileReport {
    /// The file's absolute path.
    pub source: String,
    /// What happened.
    pub status: FileStatus,
    /// How many passages it has in the index now.
    pub chunks: usize,
    /// Why it was skipped.
    pub problem: Option<Problem>,
    /// The problem in words, for people.
    pub message: Option<String>,
    /// Things worth knowing that did not stop it being indexed.
    pub warnings: Vec<String>,
}

/// The outcome of one indexing run.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct IngestReport {
    /// Every file found, in the order found.
    pub files: Vec<FileReport>,
    /// Files that were in the index but are no longer among the inputs, now dropped from it.
    pub removed: Vec<String>,
    /// Set when the index's settings (model, tokenizer, chunk size) changed, so every file was read
    /// again: the reason.
    pub rebuilt: Option<String>,
    /// Documents in the index afterwards.
    pub documents: usize,
    /// Passages in the index afterwards.
    pub chunks: usize,
}

impl IngestReport {
    /// The files that were skipped, with their problem.
    pub fn problems(&self) -> impl Iterator<Item = &FileReport> {
        self.files
            .iter()
            .filter(|f| f.status == FileStatus::Skipped)
    }

    /// How many files ended with `status`.
    pub fn count(&self, status: FileStatus) -> usize {
        self.files.iter().filter(|f| f.status == status).count()
    }
}
