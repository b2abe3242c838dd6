//! Retrieval: the passages that best answer a question, with their source, location and score.
//!
//! Semantic search is an exact scan: every stored vector is compared with the question's (a dot
//! product of unit vectors is their cosine similarity). At a few hundred thousand passages this takes
//! well under a second, so no approximate index is needed. Keyword search is SQLite FTS5's BM25.
//! Hybrid search fuses both rankings by reciprocal rank.

use std::path::Path;

use rusqlite::params;
use serde::{Deserialize, Serialize};

use crate::embed::{embed_query, from_blob, Embedder};
use crate::error::{RagError, Result};
use crate::fusion::{reciprocal_rank_fusion, RRF_K};
use crate::index::Index;
use crate::location::{Location, LocationKind};

/// Which ranking to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum SearchMode {
    /// Semantic and keyword rankings fused (the default; keyword only for a keyword-only index).
    #[default]
    Hybrid,
    /// Closeness of meaning only (needs an embedding model).
    Semantic,
    /// BM25 keyword matching only.
    Keyword,
}

/// How to search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SearchOptions {
    /// How many passages to return.
    pub top_k: usize,
    /// Which ranking.
    pub mode: SearchMode,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            top_k: 5,
            mode: SearchMode::Hybrid,
        }
    }
}

/// A retrieved passage.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Passage {
    /// The document's path.
    pub source: String,
    /// Where in the document.
    #[serde(serialize_with = "location_as_text")]
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub location: Location,
    /// The ranking score (higher is better): the fused score in hybrid mode, the cosine similarity in
    /// semantic mode, the BM25 score in keyword mode.
    pub score: f32,
    /// The passage.
    pub text: String,
    /// Its cosine similarity to the question, when semantic search ranked it.
    pub semantic_score: Option<f32>,
    /// Its BM25 score, when keyword search matched it.
    pub keyword_score: Option<f32>,
}

fn location_as_text<S: serde::Serializer>(
    l: &Location,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&l.to_string())
}

impl Passage {
    /// The source's file name, for compact citations.
    pub fn file_name(&self) -> String {
        Path::new(&self.source)
            .file_name()
            .map_or_else(|| self.source.clone(), |n| n.to_string_lossy().into_owned())
    }
}

/// How many candidates each ranking contributes to the fusion.
fn candidates(top_k: usize) -> usize {
    (top_k * 5).max(50)
}

impl Index {
    /// The `options.top_k` passages that best match `question`, best first. `embedder` must be the
    /// model the index was built with (`None` is fine for a keyword-only index or keyword mode).
    pub fn search(
        &self,
        question: &str,
        embedder: Option<&dyn Embedder>,
        options: &SearchOptions,
    ) -> Result<Vec<Passage>> {
        if options.top_k == 0 || question.trim().is_empty() {
            return Ok(Vec::new());
        }
        let settings = self.settings()?;
        let indexed_model = settings.as_ref().and_then(|s| s.embed_model.clone());
        let mode = match (options.mode, &indexed_model) {
            (SearchMode::Hybrid, None) => SearchMode::Keyword,
            (SearchMode::Semantic, None) => {
                return Err(RagError::Mismatch(
                    "this index was built without an embedding model, so it can only search by keywords; index it again with a model for semantic search".to_string(),
                ))
            }
            (m, _) => m,
        };
        let mut semantic: Vec<(i64, f32)> = Vec::new();
        if mode != SearchMode::Keyword {
            let model = indexed_model.unwrap_or_default();
            let embedder = embedder.ok_or_else(|| {
                RagError::Mismatch(format!(
                    "this index was built with the embedding model {model}; load it to search"
                ))
            })?;
            if embedder.model_id() != model {
                return Err(RagError::Mismatch(format!(
                    "this index was built with the embedding model {model}, not {}; questions must be embedded by the same model",
                    embedder.model_id()
                )));
            }
            let q = embed_query(embedder, question)?;
            semantic = self.nearest(&q, candidates(options.top_k))?;
        }
        let keyword = if mode != SearchMode::Semantic {
            self.keyword(question, candidates(options.top_k))?
        } else {
            Vec::new()
        };

        let ranked: Vec<(i64, f32)> = match mode {
            SearchMode::Semantic => semantic.clone(),
            SearchMode::Keyword => keyword.clone(),
            SearchMode::Hybrid => reciprocal_rank_fusion(
                &[
                    semantic.iter().map(|x| x.0).collect(),
                    keyword.iter().map(|x| x.0).collect(),
                ],
                RRF_K,
            ),
        };
        let lookup = |list: &[(i64, f32)], id: i64| list.iter().find(|x| x.0 == id).map(|x| x.1);
        ranked
            .into_iter()
            .take(options.top_k)
            .map(|(id, score)| {
                let mut p = self.passage(id)?;
                p.score = score;
                p.semantic_score = lookup(&semantic, id);
                p.keyword_score = lookup(&keyword, id);
                Ok(p)
            })
            .collect()
    }

