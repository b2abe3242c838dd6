//! Text normalisation and stable hashing for duplicate detection, grouping and fingerprints.
//!
//! Two texts are near duplicates when they are equal after lower-casing, dropping punctuation and
//! collapsing whitespace ("Great movie!" and "great  movie"). Hashes are FNV-1a 64: stable across
//! Rust versions and platforms (unlike `std`'s hasher), so the same data always splits the same way.

/// Lower-cases, replaces punctuation and symbols by spaces, and collapses whitespace.
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            for l in c.to_lowercase() {
                out.push(l);
            }
        } else {
            pending_space = true;
        }
    }
    out
}

/// Trims and collapses runs of whitespace (CRLF, tabs, double spaces) to one space: the form used
/// for exact comparisons and the content fingerprint, so re-saving a file does not change them.
pub fn tidy(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// FNV-1a, 64 bits.
pub fn hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The hash of a text's normalised form.
pub fn near_key(text: &str) -> u64 {
    hash(normalise(text).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_spacing_and_punctuation_do_not_matter() {
        assert_eq!(normalise("  Great   MOVIE!! "), "great movie");
        assert_eq!(near_key("Great movie!"), near_key("great movie"));
        assert_ne!(near_key("great movie"), near_key("great movies"));
    }

    #[test]
    fn tidy_collapses_line_endings_and_tabs() {
        assert_eq!(tidy(" a\r\n b\tc "), "a b c");
    }
}
