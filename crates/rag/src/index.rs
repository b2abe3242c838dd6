//! The index: one SQLite file per collection of documents, holding each document's source, content
//! hash and passages, the passages' vectors (little-endian `f32` blobs) and an FTS5 full-text index
//! over their text for BM25 keyword search.
//!
//! Promises: every change is made in a transaction, so a killed indexing run leaves every document
//! either fully in or fully out; the settings that shaped the passages (embedding model, tokenizer,
//! chunk size) are recorded, so a later run can tell when everything must be redone.

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::error::{RagError, Result};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL UNIQUE,
    format TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    warnings TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES documents(id),
    ordinal INTEGER NOT NULL,
    location_kind TEXT NOT NULL,
    location_start INTEGER NOT NULL,
    location_end INTEGER NOT NULL,
    tokens INTEGER NOT NULL,
    text TEXT NOT NULL,
    vector BLOB
);
CREATE INDEX IF NOT EXISTS chunks_by_document ON chunks(document_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    text, content='chunks', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS chunks_fts_insert AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER IF NOT EXISTS chunks_fts_delete AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
";

/// The index format's version, recorded in `meta`.
pub const SCHEMA_VERSION: &str = "1";

/// The settings that shaped an index's passages and vectors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct IndexSettings {
    /// The embedding model's id, or `None` for a keyword-only index.
    pub embed_model: Option<String>,
    /// The vectors' length (0 without a model).
    pub dimension: usize,
    /// The token counter's id.
    pub tokenizer: String,
    /// Passage size in tokens.
    pub chunk_tokens: usize,
    /// Overlap in tokens.
    pub overlap_tokens: usize,
}

/// A summary of an index.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct IndexInfo {
    /// The index file.
    pub path: PathBuf,
    /// Its settings, if anything was ever indexed.
    pub settings: Option<IndexSettings>,
    /// How many documents.
    pub documents: usize,
    /// How many passages.
    pub chunks: usize,
}

/// A document as recorded in the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredDocument {
    pub id: i64,
    pub source: String,
    pub sha256: String,
    pub warnings: Vec<String>,
}

/// An open index file.
pub struct Index {
    pub(crate) conn: Connection,
    pub(crate) path: PathBuf,
}

impl Index {
    /// Opens the index at `path`, creating the file (and its folder) if needed.
    pub fn open(path: &Path) -> Result<Index> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| RagError::Input {
                path: parent.to_path_buf(),
                reason: e.to_string(),
            })?;
        }
        // A new index that cannot be set up (a full disk) is removed, not left half-made.
        let existed = path.exists();
        Self::set_up(path).inspect_err(|_| {
            if !existed {
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = path.as_os_str().to_owned();
                    p.push(suffix);
                    let _ = std::fs::remove_file(p);
                }
            }
        })
    }

    fn set_up(path: &Path) -> Result<Index> {
        let conn = Connection::open(path).map_err(|e| db(path, e))?;
        let index = Index {
            conn,
            path: path.to_path_buf(),
        };
        index
            .conn
            .execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;")
            .map_err(|e| index.db(e))?;
        index.conn.execute_batch(SCHEMA).map_err(|e| index.db(e))?;
        match index.meta("schema_version")? {
            None => index.set_meta("schema_version", SCHEMA_VERSION)?,
            Some(v) if v == SCHEMA_VERSION => {}
            Some(v) => {
                return Err(RagError::Mismatch(format!(
                    "the index {} has format version {v}, this Tunesmith reads version {SCHEMA_VERSION}; index the documents again under a new name",
                    path.display()
                )))
            }
        }
        Ok(index)
    }

    /// Opens an existing index, failing with a clear message if there is none at `path`.
    pub fn open_existing(path: &Path) -> Result<Index> {
        if !path.is_file() {
            return Err(RagError::Input {
                path: path.to_path_buf(),
                reason: "there is no index there; create it with `tunesmith rag index`".to_string(),
            });
        }
        Index::open(path)
    }

    /// The index file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The recorded settings, if anything was ever indexed.
    pub fn settings(&self) -> Result<Option<IndexSettings>> {
        let Some(tokenizer) = self.meta("tokenizer")? else {
            return Ok(None);
        };
        let num = |k: &str| -> Result<usize> {
            Ok(self.meta(k)?.and_then(|v| v.parse().ok()).unwrap_or(0))
        };
        Ok(Some(IndexSettings {
            embed_model: self.meta("embed_model")?.filter(|m| !m.is_empty()),
            dimension: num("dimension")?,
            tokenizer,
            chunk_tokens: num("chunk_tokens")?,
            overlap_tokens: num("overlap_tokens")?,
        }))
    }

    /// Counts and settings.
    pub fn info(&self) -> Result<IndexInfo> {
        let count = |sql: &str| -> Result<usize> {
            self.conn
                .query_row(sql, [], |r| r.get::<_, i64>(0))
                .map(|n| n as usize)
                .map_err(|e| self.db(e))
        };
        Ok(IndexInfo {
            path: self.path.clone(),
            settings: self.settings()?,
            documents: count("SELECT COUNT(*) FROM documents")?,
            chunks: count("SELECT COUNT(*) FROM chunks")?,
        })
    }

    /// The sources of the indexed documents, sorted.
    pub fn sources(&self) -> Result<Vec<String>> {
        Ok(self.documents()?.into_iter().map(|d| d.source).collect())
    }

    pub(crate) fn documents(&self) -> Result<Vec<StoredDocument>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, source, sha256, warnings FROM documents ORDER BY source")
            .map_err(|e| self.db(e))?;
        let rows = stmt
            .query_map([], |r| {
                let warnings: String = r.get(3)?;
                Ok(StoredDocument {
                    id: r.get(0)?,
                    source: r.get(1)?,
                    sha256: r.get(2)?,
                    warnings: serde_json::from_str(&warnings).unwrap_or_default(),
                })
            })
            .map_err(|e| self.db(e))?;
        rows.collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| self.db(e))
    }

    pub(crate) fn chunk_count(&self, document_id: i64) -> Result<usize> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM chunks WHERE document_id = ?1",
                [document_id],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as usize)
            .map_err(|e| self.db(e))
    }

    pub(crate) fn meta(&self, key: &str) -> Result<Option<String>> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| self.db(e))
    }

    pub(crate) fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.conn
            .execute("INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value", params![key, value])
            .map(|_| ())
            .map_err(|e| self.db(e))
    }

    pub(crate) fn db(&self, e: rusqlite::Error) -> RagError {
        db(&self.path, e)
    }
}

fn db(path: &Path, e: rusqlite::Error) -> RagError {
    RagError::Database {
        path: path.to_path_buf(),
        source: e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_sqlite_has_fts5_and_a_new_index_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::open(&dir.path().join("sub/x.sqlite3")).unwrap();
        let info = index.info().unwrap();
        assert_eq!((info.documents, info.chunks, info.settings), (0, 0, None));
        let fts: i64 = index
            .conn
            .query_row("SELECT sqlite_compileoption_used('ENABLE_FTS5')", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(fts, 1);
    }

    #[test]
    fn opening_a_missing_index_says_how_to_create_it() {
        let dir = tempfile::tempdir().unwrap();
        let e = Index::open_existing(&dir.path().join("none.sqlite3"))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("tunesmith rag index"), "{e}");
    }
}
