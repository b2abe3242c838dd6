//! `tunesmith train` goes through the data doctor and records every run in the history: a file the
//! doctor refuses is refused by `train` with the same messages, and a finished run shows up in
//! `runs list` / `runs show` with its metrics, artefacts and split.

use std::path::{Path, PathBuf};
use std::process::Output;
use crate::common::tunesmith;

fn tiny_bert() -> PathBuf {
    tunesmith_testkit::paths::fixtures_dir().join("tiny-bert")
}

fn write(dir: &Path, name: &str, rows: &[(String, &str)]) -> PathBuf {
    let mut s = String::from("sentence\tlabel\n");
    for (t, l) in rows {
        s.push_str(&format!("{t}\t{l}\n"));
    }
    let p = dir.join(name);
    std::fs::write(&p, s).unwrap();
    p
}

fn three_classes(dir: &Path) -> PathBuf {
    let words = [
        ("good fine great", "pos"),
        ("bad awful poor", "neg"),
        ("table chair door", "neutral"),
    ];
    let rows: Vec<(String, &str)> = (0..60)
        .map(|i| (format!("{} number {i}", words[i % 3].0), words[i % 3].1))
        .collect();
    write(dir, "data.tsv", &rows)
}

fn train(home: &Path, data: &Path) -> Output {
    tunesmith(home)
        .args([
            "train", "--json", "--task", "classify", "--method", "features",
        ])
        .args(["--epochs", "2", "--lr", "0.05", "--seed", "7"])
        .args(["--text-column", "sentence", "--label-column", "label"])
        .arg("--model")
        .arg(tiny_bert())
        .arg("--data")
        .arg(data)
        .output()
        .unwrap()
}

#[test]
fn train_refuses_unusable_data_with_the_messages_data_inspect_gives() {
    let home = tempfile::tempdir().unwrap();
    let rows: Vec<(String, &str)> = (0..30).map(|i| (format!("text {i}"), "only")).collect();
    let data = write(home.path(), "one-class.tsv", &rows);
    let inspect = tunesmith(home.path())
        .args(["data", "inspect", "--task", "classify"])
        .args(["--text-column", "sentence", "--label-column", "label"])
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(inspect.status.code(), Some(2));
    let inspect_err = String::from_utf8_lossy(&inspect.stderr).to_string();
    let reasons: Vec<&str> = inspect_err
        .lines()
        .filter_map(|l| l.strip_prefix("error: "))
        .filter(|l| !l.contains("cannot be used for training until"))
        .collect();
    assert!(!reasons.is_empty(), "inspect gave no reason: {inspect_err}");

    let out = train(home.path(), &data);
    assert_eq!(out.status.code(), Some(2));
    let err: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(err["code"], "data_unusable");
    let message = err["message"].as_str().unwrap();
    for reason in reasons {
        assert!(
            message.contains(reason),
            "`{reason}` missing from: {message}"
        );
    }
    // Nothing was recorded for a refused file.
    let list = tunesmith(home.path())
        .args(["runs", "list", "--json"])
        .output()
        .unwrap();
    let runs: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(runs.as_array().map(Vec::len), Some(0), "{runs}");
}

#[test]
fn a_trained_run_is_in_the_history_with_its_metrics_artefacts_and_split() {
    let home = tempfile::tempdir().unwrap();
    let data = three_classes(home.path());
    let out = train(home.path(), &data);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // From `started` on (a new run's `preparing` events come before it has an id).
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["event"] != "preparing")
        .collect();
    let run_id = lines[0]["run_id"].as_str().unwrap().to_string();
    let steps = lines.iter().filter(|l| l["event"] == "step").count();

    let list = tunesmith(home.path())
        .args(["runs", "list", "--json"])
        .output()
        .unwrap();
    assert!(list.status.success());
    let runs: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let listed = runs.as_array().unwrap();
    assert_eq!(listed.len(), 1, "{runs}");
    assert_eq!(listed[0]["id"], run_id.as_str());
    assert_eq!(listed[0]["status"], "finished");

    let show = tunesmith(home.path())
        .args(["runs", "show", &run_id, "--json"])
        .output()
        .unwrap();
    assert!(
        show.status.success(),
        "{}",
        String::from_utf8_lossy(&show.stderr)
    );
    let d: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(d["run"]["seed"], 7);
    assert_eq!(d["run"]["split"]["seed"], 7);
    assert!(d["run"]["split"]["fingerprint"]
        .as_str()
        .is_some_and(|f| !f.is_empty()));
    assert!(d["run"]["data_fingerprint"]
        .as_str()
        .is_some_and(|f| !f.is_empty()));
    let metric = |name: &str, split: &str| {
        d["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name && m["split"] == split)
            .cloned()
    };
    let loss = metric("loss", "train").expect("no train loss recorded");
    assert_eq!(loss["points"], steps as u64, "{loss}");
    assert!(
        metric("accuracy", "validation").is_some(),
        "{}",
        d["metrics"]
    );
    let kinds: Vec<&str> = d["artefacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"checkpoint"), "{kinds:?}");
    assert!(kinds.contains(&"best_checkpoint"), "{kinds:?}");

    // run.json beside the checkpoints records the split plan too.
    let record: serde_json::Value = serde_json::from_slice(
        &std::fs::read(home.path().join("runs").join(&run_id).join("run.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(record["split_seed"], 7);
    assert_eq!(
        record["split_fingerprint"],
        d["run"]["split"]["fingerprint"]
    );
}
