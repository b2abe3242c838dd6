//! `tunesmith export --format classifier` (issue 16, item 6): a LoRA classification run on the tiny
//! BERT fixture becomes a sentence-transformers folder (encoder with the LoRA update folded in,
//! the run's pooling, its head as Dense layers, the labels), recorded in the history; a generation
//! format is refused for a classifier. `tests/reference/classifier_export_check.py` compares the
//! folder's probabilities with Tunesmith's in Python (results in tests/reference/README.md).

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use crate::common::tunesmith;

fn json(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The last JSON line of a training (the `finished` event, which names the run).
fn last_line(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap()
}

fn load(path: &Path) -> HashMap<String, Tensor> {
    candle_core::safetensors::load(path, &Device::Cpu).unwrap()
}

fn max_abs(t: &Tensor) -> f32 {
    t.abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

#[test]
fn a_lora_classifier_exports_as_a_sentence_transformers_folder_with_its_update_folded_in() {
    let home = tempfile::tempdir().unwrap();
    let mut s = String::from("sentence,label\n");
    for i in 0..40 {
        let (t, l) = if i % 2 == 0 {
            ("good fine great", "pos")
        } else {
            ("bad awful poor", "neg")
        };
        s.push_str(&format!("{t} number {i},{l}\n"));
    }
    std::fs::write(home.path().join("two.csv"), s).unwrap();
    let fixture = tunesmith_testkit::paths::fixtures_dir().join("tiny-bert");
    let trained = last_line(
        &tunesmith(home.path())
            .args(["train", "--json", "--task", "classify", "--method", "lora"])
            .args(["--epochs", "2", "--lr", "0.05", "--test-fraction", "0.2"])
            .args(["--text-column", "sentence", "--label-column", "label"])
            .arg("--model")
            .arg(&fixture)
            .arg("--data")
            .arg(home.path().join("two.csv"))
            .output()
            .unwrap(),
    );
    let run = trained["run_id"].as_str().unwrap().to_string();

    let refused = tunesmith(home.path())
        .args(["export", "--run", &run, "--format", "merged"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--format classifier"));

    let out = home.path().join("exported classifier");
    let summary = json(
        &tunesmith(home.path())
            .args([
                "--json",
                "export",
                "--run",
                &run,
                "--format",
                "classifier",
                "--out",
            ])
            .arg(&out)
            .output()
            .unwrap(),
    );
    assert_eq!(summary["format"], "classifier");
    let modules: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("modules.json")).unwrap()).unwrap();
    let kinds: Vec<&str> = modules
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["type"].as_str().unwrap().rsplit('.').next().unwrap())
        .collect();
    // tiny-bert has its own 2-label head over BERT's pooler: CLS, then pooler (tanh), then classifier.
    assert_eq!(kinds, ["Transformer", "Pooling", "Dense", "Dense"]);
    let pooling: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("1_Pooling/config.json")).unwrap()).unwrap();
    assert_eq!(pooling["pooling_mode_cls_token"], true);
    let dense: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("2_Dense/config.json")).unwrap()).unwrap();
    assert_eq!(
        dense["activation_function"],
        "torch.nn.modules.activation.Tanh"
    );
    let labels: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("labels.json")).unwrap()).unwrap();
    assert_eq!(labels["labels"], serde_json::json!(["neg", "pos"]));
    let head = load(&out.join("3_Dense/model.safetensors"));
    assert_eq!(head["linear.weight"].dims()[0], 2);
    assert!(out.join("tokenizer.json").is_file());

    // The encoder: the base's weights by the bare model's names, the LoRA update folded in.
    let exported = load(&out.join("model.safetensors"));
    let base = load(&fixture.join("model.safetensors"));
    let ckpt = load(
        &home
            .path()
            .join("runs")
            .join(&run)
            .join("checkpoints/best.safetensors"),
    );
    let record: serde_json::Value = serde_json::from_slice(
        &std::fs::read(home.path().join("runs").join(&run).join("run.json")).unwrap(),
    )
    .unwrap();
    let scale = record["schedule"]["lora_alpha"].as_f64().unwrap()
        / record["schedule"]["lora_rank"].as_f64().unwrap();
    let name = "encoder.layer.0.attention.self.query";
    let a = &ckpt[&format!("w.bert.{name}.lora_A.weight")];
    let b = &ckpt[&format!("w.bert.{name}.lora_B.weight")];
    let update = (b.matmul(a).unwrap() * scale).unwrap();
    assert!(
        max_abs(&update) > 1e-4,
        "the run's LoRA update is not trivially zero"
    );
    let expected = (&base[&format!("bert.{name}.weight")] + &update).unwrap();
    let got = &exported[&format!("{name}.weight")];
    assert!(max_abs(&(got - &expected).unwrap()) < 1e-6);
    assert!(!exported
        .keys()
        .any(|k| k.contains("lora") || k.starts_with("bert.") || k.starts_with("classifier")));

    let show = json(
        &tunesmith(home.path())
            .args(["runs", "show", &run, "--json"])
            .output()
            .unwrap(),
    );
    let exports: Vec<&serde_json::Value> = show["artefacts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "export")
        .collect();
    assert_eq!(exports.len(), 1);
}
