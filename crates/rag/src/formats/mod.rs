//! The document formats Tunesmith reads, one reader per file, chosen by the file's extension.
//!
//! Every reader turns bytes into a [`Document`] or a [`Problem`] that says, in words a user can act
//! on, why the file gave no text. Readers never panic on a user's file: the PDF reader, whose parser
//! is the most exposed, also turns a parser panic into a problem.

pub mod csv;
pub mod docx;
pub mod html;
pub mod pdf;
pub mod plain;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::document::Document;
use crate::report::Problem;

/// A format Tunesmith can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// `.txt` (and `.text`).
    Text,
    /// `.md` / `.markdown`.
    Markdown,
    /// `.csv`: one passage per row.
    Csv,
    /// `.pdf`: the text layer, page by page.
    Pdf,
    /// `.docx`: Word documents, paragraph by paragraph.
    Docx,
    /// `.html` / `.htm`: the visible text, block by block.
    Html,
}

impl Format {
    /// The format for `path`'s extension (case-insensitive), if supported.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "txt" | "text" => Format::Text,
            "md" | "markdown" => Format::Markdown,
            "csv" => Format::Csv,
            "pdf" => Format::Pdf,
            "docx" => Format::Docx,
            "html" | "htm" => Format::Html,
            _ => return None,
        })
    }

    /// The extensions, for messages.
    pub const SUPPORTED: &'static str = ".txt, .md, .csv, .pdf, .docx, .html";

    /// Reads a file of this format from its bytes.
    pub fn read(self, bytes: &[u8]) -> std::result::Result<Document, Problem> {
        let doc = match self {
            Format::Text | Format::Markdown => plain::read(bytes)?,
            Format::Csv => csv::read(bytes)?,
            Format::Pdf => pdf::read(bytes)?,
            Format::Docx => docx::read(bytes)?,
            Format::Html => html::read(bytes)?,
        };
        if doc.is_empty() {
            return Err(Problem::Empty);
        }
        Ok(doc)
    }
}
