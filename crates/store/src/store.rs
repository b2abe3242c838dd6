//! Opening the run history: WAL mode, foreign keys, migrations to the current schema, and the
//! checks a desktop app needs at start: a damaged file is reported as such (and can be moved aside
//! for a fresh start, nothing deleted), a read-only file is reported and can still be read, and
//! runs whose process died are marked interrupted.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, Transaction, TransactionBehavior};

use crate::{clock, runs, schema, Result, StoreError};

/// Tables whose pages are checked at every open (all but `metrics`, the large one).
const CHECKED_AT_OPEN: &[&str] = &[
    "sqlite_schema",
    "models",
    "datasets",
    "runs",
    "metric_series",
    "artefacts",
    "evaluations",
    "notes",
    "outputs",
    "ratings",
];

/// How long a writer waits for another writer's lock before giving up (readers never block it).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The run history: one SQLite connection plus the folder holding one sub-folder per run.
///
/// Every write goes through one transaction. A `Store` is `Send`; share one between threads behind a
/// mutex, or open one per thread (WAL lets readers and the writer work at once).
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
    runs_dir: PathBuf,
    read_only: bool,
    recovered: Vec<String>,
}

impl Store {
    /// Opens (creating if needed) the history at `database`, with run folders under `runs_dir`;
    /// migrates it to the current schema and marks runs whose process is gone as interrupted.
    ///
    /// A damaged file gives [`StoreError::Corrupt`] (see [`Store::backup_and_start_fresh`]); a file
    /// that cannot be written gives [`StoreError::ReadOnly`] (see [`Store::open_read_only`]).
    pub fn open(database: &Path, runs_dir: &Path) -> Result<Store> {
        Self::open_with_flags(database, runs_dir, OpenFlags::default())
    }

    /// Opens `database` with explicit SQLite flags. With `SQLITE_OPEN_URI`, `database` may be a
    /// `file:` URI (tests open `file:...?mode=ro` to stand for a file the OS will not let us write,
    /// which file permissions cannot simulate for root). `SQLITE_OPEN_READ_ONLY` gives a store whose
    /// writes fail with [`StoreError::ReadOnly`] and which migrates nothing.
    pub fn open_with_flags(database: &Path, runs_dir: &Path, flags: OpenFlags) -> Result<Store> {
        let conn = Connection::open_with_flags(database, flags).map_err(|e| {
            classify(database, e, |source| StoreError::Open {
                path: database.to_path_buf(),
                source,
            })
        })?;
        let mut store = Store {
            conn,
            path: database.to_path_buf(),
            runs_dir: runs_dir.to_path_buf(),
            read_only: flags.contains(OpenFlags::SQLITE_OPEN_READ_ONLY),
            recovered: Vec::new(),
        };
        // Whatever fails while opening names the file: damage SQLite reports as such is `Corrupt`,
        // and a damaged copy can fail in ways it does not call corruption too (a migration meeting
        // columns that already exist).
        let named = |store: &Store, e: StoreError| match store.reclassify(e) {
            StoreError::Sqlite(source) => StoreError::Open {
                path: database.to_path_buf(),
                source,
            },
            other => other,
        };
        store.prepare().map_err(|e| named(&store, e))?;
        if !store.read_only {
            store.recovered = store
                .mark_dead_runs_interrupted()
                .map_err(|e| named(&store, e))?;
            store.sweep_half_deleted_runs();
        }
        Ok(store)
    }

