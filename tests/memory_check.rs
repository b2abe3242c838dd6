//! Issue 18 item 2 / issue 19 section 2: a job that would not fit in the memory free now is refused
//! before it loads anything, with a typed error (`memory`) that says what to change, and leaves no
//! run behind. The free memory is set with `TUNESMITH_FREE_MEMORY` (bytes), as a small machine's
//! would be.

use std::path::Path;
use std::process::{Command, Output};

use crate::chat_cli::tiny_llama;

fn tunesmith_with_free(home: &Path, free: u64, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tunesmith"))
        .arg("--home")
        .arg(home)
        .env(tunesmith::memory_check::FREE_MEMORY_ENV, free.to_string())
        .args(args)
        .output()
        .unwrap()
}

fn memory_error(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err: serde_json::Value = serde_json::from_slice(&out.stderr)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(err["code"], "memory", "{err}");
    err["message"].as_str().unwrap().to_string()
}

fn data(dir: &Path) -> String {
    let mut s = String::from("prompt,response\n");
    for i in 0..20 {
        s.push_str(&format!("question {i},answer {i}\n"));
    }
    let p = dir.join("train.csv");
    std::fs::write(&p, s).unwrap();
    p.display().to_string()
}

#[test]
fn issue_18_training_that_would_not_fit_is_refused_with_what_to_change_and_no_run_is_left() {
    let home = tempfile::tempdir().unwrap();
    let data = data(home.path());
    let args = [
        "train",
        "--json",
        "--task",
        "generate",
        "--method",
        "lora",
        "--epochs",
        "1",
        "--model",
        &tiny_llama(),
        "--data",
        &data,
    ];
    let out = tunesmith_with_free(home.path(), 1 << 20, &args);
    let message = memory_error(&out);
    assert!(
        message.contains("needs about") && message.contains("0.0 GB of memory is free"),
        "{message}"
    );
    assert!(message.contains("batch"), "says what to change: {message}");
    let runs = tunesmith_with_free(home.path(), 1 << 40, &["runs", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&runs.stdout).unwrap();
    assert_eq!(list.as_array().map(Vec::len), Some(0), "{list}");

    // With the memory there, the same request trains.
    let out = tunesmith_with_free(home.path(), 1 << 40, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn issue_18_chat_and_compare_refuse_a_model_that_would_not_fit() {
    let home = tempfile::tempdir().unwrap();
    let out = tunesmith_with_free(
        home.path(),
        1 << 20,
        &[
            "chat",
            "--json",
            "--model",
            &tiny_llama(),
            "--prompt",
            "hello",
        ],
    );
    let message = memory_error(&out);
    assert!(
        message.contains("to chat") && message.contains("smaller model"),
        "{message}"
    );
    let q = home.path().join("q.csv");
    std::fs::write(&q, "question,answer\nWhy?,Because\n").unwrap();
    let out = tunesmith_with_free(
        home.path(),
        1 << 20,
        &[
            "compare",
            "--json",
            "--model",
            &tiny_llama(),
            "--questions",
            q.to_str().unwrap(),
        ],
    );
    assert!(memory_error(&out).contains("to compare"));
}
