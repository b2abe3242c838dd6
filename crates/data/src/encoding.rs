//! Which text encoding a file uses, and whether it is text at all.
//!
//! Spreadsheets export UTF-8 (with or without a byte-order mark), UTF-16 ("Unicode Text" in Excel)
//! or Windows-1252/Latin-1 (older Excel, CRM exports). Tunesmith detects each from the first bytes,
//! converts to UTF-8 and tells the user; it refuses files that are not text (a workbook, an archive,
//! an image) with a message that says what the file looks like and how to export it instead.

use serde::Serialize;

/// A text encoding Tunesmith reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "kebab-case")]
pub enum TextEncoding {
    /// UTF-8 without a byte-order mark.
    Utf8,
    /// UTF-8 starting with the byte-order mark EF BB BF (Excel's "CSV UTF-8").
    Utf8Bom,
    /// UTF-16, little-endian.
    Utf16Le,
    /// UTF-16, big-endian.
    Utf16Be,
    /// Windows-1252, the superset of Latin-1 that Windows exports use; converted to UTF-8.
    Windows1252,
}

impl TextEncoding {
    /// A readable name for messages.
    pub fn label(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "UTF-8",
            TextEncoding::Utf8Bom => "UTF-8 with a byte-order mark",
            TextEncoding::Utf16Le => "UTF-16 (little-endian)",
            TextEncoding::Utf16Be => "UTF-16 (big-endian)",
            TextEncoding::Windows1252 => "Windows-1252 (Latin-1)",
        }
    }

    /// Whether the bytes are converted to UTF-8 while reading (the user is told).
    pub fn is_converted(self) -> bool {
        !matches!(self, TextEncoding::Utf8 | TextEncoding::Utf8Bom)
    }
}

/// What the first bytes of a file say about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sniffed {
    /// Text in this encoding.
    Text(TextEncoding),
    /// Not text: what it looks like, and what to do.
    Binary {
        /// What the file looks like ("an Excel workbook (.xlsx)").
        what: String,
        /// What to do instead.
        advice: String,
    },
}

const SAVE_AS_CSV: &str = "Open it in your spreadsheet program and use File > Save As > \"CSV UTF-8\", then choose that file.";

/// Looks at a file's first bytes (a few kilobytes are enough) and says what it is.
pub fn sniff(sample: &[u8]) -> Sniffed {
    if let Some(binary) = magic(sample) {
        return binary;
    }
    if sample.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Sniffed::Text(TextEncoding::Utf8Bom);
    }
    if sample.starts_with(&[0xFF, 0xFE]) {
        return Sniffed::Text(TextEncoding::Utf16Le);
    }
    if sample.starts_with(&[0xFE, 0xFF]) {
        return Sniffed::Text(TextEncoding::Utf16Be);
    }
    // UTF-16 without a mark: ASCII text leaves every other byte zero.
    if sample.len() >= 4 {
        let pairs = sample.len() / 2;
        let zero_odd = sample
            .iter()
            .skip(1)
            .step_by(2)
            .filter(|&&b| b == 0)
            .count();
        let zero_even = sample.iter().step_by(2).filter(|&&b| b == 0).count();
        if zero_odd * 10 >= pairs * 7 && zero_even * 10 <= pairs {
            return Sniffed::Text(TextEncoding::Utf16Le);
        }
        if zero_even * 10 >= pairs * 7 && zero_odd * 10 <= pairs {
            return Sniffed::Text(TextEncoding::Utf16Be);
        }
    }
    let nul = sample.iter().filter(|&&b| b == 0).count();
    let control = sample
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0C))
        .count();
    if nul > 0 || control * 20 > sample.len().max(1) {
        return Sniffed::Binary {
            what: "it holds binary data (zero bytes or control characters), not rows of text"
                .into(),
            advice: "Export the data as CSV, TSV or JSONL and choose that file.".into(),
        };
    }
    if valid_utf8_prefix(sample) {
        Sniffed::Text(TextEncoding::Utf8)
    } else {
        Sniffed::Text(TextEncoding::Windows1252)
    }
}

