//! Runs: one row per fine-tuning run with everything needed to understand and reproduce it (the
//! resolved config as JSON, model, dataset and its fingerprint, seed, split, device, hardware and
//! versions), its status and timings, and the process running it (pid + heartbeat) so that a run
//! whose process died is found and marked interrupted at the next start. Each run owns a folder
//! `<runs_dir>/<id>/`; deleting the run removes the folder and the rows together.

use std::path::PathBuf;

use rusqlite::{params, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{clock, files, id, Result, Store, StoreError};

/// Schema version 3: the runs table.
pub(crate) const MIGRATION_V3: &str = "
CREATE TABLE runs (
    id               TEXT    PRIMARY KEY,
    name             TEXT    NOT NULL,
    task             TEXT    NOT NULL,
    method           TEXT    NOT NULL,
    model_id         INTEGER REFERENCES models (id) ON DELETE SET NULL,
    model_ref        TEXT    NOT NULL,
    dataset_id       INTEGER REFERENCES datasets (id) ON DELETE SET NULL,
    dataset_ref      TEXT    NOT NULL,
    data_fingerprint TEXT,
    config           TEXT    NOT NULL CHECK (json_valid(config)),
    status           TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'paused', 'interrupted',
                                                        'finished', 'failed', 'cancelled')),
    device           TEXT    NOT NULL,
    hardware         TEXT    NOT NULL CHECK (json_valid(hardware)),
    versions         TEXT    NOT NULL CHECK (json_valid(versions)),
    seed             INTEGER NOT NULL,
    split            TEXT    NOT NULL CHECK (json_valid(split)),
    primary_metric   TEXT,
    primary_split    TEXT,
    primary_goal     TEXT    CHECK (primary_goal IS NULL OR primary_goal IN ('max', 'min')),
    parent_run       TEXT    REFERENCES runs (id) ON DELETE SET NULL,
    error            TEXT,
    pid              INTEGER,
    heartbeat_at     INTEGER,
    created_at       INTEGER NOT NULL,
    started_at       INTEGER,
    finished_at      INTEGER
) STRICT;
CREATE INDEX runs_by_created ON runs (created_at);
CREATE INDEX runs_by_status ON runs (status);
";

/// A run that looks alive: (id, pid, heartbeat).
pub(crate) type LiveRun = (String, Option<u32>, Option<i64>);

/// The folder-name prefix of a run folder being deleted (swept at the next start if a delete stopped
/// half-way).
pub(crate) const DELETING_PREFIX: &str = ".deleting-";

/// A running run whose heartbeat is older than this is taken as dead even if its pid exists (the pid
/// may have been reused by another program after a reboot).
pub const STALE_HEARTBEAT_MS: i64 = 30 * 60 * 1000;

/// Where a run is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Created, not started.
    Queued,
    /// Training now.
    Running,
    /// Paused by the user; its process holds it.
    Paused,
    /// Its process stopped without finishing; resumable from its last checkpoint.
    Interrupted,
    /// Ended normally.
    Finished,
    /// Ended with an error.
    Failed,
    /// Stopped by the user.
    Cancelled,
}

impl RunStatus {
    /// Every status, in life order.
    pub const ALL: [RunStatus; 7] = [
        RunStatus::Queued,
        RunStatus::Running,
        RunStatus::Paused,
        RunStatus::Interrupted,
        RunStatus::Finished,
        RunStatus::Failed,
        RunStatus::Cancelled,
    ];

