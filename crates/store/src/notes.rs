//! Notes: free text a user attaches to a run ("tried a lower learning rate because ...").

use rusqlite::params;
use serde::{Deserialize, Serialize};

use crate::{clock, Result, Store, StoreError};

/// Schema version 7: the notes table.
pub(crate) const MIGRATION_V7: &str = "
CREATE TABLE notes (
    id         INTEGER PRIMARY KEY,
    run_id     TEXT    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    text       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX notes_by_run ON notes (run_id, created_at);
";

/// A note on a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NoteRecord {
    /// Row id.
    pub id: i64,
    /// The run.
    pub run_id: String,
    /// The text.
    pub text: String,
    /// When (ms).
    pub created_at: i64,
}

impl Store {
    /// Adds a note to a run.
    pub fn add_note(&self, run_id: &str, text: &str) -> Result<NoteRecord> {
        let now = clock::now_ms();
        let id = self.write(|tx| {
            if tx.query_row("SELECT COUNT(*) FROM runs WHERE id = ?1", [run_id], |r| {
                r.get::<_, i64>(0)
            })? == 0
            {
                return Err(StoreError::RunNotFound(run_id.to_string()));
            }
            tx.execute(
                "INSERT INTO notes (run_id, text, created_at) VALUES (?1, ?2, ?3)",
                params![run_id, text, now],
            )?;
            Ok(tx.last_insert_rowid())
        })?;
        Ok(NoteRecord {
            id,
            run_id: run_id.to_string(),
            text: text.to_string(),
            created_at: now,
        })
    }

    /// A run's notes, oldest first.
    pub fn notes(&self, run_id: &str) -> Result<Vec<NoteRecord>> {
        let mut stmt =
            self.conn().prepare("SELECT id, run_id, text, created_at FROM notes WHERE run_id = ?1 ORDER BY created_at, id")?;
        let rows = stmt.query_map([run_id], |r| {
            Ok(NoteRecord {
                id: r.get(0)?,
                run_id: r.get(1)?,
                text: r.get(2)?,
                created_at: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
