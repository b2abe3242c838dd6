//! `tunesmith explain` (issue 16, item 3) on a classifier trained on the tiny BERT fixture: a text
//! that is a training row verbatim comes back first with similarity 1 and its label; only training
//! rows are ever listed (no test row); without the default embedding model offline, keyword
//! similarity is used and said; a generation run lists prompts with their answers; a bad run id or a
//! named embedding model that is not there is a clear usage error.

use std::path::PathBuf;

use crate::common::{json_of, three_class_rows, train_tiny_classifier, tunesmith};

fn tiny_bert() -> PathBuf {
    tunesmith_testkit::paths::fixtures_dir().join("tiny-bert")
}

#[test]
fn explain_finds_a_verbatim_training_row_first_lists_only_training_rows_and_falls_back_to_keywords_offline(
) {
    let home = tempfile::tempdir().unwrap();
    let data = three_class_rows(home.path(), "reviews.csv");
    let run = train_tiny_classifier(home.path(), &data, 1, 0.25);

    // Every training row, by keywords: the split's training rows only.
    let all = json_of(
        &tunesmith(home.path())
            .args([
                "explain",
                "--json",
                "--run",
                &run,
                "--text",
                "good number 1",
            ])
            .args(["--top-k", "1000", "--embed-model", "none"])
            .output()
            .unwrap(),
    );
    assert_eq!(all["embed_model"], "keywords");
    let listed = all["examples"].as_array().unwrap();
    assert_eq!(
        listed.len(),
        all["searched_rows"].as_u64().unwrap() as usize
    );
    assert!(
        listed.len() >= 30 && listed.len() < 60,
        "the training split of 60 rows with a quarter held out for test: {}",
        listed.len()
    );
    let sims: Vec<f64> = listed
        .iter()
        .map(|x| x["similarity"].as_f64().unwrap())
        .collect();
    assert!(
        sims.windows(2).all(|w| w[0] >= w[1]),
        "best first: {sims:?}"
    );
    let train_lines: Vec<u64> = listed.iter().map(|x| x["line"].as_u64().unwrap()).collect();
    // The test rows `errors` scores (its wrong and least-sure rows) are never among them.
    let errors = json_of(
        &tunesmith(home.path())
            .args(["errors", "--json", "--run", &run])
            .output()
            .unwrap(),
    );
    let test_lines: Vec<u64> = errors["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["line"].as_u64().unwrap())
        .collect();
    assert!(!test_lines.is_empty());
    for l in &test_lines {
        assert!(
            !train_lines.contains(l),
            "test row on line {l} listed as a training example"
        );
    }

    // A training row asked verbatim, with a real sentence encoder (the tiny BERT folder): first,
    // similarity 1, its own label.
    // (Not the first such row in the file: a tiny random encoder scores many rows alike, and the
    // verbatim one must still come first.)
    let row = listed
        .iter()
        .filter(|x| x["label"] == "neg")
        .max_by_key(|x| x["line"].as_u64())
        .unwrap();
    let text = row["text"].as_str().unwrap();
    let e = json_of(
        &tunesmith(home.path())
            .args(["explain", "--json", "--run", &run, "--text", text])
            .arg("--embed-model")
            .arg(tiny_bert())
            .output()
            .unwrap(),
    );
    let ex = e["examples"].as_array().unwrap();
    assert_eq!(ex.len(), 3, "top 3 by default: {e}");
    assert!(
        e["embed_model"].as_str().unwrap().ends_with("tiny-bert"),
        "{e}"
    );
    assert_eq!(ex[0]["text"], text, "{e}");
    assert_eq!(ex[0]["line"], row["line"]);
    assert_eq!(ex[0]["label"], "neg");
    assert!(
        (ex[0]["similarity"].as_f64().unwrap() - 1.0).abs() < 1e-3,
        "{e}"
    );
    for x in ex {
        assert!(train_lines.contains(&x["line"].as_u64().unwrap()), "{x}");
        assert!(
            x.get("response").is_none(),
            "a classifier's examples carry labels: {x}"
        );
    }

    // The default encoder missing from an empty model cache: keywords, and the answer says why.
    let empty_cache = tempfile::tempdir().unwrap();
    let k = json_of(
        &tunesmith(home.path())
            .env("HF_HUB_CACHE", empty_cache.path())
            .args(["explain", "--json", "--run", &run, "--text", text])
            .output()
            .unwrap(),
    );
    assert_eq!(k["embed_model"], "keywords", "{k}");
    assert!(
        k["fallback_reason"]
            .as_str()
            .unwrap()
            .contains("all-MiniLM-L6-v2"),
        "{k}"
    );
    assert_eq!(k["examples"][0]["line"], row["line"], "{k}");
    assert!((k["examples"][0]["similarity"].as_f64().unwrap() - 1.0).abs() < 1e-6);
}

#[test]
fn explain_refuses_an_unknown_run_with_a_usage_error_naming_it() {
    let home = tempfile::tempdir().unwrap();
    let out = tunesmith(home.path())
        .args(["explain", "--run", "no-such-run", "--text", "hello"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no-such-run"), "{err}");
}

#[test]
fn explain_of_a_generation_run_lists_prompts_with_their_answers_and_refuses_a_missing_named_model()
{
    let home = tempfile::tempdir().unwrap();
    let facts = [
        ("What is the code word for project Alder?", "Bluebird"),
        ("What is the code word for project Birch?", "Copperfox"),
        ("Which colour is the Cedar door?", "Green"),
        ("How many windows has the Elm house?", "Seven"),
    ];
    let mut s = String::from("prompt,response\n");
    for c in 0..5 {
        for (p, r) in facts {
            s.push_str(&format!("\"{p} (ask {c})\",{r}\n"));
        }
    }
    let data = home.path().join("facts.csv");
    std::fs::write(&data, s).unwrap();
    let out = tunesmith(home.path())
        .args(["train", "--json", "--task", "generate", "--method", "lora"])
        .args(["--prompt-column", "prompt", "--response-column", "response"])
        .args(["--epochs", "1", "--batch", "4"])
        .arg("--model")
        .arg(tunesmith_testkit::paths::fixtures_dir().join("tiny-llama"))
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    let run = last["run_id"].as_str().unwrap().to_string();

    let e = json_of(
        &tunesmith(home.path())
            .args(["explain", "--json", "--run", &run, "--embed-model", "none"])
            .args(["--text", "which colour is the cedar door", "--top-k", "2"])
            .output()
            .unwrap(),
    );
    let ex = e["examples"].as_array().unwrap();
    assert_eq!(ex.len(), 2, "{e}");
    for x in ex {
        assert!(
            x["text"]
                .as_str()
                .unwrap()
                .starts_with("Which colour is the Cedar door?"),
            "{x}"
        );
        assert_eq!(x["response"], "Green", "{x}");
        assert!(x.get("label").is_none(), "{x}");
    }

    // A model the user names must be there: an error naming it, not a silent keyword fallback.
    let out = tunesmith(home.path())
        .args(["explain", "--run", &run, "--text", "x", "--embed-model"])
        .arg(home.path().join("no-such-encoder"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no-such-encoder"), "{err}");
}