    /// The word stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Paused => "paused",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Finished => "finished",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
        }
    }

    /// Parses a stored word.
    pub fn parse(s: &str) -> Result<Self> {
        RunStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| StoreError::BadValue {
                column: "runs.status".into(),
                detail: format!("'{s}'"),
            })
    }

    /// Whether the run has ended for good (a new run is needed to train again).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            RunStatus::Finished | RunStatus::Failed | RunStatus::Cancelled
        )
    }

    /// Whether a run may go from `self` to `to`.
    pub fn can_become(self, to: RunStatus) -> bool {
        use RunStatus::*;
        matches!(
            (self, to),
            (Queued, Running | Failed | Cancelled)
                | (
                    Running,
                    Paused | Interrupted | Finished | Failed | Cancelled
                )
                | (Paused, Running | Interrupted | Failed | Cancelled)
                | (Interrupted, Running | Failed | Cancelled)
                // A cancel stops after a step and writes a checkpoint (the app's "pause"), so a
                // cancelled run can be resumed from it, as the engine and `train::resume` promise.
                | (Cancelled, Running)
                // "Train longer" continues a finished run from its last checkpoint as the same run.
                | (Finished, Running)
        )
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a larger or a smaller value of a metric is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Goal {
    /// Larger is better (accuracy, F1).
    Max,
    /// Smaller is better (loss, perplexity).
    Min,
}

impl Goal {
    fn as_str(self) -> &'static str {
        match self {
            Goal::Max => "max",
            Goal::Min => "min",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        match s {
            "max" => Ok(Goal::Max),
            "min" => Ok(Goal::Min),
            other => Err(StoreError::BadValue {
                column: "runs.primary_goal".into(),
                detail: format!("'{other}'"),
            }),
        }
    }
}

/// The metric that ranks a run ("best metric" in lists), e.g. validation accuracy, max.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PrimaryMetric {
    /// The metric's name (`accuracy`, `loss`).
    pub name: String,
    /// Which split it is measured on.
    pub split: crate::Split,
    /// Larger or smaller is better.
    pub goal: Goal,
}

/// What a new run is made of. Everything needed to reproduce it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NewRun {
    /// A readable name; defaults to `<task>-<method>` when empty.
    pub name: Option<String>,
    /// `classify` or `generate`.
    pub task: String,
    /// `full`, `features`, `lora`, `qlora`.
    pub method: String,
    /// The model's registry id, when it is registered.
    pub model_id: Option<i64>,
    /// The model as the user named it (path or hub id), kept even if the registry forgets it.
    pub model_ref: String,
    /// The dataset's registry id, when registered.
    pub dataset_id: Option<i64>,
    /// The dataset as the user named it (path).
    pub dataset_ref: String,
    /// The data's fingerprint (checked by re-runs).
    pub data_fingerprint: Option<String>,
    /// The fully resolved training configuration (every default filled in).
    pub config: Value,
    /// The device trained on (`cpu`, `cuda:0`).
    pub device: String,
    /// Hardware details (CPU model, threads, memory, GPU).
    pub hardware: Value,
    /// Versions of Tunesmith and its engines.
    pub versions: Value,
    /// The random seed.
    pub seed: u64,
    /// The split: fractions, seed, sizes.
    pub split: Value,
    /// The metric that ranks this run.
    pub primary_metric: Option<PrimaryMetric>,
    /// The run this one re-runs, if any.
    pub parent_run: Option<String>,
}

impl NewRun {
    /// A new run with exactly `run`'s settings (config, model, data and its fingerprint, seed, split,
    /// device), pointing back at it; the caller checks the data still has the recorded fingerprint
    /// (see [`NewRun::data_matches`]) and fills in this machine's hardware and versions if they moved.
    pub fn rerun_of(run: &RunRecord) -> NewRun {
        NewRun {
            name: Some(format!("{} (re-run)", run.name)),
            task: run.task.clone(),
            method: run.method.clone(),
            model_id: run.model_id,
            model_ref: run.model_ref.clone(),
            dataset_id: run.dataset_id,
            dataset_ref: run.dataset_ref.clone(),
            data_fingerprint: run.data_fingerprint.clone(),
            config: run.config.clone(),
            device: run.device.clone(),
            hardware: run.hardware.clone(),
            versions: run.versions.clone(),
            seed: run.seed,
            split: run.split.clone(),
            primary_metric: run.primary_metric.clone(),
            parent_run: Some(run.id.clone()),
        }
    }

    /// Whether the data now at hand (its fingerprint) is what this run recorded; `true` when the
    /// run recorded none.
    pub fn data_matches(&self, fingerprint: &str) -> bool {
        self.data_fingerprint
            .as_deref()
            .is_none_or(|f| f == fingerprint)
    }
}

