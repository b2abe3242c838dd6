//! The forgetting check's probe set: short general questions, each with the answers accepted for
//! it and how an answer is matched ([`MatchRule`]), plus a plain English text whose perplexity is
//! measured before and after training.
//!
//! The built-in set ships inside the binary (`assets/probes/`, written for this project: general
//! knowledge, arithmetic and a few instructions to follow). A user's own set is a JSONL file
//! (`{"question": ..., "answers": [...]}` or `"answer": "..."`, optional `"match"` and `"kind"`) or
//! a CSV/TSV file with `question` and `answer` columns (several accepted answers separated by `|`,
//! optional `match` and `kind` columns). A bad file is refused naming the file and the line.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// The built-in questions (JSONL).
pub const BUILTIN_PROBES: &str = include_str!("../../assets/probes/general.jsonl");
/// The built-in general-English text whose perplexity is compared.
pub const GENERAL_TEXT: &str = include_str!("../../assets/probes/general-text.txt");
/// What the built-in set is called in reports.
pub const BUILTIN_NAME: &str = "built-in general probes";
/// The most questions a probe file may hold: each is answered twice, so the check stays minutes.
pub const MAX_PROBES: usize = 500;

/// How an answer is checked against the accepted answers (all compared in lower case, punctuation
/// ignored).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum MatchRule {
    /// An accepted answer appears in the answer as whole words.
    #[default]
    Contains,
    /// The whole answer is an accepted answer ("Answer with one word: ...").
    Exact,
    /// The answer begins with an accepted answer ("Answer yes or no: ...").
    Starts,
    /// Contains an accepted answer and is written in capitals only ("Reply in capitals: ...").
    Capitals,
}

impl MatchRule {
    const ALL: [(&'static str, MatchRule); 4] = [
        ("contains", MatchRule::Contains),
        ("exact", MatchRule::Exact),
        ("starts", MatchRule::Starts),
        ("capitals", MatchRule::Capitals),
    ];

    fn parse(word: &str) -> Option<MatchRule> {
        let word = word.trim().to_ascii_lowercase();
        if word.is_empty() {
            return Some(MatchRule::Contains);
        }
        Self::ALL.iter().find(|(w, _)| *w == word).map(|(_, r)| *r)
    }
}

/// One general question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct Probe {
    /// What kind of question (`fact`, `arithmetic`, `instruction`; `question` when not said).
    pub kind: String,
    /// The question as the models are asked it.
    pub question: String,
    /// The answers counted as right.
    pub answers: Vec<String>,
    /// How an answer is matched.
    pub rule: MatchRule,
}

/// The questions and the text of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeSet {
    /// Where the questions came from (the built-in set's name, or the file's path).
    pub source: String,
    /// The questions.
    pub probes: Vec<Probe>,
    /// The general text whose perplexity is compared.
    pub text: String,
}

impl ProbeSet {
    /// The set that ships with the app.
    pub fn builtin() -> Result<ProbeSet> {
        Ok(ProbeSet {
            source: BUILTIN_NAME.to_string(),
            probes: parse_jsonl(BUILTIN_PROBES, BUILTIN_NAME)?,
            text: GENERAL_TEXT.to_string(),
        })
    }

    /// The user's questions in `path` (JSONL, CSV or TSV by extension), with the built-in general
    /// text.
    pub fn read(path: &Path) -> Result<ProbeSet> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::invalid(format!(
                "cannot read the probe file {name}: {e}; give a JSONL or CSV file with a question and an answer per row"
            ))
        })?;
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let probes = match ext.as_str() {
            "jsonl" | "json" | "ndjson" => parse_jsonl(&text, &name)?,
            "csv" => parse_csv(&text, &name, b',')?,
            "tsv" | "tab" => parse_csv(&text, &name, b'\t')?,
            _ => {
                return Err(Error::invalid(format!(
                    "the probe file {name} is neither JSONL nor CSV/TSV (by its extension); name it .jsonl, .csv or .tsv"
                )))
            }
        };
        Ok(ProbeSet {
            source: name,
            probes,
            text: GENERAL_TEXT.to_string(),
        })
    }

    /// A fingerprint of everything that decides the base model's results: the questions, their
    /// order, the text and the answer length. Two sets with the same fingerprint ask the same.
    pub fn fingerprint(&self, answer_tokens: usize) -> String {
        let mut h = Sha256::new();
        // How answers end (the first line or sentence): a change there re-measures the base.
        h.update(b"first-sentence-v1");
        for p in &self.probes {
            h.update(p.question.as_bytes());
            h.update([0]);
        }
        h.update([1]);
        h.update(self.text.as_bytes());
        h.update(answer_tokens.to_le_bytes());
        hex(&h.finalize()[..16])
    }
}

