//! A damaged or read-only history gives a clear error, and the app can still start.

use std::path::Path;

use rusqlite::OpenFlags;
use tunesmith_store::{RunStatus, Store, StoreError, DATABASE_FILE};

use crate::common::{open, sample_run, temp_store};

fn runs_dir(dir: &Path) -> std::path::PathBuf {
    dir.join("runs")
}

#[test]
fn a_file_that_is_not_a_database_is_reported_as_damaged_and_can_be_moved_aside() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(DATABASE_FILE);
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&db, &garbage).unwrap();

    let err = Store::open(&db, &runs_dir(dir.path())).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("damaged") && msg.contains(&db.display().to_string()),
        "{msg}"
    );
    assert!(msg.contains("nothing in it is deleted"), "{msg}");

    let (store, backup) = Store::backup_and_start_fresh(&db, &runs_dir(dir.path())).unwrap();
    assert_eq!(
        std::fs::read(&backup).unwrap(),
        garbage,
        "the backup keeps every byte"
    );
    let run = store.create_run(&sample_run(1e-3)).unwrap();
    assert_eq!(store.runs().unwrap()[0].id, run.id);
}

#[test]
fn a_database_with_damaged_pages_is_reported_and_its_backup_keeps_the_runs() {
    let (dir, store) = temp_store();
    let db = dir.path().join(DATABASE_FILE);
    let mut ids = Vec::new();
    for i in 0..200 {
        let mut new = sample_run(1e-3);
        new.name = Some(format!("run {i} {}", "x".repeat(200)));
        ids.push(store.create_run(&new).unwrap().id);
    }
    drop(store);
    // Fold the WAL into the main file, then overwrite pages in the middle of it.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    let mut bytes = std::fs::read(&db).unwrap();
    assert!(bytes.len() > 16 * 4096, "{} bytes", bytes.len());
    for b in &mut bytes[4096 * 3..4096 * 12] {
        *b = 0xA5;
    }
    std::fs::write(&db, &bytes).unwrap();

    let err = Store::open(&db, &runs_dir(dir.path())).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");

    let (fresh, backup) = Store::backup_and_start_fresh(&db, &runs_dir(dir.path())).unwrap();
    assert!(fresh.runs().unwrap().is_empty());
    assert_eq!(
        std::fs::read(&backup).unwrap(),
        bytes,
        "the damaged file is kept as it was"
    );
    // Nothing deleted: the run folders are still there for a later salvage.
    for id in &ids {
        assert!(runs_dir(dir.path()).join(id).is_dir());
    }
}

#[test]
fn writes_to_a_history_the_os_will_not_let_us_write_say_it_is_read_only() {
    let (dir, store) = temp_store();
    let run = store.create_run(&sample_run(1e-3)).unwrap();
    drop(store);
    let db = dir.path().join(DATABASE_FILE);
    // SQLite's own read-only mode stands for a file without write permission (root ignores chmod).
    let uri = format!("file:{}?mode=ro", db.display());
    let store = Store::open_with_flags(
        Path::new(&uri),
        &runs_dir(dir.path()),
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_URI,
    )
    .unwrap();
    assert_eq!(store.runs().unwrap().len(), 1, "reading still works");
    let err = store.create_run(&sample_run(1e-3)).unwrap_err();
    assert!(matches!(err, StoreError::ReadOnly { .. }), "{err:?}");
    assert!(err.to_string().contains("read-only"), "{err}");
    let err = store
        .set_run_status(&run.id, RunStatus::Cancelled, None)
        .unwrap_err();
    assert!(matches!(err, StoreError::ReadOnly { .. }), "{err:?}");
}

#[test]
fn a_read_only_history_can_still_be_opened_to_show_past_runs() {
    let (dir, store) = temp_store();
    let run = store.create_run(&sample_run(1e-3)).unwrap();
    drop(store);
    let db = dir.path().join(DATABASE_FILE);
    let ro = Store::open_read_only(&db, &runs_dir(dir.path())).unwrap();
    assert!(ro.is_read_only());
    assert_eq!(ro.runs().unwrap()[0].id, run.id);
    let err = ro.add_note(&run.id, "x").unwrap_err();
    assert!(matches!(err, StoreError::ReadOnly { .. }), "{err:?}");
}

#[cfg(unix)]
#[test]
fn a_history_file_without_write_permission_is_reported_as_read_only() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, store) = temp_store();
    store.create_run(&sample_run(1e-3)).unwrap();
    drop(store);
    let db = dir.path().join(DATABASE_FILE);
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    for p in [dir.path().to_path_buf(), db.clone()] {
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o555)).unwrap();
    }
    if std::fs::OpenOptions::new().write(true).open(&db).is_ok() {
        for p in [dir.path().to_path_buf(), db.clone()] {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        eprintln!(
            "skipped: running as root, file permissions do not stop writes (see the mode=ro test)"
        );
        return;
    }
    let result = Store::open(&db, &runs_dir(dir.path()))
        .and_then(|s| s.create_run(&sample_run(1.0)).map(|_| ()));
    let ro = Store::open_read_only(&db, &runs_dir(dir.path())).map(|s| s.runs().map(|r| r.len()));
    for p in [dir.path().to_path_buf(), db.clone()] {
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let err = result.unwrap_err();
    assert!(matches!(err, StoreError::ReadOnly { .. }), "{err:?}");
    assert_eq!(ro.unwrap().unwrap(), 1);
    drop(open(dir.path()));
}

#[test]
fn damage_among_the_metric_points_is_found_when_read_and_by_the_full_check() {
    let (dir, store) = temp_store();
    let run = store.create_run(&sample_run(1e-3)).unwrap();
    let points: Vec<_> = (0..100_000)
        .map(|s| {
            tunesmith_store::MetricPoint::now(s, tunesmith_store::Split::Train, "loss", s as f64)
        })
        .collect();
    store.record_metrics(&run.id, &points).unwrap();
    drop(store);
    let db = dir.path().join(DATABASE_FILE);
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    let mut bytes = std::fs::read(&db).unwrap();
    let (from, to) = (
        bytes.len() / 2 / 4096 * 4096,
        (bytes.len() / 2 / 4096 + 8) * 4096,
    );
    for b in &mut bytes[from..to] {
        *b = 0xA5;
    }
    std::fs::write(&db, &bytes).unwrap();

    // Opening stays quick and works: the run list is intact.
    let store = open(dir.path());
    assert_eq!(store.runs().unwrap().len(), 1);
    let err = store.metric_summaries(&run.id).unwrap_err();
    let err = store.reclassify(err);
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert!(matches!(
        store.check_integrity().unwrap_err(),
        StoreError::Corrupt { .. }
    ));
    assert_eq!(
        store.run(&run.id).unwrap().unwrap().id,
        run.id,
        "the run itself is still readable"
    );
}
