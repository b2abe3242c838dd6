//! The models registry: every model Tunesmith knows (pulled from the hub, imported from a folder or
//! a `.gguf` file) with what a user chooses by: architecture, parameters, context length, size on
//! disk, and where it came from. One row per path on disk; `upsert_model` is idempotent.

use std::path::{Path, PathBuf};

use rusqlite::{params, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use crate::{clock, Result, Store, StoreError};

/// Schema version 1: the models table.
pub(crate) const MIGRATION_V1: &str = "
CREATE TABLE models (
    id             INTEGER PRIMARY KEY,
    source         TEXT    NOT NULL CHECK (source IN ('hub', 'local', 'gguf')),
    name           TEXT    NOT NULL,
    revision       TEXT,
    path           TEXT    NOT NULL UNIQUE,
    architecture   TEXT,
    parameters     INTEGER CHECK (parameters IS NULL OR parameters >= 0),
    context_length INTEGER CHECK (context_length IS NULL OR context_length >= 0),
    size_bytes     INTEGER NOT NULL DEFAULT 0 CHECK (size_bytes >= 0),
    hash           TEXT,
    origin         TEXT,
    added_at       INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX models_by_name ON models (name);
";

/// Where a model came from (the shared vocabulary's: the hub client describes models with it).
pub use tunesmith_vocab::ModelSource;

/// The stored word of a model's source, read back.
fn parse_source(s: &str) -> Result<ModelSource> {
    s.parse().map_err(|_| StoreError::BadValue {
        column: "models.source".into(),
        detail: format!("'{s}'"),
    })
}

/// A model to register (or refresh: the path is the key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NewModel {
    /// Where it came from.
    pub source: ModelSource,
    /// What people call it: the hub id (`sentence-transformers/all-MiniLM-L6-v2`) or the folder/file name.
    pub name: String,
    /// The hub revision (commit) for hub models.
    pub revision: Option<String>,
    /// The folder or `.gguf` file on disk (the registry's key).
    pub path: PathBuf,
    /// `config.json`'s architecture (`BertModel`, `LlamaForCausalLM`) or GGUF's `general.architecture`.
    pub architecture: Option<String>,
    /// Number of parameters.
    pub parameters: Option<u64>,
    /// Longest input in tokens.
    pub context_length: Option<u64>,
    /// Bytes on disk.
    pub size_bytes: u64,
    /// A content hash (sha256 of the weights, or the hub's etag/commit).
    pub hash: Option<String>,
    /// Where it was imported from or pulled (a URL, the original path).
    pub origin: Option<String>,
}

/// A registered model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ModelRecord {
    /// The registry's id.
    pub id: i64,
    /// Where it came from.
    pub source: ModelSource,
    /// Hub id or file/folder name.
    pub name: String,
    /// The hub revision.
    pub revision: Option<String>,
    /// The folder or file on disk.
    pub path: PathBuf,
    /// Architecture name.
    pub architecture: Option<String>,
    /// Number of parameters.
    pub parameters: Option<u64>,
    /// Longest input in tokens.
    pub context_length: Option<u64>,
    /// Bytes on disk.
    pub size_bytes: u64,
    /// Content hash.
    pub hash: Option<String>,
    /// Where it came from, in detail.
    pub origin: Option<String>,
    /// First registered (ms since the epoch, UTC).
    pub added_at: i64,
    /// Last refreshed (ms since the epoch, UTC).
    pub updated_at: i64,
}

const COLUMNS: &str =
    "id, source, name, revision, path, architecture, parameters, context_length, \
                       size_bytes, hash, origin, added_at, updated_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<(ModelRecord, String)> {
    let source: String = row.get(1)?;
    let path: String = row.get(4)?;
    Ok((
        ModelRecord {
            id: row.get(0)?,
            source: ModelSource::Hub,
            name: row.get(2)?,
            revision: row.get(3)?,
            path: PathBuf::from(path),
            architecture: row.get(5)?,
            parameters: row.get::<_, Option<i64>>(6)?.map(|v| v as u64),
            context_length: row.get::<_, Option<i64>>(7)?.map(|v| v as u64),
            size_bytes: row.get::<_, i64>(8)? as u64,
            hash: row.get(9)?,
            origin: row.get(10)?,
            added_at: row.get(11)?,
            updated_at: row.get(12)?,
        },
        source,
    ))
}

fn finish((mut record, source): (ModelRecord, String)) -> Result<ModelRecord> {
    record.source = parse_source(&source)?;
    Ok(record)
}

fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

