//! `tunesmith chat` as a user runs it: over the tiny Llama fixture (offline, fast: greedy, the JSON
//! event stream, stopping at max tokens and at the end-of-turn token), and in the real tier over
//! SmolLM2-135M-Instruct (skips when absent): a coherent streamed answer, and `--rag` citing the
//! sample documents.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub(crate) fn tunesmith(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tunesmith"))
        .arg("--home")
        .arg(home)
        .args(args)
        .output()
        .unwrap()
}

pub(crate) fn tiny_llama() -> String {
    tunesmith_testkit::paths::fixtures_dir()
        .join("tiny-llama")
        .display()
        .to_string()
}

/// SmolLM2-135M-Instruct's folder (holding its .gguf), or `None` after saying why the test skips.
pub(crate) fn smollm2() -> Option<PathBuf> {
    tunesmith_testkit::paths::real_model("SmolLM2-135M-Instruct")
}

/// The JSON events printed one per line.
fn events(out: &Output) -> Vec<Value> {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Checks the stream's shape: deltas, then one `done` whose text is the deltas joined; returns it.
fn done(events: &[Value]) -> &Value {
    let (last, deltas) = events.split_last().expect("at least the done event");
    assert_eq!(last["event"], "done", "{last:#}");
    assert!(
        deltas
            .iter()
            .all(|d| d["event"] == "delta" && d["text"].is_string()),
        "{deltas:?}"
    );
    let joined: String = deltas.iter().map(|d| d["text"].as_str().unwrap()).collect();
    assert_eq!(last["text"].as_str().unwrap(), joined);
    last
}

#[test]
fn chat_json_streams_deltas_and_ends_with_the_whole_answer_and_its_token_count() {
    let home = tempfile::tempdir().unwrap();
    let args = [
        "chat",
        "--model",
        &tiny_llama(),
        "--prompt",
        "Hello there",
        "--max-tokens",
        "8",
        "--json",
    ];
    let first = events(&tunesmith(home.path(), &args));
    let d = done(&first);
    assert_eq!(d["tokens"], 8, "{d:#}");
    assert_eq!(d["stop"]["reason"], "max_tokens");
    assert!(d["tokens_per_s"].as_f64().unwrap() > 0.0);
    assert_eq!(d["passages"], serde_json::json!([]));
    let again = events(&tunesmith(home.path(), &args));
    assert_eq!(
        done(&again)["text"],
        d["text"],
        "greedy answers are the same every time"
    );
}

#[test]
fn chat_stops_at_the_end_of_turn_token_and_leaves_it_out_of_the_answer() {
    // With this fixture, transformers' greedy generate answers "fkq" with 9 tokens and then
    // `<|endoftext|>` (id 0), one of the template's end tokens.
    let home = tempfile::tempdir().unwrap();
    let out = tunesmith(
        home.path(),
        &[
            "chat",
            "--model",
            &tiny_llama(),
            "--prompt",
            "fkq",
            "--json",
        ],
    );
    let evs = events(&out);
    let d = done(&evs);
    assert_eq!(d["tokens"], 9, "{d:#}");
    assert_eq!(
        d["stop"],
        serde_json::json!({"reason": "stop_token", "token": 0})
    );
    assert!(!d["text"].as_str().unwrap().contains("<|endoftext|>"));
}

#[test]
fn chat_without_json_streams_text_then_a_footer_with_tokens_per_second() {
    let home = tempfile::tempdir().unwrap();
    let out = tunesmith(
        home.path(),
        &["chat", "--model", &tiny_llama(), "--prompt", "fkq"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("-- 9 tokens in"), "{text}");
    assert!(text.contains("tokens/s"), "{text}");
}

#[test]
fn chat_with_an_index_that_does_not_exist_fails_with_a_message_naming_it() {
    let home = tempfile::tempdir().unwrap();
    let out = tunesmith(
        home.path(),
        &[
            "chat",
            "--model",
            &tiny_llama(),
            "--rag",
            "nowhere",
            "--prompt",
            "hi",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nowhere"), "{err}");
}

#[test]
fn chat_with_a_run_that_does_not_exist_is_a_clear_error_not_a_panic() {
    let home = tempfile::tempdir().unwrap();
    let out = tunesmith(
        home.path(),
        &[
            "chat",
            "--model",
            &tiny_llama(),
            "--run",
            "no-such-run",
            "--prompt",
            "hi",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert!(
        err["message"].as_str().unwrap().contains("no-such-run"),
        "{err:#}"
    );
}

#[test]
fn smollm2_answers_the_capital_of_france_with_paris_streamed_in_several_pieces() {
    let Some(model) = smollm2() else { return };
    let home = tempfile::tempdir().unwrap();
    let out = tunesmith(
        home.path(),
        &[
            "chat",
            "--model",
            model.to_str().unwrap(),
            "--prompt",
            "What is the capital of France?",
            "--max-tokens",
            "40",
            "--json",
        ],
    );
    let evs = events(&out);
    let d = done(&evs);
    assert!(evs.len() > 2, "more than one delta: {evs:?}");
    assert!(d["text"].as_str().unwrap().contains("Paris"), "{d:#}");
    assert_eq!(d["stop"]["reason"], "stop_token", "{d:#}");
    eprintln!(
        "SmolLM2 via tunesmith chat: {:.1} tokens/s",
        d["tokens_per_s"].as_f64().unwrap()
    );
}

#[test]
fn chat_rag_shows_the_model_the_passage_that_holds_the_answer_first_and_cites_it() {
    let Some(model) = smollm2() else { return };
    let home = tempfile::tempdir().unwrap();
    let docs = tunesmith_testkit::paths::repo_root().join("assets/rag-sample/documents");
    let index = tunesmith(
        home.path(),
        &[
            "rag",
            "index",
            "--name",
            "clinic",
            docs.to_str().unwrap(),
            "--embed-model",
            "none",
            "--json",
        ],
    );
    assert!(
        index.status.success(),
        "{}",
        String::from_utf8_lossy(&index.stderr)
    );
    let out = tunesmith(
        home.path(),
        &[
            "chat",
            "--model",
            model.to_str().unwrap(),
            "--rag",
            "clinic",
            "--top-k",
            "2",
            "--prompt",
            "Which doctor speaks Spanish?",
            "--max-tokens",
            "24",
            "--json",
        ],
    );
    let evs = events(&out);
    let d = done(&evs);
    let passages = d["passages"].as_array().unwrap();
    assert_eq!(passages.len(), 2, "{d:#}");
    assert_eq!(passages[0]["number"], 1);
    assert!(
        passages[0]["citation"]
            .as_str()
            .unwrap()
            .starts_with("[1] source: staff-directory.csv"),
        "{d:#}"
    );
    assert!(passages[0]["text"]
        .as_str()
        .unwrap()
        .contains("Elena Marquez"));
    assert!(d["text"].as_str().unwrap().contains("Marquez"), "{d:#}");
}
