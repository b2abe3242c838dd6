//! `tunesmith job export` on fixed runs of the tiny fixtures: the folder holds the very split a
//! local `train` makes (same rows, fingerprint and split fingerprint), in the trainer's format;
//! its config matches the committed expectation setting for setting; the README lists every train
//! setting with how the trainer receives it; and the run waits, queued, in the history.
//!
//! The expectations live in `tests/fixtures/job/expected/`. After a deliberate change to the
//! mapping, rewrite them with `TUNESMITH_BLESS=1` and review the diff.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::{assert_fails_with, succeed};

fn tunesmith() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tunesmith"))
}

pub fn fixture(path: &str) -> PathBuf {
    tunesmith_testkit::paths::fixtures_dir().join(path)
}

/// The fixed generation run: tiny Llama, LoRA, the code-word facts.
pub const GENERATE: &[&str] = &[
    "--task", "generate", "--method", "lora", "--prompt-column", "prompt", "--response-column",
    "response", "--epochs", "2", "--batch", "4", "--lr", "0.01", "--max-len", "64",
    "--lora-rank", "4", "--lora-alpha", "8", "--seed", "7",
];

/// The fixed classification run: tiny BERT, LoRA, three classes.
pub const CLASSIFY: &[&str] = &[
    "--task", "classify", "--method", "lora", "--text-column", "sentence", "--label-column",
    "label", "--epochs", "2", "--batch", "4", "--lr", "0.01", "--max-len", "32",
    "--lora-rank", "4", "--lora-alpha", "8", "--seed", "7",
];

/// The fixed run for `task` with its model and data.
pub fn fixed_run(task: &str) -> (PathBuf, PathBuf, &'static [&'static str]) {
    match task {
        "generate" => (fixture("tiny-llama"), fixture("job/facts.csv"), GENERATE),
        _ => (fixture("tiny-bert"), fixture("job/sentiment.tsv"), CLASSIFY),
    }
}