fn magic(sample: &[u8]) -> Option<Sniffed> {
    let known: [(&[u8], &str, &str); 8] = [
        (
            b"PK\x03\x04",
            "an Excel workbook (.xlsx) or another zip archive",
            SAVE_AS_CSV,
        ),
        (
            b"\xD0\xCF\x11\xE0",
            "an old Excel workbook (.xls) or another Office document",
            SAVE_AS_CSV,
        ),
        (
            b"%PDF",
            "a PDF document",
            "Tunesmith trains on tables of examples: export them as CSV, TSV or JSONL.",
        ),
        (
            b"\x89PNG",
            "a PNG image",
            "Choose the CSV, TSV or JSONL file that holds your examples.",
        ),
        (
            b"\xFF\xD8\xFF",
            "a JPEG image",
            "Choose the CSV, TSV or JSONL file that holds your examples.",
        ),
        (
            b"\x1F\x8B",
            "a gzip-compressed file",
            "Decompress it first (it may be a .csv.gz), then choose the file inside.",
        ),
        (
            b"SQLite format 3\0",
            "an SQLite database",
            "Export the table as CSV, then choose that file.",
        ),
        (
            b"PAR1",
            "a Parquet file",
            "Convert it to CSV or JSONL first (for example with pandas' to_csv).",
        ),
    ];
    known
        .iter()
        .find(|(m, _, _)| sample.starts_with(m))
        .map(|(_, what, advice)| Sniffed::Binary {
            what: (*what).to_string(),
            advice: (*advice).to_string(),
        })
}

/// Whether `bytes` is valid UTF-8, allowing a character cut off at the very end of the sample.
fn valid_utf8_prefix(bytes: &[u8]) -> bool {
    match std::str::from_utf8(bytes) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && bytes.len() - e.valid_up_to() < 4,
    }
}

/// Decodes a sample of the file to text for sniffing (lossy at a cut-off end).
pub fn decode_sample(sample: &[u8], encoding: TextEncoding) -> String {
    let (enc, body): (&'static encoding_rs::Encoding, &[u8]) = match encoding {
        TextEncoding::Utf8 => (encoding_rs::UTF_8, sample),
        TextEncoding::Utf8Bom => (encoding_rs::UTF_8, &sample[3.min(sample.len())..]),
        TextEncoding::Utf16Le => (encoding_rs::UTF_16LE, strip(sample, &[0xFF, 0xFE])),
        TextEncoding::Utf16Be => (encoding_rs::UTF_16BE, strip(sample, &[0xFE, 0xFF])),
        TextEncoding::Windows1252 => (encoding_rs::WINDOWS_1252, sample),
    };
    let (text, _) = enc.decode_without_bom_handling(body);
    text.into_owned()
}

fn strip<'a>(bytes: &'a [u8], prefix: &[u8]) -> &'a [u8] {
    bytes.strip_prefix(prefix).unwrap_or(bytes)
}

/// Decodes one field's bytes: UTF-8 when valid, otherwise Windows-1252 (every byte sequence is
/// valid Windows-1252, so nothing is lost). Returns whether the fallback was used.
pub fn decode_field(bytes: &[u8], fallback_1252: bool) -> (String, bool) {
    if !fallback_1252 {
        if let Ok(s) = std::str::from_utf8(bytes) {
            return (s.to_string(), false);
        }
    }
    let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
    (text.into_owned(), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_xlsx_workbook_is_named_and_the_user_told_to_save_as_csv() {
        match sniff(b"PK\x03\x04\x14\x00\x06\x00") {
            Sniffed::Binary { what, advice } => {
                assert!(what.contains("Excel"));
                assert!(advice.contains("CSV UTF-8"));
            }
            other => panic!("expected binary, got {other:?}"),
        }
    }

    #[test]
    fn utf16_without_a_mark_is_recognised_from_its_zero_bytes() {
        let bytes: Vec<u8> = "text,label\nhi,pos\n"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        assert_eq!(sniff(&bytes), Sniffed::Text(TextEncoding::Utf16Le));
    }

    #[test]
    fn latin1_bytes_fall_back_to_windows_1252() {
        assert_eq!(
            sniff(b"text,label\ncaf\xE9,pos\n"),
            Sniffed::Text(TextEncoding::Windows1252)
        );
        assert_eq!(decode_field(b"caf\xE9", false), ("café".to_string(), true));
    }

    #[test]
    fn a_utf8_character_cut_at_the_sample_end_is_still_utf8() {
        let s = "héllo".as_bytes();
        assert_eq!(sniff(&s[..2]), Sniffed::Text(TextEncoding::Utf8));
    }
}
