//! "Did it learn?": the key facts of a reference answer, and whether an answer states them.
//!
//! A fine-tuned model can lower the held-out perplexity and still answer "$20 to $50" where the
//! training row said "58 euros". Word-overlap scores (token F1, ROUGE, BLEU) barely move between
//! those two answers; a person checks the fact. This module does what the person does:
//!
//! - [`key_facts`] takes from a reference answer the things a right answer must contain and the
//!   question does not already give away: numbers (with the unit or currency beside them, for
//!   display), codes with digits (`ZX-300`), names (capitalised words that do not merely start a
//!   sentence: `Mia Tanaka`, `Dr. Weber`) and dates (months, weekdays, times).
//! - [`check`] says which of them an answer contains: numbers by value (`1,200` = `1200`,
//!   `58.00` = `58`, `thirty` = `30`, `3rd` = `3`), names and dates by their words, whatever the
//!   case and punctuation. An answer is right when it contains every key fact.
//! - A reference with no key fact ("Yes, pets are welcome") cannot be checked this way and says so
//!   ([`FactCheck::correct`] is `None`); it is left out of the recall, not counted as wrong.
//!
//! Pure functions of the strings: the same answers give the same verdicts.

use std::collections::HashSet;
use std::sync::OnceLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// What kind of thing a key fact is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum FactKind {
    /// A number, with its unit or currency when the reference has one beside it.
    Number,
    /// A code or model name with digits in it (`ZX-300`, `B12`).
    Code,
    /// A name: a person, product, place, company.
    Name,
    /// A month, a weekday or a time of day.
    Date,
}

/// One fact a right answer must contain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct KeyFact {
    /// As the reference writes it (`58 euros`, `Mia Tanaka`).
    pub text: String,
    /// What is compared: the number's value, or the lower-case words.
    pub key: String,
    /// Its kind.
    pub kind: FactKind,
}

/// Which key facts an answer contains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FactCheck {
    /// The reference's key facts (empty: nothing to check).
    pub facts: Vec<KeyFact>,
    /// Those the answer states, as the reference writes them.
    pub found: Vec<String>,
    /// Those it does not.
    pub missing: Vec<String>,
}

impl FactCheck {
    /// Whether the answer contains every key fact; `None` when the reference has none.
    pub fn correct(&self) -> Option<bool> {
        (!self.facts.is_empty()).then(|| self.missing.is_empty())
    }
}

/// Right answers out of checkable questions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FactRecall {
    /// Answers that contained every key fact of their reference.
    pub correct: u64,
    /// Questions whose reference has at least one key fact.
    pub total: u64,
}

impl FactRecall {
    /// The recall over `checks` (those with no key fact are left out).
    pub fn of<'a>(checks: impl IntoIterator<Item = &'a FactCheck>) -> FactRecall {
        let mut r = FactRecall::default();
        for c in checks {
            if let Some(ok) = c.correct() {
                r.total += 1;
                r.correct += ok as u64;
            }
        }
        r
    }

    /// `correct / total` (0 when nothing could be checked).
    pub fn rate(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.correct as f64 / self.total as f64
        }
    }
}

/// Below this share of right answers after training, the app warns that the facts were not learned.
pub const LOW_RECALL: f64 = 0.5;

