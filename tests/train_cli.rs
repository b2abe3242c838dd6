//! `tunesmith train` as a user runs it, on the tiny BERT fixture (random weights, three classes):
//! the JSON event contract of issue 3 and the run's files under the home folder.

use std::process::Command;

fn tunesmith() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tunesmith"))
}

fn tiny_bert() -> std::path::PathBuf {
    tunesmith_testkit::paths::fixtures_dir().join("tiny-bert")
}

/// A small three-class TSV (the fixture's head has three outputs).
fn write_data(dir: &std::path::Path) -> std::path::PathBuf {
    let words = [
        ("good fine great", "pos"),
        ("bad awful poor", "neg"),
        ("table chair door", "neutral"),
    ];
    let mut s = String::from("sentence\tlabel\n");
    for i in 0..60 {
        let (w, l) = words[i % 3];
        s.push_str(&format!("{w} number {i}\t{l}\n"));
    }
    let p = dir.join("data.tsv");
    std::fs::write(&p, s).unwrap();
    p
}

#[test]
fn train_json_prints_one_event_per_line_ending_with_finished() {
    let home = tempfile::tempdir().unwrap();
    let data = write_data(home.path());
    let out = tunesmith()
        .args([
            "train", "--json", "--method", "features", "--epochs", "3", "--task", "classify",
        ])
        .args([
            "--text-column",
            "sentence",
            "--label-column",
            "label",
            "--lr",
            "0.05",
        ])
        .arg("--model")
        .arg(tiny_bert())
        .arg("--data")
        .arg(&data)
        .arg("--home")
        .arg(home.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Issue 18: the preparation before the first step is reported stage by stage (a new run has
    // no id yet), feature caching with its count, then `started`.
    let preparing: Vec<&serde_json::Value> =
        all.iter().take_while(|l| l["event"] == "preparing").collect();
    let stages: Vec<&str> = preparing.iter().map(|p| p["stage"].as_str().unwrap()).collect();
    let mut distinct = stages.clone();
    distinct.dedup();
    assert_eq!(
        distinct,
        ["reading_data", "loading_model", "tokenising", "caching_features"]
    );
    let last = preparing.last().unwrap();
    assert_eq!(last["done"], last["total"], "{last}");
    assert!(last["total"].as_u64().unwrap() > 0);
    assert!(preparing.iter().all(|p| p["run_id"] == "" && p["elapsed"].is_number()));
    let lines: Vec<serde_json::Value> = all[preparing.len()..].to_vec();
    assert_eq!(lines[0]["event"], "started");
    let run_id = lines[0]["run_id"].as_str().unwrap().to_string();
    assert!(lines.iter().all(|l| l["run_id"] == run_id.as_str()));
    let steps: Vec<&serde_json::Value> = lines.iter().filter(|l| l["event"] == "step").collect();
    assert_eq!(
        steps.len(),
        lines[0]["total_steps"].as_u64().unwrap() as usize
    );
    for s in &steps {
        for k in ["loss", "lr", "grad_norm", "tokens_per_s", "elapsed", "eta"] {
            assert!(s[k].is_number(), "step lacks {k}: {s}");
        }
        // The memory in use, for the app's live view (Linux reports it in /proc).
        if cfg!(target_os = "linux") {
            assert!(s["memory_bytes"].as_u64().unwrap_or(0) > 1 << 20, "{s}");
        }
    }
    assert!(lines.iter().any(|l| l["event"] == "eval"));
    let last = lines.last().unwrap();
    assert_eq!(last["event"], "finished");
    assert!(last["metrics"]["accuracy"].is_number() && last["metrics"]["macro_f1"].is_number());
    let run_dir = home.path().join("runs").join(&run_id);
    assert!(run_dir.join("run.json").is_file());
    assert!(run_dir
        .join("checkpoints")
        .join("checkpoint.safetensors")
        .is_file());
}

#[test]
fn train_with_a_missing_model_folder_is_a_clear_error() {
    let home = tempfile::tempdir().unwrap();
    let data = write_data(home.path());
    let out = tunesmith()
        .args([
            "train",
            "--json",
            "--method",
            "lora",
            "--model",
            "/nonexistent/model",
        ])
        .arg("--data")
        .arg(&data)
        .arg("--home")
        .arg(home.path())
        .output()
        .unwrap();
    crate::common::assert_fails_with(&out, "/nonexistent/model");
}

/// Trains one epoch of feature extraction on `data` with `extra` flags and returns run.json.
fn train_record(
    home: &std::path::Path,
    data: &std::path::Path,
    extra: &[&str],
) -> serde_json::Value {
    let out = tunesmith()
        .args(["train", "--json", "--method", "features", "--epochs", "1"])
        .args(["--text-column", "sentence", "--label-column", "label"])
        .args(extra)
        .arg("--model")
        .arg(tiny_bert())
        .arg("--data")
        .arg(data)
        .arg("--home")
        .arg(home)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The run's id comes with `started` (a new run's `preparing` events come before it has one).
    let first: serde_json::Value = stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|e| e["event"] == "started")
        .unwrap();
    let run_id = first["run_id"].as_str().unwrap();
    let record = std::fs::read(home.join("runs").join(run_id).join("run.json")).unwrap();
    serde_json::from_slice(&record).unwrap()
}

