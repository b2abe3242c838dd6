//! `tunesmith eval` and `tunesmith predict` on a run trained on the tiny BERT fixture: the JSON
//! contract of issue 3 (fine-tuned and base scores on the run's own test rows, recorded in the
//! history) and label probabilities for one text.

use crate::common::{three_class_rows, train_tiny_classifier, tunesmith};

#[test]
fn eval_json_scores_base_and_fine_tuned_on_the_runs_test_rows_and_records_them() {
    let home = tempfile::tempdir().unwrap();
    let data = three_class_rows(home.path(), "data.tsv");
    let run = train_tiny_classifier(home.path(), &data, 3, 0.2);
    let out = tunesmith(home.path())
        .args(["eval", "--json", "--run", &run])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["run_id"], run.as_str());
    let record: serde_json::Value = serde_json::from_slice(
        &std::fs::read(home.path().join("runs").join(&run).join("run.json")).unwrap(),
    )
    .unwrap();
    let rows = r["rows"].as_u64().unwrap();
    assert_eq!(rows, record["split_sizes"][2].as_u64().unwrap());
    assert!(rows > 0);
    for side in ["fine_tuned", "base"] {
        let m = &r[side];
        let acc = m["accuracy"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&acc), "{side}: {m}");
        assert!(m["macro_f1"].is_number());
        assert_eq!(m["per_class"].as_array().unwrap().len(), 3);
        let total: u64 = m["confusion"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|row| row.as_array().unwrap())
            .map(|c| c.as_u64().unwrap())
            .sum();
        assert_eq!(
            total, rows,
            "{side}'s confusion matrix does not cover the test rows"
        );
    }
    assert!(r["base"]["note"].as_str().unwrap().contains("head"));

    let show = tunesmith(home.path())
        .args(["runs", "show", &run, "--json"])
        .output()
        .unwrap();
    let d: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    let models: Vec<&str> = d["evaluations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["model"].as_str().unwrap())
        .collect();
    assert!(
        models.contains(&"fine_tuned") && models.contains(&"base"),
        "{models:?}"
    );
    // The base's record carries the simple baselines, as the report has them: the run page
    // compares a feature-extraction run (whose base is itself) with them.
    let base = d["evaluations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["model"] == "base")
        .unwrap();
    assert_eq!(base["metrics"]["baselines"], r["baselines"], "{base}");
    assert!(base["metrics"]["baselines"]["bag_of_words"]["accuracy"].is_number());
}

#[test]
fn eval_json_scores_the_honest_baselines_on_the_same_test_rows() {
    let home = tempfile::tempdir().unwrap();
    let data = three_class_rows(home.path(), "data.tsv");
    let run = train_tiny_classifier(home.path(), &data, 3, 0.2);
    let out = tunesmith(home.path())
        .args(["eval", "--json", "--run", &run])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = r["rows"].as_u64().unwrap();
    let b = &r["baselines"];
    for side in ["majority", "bag_of_words"] {
        assert_eq!(b[side]["rows"].as_u64(), Some(rows), "{side}: {b}");
    }
    // Each label has its own words: counting words separates them perfectly.
    assert_eq!(b["bag_of_words"]["accuracy"].as_f64(), Some(1.0), "{b}");
    // Always guessing one label scores exactly that label's share of the test rows.
    let labels: Vec<&str> = b["majority"]["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    let guessed = labels
        .iter()
        .position(|l| *l == b["majority_label"].as_str().unwrap())
        .unwrap();
    let share_row: u64 = b["majority"]["confusion"][guessed]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap())
        .sum();
    let acc = b["majority"]["accuracy"].as_f64().unwrap();
    assert!(
        (acc - share_row as f64 / rows as f64).abs() < 1e-12,
        "{acc} vs {share_row}/{rows}"
    );
}

#[test]
fn eval_refuses_a_data_file_changed_since_training() {
    let home = tempfile::tempdir().unwrap();
    let data = three_class_rows(home.path(), "data.tsv");
    let run = train_tiny_classifier(home.path(), &data, 3, 0.2);
    let mut text = std::fs::read_to_string(&data).unwrap();
    text.push_str("a brand new row\tpos\n");
    std::fs::write(&data, text).unwrap();
    let out = tunesmith(home.path())
        .args(["eval", "--json", "--run", &run])
        .output()
        .unwrap();
    crate::common::assert_fails_with(&out, "changed since run");
}

#[test]
fn predict_json_gives_every_label_a_probability_most_likely_first() {
    let home = tempfile::tempdir().unwrap();
    let data = three_class_rows(home.path(), "data.tsv");
    let run = train_tiny_classifier(home.path(), &data, 3, 0.2);
    let out = tunesmith(home.path())
        .args([
            "predict",
            "--json",
            "--run",
            &run,
            "--text",
            "bad awful poor number 3",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let p: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let probs = p["probabilities"].as_array().unwrap();
    assert_eq!(probs.len(), 3);
    let sum: f64 = probs
        .iter()
        .map(|l| l["probability"].as_f64().unwrap())
        .sum();
    assert!((sum - 1.0).abs() < 1e-4, "{sum}");
    assert_eq!(p["label"], probs[0]["label"]);
    let ps: Vec<f64> = probs
        .iter()
        .map(|l| l["probability"].as_f64().unwrap())
        .collect();
    assert!(ps.windows(2).all(|w| w[0] >= w[1]), "{ps:?}");
}

#[test]
fn issue_16_a_roberta_run_predicts_a_text_longer_than_its_positions_by_truncating_within_them() {
    // RoBERTa numbers positions from its padding index + 1: the tiny one's 34 position
    // embeddings hold 33 tokens. Asked for more, the run must stay within them, in training and
    // in prediction alike.
    let home = tempfile::tempdir().unwrap();
    let data = three_class_rows(home.path(), "data.tsv");
    // The fixture has no tokenizer of its own: tiny BERT's, as tests/reference does.
    let fixtures = tunesmith_testkit::paths::fixtures_dir();
    let model = home.path().join("tiny-roberta");
    std::fs::create_dir(&model).unwrap();
    for (from, file) in [
        ("tiny-roberta", "config.json"),
        ("tiny-roberta", "model.safetensors"),
        ("tiny-bert", "tokenizer.json"),
        ("tiny-bert", "tokenizer_config.json"),
    ] {
        std::fs::copy(fixtures.join(from).join(file), model.join(file)).unwrap();
    }
    let out = tunesmith(home.path())
        .args(["train", "--json", "--task", "classify", "--method", "features"])
        .args(["--epochs", "1", "--max-len", "512"])
        .args(["--text-column", "sentence", "--label-column", "label"])
        .arg("--model")
        .arg(&model)
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let last: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    let run = last["run_id"].as_str().unwrap();
    let long = "good fine great table chair door ".repeat(20);
    let out = tunesmith(home.path())
        .args(["predict", "--json", "--run", run, "--text", &long])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let p: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(p["probabilities"].as_array().unwrap().len(), 3, "{p}");
}
