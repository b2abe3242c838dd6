//! Migrations from an empty file and from every earlier schema version.
//!
//! `tests/fixtures/schema_vN.sql` holds a database at schema version N with sample rows. Once
//! written, a fixture is never regenerated: it is how a user's file of that version looks. When a
//! migration is added, create the fixture for the new version with
//! `cargo test -p tunesmith-store --test store -- --ignored write_missing_schema_fixtures`
//! (it writes only files that do not exist yet).

use std::path::PathBuf;

use rusqlite::Connection;
use tunesmith_store::{schema, RunStatus, Store, DATABASE_FILE, SCHEMA_VERSION};

fn fixture(version: u32) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/schema_v{version}.sql"))
}

/// Sample rows for the table each migration creates (index = version - 1). A dead pid (beyond
/// Linux's pid_max) so the run reads as interrupted after the upgrade.
const SAMPLE_ROWS: &[&str] = &[
    "INSERT INTO models (id, source, name, revision, path, architecture, parameters, context_length, size_bytes,
                         hash, origin, added_at, updated_at)
     VALUES (1, 'hub', 'sentence-transformers/all-MiniLM-L6-v2', 'c9745ed1', '/cache/minilm', 'BertModel',
             22713216, 512, 90868376, 'sha256:53aa', 'https://huggingface.co', 1764000000000, 1764000000000);",
    "INSERT INTO datasets (id, path, fingerprint, rows, roles, doctor, added_at, updated_at)
     VALUES (1, '/data/sst2.tsv', 'fp1', 2000, '{\"text\":\"sentence\",\"label\":\"label\"}', '{\"duplicates\":3}',
             1764000000000, 1764000000000);",
    "INSERT INTO runs (id, name, task, method, model_id, model_ref, dataset_id, dataset_ref, data_fingerprint, config,
                       status, device, hardware, versions, seed, split, primary_metric, primary_split, primary_goal,
                       parent_run, error, pid, heartbeat_at, created_at, started_at, finished_at)
     VALUES ('20251124-1600-aaaaaa', 'old run', 'classify', 'lora', 1, '/cache/minilm', 1, '/data/sst2.tsv', 'fp1',
             '{\"lr\":0.0002}', 'running', 'cpu', '{}', '{}', 42, '{\"test\":0.1}', 'accuracy', 'validation', 'max',
             NULL, NULL, 4194311, 1764000000000, 1764000000000, 1764000000000, NULL);",
    "INSERT INTO metric_series (id, run_id, name, split)
     VALUES (1, '20251124-1600-aaaaaa', 'accuracy', 'validation'), (2, '20251124-1600-aaaaaa', 'loss', 'train');
     INSERT INTO metrics (series_id, step, value, at)
     VALUES (1, 10, 0.8, 1764000000000), (2, 10, 0.5, 1764000000000);",
    "INSERT INTO artefacts (run_id, kind, path, size_bytes, sha256, step, created_at)
     VALUES ('20251124-1600-aaaaaa', 'checkpoint', 'checkpoint-10', 3, 'abc', 10, 1764000000000);",
    "INSERT INTO evaluations (run_id, model, split, rows, metrics, created_at)
     VALUES ('20251124-1600-aaaaaa', 'fine_tuned', 'test', 200, '{\"accuracy\":0.81}', 1764000000000);",
    "INSERT INTO notes (run_id, text, created_at) VALUES ('20251124-1600-aaaaaa', 'first try', 1764000000000);",
    "INSERT INTO outputs (run_id, kind, source, path, rows, detail, created_at)
     VALUES ('20251124-1600-aaaaaa', 'predictions', '/data/new.csv', '/data/new.predicted.csv', 10, '{}', 1764000000000);",
    "INSERT INTO ratings (run_id, comparison, item, prompt, reference, a_config, a_answer, b_config, b_answer,
                          seed, shown_first, choice, corrected, created_at)
     VALUES ('20251124-1600-aaaaaa', '/runs/compare-1.json', 0, 'When is the clinic open?', 'Saturday', 'base',
             'Sunday', 'fine_tuned', 'Saturday', 42, 'b', 'answer_1', NULL, 1764000000000);",
];

