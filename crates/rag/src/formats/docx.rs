//! Word documents (`.docx`): a zip holding `word/document.xml`; every non-empty paragraph (including
//! those in table cells) becomes a block numbered in reading order.

use std::io::Read;

use quick_xml::events::Event;

use crate::document::{Block, Document};
use crate::location::{Location, LocationKind};
use crate::report::Problem;

/// `word/document.xml` of a real document is a few megabytes; more is a zip bomb or not a document.
const MAX_XML_BYTES: u64 = 256 * 1024 * 1024;

/// Reads a `.docx` file.
pub fn read(bytes: &[u8]) -> std::result::Result<Document, Problem> {
    let mut archive =
        zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| Problem::Unreadable {
            reason: format!(
                "it is not a valid .docx (not a zip archive: {e}); re-save it from Word as .docx"
            ),
        })?;
    let mut xml = Vec::new();
    {
        let entry = archive.by_name("word/document.xml").map_err(|_| Problem::Unreadable {
            reason: "it has no word/document.xml, so it is not a Word document; re-save it from Word as .docx".to_string(),
        })?;
        entry
            .take(MAX_XML_BYTES)
            .read_to_end(&mut xml)
            .map_err(|e| Problem::Unreadable {
                reason: format!("its text cannot be unpacked: {e}"),
            })?;
    }
    let paragraphs = paragraphs(&xml).map_err(|e| Problem::Unreadable {
        reason: format!("its XML is damaged: {e}"),
    })?;
    let blocks = paragraphs
        .into_iter()
        .enumerate()
        .map(|(i, text)| Block {
            text,
            location: Location::single(LocationKind::Paragraph, i as u32 + 1),
        })
        .collect();
    Ok(Document {
        blocks,
        merge_blocks: true,
        warnings: vec![],
    })
}

/// The non-empty paragraphs of a WordprocessingML body.
fn paragraphs(xml: &[u8]) -> std::result::Result<Vec<String>, quick_xml::Error> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut out = Vec::new();
    let mut current = String::new();
    let mut in_text = false;
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf)? {
            Event::Start(e) if e.local_name().into_inner() == "t" => in_text = true,
            Event::End(e) => match e.local_name().into_inner() {
                "t" => in_text = false,
                "p" => finish(&mut current, &mut out),
                _ => {}
            },
            Event::Empty(e) => match e.local_name().into_inner() {
                "tab" => current.push('\t'),
                "br" | "cr" => current.push('\n'),
                "p" => finish(&mut current, &mut out),
                _ => {}
            },
            Event::Text(t) if in_text => {
                // Entities arrive as separate `GeneralRef` events, so the text itself is literal.
                current.push_str(&t);
            }
            Event::GeneralRef(r) if in_text => {
                let name = r.to_string();
                current.push_str(
                    &crate::formats::html::entity(&name).unwrap_or_else(|| format!("&{name};")),
                );
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    finish(&mut current, &mut out);
    Ok(out)
}

fn finish(current: &mut String, out: &mut Vec<String>) {
    let t = current.trim();
    if !t.is_empty() {
        out.push(t.to_string());
    }
    current.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_runs_tabs_and_entities_are_read_from_document_xml() {
        let xml = br#"<w:document xmlns:w="x"><w:body>
            <w:p><w:r><w:t>Opening </w:t></w:r><w:r><w:t xml:space="preserve">hours &amp; days</w:t></w:r></w:p>
            <w:p/>
            <w:p><w:r><w:t>Mon</w:t><w:tab/><w:t>9-5</w:t></w:r></w:p>
        </w:body></w:document>"#;
        assert_eq!(
            paragraphs(xml).unwrap(),
            vec!["Opening hours & days", "Mon\t9-5"]
        );
    }

    #[test]
    fn a_file_that_is_not_a_zip_is_unreadable() {
        match read(b"hello") {
            Err(Problem::Unreadable { reason }) => assert!(reason.contains("zip"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }
}