fn rows_trained_on(record: &serde_json::Value) -> u64 {
    record["split_sizes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_u64().unwrap())
        .sum()
}

#[test]
fn train_applies_the_data_doctors_fix_the_user_chose_and_records_it() {
    let home = tempfile::tempdir().unwrap();
    let data = write_data(home.path());
    // Two rows repeated word for word: the doctor's "duplicates" finding.
    let mut text = std::fs::read_to_string(&data).unwrap();
    text.push_str("good fine great number 0\tpos\nbad awful poor number 1\tneg\n");
    std::fs::write(&data, text).unwrap();

    let kept = train_record(home.path(), &data, &[]);
    let fixed = train_record(home.path(), &data, &["--drop-duplicates"]);

    assert_eq!(rows_trained_on(&kept), 62);
    assert_eq!(rows_trained_on(&fixed), 60);
    assert_eq!(fixed["request"]["fixes"]["drop_duplicates"], true);
}

#[test]
fn issue_18_a_runs_recorded_duration_includes_its_preparation() {
    use tunesmith::train::{CancelHandle, RunEvent, TrainRequest};
    use tunesmith_engine::train::{Method, TrainEvent};
    let home = tempfile::tempdir().unwrap();
    let data = write_data(home.path());
    let mut req = TrainRequest::new(
        tiny_bert(),
        data,
        tunesmith::data::Task::Classify,
        Method::Features,
    );
    req.text_column = Some("sentence".into());
    req.label_column = Some("label".into());
    req.epochs = Some(1);
    let app = tunesmith::home::Home::at(home.path().join("home")).unwrap();
    let (mut first_prep, mut started, mut finished) = (None, None, None);
    let now = tunesmith_store::clock::now_ms;
    let summary = tunesmith::train::train(&app, &req, CancelHandle::new(), &mut |e: &RunEvent| {
        match e.event {
            TrainEvent::Preparing { .. } => {
                first_prep.get_or_insert(now());
            }
            TrainEvent::Started { .. } => started = Some(now()),
            TrainEvent::Finished { .. } => finished = Some(now()),
            _ => {}
        }
    })
    .unwrap();
    let (first_prep, started, finished) =
        (first_prep.unwrap(), started.unwrap(), finished.unwrap());
    assert!(started > first_prep, "the preparation takes some time");
    let details = tunesmith::runs::show(&app, &summary.run_id).unwrap();
    let record_start = details.run.started_at.unwrap();
    assert!(
        record_start <= first_prep,
        "the run is recorded from its preparation ({record_start}), not from its first step ({started})"
    );
    // The history writes the end just before the event reaches us, so compare with what the
    // preparation alone took (timing the whole run here would race the history's clock by a few ms).
    let duration = details.duration_ms.unwrap();
    assert!(duration >= started - first_prep, "{duration} ms");
    assert!(duration <= finished - record_start + 1_000, "{duration} ms");
}
