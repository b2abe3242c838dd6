//! `tunesmith runs resume`: a run killed with SIGKILL in the middle of training continues from its
//! last checkpoint, and its loss curve after that checkpoint is the one an uninterrupted run with
//! the same seed draws (issue 3's and issue 5's "kill -9, then resume"); for classification runs
//! and, since issue 15, for generation runs (tiny Llama, LoRA), which `runs rerun` repeats too.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use crate::common::tunesmith;

/// The tiny BERT fixture with dropout off, so two runs with one seed compute the same numbers.
fn tiny_bert_without_dropout(dir: &Path) -> PathBuf {
    let src = tunesmith_testkit::paths::fixtures_dir().join("tiny-bert");
    let dst = dir.join("tiny-bert");
    std::fs::create_dir_all(&dst).unwrap();
    for f in [
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
    ] {
        std::fs::copy(src.join(f), dst.join(f)).unwrap();
    }
    let mut cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(src.join("config.json")).unwrap()).unwrap();
    cfg["hidden_dropout_prob"] = 0.0.into();
    cfg["attention_probs_dropout_prob"] = 0.0.into();
    std::fs::write(dst.join("config.json"), cfg.to_string()).unwrap();
    dst
}

fn data(dir: &Path) -> PathBuf {
    let words = ["good fine great", "bad awful poor", "table chair door"];
    let labels = ["pos", "neg", "neutral"];
    let mut s = String::from("sentence\tlabel\n");
    for i in 0..600 {
        s.push_str(&format!("{} number {i}\t{}\n", words[i % 3], labels[i % 3]));
    }
    let p = dir.join("data.tsv");
    std::fs::write(&p, s).unwrap();
    p
}

fn train_command(home: &Path, model: &Path, data: &Path) -> Command {
    let mut c = tunesmith(home);
    c.args([
        "train", "--json", "--task", "classify", "--method", "features",
    ])
    .args([
        "--epochs", "2", "--batch", "1", "--lr", "0.01", "--seed", "11",
    ])
    .args(["--checkpoint-every", "5"])
    .args(["--text-column", "sentence", "--label-column", "label"])
    .arg("--model")
    .arg(model)
    .arg("--data")
    .arg(data);
    c
}

/// The run's events from `started` on (the `preparing` events before it are train_cli's subject).
fn events(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["event"] != "preparing")
        .collect()
}

fn step_losses(events: &[serde_json::Value]) -> BTreeMap<u64, f64> {
    events
        .iter()
        .filter(|e| e["event"] == "step")
        .map(|e| (e["step"].as_u64().unwrap(), e["loss"].as_f64().unwrap()))
        .collect()
}

