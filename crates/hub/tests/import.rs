//! Importing local folders and GGUF files (each kind of bad input has its own clear message), the
//! registry of known models, and the estimate read from a real config.

use std::path::{Path, PathBuf};

use tunesmith_hub::config::ModelConfig;
use tunesmith_hub::estimate::{estimate, EstimateRequest, Method, ModelShape};
use tunesmith_hub::gguf::{write_minimal, MetaValue};
use tunesmith_hub::import::{import, ModelSource};
use tunesmith_hub::registry::{known_models, JsonRegistry, ModelRegistry};
use tunesmith_hub::support::Family;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/repos")
        .join(name)
}

/// Copies a fixture folder (without the mock's metadata) so a test can damage it.
fn copy_fixture(name: &str, to: &Path) -> PathBuf {
    let dst = to.join(name);
    std::fs::create_dir_all(&dst).unwrap();
    for e in std::fs::read_dir(fixture(name)).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() && p.file_name().unwrap() != "mock.json" {
            std::fs::copy(&p, dst.join(p.file_name().unwrap())).unwrap();
        }
    }
    dst
}

fn gguf(path: &Path, arch: &str, tokens: &[&str]) {
    write_minimal(
        path,
        &[
            ("general.architecture", MetaValue::Str(arch.into())),
            (&format!("{arch}.context_length"), MetaValue::Int(4096)),
        ],
        tokens,
        &[
            ("token_embd.weight", vec![16, 3]),
            ("blk.0.attn_q.weight", vec![16, 16]),
        ],
    )
    .unwrap();
}

#[test]
fn a_model_folder_imports_with_its_parameters_and_context_length() {
    let rec = import(&fixture("tiny-bert")).unwrap();
    assert_eq!(rec.id, "local/tiny-bert");
    assert_eq!(rec.source, ModelSource::Local);
    assert_eq!(rec.family, Some(Family::Encoder));
    assert_eq!(rec.context_length, Some(64));
    assert!(rec.parameters.unwrap() > 1000);
    assert!(rec.size_on_disk > 30_000);
}

#[test]
fn a_sharded_folder_counts_every_shard() {
    let rec = import(&fixture("tiny-llama-gated")).unwrap();
    assert_eq!(rec.family, Some(Family::Decoder));
    // 64x16 embeddings + norm + 2 layers of (q, k, v, o, gate, up, down, 2 norms)
    let layer = 16 * 16 + 8 * 16 + 8 * 16 + 16 * 16 + 3 * 32 * 16 + 2 * 16;
    assert_eq!(rec.parameters, Some(64 * 16 + 16 + 2 * layer));
}

#[test]
fn a_truncated_safetensors_file_is_named_as_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let m = copy_fixture("tiny-bert", dir.path());
    let w = m.join("model.safetensors");
    let bytes = std::fs::read(&w).unwrap();
    std::fs::write(&w, &bytes[..bytes.len() / 2]).unwrap();
    let err = import(&m).unwrap_err().to_string();
    assert!(
        err.contains("truncated") && err.contains("model.safetensors"),
        "{err}"
    );
}

#[test]
fn a_folder_without_tokenizer_json_says_how_to_write_one() {
    let dir = tempfile::tempdir().unwrap();
    let m = copy_fixture("tiny-bert", dir.path());
    std::fs::remove_file(m.join("tokenizer.json")).unwrap();
    let err = import(&m).unwrap_err().to_string();
    assert!(
        err.contains("tokenizer.json") && err.contains("save_pretrained"),
        "{err}"
    );
}

#[test]
fn an_unknown_architecture_is_refused_with_the_supported_ones() {
    let err = import(&fixture("tiny-t5")).unwrap_err().to_string();
    assert!(
        err.contains("unknown architecture")
            && err.contains("T5ForConditionalGeneration")
            && err.contains("Llama"),
        "{err}"
    );
}

