//! Fuzz tier of the run history: a copied `tunesmith.db` that was damaged on the way (a bad copy,
//! a disk error, a file cut short) is opened as the app opens a home folder. The store has no
//! import of its own: a history moves with its home folder, and opening it is the import.
//!
//! Each case writes a real history (runs with metrics, notes and evaluations, closed cleanly so
//! the file is whole) changed by a few mutations aimed at what SQLite trusts: the 100-byte header's
//! big-endian fields (page size, page count, freelist, schema cookie and format, encoding,
//! `user_version`, which the migrations read), b-tree page headers (cell counts, content offsets,
//! right-child pointers), bit flips, a page copied over another or zeroed, and truncation. Then:
//!
//! - opening it never panics, and a refusal names the file;
//! - a refused file is left as it was (nothing half-migrated: the pages past the header that SQLite
//!   rewrites when it switches to WAL are byte for byte the same);
//! - an opened history reads every run, its metrics, notes, evaluations and artefacts without a
//!   panic (damage found while reading is an error, as the app shows it).
//!
//! Case count: `TUNESMITH_FUZZ_CASES` (default 200, what CI runs). The large run is by hand or
//! nightly: `scripts/fuzz-tier 10000000 a_copied_history` (counts and times in tests/README.md).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::json;
use tunesmith_store::{
    EvalModel, Goal, MetricPoint, NewRun, PrimaryMetric, RunStatus, Split, Store, DATABASE_FILE,
};

/// SQLite's default page size, which the seed history uses.
const PAGE: usize = 4096;

fn cases() -> u32 {
    std::env::var("TUNESMITH_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200)
}

/// The case count, no failure files, and the xorshift generator (ChaCha's costs more and the
/// inputs need no cryptographic randomness).
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        rng_algorithm: proptest::test_runner::RngAlgorithm::XorShift,
        ..ProptestConfig::default()
    }
}

/// A real history's bytes: eight finished runs with metrics, a note and an evaluation each.
fn seed() -> &'static [u8] {
    static SEED: OnceLock<Vec<u8>> = OnceLock::new();
    SEED.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join(DATABASE_FILE);
        let store = Store::open(&db, &dir.path().join("runs")).unwrap();
        for i in 0..8 {
            let run = store
                .create_run(&NewRun {
                    name: Some(format!("run {i}")),
                    task: "classify".into(),
                    method: "lora".into(),
                    model_id: None,
                    model_ref: "sentence-transformers/all-MiniLM-L6-v2".into(),
                    dataset_id: None,
                    dataset_ref: format!("/data/set{i}.csv"),
                    data_fingerprint: Some(format!("sha256:{i:064x}")),
                    config: json!({"lr": 1e-3, "epochs": 3, "lora": {"rank": 8}}),
                    device: "cpu".into(),
                    hardware: json!({"cpu_threads": 2}),
                    versions: json!({"tunesmith": "0.1.0"}),
                    seed: 42,
                    split: json!({"validation": 0.1, "test": 0.1}),
                    primary_metric: Some(PrimaryMetric {
                        name: "accuracy".into(),
                        split: Split::Validation,
                        goal: Goal::Max,
                    }),
                    parent_run: None,
                })
                .unwrap();
            store.start_run(&run.id, std::process::id()).unwrap();
            let points: Vec<MetricPoint> = (0..40)
                .flat_map(|s| {
                    [
                        MetricPoint::now(s, Split::Train, "loss", 1.0 / (s + 1) as f64),
                        MetricPoint::now(s, Split::Validation, "accuracy", s as f64 / 40.0),
                    ]
                })
                .collect();
            store.record_metrics(&run.id, &points).unwrap();
            store.add_note(&run.id, &format!("note {i}")).unwrap();
            store
                .record_evaluation(
                    &run.id,
                    EvalModel::FineTuned,
                    Split::Test,
                    100,
                    &json!({"accuracy": 0.9}),
                )
                .unwrap();
            store
                .set_run_status(&run.id, RunStatus::Finished, None)
                .unwrap();
        }
        drop(store);
        // Closed cleanly: the WAL is folded into the file and removed, as a copied history is.
        assert!(!Path::new(&format!("{}-wal", db.display())).exists());
        std::fs::read(&db).unwrap()
    })
}