    /// Opens the history for reading only, so the app can still show past runs when the file cannot
    /// be written. Nothing is migrated or changed; an older schema is read as it is where possible.
    pub fn open_read_only(database: &Path, runs_dir: &Path) -> Result<Store> {
        match Self::open_with_flags(
            database,
            runs_dir,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
        ) {
            Ok(store) => Ok(store),
            // WAL needs its -shm file; where the folder is read-only too, read the file as immutable.
            Err(StoreError::ReadOnly { .. }) | Err(StoreError::Open { .. }) => {
                // URI paths escape '%', '?' and '#'.
                let escaped = database
                    .display()
                    .to_string()
                    .replace('%', "%25")
                    .replace('?', "%3f")
                    .replace('#', "%23");
                let uri = format!("file:{escaped}?immutable=1");
                Self::open_with_flags(
                    Path::new(&uri),
                    runs_dir,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
                )
                .map(|mut s| {
                    s.path = database.to_path_buf();
                    s
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Moves a damaged (or unwanted) history file aside, with its `-wal` and `-shm` companions, to
    /// `<file>.damaged-<YYYYMMDD-HHMMSS>`, and opens a fresh, empty history in its place. Nothing is
    /// deleted: the backup keeps every byte, and run folders stay where they are. Returns the new
    /// store and the backup's path.
    pub fn backup_and_start_fresh(database: &Path, runs_dir: &Path) -> Result<(Store, PathBuf)> {
        let backup = backup_path(database);
        for suffix in ["", "-wal", "-shm"] {
            let from = PathBuf::from(format!("{}{suffix}", database.display()));
            if from.exists() {
                let to = PathBuf::from(format!("{}{suffix}", backup.display()));
                std::fs::rename(&from, &to)
                    .map_err(|e| StoreError::io("could not move aside", &from, e))?;
            }
        }
        Ok((Store::open(database, runs_dir)?, backup))
    }

    /// Like [`Store::backup_and_start_fresh`], but only when the history really is damaged: a file
    /// that opens fine gives [`StoreError::NotDamaged`] and is left alone.
    pub fn recover_damaged(database: &Path, runs_dir: &Path) -> Result<(Store, PathBuf)> {
        match Store::open(database, runs_dir) {
            Err(StoreError::Corrupt { .. }) => Store::backup_and_start_fresh(database, runs_dir),
            Err(e) => Err(e),
            Ok(_) => Err(StoreError::NotDamaged(database.to_path_buf())),
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The folder holding one folder per run.
    pub fn runs_dir(&self) -> &Path {
        &self.runs_dir
    }

    /// Whether this store was opened read-only (writes fail with [`StoreError::ReadOnly`]).
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The schema version of the open file.
    pub fn schema_version(&self) -> Result<u32> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get::<_, u32>(0))?)
    }

    /// The runs that were marked interrupted when this store was opened (their process was gone).
    pub fn recovered_at_open(&self) -> &[String] {
        &self.recovered
    }

    /// Runs SQLite's full integrity check; `Ok(())` or [`StoreError::Corrupt`] with its findings.
    pub fn check_integrity(&self) -> Result<()> {
        let findings = (|| -> Result<Vec<String>> {
            let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })()
        .map_err(|e| self.reclassify(e))?;
        if findings.len() == 1 && findings[0] == "ok" {
            Ok(())
        } else {
            Err(self.corrupt(findings.join("; ")))
        }
    }

    /// The connection, for reads.
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Runs `f` inside one immediate transaction: all of it is written, or none of it.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        if self.read_only {
            return Err(StoreError::ReadOnly {
                path: self.path.clone(),
                detail: "it was opened read-only".into(),
            });
        }
        let run = || {
            let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
            let value = f(&tx)?;
            tx.commit()?;
            Ok(value)
        };
        run().map_err(|e| self.reclassify(e))
    }

    fn prepare(&mut self) -> Result<()> {
        self.conn.busy_timeout(BUSY_TIMEOUT)?;
        // Reading the header first tells a damaged file from everything else.
        let found: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        // The header's version is a signed 32-bit field; Tunesmith only ever writes small positive ones.
        let Ok(found) = u32::try_from(found) else {
            return Err(self.corrupt(format!("its schema version reads {found}")));
        };
        self.conn.pragma_update(None, "foreign_keys", "ON")?;
        if found > schema::SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                path: self.path.clone(),
                found,
                known: schema::SCHEMA_VERSION,
            });
        }
        if self.read_only {
            return Ok(());
        }
        let mode: String = self
            .conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::ReadOnly {
                path: self.path.clone(),
                detail: format!("SQLite kept journal mode '{mode}' instead of WAL"),
            });
        }
        // WAL + NORMAL survives the app being killed at any point; only an OS crash or power loss can
        // lose the last transactions, never corrupt the file.
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        schema::migrations()
            .to_latest(&mut self.conn)
            .map_err(|e| match e {
                rusqlite_migration::Error::RusqliteError { err, .. } => StoreError::Sqlite(err),
                other => StoreError::Migration {
                    path: self.path.clone(),
                    detail: other.to_string(),
                },
            })?;
        // Check every table but the bulky metric points page by page: it keeps start-up quick on a
        // long history (a full check of 1,000,000 points takes over a second). Damage there is
        // reported when it is read; `check_integrity` checks everything.
        for table in CHECKED_AT_OPEN {
            let mut stmt = self.conn.prepare(&format!("PRAGMA quick_check({table})"))?;
            let findings: Vec<String> = stmt
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            if !(findings.len() == 1 && findings[0] == "ok") {
                return Err(self.corrupt(format!("table {table}: {}", findings.join("; "))));
            }
        }
        Ok(())
    }

    fn corrupt(&self, detail: String) -> StoreError {
        StoreError::Corrupt {
            path: self.path.clone(),
            detail,
            backup_hint: backup_path(&self.path).display().to_string(),
        }
    }

    /// Turns SQLite's "not a database", "corrupt" and "read-only" codes into the errors that say what
    /// to do (naming this store's file); everything else passes through. Writes do this themselves;
    /// callers may pass read errors through it.
    pub fn reclassify(&self, e: StoreError) -> StoreError {
        match e {
            StoreError::Sqlite(err) => classify(&self.path, err, StoreError::Sqlite),
            other => other,
        }
    }

    /// Marks running or paused runs whose process is gone as interrupted; returns their ids.
    fn mark_dead_runs_interrupted(&self) -> Result<Vec<String>> {
        let candidates = self.live_run_processes()?;
        let now = clock::now_ms();
        let dead: Vec<String> = candidates
            .into_iter()
            .filter(|(_, pid, heartbeat)| runs::process_is_gone(*pid, *heartbeat, now))
            .map(|(id, _, _)| id)
            .collect();
        for id in &dead {
            self.mark_interrupted(
                id,
                "the process running it stopped without finishing (crash, kill or reboot)",
            )?;
        }
        Ok(dead)
    }

    /// Removes run folders left half-deleted by a delete that was interrupted after its rows went.
    fn sweep_half_deleted_runs(&self) {
        let Ok(entries) = std::fs::read_dir(&self.runs_dir) else {
            return;
        };
        for entry in entries.flatten() {
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with(crate::runs::DELETING_PREFIX)
            {
                // Best effort: a folder that resists is retried at the next start.
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

fn backup_path(database: &Path) -> PathBuf {
    PathBuf::from(format!(
        "{}.damaged-{}",
        database.display(),
        clock::compact_utc_seconds(clock::now_ms())
    ))
}

fn classify(
    path: &Path,
    err: rusqlite::Error,
    other: impl FnOnce(rusqlite::Error) -> StoreError,
) -> StoreError {
    let code = err.sqlite_error_code();
    match code {
        Some(ErrorCode::NotADatabase) | Some(ErrorCode::DatabaseCorrupt) => StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: err.to_string(),
            backup_hint: backup_path(path).display().to_string(),
        },
        Some(ErrorCode::ReadOnly) => StoreError::ReadOnly {
            path: path.to_path_buf(),
            detail: err.to_string(),
        },
        Some(ErrorCode::CannotOpen) if path.exists() => StoreError::ReadOnly {
            path: path.to_path_buf(),
            detail: err.to_string(),
        },
        _ => other(err),
    }
}
