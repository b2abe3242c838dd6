//! PDF files: the text layer, one block per page, located by page number; a passage never spans
//! two pages, so its citation names one page.
//!
//! A PDF made by scanning paper has pictures of pages and no text layer; it is reported as such
//! (with the advice to run it through OCR) rather than indexed as nothing. Pages without text in an
//! otherwise readable PDF are named in a warning.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::document::{Block, Document};
use crate::location::{Location, LocationKind};
use crate::report::Problem;

/// Reads the text layer of a PDF.
pub fn read(bytes: &[u8]) -> std::result::Result<Document, Problem> {
    // The parser handles hostile input; a panic in it must become a report about this file, not
    // the end of the whole indexing job.
    match catch_unwind(AssertUnwindSafe(|| read_inner(bytes))) {
        Ok(result) => result,
        Err(_) => Err(Problem::Unreadable {
            reason: "the PDF is malformed (its parser gave up)".to_string(),
        }),
    }
}

fn read_inner(bytes: &[u8]) -> std::result::Result<Document, Problem> {
    let doc = lopdf::Document::load_mem(bytes).map_err(|e| Problem::Unreadable {
        reason: format!("it is not a readable PDF ({e})"),
    })?;
    if doc.is_encrypted() {
        return Err(Problem::Unreadable {
            reason: "it is password-protected; save an unprotected copy and index that".to_string(),
        });
    }
    let pages = doc.get_pages();
    if pages.is_empty() {
        return Err(Problem::Empty);
    }
    let mut blocks = Vec::new();
    let mut textless = Vec::new();
    for &page in pages.keys() {
        let text = doc
            .extract_text(&[page])
            .map(|t| clean_page(&t))
            .unwrap_or_default();
        if text.is_empty() {
            textless.push(page);
        } else {
            blocks.push(Block {
                text,
                location: Location::single(LocationKind::Page, page),
            });
        }
    }
    if blocks.is_empty() {
        return Err(Problem::NoTextLayer {
            pages: pages.len() as u32,
        });
    }
    let mut warnings = Vec::new();
    if !textless.is_empty() {
        let list = textless
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        warnings.push(format!(
            "page(s) {list} have no text layer (scanned?) and were left out; run the PDF through OCR to include them"
        ));
    }
    // Pages stay apart so that every passage cites one page.
    Ok(Document {
        blocks,
        merge_blocks: false,
        warnings,
    })
}

/// Joins a page's lines into running text: a PDF's line breaks are where the layout wrapped, not
/// where the author ended a thought. Hyphens at a line end that split a word are removed.
fn clean_page(raw: &str) -> String {
    let mut out = String::new();
    for line in raw.lines() {
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if line.is_empty() {
            continue;
        }
        if out.ends_with('-') && line.starts_with(|c: char| c.is_lowercase()) {
            out.pop();
        } else if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_lines_become_running_text_and_split_words_are_joined() {
        assert_eq!(
            clean_page("The clinic is open from  Mon-\nday to Fri-\nday.\n\nCall us."),
            "The clinic is open from Monday to Friday. Call us."
        );
    }

    #[test]
    fn garbage_is_unreadable_not_a_panic() {
        assert!(matches!(
            read(b"%PDF-1.4 garbage"),
            Err(Problem::Unreadable { .. })
        ));
        assert!(matches!(
            read(b"not a pdf"),
            Err(Problem::Unreadable { .. })
        ));
    }
}
