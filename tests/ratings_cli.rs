//! `tunesmith ratings blind|add|list|tally|export` (issue 16, item 4) on a comparison report saved
//! with a run: the blind order shows both orders over a question set and replays from its seed;
//! a rater who always prefers the fine-tuned answer, choosing in blind terms, is recorded as
//! preferring the fine-tuned column every time; the tally counts wins, ties and "both wrong" apart
//! with the Wilson interval; the export writes valid JSONL preference pairs (TRL's format) and the
//! corrected answers as a CSV the data reader takes back as prompt/response rows.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{json, Value};
use tunesmith_store::{NewRun, Store, DATABASE_FILE};

use crate::common::{assert_fails_with, succeed, tunesmith};

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap()
}

const QUESTIONS: usize = 16;

/// A generation run in the history and a comparison report of it, as `compare --run` saves it:
/// question i's base answer is `base i`, the fine-tuned one `tuned i`.
fn history_with_report(home: &Path) -> (String, PathBuf) {
    let store = Store::open(&home.join(DATABASE_FILE), &home.join("runs")).unwrap();
    let run = store
        .create_run(&NewRun {
            name: Some("clinic lora".into()),
            task: "generate".into(),
            method: "lora".into(),
            model_id: None,
            model_ref: "/models/tiny-llama".into(),
            dataset_id: None,
            dataset_ref: "/data/clinic.csv".into(),
            data_fingerprint: None,
            config: json!({}),
            device: "cpu".into(),
            hardware: json!({}),
            versions: json!({}),
            seed: 1,
            split: json!({}),
            primary_metric: None,
            parent_run: None,
        })
        .unwrap();
    let questions: Vec<Value> = (0..QUESTIONS)
        .map(|i| {
            json!({
                "line": i + 2,
                "question": format!("question {i}?"),
                "reference": format!("reference {i}"),
                "facts": [],
                "answers": [
                    {"configuration": "base", "text": format!("base {i}"), "tokens": 2},
                    {"configuration": "fine_tuned", "text": format!("tuned {i}"), "tokens": 2},
                ],
            })
        })
        .collect();
    let dir = store.run_dir(&run.id).join("compare");
    std::fs::create_dir_all(&dir).unwrap();
    let report = dir.join("compare-1764000000000.json");
    let body = json!({"run": run.id, "model": "/models/tiny-llama", "questions": questions});
    std::fs::write(&report, serde_json::to_vec_pretty(&body).unwrap()).unwrap();
    (run.id, report)
}

fn add(
    home: &Path,
    report: &Path,
    question: usize,
    seed: u32,
    choice: &str,
    corrected: Option<&str>,
) -> Value {
    let mut cmd = tunesmith(home);
    cmd.args([
        "ratings",
        "add",
        "--json",
        "--a",
        "base",
        "--b",
        "fine-tuned",
    ])
    .arg("--report")
    .arg(report)
    .args([
        "--question",
        &question.to_string(),
        "--seed",
        &seed.to_string(),
    ])
    .args(["--choice", choice]);
    if let Some(c) = corrected {
        cmd.args(["--corrected", c]);
    }
    json_of(&succeed(&mut cmd))
}

