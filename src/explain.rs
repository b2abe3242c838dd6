//! Explanations: `tunesmith explain` and the "Why this answer?" disclosure. For a text put to a
//! fine-tuned run (a prediction, or a question answered), the run's own TRAINING rows most similar
//! to it, best first, with their labels or answers: the examples the answer most likely leans on.
//!
//! Similarity is the cosine of sentence embeddings made by the encoder RAG uses (default
//! all-MiniLM-L6-v2, or one the caller names). When the default encoder is not on this machine and
//! cannot be fetched offline, a keyword similarity (cosine of bag-of-words counts) is used instead
//! and the answer says so: an explanation never fails just for being offline. A model the caller
//! NAMES must load, else it is an error (a typo should not silently turn into keywords).
//!
//! Only the training split is searched (never validation or test rows: the model has not learned
//! from those), and at most [`MAX_ROWS`] of it, the rest counted as skipped.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use tunesmith_data::example::Content;
use tunesmith_data::Task;
use tunesmith_rag::Embedder;

use crate::home::Home;
use crate::rag::{SentenceEncoder, DEFAULT_EMBED_MODEL, NO_EMBED_MODEL};
use crate::run::{find_run, TrainPlan};
use crate::{Error, Result};

/// Closest examples returned when no number is asked for.
pub const DEFAULT_TOP_K: usize = 3;

/// The most training rows embedded for one explanation (the rest are skipped and counted): a few
/// thousand rows embed in seconds on a CPU; a whole large dataset would keep the user waiting.
pub const MAX_ROWS: usize = 5_000;

/// What `embed_model` reports when the keyword similarity was used.
pub const KEYWORD_SIMILARITY: &str = "keywords";

/// What to explain.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct ExplainRequest {
    /// The run (id, id prefix, suffix or name).
    pub run: String,
    /// The text classified, or the question answered.
    pub text: String,
    /// How many examples; `None` for [`DEFAULT_TOP_K`].
    pub top_k: Option<u32>,
    /// An embedding model (hub id or folder), `"none"` for keyword similarity, `None` for the
    /// default (falling back to keywords when it is not available offline).
    pub embed_model: Option<String>,
}

/// One training example close to the text.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ClosestExample {
    /// Its text (classification) or prompt (generation).
    pub text: String,
    /// Its label (classification runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Its answer (generation runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
    /// Cosine similarity to the text, -1 to 1 (1: the same).
    pub similarity: f32,
    /// The line it starts on in the data file.
    pub line: u64,
}

/// `tunesmith explain`'s answer.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct Explanation {
    /// The run.
    pub run_id: String,
    /// The text explained.
    pub text: String,
    /// The closest training examples, best first.
    pub examples: Vec<ClosestExample>,
    /// The embedding model used, or [`KEYWORD_SIMILARITY`].
    pub embed_model: String,
    /// Why keywords were used instead of the default embedding model, when they were.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback_reason: Option<String>,
    /// Training rows compared.
    pub searched_rows: usize,
    /// Training rows beyond [`MAX_ROWS`] not compared.
    pub skipped_rows: usize,
}

/// One training row as the explanation shows it.
struct Candidate {
    /// What is compared with the text.
    text: String,
    label: Option<String>,
    response: Option<String>,
    line: u64,
}

/// The training rows of run `request.run` closest to `request.text`, best first.
pub fn explain(home: &Home, request: &ExplainRequest) -> Result<Explanation> {
    let text = request.text.trim();
    if text.is_empty() {
        return Err(Error::invalid(
            "the text to explain is empty; give the text that was classified or the question that was answered",
        ));
    }
    let top_k = request.top_k.map(|k| k as usize).unwrap_or(DEFAULT_TOP_K);
    if top_k == 0 {
        return Err(Error::invalid(
            "--top-k 0 asks for no examples; give 1 or more",
        ));
    }
    let run = find_run(home, &request.run)?;
    let classify = run.task() == Task::Classify;
    let plan = TrainPlan::of_run(&run);
    let (dataset, split) = plan.load_data()?;
    let train = split.indices(0);
    let skipped_rows = train.len().saturating_sub(MAX_ROWS);
    let candidates: Vec<Candidate> = train
        .iter()
        .take(MAX_ROWS)
        .filter_map(|&i| dataset.examples.get(i))
        .map(|e| candidate(&e.content, e.line, classify))
        .filter(|c| !c.text.trim().is_empty())
        .collect();

    let (embed_model, fallback_reason, similarities) =
        similarities(request.embed_model.as_deref(), text, &candidates)?;
    let searched_rows = candidates.len();
    // Best first. Embeddings can tie (a small encoder maps near-identical rows to one point), so
    // scores equal to 4 decimals are ordered by the words they share with the text, then by file
    // order: the row written exactly as the text comes first, and the answer is the same every time.
    let query_words = bag_of_words(text);
    let mut scored: Vec<(f32, f32, Candidate)> = similarities
        .into_iter()
        .zip(candidates)
        .map(|(s, c)| {
            let words = if embed_model == KEYWORD_SIMILARITY {
                s
            } else {
                bag_cosine(&query_words, &bag_of_words(&c.text))
            };
            (s, words, c)
        })
        .collect();
    let rounded = |s: f32| (s * 10_000.0).round() as i64;
    scored.sort_by(|a, b| {
        rounded(b.0)
            .cmp(&rounded(a.0))
            .then(b.1.total_cmp(&a.1))
            .then(a.2.line.cmp(&b.2.line))
    });
    scored.truncate(top_k);
    Ok(Explanation {
        run_id: run.id,
        text: text.to_string(),
        examples: scored
            .into_iter()
            .map(|(similarity, _, c)| ClosestExample {
                text: c.text,
                label: c.label,
                response: c.response,
                similarity,
                line: c.line,
            })
            .collect(),
        embed_model,
        fallback_reason,
        searched_rows,
        skipped_rows,
    })
}