#[test]
fn a_folder_with_only_pickle_weights_says_how_to_convert() {
    let err = import(&fixture("pickle-only-bert"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("pickle") && err.contains("safe_serialization"),
        "{err}"
    );
}

#[test]
fn a_gguf_file_imports_and_bad_ones_are_refused_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("tiny-q8.gguf");
    gguf(&good, "llama", &["<s>", "a"]);
    let rec = import(&good).unwrap();
    assert_eq!(rec.id, "gguf/tiny-q8");
    assert_eq!(rec.source, ModelSource::Gguf);
    assert_eq!(rec.context_length, Some(4096));
    assert_eq!(rec.parameters, Some(16 * 3 + 16 * 16));

    let gpt2 = dir.path().join("gpt2.gguf");
    gguf(&gpt2, "gpt2", &["a"]);
    assert!(import(&gpt2)
        .unwrap_err()
        .to_string()
        .contains("unknown architecture `gpt2`"));

    let untok = dir.path().join("untok.gguf");
    gguf(&untok, "qwen2", &[]);
    assert!(import(&untok)
        .unwrap_err()
        .to_string()
        .contains("tokenizer"));

    let bytes = std::fs::read(&good).unwrap();
    let cut = dir.path().join("cut.gguf");
    std::fs::write(&cut, &bytes[..bytes.len() - 100]).unwrap();
    assert!(import(&cut).unwrap_err().to_string().contains("truncated"));
}

#[test]
fn the_registry_lists_cached_hub_models_and_imports_together() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("hub");
    // A cache entry laid out as a pull (or Python) leaves it.
    let commit = "0123456789abcdef0123456789abcdef01234567";
    let rc = tunesmith_hub::cache::RepoCache::new(&cache, "tiny-org/tiny-bert").unwrap();
    std::fs::create_dir_all(rc.root().join("blobs")).unwrap();
    for f in ["config.json", "tokenizer.json", "model.safetensors"] {
        let etag = format!("etag-{}", f.replace('.', "-"));
        std::fs::copy(fixture("tiny-bert").join(f), rc.blob_path(&etag)).unwrap();
        rc.link_snapshot_file(commit, f, &etag).unwrap();
    }
    rc.write_ref("main", commit).unwrap();

    let mut reg = JsonRegistry::new(dir.path().join("models.json"));
    let gg = dir.path().join("m.gguf");
    gguf(&gg, "llama", &["a"]);
    let imported = import(&gg).unwrap();
    reg.upsert(&imported).unwrap();
    reg.upsert(&imported).unwrap();
    assert_eq!(reg.list().unwrap().len(), 1, "upsert replaces by path");

    let all = known_models(&cache, &reg).unwrap();
    let ids: Vec<&str> = all.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["gguf/m", "tiny-org/tiny-bert"]);
    let hub = &all[1];
    assert_eq!(hub.source, ModelSource::Hub);
    assert_eq!(hub.revision.as_deref(), Some(commit));
    assert!(hub.supported);
}

#[test]
fn the_estimate_reads_the_shape_of_a_real_config_and_counts_weights_exactly() {
    let cfg = ModelConfig::read(&fixture("tiny-bert").join("config.json")).unwrap();
    let params = import(&fixture("tiny-bert")).unwrap().parameters;
    let shape = ModelShape::from_config(&cfg, Family::Encoder, params).unwrap();
    let req = EstimateRequest {
        method: Method::Full,
        batch: 8,
        max_len: 32,
        lora_rank: 8,
        num_labels: 2,
    };
    let e = estimate(&shape, &req, Some(1 << 40));
    assert_eq!(e.breakdown.weights, params.unwrap() * 4);
    let b = e.breakdown;
    assert_eq!(
        b.total,
        b.weights
            + b.trainable_parameters
            + b.gradients
            + b.optimizer_state
            + b.activations
            + b.overhead
    );
    assert_eq!(serde_json::to_value(e.verdict).unwrap(), "fits");
}

#[test]
fn a_folder_holding_one_gguf_file_imports_as_that_file() {
    let dir = tempfile::tempdir().unwrap();
    gguf(&dir.path().join("only.gguf"), "llama", &["a"]);
    let rec = import(dir.path()).unwrap();
    assert_eq!(rec.source, ModelSource::Gguf);
    assert_eq!(rec.id, "gguf/only");
}
