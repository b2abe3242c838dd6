//! The run history as the app and the CLI use it: list, show, compare and delete runs, report disk
//! usage, and cope with a damaged or read-only history file (read-only: still shown; damaged: moved
//! aside on request and a fresh history started, nothing deleted). Tauri-free.

use std::path::PathBuf;

use serde::Serialize;
use tunesmith_store::{Split, Store, StoreError};

pub use tunesmith_store::{
    ArtefactRecord, DeletedRun, DiskUsage, EvaluationRecord, MetricSummary, NoteRecord,
    OutputRecord, RunComparison, RunRecord, RunSummary,
};

use crate::home::Home;
use crate::Result;

/// Opens the run history for writing (migrating it, marking runs whose process died interrupted).
pub fn open_store(home: &Home) -> Result<Store> {
    Ok(Store::open(&home.database(), &home.runs_dir())?)
}

/// Opens the run history to read it: writable if possible, otherwise read-only, so past runs can be
/// shown even when the file cannot be written.
pub fn open_for_reading(home: &Home) -> Result<Store> {
    match Store::open(&home.database(), &home.runs_dir()) {
        Ok(store) => Ok(store),
        Err(StoreError::ReadOnly { .. }) => {
            Ok(Store::open_read_only(&home.database(), &home.runs_dir())?)
        }
        Err(e) => Err(e.into()),
    }
}

/// What starting fresh did.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct Recovery {
    /// Where the damaged history now is (kept whole).
    pub backup: PathBuf,
    /// The new, empty history.
    pub database: PathBuf,
}

/// Moves a damaged history aside (kept whole, as `<file>.damaged-<time>`) and starts a fresh one.
/// Refuses when the history opens fine, so a working history is never set aside by mistake.
pub fn start_fresh_history(home: &Home) -> Result<Recovery> {
    let (store, backup) = Store::recover_damaged(&home.database(), &home.runs_dir())?;
    Ok(Recovery {
        backup,
        database: store.path().to_path_buf(),
    })
}

/// Every run, newest first.
pub fn list(home: &Home) -> Result<Vec<RunSummary>> {
    let store = open_for_reading(home)?;
    in_store(&store, Store::runs)
}

/// Everything about one run: its record, metric summaries, artefacts, evaluations, notes, and bytes
/// on disk.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct RunDetails {
    /// The run (config, status, device, seed, split, timings ...).
    pub run: RunRecord,
    /// Duration so far (ms), if it started.
    pub duration_ms: Option<i64>,
    /// One line per metric series.
    pub metrics: Vec<MetricSummary>,
    /// The series worth drawing (losses, the learning rate, validation scores), point by point.
    pub curves: Vec<Curve>,
    /// Its files.
    pub artefacts: Vec<ArtefactRecord>,
    /// Base vs fine-tuned evaluations.
    pub evaluations: Vec<EvaluationRecord>,
    /// The user's notes.
    pub notes: Vec<NoteRecord>,
    /// What it was used for after training: predicted files, corrected copies of its data.
    pub outputs: Vec<OutputRecord>,
    /// Bytes its folder uses.
    pub disk_bytes: u64,
    /// Generation: the latest forgetting check (kept in the run's folder), if one ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[specta(optional)]
    pub forgetting: Option<crate::forgetting::ForgettingReport>,
}

/// One metric's values over a run, for the run page's charts.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct Curve {
    /// Metric name (`loss`, `lr`, `accuracy`, ...).
    pub name: String,
    /// Where it was measured.
    pub split: Split,
    /// The steps, in order.
    pub steps: Vec<u64>,
    /// The value at each step (`None` where it was not a number, e.g. a diverged loss).
    pub values: Vec<Option<f64>>,
}

/// Whether a series is one the run page draws: the per-step speed and gradient norm are noise
/// there; losses, the learning rate and every validation or test score tell the run's story.
fn worth_drawing(m: &MetricSummary) -> bool {
    match m.split {
        Split::Train => m.name == "loss" || m.name == "lr",
        _ => true,
    }
}

/// Details of the run `query` names (id, id prefix, random suffix or unique name).
pub fn show(home: &Home, query: &str) -> Result<RunDetails> {
    let store = open_for_reading(home)?;
    details(&store, query)
}

/// Damage in pages not checked at open (metric points) shows up when they are read: report it as
/// damage, with the way out, rather than as a failed query.
fn in_store<T>(store: &Store, f: impl FnOnce(&Store) -> tunesmith_store::Result<T>) -> Result<T> {
    Ok(f(store).map_err(|e| store.reclassify(e))?)
}

/// Details of a run in an open store.
pub fn details(store: &Store, query: &str) -> Result<RunDetails> {
    in_store(store, |store| {
        let run = store.resolve_run(query)?;
        let metrics = store.metric_summaries(&run.id)?;
        let mut curves = Vec::new();
        for m in metrics.iter().filter(|m| worth_drawing(m)) {
            let (steps, values) = store
                .metric_series(&run.id, &m.name, m.split)?
                .into_iter()
                .unzip();
            curves.push(Curve {
                name: m.name.clone(),
                split: m.split,
                steps,
                values,
            });
        }
        Ok(RunDetails {
            curves,
            duration_ms: run.duration_ms(tunesmith_store::clock::now_ms()),
            metrics,
            artefacts: store.artefacts(&run.id)?,
            evaluations: store.evaluations(&run.id)?,
            notes: store.notes(&run.id)?,
            outputs: store.outputs(&run.id)?,
            disk_bytes: store.run_disk_usage(&run.id)?,
            forgetting: crate::forgetting::recorded(&store.run_dir(&run.id)),
            run,
        })
    })
}

/// Two runs compared: differing settings and metrics side by side.
pub fn compare(home: &Home, left: &str, right: &str) -> Result<RunComparison> {
    let store = open_for_reading(home)?;
    in_store(&store, |store| {
        let (l, r) = (store.resolve_run(left)?, store.resolve_run(right)?);
        store.compare_runs(&l, &r)
    })
}

/// The folder that holds run `query`'s files (checkpoints, adapter, run.json).
pub fn folder(home: &Home, query: &str) -> Result<PathBuf> {
    let store = open_for_reading(home)?;
    in_store(&store, |store| {
        let run = store.resolve_run(query)?;
        Ok(store.run_dir(&run.id))
    })
}

/// Opens `dir` in the operating system's file manager. Returns once the file manager was started;
/// a system without one gets an error that gives the path, so the user can go there by hand.
pub fn reveal(dir: &std::path::Path) -> Result<()> {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(target_os = "windows") {
        "explorer"
    } else {
        "xdg-open"
    };
    std::process::Command::new(opener)
        .arg(dir)
        .spawn()
        .map(|_| ())
        .map_err(|e| {
            crate::Error::System(format!(
                "could not open the file manager ({opener}: {e}); the run's files are in {}",
                dir.display()
            ))
        })
}

/// Deletes a run's rows and files together.
pub fn delete(home: &Home, query: &str) -> Result<DeletedRun> {
    let store = open_store(home)?;
    in_store(&store, |store| {
        let run = store.resolve_run(query)?;
        store.delete_run(&run.id)
    })
}

/// Bytes used by run folders and the database.
pub fn disk_usage(home: &Home) -> Result<DiskUsage> {
    let store = open_for_reading(home)?;
    in_store(&store, Store::disk_usage)
}
