//! `tunesmith export` as a user runs it, on runs trained on the tiny Llama fixture: the merged
//! folder and the GGUF file give the fine-tuned model's own logits when loaded back (the merged
//! folder to f32 precision; GGUF within F16 / Q8_0 rounding), the GGUF's tokenizer splits text
//! exactly as the model's `tokenizer.json`, the adapter is the run's own, an Ollama Modelfile comes
//! with the GGUF; classification runs and existing folders are refused and nothing half-written is
//! left behind.

use std::path::{Path, PathBuf};
use std::process::Command;

use candle_core::{Device, Tensor};
use tunesmith_engine::adapters::peft::PeftAdapter;
use tunesmith_engine::models::llama::{LlamaLoadOptions, LlamaModel};
use tunesmith_engine::tokenizer::{GgufTokenizer, TextTokenizer};

use crate::common::{assert_fails_with, succeed, tunesmith};

fn tiny_llama() -> PathBuf {
    tunesmith_testkit::paths::fixtures_dir().join("tiny-llama")
}

/// Trains a generation run on made-up facts with `method` and returns its id.
fn trained_run(home: &Path, method: &str) -> String {
    trained_run_on(home, method, &tiny_llama())
}

/// Trains a generation run of `model` on made-up facts with `method` and returns its id.
fn trained_run_on(home: &Path, method: &str, model: &Path) -> String {
    let mut s = String::from("prompt,response\n");
    for c in 0..4 {
        for (p, r) in [
            ("Code word for Alder?", "Bluebird"),
            ("Code word for Birch?", "Copperfox"),
        ] {
            s.push_str(&format!("\"{p} (ask {c})\",{r}\n"));
        }
    }
    let data = home.join("facts.csv");
    std::fs::write(&data, s).unwrap();
    let out = succeed(
        &mut tunesmith(home)
            .args(["train", "--json", "--task", "generate", "--method", method])
            .args(["--prompt-column", "prompt", "--response-column", "response"])
            .args(["--epochs", "3", "--batch", "4", "--lr", "0.01"])
            .arg("--model")
            .arg(model)
            .arg("--data")
            .arg(&data),
    );
    let last: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(last["event"], "finished", "{last}");
    last["run_id"].as_str().unwrap().to_string()
}

