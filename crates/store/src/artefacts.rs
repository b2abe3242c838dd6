//! Artefacts: the files a run produces (checkpoints, the best checkpoint, adapters, merged models,
//! exports), each recorded with its size and sha256 only after it is complete on disk (see
//! [`crate::files::commit`]). Paths inside the run's folder are stored relative to it, so a home
//! folder can be moved; paths elsewhere are stored as they are.

use std::path::{Path, PathBuf};

use rusqlite::{params, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use crate::{clock, files, Result, Store, StoreError};

/// Schema version 5: the artefacts table.
pub(crate) const MIGRATION_V5: &str = "
CREATE TABLE artefacts (
    id          INTEGER PRIMARY KEY,
    run_id      TEXT    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL CHECK (kind IN ('checkpoint', 'best_checkpoint', 'adapter', 'merged', 'export')),
    path        TEXT    NOT NULL,
    size_bytes  INTEGER NOT NULL CHECK (size_bytes >= 0),
    sha256      TEXT    NOT NULL,
    step        INTEGER,
    created_at  INTEGER NOT NULL,
    UNIQUE (run_id, path)
) STRICT;
CREATE INDEX artefacts_by_run ON artefacts (run_id, kind, step);
";

/// What an artefact is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum ArtefactKind {
    /// A resumable checkpoint (weights, optimiser, scheduler, RNG, data position).
    Checkpoint,
    /// The checkpoint with the best validation metric so far.
    BestCheckpoint,
    /// A PEFT-format adapter.
    Adapter,
    /// Merged full weights (safetensors).
    Merged,
    /// An export (GGUF, Ollama Modelfile ...).
    Export,
}

impl ArtefactKind {
    /// The word stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            ArtefactKind::Checkpoint => "checkpoint",
            ArtefactKind::BestCheckpoint => "best_checkpoint",
            ArtefactKind::Adapter => "adapter",
            ArtefactKind::Merged => "merged",
            ArtefactKind::Export => "export",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        [
            ArtefactKind::Checkpoint,
            ArtefactKind::BestCheckpoint,
            ArtefactKind::Adapter,
            ArtefactKind::Merged,
            ArtefactKind::Export,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
        .ok_or_else(|| StoreError::BadValue {
            column: "artefacts.kind".into(),
            detail: format!("'{s}'"),
        })
    }
}

/// A recorded artefact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ArtefactRecord {
    /// Row id.
    pub id: i64,
    /// The run that produced it.
    pub run_id: String,
    /// What it is.
    pub kind: ArtefactKind,
    /// Where it is (absolute).
    pub path: PathBuf,
    /// Bytes (a folder: all its files).
    pub size_bytes: u64,
    /// sha256 in lower-case hex (a folder: see [`files::sha256`]).
    pub sha256: String,
    /// The training step it was taken at.
    pub step: Option<u64>,
    /// Recorded (ms).
    pub created_at: i64,
}

const COLUMNS: &str = "id, run_id, kind, path, size_bytes, sha256, step, created_at";