/// The schema as SQLite describes it: (type, name, sql) without whitespace differences.
fn schema_of(conn: &Connection) -> Vec<(String, String, String)> {
    let mut stmt = conn
        .prepare("SELECT type, name, COALESCE(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, String>(2)?)))
        .unwrap()
        .map(|r| {
            let (t, n, s) = r.unwrap();
            (t, n, s.split_whitespace().collect::<Vec<_>>().join(" "))
        })
        .collect()
}

fn fresh_schema() -> Vec<(String, String, String)> {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(DATABASE_FILE);
    drop(Store::open(&db, &dir.path().join("runs")).unwrap());
    schema_of(&Connection::open(&db).unwrap())
}

#[test]
#[ignore = "writes fixtures for new schema versions; run by hand after adding a migration"]
fn write_missing_schema_fixtures() {
    assert_eq!(
        SAMPLE_ROWS.len(),
        SCHEMA_VERSION as usize,
        "add sample rows for the new migration's table"
    );
    for version in 1..=SCHEMA_VERSION {
        let path = fixture(version);
        if path.exists() {
            continue;
        }
        let rows = SAMPLE_ROWS[..version as usize].join("\n");
        let sql = format!(
            "-- A Tunesmith run history at schema version {version}, with sample rows. Frozen: never regenerate.\n{}\n{rows}\nPRAGMA user_version = {version};\n",
            schema::sql_up_to(version)
        );
        std::fs::write(&path, sql).unwrap();
    }
}

#[test]
fn every_schema_version_has_a_frozen_fixture() {
    for version in 1..=SCHEMA_VERSION {
        assert!(
            fixture(version).exists(),
            "{} is missing: run the ignored test write_missing_schema_fixtures",
            fixture(version).display()
        );
    }
}

#[test]
fn an_empty_file_is_migrated_to_the_newest_schema() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(DATABASE_FILE);
    std::fs::write(&db, b"").unwrap();
    let store = Store::open(&db, &dir.path().join("runs")).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert!(store.runs().unwrap().is_empty());
}

#[test]
fn every_earlier_schema_version_migrates_to_the_newest_and_keeps_its_rows() {
    let expected = fresh_schema();
    for version in 1..=SCHEMA_VERSION {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join(DATABASE_FILE);
        let sql = std::fs::read_to_string(fixture(version)).unwrap();
        Connection::open(&db).unwrap().execute_batch(&sql).unwrap();

        let store = Store::open(&db, &dir.path().join("runs")).unwrap();
        assert_eq!(
            store.schema_version().unwrap(),
            SCHEMA_VERSION,
            "from v{version}"
        );
        assert_eq!(store.models().unwrap().len(), 1, "from v{version}");
        if version >= 2 {
            assert_eq!(store.datasets().unwrap().len(), 1, "from v{version}");
        }
        if version >= 3 {
            // The old file's run had no live process: it is offered for resume.
            let run = store.resolve_run("old run").unwrap();
            assert_eq!(run.status, RunStatus::Interrupted, "from v{version}");
            assert_eq!(store.recovered_at_open(), std::slice::from_ref(&run.id));
        }
        if version >= 4 {
            assert_eq!(
                store.runs().unwrap()[0].best_metric.as_ref().unwrap().value,
                0.8
            );
        }
        if version >= 5 {
            assert_eq!(store.artefacts("20251124-1600-aaaaaa").unwrap().len(), 1);
        }
        if version >= 6 {
            assert_eq!(
                store.evaluations("20251124-1600-aaaaaa").unwrap()[0].metrics["accuracy"],
                0.81
            );
        }
        if version >= 9 {
            let ratings = store.ratings(Some("20251124-1600-aaaaaa")).unwrap();
            assert_eq!(ratings[0].preferred(), Some(tunesmith_store::Side::B));
        }
        drop(store);
        assert_eq!(
            schema_of(&Connection::open(&db).unwrap()),
            expected,
            "schema after migrating from v{version}"
        );
    }
}

#[test]
fn a_file_from_a_newer_tunesmith_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(DATABASE_FILE);
    Connection::open(&db)
        .unwrap()
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    let err = Store::open(&db, &dir.path().join("runs")).unwrap_err();
    assert!(
        err.to_string().contains("newer than this Tunesmith knows"),
        "{err}"
    );
}
