//! Hints of personal data in the examples: e-mail addresses, phone numbers, payment card numbers
//! (checked with the Luhn digit) and IBANs (checked with their mod-97 checksum).
//!
//! These are hints, not guarantees: a fine-tuned model can repeat what it was trained on, so the
//! user is shown counts and the rows to look at.

use std::sync::OnceLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// A kind of personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum PiiKind {
    /// An e-mail address.
    Email,
    /// A phone number.
    Phone,
    /// A payment card number that passes the Luhn check.
    Card,
    /// An IBAN that passes its checksum.
    Iban,
}

impl PiiKind {
    /// Every kind, in report order.
    pub const ALL: [PiiKind; 4] = [PiiKind::Email, PiiKind::Phone, PiiKind::Card, PiiKind::Iban];

    /// A readable plural name.
    pub fn label(self) -> &'static str {
        match self {
            PiiKind::Email => "e-mail addresses",
            PiiKind::Phone => "phone numbers",
            PiiKind::Card => "payment card numbers",
            PiiKind::Iban => "IBANs",
        }
    }
}

struct Patterns {
    email: Regex,
    card: Regex,
    iban: Regex,
    phone: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| Patterns {
        email: Regex::new(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
            .expect("valid e-mail pattern"),
        card: Regex::new(r"\b(?:\d[ \-]?){12,18}\d\b").expect("valid card pattern"),
        iban: Regex::new(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b").expect("valid IBAN pattern"),
        phone: Regex::new(
            r"(?:\+\d{1,3}[ .\-]?)?(?:\(\d{1,4}\)[ .\-]?)?\d{2,4}(?:[ .\-]\d{2,4}){1,4}|\+\d{9,15}",
        )
        .expect("valid phone pattern"),
    })
}

/// The kinds of personal data found in `text` (each kind at most once).
pub fn scan(text: &str) -> Vec<PiiKind> {
    let mut found = Vec::new();
    let p = patterns();
    if text.contains('@') && p.email.is_match(text) {
        found.push(PiiKind::Email);
    }
    let digits = text.bytes().filter(|b| b.is_ascii_digit()).count();
    if digits < 7 {
        return found;
    }
    let mut card_spans = Vec::new();
    if digits >= 13 {
        for m in p.card.find_iter(text) {
            let d: Vec<u8> = m
                .as_str()
                .bytes()
                .filter(|b| b.is_ascii_digit())
                .map(|b| b - b'0')
                .collect();
            if (13..=19).contains(&d.len()) && luhn(&d) {
                card_spans.push(m.range());
            }
        }
        if !card_spans.is_empty() {
            found.push(PiiKind::Card);
        }
    }
    let mut iban_spans = Vec::new();
    if digits >= 4 && text.bytes().any(|b| b.is_ascii_uppercase()) {
        for m in p.iban.find_iter(text) {
            let compact: String = m.as_str().chars().filter(|c| !c.is_whitespace()).collect();
            if (15..=34).contains(&compact.len()) && iban_valid(&compact) {
                iban_spans.push(m.range());
            }
        }
        if !iban_spans.is_empty() {
            found.push(PiiKind::Iban);
        }
    }
    let overlaps = |r: &std::ops::Range<usize>| {
        card_spans
            .iter()
            .chain(&iban_spans)
            .any(|s| s.start < r.end && r.start < s.end)
    };
    let phone = p.phone.find_iter(text).any(|m| {
        let s = m.as_str();
        let d = s.bytes().filter(|b| b.is_ascii_digit()).count();
        // Nine or more digits with a + or separators, and not part of a card or an IBAN, nor a date.
        (9..=15).contains(&d) && !overlaps(&m.range()) && !looks_like_date_or_number(s)
    });
    if phone {
        found.push(PiiKind::Phone);
    }
    found
}

fn looks_like_date_or_number(s: &str) -> bool {
    let t = s.trim();
    // 2024-01-15 12:30 style dates, or plain decimals such as 1.234.567.
    let groups: Vec<&str> = t.split(['-', '.', ' ', '/']).collect();
    (groups
        .first()
        .map(|g| g.len() == 4 && (g.starts_with("19") || g.starts_with("20")))
        .unwrap_or(false)
        && groups.len() >= 3
        && !t.starts_with('+'))
        || (t.contains('.') && groups.iter().skip(1).all(|g| g.len() == 3) && !t.starts_with('+'))
}

/// The Luhn check digit test for card numbers.
pub fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = d as u32;
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    !digits.is_empty() && sum % 10 == 0
}

/// The IBAN mod-97 checksum test (ISO 13616), on a compact upper-case IBAN.
pub fn iban_valid(iban: &str) -> bool {
    if iban.len() < 5 || !iban.is_ascii() {
        return false;
    }
    let (head, tail) = iban.split_at(4);
    let mut rem: u32 = 0;
    for c in tail.chars().chain(head.chars()) {
        let v = match c {
            '0'..='9' => c as u32 - '0' as u32,
            'A'..='Z' => c as u32 - 'A' as u32 + 10,
            _ => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_address_is_found() {
        assert_eq!(
            scan("write to jane.doe@example.co.uk today"),
            vec![PiiKind::Email]
        );
    }

    #[test]
    fn a_card_number_must_pass_luhn() {
        assert_eq!(
            scan("card 4111 1111 1111 1111 expired"),
            vec![PiiKind::Card]
        );
        assert!(!scan("order 4111 1111 1111 1112 shipped").contains(&PiiKind::Card));
    }

    #[test]
    fn an_iban_must_pass_its_checksum() {
        assert!(scan("pay to DE89 3704 0044 0532 0130 00 please").contains(&PiiKind::Iban));
        assert!(scan("GB82WEST12345698765432").contains(&PiiKind::Iban));
        assert!(!scan("pay to DE88 3704 0044 0532 0130 00 please").contains(&PiiKind::Iban));
    }

    #[test]
    fn phone_numbers_are_found_but_dates_and_prices_are_not() {
        assert_eq!(scan("call +44 20 7946 0958 now"), vec![PiiKind::Phone]);
        assert_eq!(scan("call (555) 123-4567"), vec![PiiKind::Phone]);
        assert!(scan("on 2024-01-15 12:30 it cost 1.234.567").is_empty());
        assert!(scan("a fine film from 1999").is_empty());
    }
}