/// A run as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RunRecord {
    /// The run id (`20261128-1542-a1b2c3`).
    pub id: String,
    /// Readable name.
    pub name: String,
    /// Task.
    pub task: String,
    /// Method.
    pub method: String,
    /// Model registry id.
    pub model_id: Option<i64>,
    /// The model as named by the user.
    pub model_ref: String,
    /// Dataset registry id.
    pub dataset_id: Option<i64>,
    /// The dataset as named by the user.
    pub dataset_ref: String,
    /// The data's fingerprint.
    pub data_fingerprint: Option<String>,
    /// Resolved configuration.
    pub config: Value,
    /// Status.
    pub status: RunStatus,
    /// Device.
    pub device: String,
    /// Hardware details.
    pub hardware: Value,
    /// Versions.
    pub versions: Value,
    /// Seed.
    pub seed: u64,
    /// Split.
    pub split: Value,
    /// The ranking metric.
    pub primary_metric: Option<PrimaryMetric>,
    /// The run this one re-runs.
    pub parent_run: Option<String>,
    /// Why it failed or was interrupted.
    pub error: Option<String>,
    /// The process that last ran it.
    pub pid: Option<u32>,
    /// Its last sign of life (ms since the epoch, UTC).
    pub heartbeat_at: Option<i64>,
    /// Created (ms).
    pub created_at: i64,
    /// First started (ms).
    pub started_at: Option<i64>,
    /// Ended (ms).
    pub finished_at: Option<i64>,
}

impl RunRecord {
    /// How long it has run: to its end, to its last heartbeat if it stopped unexpectedly, or to `now`.
    pub fn duration_ms(&self, now: i64) -> Option<i64> {
        let start = self.started_at?;
        let end = match self.status {
            RunStatus::Running => now,
            _ => self.finished_at.or(self.heartbeat_at).unwrap_or(start),
        };
        Some((end - start).max(0))
    }
}

/// The best value of a run's primary metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BestMetric {
    /// Metric name.
    pub name: String,
    /// Split measured on.
    pub split: crate::Split,
    /// The best value.
    pub value: f64,
}

/// One line of `runs list`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RunSummary {
    /// Run id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Task.
    pub task: String,
    /// Method.
    pub method: String,
    /// Model (registry name, or as given).
    pub model: String,
    /// Dataset (as given).
    pub dataset: String,
    /// Status.
    pub status: RunStatus,
    /// Best value of the primary metric so far.
    pub best_metric: Option<BestMetric>,
    /// First started (ms), if it started.
    pub started_at: Option<i64>,
    /// Created (ms).
    pub created_at: i64,
    /// Duration (ms), if it started.
    pub duration_ms: Option<i64>,
}

/// Bytes used on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DiskUsage {
    /// All run folders together.
    pub runs_bytes: u64,
    /// The database file with its WAL.
    pub database_bytes: u64,
    /// Both.
    pub total_bytes: u64,
}

/// What deleting a run did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DeletedRun {
    /// The run.
    pub id: String,
    /// Bytes freed from its folder.
    pub freed_bytes: u64,
    /// Recorded files outside the run's folder (exports the user placed elsewhere), left alone.
    pub kept_files: Vec<PathBuf>,
}

const COLUMNS: &str = "id, name, task, method, model_id, model_ref, dataset_id, dataset_ref, data_fingerprint, \
     config, status, device, hardware, versions, seed, split, primary_metric, primary_split, primary_goal, \
     parent_run, error, pid, heartbeat_at, created_at, started_at, finished_at";

/// The raw text columns, parsed after the row is read (parsing can fail with our own error).
struct RawRun {
    record: RunRecord,
    config: String,
    status: String,
    hardware: String,
    versions: String,
    split: String,
    primary: (Option<String>, Option<String>, Option<String>),
}

fn raw_from_row(row: &Row<'_>) -> rusqlite::Result<RawRun> {
    Ok(RawRun {
        record: RunRecord {
            id: row.get(0)?,
            name: row.get(1)?,
            task: row.get(2)?,
            method: row.get(3)?,
            model_id: row.get(4)?,
            model_ref: row.get(5)?,
            dataset_id: row.get(6)?,
            dataset_ref: row.get(7)?,
            data_fingerprint: row.get(8)?,
            config: Value::Null,
            status: RunStatus::Queued,
            device: row.get(11)?,
            hardware: Value::Null,
            versions: Value::Null,
            seed: row.get::<_, i64>(14)? as u64,
            split: Value::Null,
            primary_metric: None,
            parent_run: row.get(19)?,
            error: row.get(20)?,
            pid: row.get::<_, Option<i64>>(21)?.map(|p| p as u32),
            heartbeat_at: row.get(22)?,
            created_at: row.get(23)?,
            started_at: row.get(24)?,
            finished_at: row.get(25)?,
        },
        config: row.get(9)?,
        status: row.get(10)?,
        hardware: row.get(12)?,
        versions: row.get(13)?,
        split: row.get(15)?,
        primary: (row.get(16)?, row.get(17)?, row.get(18)?),
    })
}