const MONTHS: &[&str] = &[
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
];
const WEEKDAYS: &[&str] = &[
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
];
/// Capitalised words that are never a fact by themselves.
const NOT_NAMES: &[&str] = &[
    "i", "a", "an", "the", "yes", "no", "it", "its", "we", "our", "you", "your", "they", "he",
    "she", "this", "that", "these", "those", "there", "please", "and", "or", "but", "if", "on",
    "in", "at", "for", "from", "to", "of", "by", "with", "all", "every", "each", "ok", "okay",
];
/// Lower-case words after a number that are not its unit (`9 to 17`, `3 is`).
const NOT_UNITS: &[&str] = &["is", "are", "was", "were", "be", "so", "as", "than", "plus", "minus"];
const NUMBER_WORDS: &[(&str, &str)] = &[
    ("zero", "0"),
    ("one", "1"),
    ("two", "2"),
    ("three", "3"),
    ("four", "4"),
    ("five", "5"),
    ("six", "6"),
    ("seven", "7"),
    ("eight", "8"),
    ("nine", "9"),
    ("ten", "10"),
    ("eleven", "11"),
    ("twelve", "12"),
    ("thirteen", "13"),
    ("fourteen", "14"),
    ("fifteen", "15"),
    ("sixteen", "16"),
    ("seventeen", "17"),
    ("eighteen", "18"),
    ("nineteen", "19"),
    ("twenty", "20"),
    ("thirty", "30"),
    ("forty", "40"),
    ("fifty", "50"),
    ("sixty", "60"),
    ("seventy", "70"),
    ("eighty", "80"),
    ("ninety", "90"),
    ("hundred", "100"),
];

/// A number as written: an optional currency sign, digits with `,` `.` or `:` groups, and an
/// optional suffix (`%`, a currency sign, an ordinal or a short unit such as `kg`, `pm`).
fn number_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^([€$£¥]?)(\d+(?:[.,:]\d+)*)(%|€|\$|£|st|nd|rd|th|[a-zA-Z]{1,3})?$")
            .expect("a valid pattern")
    })
}

/// One word of a text with what surrounds it.
struct Word<'a> {
    /// The word without the punctuation around it.
    core: &'a str,
    /// Whether it starts a sentence (first word, or after `.`, `!`, `?`, `:`).
    sentence_start: bool,
    /// Whether punctuation ends it (a name does not run on past a comma).
    ends_clause: bool,
}

fn words(text: &str) -> Vec<Word<'_>> {
    let mut out = Vec::new();
    let mut start = true;
    for raw in text.split_whitespace() {
        let core = raw.trim_matches(|c: char| {
            !(c.is_alphanumeric() || matches!(c, '€' | '$' | '£' | '¥' | '%'))
        });
        let tail = raw.trim_end_matches(|c: char| c.is_alphanumeric() || c == '%');
        let last = raw.chars().last().unwrap_or(' ');
        let ends_sentence = matches!(last, '.' | '!' | '?' | ':')
            // "Dr." and "St." do not end a sentence.
            && !(last == '.' && core.len() <= 3 && core.chars().next().is_some_and(char::is_uppercase) && core.chars().skip(1).all(char::is_lowercase));
        if !core.is_empty() {
            out.push(Word {
                core,
                sentence_start: start,
                ends_clause: !tail.is_empty() && last != '.' || ends_sentence,
            });
        }
        start = ends_sentence;
    }
    out
}

/// The value of a number as written (`1,200` -> `1200`, `58.00` -> `58`, `9.50` -> `9.5`, `8:30`
/// stays), or `None` when `word` is not a number.
fn number_value(word: &str) -> Option<(String, String)> {
    let c = number_re().captures(word)?;
    let sign = c.get(1).map_or("", |m| m.as_str());
    let digits = c.get(2)?.as_str();
    let suffix = c.get(3).map_or("", |m| m.as_str());
    let value = if digits.contains(':') {
        digits.to_string()
    } else {
        // `1,200` and `1.200.000` group thousands; `9,50` and `9.5` are decimals.
        let groups: Vec<&str> = digits.split([',', '.']).collect();
        let thousands = groups.len() > 1 && groups[1..].iter().all(|g| g.len() == 3);
        let joined = if thousands {
            groups.concat()
        } else if groups.len() == 2 {
            format!("{}.{}", groups[0], groups[1])
        } else {
            groups.concat()
        };
        match joined.parse::<f64>() {
            Ok(v) => trim_number(v),
            Err(_) => joined,
        }
    };
    let unit = format!("{sign}{suffix}");
    Some((value, unit))
}

fn trim_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        let s = format!("{v}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn is_capitalised(w: &str) -> bool {
    w.chars().next().is_some_and(char::is_uppercase)
}

