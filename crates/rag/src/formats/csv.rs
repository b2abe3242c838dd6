//! CSV files: every row is its own passage, written as "column: value" lines so the passage reads on
//! its own, located by its spreadsheet row number (the header is row 1).

use crate::decode::decode_text;
use crate::document::{Block, Document};
use crate::location::{Location, LocationKind};
use crate::report::Problem;

/// Reads a CSV file whose first row names the columns. The delimiter (comma, semicolon or tab) is
/// guessed from the header line.
pub fn read(bytes: &[u8]) -> std::result::Result<Document, Problem> {
    let decoded = decode_text(bytes).map_err(|reason| Problem::Unreadable { reason })?;
    let text = decoded.text;
    let header_line = text.lines().next().unwrap_or("");
    let delimiter = [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| header_line.bytes().filter(|b| b == d).count())
        .unwrap_or(b',');
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| Problem::Unreadable {
            reason: format!("its header row cannot be read: {e}"),
        })?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let mut blocks = Vec::new();
    let mut warnings: Vec<String> = decoded.warning.into_iter().collect();
    for (i, record) in reader.records().enumerate() {
        let row = i as u32 + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                warnings.push(format!("row {row} cannot be read and was left out: {e}"));
                continue;
            }
        };
        let mut lines = Vec::new();
        for (c, value) in record.iter().enumerate() {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            match headers.get(c).filter(|h| !h.is_empty()) {
                Some(h) => lines.push(format!("{h}: {value}")),
                None => lines.push(value.to_string()),
            }
        }
        if !lines.is_empty() {
            blocks.push(Block {
                text: lines.join("\n"),
                location: Location::single(LocationKind::Row, row),
            });
        }
    }
    Ok(Document {
        blocks,
        merge_blocks: false,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_labelled_passages_numbered_like_a_spreadsheet() {
        let d =
            read(b"plan;price;notes\nBasic;10;\nPro;25;\"includes support; priority\"\n").unwrap();
        assert!(!d.merge_blocks);
        assert_eq!(d.blocks[0].text, "plan: Basic\nprice: 10");
        assert_eq!(
            d.blocks[1].text,
            "plan: Pro\nprice: 25\nnotes: includes support; priority"
        );
        assert_eq!(d.blocks[1].location.to_string(), "row 3");
    }

    #[test]
    fn a_header_without_rows_is_an_empty_document() {
        assert!(read(b"a,b\n").unwrap().is_empty());
    }
}