pub(crate) fn parse_json(column: &str, text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| StoreError::BadValue {
        column: column.into(),
        detail: e.to_string(),
    })
}

pub(crate) fn to_json(what: &'static str, value: &Value) -> Result<String> {
    serde_json::to_string(value).map_err(|source| StoreError::Json { what, source })
}

impl RawRun {
    fn finish(self) -> Result<RunRecord> {
        let mut r = self.record;
        r.config = parse_json("runs.config", &self.config)?;
        r.status = RunStatus::parse(&self.status)?;
        r.hardware = parse_json("runs.hardware", &self.hardware)?;
        r.versions = parse_json("runs.versions", &self.versions)?;
        r.split = parse_json("runs.split", &self.split)?;
        r.primary_metric = match self.primary {
            (Some(name), Some(split), Some(goal)) => Some(PrimaryMetric {
                name,
                split: crate::Split::parse(&split)?,
                goal: Goal::parse(&goal)?,
            }),
            _ => None,
        };
        Ok(r)
    }
}

/// Whether the process `pid` that last ran a run is gone (or, alive, has not beaten for too long).
pub(crate) fn process_is_gone(pid: Option<u32>, heartbeat_at: Option<i64>, now: i64) -> bool {
    let stale = heartbeat_at
        .map(|h| now - h > STALE_HEARTBEAT_MS)
        .unwrap_or(true);
    match pid {
        None => true,
        Some(pid) if pid == std::process::id() => false,
        Some(pid) => match process_alive(pid) {
            Some(alive) => !alive || stale,
            None => stale,
        },
    }
}

/// Whether a process exists (a zombie counts as gone). `None` where the platform cannot tell.
fn process_alive(pid: u32) -> Option<bool> {
    #[cfg(target_os = "linux")]
    {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            // The state letter follows the command name's closing parenthesis.
            Ok(stat) => Some(
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.trim_start().chars().next())
                    .map(|state| state != 'Z' && state != 'X')
                    .unwrap_or(true),
            ),
            Err(_) => Some(false),
        }
    }
    #[cfg(all(unix, not(target_os = "linux")))]
    {
        std::process::Command::new("kill")
            .args(["-0", &pid.to_string()])
            .stderr(std::process::Stdio::null())
            .status()
            .ok()
            .map(|s| s.success())
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        None
    }
}

