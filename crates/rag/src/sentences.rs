//! Splitting a paragraph into sentences, the unit chunking keeps whole whenever it can.
//!
//! A rule-based splitter: a sentence ends at `.`, `!` or `?` (with any closing quotes or brackets)
//! followed by white space and something that can start a sentence, except after common abbreviations
//! and single-letter initials; a line that starts a list item also starts a sentence. It errs on the
//! side of not splitting: a missed boundary only makes a chunk boundary land a sentence later.

const ABBREVIATIONS: &[&str] = &[
    "e.g", "i.e", "etc", "vs", "mr", "mrs", "ms", "dr", "prof", "st", "no", "fig", "approx",
    "dept", "inc", "ltd", "jr", "sr", "mt", "cf", "al",
];

/// Splits `paragraph` into trimmed, non-empty sentences whose concatenation (with the white space
/// between them) is the paragraph.
pub fn sentences(paragraph: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = paragraph.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (pos, c) = chars[i];
        let boundary_end = if matches!(c, '.' | '!' | '?') {
            // Swallow runs like "?!" or "..." and closing quotes or brackets.
            let mut j = i + 1;
            while j < chars.len()
                && matches!(
                    chars[j].1,
                    '.' | '!' | '?' | '"' | '\'' | ')' | ']' | '’' | '”'
                )
            {
                j += 1;
            }
            let followed_by_space = j < chars.len() && chars[j].1.is_whitespace();
            let mut k = j;
            while k < chars.len() && chars[k].1.is_whitespace() {
                k += 1;
            }
            let next_starts = k < chars.len() && can_start_sentence(chars[k].1);
            if followed_by_space
                && next_starts
                && !(c == '.' && is_abbreviation(&paragraph[start..pos]))
            {
                Some(if j < chars.len() {
                    chars[j].0
                } else {
                    paragraph.len()
                })
            } else {
                None
            }
        } else if c == '\n' {
            let rest = &paragraph[pos + 1..];
            if starts_list_item(rest) {
                Some(pos)
            } else {
                None
            }
        } else {
            None
        };
        if let Some(end) = boundary_end {
            let s = paragraph[start..end].trim();
            if !s.is_empty() {
                out.push(s);
            }
            start = end;
        }
        i += 1;
    }
    let s = paragraph[start..].trim();
    if !s.is_empty() {
        out.push(s);
    }
    out
}

fn can_start_sentence(c: char) -> bool {
    c.is_uppercase()
        || c.is_numeric()
        || matches!(c, '"' | '\'' | '(' | '[' | '“' | '‘' | '-' | '*' | '#')
}

/// Whether the text before a period ends in an abbreviation or a single-letter initial.
fn is_abbreviation(before: &str) -> bool {
    let word = before
        .rsplit(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or("");
    let lower = word.to_lowercase();
    let lower = lower.trim_start_matches(['"', '\'']);
    if lower.chars().count() == 1 && lower.chars().all(char::is_alphabetic) {
        return true;
    }
    ABBREVIATIONS.contains(&lower)
}

fn starts_list_item(line: &str) -> bool {
    let t = line.trim_start();
    if t.starts_with("- ") || t.starts_with("* ") || t.starts_with("+ ") || t.starts_with("• ") {
        return true;
    }
    let digits = t.chars().take_while(|c| c.is_ascii_digit()).count();
    digits > 0 && digits < 4 && (t[digits..].starts_with(". ") || t[digits..].starts_with(") "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_end_at_terminal_punctuation_before_a_capital() {
        assert_eq!(
            sentences("One. Two! Three? four."),
            vec!["One.", "Two!", "Three? four."]
        );
    }

    #[test]
    fn abbreviations_and_initials_do_not_end_a_sentence() {
        assert_eq!(
            sentences("Ask Dr. Smith, e.g. on Monday. J. R. Tolkien wrote it."),
            vec!["Ask Dr. Smith, e.g. on Monday.", "J. R. Tolkien wrote it."]
        );
    }

    #[test]
    fn closing_quotes_stay_with_their_sentence_and_list_items_split() {
        assert_eq!(
            sentences("He said \"Stop.\" Then left."),
            vec!["He said \"Stop.\"", "Then left."]
        );
        assert_eq!(
            sentences("Bring:\n- a form\n- an ID card"),
            vec!["Bring:", "- a form", "- an ID card"]
        );
    }

    #[test]
    fn decimals_do_not_split() {
        assert_eq!(
            sentences("It costs 4.50 euros. Pay now."),
            vec!["It costs 4.50 euros.", "Pay now."]
        );
    }
}
