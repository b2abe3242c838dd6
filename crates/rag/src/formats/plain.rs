//! Plain text and Markdown: paragraphs separated by blank lines, located by their lines.

use crate::decode::decode_text;
use crate::document::{Block, Document};
use crate::location::{Location, LocationKind};
use crate::paragraphs::paragraphs;
use crate::report::Problem;

/// Reads a text or Markdown file.
pub fn read(bytes: &[u8]) -> std::result::Result<Document, Problem> {
    let decoded = decode_text(bytes).map_err(|reason| Problem::Unreadable { reason })?;
    let text = decoded.text.replace("\r\n", "\n");
    Ok(Document {
        blocks: blocks(&text),
        merge_blocks: true,
        warnings: decoded.warning.into_iter().collect(),
    })
}

/// One block per paragraph with its 1-based line range.
pub fn blocks(text: &str) -> Vec<Block> {
    let base = text.as_ptr() as usize;
    paragraphs(text)
        .into_iter()
        .map(|p| {
            let offset = p.as_ptr() as usize - base;
            let first = 1 + text[..offset].matches('\n').count() as u32;
            let last = first + p.matches('\n').count() as u32;
            Block {
                text: p.to_string(),
                location: Location::range(LocationKind::Line, first, last),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_carry_their_line_numbers() {
        let d = read(b"# Title\n\nFirst para\ncontinues.\n\n\nLast.").unwrap();
        let got: Vec<(String, String)> = d
            .blocks
            .iter()
            .map(|b| (b.text.clone(), b.location.to_string()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("# Title".into(), "line 1".into()),
                ("First para\ncontinues.".into(), "lines 3-4".into()),
                ("Last.".into(), "line 7".into())
            ]
        );
    }
}
