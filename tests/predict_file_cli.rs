//! `tunesmith predict --data FILE --out FILE` (issue 16, item 5): every row of a data file
//! classified into a new file that keeps the original columns, unreadable rows reported, the
//! output recorded in the history, the input untouched; and a 100,000-row file predicted in
//! bounded memory (peak resident memory of the CLI process, `VmHWM`, polled while it runs).

use std::path::{Path, PathBuf};

use crate::common::{three_class_rows, train_tiny_classifier, tunesmith, THREE_CLASSES};

/// A CSV of `rows` rows to predict: an id, the text in the run's column, a note.
fn rows_file(dir: &Path, name: &str, rows: usize) -> PathBuf {
    let mut s = String::with_capacity(rows * 48);
    s.push_str("id,sentence,note\n");
    for i in 0..rows {
        s.push_str(&format!("{i},{} row {i},n{}\n", THREE_CLASSES[i % 3].0, i % 7));
    }
    let p = dir.join(name);
    std::fs::write(&p, s).unwrap();
    p
}

#[test]
fn a_predicted_file_keeps_every_column_adds_prediction_and_confidence_and_reports_bad_rows() {
    let home = tempfile::tempdir().unwrap();
    let run = train_tiny_classifier(home.path(), &three_class_rows(home.path(), "train.tsv"), 2, 0.2);
    let data = home.path().join("new rows.csv");
    std::fs::write(
        &data,
        "id,sentence,note\n1,good fine great today,a\n2,\"bad, awful, poor\",b\n3,,empty text\n4,table chair,x,extra field\n5,table chair door,c\n",
    )
    .unwrap();
    let before = std::fs::read(&data).unwrap();
    let out_file = home.path().join("out.csv");
    let out = tunesmith(home.path())
        .args(["predict", "--json", "--run", &run, "--data"])
        .arg(&data)
        .arg("--out")
        .arg(&out_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["rows"], 4, "{s}");
    assert_eq!(s["predicted"], 3, "{s}");
    assert_eq!(s["empty"], 1, "{s}");
    assert_eq!(s["unreadable"], 1, "{s}");
    assert_eq!(s["input_columns"], serde_json::json!(["sentence"]));
    let lines: Vec<u64> = s["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![4, 5], "{s}");

    let mut reader = csv::Reader::from_path(&out_file).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        ["id", "sentence", "note", "prediction", "confidence"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 4);
    assert_eq!(
        &rows[1][1], "bad, awful, poor",
        "a quoted value keeps its commas"
    );
    for r in [&rows[0], &rows[1], &rows[3]] {
        assert!(["pos", "neg", "neutral"].contains(&&r[3]), "{r:?}");
        let c: f64 = r[4].parse().unwrap();
        assert!((1.0 / 3.0..=1.0).contains(&c), "{r:?}");
    }
    assert_eq!(
        (&rows[2][3], &rows[2][4]),
        ("", ""),
        "the empty text has no prediction"
    );
    assert_eq!(
        std::fs::read(&data).unwrap(),
        before,
        "the input file is untouched"
    );

    let show = tunesmith(home.path())
        .args(["runs", "show", &run, "--json"])
        .output()
        .unwrap();
    let d: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    let outputs = d["outputs"].as_array().unwrap();
    assert_eq!(outputs.len(), 1, "{d}");
    assert_eq!(outputs[0]["kind"], "predictions");
    assert_eq!(outputs[0]["path"], out_file.display().to_string());
    assert_eq!(outputs[0]["rows"], 4);
}

#[test]
fn a_jsonl_file_is_predicted_into_jsonl_and_writing_over_the_input_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let run = train_tiny_classifier(home.path(), &three_class_rows(home.path(), "train.tsv"), 2, 0.2);
    let data = home.path().join("q.jsonl");
    std::fs::write(
        &data,
        "{\"sentence\": \"good fine great\", \"src\": \"web\"}\nnot json\n{\"sentence\": \"bad awful\", \"src\": \"mail\"}\n",
    )
    .unwrap();
    let out = tunesmith(home.path())
        .args(["predict", "--json", "--run", &run, "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["unreadable"], 1, "{s}");
    let written = std::fs::read_to_string(home.path().join("q.predicted.jsonl")).unwrap();
    let rows: Vec<serde_json::Value> = written
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["src"], "mail");
    assert!(rows[0]["prediction"].is_string() && rows[0]["confidence"].is_string());

    let refused = tunesmith(home.path())
        .args(["predict", "--run", &run, "--data"])
        .arg(&data)
        .arg("--out")
        .arg(&data)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("never writes over your data"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

/// The bound: a 100,000-row file may use at most this much more resident memory than a 1,000-row
/// one (measured: 25 MB for both). Holding the rows would cost more than this (their text alone is
/// 4.5 MB, and each row's three strings and vector add about 100 bytes); streaming costs nothing
/// that grows with the file.
const GROWTH_BOUND_KB: u64 = 8 * 1024;

#[cfg(target_os = "linux")]
#[test]
fn a_hundred_thousand_row_file_is_predicted_in_bounded_memory() {
    let home = tempfile::tempdir().unwrap();
    let run = train_tiny_classifier(home.path(), &three_class_rows(home.path(), "train.tsv"), 2, 0.2);
    let mut peaks = Vec::new();
    for (name, rows) in [("small.csv", 1_000), ("large.csv", 100_000)] {
        let data = rows_file(home.path(), name, rows);
        let out_file = home.path().join(format!("{name}.out.csv"));
        let (status, err, peak_bytes) = crate::common::run_measured(
            tunesmith(home.path())
                .args(["predict", "--json", "--run", &run, "--data"])
                .arg(&data)
                .arg("--out")
                .arg(&out_file),
        );
        assert!(status.success(), "{err}");
        let peak = peak_bytes / 1024;
        let written = std::fs::read_to_string(&out_file).unwrap();
        assert_eq!(written.lines().count(), rows + 1, "every row is written");
        peaks.push(peak);
    }
    let (small, large) = (peaks[0], peaks[1]);
    eprintln!("peak resident memory: 1,000 rows {small} kB, 100,000 rows {large} kB");
    assert!(
        large <= small + GROWTH_BOUND_KB,
        "100,000 rows peaked at {large} kB, 1,000 rows at {small} kB: memory grows with the file"
    );
}

#[test]
fn a_cancelled_file_prediction_leaves_no_output_and_no_temporary_file() {
    let home = tempfile::tempdir().unwrap();
    let run = train_tiny_classifier(home.path(), &three_class_rows(home.path(), "train.tsv"), 2, 0.2);
    let data = rows_file(home.path(), "rows.csv", 200);
    let out_file = home.path().join("cancelled.csv");
    let cancel = tunesmith::chat::CancelHandle::new();
    let mut request = tunesmith::predict_file::PredictFileRequest::new(&run, &data);
    request.out = Some(out_file.clone());
    let h = tunesmith::home::Home::at(home.path().to_path_buf()).unwrap();
    let mut progress = 0;
    let err = tunesmith::predict_file::predict_file(&h, &request, Some(&cancel), &mut |p| {
        progress += 1;
        assert!(p.rows > 0 && p.bytes_read <= p.total_bytes);
        cancel.cancel();
    })
    .unwrap_err();
    assert!(err.to_string().contains("cancelled"), "{err}");
    assert_eq!(progress, 1, "it stops at the next chunk");
    assert!(!out_file.exists());
    let left: Vec<_> = std::fs::read_dir(home.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_generation_run_answers_every_prompt_of_a_file_into_a_prediction_column() {
    let home = tempfile::tempdir().unwrap();
    let mut s = String::from("prompt,response\n");
    for i in 0..24 {
        s.push_str(&format!("what is code {i}?,code {i} means river\n"));
    }
    let train = home.path().join("qa.csv");
    std::fs::write(&train, s).unwrap();
    let out = tunesmith(home.path())
        .args([
            "train", "--json", "--task", "generate", "--method", "lora", "--epochs", "1",
        ])
        .args(["--prompt-column", "prompt", "--response-column", "response"])
        .arg("--model")
        .arg(tunesmith_testkit::paths::fixtures_dir().join("tiny-llama"))
        .arg("--data")
        .arg(&train)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    let run = first["run_id"].as_str().unwrap().to_string();

    let data = home.path().join("new.csv");
    std::fs::write(
        &data,
        "ref,prompt\na,what is code 3?\nb,\nc,what is code 9?\n",
    )
    .unwrap();
    let out_file = home.path().join("answers.tsv");
    let out = tunesmith(home.path())
        .args([
            "predict",
            "--json",
            "--run",
            &run,
            "--max-tokens",
            "6",
            "--data",
        ])
        .arg(&data)
        .arg("--out")
        .arg(&out_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["task"], "generate");
    assert_eq!(
        (s["rows"].as_u64(), s["empty"].as_u64()),
        (Some(3), Some(1)),
        "{s}"
    );
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b'\t')
        .from_path(&out_file)
        .unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        ["ref", "prompt", "prediction"],
        "no confidence for answers"
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(&rows[2][0], "c");
}
