//! `tunesmith rag index|query` as a user runs them, offline and without a model: a keyword-only
//! index over the committed sample documents, its JSON shapes, incremental re-indexing and errors.

use std::path::PathBuf;
use std::process::{Command, Output};

fn tunesmith(home: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tunesmith"))
        .arg("--home")
        .arg(home)
        .args(args)
        .output()
        .unwrap()
}

fn sample_documents() -> PathBuf {
    tunesmith_testkit::paths::repo_root().join("assets/rag-sample/documents")
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn rag_index_then_query_prints_passages_with_source_location_and_score_best_first() {
    let home = tempfile::tempdir().unwrap();
    let docs = sample_documents();
    let docs = docs.to_str().unwrap();
    let report = json(&tunesmith(
        home.path(),
        &[
            "rag",
            "index",
            "--name",
            "clinic",
            docs,
            "--embed-model",
            "none",
            "--json",
        ],
    ));
    assert_eq!(report["documents"], 13, "{report:#}");
    assert!(report["files"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["status"] == "added"));
    assert!(home.path().join("rag/clinic.sqlite3").is_file());

    let q = json(&tunesmith(
        home.path(),
        &[
            "rag",
            "query",
            "--name",
            "clinic",
            "Which doctor speaks Spanish?",
            "--top-k",
            "3",
            "--json",
        ],
    ));
    let passages = q["passages"].as_array().unwrap();
    assert_eq!(passages.len(), 3);
    let first = &passages[0];
    assert!(
        first["source"]
            .as_str()
            .unwrap()
            .ends_with("staff-directory.csv"),
        "{first:#}"
    );
    assert_eq!(first["location"], "row 3");
    assert!(first["text"].as_str().unwrap().contains("Elena Marquez"));
    let scores: Vec<f64> = passages
        .iter()
        .map(|p| p["score"].as_f64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");

    // Running it again reads nothing: every file is unchanged.
    let again = json(&tunesmith(
        home.path(),
        &[
            "rag",
            "index",
            "--name",
            "clinic",
            docs,
            "--embed-model",
            "none",
            "--json",
        ],
    ));
    assert!(
        again["files"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["status"] == "unchanged"),
        "{again:#}"
    );
}

#[test]
fn rag_index_reports_problem_files_in_words_and_keeps_the_rest() {
    let home = tempfile::tempdir().unwrap();
    let docs = tempfile::tempdir().unwrap();
    std::fs::write(docs.path().join("empty.txt"), "").unwrap();
    std::fs::write(
        docs.path().join("notes.md"),
        "The spare key is under the blue pot.",
    )
    .unwrap();
    let out = tunesmith(
        home.path(),
        &[
            "rag",
            "index",
            "--name",
            "n",
            docs.path().to_str().unwrap(),
            "--embed-model",
            "none",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("SKIPPED") && text.contains("empty.txt: empty"),
        "{text}"
    );
    assert!(text.contains("1 documents"), "{text}");
}

#[test]
fn rag_errors_name_the_problem_and_what_to_do() {
    let home = tempfile::tempdir().unwrap();
    let out = tunesmith(
        home.path(),
        &["rag", "query", "--name", "missing", "anything", "--json"],
    );
    assert_eq!(out.status.code(), Some(2));
    let err: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(err["code"], "rag");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("tunesmith rag index"),
        "{err}"
    );

    let out = tunesmith(
        home.path(),
        &[
            "rag",
            "index",
            "--name",
            "../evil",
            ".",
            "--embed-model",
            "none",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot name an index"));

    let out = tunesmith(
        home.path(),
        &[
            "rag",
            "index",
            "--name",
            "x",
            ".",
            "--embed-model",
            "none",
            "--chunk-tokens",
            "16",
            "--overlap",
            "16",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("overlap"));
}
