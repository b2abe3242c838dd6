//! The real-model tier of issue 3 (run by CI after `scripts/fetch-models`; each test skips with a
//! message where the model or the data set is absent): all-MiniLM-L6-v2 fine-tuned through the CLI
//! on 2,000 rows of SST-2 reaches the accuracy on the run's held-out test rows, scored by
//! `tunesmith eval --json`: at least 78 % with `--method features`, 82 % with `full`, and, on 2,000
//! *training* rows, 85 % with `lora` on the defaults chosen from the data (issue 14).
//!
//! A sample is the first rows of `../shared/data/sst2/train.tsv` (GLUE's SST-2 training file: a
//! `label` column, 0 negative / 1 positive, then a `sentence` column, tab separated; its rows are
//! already in no particular order, 45 % / 55 % negative / positive). The run splits it 70 / 10 / 20
//! (seeded): 2,000 rows give 400 test rows, where one standard error of an 80 % accuracy is 2
//! points. Each test prints its accuracy and wall time.
//!
//! The features and full tests set their flags to pass with margin on two CPU cores within a few
//! minutes each: inputs cut at 64 tokens (SST-2 sentences average 9 words), one epoch for full
//! fine-tuning. Measured (late 2026, debug test profile, CPU seconds for train + eval): features
//! 82.3 % (131 s), full 85.5 % (328 s); PyTorch's frozen-features head on the same kind of split
//! scores 80-81 %.
//!
//! The LoRA floor trains on 2,000 rows, as issue 14 states it (2,858 in the sample: 572 test rows).
//! On the 1,400 training rows of the 2,000-row sample the defaults average 84-85 % over seeds
//! (`bench/sst2-seeds/run`, bench/README.md), so a floor of 85 % there passed or failed with the
//! draw of the seed and of the dropout masks; on 2,000 they average 85.5 % over six seeds (sd 0.9;
//! seed 42: 85.8 %).

use std::path::{Path, PathBuf};
use std::time::Instant;
use crate::common::tunesmith;

/// Rows in the SST-2 sample of the features and full fine-tuning tests (400 test rows).
const SAMPLE_ROWS: usize = 2_000;
/// Rows in the LoRA test's sample: 2,000 training rows, 286 validation and 572 test rows.
const LORA_SAMPLE_ROWS: usize = 2_858;

/// The first `rows` data rows of SST-2 (with its header) written into `dir`, or `None` after
/// printing why the test skips.
fn sst2_sample(dir: &Path, rows: usize) -> Option<PathBuf> {
    let source = tunesmith_testkit::paths::sst2()?;
    let text = std::fs::read_to_string(&source).expect("SST-2 is readable");
    let sample: Vec<&str> = text.lines().take(rows + 1).collect();
    assert_eq!(sample[0], "label\tsentence", "SST-2's header changed");
    assert_eq!(sample.len(), rows + 1, "SST-2 has too few rows");
    let p = dir.join(format!("sst2-{rows}.tsv"));
    std::fs::write(&p, sample.join("\n") + "\n").expect("the sample is written");
    Some(p)
}

/// Trains all-MiniLM-L6-v2 with `method` and `extra` flags on the SST-2 sample of `rows` rows,
/// scores the run with `tunesmith eval --json`, prints the numbers, and returns the fine-tuned test
/// accuracy. `None` when the model or the data set is absent.
fn minilm_test_accuracy(method: &str, rows: usize, extra: &[&str]) -> Option<f64> {
    let model = tunesmith_testkit::paths::minilm()?;
    let home = tempfile::tempdir().unwrap();
    let data = sst2_sample(home.path(), rows)?;
    let started = Instant::now();
    let out = tunesmith(home.path())
        .args(["train", "--json", "--task", "classify", "--method", method])
        .args(["--text-column", "sentence", "--label-column", "label"])
        .args([
            "--val-fraction",
            "0.1",
            "--test-fraction",
            "0.2",
            "--seed",
            "42",
        ])
        .args(extra)
        .arg("--model")
        .arg(&model)
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    let train_s = started.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let last = lines.last().unwrap();
    assert_eq!(last["event"], "finished", "{last}");
    let run_id = last["run_id"].as_str().unwrap().to_string();
    let steps = lines.iter().filter(|l| l["event"] == "step").count();

    let started = Instant::now();
    let out = tunesmith(home.path())
        .args(["eval", "--json", "--run", &run_id])
        .output()
        .unwrap();
    let eval_s = started.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let test_rows = report["rows"].as_u64().unwrap();
    assert_eq!(
        test_rows,
        (rows as f64 * 0.2).round() as u64,
        "the test split is 20 % of the sample"
    );
    let tuned = report["fine_tuned"]["accuracy"].as_f64().unwrap();
    let base = report["base"]["accuracy"].as_f64().unwrap();
    println!(
        "all-MiniLM-L6-v2 --method {method} {}: test accuracy {tuned:.4} (base with a head {base:.4}) on {test_rows} rows, validation {:.4}; {steps} steps; train {train_s:.1} s, eval {eval_s:.1} s",
        extra.join(" "),
        last["metrics"]["accuracy"].as_f64().unwrap_or(f64::NAN),
    );
    Some(tuned)
}

#[test]
fn minilm_features_reaches_78_percent_on_held_out_sst2() {
    let Some(acc) = minilm_test_accuracy(
        "features",
        SAMPLE_ROWS,
        &["--max-len", "64", "--epochs", "30", "--lr", "0.003"],
    ) else {
        return;
    };
    assert!(acc >= 0.78, "features: test accuracy {acc}");
}

/// Issue 14: LoRA with **no hyperparameter flags** (the schedule chosen from the 2,000 training
/// rows: 5 epochs of batch 16 at 1e-3, rank 8, inputs up to 128 tokens) reaches 85 %.
#[test]
fn minilm_lora_with_the_defaults_reaches_85_percent_on_held_out_sst2() {
    let Some(acc) = minilm_test_accuracy("lora", LORA_SAMPLE_ROWS, &[]) else {
        return;
    };
    assert!(acc >= 0.85, "lora with the defaults: test accuracy {acc}");
}

#[test]
fn minilm_full_fine_tuning_reaches_82_percent_on_held_out_sst2() {
    let Some(acc) = minilm_test_accuracy(
        "full",
        SAMPLE_ROWS,
        &[
            "--max-len",
            "64",
            "--epochs",
            "1",
            "--lr",
            "0.0001",
            "--batch",
            "16",
        ],
    ) else {
        return;
    };
    assert!(acc >= 0.82, "full: test accuracy {acc}");
}
