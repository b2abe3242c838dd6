//! `tunesmith data inspect`, run as a user runs it: the JSON contract, exit codes 0 and 2 (never a
//! panic's 101), and the real SST-2 file when it is present.

use std::path::PathBuf;
use std::process::Command;

fn tunesmith() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tunesmith"))
}

fn data_file(name: &str) -> PathBuf {
    tunesmith_testkit::paths::repo_root()
        .join("crates/data/tests/files")
        .join(name)
}

fn inspect_json(file: &std::path::Path, extra: &[&str]) -> (i32, serde_json::Value, String) {
    let home = tempfile::tempdir().unwrap();
    let out = tunesmith()
        .args(["data", "inspect"])
        .arg(file)
        .args(extra)
        .args(["--json", "--home"])
        .arg(home.path())
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    let v = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (code, v, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn data_inspect_json_has_every_field_of_the_contract() {
    let (code, v, stderr) = inspect_json(&data_file("doctor.csv"), &[]);
    assert_eq!(code, 0, "{stderr}");
    for key in [
        "rows",
        "usable_rows",
        "columns",
        "label_counts",
        "duplicates",
        "near_duplicates",
        "conflicts",
        "empty",
        "pii",
        "length",
        "split",
        "warnings",
        "errors",
    ] {
        assert!(v.get(key).is_some(), "missing `{key}` in {v}");
    }
    assert_eq!(v["rows"], 12);
    assert_eq!(v["columns"][0]["role"], "text");
    assert_eq!(v["columns"][1]["role"], "label");
    for key in ["min", "median", "p95", "max", "truncated"] {
        assert!(v["length"].get(key).is_some(), "length.{key}");
    }
    for key in ["train", "validation", "test"] {
        assert!(v["split"][key].is_u64(), "split.{key}");
    }
    let w = &v["warnings"][0];
    assert!(w["code"].is_string() && w["message"].is_string() && w["rows"].is_array());
}

#[test]
fn unusable_data_exits_2_with_the_reason_on_stderr() {
    let (code, v, stderr) = inspect_json(&data_file("one_class.csv"), &[]);
    assert_eq!(code, 2);
    assert_eq!(v["errors"][0]["code"], "one_class");
    assert!(stderr.contains("only one class"), "{stderr}");
}

#[test]
fn an_unreadable_file_exits_2_not_101() {
    for (name, says) in [
        ("workbook.xlsx", "Excel workbook"),
        ("empty.csv", "is empty"),
        ("no-such-file.csv", "cannot read"),
    ] {
        let (code, _, stderr) = inspect_json(&data_file(name), &[]);
        assert_eq!(code, 2, "{name}: {stderr}");
        assert!(stderr.contains(says), "{name}: {stderr}");
    }
}

#[test]
fn fix_flags_and_role_flags_are_accepted() {
    let (code, v, stderr) = inspect_json(
        &data_file("ragged.csv"),
        &[
            "--skip-bad-rows",
            "--drop-duplicates",
            "--text-column",
            "text",
            "--max-len",
            "64",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(v["length"]["max_len"], 64);
    let (code, _, stderr) = inspect_json(&data_file("ragged.csv"), &[]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("line 3 has 3 fields, the header has 2"),
        "{stderr}"
    );
    assert!(stderr.contains("--skip-bad-rows"), "{stderr}");
}

#[test]
fn the_model_flag_counts_with_its_tokenizer() {
    let (code, v, stderr) = inspect_json(
        &data_file("doctor.csv"),
        &["--model", data_file("tiny-model").to_str().unwrap()],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(v["length"]["method"], "tokenizer");
    assert_eq!(v["length"]["max_len"], 6);
}

#[test]
fn readable_text_output_names_the_findings_and_their_fixes() {
    let out = tunesmith()
        .args(["data", "inspect"])
        .arg(data_file("doctor.csv"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("12 read, 11 usable"), "{text}");
    assert!(text.contains("fix: --drop-duplicates"), "{text}");
    assert!(text.contains("why: "), "{text}");
}

#[test]
fn sst2_reports_its_rows_label_balance_and_duplicates() {
    let Some(sst2) = tunesmith_testkit::paths::sst2() else {
        return;
    };
    let (code, v, stderr) = inspect_json(&sst2, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(v["rows"], 67_349);
    assert_eq!(v["usable_rows"], 67_349);
    assert_eq!(v["label_counts"]["0"], 29_780);
    assert_eq!(v["label_counts"]["1"], 37_569);
    assert_eq!(v["duplicates"], 366);
    assert!(v["near_duplicates"].as_u64().unwrap() > 0);
    assert!(v["conflicts"].as_u64().unwrap() > 0);
    let split = &v["split"];
    assert_eq!(
        split["train"].as_u64().unwrap()
            + split["validation"].as_u64().unwrap()
            + split["test"].as_u64().unwrap(),
        67_349
    );
}

/// Issue 18: with a GGUF model chosen, token counts use the GGUF's own tokenizer (the one training
/// and chat use), so they equal the counts of the same model's folder; a GGUF has no
/// `tokenizer.json`, and reading it as one reported the model as a broken data file.
#[test]
fn a_gguf_model_counts_tokens_with_its_own_tokenizer() {
    use tunesmith_engine::export::{write_gguf, DecoderWeights, GgufType};
    let dir = tempfile::tempdir().unwrap();
    let folder = tunesmith_testkit::paths::fixtures_dir().join("tiny-llama");
    let gguf = dir.path().join("tiny-llama.gguf");
    write_gguf(
        &gguf,
        &DecoderWeights::load_base(&folder).unwrap(),
        GgufType::F16,
        "tiny-llama",
    )
    .unwrap();
    let data = dir.path().join("faq.csv");
    let mut rows = String::from("prompt,response\n");
    for i in 0..12 {
        rows.push_str(&format!(
            "How do I book visit {i}?,Call the front desk{}\n",
            " soon".repeat(i)
        ));
    }
    std::fs::write(&data, rows).unwrap();

    let task = ["--task", "generate"];
    let (code, from_gguf, stderr) = inspect_json(
        &data,
        &[&task[..], &["--model", gguf.to_str().unwrap()]].concat(),
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(from_gguf["length"]["method"], "tokenizer", "{from_gguf}");
    let (code, from_folder, stderr) = inspect_json(
        &data,
        &[&task[..], &["--model", folder.to_str().unwrap()]].concat(),
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(from_gguf["length"], from_folder["length"]);
}

#[test]
fn a_model_that_cannot_be_read_is_reported_as_a_model_problem_not_a_data_one() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.gguf");
    std::fs::write(&broken, b"GGUF but not really").unwrap();
    let (code, _, stderr) = inspect_json(
        &data_file("doctor.csv"),
        &["--model", broken.to_str().unwrap()],
    );
    assert_eq!(code, 2, "{stderr}");
    let err: serde_json::Value = serde_json::from_str(&stderr).unwrap();
    assert_eq!(err["code"], "model", "{err}");
    assert!(
        err["message"].as_str().unwrap().contains("broken.gguf"),
        "{err}"
    );
}