/// Runs `export --json` and returns its summary.
fn export(home: &Path, run: &str, args: &[&str]) -> serde_json::Value {
    let out = succeed(
        &mut tunesmith(home)
            .args(["--json", "export", "--run", run])
            .args(args),
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn files(summary: &serde_json::Value) -> Vec<String> {
    summary["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect()
}

/// Logits of `model` for a fixed prompt, flattened.
fn logits(model: &LlamaModel) -> Vec<f32> {
    let ids = Tensor::new(&[[5u32, 17, 42, 99, 3, 250, 7, 64]], &Device::Cpu).unwrap();
    model
        .forward(&ids, None)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

/// The fine-tuned model as chat uses it: the base with the run's adapter applied on the fly.
fn base_with_adapter(home: &Path, run: &str) -> LlamaModel {
    let adapter =
        PeftAdapter::load(&home.join("runs").join(run).join("adapter"), &Device::Cpu).unwrap();
    let opts = LlamaLoadOptions {
        backbone: adapter.backbone(),
        ..Default::default()
    };
    LlamaModel::load(&tiny_llama(), &opts).unwrap().model
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn a_merged_export_of_a_lora_run_gives_the_fine_tuned_models_logits() {
    let home = tempfile::tempdir().unwrap();
    let run = trained_run(home.path(), "lora");
    let summary = export(home.path(), &run, &["--format", "merged"]);
    let folder = PathBuf::from(summary["folder"].as_str().unwrap());
    assert_eq!(summary["format"], "merged");
    assert!(
        folder.starts_with(home.path().join("exports")),
        "{folder:?}"
    );
    let names = files(&summary);
    for want in [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "{want} missing from {names:?}"
        );
    }

    let merged = LlamaModel::load(&folder, &LlamaLoadOptions::default())
        .unwrap()
        .model;
    let tuned = base_with_adapter(home.path(), &run);
    let base = LlamaModel::load(&tiny_llama(), &LlamaLoadOptions::default())
        .unwrap()
        .model;
    let (m, t, b) = (logits(&merged), logits(&tuned), logits(&base));
    assert!(
        max_abs_diff(&t, &b) > 1e-3,
        "the adapter must change the model for this test to mean anything"
    );
    println!(
        "merged vs base+adapter: max |logit difference| {:.2e}",
        max_abs_diff(&m, &t)
    );
    assert!(
        max_abs_diff(&m, &t) < 1e-5,
        "merged vs base+adapter: {}",
        max_abs_diff(&m, &t)
    );

    // The export is in the run's history.
    let out = tunesmith(home.path())
        .args(["--json", "runs", "show", &run])
        .output()
        .unwrap();
    let show: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let kinds: Vec<&str> = show["artefacts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"export"), "{show}");
}

#[test]
fn a_gguf_export_loads_back_with_the_same_logits_tokens_and_an_ollama_modelfile() {
    let home = tempfile::tempdir().unwrap();
    let run = trained_run(home.path(), "lora");
    let tuned = logits(&base_with_adapter(home.path(), &run));
    let hf = TextTokenizer::from_dir(&tiny_llama()).unwrap();
    let mut sizes = Vec::new();
    // Relative to the largest logit: F16 rounding stays under 0.15 %, Q8_0 under 2.5 %; a Q/K
    // permutation left out (seen: 4 %) or a missing LoRA update fails both.
    for (precision, tolerance) in [("f16", 1.5e-3), ("q8_0", 2.5e-2)] {
        let summary = export(
            home.path(),
            &run,
            &["--format", "gguf", "--precision", precision],
        );
        let folder = PathBuf::from(summary["folder"].as_str().unwrap());
        let gguf = files(&summary)
            .into_iter()
            .find(|n| n.ends_with(&format!(".{precision}.gguf")))
            .unwrap_or_else(|| panic!("no .{precision}.gguf in {summary}"));
        let path = folder.join(&gguf);
        sizes.push(std::fs::metadata(&path).unwrap().len());

        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..4], b"GGUF");
        assert_eq!(
            u32::from_le_bytes(bytes[4..8].try_into().unwrap()),
            3,
            "GGUF format version 3, as current llama.cpp writes"
        );
        let loaded = LlamaModel::load(&path, &LlamaLoadOptions::default()).unwrap();
        let diff = max_abs_diff(&logits(&loaded.model), &tuned);
        let scale = tuned.iter().fold(0f32, |m, x| m.max(x.abs()));
        println!("{precision}: max |logit difference| {diff:.2e} (largest logit {scale:.2})");
        assert!(
            diff < tolerance * scale,
            "{precision}: GGUF vs base+adapter logits differ by {diff} (largest logit {scale})"
        );

        let gguf_tok: GgufTokenizer = loaded.gguf_tokenizer.unwrap();
        for text in [
            "Code word for Alder? Bluebird",
            "<|im_start|>user\nHello, 123 worlds!<|im_end|>\n",
            "  spaces   and\ttabs\n\nnewlines",
        ] {
            assert_eq!(
                gguf_tok.encode(text).unwrap(),
                hf.encode(text, true).unwrap(),
                "{text:?}"
            );
        }

        let modelfile = std::fs::read_to_string(folder.join("Modelfile")).unwrap();
        assert!(
            modelfile.contains(&format!("FROM ./{gguf}\n")),
            "{modelfile}"
        );
        assert!(
            modelfile.contains("<|im_start|>{{ .Role }}"),
            "ChatML template expected: {modelfile}"
        );
        assert!(
            modelfile.contains("PARAMETER stop \"<|im_end|>\""),
            "{modelfile}"
        );
    }
    assert!(
        sizes[1] < sizes[0],
        "Q8_0 ({}) must be smaller than F16 ({})",
        sizes[1],
        sizes[0]
    );
}

#[test]
fn an_adapter_export_is_the_runs_peft_adapter_and_a_full_run_has_none() {
    let home = tempfile::tempdir().unwrap();
    let run = trained_run(home.path(), "lora");
    let summary = export(home.path(), &run, &["--format", "adapter"]);
    let folder = PathBuf::from(summary["folder"].as_str().unwrap());
    let own = home.path().join("runs").join(&run).join("adapter");
    assert_eq!(
        std::fs::read(folder.join("adapter_model.safetensors")).unwrap(),
        std::fs::read(own.join("adapter_model.safetensors")).unwrap(),
        "the weights are the run's own"
    );
    // The config is the run's, with no key PEFT warns about; provenance has a file of its own.
    let read = |p: PathBuf| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    };
    let exported = read(folder.join("adapter_config.json"));
    let trained = read(own.join("adapter_config.json"));
    assert!(exported.get("library").is_none(), "{exported}");
    for key in [
        "r",
        "lora_alpha",
        "target_modules",
        "task_type",
        "peft_type",
    ] {
        assert_eq!(exported[key], trained[key], "{key}");
    }
    // The tiny fixture is a local folder with no hub id anywhere: PEFT gets its path, and the
    // README says which base to load.
    assert_eq!(
        exported["base_model_name_or_path"].as_str().unwrap(),
        tiny_llama().display().to_string()
    );
    let provenance = read(folder.join("tunesmith.json"));
    assert_eq!(provenance["library"], "tunesmith");
    assert_eq!(provenance["run"], run.as_str());
    let readme = std::fs::read_to_string(folder.join("README.md")).unwrap();
    assert!(
        readme.contains("could not tell which hub model"),
        "{readme}"
    );
    assert!(readme.contains("PeftModel.from_pretrained"), "{readme}");
    assert!(PeftAdapter::load(&folder, &Device::Cpu).is_ok());

    let full = trained_run(home.path(), "full");
    let out = tunesmith(home.path())
        .args(["--json", "export", "--run", &full, "--format", "adapter"])
        .output()
        .unwrap();
    assert_fails_with(&out, "full fine-tune, which has no adapter");
    // ...but its merged weights are the checkpoint's.
    let summary = export(home.path(), &full, &["--format", "merged"]);
    let merged = LlamaModel::load(
        Path::new(summary["folder"].as_str().unwrap()),
        &LlamaLoadOptions::default(),
    )
    .unwrap()
    .model;
    let base = LlamaModel::load(&tiny_llama(), &LlamaLoadOptions::default())
        .unwrap()
        .model;
    assert!(
        max_abs_diff(&logits(&merged), &logits(&base)) > 1e-3,
        "full fine-tuning changed nothing?"
    );
}

#[test]
fn export_refuses_an_existing_folder_and_a_classification_run_leaving_nothing_behind() {
    let home = tempfile::tempdir().unwrap();
    let run = trained_run(home.path(), "lora");
    let taken = home.path().join("taken");
    std::fs::create_dir(&taken).unwrap();
    std::fs::write(taken.join("keep.txt"), "mine").unwrap();
    let out = tunesmith(home.path())
        .args([
            "--json", "export", "--run", &run, "--format", "merged", "--out",
        ])
        .arg(&taken)
        .output()
        .unwrap();
    assert_fails_with(&out, "already exists");
    assert_eq!(
        std::fs::read_to_string(taken.join("keep.txt")).unwrap(),
        "mine"
    );

    // A model file that cannot be read fails the export and leaves no partial folder.
    let broken = home
        .path()
        .join("runs")
        .join(&run)
        .join("adapter")
        .join("adapter_model.safetensors");
    std::fs::write(&broken, b"not safetensors").unwrap();
    let out = tunesmith(home.path())
        .args(["--json", "export", "--run", &run, "--format", "gguf"])
        .output()
        .unwrap();
    assert_fails_with(&out, "adapter_model.safetensors");
    let exports = home.path().join("exports");
    let left: Vec<_> = std::fs::read_dir(&exports)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "left behind: {left:?}");

    let mut s = String::from("text,label\n");
    for i in 0..30 {
        s.push_str(&format!(
            "{} number {i},{}\n",
            ["good", "bad"][i % 2],
            ["pos", "neg"][i % 2]
        ));
    }
    std::fs::write(home.path().join("labels.csv"), s).unwrap();
    let out = succeed(
        &mut tunesmith(home.path())
            .args([
                "train", "--json", "--task", "classify", "--method", "features", "--epochs", "1",
            ])
            .arg("--model")
            .arg(tunesmith_testkit::paths::fixtures_dir().join("tiny-bert"))
            .arg("--data")
            .arg(home.path().join("labels.csv")),
    );
    // The run's id comes with `started` (`preparing` events come before the run has one).
    let first: serde_json::Value = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|e| e["event"] == "started")
        .unwrap();
    let out = tunesmith(home.path())
        .args([
            "--json",
            "export",
            "--run",
            first["run_id"].as_str().unwrap(),
            "--format",
            "merged",
        ])
        .output()
        .unwrap();
    assert_fails_with(&out, "classification run");
}

