//! Evaluations: the metrics of one model (the untouched base, the fine-tuned one, either with RAG)
//! on one split of a run's data, as a JSON object, so base and fine-tuned sit side by side.

use rusqlite::params;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::runs::{parse_json, to_json};
use crate::{clock, Result, Split, Store, StoreError};

/// Schema version 6: the evaluations table.
pub(crate) const MIGRATION_V6: &str = "
CREATE TABLE evaluations (
    id         INTEGER PRIMARY KEY,
    run_id     TEXT    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    model      TEXT    NOT NULL CHECK (model IN ('base', 'fine_tuned', 'base_rag', 'fine_tuned_rag')),
    split      TEXT    NOT NULL CHECK (split IN ('train', 'validation', 'test')),
    rows       INTEGER NOT NULL CHECK (rows >= 0),
    metrics    TEXT    NOT NULL CHECK (json_valid(metrics)),
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX evaluations_by_run ON evaluations (run_id, split, model);
";

/// Which model was evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum EvalModel {
    /// The untouched base model (for classification: with a trained head, said so in the UI).
    Base,
    /// The fine-tuned model.
    FineTuned,
    /// The base model reading the user's documents.
    BaseRag,
    /// The fine-tuned model reading the user's documents.
    FineTunedRag,
}

impl EvalModel {
    /// The word stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            EvalModel::Base => "base",
            EvalModel::FineTuned => "fine_tuned",
            EvalModel::BaseRag => "base_rag",
            EvalModel::FineTunedRag => "fine_tuned_rag",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        [
            EvalModel::Base,
            EvalModel::FineTuned,
            EvalModel::BaseRag,
            EvalModel::FineTunedRag,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
        .ok_or_else(|| StoreError::BadValue {
            column: "evaluations.model".into(),
            detail: format!("'{s}'"),
        })
    }
}

/// A recorded evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct EvaluationRecord {
    /// Row id.
    pub id: i64,
    /// The run.
    pub run_id: String,
    /// Which model.
    pub model: EvalModel,
    /// Which split.
    pub split: Split,
    /// Rows evaluated.
    pub rows: u64,
    /// The metrics (`accuracy`, `macro_f1`, `per_class`, `confusion`; or `loss`, `perplexity` ...).
    pub metrics: Value,
    /// When (ms).
    pub created_at: i64,
}

impl Store {
    /// Records an evaluation of `model` on `split` of `run_id`.
    pub fn record_evaluation(
        &self,
        run_id: &str,
        model: EvalModel,
        split: Split,
        rows: u64,
        metrics: &Value,
    ) -> Result<EvaluationRecord> {
        let text = to_json("the evaluation metrics", metrics)?;
        let now = clock::now_ms();
        let id = self.write(|tx| {
            if tx.query_row("SELECT COUNT(*) FROM runs WHERE id = ?1", [run_id], |r| r.get::<_, i64>(0))? == 0 {
                return Err(StoreError::RunNotFound(run_id.to_string()));
            }
            tx.execute(
                "INSERT INTO evaluations (run_id, model, split, rows, metrics, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![run_id, model.as_str(), split.as_str(), rows as i64, text, now],
            )?;
            Ok(tx.last_insert_rowid())
        })?;
        Ok(EvaluationRecord {
            id,
            run_id: run_id.to_string(),
            model,
            split,
            rows,
            metrics: metrics.clone(),
            created_at: now,
        })
    }

    /// Every evaluation of a run, oldest first.
    pub fn evaluations(&self, run_id: &str) -> Result<Vec<EvaluationRecord>> {
        let mut stmt = self.conn().prepare(
            "SELECT id, run_id, model, split, rows, metrics, created_at FROM evaluations
              WHERE run_id = ?1 ORDER BY created_at, id",
        )?;
        let rows = stmt.query_map([run_id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, i64>(6)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, run_id, model, split, n, metrics, created_at) = row?;
            out.push(EvaluationRecord {
                id,
                run_id,
                model: EvalModel::parse(&model)?,
                split: Split::parse(&split)?,
                rows: n as u64,
                metrics: parse_json("evaluations.metrics", &metrics)?,
                created_at,
            });
        }
        Ok(out)
    }
}
