//! `tunesmith runs ...` against a history populated through the store's API, as the trainer will
//! populate it.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{json, Value};
use tunesmith_store::{
    files, ArtefactKind, EvalModel, Goal, MetricPoint, NewRun, PrimaryMetric, RunStatus, Split,
    Store, DATABASE_FILE,
};

fn tunesmith(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tunesmith"))
        .args(args)
        .arg("--home")
        .arg(home)
        .output()
        .unwrap()
}

fn json_of(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn open(home: &Path) -> Store {
    Store::open(&home.join(DATABASE_FILE), &home.join("runs")).unwrap()
}

/// Two finished LoRA runs differing in learning rate, with metrics, a checkpoint and evaluations.
fn populate(home: &Path) -> (String, String) {
    let store = open(home);
    let mut ids = Vec::new();
    for (lr, accs) in [(2e-4, [0.70, 0.85, 0.83]), (1e-4, [0.65, 0.74, 0.78])] {
        let run = store
            .create_run(&NewRun {
                name: Some(format!("sst2 lr {lr}")),
                task: "classify".into(),
                method: "lora".into(),
                model_id: None,
                model_ref: "/models/all-MiniLM-L6-v2".into(),
                dataset_id: None,
                dataset_ref: "/data/sst2/train.tsv".into(),
                data_fingerprint: Some("fp-123".into()),
                config: json!({"lr": lr, "epochs": 3, "lora": {"rank": 8}}),
                device: "cpu".into(),
                hardware: json!({"cpu_threads": 2}),
                versions: json!({"tunesmith": "0.1.0"}),
                seed: 7,
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
        let points: Vec<MetricPoint> = accs
            .iter()
            .enumerate()
            .flat_map(|(i, a)| {
                let step = (i as u64 + 1) * 10;
                [
                    MetricPoint::now(step, Split::Validation, "accuracy", *a),
                    MetricPoint::now(step, Split::Train, "loss", 1.0 / step as f64),
                ]
            })
            .collect();
        store.record_metrics(&run.id, &points).unwrap();
        let ckpt = store.run_dir(&run.id).join("checkpoint-30.safetensors");
        files::write_atomic(&ckpt, &[0u8; 2048]).unwrap();
        store
            .record_artefact(&run.id, ArtefactKind::Checkpoint, &ckpt, Some(30))
            .unwrap();
        store
            .record_evaluation(
                &run.id,
                EvalModel::FineTuned,
                Split::Test,
                100,
                &json!({"accuracy": accs[2]}),
            )
            .unwrap();
        store
            .record_evaluation(
                &run.id,
                EvalModel::Base,
                Split::Test,
                100,
                &json!({"accuracy": 0.5}),
            )
            .unwrap();
        store
            .set_run_status(&run.id, RunStatus::Finished, None)
            .unwrap();
        ids.push(run.id);
    }
    (ids[0].clone(), ids[1].clone())
}

#[test]
fn runs_list_json_shows_every_run_with_its_best_metric_newest_first() {
    let home = tempfile::tempdir().unwrap();
    let (a, b) = populate(home.path());
    let v = json_of(&tunesmith(home.path(), &["runs", "list", "--json"]));
    let runs = v.as_array().unwrap();
    assert_eq!(runs.len(), 2);
    let ids: Vec<_> = runs.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&a.as_str()) && ids.contains(&b.as_str()));
    let first = runs.iter().find(|r| r["id"] == a.as_str()).unwrap();
    assert_eq!(first["best_metric"]["value"], 0.85);
    assert_eq!(first["status"], "finished");
    assert_eq!(first["method"], "lora");
    assert_eq!(first["model"], "/models/all-MiniLM-L6-v2");
    assert!(first["duration_ms"].as_i64().unwrap() >= 0);
}

#[test]
fn runs_list_prints_a_readable_table() {
    let home = tempfile::tempdir().unwrap();
    let (a, _) = populate(home.path());
    let out = tunesmith(home.path(), &["runs", "list"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("ID"), "{text}");
    assert!(
        text.contains(&a) && text.contains("val accuracy 0.8500") && text.contains("train.tsv"),
        "{text}"
    );
    assert!(text.contains("2 run(s)"), "{text}");
}

#[test]
fn an_empty_history_says_how_to_start() {
    let home = tempfile::tempdir().unwrap();
    let out = tunesmith(home.path(), &["runs", "list"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("No runs yet"));
    assert_eq!(
        json_of(&tunesmith(home.path(), &["runs", "list", "--json"])),
        json!([])
    );
}

#[test]
fn runs_show_json_has_config_metrics_files_and_evaluations() {
    let home = tempfile::tempdir().unwrap();
    let (a, _) = populate(home.path());
    // The six random characters at the end of an id are enough to name a run.
    let v = json_of(&tunesmith(
        home.path(),
        &["runs", "show", &a[14..], "--json"],
    ));
    assert_eq!(v["run"]["id"], a.as_str());
    assert_eq!(v["run"]["config"]["lr"], 2e-4);
    assert_eq!(v["run"]["seed"], 7);
    let acc = v["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "accuracy")
        .unwrap();
    assert_eq!(
        (
            acc["points"].as_u64(),
            acc["max"].as_f64(),
            acc["last"].as_f64()
        ),
        (Some(3), Some(0.85), Some(0.83))
    );
    assert_eq!(v["artefacts"][0]["kind"], "checkpoint");
    assert_eq!(v["artefacts"][0]["size_bytes"], 2048);
    assert_eq!(v["evaluations"].as_array().unwrap().len(), 2);
    assert_eq!(v["disk_bytes"], 2048);
    // The curves the run page draws: training loss and validation accuracy, point by point.
    let curve = |name: &str, split: &str| {
        v["curves"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name && c["split"] == split)
            .cloned()
            .unwrap_or_else(|| panic!("no {split} {name} curve in {}", v["curves"]))
    };
    assert_eq!(curve("loss", "train")["steps"].as_array().unwrap().len(), 3);
    assert_eq!(
        curve("accuracy", "validation")["values"][2].as_f64(),
        Some(0.83)
    );
    let text = String::from_utf8(tunesmith(home.path(), &["runs", "show", &a]).stdout).unwrap();
    assert!(
        text.contains("lora.rank = 8")
            && text.contains("test fine_tuned (100 rows): accuracy=0.8300"),
        "{text}"
    );
}

#[test]
fn runs_compare_shows_the_differing_settings_and_metrics_side_by_side() {
    let home = tempfile::tempdir().unwrap();
    let (a, b) = populate(home.path());
    let v = json_of(&tunesmith(
        home.path(),
        &["runs", "compare", &a, &b, "--json"],
    ));
    let diffs = v["config_differences"].as_array().unwrap();
    assert_eq!(diffs.len(), 1, "{diffs:?}");
    assert_eq!(
        (
            diffs[0]["key"].as_str(),
            diffs[0]["left"].as_f64(),
            diffs[0]["right"].as_f64()
        ),
        (Some("config.lr"), Some(2e-4), Some(1e-4))
    );
    let best = v["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == "validation accuracy (best)")
        .unwrap();
    assert_eq!(
        (best["left"].as_f64(), best["right"].as_f64()),
        (Some(0.85), Some(0.78))
    );
    let text =
        String::from_utf8(tunesmith(home.path(), &["runs", "compare", &a, &b]).stdout).unwrap();
    assert!(
        text.contains("config.lr") && text.contains("-0.0700"),
        "{text}"
    );
}

#[test]
fn runs_delete_removes_the_runs_files_and_rows_together() {
    let home = tempfile::tempdir().unwrap();
    let (a, b) = populate(home.path());
    let v = json_of(&tunesmith(home.path(), &["runs", "delete", &a, "--json"]));
    assert_eq!(v["freed_bytes"], 2048);
    assert!(!home.path().join("runs").join(&a).exists());
    assert!(home.path().join("runs").join(&b).exists());
    let left = json_of(&tunesmith(home.path(), &["runs", "list", "--json"]));
    assert_eq!(left.as_array().unwrap().len(), 1);
    let out = tunesmith(home.path(), &["runs", "delete", &a, "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let err: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(err["code"], "run_not_found");
    assert!(err["message"].as_str().unwrap().contains(&a));
}

#[test]
fn a_damaged_history_is_reported_and_recover_moves_it_aside_and_starts_fresh() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join(DATABASE_FILE);
    std::fs::write(&db, vec![0x5a; 8192]).unwrap();
    let out = tunesmith(home.path(), &["runs", "list", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let err: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(err["code"], "store_corrupt");
    assert!(
        err["message"].as_str().unwrap().contains("damaged"),
        "{err}"
    );

    let v = json_of(&tunesmith(home.path(), &["runs", "recover", "--json"]));
    let backup = Path::new(v["backup"].as_str().unwrap());
    assert_eq!(
        std::fs::read(backup).unwrap(),
        vec![0x5a; 8192],
        "the damaged file is kept"
    );
    assert_eq!(
        json_of(&tunesmith(home.path(), &["runs", "list", "--json"])),
        json!([])
    );
    // A healthy history is never set aside.
    let out = tunesmith(home.path(), &["runs", "recover"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not damaged"));
}
