//! `tunesmith errors` (issue 16, item 2) on a run trained on the tiny BERT fixture: the wrong and
//! least-sure test rows with the doctor's conflict marks; a correction writes a corrected copy
//! beside the data and leaves the original byte-for-byte unchanged; `--retrain` trains a new run
//! on the copy, linked to the old one in the history.

use std::path::{Path, PathBuf};

use crate::common::{json_of, train_tiny_classifier, tunesmith};

/// 60 rows of three classes, then 20 texts written twice with two different labels.
fn data_with_conflicts(dir: &Path) -> PathBuf {
    let words = [
        ("good fine great", "pos"),
        ("bad awful poor", "neg"),
        ("table chair door", "neutral"),
    ];
    let mut s = String::from("sentence,label\n");
    for i in 0..60 {
        s.push_str(&format!(
            "{} number {i},{}\n",
            words[i % 3].0,
            words[i % 3].1
        ));
    }
    for i in 0..20 {
        s.push_str(&format!("mixed words {i},pos\nmixed words {i},neg\n"));
    }
    let p = dir.join("reviews.csv");
    std::fs::write(&p, s).unwrap();
    p
}

#[test]
fn errors_lists_the_wrong_rows_surest_first_then_the_least_sure_right_ones_with_conflicts_marked() {
    let home = tempfile::tempdir().unwrap();
    let data = data_with_conflicts(home.path());
    let run = train_tiny_classifier(home.path(), &data, 2, 0.25);
    let r = json_of(
        &tunesmith(home.path())
            .args(["errors", "--json", "--run", &run])
            .output()
            .unwrap(),
    );
    assert_eq!(r["label_column"], "label");
    let rows = r["rows"].as_array().unwrap();
    let wrong = r["wrong"].as_u64().unwrap() as usize;
    assert!(
        wrong > 0,
        "features on a tiny random model gets some wrong: {r}"
    );
    assert!(rows.len() <= r["test_rows"].as_u64().unwrap() as usize);
    let sure: Vec<f64> = rows
        .iter()
        .map(|x| x["confidence"].as_f64().unwrap())
        .collect();
    assert!(
        sure[..wrong].windows(2).all(|w| w[0] >= w[1]),
        "wrong rows surest first: {sure:?}"
    );
    assert!(
        sure[wrong..].windows(2).all(|w| w[0] <= w[1]),
        "right rows least sure first: {sure:?}"
    );
    for (i, x) in rows.iter().enumerate() {
        assert_eq!(x["correct"].as_bool().unwrap(), i >= wrong, "{x}");
        assert_eq!(
            x["correct"].as_bool().unwrap(),
            x["label"] == x["prediction"],
            "{x}"
        );
        assert!(x["line"].as_u64().unwrap() >= 2 && !x["text"].as_str().unwrap().is_empty());
    }
    // A conflicting pair sits in one split; in the test rows, its row says so and names its twin.
    let conflicts: Vec<&serde_json::Value> = rows
        .iter()
        .filter(|x| {
            x["flags"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f == "conflict")
        })
        .collect();
    assert!(
        !conflicts.is_empty(),
        "the seeded split holds conflicting pairs in the test rows"
    );
    for x in &conflicts {
        assert!(
            x["text"].as_str().unwrap().starts_with("mixed words"),
            "{x}"
        );
        assert_eq!(x["same_text_lines"].as_array().unwrap().len(), 1, "{x}");
    }
    let all_mixed = rows
        .iter()
        .filter(|x| x["text"].as_str().unwrap().starts_with("mixed words"))
        .count();
    assert_eq!(
        conflicts.len(),
        all_mixed,
        "every listed conflicting row is marked"
    );
}

#[test]
fn a_correction_writes_a_corrected_copy_and_leaves_the_original_byte_for_byte_unchanged() {
    let home = tempfile::tempdir().unwrap();
    let data = data_with_conflicts(home.path());
    let run = train_tiny_classifier(home.path(), &data, 2, 0.25);
    let before = std::fs::read(&data).unwrap();
    // Line 62 is "mixed words 0,pos", 63 its conflicting twin; line 2 the first row.
    let c = json_of(
        &tunesmith(home.path())
            .args([
                "errors",
                "--json",
                "--run",
                &run,
                "--relabel",
                "62=neg",
                "--leave-out",
                "2",
            ])
            .output()
            .unwrap(),
    );
    assert_eq!(
        std::fs::read(&data).unwrap(),
        before,
        "the user's file is never edited"
    );
    let copy = PathBuf::from(c["copy"].as_str().unwrap());
    assert_eq!(copy, home.path().join("reviews.corrected.csv"));
    assert_eq!(
        (c["relabelled"].as_u64(), c["left_out"].as_u64()),
        (Some(1), Some(1))
    );
    let text = std::fs::read_to_string(&copy).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        before
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .count()
            - 1
    );
    assert_eq!(lines[0], "sentence,label");
    assert!(
        !text.contains("good fine great number 0,"),
        "line 2 is left out"
    );
    assert_eq!(
        lines[60], "mixed words 0,neg",
        "line 62 now has the new label"
    );
    assert_eq!(lines[61], "mixed words 0,neg");

    // A line that is no row, and a relabel that is also left out, are refused; nothing is written.
    let bad = tunesmith(home.path())
        .args(["errors", "--run", &run, "--relabel", "9999=neg"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no row starting on line 9999"));
    assert!(!home.path().join("reviews.corrected-2.csv").exists());
    assert_eq!(std::fs::read(&data).unwrap(), before);

    let show = json_of(
        &tunesmith(home.path())
            .args(["runs", "show", &run, "--json"])
            .output()
            .unwrap(),
    );
    let outputs = show["outputs"].as_array().unwrap();
    assert_eq!(outputs.len(), 1);
    assert_eq!(outputs[0]["kind"], "corrected_data");
    assert_eq!(outputs[0]["source"], data.display().to_string());
    assert_eq!(outputs[0]["detail"]["leave_out"], serde_json::json!([2]));
}

#[test]
fn retrain_on_the_corrected_copy_makes_a_new_run_linked_to_the_old_one() {
    let home = tempfile::tempdir().unwrap();
    let data = data_with_conflicts(home.path());
    let run = train_tiny_classifier(home.path(), &data, 2, 0.25);
    let out = tunesmith(home.path())
        .args([
            "errors",
            "--json",
            "--run",
            &run,
            "--leave-out",
            "63",
            "--retrain",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    let new_run = last["retrained"]["run_id"].as_str().unwrap().to_string();
    assert_ne!(new_run, run);
    let show = json_of(
        &tunesmith(home.path())
            .args(["runs", "show", &new_run, "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(show["run"]["parent_run"], run.as_str());
    assert_eq!(
        show["run"]["dataset_ref"],
        home.path()
            .join("reviews.corrected.csv")
            .display()
            .to_string()
    );
    assert_eq!(show["run"]["status"], "finished");
}