impl Store {
    fn artefact_from_row(&self, row: &Row<'_>) -> rusqlite::Result<(ArtefactRecord, String)> {
        let run_id: String = row.get(1)?;
        let stored: String = row.get(3)?;
        let path = Path::new(&stored);
        let path = if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.run_dir(&run_id).join(path)
        };
        Ok((
            ArtefactRecord {
                id: row.get(0)?,
                run_id,
                kind: ArtefactKind::Checkpoint,
                path,
                size_bytes: row.get::<_, i64>(4)? as u64,
                sha256: row.get(5)?,
                step: row.get::<_, Option<i64>>(6)?.map(|s| s as u64),
                created_at: row.get(7)?,
            },
            row.get(2)?,
        ))
    }

    /// Records a finished file or folder as an artefact of `run_id`, measuring its size and sha256
    /// now. Call it only after the file is complete and in place ([`files::commit`] or
    /// [`files::write_atomic`]); a temporary name (`.x.partial-N`) is refused. Recording the same
    /// path again replaces the row (a "latest" checkpoint rewritten in place).
    pub fn record_artefact(
        &self,
        run_id: &str,
        kind: ArtefactKind,
        path: &Path,
        step: Option<u64>,
    ) -> Result<ArtefactRecord> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.contains(".partial-") {
            return Err(StoreError::ArtefactMismatch {
                path: path.to_path_buf(),
                problem: "is still a temporary file; commit it to its final name first".into(),
            });
        }
        if !path.exists() {
            return Err(StoreError::ArtefactMismatch {
                path: path.to_path_buf(),
                problem: "does not exist".into(),
            });
        }
        let size = files::disk_usage(path)?;
        let sha = files::sha256(path)?;
        let dir = self.run_dir(run_id);
        let stored = match path.strip_prefix(&dir) {
            Ok(rel) => rel.to_string_lossy().into_owned(),
            Err(_) => path.to_string_lossy().into_owned(),
        };
        let now = clock::now_ms();
        let id = self.write(|tx| {
            if tx.query_row("SELECT COUNT(*) FROM runs WHERE id = ?1", [run_id], |r| r.get::<_, i64>(0))? == 0 {
                return Err(StoreError::RunNotFound(run_id.to_string()));
            }
            tx.execute(
                "INSERT INTO artefacts (run_id, kind, path, size_bytes, sha256, step, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (run_id, path) DO UPDATE SET kind = excluded.kind, size_bytes = excluded.size_bytes,
                     sha256 = excluded.sha256, step = excluded.step, created_at = excluded.created_at",
                params![run_id, kind.as_str(), stored, size as i64, sha, step.map(|s| s as i64), now],
            )?;
            Ok(tx.query_row(
                "SELECT id FROM artefacts WHERE run_id = ?1 AND path = ?2",
                params![run_id, stored],
                |r| r.get::<_, i64>(0),
            )?)
        })?;
        Ok(ArtefactRecord {
            id,
            run_id: run_id.to_string(),
            kind,
            path: path.to_path_buf(),
            size_bytes: size,
            sha256: sha,
            step,
            created_at: now,
        })
    }

    /// Every artefact of a run, by step then time.
    pub fn artefacts(&self, run_id: &str) -> Result<Vec<ArtefactRecord>> {
        let mut stmt = self.conn().prepare(&format!(
            "SELECT {COLUMNS} FROM artefacts WHERE run_id = ?1 ORDER BY COALESCE(step, -1), created_at, id"
        ))?;
        let rows = stmt.query_map([run_id], |r| self.artefact_from_row(r))?;
        rows.map(|r| {
            let (mut a, kind) = r?;
            a.kind = ArtefactKind::parse(&kind)?;
            Ok(a)
        })
        .collect()
    }

    /// The newest resumable checkpoint of a run (highest step) whose files are still present with
    /// the recorded size; `None` if there is none.
    pub fn last_checkpoint(&self, run_id: &str) -> Result<Option<ArtefactRecord>> {
        let mut stmt = self.conn().prepare(&format!(
            "SELECT {COLUMNS} FROM artefacts WHERE run_id = ?1 AND kind = 'checkpoint'
              ORDER BY COALESCE(step, -1) DESC, created_at DESC, id DESC"
        ))?;
        let rows = stmt.query_map([run_id], |r| self.artefact_from_row(r))?;
        for row in rows {
            let (mut a, _) = row?;
            a.kind = ArtefactKind::Checkpoint;
            if files::disk_usage(&a.path)? == a.size_bytes && a.path.exists() {
                return Ok(Some(a));
            }
        }
        Ok(None)
    }

    /// Checks an artefact's file against its record (exists, same size, same sha256).
    pub fn verify_artefact(&self, artefact: &ArtefactRecord) -> Result<()> {
        if !artefact.path.exists() {
            return Err(StoreError::ArtefactMismatch {
                path: artefact.path.clone(),
                problem: "is missing".into(),
            });
        }
        let size = files::disk_usage(&artefact.path)?;
        if size != artefact.size_bytes {
            return Err(StoreError::ArtefactMismatch {
                path: artefact.path.clone(),
                problem: format!("has {size} bytes, {} were recorded", artefact.size_bytes),
            });
        }
        if files::sha256(&artefact.path)? != artefact.sha256 {
            return Err(StoreError::ArtefactMismatch {
                path: artefact.path.clone(),
                problem: "has changed since it was recorded (sha256 differs)".into(),
            });
        }
        Ok(())
    }

    /// Forgets one artefact row (the file is left to the caller).
    pub fn forget_artefact(&self, id: i64) -> Result<bool> {
        self.write(|tx| Ok(tx.execute("DELETE FROM artefacts WHERE id = ?1", [id])? > 0))
    }

    /// The artefact with this id.
    pub fn artefact(&self, id: i64) -> Result<Option<ArtefactRecord>> {
        self.conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM artefacts WHERE id = ?1"),
                [id],
                |r| self.artefact_from_row(r),
            )
            .optional()?
            .map(|(mut a, kind)| {
                a.kind = ArtefactKind::parse(&kind)?;
                Ok(a)
            })
            .transpose()
    }
}