impl Store {
    /// Registers a model, or refreshes the row with the same path (keeping its id and `added_at`).
    pub fn upsert_model(&self, model: &NewModel) -> Result<ModelRecord> {
        let now = clock::now_ms();
        let path = path_text(&model.path);
        self.write(|tx| {
            tx.execute(
                "INSERT INTO models (source, name, revision, path, architecture, parameters, context_length,
                                     size_bytes, hash, origin, added_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)
                 ON CONFLICT (path) DO UPDATE SET
                     source = excluded.source, name = excluded.name, revision = excluded.revision,
                     architecture = excluded.architecture, parameters = excluded.parameters,
                     context_length = excluded.context_length, size_bytes = excluded.size_bytes,
                     hash = excluded.hash, origin = excluded.origin, updated_at = excluded.updated_at",
                params![
                    model.source.as_str(),
                    model.name,
                    model.revision,
                    path,
                    model.architecture,
                    model.parameters.map(|v| v as i64),
                    model.context_length.map(|v| v as i64),
                    model.size_bytes as i64,
                    model.hash,
                    model.origin,
                    now
                ],
            )?;
            Ok(())
        })?;
        self.model_by_path(&model.path)?
            .ok_or_else(|| StoreError::BadValue {
                column: "models.path".into(),
                detail: format!("{path} vanished right after it was written"),
            })
    }

    /// Every registered model, by name.
    pub fn models(&self) -> Result<Vec<ModelRecord>> {
        let mut stmt = self
            .conn()
            .prepare(&format!("SELECT {COLUMNS} FROM models ORDER BY name, id"))?;
        let rows = stmt.query_map([], from_row)?;
        rows.map(|r| finish(r?)).collect()
    }

    /// The model with this registry id.
    pub fn model(&self, id: i64) -> Result<Option<ModelRecord>> {
        self.conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM models WHERE id = ?1"),
                [id],
                from_row,
            )
            .optional()?
            .map(finish)
            .transpose()
    }

    /// The model registered at this path.
    pub fn model_by_path(&self, path: &Path) -> Result<Option<ModelRecord>> {
        self.conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM models WHERE path = ?1"),
                [path_text(path)],
                from_row,
            )
            .optional()?
            .map(finish)
            .transpose()
    }

    /// Models whose name is exactly `name` (a hub id may be registered at several revisions/paths).
    pub fn models_named(&self, name: &str) -> Result<Vec<ModelRecord>> {
        let mut stmt = self.conn().prepare(&format!(
            "SELECT {COLUMNS} FROM models WHERE name = ?1 ORDER BY updated_at DESC"
        ))?;
        let rows = stmt.query_map([name], from_row)?;
        rows.map(|r| finish(r?)).collect()
    }

    /// Forgets a model (its files are left alone: they may be in the shared HF cache). Runs that used
    /// it keep their own record of the model's name and path. Returns whether a row was removed.
    pub fn remove_model(&self, id: i64) -> Result<bool> {
        self.write(|tx| Ok(tx.execute("DELETE FROM models WHERE id = ?1", [id])? > 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::temp_store;

    fn minilm(path: &str) -> NewModel {
        NewModel {
            source: ModelSource::Hub,
            name: "sentence-transformers/all-MiniLM-L6-v2".into(),
            revision: Some("c9745ed1".into()),
            path: PathBuf::from(path),
            architecture: Some("BertModel".into()),
            parameters: Some(22_713_216),
            context_length: Some(512),
            size_bytes: 90_868_376,
            hash: Some("53aa5117".into()),
            origin: Some("https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2".into()),
        }
    }

    #[test]
    fn upserting_the_same_path_twice_keeps_one_row_with_the_newest_values() {
        let (_dir, store) = temp_store();
        let first = store.upsert_model(&minilm("/cache/minilm")).unwrap();
        let mut changed = minilm("/cache/minilm");
        changed.size_bytes = 1;
        changed.source = ModelSource::Local;
        let second = store.upsert_model(&changed).unwrap();
        assert_eq!(first.id, second.id);
        assert_eq!(first.added_at, second.added_at);
        assert_eq!(second.size_bytes, 1);
        assert_eq!(second.source, ModelSource::Local);
        assert_eq!(store.models().unwrap().len(), 1);
    }

    #[test]
    fn models_are_listed_found_by_path_and_name_and_removed() {
        let (_dir, store) = temp_store();
        let a = store.upsert_model(&minilm("/cache/a")).unwrap();
        let mut gguf = minilm("/models/smol.gguf");
        gguf.source = ModelSource::Gguf;
        gguf.name = "smol.gguf".into();
        store.upsert_model(&gguf).unwrap();
        assert_eq!(store.models().unwrap().len(), 2);
        assert_eq!(
            store
                .model_by_path(Path::new("/models/smol.gguf"))
                .unwrap()
                .unwrap()
                .source,
            ModelSource::Gguf
        );
        assert_eq!(
            store
                .models_named("sentence-transformers/all-MiniLM-L6-v2")
                .unwrap()
                .len(),
            1
        );
        assert_eq!(store.model(a.id).unwrap().unwrap(), a);
        assert!(store.remove_model(a.id).unwrap());
        assert!(!store.remove_model(a.id).unwrap());
        assert_eq!(store.models().unwrap().len(), 1);
    }
}
