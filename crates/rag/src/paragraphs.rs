//! Splitting a document's text into paragraphs, the unit chunking respects first.

/// Splits `text` at blank lines, trimming each paragraph and dropping empty ones. Windows line endings
/// are treated like Unix ones.
pub fn paragraphs(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut last_end = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let blank = line.trim().is_empty();
        if blank {
            if let Some(s) = start.take() {
                out.push(text[s..last_end].trim());
            }
        } else {
            if start.is_none() {
                start = Some(offset);
            }
            last_end = offset + line.len();
        }
        offset += line.len();
    }
    if let Some(s) = start {
        out.push(text[s..last_end].trim());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_lines_separate_paragraphs_and_crlf_is_handled() {
        let text = "First line.\r\nStill first.\r\n\r\n  \r\nSecond.\r\n";
        assert_eq!(
            paragraphs(text),
            vec!["First line.\r\nStill first.", "Second."]
        );
    }
}