/// Lower-case hexadecimal of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn finish(probes: Vec<Probe>, name: &str) -> Result<Vec<Probe>> {
    if probes.is_empty() {
        return Err(Error::invalid(format!(
            "the probe file {name} has no questions; add one question and its answer per row"
        )));
    }
    if probes.len() > MAX_PROBES {
        return Err(Error::invalid(format!(
            "the probe file {name} has {} questions; keep it to at most {MAX_PROBES} (each is answered by both models)",
            probes.len()
        )));
    }
    Ok(probes)
}

/// One probe from its fields, checked; `at` says where (`{file} line {n}`).
fn probe(at: &str, question: &str, answers: Vec<String>, rule: &str, kind: &str) -> Result<Probe> {
    let question = question.trim();
    if question.is_empty() {
        return Err(Error::invalid(format!(
            "{at}: the question is empty; write the question or remove the row"
        )));
    }
    let answers: Vec<String> = answers
        .into_iter()
        .map(|a| a.trim().to_string())
        .filter(|a| !super::matching::normalize(a).is_empty())
        .collect();
    if answers.is_empty() {
        return Err(Error::invalid(format!(
            "{at}: no accepted answer; give the answer (several separated by `|` in a CSV, a list in JSONL)"
        )));
    }
    let rule = MatchRule::parse(rule).ok_or_else(|| {
        Error::invalid(format!(
            "{at}: the match `{rule}` is not one of contains, exact, starts, capitals"
        ))
    })?;
    let kind = match kind.trim() {
        "" => "question".to_string(),
        k => k.to_string(),
    };
    Ok(Probe {
        kind,
        question: question.to_string(),
        answers,
        rule,
    })
}

/// Probes from JSONL text; blank lines are skipped.
pub fn parse_jsonl(text: &str, name: &str) -> Result<Vec<Probe>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = format!("{name} line {}", i + 1);
        let value: serde_json::Value = serde_json::from_str(line).map_err(|e| {
            Error::invalid(format!(
                "{at}: not a JSON object ({e}); write one object per line, e.g. {{\"question\": \"...\", \"answers\": [\"...\"]}}"
            ))
        })?;
        let Some(obj) = value.as_object() else {
            return Err(Error::invalid(format!(
                "{at}: not a JSON object; write {{\"question\": \"...\", \"answers\": [\"...\"]}}"
            )));
        };
        let question = match obj.get("question").or_else(|| obj.get("prompt")) {
            Some(serde_json::Value::String(q)) => q.as_str(),
            _ => {
                return Err(Error::invalid(format!(
                    "{at}: no `question` text; give each line a \"question\""
                )))
            }
        };
        let answers = match obj.get("answers").or_else(|| obj.get("answer")) {
            Some(serde_json::Value::String(a)) => a.split('|').map(str::to_string).collect(),
            Some(serde_json::Value::Array(items)) => {
                let mut v = Vec::new();
                for item in items {
                    match item {
                        serde_json::Value::String(s) => v.push(s.clone()),
                        serde_json::Value::Number(n) => v.push(n.to_string()),
                        _ => {
                            return Err(Error::invalid(format!(
                                "{at}: `answers` must be a list of texts"
                            )))
                        }
                    }
                }
                v
            }
            Some(serde_json::Value::Number(n)) => vec![n.to_string()],
            _ => {
                return Err(Error::invalid(format!(
                    "{at}: no `answers` (or `answer`); give the accepted answers"
                )))
            }
        };
        out.push(probe(
            &at,
            question,
            answers,
            text_of(obj, "match"),
            text_of(obj, "kind"),
        )?);
    }
    finish(out, name)
}