#[test]
fn resume_after_kill_continues_the_same_loss_curve() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_bert_without_dropout(tmp.path());
    let data = data(tmp.path());

    // The reference: the same run, never interrupted.
    let reference_home = tmp.path().join("reference");
    let out = train_command(&reference_home, &model, &data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reference = step_losses(&events(&out.stdout));

    // The victim: killed (SIGKILL) as soon as it reports its second checkpoint.
    let home = tmp.path().join("home");
    let mut child = train_command(&home, &model, &data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut run_id = String::new();
    let mut checkpoints = 0;
    let mut killed_at = 0;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let e: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        run_id = e["run_id"].as_str().unwrap().to_string();
        if e["event"] == "checkpoint" {
            checkpoints += 1;
            if checkpoints == 2 {
                child.kill().unwrap();
                killed_at = e["step"].as_u64().unwrap();
                break;
            }
        }
        assert_ne!(
            e["event"], "finished",
            "the run ended before it could be killed"
        );
    }
    child.wait().unwrap();
    assert!(killed_at > 0);

    let out = tunesmith(&home)
        .args(["runs", "resume", &run_id, "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let resumed = events(&out.stdout);
    assert_eq!(resumed[0]["event"], "started");
    assert!(resumed.iter().all(|e| e["run_id"] == run_id.as_str()));
    let from = resumed[0]["resumed_from"]
        .as_u64()
        .expect("not resumed from a checkpoint");
    assert!(
        from >= killed_at,
        "resumed from {from}, a checkpoint at {killed_at} existed"
    );
    let losses = step_losses(&resumed);
    assert_eq!(losses.keys().next(), Some(&(from + 1)));
    assert_eq!(losses.keys().last(), reference.keys().last());
    for (step, loss) in &losses {
        let want = reference[step];
        assert!(
            (loss - want).abs() <= 1e-5,
            "step {step}: resumed loss {loss}, uninterrupted {want}"
        );
    }
    assert_eq!(resumed.last().unwrap()["event"], "finished");

    // The history shows one finished run whose loss curve has every step once.
    let show = tunesmith(&home)
        .args(["runs", "show", &run_id, "--json"])
        .output()
        .unwrap();
    let d: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(d["run"]["status"], "finished");
    let loss = d["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "loss" && m["split"] == "train")
        .cloned()
        .unwrap();
    assert_eq!(loss["points"], reference.len() as u64, "{loss}");
}

#[test]
fn resuming_a_finished_run_points_to_rerun() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_bert_without_dropout(tmp.path());
    let data = data(tmp.path());
    let home = tmp.path().join("home");
    let out = train_command(&home, &model, &data).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run_id = events(&out.stdout)[0]["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    let out = tunesmith(&home)
        .args(["runs", "resume", &run_id, "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert!(
        err["message"].as_str().unwrap().contains("runs rerun"),
        "{err}"
    );
}

#[test]
fn rerun_reproduces_a_finished_runs_losses_and_metrics_as_a_new_run() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_bert_without_dropout(tmp.path());
    let data = data(tmp.path());
    let home = tmp.path().join("home");
    let out = train_command(&home, &model, &data).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first = events(&out.stdout);
    let run_id = first[0]["run_id"].as_str().unwrap().to_string();

    let out = tunesmith(&home)
        .args(["runs", "rerun", &run_id, "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = events(&out.stdout);
    let new_id = again[0]["run_id"].as_str().unwrap().to_string();
    assert_ne!(new_id, run_id);
    let (a, b) = (step_losses(&first), step_losses(&again));
    assert_eq!(a.len(), b.len());
    for (step, loss) in &a {
        assert!(
            (loss - b[step]).abs() <= 1e-5,
            "step {step}: {loss} vs {}",
            b[step]
        );
    }
    assert_eq!(
        first.last().unwrap()["metrics"],
        again.last().unwrap()["metrics"]
    );
    let show = tunesmith(&home)
        .args(["runs", "show", &new_id, "--json"])
        .output()
        .unwrap();
    let d: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(d["run"]["parent_run"], run_id.as_str());

    // A changed data file cannot reproduce the run: refused, naming the file.
    let mut text = std::fs::read_to_string(&data).unwrap();
    text.push_str("one more row\tpos\n");
    std::fs::write(&data, text).unwrap();
    let out = tunesmith(&home)
        .args(["runs", "rerun", &run_id, "--json"])
        .output()
        .unwrap();
    crate::common::assert_fails_with(&out, "changed since run");
}

/// Prompt/response rows for the tiny Llama fixture (no dropout: two runs with one seed compute the
/// same numbers).
fn generation_data(dir: &Path) -> PathBuf {
    let mut s = String::from("prompt,response\n");
    for i in 0..24 {
        s.push_str(&format!(
            "What is the code word for project {i}?,Word{}\n",
            i % 5
        ));
    }
    let p = dir.join("facts.csv");
    std::fs::write(&p, s).unwrap();
    p
}

fn generation_command(home: &Path, data: &Path) -> Command {
    let mut c = tunesmith(home);
    c.args(["train", "--json", "--task", "generate", "--method", "lora"])
        .args([
            "--epochs", "2", "--batch", "1", "--lr", "0.01", "--seed", "5",
        ])
        .args(["--checkpoint-every", "4"])
        .args(["--prompt-column", "prompt", "--response-column", "response"])
        .arg("--model")
        .arg(tunesmith_testkit::paths::fixtures_dir().join("tiny-llama"))
        .arg("--data")
        .arg(data);
    c
}

#[test]
fn a_generation_run_killed_mid_training_resumes_on_the_same_loss_curve() {
    let tmp = tempfile::tempdir().unwrap();
    let data = generation_data(tmp.path());

    let reference_home = tmp.path().join("reference");
    let out = crate::common::succeed(&mut generation_command(&reference_home, &data));
    let reference_events = events(&out.stdout);
    let reference = step_losses(&reference_events);

    // Killed (SIGKILL) as soon as it reports its second checkpoint.
    let home = tmp.path().join("home");
    let mut child = generation_command(&home, &data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (mut run_id, mut checkpoints, mut killed_at) = (String::new(), 0, 0);
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let e: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        run_id = e["run_id"].as_str().unwrap().to_string();
        assert_ne!(
            e["event"], "finished",
            "the run ended before it could be killed"
        );
        if e["event"] == "checkpoint" {
            checkpoints += 1;
            if checkpoints == 2 {
                child.kill().unwrap();
                killed_at = e["step"].as_u64().unwrap();
                break;
            }
        }
    }
    child.wait().unwrap();
    assert!(killed_at > 0);

    let out = crate::common::succeed(tunesmith(&home).args(["runs", "resume", &run_id, "--json"]));
    let resumed = events(&out.stdout);
    assert_eq!(resumed[0]["event"], "started");
    assert!(resumed.iter().all(|e| e["run_id"] == run_id.as_str()));
    let from = resumed[0]["resumed_from"]
        .as_u64()
        .expect("not resumed from a checkpoint");
    assert!(
        from >= killed_at,
        "resumed from {from}, a checkpoint at {killed_at} existed"
    );
    let losses = step_losses(&resumed);
    assert_eq!(losses.keys().next(), Some(&(from + 1)));
    assert_eq!(losses.keys().last(), reference.keys().last());
    for (step, loss) in &losses {
        let want = reference[step];
        assert!(
            (loss - want).abs() <= 1e-5,
            "step {step}: resumed loss {loss}, uninterrupted {want}"
        );
    }
    let last = resumed.last().unwrap();
    assert_eq!(last["event"], "finished");
    let (ppl, want_ppl) = (
        last["metrics"]["perplexity"].as_f64().unwrap(),
        reference_events.last().unwrap()["metrics"]["perplexity"]
            .as_f64()
            .unwrap(),
    );
    assert!(
        (ppl - want_ppl).abs() <= 1e-4 * want_ppl,
        "{ppl} vs {want_ppl}"
    );

    // The resumed run saved its adapter and the history shows it finished, every step once.
    assert!(home
        .join("runs")
        .join(&run_id)
        .join("adapter/adapter_config.json")
        .is_file());
    let show = crate::common::succeed(tunesmith(&home).args(["runs", "show", &run_id, "--json"]));
    let d: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(d["run"]["status"], "finished");
    let loss = d["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "loss" && m["split"] == "train")
        .cloned()
        .unwrap();
    assert_eq!(loss["points"], reference.len() as u64, "{loss}");
}

#[test]
fn rerun_reproduces_a_generation_runs_losses_as_a_new_run() {
    let tmp = tempfile::tempdir().unwrap();
    let data = generation_data(tmp.path());
    let home = tmp.path().join("home");
    let first = events(&crate::common::succeed(&mut generation_command(&home, &data)).stdout);
    let run_id = first[0]["run_id"].as_str().unwrap().to_string();
    let again = events(
        &crate::common::succeed(tunesmith(&home).args(["runs", "rerun", &run_id, "--json"])).stdout,
    );
    let new_id = again[0]["run_id"].as_str().unwrap().to_string();
    assert_ne!(new_id, run_id);
    let (a, b) = (step_losses(&first), step_losses(&again));
    assert_eq!(a.len(), b.len());
    for (step, loss) in &a {
        assert!(
            (loss - b[step]).abs() <= 1e-5,
            "step {step}: {loss} vs {}",
            b[step]
        );
    }
    let show = crate::common::succeed(tunesmith(&home).args(["runs", "show", &new_id, "--json"]));
    let d: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(d["run"]["parent_run"], run_id.as_str());
}

#[test]
fn training_a_finished_generation_run_longer_continues_its_steps_and_reports_what_it_learned() {
    let tmp = tempfile::tempdir().unwrap();
    let data = generation_data(tmp.path());
    let home = tmp.path().join("home");
    let first = events(&crate::common::succeed(&mut generation_command(&home, &data)).stdout);
    let run_id = first[0]["run_id"].as_str().unwrap().to_string();
    let planned = first[0]["total_steps"].as_u64().unwrap();
    let per_epoch = first[0]["steps_per_epoch"].as_u64().unwrap();

    let longer = events(
        &crate::common::succeed(tunesmith(&home).args([
            "runs", "longer", &run_id, "--epochs", "1", "--json",
        ]))
        .stdout,
    );
    let started = longer.iter().find(|e| e["event"] == "started").unwrap();
    assert_eq!(started["run_id"], run_id.as_str(), "the same run goes on");
    assert_eq!(started["resumed_from"].as_u64(), Some(planned));
    assert_eq!(started["total_steps"].as_u64(), Some(planned + per_epoch));
    let steps: Vec<u64> = step_losses(&longer).into_keys().collect();
    assert_eq!(steps.first(), Some(&(planned + 1)));
    assert_eq!(steps.last(), Some(&(planned + per_epoch)));
    assert_eq!(longer.last().unwrap()["event"], "finished");

    // The history and run.json say how long it trained; a resume now finds nothing left to do.
    let show = crate::common::succeed(tunesmith(&home).args(["runs", "show", &run_id, "--json"]));
    let d: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(d["run"]["status"], "finished", "{}", d["run"]);
    let recorded: Vec<&str> = d["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    assert!(
        recorded.contains(&"fact_recall") && recorded.contains(&"fact_recall_total"),
        "did it learn? is in the history: {recorded:?}"
    );
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(home.join("runs").join(&run_id).join("run.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["config"]["epochs"], 3);

    // Nothing to train longer than zero epochs, and a run id that does not exist is named.
    let out = tunesmith(&home)
        .args(["runs", "longer", &run_id, "--epochs", "0", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert!(err["message"].as_str().unwrap().contains("at least 1 more epoch"), "{err}");
}
