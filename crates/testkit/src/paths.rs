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
        eprintln!("skipping: real model `{name}` not found at {} (run scripts/fetch-models)", p.display());
        None
    }
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
    std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(std::env::temp_dir)
}
