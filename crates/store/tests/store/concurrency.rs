//! Readers (the UI polling the history) never block the writer (the training loop).

use std::sync::mpsc;

use rusqlite::Connection;
use tunesmith_store::{MetricPoint, Split, DATABASE_FILE};

use crate::common::{open, sample_run, temp_store};

#[test]
fn a_reader_holding_an_open_transaction_does_not_block_the_writer() {
    let (dir, store) = temp_store();
    let run = store.create_run(&sample_run(1e-3)).unwrap();
    store
        .record_metrics(&run.id, &[MetricPoint::now(0, Split::Train, "loss", 1.0)])
        .unwrap();

    let (snapshot_taken, wait_for_snapshot) = mpsc::channel();
    let (writes_done, wait_for_writes) = mpsc::channel::<()>();
    let db = dir.path().join(DATABASE_FILE);
    let reader = std::thread::spawn(move || {
        let conn = Connection::open(&db).unwrap();
        conn.execute_batch("BEGIN").unwrap();
        let count = |c: &Connection| {
            c.query_row("SELECT COUNT(*) FROM metrics", [], |r| r.get::<_, i64>(0))
                .unwrap()
        };
        let before = count(&conn);
        snapshot_taken.send(before).unwrap();
        wait_for_writes.recv().unwrap();
        // Still inside the same read transaction: the snapshot has not moved.
        let during = count(&conn);
        conn.execute_batch("COMMIT").unwrap();
        (before, during, count(&conn))
    });
    assert_eq!(wait_for_snapshot.recv().unwrap(), 1);
    // In rollback-journal mode these commits would wait for the reader's lock and fail after the
    // busy timeout; with WAL they go straight through.
    for step in 1..=20 {
        store
            .record_metrics(
                &run.id,
                &[MetricPoint::now(step, Split::Train, "loss", 1.0)],
            )
            .unwrap();
    }
    writes_done.send(()).unwrap();
    let (before, during, after) = reader.join().unwrap();
    assert_eq!((before, during, after), (1, 1, 21));
}

#[test]
fn a_second_store_reads_while_another_thread_writes() {
    let (dir, store) = temp_store();
    let run = store.create_run(&sample_run(1e-3)).unwrap();
    let id = run.id.clone();
    let path = dir.path().to_path_buf();
    let reader = std::thread::spawn(move || {
        let store = open(&path);
        let mut seen = 0;
        while seen < 5_000 {
            let n = store
                .metric_series(&id, "loss", Split::Train)
                .unwrap()
                .len();
            assert!(n >= seen, "a reader never sees the history go backwards");
            seen = n;
        }
        seen
    });
    let mut w = store
        .metric_writer(&run.id)
        .with_batching(100, std::time::Duration::from_secs(60));
    for step in 0..5_000 {
        w.push(MetricPoint::now(step, Split::Train, "loss", 0.1))
            .unwrap();
    }
    w.flush().unwrap();
    assert_eq!(reader.join().unwrap(), 5_000);
}
