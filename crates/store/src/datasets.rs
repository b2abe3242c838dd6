//! The datasets table: each data file a run used, with its fingerprint (so a re-run can check the
//! data is the same), row count, column roles and the data doctor's summary. One row per
//! (path, fingerprint): an edited file is a new dataset, and old runs keep pointing at what they used.

use std::path::{Path, PathBuf};

use rusqlite::{params, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::runs::{parse_json, to_json};
use crate::{clock, Result, Store, StoreError};

/// Schema version 2: the datasets table.
pub(crate) const MIGRATION_V2: &str = "
CREATE TABLE datasets (
    id          INTEGER PRIMARY KEY,
    path        TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    rows        INTEGER NOT NULL CHECK (rows >= 0),
    roles       TEXT    NOT NULL CHECK (json_valid(roles)),
    doctor      TEXT    NOT NULL CHECK (json_valid(doctor)),
    added_at    INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (path, fingerprint)
) STRICT;
CREATE INDEX datasets_by_fingerprint ON datasets (fingerprint);
";

/// A dataset to record (the key is path + fingerprint).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NewDataset {
    /// The data file.
    pub path: PathBuf,
    /// A content fingerprint (e.g. sha256 of the normalised rows).
    pub fingerprint: String,
    /// Number of rows.
    pub rows: u64,
    /// Column roles, e.g. `{"text": "sentence", "label": "label"}`.
    pub roles: Value,
    /// The data doctor's summary.
    pub doctor: Value,
}

/// A recorded dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DatasetRecord {
    /// Registry id.
    pub id: i64,
    /// The data file.
    pub path: PathBuf,
    /// Content fingerprint.
    pub fingerprint: String,
    /// Rows.
    pub rows: u64,
    /// Column roles.
    pub roles: Value,
    /// Data doctor summary.
    pub doctor: Value,
    /// First recorded (ms).
    pub added_at: i64,
    /// Last refreshed (ms).
    pub updated_at: i64,
}

const COLUMNS: &str = "id, path, fingerprint, rows, roles, doctor, added_at, updated_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<(DatasetRecord, String, String)> {
    Ok((
        DatasetRecord {
            id: row.get(0)?,
            path: PathBuf::from(row.get::<_, String>(1)?),
            fingerprint: row.get(2)?,
            rows: row.get::<_, i64>(3)? as u64,
            roles: Value::Null,
            doctor: Value::Null,
            added_at: row.get(6)?,
            updated_at: row.get(7)?,
        },
        row.get(4)?,
        row.get(5)?,
    ))
}

fn finish((mut d, roles, doctor): (DatasetRecord, String, String)) -> Result<DatasetRecord> {
    d.roles = parse_json("datasets.roles", &roles)?;
    d.doctor = parse_json("datasets.doctor", &doctor)?;
    Ok(d)
}

impl Store {
    /// Records a dataset, or refreshes the row with the same path and fingerprint.
    pub fn upsert_dataset(&self, d: &NewDataset) -> Result<DatasetRecord> {
        let now = clock::now_ms();
        let path = d.path.to_string_lossy().into_owned();
        let roles = to_json("the column roles", &d.roles)?;
        let doctor = to_json("the data doctor's summary", &d.doctor)?;
        self.write(|tx| {
            tx.execute(
                "INSERT INTO datasets (path, fingerprint, rows, roles, doctor, added_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
                 ON CONFLICT (path, fingerprint) DO UPDATE SET
                     rows = excluded.rows, roles = excluded.roles, doctor = excluded.doctor,
                     updated_at = excluded.updated_at",
                params![path, d.fingerprint, d.rows as i64, roles, doctor, now],
            )?;
            Ok(())
        })?;
        self.conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM datasets WHERE path = ?1 AND fingerprint = ?2"),
                params![path, d.fingerprint],
                from_row,
            )
            .map_err(StoreError::from)
            .and_then(finish)
    }

    /// The dataset with this id.
    pub fn dataset(&self, id: i64) -> Result<Option<DatasetRecord>> {
        self.conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM datasets WHERE id = ?1"),
                [id],
                from_row,
            )
            .optional()?
            .map(finish)
            .transpose()
    }

    /// Datasets recorded for this path, newest first.
    pub fn datasets_at(&self, path: &Path) -> Result<Vec<DatasetRecord>> {
        let mut stmt = self.conn().prepare(&format!(
            "SELECT {COLUMNS} FROM datasets WHERE path = ?1 ORDER BY updated_at DESC, id DESC"
        ))?;
        let rows = stmt.query_map([path.to_string_lossy()], from_row)?;
        rows.map(|r| finish(r?)).collect()
    }

    /// Every recorded dataset, newest first.
    pub fn datasets(&self) -> Result<Vec<DatasetRecord>> {
        let mut stmt = self.conn().prepare(&format!(
            "SELECT {COLUMNS} FROM datasets ORDER BY updated_at DESC, id DESC"
        ))?;
        let rows = stmt.query_map([], from_row)?;
        rows.map(|r| finish(r?)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::temp_store;

    #[test]
    fn the_same_file_with_new_content_is_a_new_dataset() {
        let (_dir, store) = temp_store();
        let mut d = NewDataset {
            path: "/data/sst2.tsv".into(),
            fingerprint: "aaa".into(),
            rows: 10,
            roles: serde_json::json!({"text": "sentence", "label": "label"}),
            doctor: serde_json::json!({"duplicates": 0}),
        };
        let a = store.upsert_dataset(&d).unwrap();
        assert_eq!(store.upsert_dataset(&d).unwrap().id, a.id);
        d.fingerprint = "bbb".into();
        let b = store.upsert_dataset(&d).unwrap();
        assert_ne!(a.id, b.id);
        assert_eq!(
            store
                .datasets_at(Path::new("/data/sst2.tsv"))
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            store.dataset(a.id).unwrap().unwrap().roles["label"],
            "label"
        );
        assert_eq!(store.datasets().unwrap().len(), 2);
    }
}
