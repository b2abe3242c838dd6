//! `tunesmith job import` on committed trainer outputs (made by the reference round trip in
//! tests/reference/job_round_trip.py: TRL and transformers, two processes over gloo): the fixed
//! runs of `job_export` come back as finished runs with the trainer's loss curve, and chat and
//! predict on them give what PEFT gave in Python on the same adapters; outputs that belong to
//! another run, another base or were imported already are refused with the reason.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::{assert_fails_with, succeed};
use crate::job_export::{export, fixture};

fn tunesmith() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tunesmith"))
}

/// Exports the fixed `task` job and copies the committed trainer output into its `output/final`,
/// its record re-targeted at the job just exported (the committed one names the run id the
/// reference round trip had). Returns the job folder and its run id.
fn job_with_output(home: &Path, task: &str) -> (PathBuf, String) {
    let job = home.join(format!("{task}-job"));
    let summary = export(home, &job, task, "trl");
    let run_id = summary["run_id"].as_str().unwrap().to_string();
    let final_dir = job.join("output/final");
    std::fs::create_dir_all(&final_dir).unwrap();
    let committed = fixture(&format!("job/trl-{task}-output"));
    for f in ["adapter_config.json", "adapter_model.safetensors", "trainer_state.json", "tunesmith-result.json"] {
        std::fs::copy(committed.join(f), final_dir.join(f)).unwrap();
    }
    let manifest: Value = serde_json::from_str(&std::fs::read_to_string(job.join("job.json")).unwrap()).unwrap();
    let result_path = final_dir.join("tunesmith-result.json");
    let mut result: Value = serde_json::from_str(&std::fs::read_to_string(&result_path).unwrap()).unwrap();
    result["run_id"] = Value::from(run_id.clone());
    result["config_sha256"] = manifest["config_sha256"].clone();
    std::fs::write(&result_path, serde_json::to_string(&result).unwrap()).unwrap();
    (job, run_id)
}

fn import(home: &Path, job: &Path) -> std::process::Output {
    tunesmith().args(["job", "import", "--json"]).arg(job).arg("--home").arg(home).output().unwrap()
}

fn expected(task: &str) -> Value {
    let p = fixture(&format!("job/trl-{task}-output/expected.json"));
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn an_imported_generation_adapter_chats_as_peft_answers_and_keeps_the_trainers_loss_curve() {
    let home = tempfile::tempdir().unwrap();
    let (job, run_id) = job_with_output(home.path(), "generate");
    let out = import(home.path(), &job);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["run_id"], run_id.as_str());
    assert_eq!(s["kind"], "adapter");
    assert_eq!(s["world_size"], 2);

    // The history: finished, the loss curve point for point, the validation scores.
    let state: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("job/trl-generate-output/trainer_state.json")).unwrap(),
    )
    .unwrap();
    let logged = state["log_history"].as_array().unwrap().iter().filter(|e| e.get("loss").is_some()).count();
    assert_eq!(s["loss_points"].as_u64().unwrap() as usize, logged);
    let shown: Value = serde_json::from_slice(
        &succeed(tunesmith().args(["runs", "show", &run_id, "--json", "--home"]).arg(home.path())).stdout,
    )
    .unwrap();
    assert_eq!(shown["run"]["status"], "finished", "{shown}");
    let loss = shown["metrics"].as_array().unwrap().iter().find(|m| m["name"] == "loss" && m["split"] == "train").unwrap();
    assert_eq!(loss["points"].as_u64().unwrap() as usize, logged, "{loss}");
    assert!(s["metrics"]["perplexity"].as_f64().unwrap() > 1.0);

    // Chat through Tunesmith answers as PEFT answered on the same adapter.
    let e = expected("generate");
    let o = succeed(
        tunesmith()
            .args(["chat", "--json", "--run", &run_id, "--max-tokens", "12", "--prompt"])
            .arg(e["prompt"].as_str().unwrap())
            .arg("--home")
            .arg(home.path()),
    );
    let done: Value = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["event"] == "done")
        .unwrap();
    assert_eq!(done["text"].as_str().unwrap().trim(), e["peft_answer"].as_str().unwrap());

    // Evaluation reads it as a local run: the held-out test rows stayed home.
    let o = succeed(tunesmith().args(["eval", "--json", "--run", &run_id, "--home"]).arg(home.path()));
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(report["fine_tuned"]["perplexity"].as_f64().unwrap().is_finite(), "{report}");

    // A second import of the same job is refused: the run is no longer waiting.
    assert_fails_with(&import(home.path(), &job), "was imported before");
}

#[test]
fn an_imported_classification_adapter_predicts_what_peft_predicts() {
    let home = tempfile::tempdir().unwrap();
    let (job, run_id) = job_with_output(home.path(), "classify");
    let out = import(home.path(), &job);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let e = expected("classify");
    let o = succeed(
        tunesmith()
            .args(["predict", "--json", "--run", &run_id, "--text"])
            .arg(e["text"].as_str().unwrap())
            .arg("--home")
            .arg(home.path()),
    );
    let p: Value = serde_json::from_slice(&o.stdout).unwrap();
    for item in p["probabilities"].as_array().unwrap() {
        let label = item["label"].as_str().unwrap();
        let ours = item["probability"].as_f64().unwrap();
        let theirs = e["peft"][label].as_f64().unwrap();
        assert!((ours - theirs).abs() < 1e-4, "{label}: Tunesmith {ours}, PEFT {theirs}");
    }
    let o = succeed(tunesmith().args(["eval", "--json", "--run", &run_id, "--home"]).arg(home.path()));
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(report["fine_tuned"]["accuracy"].as_f64().is_some(), "{report}");
}

#[test]
fn an_output_of_another_run_or_another_base_is_refused_and_the_run_stays_queued() {
    let home = tempfile::tempdir().unwrap();
    let (job, run_id) = job_with_output(home.path(), "generate");
    let result_path = job.join("output/final/tunesmith-result.json");
    let good = std::fs::read_to_string(&result_path).unwrap();
    let mut other: Value = serde_json::from_str(&good).unwrap();
    other["run_id"] = Value::from("20200101-0000-000000");
    std::fs::write(&result_path, other.to_string()).unwrap();
    assert_fails_with(&import(home.path(), &job), "not for this job's run");

    std::fs::write(&result_path, &good).unwrap();
    let cfg_path = job.join("output/final/adapter_config.json");
    let mut cfg: Value = serde_json::from_str(&std::fs::read_to_string(&cfg_path).unwrap()).unwrap();
    cfg["base_model_name_or_path"] = Value::from("someone/else");
    std::fs::write(&cfg_path, cfg.to_string()).unwrap();
    assert_fails_with(&import(home.path(), &job), "was trained on `someone/else`");

    let shown: Value = serde_json::from_slice(
        &succeed(tunesmith().args(["runs", "show", &run_id, "--json", "--home"]).arg(home.path())).stdout,
    )
    .unwrap();
    assert_eq!(shown["run"]["status"], "queued", "{shown}");
}
