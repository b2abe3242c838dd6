//! The forgetting check (issue 16 item 1) through the CLI on the tiny Llama fixture: it runs after
//! a generation run's training (unless `--no-forgetting-check`), `eval --forgetting --json` adds
//! `"forgetting": {"kept", "total", "base_correct", "base_perplexity", "fine_tuned_perplexity",
//! "lost", "warning"}` with the base's answers cached from training, a user's probe file replaces
//! the built-in questions, and a bad probe file or a classification run is refused in plain words.

use std::path::{Path, PathBuf};

use crate::common::{assert_fails_with, succeed, tunesmith};

fn tiny(name: &str) -> PathBuf {
    tunesmith_testkit::paths::fixtures_dir().join(name)
}

/// A few prompt/response rows of made-up facts.
fn write_facts(dir: &Path) -> PathBuf {
    let mut s = String::from("prompt,response\n");
    for c in 0..6 {
        for (p, r) in [
            ("Code word for Alder?", "Bluebird"),
            ("Code word for Birch?", "Copperfox"),
        ] {
            s.push_str(&format!("\"{p} ({c})\",{r}\n"));
        }
    }
    let p = dir.join("facts.csv");
    std::fs::write(&p, s).unwrap();
    p
}

/// Trains a LoRA generation run on the tiny Llama with `extra` flags and returns its id.
fn train_generation(home: &Path, extra: &[&str]) -> String {
    let data = write_facts(home);
    let out = succeed(
        tunesmith(home)
            .args(["train", "--json", "--task", "generate", "--method", "lora"])
            .args(["--prompt-column", "prompt", "--response-column", "response"])
            .args(["--epochs", "1", "--batch", "4", "--test-fraction", "0.2"])
            .args(extra)
            .arg("--model")
            .arg(tiny("tiny-llama"))
            .arg("--data")
            .arg(&data),
    );
    let last: serde_json::Value = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .map(|l| serde_json::from_str(l).unwrap())
        .unwrap();
    assert_eq!(last["event"], "finished", "{last}");
    last["run_id"].as_str().unwrap().to_string()
}

fn number(v: &serde_json::Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("no number `{key}` in {v}"))
}

#[test]
fn a_generation_run_checks_what_it_forgot_after_training_and_on_demand_with_the_base_cached() {
    let home = tempfile::tempdir().unwrap();
    let run = train_generation(home.path(), &[]);

    // After training: kept in the run's folder and shown by its history page.
    assert!(home
        .path()
        .join("runs")
        .join(&run)
        .join("forgetting.json")
        .is_file());
    let out = succeed(tunesmith(home.path()).args(["runs", "show", "--json", &run]));
    let details: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let after_training = &details["forgetting"];
    assert_eq!(number(after_training, "total"), 100.0, "{after_training}");
    assert_eq!(
        after_training["base_cached"], false,
        "measured the first time"
    );

    // On demand: the evaluation with the check beside it; the base comes from the cache.
    let out =
        succeed(tunesmith(home.path()).args(["eval", "--json", "--forgetting", "--run", &run]));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["run_id"], run.as_str());
    assert!(
        report["fine_tuned"]["perplexity"].is_number(),
        "the evaluation is still there"
    );
    let f = &report["forgetting"];
    let (kept, total, base) = (
        number(f, "kept"),
        number(f, "total"),
        number(f, "base_correct"),
    );
    assert_eq!(total, 100.0, "{f}");
    assert!(kept <= base && base <= total, "{f}");
    let lost = f["lost"].as_array().unwrap();
    assert_eq!(lost.len() as f64, base - kept, "{f}");
    for key in ["base_perplexity", "fine_tuned_perplexity"] {
        let p = number(f, key);
        assert!(p.is_finite() && p >= 1.0, "{key}: {f}");
    }
    assert!(f.get("warning").is_some(), "{f}");
    assert_eq!(f["base_cached"], true, "{f}");
    // The same base and probes give the same base answers, cached or not.
    assert_eq!(f["base_correct"], after_training["base_correct"]);
    assert_eq!(f["base_perplexity"], after_training["base_perplexity"]);
    assert!(
        f["summary"]
            .as_str()
            .unwrap()
            .contains("general-text perplexity"),
        "{f}"
    );

    // A user's own questions replace the built-in ones (a new probe set: the base is measured).
    let mine = home.path().join("mine.csv");
    std::fs::write(
        &mine,
        "question,answer,match\nWhat is 2 + 2?,4|four,\nAnswer with one word: colour of grass?,green,exact\nCapital of Japan?,Tokyo,\n",
    )
    .unwrap();
    let out = succeed(
        tunesmith(home.path())
            .args(["eval", "--json", "--forgetting", "--run", &run, "--probes"])
            .arg(&mine),
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = &report["forgetting"];
    assert_eq!(number(f, "total"), 3.0, "{f}");
    assert_eq!(f["probes"], mine.display().to_string());
    assert_eq!(f["base_cached"], false, "{f}");
    assert_eq!(f["questions"][1]["accepted"][0], "green");

    // A bad probe file is refused before anything runs, naming the file and the line.
    let bad = home.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"question\": \"2+2?\", \"answers\": [\"4\"]}\n{\"question\": \"3+3?\"}\n",
    )
    .unwrap();
    let out = tunesmith(home.path())
        .args(["eval", "--json", "--forgetting", "--run", &run, "--probes"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_fails_with(&out, "bad.jsonl line 2");
}

#[test]
fn the_check_can_be_turned_off_for_training_and_a_classification_run_is_told_it_applies_to_generation(
) {
    let home = tempfile::tempdir().unwrap();
    let run = train_generation(home.path(), &["--no-forgetting-check"]);
    let dir = home.path().join("runs").join(&run);
    assert!(!dir.join("forgetting.json").exists());
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap();
    assert_eq!(
        record["request"]["forgetting_check"], false,
        "recorded with the run"
    );

    let data = home.path().join("labels.tsv");
    let mut s = String::from("sentence\tlabel\n");
    for i in 0..30 {
        s.push_str(&format!(
            "{} {i}\t{}\n",
            ["good fine", "bad awful"][i % 2],
            ["pos", "neg"][i % 2]
        ));
    }
    std::fs::write(&data, s).unwrap();
    let out = succeed(
        tunesmith(home.path())
            .args([
                "train", "--json", "--task", "classify", "--method", "features", "--epochs", "1",
            ])
            .args([
                "--text-column",
                "sentence",
                "--label-column",
                "label",
                "--model",
            ])
            .arg(tiny("tiny-bert"))
            .arg("--data")
            .arg(&data),
    );
    let last: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    let classify = last["run_id"].as_str().unwrap();
    assert!(!home
        .path()
        .join("runs")
        .join(classify)
        .join("forgetting.json")
        .exists());
    let out = tunesmith(home.path())
        .args(["eval", "--json", "--forgetting", "--run", classify])
        .output()
        .unwrap();
    assert_fails_with(&out, "applies to generation runs");
}