// --- mutations --------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Mutation {
    /// A byte anywhere.
    Byte(Index, u8),
    /// A bit flipped anywhere.
    Flip(Index, u8),
    /// A big-endian field of the database header (offset, width 1/2/4) set to a boundary value.
    Header(usize, usize, u64),
    /// A field of a page's b-tree header (page, offset in the header, width) set to a boundary value.
    PageHeader(Index, usize, usize, u64),
    /// A page copied over another (a bad copy), or zeroed.
    CopyPage(Index, Index),
    ZeroPage(Index),
    /// The file cut at a byte, or at a page boundary.
    Truncate(Index),
    TruncatePages(Index),
}

fn boundary() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(1),
        Just(2),
        Just(3),
        Just(9),
        Just(255),
        Just(512),
        Just(4096),
        Just(65_535),
        Just(65_536),
        Just(1 << 31),
        Just(u32::MAX as u64),
        any::<u64>(),
    ]
}

/// The header fields SQLite and the store read: page size, write/read versions, reserved bytes,
/// payload fractions, change counter, page count, freelist trunk and count, schema cookie and
/// format, cache size, auto-vacuum root, text encoding, user_version, incremental vacuum,
/// application id, version-valid-for and the SQLite version number.
const HEADER_FIELDS: [(usize, usize); 22] = [
    (16, 2),
    (18, 1),
    (19, 1),
    (20, 1),
    (21, 1),
    (22, 1),
    (23, 1),
    (24, 4),
    (28, 4),
    (32, 4),
    (36, 4),
    (40, 4),
    (44, 4),
    (48, 4),
    (52, 4),
    (56, 4),
    (60, 4),
    (64, 4),
    (68, 4),
    (92, 4),
    (96, 4),
    (0, 4),
];

/// A b-tree page header's fields: type, first freeblock, cell count, content start, fragmented
/// bytes, right child; then the first cell pointers.
const PAGE_FIELDS: [(usize, usize); 8] = [
    (0, 1),
    (1, 2),
    (3, 2),
    (5, 2),
    (7, 1),
    (8, 4),
    (12, 2),
    (14, 2),
];

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        2 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Byte(i, b)),
        2 => (any::<Index>(), 0u8..8).prop_map(|(i, b)| Mutation::Flip(i, b)),
        4 => (proptest::sample::select(&HEADER_FIELDS[..]), boundary())
            .prop_map(|((at, w), v)| Mutation::Header(at, w, v)),
        4 => (any::<Index>(), proptest::sample::select(&PAGE_FIELDS[..]), boundary())
            .prop_map(|(p, (at, w), v)| Mutation::PageHeader(p, at, w, v)),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::CopyPage(a, b)),
        1 => any::<Index>().prop_map(Mutation::ZeroPage),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        1 => any::<Index>().prop_map(Mutation::TruncatePages),
    ]
}

fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    proptest::collection::vec(mutation(), 1..5)
}

fn put_be(b: &mut [u8], at: usize, width: usize, v: u64) {
    let bytes = v.to_be_bytes();
    for (k, x) in bytes[8 - width..].iter().enumerate() {
        if let Some(slot) = b.get_mut(at + k) {
            *slot = *x;
        }
    }
}

fn apply(seed: &[u8], ms: &[Mutation]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for m in ms {
        let (n, pages) = (b.len().max(1), (b.len() / PAGE).max(1));
        match m {
            Mutation::Byte(i, v) if !b.is_empty() => b[i.index(n)] = *v,
            Mutation::Flip(i, bit) if !b.is_empty() => b[i.index(n)] ^= 1 << bit,
            Mutation::Header(at, w, v) => put_be(&mut b, *at, *w, *v),
            Mutation::PageHeader(p, at, w, v) => {
                let p = p.index(pages);
                // Page 1's b-tree header follows the 100-byte database header.
                let start = p * PAGE + if p == 0 { 100 } else { 0 };
                put_be(&mut b, start + at, *w, *v);
            }
            Mutation::CopyPage(from, to) => {
                let (from, to) = (from.index(pages) * PAGE, to.index(pages) * PAGE);
                if from + PAGE <= b.len() && to + PAGE <= b.len() {
                    let page = b[from..from + PAGE].to_vec();
                    b[to..to + PAGE].copy_from_slice(&page);
                }
            }
            Mutation::ZeroPage(p) => {
                let at = p.index(pages) * PAGE;
                let end = (at + PAGE).min(b.len());
                b[at.min(end)..end].fill(0);
            }
            Mutation::Truncate(i) => b.truncate(i.index(n)),
            Mutation::TruncatePages(p) => b.truncate(p.index(pages) * PAGE),
            _ => {}
        }
    }
    b
}

