//! Shared helpers: a store in a temporary folder and a sample run.

use serde_json::json;
use tunesmith_store::{Goal, NewRun, PrimaryMetric, Split, Store, DATABASE_FILE};

/// A fresh store under a temporary folder (kept alive by the returned guard).
pub fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    (dir, store)
}

/// Opens (or reopens) the store in `dir`.
pub fn open(dir: &std::path::Path) -> Store {
    Store::open(&dir.join(DATABASE_FILE), &dir.join("runs")).unwrap()
}

/// A classification run with LoRA on MiniLM, ranked by validation accuracy.
pub fn sample_run(lr: f64) -> NewRun {
    NewRun {
        name: Some("sst2 lora".into()),
        task: "classify".into(),
        method: "lora".into(),
        model_id: None,
        model_ref: "sentence-transformers/all-MiniLM-L6-v2".into(),
        dataset_id: None,
        dataset_ref: "/data/sst2/train.tsv".into(),
        data_fingerprint: Some("sha256:abc".into()),
        config: json!({"lr": lr, "epochs": 3, "batch": 16, "lora": {"rank": 8, "alpha": 16}}),
        device: "cpu".into(),
        hardware: json!({"cpu_threads": 2}),
        versions: json!({"tunesmith": "0.1.0"}),
        seed: 42,
        split: json!({"validation": 0.1, "test": 0.1, "seed": 42}),
        primary_metric: Some(PrimaryMetric {
            name: "accuracy".into(),
            split: Split::Validation,
            goal: Goal::Max,
        }),
        parent_run: None,
    }
}
