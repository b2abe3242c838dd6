//! `models estimate` against the measured peak memory of real `tunesmith train` runs (real-model
//! tier: all-MiniLM-L6-v2 features/lora/full at 16 x 64 tokens, SmolLM2-135M's GGUF full/lora/qlora
//! at 2 x 64, as in the engine's benchmark). Each run is a child process whose peak resident memory
//! is `VmHWM` from `/proc/<pid>/status`, read while it runs; the estimate must be within 25 % of it.
//! Linux only (it reads `/proc`); skips with a message where the models are absent. The rows are
//! long enough to fill the maximum length, as the estimate assumes, and few (two steps per run).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The largest relative error the estimate may have against the measured peak.
const TOLERANCE: f64 = 0.25;

struct Case {
    label: &'static str,
    model: PathBuf,
    generate: bool,
    method: &'static str,
    batch: usize,
    max_len: usize,
}

const WORDS: [&str; 24] = [
    "river", "mountain", "quiet", "evening", "garden", "window", "paper", "ocean", "forest",
    "music", "bright", "story", "morning", "yellow", "table", "market", "winter", "coffee",
    "letter", "bridge", "station", "summer", "cloud", "valley",
];

fn words(seed: usize, n: usize) -> String {
    (0..n)
        .map(|i| WORDS[(seed * 7 + i * 13 + i * i) % WORDS.len()])
        .collect::<Vec<_>>()
        .join(" ")
}

/// Rows whose texts are longer than the maximum length, so every batch is `max_len` wide.
fn write_data(dir: &Path, generate: bool, rows: usize) -> PathBuf {
    if generate {
        let p = dir.join("sft.jsonl");
        let text: String = (0..rows)
            .map(|i| {
                serde_json::json!({"prompt": format!("Describe {}", words(i, 6)), "response": words(i + 1, 120)})
                    .to_string()
                    + "\n"
            })
            .collect();
        std::fs::write(&p, text).unwrap();
        p
    } else {
        let p = dir.join("cls.csv");
        let mut text = String::from("text,label\n");
        for i in 0..rows {
            text.push_str(&format!("{},{}\n", words(i, 120), ["pos", "neg"][i % 2]));
        }
        std::fs::write(&p, text).unwrap();
        p
    }
}

fn tunesmith(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tunesmith"));
    c.arg("--home").arg(home).env("HF_HUB_OFFLINE", "1");
    c
}

fn estimate_total(home: &Path, case: &Case) -> u64 {
    let out = tunesmith(home)
        .args(["models", "estimate"])
        .arg(&case.model)
        .args([
            "--method",
            case.method,
            "--device",
            "cpu",
            "--no-calibrate",
            "--json",
        ])
        .args([
            "--batch",
            &case.batch.to_string(),
            "--max-len",
            &case.max_len.to_string(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["breakdown"]["total"].as_u64().unwrap()
}

#[cfg(target_os = "linux")]
#[test]
fn the_memory_estimate_is_within_a_quarter_of_the_measured_peak_of_real_training_runs() {
    let (Some(minilm), Some(smollm2)) = (
        tunesmith_testkit::paths::minilm(),
        tunesmith_testkit::paths::smollm2_gguf(),
    ) else {
        return;
    };
    let mut cases = Vec::new();
    for method in ["features", "lora", "full"] {
        cases.push(Case {
            label: "all-MiniLM-L6-v2",
            model: minilm.clone(),
            generate: false,
            method,
            batch: 16,
            max_len: 64,
        });
    }
    for method in ["lora", "qlora", "full"] {
        cases.push(Case {
            label: "SmolLM2-135M Q4_1 GGUF",
            model: smollm2.clone(),
            generate: true,
            method,
            batch: 2,
            max_len: 64,
        });
    }
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    eprintln!("| model | method | batch x len | estimate MB | measured peak MB | error |");
    eprintln!("| --- | --- | ---: | ---: | ---: | ---: |");
    for (i, case) in cases.iter().enumerate() {
        let home = dir.path().join(format!("home{i}"));
        // Two optimiser steps: 10 % validation and 10 % test leave 2 x batch training rows.
        let rows = if case.generate { 6 } else { 2 * case.batch + 8 };
        let data = write_data(dir.path(), case.generate, rows);
        let mut cmd = tunesmith(&home);
        // Training's peak is measured; the forgetting check after it is not part of the estimate.
        cmd.args(["train", "--json", "--device", "cpu", "--epochs", "1"])
            .arg("--no-forgetting-check")
            .args(["--method", case.method])
            .args([
                "--batch",
                &case.batch.to_string(),
                "--max-len",
                &case.max_len.to_string(),
            ])
            .arg("--model")
            .arg(&case.model)
            .arg("--data")
            .arg(&data);
        if case.generate {
            cmd.args(["--task", "generate", "--prompt-column", "prompt"])
                .args(["--response-column", "response"]);
        } else {
            cmd.args(["--text-column", "text", "--label-column", "label"]);
        }
        let (status, err, measured) = crate::common::run_measured(&mut cmd);
        assert!(status.success(), "{} {}: {err}", case.label, case.method);
        let estimated = estimate_total(&home, case);
        let error = estimated as f64 / measured as f64 - 1.0;
        eprintln!(
            "| {} | {} | {} x {} | {:.0} | {:.0} | {:+.0} % |",
            case.label,
            case.method,
            case.batch,
            case.max_len,
            estimated as f64 / 1e6,
            measured as f64 / 1e6,
            error * 100.0
        );
        if error.abs() > TOLERANCE {
            failures.push(format!(
                "{} {}: estimated {estimated} bytes, measured {measured} ({:+.0} %)",
                case.label,
                case.method,
                error * 100.0
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