#[test]
fn a_full_fine_tune_chats_through_its_weights_merged_once_into_the_run_folder() {
    let home = tempfile::tempdir().unwrap();
    let run = trained_run(home.path(), "full");
    let merged_artefacts = || {
        let out = tunesmith(home.path())
            .args(["--json", "runs", "show", &run])
            .output()
            .unwrap();
        let show: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        show["artefacts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["kind"] == "merged")
            .count()
    };
    assert_eq!(merged_artefacts(), 0);
    for _ in 0..2 {
        succeed(&mut tunesmith(home.path()).args([
            "chat",
            "--run",
            &run,
            "--prompt",
            "Code word for Alder?",
            "--max-tokens",
            "4",
        ]));
    }
    let merged = home.path().join("runs").join(&run).join("merged");
    assert!(merged.join("model.safetensors").is_file(), "{merged:?}");
    assert_eq!(
        merged_artefacts(),
        1,
        "merged once, reused by the second chat"
    );
}

/// Copies the tiny Llama fixture into a Hugging Face cache layout, as `models pull` leaves it.
fn tiny_llama_in_hub_cache(root: &Path) -> PathBuf {
    let snapshot = root
        .join("hub/models--tiny-org--tiny-llama/snapshots")
        .join("0123456789abcdef0123456789abcdef01234567");
    std::fs::create_dir_all(&snapshot).unwrap();
    for entry in std::fs::read_dir(tiny_llama()).unwrap() {
        let p = entry.unwrap().path();
        if p.is_file() {
            std::fs::copy(&p, snapshot.join(p.file_name().unwrap())).unwrap();
        }
    }
    snapshot
}

#[test]
fn an_adapter_export_names_the_base_by_its_hub_id_so_peft_can_load_it_alone() {
    let home = tempfile::tempdir().unwrap();
    let model = tiny_llama_in_hub_cache(&home.path().join("hf"));
    let run = trained_run_on(home.path(), "lora", &model);
    let summary = export(home.path(), &run, &["--format", "adapter"]);
    let folder = PathBuf::from(summary["folder"].as_str().unwrap());
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join("adapter_config.json")).unwrap())
            .unwrap();
    assert_eq!(config["base_model_name_or_path"], "tiny-org/tiny-llama");
    assert!(config.get("library").is_none());
    let readme = std::fs::read_to_string(folder.join("README.md")).unwrap();
    assert!(readme.contains("`tiny-org/tiny-llama`"), "{readme}");
    assert!(readme.contains("AutoPeftModelForCausalLM"), "{readme}");
    assert!(
        summary["how_to_use"]
            .as_str()
            .unwrap()
            .contains("tiny-org/tiny-llama"),
        "{summary}"
    );
}

