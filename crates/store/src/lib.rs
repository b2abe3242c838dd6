//! Tunesmith's run history: one SQLite file under the home folder holding the models registry,
//! datasets, runs, metrics, artefacts, evaluations, notes, outputs and blind ratings, plus one folder per run for its files.
//! It knows nothing of candle: the facade translates the engine's events into these calls.
//!
//! Promises: WAL mode (readers never block the writer), foreign keys on, every write in one
//! transaction, the schema migrated forward from any earlier version, a damaged or read-only file
//! reported as such (never a panic) with a way to start anyway, runs whose process died marked
//! interrupted at the next open, artefacts recorded only once complete, and a deleted run's rows
//! and files removed together.
#![deny(missing_docs)]

pub mod artefacts;
pub mod clock;
pub mod compare;
pub mod datasets;
pub mod error;
pub mod evaluations;
pub mod files;
pub mod id;
pub mod metrics;
pub mod models;
pub mod notes;
pub mod outputs;
pub mod ratings;
pub mod recorder;
pub mod runs;
pub mod schema;
mod store;

pub use artefacts::{ArtefactKind, ArtefactRecord};
pub use compare::{ConfigDifference, MetricRow, RunComparison};
pub use datasets::{DatasetRecord, NewDataset};
pub use error::{Result, StoreError};
pub use evaluations::{EvalModel, EvaluationRecord};
pub use metrics::{MetricPoint, MetricSummary, MetricWriter, Split};
pub use models::{ModelRecord, ModelSource, NewModel};
pub use notes::NoteRecord;
pub use outputs::{OutputKind, OutputRecord};
pub use ratings::{Choice, NewRating, RatingRecord, Side};
pub use recorder::RunRecorder;
pub use runs::{
    BestMetric, DeletedRun, DiskUsage, Goal, NewRun, PrimaryMetric, RunRecord, RunStatus,
    RunSummary,
};
pub use schema::SCHEMA_VERSION;
pub use store::Store;

/// The name of the database file inside the home folder.
pub const DATABASE_FILE: &str = "tunesmith.sqlite3";

/// Reports the SQLite library version compiled into this build (shown by `tunesmith doctor`).
pub fn sqlite_version() -> &'static str {
    rusqlite::version()
}

#[cfg(test)]
pub(crate) mod testing {
    //! A store in a temporary folder, for unit tests.

    /// A fresh store under a temporary folder (kept alive by the returned guard).
    pub fn temp_store() -> (tempfile::TempDir, crate::Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open(
            &dir.path().join(crate::DATABASE_FILE),
            &dir.path().join("runs"),
        )
        .unwrap();
        (dir, store)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_new_database_uses_write_ahead_logging_and_the_newest_schema() {
        let (_dir, store) = crate::testing::temp_store();
        let mode: String = store
            .conn()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = store
            .conn()
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
        assert_eq!(store.schema_version().unwrap(), crate::SCHEMA_VERSION);
    }
}