/// The text under `key` of a JSON object, or empty.
fn text_of<'a>(obj: &'a serde_json::Map<String, serde_json::Value>, key: &str) -> &'a str {
    obj.get(key).and_then(|v| v.as_str()).unwrap_or("")
}

/// Probes from CSV (or TSV, by `delimiter`) text with a header row.
pub fn parse_csv(text: &str, name: &str, delimiter: u8) -> Result<Vec<Probe>> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| Error::invalid(format!("{name} line 1: cannot read the header row ({e})")))?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let column = |names: &[&str]| headers.iter().position(|h| names.contains(&h.as_str()));
    let (Some(q), Some(a)) = (
        column(&["question", "prompt"]),
        column(&["answer", "answers"]),
    ) else {
        return Err(Error::invalid(format!(
            "{name} line 1: the header needs a `question` and an `answer` column (it has: {})",
            headers.join(", ")
        )));
    };
    let (m, k) = (column(&["match"]), column(&["kind"]));
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            Error::invalid(format!("{name} line {line}: cannot read the row ({e})"))
        })?;
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let cell = |i: Option<usize>| i.and_then(|i| record.get(i)).unwrap_or("");
        let answers = cell(Some(a)).split('|').map(str::to_string).collect();
        out.push(probe(
            &format!("{name} line {line}"),
            cell(Some(q)),
            answers,
            cell(m),
            cell(k),
        )?);
    }
    finish(out, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_set_has_about_a_hundred_questions_of_three_kinds_and_a_few_hundred_words_of_text(
    ) {
        let set = ProbeSet::builtin().unwrap();
        assert!(
            (90..=120).contains(&set.probes.len()),
            "{}",
            set.probes.len()
        );
        for kind in ["fact", "arithmetic", "instruction"] {
            assert!(set.probes.iter().any(|p| p.kind == kind), "{kind}");
        }
        assert!(set.probes.iter().any(|p| p.rule == MatchRule::Capitals));
        let words = set.text.split_whitespace().count();
        assert!((250..=800).contains(&words), "{words}");
    }

    #[test]
    fn a_csv_takes_several_answers_separated_by_bars_and_an_optional_match_column() {
        let p = parse_csv(
            "question,answer,match\nWho wrote Hamlet?,Shakespeare|Shakspere,\nOne word: sky colour?,blue,exact\n",
            "mine.csv",
            b',',
        )
        .unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].answers, vec!["Shakespeare", "Shakspere"]);
        assert_eq!(
            (p[0].rule, p[1].rule),
            (MatchRule::Contains, MatchRule::Exact)
        );
        assert_eq!(p[0].kind, "question");
    }

    #[test]
    fn a_bad_probe_file_is_refused_naming_the_file_and_the_line() {
        let err = parse_jsonl(
            "{\"question\": \"2+2?\", \"answer\": \"4\"}\n{\"question\": \"3+3?\"}\n",
            "probes.jsonl",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("probes.jsonl line 2") && err.contains("answers"),
            "{err}"
        );
        let err = parse_jsonl("not json\n", "p.jsonl")
            .unwrap_err()
            .to_string();
        assert!(err.contains("p.jsonl line 1"), "{err}");
        let err = parse_csv("question,answer\nWhat?,\n", "p.csv", b',')
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("p.csv line 2") && err.contains("no accepted answer"),
            "{err}"
        );
        let err = parse_csv("q,a\nx,y\n", "p.csv", b',')
            .unwrap_err()
            .to_string();
        assert!(err.contains("`question`"), "{err}");
        let err = parse_jsonl(
            "{\"question\": \"x\", \"answer\": \"y\", \"match\": \"fuzzy\"}\n",
            "p.jsonl",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("fuzzy") && err.contains("exact"), "{err}");
        let err = parse_jsonl("\n\n", "empty.jsonl").unwrap_err().to_string();
        assert!(err.contains("no questions"), "{err}");
    }

    #[test]
    fn the_fingerprint_changes_with_the_questions_and_the_answer_length_only() {
        let set = ProbeSet::builtin().unwrap();
        let mut other = set.clone();
        other.probes.pop();
        assert_eq!(set.fingerprint(16), set.clone().fingerprint(16));
        assert_ne!(set.fingerprint(16), other.fingerprint(16));
        assert_ne!(set.fingerprint(16), set.fingerprint(32));
    }
}