/// Exports the fixed `task` run for `trainer` into `out`; returns the `--json` summary.
pub fn export(home: &Path, out: &Path, task: &str, trainer: &str) -> Value {
    let (model, data, opts) = fixed_run(task);
    let o = succeed(
        tunesmith()
            .args(["job", "export", "--json", "--trainer", trainer])
            .args(opts)
            .arg("--model")
            .arg(model)
            .arg("--data")
            .arg(data)
            .arg("--out")
            .arg(out)
            .arg("--home")
            .arg(home),
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

/// `actual` equals the committed `tests/fixtures/job/expected/<name>` (rewritten with
/// `TUNESMITH_BLESS=1`).
fn matches_expectation(actual: &str, name: &str) {
    let path = fixture("job/expected").join(name);
    if std::env::var_os("TUNESMITH_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; write it with TUNESMITH_BLESS=1", path.display()));
    assert_eq!(
        actual,
        expected,
        "{} differs from the job written now: a setting's mapping changed; if on purpose, rewrite it with TUNESMITH_BLESS=1 and review the diff",
        path.display()
    );
}

fn json_file(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn a_generation_job_for_trl_holds_the_local_split_and_the_committed_settings() {
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("job");
    let s = export(home.path(), &out, "generate", "trl");
    let run_id = s["run_id"].as_str().unwrap();

    matches_expectation(
        &std::fs::read_to_string(out.join("train_config.json")).unwrap(),
        "trl-generate-lora.json",
    );
    // The rows: conversations in the messages format, the split's sizes.
    let train = std::fs::read_to_string(out.join("data/train.jsonl")).unwrap();
    let rows: Vec<Value> = train.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len() as u64, s["train_rows"].as_u64().unwrap());
    for r in &rows {
        let m = r["messages"].as_array().unwrap();
        assert_eq!((m[0]["role"].as_str(), m[1]["role"].as_str()), (Some("user"), Some("assistant")), "{r}");
    }
    let val = std::fs::read_to_string(out.join("data/validation.jsonl")).unwrap();
    assert_eq!(val.lines().count() as u64, s["validation_rows"].as_u64().unwrap());

    // The same split and data a local run of the same options records.
    let job = json_file(&out.join("job.json"));
    assert_eq!(job["run_id"], run_id);
    let (model, data, opts) = fixed_run("generate");
    let local_home = tempfile::tempdir().unwrap();
    let o = succeed(
        tunesmith()
            .args(["train", "--json"])
            .args(opts)
            .arg("--model")
            .arg(&model)
            .arg("--data")
            .arg(&data)
            .arg("--home")
            .arg(local_home.path()),
    );
    let last: Value = serde_json::from_str(String::from_utf8_lossy(&o.stdout).lines().last().unwrap()).unwrap();
    let local = json_file(&local_home.path().join("runs").join(last["run_id"].as_str().unwrap()).join("run.json"));
    assert_eq!(job["data_fingerprint"], local["fingerprint"]);
    assert_eq!(job["split"]["fingerprint"], local["split_fingerprint"]);
    assert_eq!(job["split"]["sizes"], local["split_sizes"]);
    assert_eq!(job["split"]["seed"], local["split_seed"]);

    // The base travels with the job, hashed; the scripts, launchers and README are there.
    assert_eq!(job["base"]["reference"], "base-model");
    let weights = job["base"]["files"].as_array().unwrap().iter().find(|f| f["name"] == "model.safetensors").unwrap();
    assert!(weights["sha256"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(
        std::fs::read(out.join("base-model/model.safetensors")).unwrap(),
        std::fs::read(model.join("model.safetensors")).unwrap()
    );
    assert!(std::fs::read_to_string(out.join("train.py")).unwrap().contains("SFTTrainer"));
    for f in ["single_gpu.yaml", "multi_gpu.yaml", "multi_node_fsdp.yaml", "deepspeed_zero3.yaml", "ds_zero3.json"] {
        assert!(out.join("accelerate").join(f).is_file(), "{f}");
    }
    assert!(std::fs::read_to_string(out.join("slurm.sbatch")).unwrap().contains(run_id));
    let readme = std::fs::read_to_string(out.join("README.md")).unwrap();
    for needle in ["accelerate launch --config_file accelerate/multi_gpu.yaml", "torchrun --nnodes", "sbatch slurm.sbatch", "tunesmith job import", run_id] {
        assert!(readme.contains(needle), "the README lacks `{needle}`");
    }
    // A placeholder is `{{name}}`; the chat template's own `{{ ... }}` in the settings table is not one.
    let left: Vec<&str> = readme
        .split("{{")
        .skip(1)
        .filter_map(|rest| rest.split_once("}}").map(|(name, _)| name))
        .filter(|name| !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        .collect();
    assert!(left.is_empty(), "placeholders left in the README: {left:?}");

    // The run waits in the history, queued, under the id the job names.
    let o = succeed(tunesmith().args(["runs", "show", run_id, "--json", "--home"]).arg(home.path()));
    let shown: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(shown["run"]["status"], "queued", "{shown}");
}

#[test]
fn the_readme_lists_every_train_setting_with_how_the_trainer_receives_it() {
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("job");
    export(home.path(), &out, "generate", "trl");
    let job = json_file(&out.join("job.json"));
    let request: tunesmith::run::TrainRequest = serde_json::from_value(job["request"].clone()).unwrap();
    let config: tunesmith_engine::train::TrainConfig = serde_json::from_value(job["config"].clone()).unwrap();
    let lora: tunesmith_engine::adapters::lora::LoraConfig = serde_json::from_value(job["lora"].clone()).unwrap();
    let readme = std::fs::read_to_string(out.join("README.md")).unwrap();
    // Every field of the request, the loop settings and LoRA, read through serde: a new train
    // option shows up here and fails until src/job/settings.rs maps it or says why it cannot.
    let paths = tunesmith::job::settings::run_setting_paths(&request, &config, &lora);
    assert!(paths.len() > 30, "{paths:?}");
    for path in paths {
        assert!(readme.contains(&format!("| `{path}` |")), "the README's settings table has no row for `{path}`");
    }
}

#[test]
fn a_classification_job_for_trl_writes_text_label_rows_the_label_map_and_exact_targets() {
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("job");
    let s = export(home.path(), &out, "classify", "trl");
    matches_expectation(
        &std::fs::read_to_string(out.join("train_config.json")).unwrap(),
        "trl-classify-lora.json",
    );
    let csv = std::fs::read_to_string(out.join("data/train.csv")).unwrap();
    assert_eq!(csv.lines().next(), Some("text,label"));
    assert_eq!(csv.lines().count() as u64 - 1, s["train_rows"].as_u64().unwrap());
    let labels = json_file(&out.join("data/labels.json"));
    assert_eq!(labels["labels"], serde_json::json!(["neg", "neutral", "pos"]));
    let cfg = json_file(&out.join("train_config.json"));
    // Two layers x (query, key, value, attention output, intermediate, output) + the pooler.
    assert_eq!(cfg["lora"]["target_modules"].as_array().unwrap().len(), 13, "{cfg}");
    assert_eq!(cfg["lora"]["modules_to_save"], serde_json::json!(["classifier"]));
    assert!(std::fs::read_to_string(out.join("train.py")).unwrap().contains("SEQ_CLS"));
}

#[test]
fn an_axolotl_job_declares_the_dataset_and_the_same_settings() {
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("job");
    let s = export(home.path(), &out, "generate", "axolotl");
    let yaml = std::fs::read_to_string(out.join("axolotl.yaml")).unwrap();
    matches_expectation(&yaml.replace(s["run_id"].as_str().unwrap(), "RUN_ID"), "axolotl-generate-lora.yaml");
    assert!(!out.join("train.py").exists());
}

#[test]
fn axolotl_refuses_a_classification_job_and_a_used_folder_is_refused_without_queueing_a_run() {
    let home = tempfile::tempdir().unwrap();
    let (model, data, opts) = fixed_run("classify");
    let run = |out: &Path, trainer: &str| {
        tunesmith()
            .args(["job", "export", "--json", "--trainer", trainer])
            .args(opts)
            .arg("--model")
            .arg(&model)
            .arg("--data")
            .arg(&data)
            .arg("--out")
            .arg(out)
            .arg("--home")
            .arg(home.path())
            .output()
            .unwrap()
    };
    assert_fails_with(&run(&home.path().join("a"), "axolotl"), "Axolotl trains decoders");
    let used = home.path().join("used");
    std::fs::create_dir_all(&used).unwrap();
    std::fs::write(used.join("notes.txt"), "mine").unwrap();
    assert_fails_with(&run(&used, "trl"), "is not empty");
    let o = succeed(tunesmith().args(["runs", "list", "--json", "--home"]).arg(home.path()));
    let runs: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(runs.as_array().map_or(0, |r| r.len()), 0, "{runs}");
}