/// The text compared (a classification row's text, a conversation's non-assistant turns) and what
/// the example taught (its label, or its last assistant answer).
fn candidate(content: &Content, line: u64, classify: bool) -> Candidate {
    match content {
        Content::Labelled { text, label } => Candidate {
            text: text.clone(),
            label: classify.then(|| label.clone()),
            response: None,
            line,
        },
        Content::Chat { messages } => Candidate {
            text: messages
                .iter()
                .filter(|m| m.role == "user")
                .map(|m| m.content.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            label: None,
            response: messages
                .iter()
                .rev()
                .find(|m| m.role == "assistant")
                .map(|m| m.content.clone()),
            line,
        },
        Content::Text { text } => Candidate {
            text: text.clone(),
            label: None,
            response: None,
            line,
        },
    }
}

/// The similarity of `text` to each candidate, with the model used and, for the keyword
/// fallback, why.
fn similarities(
    embed_model: Option<&str>,
    text: &str,
    candidates: &[Candidate],
) -> Result<(String, Option<String>, Vec<f32>)> {
    let keywords = |reason: Option<String>| {
        let q = bag_of_words(text);
        let sims = candidates
            .iter()
            .map(|c| bag_cosine(&q, &bag_of_words(&c.text)))
            .collect();
        (KEYWORD_SIMILARITY.to_string(), reason, sims)
    };
    let encoder = match embed_model {
        Some(m) if m == NO_EMBED_MODEL || m == KEYWORD_SIMILARITY => return Ok(keywords(None)),
        Some(m) => SentenceEncoder::load(m, false)?,
        None => match SentenceEncoder::load(DEFAULT_EMBED_MODEL, false) {
            Ok(e) => e,
            Err(e) => {
                return Ok(keywords(Some(format!(
                    "the embedding model {DEFAULT_EMBED_MODEL} is not available offline, so keyword similarity was used instead ({e})"
                ))))
            }
        },
    };
    let query = encoder.embed(&[text])?.pop().unwrap_or_default();
    let mut sims = Vec::with_capacity(candidates.len());
    for chunk in candidates.chunks(encoder.batch_size()) {
        let texts: Vec<&str> = chunk.iter().map(|c| c.text.as_str()).collect();
        for v in encoder.embed(&texts)? {
            sims.push(cosine(&query, &v));
        }
    }
    Ok((encoder.model_id(), None, sims))
}

/// Cosine of two vectors; 0 when either is all zeros.
fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut dot, mut na, mut nb) = (0f64, 0f64, 0f64);
    for (x, y) in a.iter().zip(b) {
        dot += (*x as f64) * (*y as f64);
        na += (*x as f64).powi(2);
        nb += (*y as f64).powi(2);
    }
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    (dot / (na.sqrt() * nb.sqrt())) as f32
}

/// Lower-cased word counts (letters and digits; everything else separates words).
fn bag_of_words(text: &str) -> HashMap<String, f64> {
    let mut bag = HashMap::new();
    for w in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        *bag.entry(w.to_lowercase()).or_insert(0.0) += 1.0;
    }
    bag
}

/// Cosine of two word-count bags; 0 when either is empty.
fn bag_cosine(a: &HashMap<String, f64>, b: &HashMap<String, f64>) -> f32 {
    let dot: f64 = a.iter().filter_map(|(w, x)| b.get(w).map(|y| x * y)).sum();
    let norm = |m: &HashMap<String, f64>| m.values().map(|v| v * v).sum::<f64>().sqrt();
    let (na, nb) = (norm(a), norm(b));
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    (dot / (na * nb)) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_similarity_is_one_for_the_same_words_and_zero_for_none_shared() {
        let a = bag_of_words("Good, fine GREAT");
        assert!((bag_cosine(&a, &bag_of_words("great fine good")) - 1.0).abs() < 1e-6);
        assert_eq!(bag_cosine(&a, &bag_of_words("table chair")), 0.0);
        assert_eq!(bag_cosine(&a, &bag_of_words("  ,, ")), 0.0);
        let half = bag_cosine(&bag_of_words("a b"), &bag_of_words("a c"));
        assert!((half - 0.5).abs() < 1e-6, "{half}");
    }

    #[test]
    fn vector_cosine_handles_zero_vectors_and_opposites() {
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 2.0]), 0.0);
        assert!((cosine(&[1.0, 0.0], &[-2.0, 0.0]) + 1.0).abs() < 1e-6);
    }
}