fn is_date_word(lower: &str) -> bool {
    MONTHS.contains(&lower) || WEEKDAYS.contains(&lower)
}

/// Numbers (by value), and lower-case words, of a text: what facts are looked for in.
struct Bag {
    numbers: HashSet<String>,
    words: HashSet<String>,
}

fn bag(text: &str) -> Bag {
    let mut numbers = HashSet::new();
    let mut words_set = HashSet::new();
    for w in words(text) {
        let lower = w.core.to_lowercase();
        if let Some((v, _)) = number_value(w.core) {
            numbers.insert(v);
        } else if let Some((_, d)) = NUMBER_WORDS.iter().find(|(n, _)| *n == lower) {
            numbers.insert(d.to_string());
        }
        // A code or a hyphenated word is also looked for by its parts (`ZX-300` in "zx 300").
        for part in lower.split(|c: char| !c.is_alphanumeric()) {
            if !part.is_empty() {
                words_set.insert(part.to_string());
                if let Some((v, _)) = number_value(part) {
                    numbers.insert(v);
                }
            }
        }
        words_set.insert(lower);
    }
    Bag {
        numbers,
        words: words_set,
    }
}

fn name_key(name: &str) -> String {
    name.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|p| !p.is_empty() && !NOT_NAMES.contains(p) && *p != "dr" && *p != "mr" && *p != "ms" && *p != "mrs")
        .collect::<Vec<_>>()
        .join(" ")
}

fn contains_words(bag: &Bag, key: &str) -> bool {
    !key.is_empty() && key.split(' ').all(|k| bag.words.contains(k))
}

/// The key facts of `reference` that `question` does not already state, in reading order, each
/// once.
pub fn key_facts(reference: &str, question: &str) -> Vec<KeyFact> {
    let q = bag(question);
    let ws = words(reference);
    let mut facts: Vec<KeyFact> = Vec::new();
    let push = |f: KeyFact, facts: &mut Vec<KeyFact>| {
        if !facts.iter().any(|g| g.key == f.key && g.kind == f.kind) {
            facts.push(f);
        }
    };
    let mut i = 0;
    while i < ws.len() {
        let w = &ws[i];
        let lower = w.core.to_lowercase();
        if let Some((value, unit)) = number_value(w.core) {
            // A code: letters beyond a short unit, or a number glued to a word by a hyphen.
            if !q.numbers.contains(&value) {
                // The word after a number is its unit when it is a plain lower-case word
                // (`58 euros`, `30 days`), for display only: the value is what is compared.
                let next = ws
                    .get(i + 1)
                    .filter(|n| {
                        !w.ends_clause
                            && n.core.chars().all(char::is_lowercase)
                            && n.core.len() <= 12
                            && !NOT_NAMES.contains(&n.core)
                            && !NOT_UNITS.contains(&n.core)
                    })
                    .map(|n| n.core);
                let text = match (unit.is_empty(), next) {
                    (true, Some(n)) => format!("{} {n}", w.core),
                    _ => w.core.to_string(),
                };
                push(
                    KeyFact {
                        text,
                        key: value,
                        kind: FactKind::Number,
                    },
                    &mut facts,
                );
            }
            i += 1;
            continue;
        }
        if w.core.chars().any(|c| c.is_ascii_digit()) {
            // `ZX-300`, `B12`, `SKU-4411`: compared by its parts.
            let key = name_key(w.core);
            if !contains_words(&q, &key) {
                push(
                    KeyFact {
                        text: w.core.to_string(),
                        key,
                        kind: FactKind::Code,
                    },
                    &mut facts,
                );
            }
            i += 1;
            continue;
        }
        if is_date_word(&lower) && is_capitalised(w.core) {
            if !q.words.contains(&lower) {
                push(
                    KeyFact {
                        text: w.core.to_string(),
                        key: lower,
                        kind: FactKind::Date,
                    },
                    &mut facts,
                );
            }
            i += 1;
            continue;
        }
        if is_capitalised(w.core) && !NOT_NAMES.contains(&lower.as_str()) {
            // A run of capitalised words is one name (`Mia Tanaka`, `Dr. Anna Weber`).
            let mut j = i;
            while j + 1 < ws.len()
                && !ws[j].ends_clause
                && is_capitalised(ws[j + 1].core)
                && !ws[j + 1].sentence_start
                && !is_date_word(&ws[j + 1].core.to_lowercase())
                && !ws[j + 1].core.chars().any(|c| c.is_ascii_digit())
            {
                j += 1;
            }
            let single = j == i;
            // One capitalised word that starts a sentence is just the sentence's first word,
            // unless it is written like a name elsewhere (an internal capital: `iPhone`, `McKay`).
            let inner_capital = w.core.chars().skip(1).any(char::is_uppercase);
            if !(single && w.sentence_start && !inner_capital) {
                let text = ws[i..=j].iter().map(|x| x.core).collect::<Vec<_>>().join(" ");
                let key = name_key(&text);
                if !key.is_empty() && !contains_words(&q, &key) {
                    push(
                        KeyFact {
                            text,
                            key,
                            kind: FactKind::Name,
                        },
                        &mut facts,
                    );
                }
            }
            i = j + 1;
            continue;
        }
        i += 1;
    }
    facts
}

