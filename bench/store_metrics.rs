//! Benchmark: how fast the run history records metrics, opens and lists, so a training loop is never
//! slowed by bookkeeping. Prints a table (median of 5 repetitions) and compares the batched write
//! with Python's sqlite3 `executemany` into the same schema on the same machine, when `python3` exists.
//!
//! Run: `cargo bench -p tunesmith-store --bench store_metrics` (release build, temporary folder).

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;
use tunesmith_store::{
    Goal, MetricPoint, NewRun, PrimaryMetric, RunStatus, Split, Store, DATABASE_FILE,
};

const POINTS: u64 = 100_000;
const REPEATS: usize = 5;

fn new_run(i: usize) -> NewRun {
    NewRun {
        name: Some(format!("bench {i}")),
        task: "classify".into(),
        method: "lora".into(),
        model_id: None,
        model_ref: "/models/minilm".into(),
        dataset_id: None,
        dataset_ref: "/data/train.tsv".into(),
        data_fingerprint: Some("fp".into()),
        config: json!({"lr": 2e-4, "epochs": 3}),
        device: "cpu".into(),
        hardware: json!({}),
        versions: json!({}),
        seed: 1,
        split: json!({}),
        primary_metric: Some(PrimaryMetric {
            name: "accuracy".into(),
            split: Split::Validation,
            goal: Goal::Max,
        }),
        parent_run: None,
    }
}

fn points(n: u64) -> Vec<MetricPoint> {
    (0..n)
        .map(|i| MetricPoint {
            step: i / 4,
            split: if i % 4 == 3 {
                Split::Validation
            } else {
                Split::Train
            },
            name: ["loss", "lr", "tokens_per_s", "accuracy"][(i % 4) as usize].to_string(),
            value: i as f64 * 1e-3,
            at: 1_764_000_000_000 + i as i64,
        })
        .collect()
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn fresh() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store =
        Store::open(&dir.path().join(DATABASE_FILE), &dir.path().join("runs")).expect("a store");
    (dir, store)
}

fn row(what: &str, d: Duration, points_written: Option<u64>) {
    let s = d.as_secs_f64();
    let rate = points_written
        .map(|n| format!("{:.0}", n as f64 / s))
        .unwrap_or_else(|| "-".into());
    println!("| {what:<52} | {:>8.1} | {rate:>9} |", s * 1e3);
}

fn main() {
    println!("| operation (median of {REPEATS}) | ms | points written/s |");
    println!("| --- | ---: | ---: |");
    let data = points(POINTS);

    // 1. MetricWriter as a training loop uses it: push one point at a time, default batching.
    let mut times = Vec::new();
    for _ in 0..REPEATS {
        let (_dir, store) = fresh();
        let run = store.create_run(&new_run(0)).expect("run");
        let t = Instant::now();
        let mut w = store.metric_writer(&run.id);
        for p in &data {
            w.push(p.clone()).expect("push");
        }
        w.flush().expect("flush");
        times.push(t.elapsed());
    }
    row(
        "100,000 points, MetricWriter (batches of 1,000)",
        median(times),
        Some(POINTS),
    );

    // 2. One call, one transaction.
    let mut times = Vec::new();
    for _ in 0..REPEATS {
        let (_dir, store) = fresh();
        let run = store.create_run(&new_run(0)).expect("run");
        let t = Instant::now();
        store.record_metrics(&run.id, &data).expect("write");
        times.push(t.elapsed());
    }
    row(
        "100,000 points, record_metrics (one transaction)",
        median(times),
        Some(POINTS),
    );

    // 3. What batching saves: one transaction per point (2,000 points, WAL + synchronous=NORMAL).
    let mut times = Vec::new();
    for _ in 0..REPEATS {
        let (_dir, store) = fresh();
        let run = store.create_run(&new_run(0)).expect("run");
        let t = Instant::now();
        for p in &data[..2_000] {
            store
                .record_metrics(&run.id, std::slice::from_ref(p))
                .expect("write");
        }
        times.push(t.elapsed());
    }
    row(
        "2,000 points, one transaction each (unbatched)",
        median(times),
        Some(2_000),
    );

    // 4. A big history: 50 runs x 20,000 points = 1,000,000 rows. Opening (quick_check, migrations,
    //    dead-process scan) and listing (best metric per run) must stay interactive.
    let (dir, store) = fresh();
    for i in 0..50 {
        let run = store.create_run(&new_run(i)).expect("run");
        store.start_run(&run.id, std::process::id()).expect("start");
        store
            .record_metrics(&run.id, &data[..20_000])
            .expect("write");
        store
            .set_run_status(&run.id, RunStatus::Finished, None)
            .expect("finish");
    }
    drop(store);
    let db = dir.path().join(DATABASE_FILE);
    let mut times = Vec::new();
    for _ in 0..REPEATS {
        let t = Instant::now();
        let s = Store::open(&db, &dir.path().join("runs")).expect("open");
        times.push(t.elapsed());
        drop(s);
    }
    row(
        "open a history of 50 runs / 1,000,000 points",
        median(times),
        None,
    );
    let store = Store::open(&db, &dir.path().join("runs")).expect("open");
    let mut times = Vec::new();
    for _ in 0..REPEATS {
        let t = Instant::now();
        let list = store.runs().expect("list");
        assert_eq!(list.len(), 50);
        times.push(t.elapsed());
    }
    row(
        "list 50 runs with best metric (1,000,000 points)",
        median(times),
        None,
    );
    let size = store.disk_usage().expect("usage").database_bytes;
    println!(
        "\nhistory with 1,000,000 points: {:.1} MB on disk",
        size as f64 / 1e6
    );

    reference();
}