thread_local! {
    /// This test's home folder, kept for the whole run and in memory (`/dev/shm`) where there is
    /// one: a fresh folder on disk per case, and SQLite's syncs on it, cost more than the opening.
    /// (Syncs on tmpfs are free; the store's own `synchronous` setting is not touched.)
    static SCRATCH: tempfile::TempDir = tempfile::Builder::new()
        .prefix("tunesmith-fuzz-store")
        .tempdir_in("/dev/shm")
        .or_else(|_| tempfile::tempdir())
        .unwrap();
}

/// The scratch home emptied of the last case's history, its WAL and shared-memory files and
/// its runs folder, as a fresh copy would find it.
fn home() -> std::path::PathBuf {
    let dir = SCRATCH.with(|d| d.path().to_path_buf());
    for name in [
        DATABASE_FILE.to_string(),
        format!("{DATABASE_FILE}-wal"),
        format!("{DATABASE_FILE}-shm"),
        format!("{DATABASE_FILE}-journal"),
    ] {
        let _ = std::fs::remove_file(dir.join(name));
    }
    let _ = std::fs::remove_dir_all(dir.join("runs"));
    dir
}

/// Reads everything the app shows of an opened history; an error is fine, a panic is not.
fn read_everything(store: &Store) {
    let Ok(runs) = store.runs() else { return };
    for summary in runs {
        let id = summary.id.clone();
        let _ = store.resolve_run(&id);
        let _ = store.run(&id);
        let _ = store.metric_summaries(&id);
        let _ = store.notes(&id);
        let _ = store.evaluations(&id);
        let _ = store.artefacts(&id);
        let _ = store.outputs(&id);
    }
    let _ = store.models();
    let _ = store.datasets();
    let _ = store.check_integrity();
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_a_copied_history_damaged_on_the_way_opens_or_is_refused_naming_the_file(
        ms in mutations(),
    ) {
        let bytes = apply(seed(), &ms);
        let dir = home();
        let db = dir.join(DATABASE_FILE);
        std::fs::write(&db, &bytes).unwrap();
        let runs = dir.join("runs");
        let opened = catch_unwind(AssertUnwindSafe(|| {
            let store = Store::open(&db, &runs)?;
            read_everything(&store);
            Ok::<_, tunesmith_store::StoreError>(())
        }));
        let opened = match opened {
            Ok(r) => r,
            Err(_) => return Err(TestCaseError::fail(format!("opening panicked after {ms:?}"))),
        };
        if let Err(e) = opened {
            let message = e.to_string();
            prop_assert!(
                message.contains(&db.display().to_string()),
                "the refusal does not name the file: {message} (after {ms:?})"
            );
            // Nothing half-migrated: past the header (which the switch to WAL rewrites), the file
            // is what was copied in, and no write-ahead log with pending pages is left beside it.
            let after = std::fs::read(&db).unwrap();
            let body = |b: &[u8]| b.get(100..).map(<[u8]>::to_vec).unwrap_or_default();
            prop_assert!(
                after.len() == bytes.len() && body(&after) == body(&bytes),
                "a refused history was changed ({} -> {} bytes) after {ms:?}: {message}",
                bytes.len(),
                after.len()
            );
            let wal = std::fs::metadata(format!("{}-wal", db.display())).map_or(0, |m| m.len());
            prop_assert!(wal == 0, "a refused history left a {wal}-byte WAL after {ms:?}");
        }
    }
}

#[test]
fn the_seed_history_opens_and_reads_whole() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(DATABASE_FILE);
    std::fs::write(&db, seed()).unwrap();
    let store = Store::open(&db, &dir.path().join("runs")).unwrap();
    assert_eq!(store.runs().unwrap().len(), 8);
    store.check_integrity().unwrap();
    assert!(seed().len() >= 8 * PAGE, "{} bytes", seed().len());
}