/// Which of `reference`'s key facts (those `question` does not give away) `answer` states.
pub fn check(answer: &str, reference: &str, question: &str) -> FactCheck {
    check_facts(answer, key_facts(reference, question))
}

/// Which of `facts` `answer` states.
pub fn check_facts(answer: &str, facts: Vec<KeyFact>) -> FactCheck {
    let a = bag(answer);
    let (mut found, mut missing) = (Vec::new(), Vec::new());
    for f in &facts {
        let ok = match f.kind {
            FactKind::Number => a.numbers.contains(&f.key),
            FactKind::Code | FactKind::Name | FactKind::Date => contains_words(&a, &f.key),
        };
        if ok {
            found.push(f.text.clone());
        } else {
            missing.push(f.text.clone());
        }
    }
    FactCheck {
        facts,
        found,
        missing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(facts: &[KeyFact]) -> Vec<&str> {
        facts.iter().map(|f| f.text.as_str()).collect()
    }

    #[test]
    fn a_price_is_a_key_fact_and_a_vague_answer_misses_it() {
        let q = "What's the price of a regular consultation?";
        let r = "A regular consultation costs 58 euros.";
        assert_eq!(texts(&key_facts(r, q)), vec!["58 euros"]);
        let wrong = check("Usually between $20 to $50 depending on the vet.", r, q);
        assert_eq!(wrong.correct(), Some(false));
        assert_eq!(wrong.missing, vec!["58 euros"]);
        let right = check("It is 58 EUR.", r, q);
        assert_eq!(right.correct(), Some(true));
        assert_eq!(right.found, vec!["58 euros"]);
    }

    #[test]
    fn numbers_match_by_value_whatever_the_writing() {
        let r = "Shipping is free above 1,200 dollars and takes 30 days; fee 9.50.";
        let facts = key_facts(r, "Tell me about shipping.");
        let keys: Vec<&str> = facts.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys, vec!["1200", "30", "9.5"]);
        assert_eq!(
            check("Free over 1200, thirty days, and a 9.5 fee", r, "").correct(),
            Some(true)
        );
        assert_eq!(check("€58.00", "58 euros", "").correct(), Some(true));
        assert_eq!(check("the 3rd floor", "Floor 3", "Which floor?").correct(), Some(true));
        assert_eq!(check("at 8:30", "We open at 8:30 am.", "").correct(), Some(true));
        assert_eq!(check("at 8.30", "We open at 8:30 am.", "").correct(), Some(false));
    }

    #[test]
    fn names_codes_and_dates_are_facts_but_a_sentences_first_word_is_not() {
        let r = "Returns go to Mia Tanaka at the Lisbon office, model ZX-300, every Tuesday in March.";
        let facts = key_facts(r, "Who handles returns?");
        assert_eq!(
            texts(&facts),
            vec!["Mia Tanaka", "Lisbon", "ZX-300", "Tuesday", "March"]
        );
        let kinds: Vec<FactKind> = facts.iter().map(|f| f.kind).collect();
        use FactKind::*;
        assert_eq!(kinds, vec![Name, Name, Code, Date, Date]);
        let c = check(
            "Send them to mia tanaka (Lisbon), zx 300 units, Tuesdays... in march",
            r,
            "Who handles returns?",
        );
        assert_eq!(c.missing, vec!["Tuesday"], "Tuesdays is not the word Tuesday");
        assert_eq!(texts(&key_facts("Dr. Anna Weber sees cats.", "Who sees cats?")), vec!["Dr Anna Weber"]);
        assert!(check("Anna Weber does", "Dr. Anna Weber sees cats.", "").correct().unwrap());
    }

    #[test]
    fn what_the_question_already_says_is_not_a_fact_of_the_answer() {
        let q = "How much does the Zephyr X2 cost in 2025?";
        let r = "In 2025 the Zephyr X2 costs 349 euros.";
        assert_eq!(texts(&key_facts(r, q)), vec!["349 euros"]);
        // Repeating the question is not knowing the answer.
        assert_eq!(check("The Zephyr X2 in 2025 costs a lot.", r, q).correct(), Some(false));
    }

    #[test]
    fn a_reference_without_facts_cannot_be_checked_and_is_left_out_of_the_recall() {
        let c = check("Sure!", "Yes, pets are welcome.", "Can I bring my dog?");
        assert!(c.facts.is_empty());
        assert_eq!(c.correct(), None);
        let right = check("58", "58 euros", "Price?");
        let wrong = check("60", "58 euros", "Price?");
        let r = FactRecall::of([&c, &right, &wrong]);
        assert_eq!((r.correct, r.total), (1, 2));
        assert_eq!(r.rate(), 0.5);
        assert_eq!(FactRecall::default().rate(), 0.0);
    }

    /// The fields of one CSV line (quoted fields may hold commas; `""` is a quote).
    fn csv_fields(line: &str) -> Vec<String> {
        let (mut fields, mut cur, mut quoted) = (Vec::new(), String::new(), false);
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match (c, quoted) {
                ('"', true) if chars.peek() == Some(&'"') => {
                    cur.push('"');
                    chars.next();
                }
                ('"', _) => quoted = !quoted,
                (',', false) => fields.push(std::mem::take(&mut cur)),
                _ => cur.push(c),
            }
        }
        fields.push(cur);
        fields
    }

    #[test]
    fn every_answer_of_the_invented_facts_benchmark_has_a_fact_its_question_does_not_give_away() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../bench/facts/test.csv");
        let text = std::fs::read_to_string(path).expect("bench/facts/test.csv is committed");
        let rows: Vec<Vec<String>> = text.lines().skip(1).map(csv_fields).collect();
        assert_eq!(rows.len(), 40);
        for r in &rows {
            let facts = key_facts(&r[1], &r[0]);
            assert!(!facts.is_empty(), "no key fact in {:?} for {:?}", r[1], r[0]);
            // The reference itself is a right answer; repeating the question is not.
            assert_eq!(check(&r[1], &r[1], &r[0]).correct(), Some(true), "{r:?}");
            assert_eq!(check(&r[0], &r[1], &r[0]).correct(), Some(false), "{r:?}");
        }
    }

    #[test]
    fn every_fact_must_be_there_for_an_answer_to_be_right() {
        let r = "Open Monday to Friday, 9 to 17.";
        let half = check("We are open Monday, 9 to 5.", r, "When are you open?");
        assert_eq!(half.correct(), Some(false));
        assert_eq!(half.missing, vec!["Friday", "17"]);
    }
}