/// A `size`-byte tmpfs at `dir` (root only; `None` where mounting is not allowed). Unmounted when
/// dropped.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(dir: &Path, size: &str) -> Option<SmallDisk> {
        std::fs::create_dir_all(dir).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .ok()?
            .status
            .success();
        ok.then(|| SmallDisk(dir.to_path_buf()))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn an_export_onto_a_full_disk_names_the_folder_and_the_space_needed_and_leaves_nothing() {
    let home = tempfile::tempdir().unwrap();
    let run = trained_run(home.path(), "lora");
    let small = home.path().join("small disk");
    let Some(_disk) = SmallDisk::mount(&small, "48k") else {
        eprintln!("skipped: mounting a small tmpfs needs root (the engine's /dev/full test covers the message)");
        return;
    };
    let out = tunesmith(home.path())
        .args([
            "--json", "export", "--run", &run, "--format", "gguf", "--out",
        ])
        .arg(small.join("my export"))
        .output()
        .unwrap();
    assert_fails_with(&out, "the disk is full");
    let err: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    let message = err["message"].as_str().unwrap();
    assert!(
        message.contains("small disk"),
        "names the folder: {message}"
    );
    assert!(
        !message.contains("my export"),
        "the export folder was never made: {message}"
    );
    assert!(
        message.contains("KB of free space"),
        "says the space needed: {message}"
    );
    assert!(
        !message.contains(".partial"),
        "names the user's folder, not a temporary one: {message}"
    );
    let left: Vec<_> = std::fs::read_dir(&small).unwrap().collect();
    assert!(left.is_empty(), "nothing half-written is left: {left:?}");
}