    /// The `n` passages whose vectors are closest to `query` (exact scan), best first.
    pub(crate) fn nearest(&self, query: &[f32], n: usize) -> Result<Vec<(i64, f32)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, vector FROM chunks WHERE vector IS NOT NULL")
            .map_err(|e| self.db(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.db(e))?;
        let mut scored: Vec<(i64, f32)> = Vec::new();
        while let Some(row) = rows.next().map_err(|e| self.db(e))? {
            let id: i64 = row.get(0).map_err(|e| self.db(e))?;
            let blob = row
                .get_ref(1)
                .map_err(|e| self.db(e))?
                .as_blob()
                .map_err(|e| self.db(e.into()))?;
            if blob.len() != query.len() * 4 {
                return Err(RagError::Mismatch(format!(
                    "passage {id} has a vector of {} numbers, the question {}; the index is damaged: index the documents again",
                    blob.len() / 4,
                    query.len()
                )));
            }
            let dot: f32 = blob
                .chunks_exact(4)
                .zip(query)
                .map(|(b, q)| f32::from_le_bytes([b[0], b[1], b[2], b[3]]) * q)
                .sum();
            scored.push((id, dot));
        }
        let by_score = |a: &(i64, f32), b: &(i64, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if scored.len() > n {
            scored.select_nth_unstable_by(n, by_score);
            scored.truncate(n);
        }
        scored.sort_by(by_score);
        Ok(scored)
    }

    /// The `n` best BM25 matches for the question's words, best first (scores negated so higher is
    /// better).
    pub(crate) fn keyword(&self, question: &str, n: usize) -> Result<Vec<(i64, f32)>> {
        let Some(query) = fts_query(question) else {
            return Ok(Vec::new());
        };
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT rowid, bm25(chunks_fts) FROM chunks_fts WHERE chunks_fts MATCH ?1 ORDER BY bm25(chunks_fts), rowid LIMIT ?2",
            )
            .map_err(|e| self.db(e))?;
        let rows = stmt
            .query_map(params![query, n as i64], |r| {
                Ok((r.get::<_, i64>(0)?, -(r.get::<_, f64>(1)? as f32)))
            })
            .map_err(|e| self.db(e))?;
        rows.collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| self.db(e))
    }

    fn passage(&self, id: i64) -> Result<Passage> {
        self.conn
            .query_row(
                "SELECT d.source, c.location_kind, c.location_start, c.location_end, c.text
                 FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id = ?1",
                [id],
                |r| {
                    let kind: String = r.get(1)?;
                    Ok(Passage {
                        source: r.get(0)?,
                        location: Location::range(
                            LocationKind::parse(&kind).unwrap_or(LocationKind::Paragraph),
                            r.get(2)?,
                            r.get(3)?,
                        ),
                        score: 0.0,
                        text: r.get(4)?,
                        semantic_score: None,
                        keyword_score: None,
                    })
                },
            )
            .map_err(|e| self.db(e))
    }

    /// Every stored vector, for checks and tools (decoded from its blob).
    pub fn vectors(&self) -> Result<Vec<(i64, Vec<f32>)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, vector FROM chunks WHERE vector IS NOT NULL ORDER BY id")
            .map_err(|e| self.db(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))
            .map_err(|e| self.db(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, blob) = row.map_err(|e| self.db(e))?;
            let v = from_blob(&blob).ok_or_else(|| {
                RagError::Mismatch(format!(
                    "passage {id}'s vector is damaged; index the documents again"
                ))
            })?;
            out.push((id, v));
        }
        Ok(out)
    }
}

/// An FTS5 query matching any of the question's words: each word quoted (so words like `NOT` or
/// `NEAR` and punctuation are never read as query syntax), joined with OR; BM25 then favours the
/// passages holding more, and rarer, of them.
pub fn fts_query(question: &str) -> Option<String> {
    let mut words: Vec<String> = Vec::new();
    for w in question
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let w = w.to_lowercase();
        if !words.contains(&w) {
            words.push(w);
        }
        if words.len() == 64 {
            break;
        }
    }
    if words.is_empty() {
        return None;
    }
    Some(
        words
            .iter()
            .map(|w| format!("\"{w}\""))
            .collect::<Vec<_>>()
            .join(" OR "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_become_safe_or_queries() {
        assert_eq!(
            fts_query("What's NOT covered? NOT near!").unwrap(),
            "\"what\" OR \"s\" OR \"not\" OR \"covered\" OR \"near\""
        );
        assert_eq!(fts_query("?!"), None);
    }
}