#[test]
fn blind_ratings_un_blind_to_the_right_column_and_tally_and_export_as_preference_pairs() {
    let home = tempfile::tempdir().unwrap();
    let (run, report) = history_with_report(home.path());
    let blind = json_of(&succeed(
        tunesmith(home.path())
            .args([
                "ratings",
                "blind",
                "--json",
                "--a",
                "base",
                "--b",
                "fine_tuned",
            ])
            .arg("--report")
            .arg(&report),
    ));
    let seed = blind["seed"].as_u64().unwrap() as u32;
    let shown = blind["questions"].as_array().unwrap();
    assert_eq!(shown.len(), QUESTIONS);
    // Over the set, the fine-tuned answer is shown first for some questions and second for others.
    let tuned_first: Vec<bool> = shown
        .iter()
        .map(|q| q["answer_1"].as_str().unwrap().starts_with("tuned"))
        .collect();
    assert!(
        tuned_first.contains(&true) && tuned_first.contains(&false),
        "{tuned_first:?}"
    );
    // The same seed replays the same order.
    let again = json_of(&succeed(
        tunesmith(home.path())
            .args([
                "ratings",
                "blind",
                "--json",
                "--a",
                "base",
                "--b",
                "fine_tuned",
            ])
            .args(["--seed", &seed.to_string()])
            .arg("--report")
            .arg(&report),
    ));
    assert_eq!(again["questions"], blind["questions"]);

    // The rater prefers the fine-tuned answer on questions 1-10, wherever it was shown; 11-12 are
    // ties, 13 is both wrong with a correction, 14 both wrong without; 15-16 prefer the base.
    for (i, q) in shown.iter().enumerate() {
        let n = i + 1;
        let tuned_is_1 = q["answer_1"].as_str().unwrap().starts_with("tuned");
        let (choice, corrected) = match n {
            1..=10 => (if tuned_is_1 { "1" } else { "2" }, None),
            11 | 12 => ("tie", None),
            13 => ("both-wrong", Some("the right answer to 12")),
            14 => ("both-wrong", None),
            _ => (if tuned_is_1 { "2" } else { "1" }, None),
        };
        let rating = add(home.path(), &report, n, seed, choice, corrected);
        assert_eq!(rating["blind"], true);
        assert_eq!(rating["run_id"], run.as_str());
        let expected = match n {
            1..=10 => json!("fine_tuned"),
            11..=14 => Value::Null,
            _ => json!("base"),
        };
        assert_eq!(rating["preferred"], expected, "question {n}: {rating}");
    }
    // Rating question 1 again replaces it (still the fine-tuned one).
    let tuned_is_1 = shown[0]["answer_1"].as_str().unwrap().starts_with("tuned");
    add(
        home.path(),
        &report,
        1,
        seed,
        if tuned_is_1 { "answer_1" } else { "answer_2" },
        None,
    );
    let list = json_of(&succeed(tunesmith(home.path()).args([
        "ratings",
        "list",
        "--json",
        "--run",
        "clinic lora",
    ])));
    assert_eq!(list.as_array().unwrap().len(), QUESTIONS);

    let tally = json_of(&succeed(
        tunesmith(home.path()).args(["ratings", "tally", "--json"]),
    ));
    let pair = &tally["pairs"][0];
    assert_eq!(pair["challenger"], "fine_tuned");
    assert_eq!(pair["baseline"], "base");
    assert_eq!(pair["challenger_preferred"], 10);
    assert_eq!(pair["baseline_preferred"], 2);
    assert_eq!(pair["ties"], 2);
    assert_eq!(pair["both_wrong"], 2);
    // Wilson 95 % for 10 of 12: 55.2 % to 95.3 %.
    assert!(
        (pair["low"].as_f64().unwrap() - 0.5520).abs() < 1e-3,
        "{pair}"
    );
    assert!(
        (pair["high"].as_f64().unwrap() - 0.9530).abs() < 1e-3,
        "{pair}"
    );
    assert_eq!(
        pair["text"],
        "The fine-tuned model was preferred to the base model in 10 of 12 (95 % interval 55-95 %); 2 ties and 2 both wrong not counted."
    );
    let text = succeed(tunesmith(home.path()).args(["ratings", "tally"]));
    assert!(String::from_utf8_lossy(&text.stdout).contains("not counted as half a win"));

    let out = home.path().join("exports").join("pairs.jsonl");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let rows = home.path().join("exports").join("corrected.csv");
    let summary = json_of(&succeed(
        tunesmith(home.path())
            .args(["ratings", "export", "--json", "--out"])
            .arg(&out)
            .arg("--rows")
            .arg(&rows),
    ));
    // 12 preferred + the correction over both answers; ties and plain both-wrong make none.
    assert_eq!(summary["pairs"], 14, "{summary}");
    assert_eq!(summary["rows"], 1);
    assert_eq!(
        (summary["ties"].as_u64(), summary["both_wrong"].as_u64()),
        (Some(2), Some(1))
    );
    let jsonl = std::fs::read_to_string(&out).unwrap();
    let pairs: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(pairs.len(), 14);
    for p in &pairs {
        let o = p.as_object().unwrap();
        assert_eq!(o.len(), 3, "{p}");
        assert!(o.values().all(Value::is_string), "{p}");
    }
    assert_eq!(
        pairs
            .iter()
            .filter(|p| p["chosen"].as_str().unwrap().starts_with("tuned"))
            .count(),
        10
    );
    assert!(pairs.contains(&json!({"prompt": "question 12?", "chosen": "the right answer to 12", "rejected": "base 12"})));
    assert!(pairs.contains(&json!({"prompt": "question 12?", "chosen": "the right answer to 12", "rejected": "tuned 12"})));
    // No temporary file is left beside the exports.
    let names: Vec<String> = std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");

    // The corrected rows read back as a generation dataset with prompt and response columns.
    let inspect = json_of(&succeed(
        tunesmith(home.path())
            .args(["data", "inspect", "--json"])
            .arg(&rows),
    ));
    assert_eq!(inspect["task"], "generate", "{inspect}");
    assert_eq!(inspect["usable_rows"], 1, "{inspect}");
    let roles: Vec<(&str, &str)> = inspect["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["role"].as_str().unwrap()))
        .collect();
    assert_eq!(roles, [("prompt", "prompt"), ("response", "response")]);
    assert_eq!(
        std::fs::read_to_string(&rows).unwrap(),
        "prompt,response\nquestion 12?,the right answer to 12\n"
    );
}

#[test]
fn ratings_refuse_unknown_columns_missing_questions_and_an_export_with_nothing_to_export() {
    let home = tempfile::tempdir().unwrap();
    let (_run, report) = history_with_report(home.path());
    let out = home.path().join("pairs.jsonl");
    let nothing = tunesmith(home.path())
        .args(["ratings", "export", "--json", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_fails_with(&nothing, "no ratings to export yet");
    assert!(!out.exists());

    let missing = tunesmith(home.path())
        .args([
            "ratings",
            "add",
            "--json",
            "--a",
            "base",
            "--b",
            "base_rag",
            "--question",
            "1",
            "--choice",
            "1",
        ])
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    assert_fails_with(&missing, "there is no base_rag answer to rate");
    let beyond = tunesmith(home.path())
        .args([
            "ratings",
            "add",
            "--json",
            "--a",
            "base",
            "--b",
            "fine_tuned",
            "--question",
            "99",
            "--choice",
            "tie",
        ])
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    assert_fails_with(&beyond, "question 99 is not one of them");
    let same = tunesmith(home.path())
        .args([
            "ratings",
            "add",
            "--json",
            "--a",
            "base",
            "--b",
            "base",
            "--question",
            "1",
            "--choice",
            "tie",
        ])
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    assert_fails_with(&same, "two different columns");
    let bad_column = tunesmith(home.path())
        .args(["ratings", "blind", "--a", "base", "--b", "gpt"])
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    assert!(!bad_column.status.success());
    assert!(String::from_utf8_lossy(&bad_column.stderr).contains("is not a column"));

    // Only ties: nothing to learn from, so nothing is written.
    add(home.path(), &report, 1, 3, "tie", None);
    let ties = tunesmith(home.path())
        .args(["ratings", "export", "--json", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_fails_with(&ties, "make no preference pair");
    assert!(!out.exists());
}
