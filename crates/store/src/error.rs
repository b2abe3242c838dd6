//! The store's error type: every failure names the file or the run involved and says what to do.

use std::path::PathBuf;

/// Everything the run history can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file could not be opened at all (missing folder, permissions).
    #[error("could not open the run history at {path}: {source}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// The database file is damaged: not a SQLite file, or its pages fail the integrity check.
    #[error(
        "the run history at {path} is damaged ({detail}). Tunesmith can move it aside to {backup_hint} \
         (nothing in it is deleted) and start a fresh history."
    )]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// What SQLite reported.
        detail: String,
        /// Where the backup would go.
        backup_hint: String,
    },
    /// The database file (or its folder) cannot be written.
    #[error(
        "the run history at {path} is read-only ({detail}). Tunesmith can show it without changes; to record \
         new runs, make the file and its folder writable, or choose another home folder with --home."
    )]
    ReadOnly {
        /// The database file.
        path: PathBuf,
        /// What SQLite or the file system reported.
        detail: String,
    },
    /// The database was written by a newer Tunesmith whose schema this build does not know.
    #[error(
        "the run history at {path} has schema version {found}, newer than this Tunesmith knows ({known}). \
         Update Tunesmith, or choose another home folder with --home."
    )]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// The version found in the file.
        found: u32,
        /// The newest version this build knows.
        known: u32,
    },
    /// A migration failed.
    #[error("could not update the run history at {path} to the current schema: {detail}")]
    Migration {
        /// The database file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// A run id or name matched no run.
    #[error("no run matches '{0}'. List runs with `tunesmith runs list`.")]
    RunNotFound(String),
    /// A run id or name matched several runs.
    #[error("'{query}' matches several runs ({candidates}); give more of the id.")]
    AmbiguousRun {
        /// What the user typed.
        query: String,
        /// The ids it matched.
        candidates: String,
    },
    /// A model id matched no model.
    #[error("no model with id {0} in the registry")]
    ModelNotFound(i64),
    /// A status change that makes no sense for the run's current status.
    #[error("run {run} is {from}; it cannot become {to}")]
    BadTransition {
        /// The run.
        run: String,
        /// Its current status.
        from: String,
        /// The requested status.
        to: String,
    },
    /// A running run cannot be deleted.
    #[error("run {0} is running; cancel it before deleting it")]
    RunActive(String),
    /// A value read from the database does not parse (a status, a JSON column).
    #[error("the run history holds an unreadable value in {column}: {detail}")]
    BadValue {
        /// Table and column.
        column: String,
        /// What is wrong.
        detail: String,
    },
    /// A file operation on a run's folder or an artefact failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done ("could not read", "could not write" ...).
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// An artefact's file is missing or differs from what was recorded.
    #[error("artefact {path} {problem}")]
    ArtefactMismatch {
        /// The file.
        path: PathBuf,
        /// What differs.
        problem: String,
    },
    /// JSON handed to the store does not serialise.
    #[error("could not encode {what} as JSON: {source}")]
    Json {
        /// What was being encoded.
        what: &'static str,
        /// The serde error.
        source: serde_json::Error,
    },
    /// A fresh start was asked for, but the history opens fine.
    #[error("the run history at {0} is not damaged; nothing was moved")]
    NotDamaged(PathBuf),
    /// A query failed.
    #[error("{}", sqlite_message(.0))]
    Sqlite(#[from] rusqlite::Error),
}

impl StoreError {
    /// A stable code the UI can branch on: `store_corrupt` and `store_read_only` (offer a fresh start
    /// or read-only viewing), `store_too_new`, `run_not_found`, `run_ambiguous`, `run_active`, or
    /// `store` for everything else.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Corrupt { .. } => "store_corrupt",
            StoreError::ReadOnly { .. } => "store_read_only",
            StoreError::TooNew { .. } => "store_too_new",
            StoreError::RunNotFound(_) => "run_not_found",
            StoreError::AmbiguousRun { .. } => "run_ambiguous",
            StoreError::RunActive(_) => "run_active",
            StoreError::Sqlite(e) if is_disk_full(e) => "disk_full",
            _ => "store",
        }
    }

    /// Wraps an I/O error with the action and path it concerns.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        StoreError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// The store's result alias.
pub type Result<T> = std::result::Result<T, StoreError>;

fn is_disk_full(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull)
}

/// The message of [`StoreError::Sqlite`]: a full disk says so and what to do (SQLite rolled the
/// write back, so the history keeps its last complete state).
fn sqlite_message(e: &rusqlite::Error) -> String {
    if is_disk_full(e) {
        return "the disk holding the Tunesmith folder is full, so the run history cannot be written; free some \
                space on it (or choose another home folder with --home) and try again. The history keeps its last \
                complete state."
            .into();
    }
    format!("run history query failed: {e}")
}
