//! Issue 12 item 5: activation checkpointing as a plain setting, end to end through the CLI on the
//! tiny Llama fixture. `--checkpointing on` is recorded in the run and trains to the same losses as
//! `off` (the engine recomputes each block exactly); `auto` turns it on by itself when the run
//! would not fit in the free memory (`TUNESMITH_FREE_MEMORY`) without it but does with it, and
//! then trains instead of being refused; a re-run keeps what the run recorded.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::chat_cli::tiny_llama;

/// The run's settings, the same for every run here (the estimate is asked with them too).
const SETTINGS: [&str; 10] = [
    "--method",
    "lora",
    "--epochs",
    "2",
    "--batch",
    "4",
    "--max-len",
    "64",
    "--seed",
    "7",
];

fn tunesmith(home: &Path, free: Option<u64>) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tunesmith"));
    c.arg("--home").arg(home);
    match free {
        Some(f) => c.env(tunesmith::memory_check::FREE_MEMORY_ENV, f.to_string()),
        None => c.env_remove(tunesmith::memory_check::FREE_MEMORY_ENV),
    };
    c
}

fn data(dir: &Path) -> PathBuf {
    let mut s = String::from("prompt,response\n");
    for i in 0..24 {
        s.push_str(&format!("what is item {i}?,item {i} is number {}\n", i * 3));
    }
    let p = dir.join("train.csv");
    std::fs::write(&p, s).unwrap();
    p
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A run's step losses and its id, trained with `checkpointing` against `free` bytes.
fn train(home: &Path, data: &Path, checkpointing: &str, free: Option<u64>) -> (Vec<f64>, String) {
    let out = tunesmith(home, free)
        .args(["train", "--json", "--task", "generate"])
        .args(["--prompt-column", "prompt", "--response-column", "response"])
        .args(SETTINGS)
        .args(["--checkpointing", checkpointing, "--model", &tiny_llama()])
        .arg("--data")
        .arg(data)
        .output()
        .unwrap();
    events(&ok(out))
}

fn events(stdout: &str) -> (Vec<f64>, String) {
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let losses: Vec<f64> = lines
        .iter()
        .filter(|l| l["event"] == "step")
        .map(|l| l["loss"].as_f64().unwrap())
        .collect();
    let last = lines.last().unwrap();
    assert_eq!(last["event"], "finished", "{last}");
    assert!(!losses.is_empty());
    (losses, last["run_id"].as_str().unwrap().to_string())
}

/// What `run.json` of run `id` records about checkpointing (the resolved on/off and the request).
fn recorded(home: &Path, id: &str) -> (bool, String) {
    let m: serde_json::Value = serde_json::from_slice(
        &std::fs::read(home.join("runs").join(id).join("run.json")).unwrap(),
    )
    .unwrap();
    (
        m["activation_checkpointing"].as_bool().unwrap(),
        m["request"]["checkpointing"].as_str().unwrap().to_string(),
    )
}

#[test]
fn issue_12_a_run_with_checkpointing_on_records_it_and_ends_with_the_same_losses_as_off() {
    let home = tempfile::tempdir().unwrap();
    let data = data(home.path());
    let (off, off_id) = train(home.path(), &data, "off", None);
    let (on, on_id) = train(home.path(), &data, "on", None);
    assert_eq!(recorded(home.path(), &off_id), (false, "off".into()));
    assert_eq!(recorded(home.path(), &on_id), (true, "on".into()));
    assert_eq!(off.len(), on.len());
    for (step, (a, b)) in off.iter().zip(&on).enumerate() {
        assert!((a - b).abs() <= 1e-6, "step {step}: off {a}, on {b}");
    }
}

#[test]
fn issue_12_auto_turns_checkpointing_on_when_the_run_fits_only_with_it_and_trains() {
    let home = tempfile::tempdir().unwrap();
    let data = data(home.path());
    // The estimate of this very run, with and without checkpointing (the free memory is the
    // system's: only the two totals are read).
    let estimate: serde_json::Value = serde_json::from_str(&ok(tunesmith(home.path(), None)
        .args(["--json", "models", "estimate", &tiny_llama()])
        .args(&SETTINGS[..2])
        .args(&SETTINGS[4..8])
        .args(["--no-calibrate", "--checkpointing", "on"])
        .output()
        .unwrap()))
    .unwrap();
    let with = estimate["total_with_checkpointing"].as_u64().unwrap();
    let without = estimate["total_without_checkpointing"].as_u64().unwrap();
    assert!(with < without, "{estimate}");
    // Free memory between the two: without checkpointing the run would be refused.
    let free = (with + without) / 2;

    let refused = tunesmith(home.path(), Some(free))
        .args(["train", "--json", "--task", "generate"])
        .args(SETTINGS)
        .args(["--checkpointing", "off", "--model", &tiny_llama()])
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(
        refused.status.code(),
        Some(2),
        "off is refused at {free} bytes free"
    );
    let err: serde_json::Value = serde_json::from_slice(&refused.stderr).unwrap();
    assert_eq!(err["code"], "memory", "{err}");

    // The estimate says so too: auto assumes checkpointing at this free memory.
    let auto: serde_json::Value = serde_json::from_str(&ok(tunesmith(home.path(), Some(free))
        .args(["--json", "models", "estimate", &tiny_llama()])
        .args(&SETTINGS[..2])
        .args(&SETTINGS[4..8])
        .args(["--no-calibrate", "--checkpointing", "auto"])
        .output()
        .unwrap()))
    .unwrap();
    assert_eq!(auto["checkpointing"], "auto", "{auto}");
    assert_eq!(auto["activation_checkpointing"], true, "{auto}");
    assert_eq!(auto["breakdown"]["total"].as_u64(), Some(with), "{auto}");

    let (_, id) = train(home.path(), &data, "auto", Some(free));
    assert_eq!(recorded(home.path(), &id), (true, "auto".into()));

    // A re-run trains as the run did, even with plenty of memory free now.
    let rerun = tunesmith(home.path(), Some(1 << 40))
        .args(["--json", "runs", "rerun", &id])
        .output()
        .unwrap();
    let (_, rerun_id) = events(&ok(rerun));
    assert_ne!(rerun_id, id);
    assert_eq!(recorded(home.path(), &rerun_id), (true, "auto".into()));

    // With plenty free, auto leaves it off.
    let (_, roomy) = train(home.path(), &data, "auto", Some(1 << 40));
    assert_eq!(recorded(home.path(), &roomy), (false, "auto".into()));
}
