//! A document as the readers hand it to chunking: its text in blocks (paragraphs, pages' paragraphs,
//! spreadsheet rows), each with the place a reader would find it.

use crate::location::Location;

/// One paragraph-like piece of a document with its location.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    /// The text, trimmed, never empty.
    pub text: String,
    /// Where it sits in the document.
    pub location: Location,
}

/// A document's extracted text.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The blocks in reading order.
    pub blocks: Vec<Block>,
    /// Whether neighbouring blocks may share a chunk. Prose may; spreadsheet rows may not, because each
    /// row is one record and a passage mixing two would cite the wrong one.
    pub merge_blocks: bool,
    /// Things a user should know that did not stop the document from being read (for example "read as
    /// Windows-1252" or "pages 3, 4 have no text layer").
    pub warnings: Vec<String>,
}

impl Document {
    /// Whether the document holds any text at all.
    pub fn is_empty(&self) -> bool {
        self.blocks.iter().all(|b| b.text.trim().is_empty())
    }
}
