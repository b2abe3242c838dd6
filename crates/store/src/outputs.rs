//! Outputs: files a finished run made for its user after training, beside its artefacts: a data
//! file predicted with it (every row answered or classified) and corrected copies of its dataset
//! (labels fixed, rows left out from the error grid). Each is recorded with the file it came from,
//! the file written, how many rows, and a JSON detail, so History shows what the model was used for.

use std::path::PathBuf;

use rusqlite::params;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::runs::{parse_json, to_json};
use crate::{clock, Result, Store, StoreError};

/// Schema version 8: the outputs table.
pub(crate) const MIGRATION_V8: &str = "
CREATE TABLE outputs (
    id         INTEGER PRIMARY KEY,
    run_id     TEXT    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL CHECK (kind IN ('predictions', 'corrected_data')),
    source     TEXT    NOT NULL,
    path       TEXT    NOT NULL,
    rows       INTEGER NOT NULL CHECK (rows >= 0),
    detail     TEXT    NOT NULL CHECK (json_valid(detail)),
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX outputs_by_run ON outputs (run_id, created_at);
";

/// What an output is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum OutputKind {
    /// A data file with the run's prediction added to every row.
    Predictions,
    /// A corrected copy of the run's dataset (relabelled rows, rows left out).
    CorrectedData,
}

impl OutputKind {
    /// The word stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            OutputKind::Predictions => "predictions",
            OutputKind::CorrectedData => "corrected_data",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        [OutputKind::Predictions, OutputKind::CorrectedData]
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| StoreError::BadValue {
                column: "outputs.kind".into(),
                detail: format!("'{s}'"),
            })
    }
}

/// A recorded output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct OutputRecord {
    /// Row id.
    pub id: i64,
    /// The run used.
    pub run_id: String,
    /// What it is.
    pub kind: OutputKind,
    /// The file it was made from (the user's data file).
    pub source: PathBuf,
    /// The file written.
    pub path: PathBuf,
    /// Rows written.
    pub rows: u64,
    /// Details (rows not readable, labels changed, rows left out ...).
    pub detail: Value,
    /// When (ms).
    pub created_at: i64,
}

impl Store {
    /// Records that run `run_id` made `path` from `source` (call once the file is complete).
    pub fn record_output(
        &self,
        run_id: &str,
        kind: OutputKind,
        source: &std::path::Path,
        path: &std::path::Path,
        rows: u64,
        detail: &Value,
    ) -> Result<OutputRecord> {
        let text = to_json("the output's details", detail)?;
        let now = clock::now_ms();
        let (src, dst) = (source.display().to_string(), path.display().to_string());
        let id = self.write(|tx| {
            if tx.query_row("SELECT COUNT(*) FROM runs WHERE id = ?1", [run_id], |r| {
                r.get::<_, i64>(0)
            })? == 0
            {
                return Err(StoreError::RunNotFound(run_id.to_string()));
            }
            tx.execute(
                "INSERT INTO outputs (run_id, kind, source, path, rows, detail, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![run_id, kind.as_str(), src, dst, rows as i64, text, now],
            )?;
            Ok(tx.last_insert_rowid())
        })?;
        Ok(OutputRecord {
            id,
            run_id: run_id.to_string(),
            kind,
            source: source.to_path_buf(),
            path: path.to_path_buf(),
            rows,
            detail: detail.clone(),
            created_at: now,
        })
    }

    /// A run's outputs, oldest first.
    pub fn outputs(&self, run_id: &str) -> Result<Vec<OutputRecord>> {
        let mut stmt = self.conn().prepare(
            "SELECT id, run_id, kind, source, path, rows, detail, created_at FROM outputs
              WHERE run_id = ?1 ORDER BY created_at, id",
        )?;
        let rows = stmt.query_map([run_id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, i64>(7)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, run_id, kind, source, path, n, detail, created_at) = row?;
            out.push(OutputRecord {
                id,
                run_id,
                kind: OutputKind::parse(&kind)?,
                source: PathBuf::from(source),
                path: PathBuf::from(path),
                rows: n.max(0) as u64,
                detail: parse_json("outputs.detail", &detail)?,
                created_at,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::temp_store;

    #[test]
    fn an_output_is_recorded_and_read_back_with_its_details() {
        let (_dir, store) = temp_store();
        let run = store
            .create_run(&crate::NewRun {
                name: None,
                task: "classify".into(),
                method: "lora".into(),
                model_id: None,
                model_ref: "minilm".into(),
                dataset_id: None,
                dataset_ref: "in.csv".into(),
                data_fingerprint: None,
                config: serde_json::json!({}),
                device: "cpu".into(),
                hardware: serde_json::json!({}),
                versions: serde_json::json!({}),
                seed: 0,
                split: serde_json::json!({}),
                primary_metric: None,
                parent_run: None,
            })
            .unwrap();
        let detail = serde_json::json!({"unreadable": 2});
        store
            .record_output(
                &run.id,
                OutputKind::Predictions,
                std::path::Path::new("/data/in.csv"),
                std::path::Path::new("/data/in.predicted.csv"),
                98,
                &detail,
            )
            .unwrap();
        let all = store.outputs(&run.id).unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].kind, OutputKind::Predictions);
        assert_eq!(all[0].rows, 98);
        assert_eq!(all[0].detail, detail);
        let unknown = store.record_output(
            "nope",
            OutputKind::CorrectedData,
            std::path::Path::new("a"),
            std::path::Path::new("b"),
            1,
            &detail,
        );
        assert!(matches!(unknown, Err(StoreError::RunNotFound(_))));
    }
}
