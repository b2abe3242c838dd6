//! Turning a file's bytes into text: UTF-8 as it is, UTF-16 when its byte-order mark says so, other
//! text read as Windows-1252 (the usual encoding of older Western files) with a warning, and binary
//! content refused.

use encoding_rs::{UTF_16BE, UTF_16LE, WINDOWS_1252};

/// Text decoded from bytes, with a note when it was not UTF-8.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The text.
    pub text: String,
    /// Set when the bytes were not UTF-8: what they were read as.
    pub warning: Option<String>,
}

/// Decodes `bytes`, or says why they are not text.
pub fn decode_text(bytes: &[u8]) -> std::result::Result<Decoded, String> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return decode_text(rest);
    }
    for (bom, enc) in [(&b"\xFF\xFE"[..], UTF_16LE), (&b"\xFE\xFF"[..], UTF_16BE)] {
        if let Some(rest) = bytes.strip_prefix(bom) {
            let (text, had_errors) = enc.decode_without_bom_handling(rest);
            let warning = if had_errors {
                format!(
                    "read as {} with some invalid characters replaced",
                    enc.name()
                )
            } else {
                format!("read as {}", enc.name())
            };
            return Ok(Decoded {
                text: text.into_owned(),
                warning: Some(warning),
            });
        }
    }
    if looks_binary(bytes) {
        return Err(
            "it holds binary data, not text (is it an image, an archive or a program?)".to_string(),
        );
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(Decoded {
            text: s.to_string(),
            warning: None,
        }),
        Err(e) => {
            let (text, _, _) = WINDOWS_1252.decode(bytes);
            Ok(Decoded {
                text: text.into_owned(),
                warning: Some(format!(
                    "not UTF-8 (first invalid byte at offset {}); read as Windows-1252. Save it as UTF-8 if accents look wrong",
                    e.valid_up_to()
                )),
            })
        }
    }
}

/// NUL bytes never occur in text files; many other control characters are a sign of binary too.
fn looks_binary(bytes: &[u8]) -> bool {
    let sample = &bytes[..bytes.len().min(64 * 1024)];
    if sample.contains(&0) {
        return true;
    }
    let controls = sample
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0C))
        .count();
    controls * 20 > sample.len().max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_is_read_as_it_is_and_its_bom_dropped() {
        let d = decode_text("\u{FEFF}caf\u{e9}".as_bytes()).unwrap();
        assert_eq!(d.text, "café");
        assert_eq!(d.warning, None);
    }

    #[test]
    fn latin1_bytes_are_read_as_windows_1252_with_a_warning() {
        let d = decode_text(b"caf\xe9 \x80 5").unwrap();
        assert_eq!(d.text, "café € 5");
        assert!(d.warning.unwrap().contains("Windows-1252"));
    }

    #[test]
    fn utf16_with_a_bom_is_decoded() {
        let mut bytes = vec![0xFF, 0xFE];
        for u in "hé".encode_utf16() {
            bytes.extend(u.to_le_bytes());
        }
        assert_eq!(decode_text(&bytes).unwrap().text, "hé");
    }

    #[test]
    fn binary_is_refused_with_a_reason() {
        assert!(decode_text(b"\x89PNG\r\n\x1a\n\0\0\0")
            .unwrap_err()
            .contains("binary"));
    }
}