/// Python's sqlite3 `executemany` of the same 100,000 points into the same two tables (series
/// looked up once, like the store does), WAL + NORMAL, foreign keys on, one transaction: what a thin
/// binding reaches on this machine.
fn reference() {
    let script = r#"
import sqlite3, tempfile, time, os, statistics
names = ["loss", "lr", "tokens_per_s", "accuracy"]
times = []
for _ in range(5):
    d = tempfile.mkdtemp()
    c = sqlite3.connect(os.path.join(d, "x.sqlite3"), isolation_level=None)
    c.execute("PRAGMA journal_mode=WAL"); c.execute("PRAGMA synchronous=NORMAL"); c.execute("PRAGMA foreign_keys=ON")
    c.execute("CREATE TABLE runs (id TEXT PRIMARY KEY) STRICT")
    c.execute("CREATE TABLE metric_series (id INTEGER PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE, name TEXT NOT NULL, split TEXT NOT NULL CHECK (split IN ('train', 'validation', 'test')), UNIQUE (run_id, name, split)) STRICT")
    c.execute("CREATE TABLE metrics (id INTEGER PRIMARY KEY, series_id INTEGER NOT NULL REFERENCES metric_series (id) ON DELETE CASCADE, step INTEGER NOT NULL CHECK (step >= 0), value REAL, at INTEGER NOT NULL) STRICT")
    c.execute("CREATE INDEX metrics_by_series ON metrics (series_id, step)")
    c.execute("INSERT INTO runs VALUES ('r')")
    t = time.perf_counter()
    c.execute("BEGIN IMMEDIATE")
    series = {}
    for i, n in enumerate(names):
        c.execute("INSERT INTO metric_series (run_id, name, split) VALUES ('r', ?, ?)", (n, "validation" if i == 3 else "train"))
        series[i] = c.execute("SELECT last_insert_rowid()").fetchone()[0]
    c.executemany("INSERT INTO metrics (series_id, step, value, at) VALUES (?,?,?,?)",
                  ((series[i % 4], i // 4, i * 1e-3, 1764000000000 + i) for i in range(100000)))
    c.execute("COMMIT")
    times.append(time.perf_counter() - t)
print(statistics.median(times))
"#;
    match Command::new("python3").args(["-c", script]).output() {
        Ok(out) if out.status.success() => {
            let secs: f64 = String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .unwrap_or(f64::NAN);
            println!(
                "\nreference: Python sqlite3 executemany, 100,000 points, same schema: {:.1} ms",
                secs * 1e3
            );
        }
        Ok(out) => println!(
            "\nreference: python3 failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(_) => println!("\nreference: python3 not found; skipped"),
    }
}
