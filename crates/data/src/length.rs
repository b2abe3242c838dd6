//! Token lengths: counted with the chosen model's tokenizer when there is one, estimated otherwise,
//! and summarised against the maximum length training will use.

use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};

/// How lengths are measured.
pub enum LengthCounter {
    /// With a real tokenizer (`tokenizer.json`), special tokens included.
    Tokenizer(Box<tokenizers::Tokenizer>),
    /// An estimate from words and characters (about 1.33 tokens per word, 4 characters per token,
    /// plus two special tokens), used when no model is given.
    Estimate,
}

impl LengthCounter {
    /// Loads a `tokenizer.json`, with any truncation or padding it carries turned off (they would
    /// hide the lengths we want to see).
    pub fn from_file(path: &std::path::Path) -> Result<LengthCounter> {
        let model = |reason: String| DataError::Model {
            path: path.to_path_buf(),
            reason,
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| model(format!("tokenizer.json could not be read: {e}")))?;
        // The tokenizers library panics on some damaged files (a syntax error inside `decoder`,
        // a missing `model`): check the JSON first, and contain what is left.
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            model(format!(
                "tokenizer.json is not valid JSON ({e}); it is damaged: download the model again"
            ))
        })?;
        if !v.get("model").is_some_and(serde_json::Value::is_object) {
            return Err(model(
                "tokenizer.json has no `model` section: it is damaged or not a tokenizer".into(),
            ));
        }
        let mut t =
            match std::panic::catch_unwind(|| text.parse::<tokenizers::Tokenizer>()) {
                Ok(Ok(t)) => t,
                Ok(Err(e)) => return Err(model(format!("tokenizer.json could not be read: {e}"))),
                Err(_) => return Err(model(
                    "tokenizer.json could not be read: it is damaged (download the model again)"
                        .into(),
                )),
            };
        t.with_truncation(None).map_err(|e| model(e.to_string()))?;
        t.with_padding(None);
        // Without the library's BPE word cache, which would stay in memory after every check.
        tunesmith_vocab::bpe_cache::drop_bpe_cache(&mut t, &v["model"])
            .map_err(|e| model(format!("tokenizer.json could not be read: {e}")))?;
        Ok(LengthCounter::Tokenizer(Box::new(t)))
    }

    /// `tokenizer` or `estimate`, for the report.
    pub fn method(&self) -> &'static str {
        match self {
            LengthCounter::Tokenizer(_) => "tokenizer",
            LengthCounter::Estimate => "estimate",
        }
    }

    /// The token count of each text.
    pub fn count(&self, texts: &[String]) -> Vec<u32> {
        match self {
            LengthCounter::Estimate => texts.iter().map(|t| estimate(t)).collect(),
            LengthCounter::Tokenizer(tok) => {
                let inputs: Vec<&str> = texts.iter().map(|s| s.as_str()).collect();
                match tok.encode_batch(inputs, true) {
                    Ok(encodings) => encodings.iter().map(|e| e.len() as u32).collect(),
                    // A text the tokenizer rejects is counted by estimate rather than lost.
                    Err(_) => texts
                        .iter()
                        .map(|t| {
                            tok.encode(t.as_str(), true)
                                .map(|e| e.len() as u32)
                                .unwrap_or_else(|_| estimate(t))
                        })
                        .collect(),
                }
            }
        }
    }
}

/// The estimated token count of `text`.
pub fn estimate(text: &str) -> u32 {
    let words = text.split_whitespace().count() as f64;
    let chars = text.chars().count() as f64;
    ((words * 4.0 / 3.0).max(chars / 4.0).ceil() as u32) + 2
}

/// Token-length statistics against a maximum length.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct LengthStats {
    /// `tokenizer` or `estimate`.
    pub method: String,
    /// The maximum length training will use.
    pub max_len: u32,
    /// The shortest example.
    pub min: u32,
    /// The median.
    pub median: u32,
    /// The 95th percentile.
    pub p95: u32,
    /// The longest.
    pub max: u32,
    /// The mean.
    pub mean: f64,
    /// How many examples are longer than `max_len` and would be cut.
    pub truncated: u64,
}

impl LengthStats {
    /// Summarises `lengths` (sorted in place) against `max_len`.
    pub fn new(lengths: &mut [u32], max_len: u32, method: &str) -> LengthStats {
        lengths.sort_unstable();
        let pick = |q: f64| -> u32 {
            if lengths.is_empty() {
                0
            } else {
                lengths[(((lengths.len() - 1) as f64) * q).round() as usize]
            }
        };
        let sum: u64 = lengths.iter().map(|&l| l as u64).sum();
        LengthStats {
            method: method.to_string(),
            max_len,
            min: lengths.first().copied().unwrap_or(0),
            median: pick(0.5),
            p95: pick(0.95),
            max: lengths.last().copied().unwrap_or(0),
            mean: if lengths.is_empty() {
                0.0
            } else {
                sum as f64 / lengths.len() as f64
            },
            truncated: lengths.iter().filter(|&&l| l > max_len).count() as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_count_the_rows_longer_than_the_maximum() {
        let mut l = vec![5, 1, 9, 3, 7];
        let s = LengthStats::new(&mut l, 6, "estimate");
        assert_eq!((s.min, s.median, s.max, s.truncated), (1, 5, 9, 2));
    }

    #[test]
    fn an_estimate_grows_with_the_words() {
        assert!(estimate("one two three four five six") > estimate("one two"));
    }
}