impl Store {
    /// Records a new run (status queued) with a fresh id, and creates its folder.
    pub fn create_run(&self, new: &NewRun) -> Result<RunRecord> {
        let now = clock::now_ms();
        let name = match new.name.as_deref().map(str::trim) {
            Some(n) if !n.is_empty() => n.to_string(),
            _ => format!("{}-{}", new.task, new.method),
        };
        let config = to_json("the run's config", &new.config)?;
        let hardware = to_json("the hardware", &new.hardware)?;
        let versions = to_json("the versions", &new.versions)?;
        let split = to_json("the split", &new.split)?;
        let id = self.write(|tx| {
            // The random part makes a clash in the same minute unlikely; retry until it is unique.
            let mut attempt = 0u32;
            let id = loop {
                let candidate = id::new_run_id(now, attempt);
                let taken: bool =
                    tx.query_row("SELECT EXISTS (SELECT 1 FROM runs WHERE id = ?1)", [&candidate], |r| r.get(0))?;
                if !taken {
                    break candidate;
                }
                attempt += 1;
            };
            let pm = new.primary_metric.as_ref();
            tx.execute(
                &format!(
                    "INSERT INTO runs ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'queued', ?11, ?12,
                     ?13, ?14, ?15, ?16, ?17, ?18, ?19, NULL, NULL, NULL, ?20, NULL, NULL)"
                ),
                params![
                    id,
                    name,
                    new.task,
                    new.method,
                    new.model_id,
                    new.model_ref,
                    new.dataset_id,
                    new.dataset_ref,
                    new.data_fingerprint,
                    config,
                    new.device,
                    hardware,
                    versions,
                    new.seed as i64,
                    split,
                    pm.map(|p| p.name.clone()),
                    pm.map(|p| p.split.as_str()),
                    pm.map(|p| p.goal.as_str()),
                    new.parent_run,
                    now
                ],
            )?;
            Ok(id)
        })?;
        let dir = self.run_dir(&id);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            // A run without its folder could record no files: take the row back.
            let _ = self.write(|tx| Ok(tx.execute("DELETE FROM runs WHERE id = ?1", [&id])?));
            return Err(StoreError::io("could not create the run folder", &dir, e));
        }
        self.run(&id)?.ok_or(StoreError::RunNotFound(id))
    }

    /// The folder holding this run's files (`<runs_dir>/<id>`).
    pub fn run_dir(&self, id: &str) -> PathBuf {
        self.runs_dir().join(id)
    }

    /// The run with exactly this id.
    pub fn run(&self, id: &str) -> Result<Option<RunRecord>> {
        self.conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM runs WHERE id = ?1"),
                [id],
                raw_from_row,
            )
            .optional()?
            .map(RawRun::finish)
            .transpose()
    }

    /// Finds the run a user means: its exact id, a unique prefix of the id, its random suffix
    /// (`a1b2c3`), or its exact name if only one run has it.
    pub fn resolve_run(&self, query: &str) -> Result<RunRecord> {
        let query = query.trim();
        if query.is_empty() {
            return Err(StoreError::RunNotFound(query.to_string()));
        }
        if let Some(run) = self.run(query)? {
            return Ok(run);
        }
        let escaped = query
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        for (sql, param) in [
            (
                "SELECT id FROM runs WHERE id LIKE ?1 || '%' ESCAPE '\\' ORDER BY id",
                escaped.as_str(),
            ),
            (
                "SELECT id FROM runs WHERE id LIKE '%-' || ?1 ESCAPE '\\' ORDER BY id",
                escaped.as_str(),
            ),
            ("SELECT id FROM runs WHERE name = ?1 ORDER BY id", query),
        ] {
            let mut stmt = self.conn().prepare(sql)?;
            let ids: Vec<String> = stmt
                .query_map([param], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            match ids.len() {
                0 => continue,
                1 => {
                    return self
                        .run(&ids[0])?
                        .ok_or_else(|| StoreError::RunNotFound(query.to_string()))
                }
                _ => {
                    return Err(StoreError::AmbiguousRun {
                        query: query.to_string(),
                        candidates: match ids.len() {
                            n if n > 5 => format!("{} and {} more", ids[..5].join(", "), n - 5),
                            _ => ids.join(", "),
                        },
                    })
                }
            }
        }
        Err(StoreError::RunNotFound(query.to_string()))
    }

    /// Every run, newest first, with its best primary metric.
    pub fn runs(&self) -> Result<Vec<RunSummary>> {
        let now = clock::now_ms();
        let prefixed = COLUMNS
            .split(", ")
            .map(|c| format!("r.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let mut stmt = self.conn().prepare(&format!(
            "SELECT {prefixed}, m.name,
                    (SELECT CASE r.primary_goal WHEN 'max' THEN MAX(x.value) ELSE MIN(x.value) END
                       FROM metric_series s JOIN metrics x ON x.series_id = s.id
                      WHERE s.run_id = r.id AND s.name = r.primary_metric AND s.split = r.primary_split)
               FROM runs r LEFT JOIN models m ON m.id = r.model_id
              ORDER BY r.created_at DESC, r.id DESC"
        ))?;
        let rows = stmt.query_map([], |row| {
            let raw = raw_from_row(row)?;
            let model_name: Option<String> = row.get(26)?;
            let best: Option<f64> = row.get(27)?;
            Ok((raw, model_name, best))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (raw, model_name, best) = row?;
            let r = raw.finish()?;
            out.push(RunSummary {
                duration_ms: r.duration_ms(now),
                best_metric: match (&r.primary_metric, best) {
                    (Some(p), Some(value)) => Some(BestMetric {
                        name: p.name.clone(),
                        split: p.split,
                        value,
                    }),
                    _ => None,
                },
                id: r.id,
                name: r.name,
                task: r.task,
                method: r.method,
                model: model_name.unwrap_or(r.model_ref),
                dataset: r.dataset_ref,
                status: r.status,
                started_at: r.started_at,
                created_at: r.created_at,
            });
        }
        Ok(out)
    }

    /// Runs that were interrupted (their process died) and can be resumed from a checkpoint.
    pub fn interrupted_runs(&self) -> Result<Vec<RunRecord>> {
        self.runs_with_status(RunStatus::Interrupted)
    }

    /// Runs with this status, oldest first.
    pub fn runs_with_status(&self, status: RunStatus) -> Result<Vec<RunRecord>> {
        let mut stmt = self.conn().prepare(&format!(
            "SELECT {COLUMNS} FROM runs WHERE status = ?1 ORDER BY created_at, id"
        ))?;
        let rows = stmt.query_map([status.as_str()], raw_from_row)?;
        rows.map(|r| r?.finish()).collect()
    }

    /// Marks a queued, paused or interrupted run as running in process `pid` (first start or resume).
    pub fn start_run(&self, id: &str, pid: u32) -> Result<RunRecord> {
        self.start_run_at(id, pid, clock::now_ms())
    }

    /// [`Store::start_run`], the run's start (on its first start) set to `started_at` (ms since the
    /// epoch): when its preparation began, so its duration counts the wait before the first step.
    pub fn start_run_at(&self, id: &str, pid: u32, started_at: i64) -> Result<RunRecord> {
        let now = clock::now_ms();
        self.transition(id, RunStatus::Running, |tx| {
            tx.execute(
                "UPDATE runs SET status = 'running', pid = ?2, heartbeat_at = ?3, error = NULL,
                                 started_at = COALESCE(started_at, ?4), finished_at = NULL
                  WHERE id = ?1",
                params![id, pid as i64, now, started_at.min(now)],
            )?;
            Ok(())
        })
    }

    /// Records a sign of life from the process running `id`. If another process took this run for
    /// dead (marked it interrupted after a long silence) while this process, its owner, still runs
    /// it, the run is reclaimed as running.
    pub fn heartbeat(&self, id: &str) -> Result<()> {
        let now = clock::now_ms();
        self.write(|tx| {
            if tx.execute(
                "UPDATE runs SET heartbeat_at = ?2,
                        status = CASE WHEN status = 'interrupted' AND pid = ?3 THEN 'running' ELSE status END,
                        error = CASE WHEN status = 'interrupted' AND pid = ?3 THEN NULL ELSE error END
                  WHERE id = ?1",
                params![id, now, std::process::id() as i64],
            )? == 0
            {
                return Err(StoreError::RunNotFound(id.to_string()));
            }
            Ok(())
        })
    }

    /// Moves a run to `status` (paused, finished, failed, cancelled ...), with an optional reason.
    /// Ending statuses set `finished_at`.
    pub fn set_run_status(
        &self,
        id: &str,
        status: RunStatus,
        error: Option<&str>,
    ) -> Result<RunRecord> {
        let now = clock::now_ms();
        self.transition(id, status, |tx| {
            tx.execute(
                "UPDATE runs SET status = ?2, error = ?3, heartbeat_at = ?4,
                                 finished_at = CASE WHEN ?5 THEN ?4 ELSE finished_at END
                  WHERE id = ?1",
                params![id, status.as_str(), error, now, status.is_terminal()],
            )?;
            Ok(())
        })
    }

    /// Marks a running or paused run interrupted (its process is gone) with the reason.
    pub fn mark_interrupted(&self, id: &str, reason: &str) -> Result<RunRecord> {
        self.transition(id, RunStatus::Interrupted, |tx| {
            tx.execute(
                "UPDATE runs SET status = 'interrupted', error = ?2 WHERE id = ?1",
                params![id, reason],
            )?;
            Ok(())
        })
    }

    fn transition(
        &self,
        id: &str,
        to: RunStatus,
        update: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<()>,
    ) -> Result<RunRecord> {
        self.write(|tx| {
            let from: Option<String> = tx
                .query_row("SELECT status FROM runs WHERE id = ?1", [id], |r| r.get(0))
                .optional()?;
            let from =
                RunStatus::parse(&from.ok_or_else(|| StoreError::RunNotFound(id.to_string()))?)?;
            if !from.can_become(to) {
                return Err(StoreError::BadTransition {
                    run: id.to_string(),
                    from: from.to_string(),
                    to: to.to_string(),
                });
            }
            update(tx)
        })?;
        self.run(id)?
            .ok_or_else(|| StoreError::RunNotFound(id.to_string()))
    }

    /// The live-looking runs and their process: (id, pid, heartbeat).
    pub(crate) fn live_run_processes(&self) -> Result<Vec<LiveRun>> {
        let mut stmt = self.conn().prepare(
            "SELECT id, pid, heartbeat_at FROM runs WHERE status IN ('running', 'paused')",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get::<_, Option<i64>>(1)?.map(|p| p as u32),
                r.get(2)?,
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Deletes a run: its folder and every row about it (metrics, artefacts, evaluations, notes) go
    /// together. The folder is first renamed aside, then the rows are deleted in one transaction, then
    /// the folder is removed; if the rows cannot be deleted, the folder is put back. Files recorded
    /// outside the run's folder (exports the user placed elsewhere) are left alone and listed.
    pub fn delete_run(&self, id: &str) -> Result<DeletedRun> {
        let run = self
            .run(id)?
            .ok_or_else(|| StoreError::RunNotFound(id.to_string()))?;
        if matches!(run.status, RunStatus::Running | RunStatus::Paused)
            && !process_is_gone(run.pid, run.heartbeat_at, clock::now_ms())
        {
            return Err(StoreError::RunActive(id.to_string()));
        }
        let dir = self.run_dir(id);
        let kept_files: Vec<PathBuf> = self
            .artefacts(id)?
            .into_iter()
            .map(|a| a.path)
            .filter(|p| !p.starts_with(&dir))
            .collect();
        let freed_bytes = files::disk_usage(&dir)?;
        let aside = self.runs_dir().join(format!("{DELETING_PREFIX}{id}"));
        let moved = dir.exists();
        if moved {
            std::fs::rename(&dir, &aside)
                .map_err(|e| StoreError::io("could not remove the run folder", &dir, e))?;
        }
        if let Err(e) = self.write(|tx| {
            tx.execute("DELETE FROM runs WHERE id = ?1", [id])?;
            Ok(())
        }) {
            if moved {
                // Put the folder back so the run stays whole; if even that fails, the sweep at the next
                // start must not remove it, so leave a clear error naming both paths.
                std::fs::rename(&aside, &dir).map_err(|e| {
                    StoreError::io("could not restore the run folder from", &aside, e)
                })?;
            }
            return Err(e);
        }
        if moved {
            std::fs::remove_dir_all(&aside)
                .map_err(|e| StoreError::io("the run's rows are deleted but its folder could not be removed (it will be removed at the next start)", &aside, e))?;
        }
        Ok(DeletedRun {
            id: id.to_string(),
            freed_bytes,
            kept_files,
        })
    }

    /// Bytes used by one run's folder.
    pub fn run_disk_usage(&self, id: &str) -> Result<u64> {
        files::disk_usage(&self.run_dir(id))
    }

    /// Bytes used by all run folders and the database.
    pub fn disk_usage(&self) -> Result<DiskUsage> {
        let runs_bytes = files::disk_usage(self.runs_dir())?;
        let mut database_bytes = 0;
        for suffix in ["", "-wal", "-shm"] {
            let p = PathBuf::from(format!("{}{suffix}", self.path().display()));
            database_bytes += std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
        }
        Ok(DiskUsage {
            runs_bytes,
            database_bytes,
            total_bytes: runs_bytes + database_bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sensible_status_changes_are_allowed() {
        use RunStatus::*;
        assert!(Queued.can_become(Running));
        assert!(Running.can_become(Interrupted));
        assert!(Interrupted.can_become(Running));
        assert!(Finished.can_become(Running), "train longer");
        assert!(!Finished.can_become(Cancelled));
        assert!(!Queued.can_become(Finished));
        assert!(!Cancelled.can_become(Cancelled));
        assert!(Cancelled.can_become(Running));
        for s in RunStatus::ALL {
            assert_eq!(RunStatus::parse(s.as_str()).unwrap(), s);
        }
    }

    #[test]
    fn a_run_without_a_live_process_is_gone_and_ours_is_not() {
        let now = clock::now_ms();
        assert!(!process_is_gone(Some(std::process::id()), Some(now), now));
        assert!(process_is_gone(None, Some(now), now));
        // pid_max on Linux is at most 2^22; this pid cannot exist.
        assert!(process_is_gone(Some(4_194_304 + 7), Some(now), now));
    }

    #[cfg(unix)]
    #[test]
    fn a_live_pid_that_stopped_beating_long_ago_is_taken_as_reused() {
        let now = clock::now_ms();
        // pid 1 always exists on Unix.
        assert!(!process_is_gone(Some(1), Some(now - 1000), now));
        assert!(process_is_gone(
            Some(1),
            Some(now - STALE_HEARTBEAT_MS - 1),
            now
        ));
    }
}
