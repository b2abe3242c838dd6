//! The models Tunesmith knows: those in the HF cache (found by scanning it, so models downloaded by
//! Python tools appear too) and those imported from disk (remembered in a registry).
//!
//! The registry is a small trait so the facade can back it with the store's models table; a JSON
//! file implementation serves until then and in tests. Records never hold a token.

use std::path::{Path, PathBuf};

use crate::cache::{cached_repos, RepoCache};
use crate::import::{inspect_folder, ModelRecord, ModelSource};
use crate::{HubError, Result};

/// Where imported (and optionally cached) model records are kept.
pub trait ModelRegistry {
    /// Adds or replaces the record with the same `path`.
    fn upsert(&mut self, record: &ModelRecord) -> Result<()>;
    /// Every record.
    fn list(&self) -> Result<Vec<ModelRecord>>;
}

/// A registry in one JSON file (written atomically: a temporary file renamed over the old one).
#[derive(Debug, Clone)]
pub struct JsonRegistry {
    path: PathBuf,
}

impl JsonRegistry {
    /// The registry file at `path` (created on the first upsert).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        JsonRegistry { path: path.into() }
    }
}

impl ModelRegistry for JsonRegistry {
    fn upsert(&mut self, record: &ModelRecord) -> Result<()> {
        let mut all = self.list()?;
        all.retain(|r| r.path != record.path);
        all.push(record.clone());
        all.sort_by(|a, b| a.id.cmp(&b.id));
        let text = serde_json::to_string_pretty(&all)
            .map_err(|e| HubError::invalid(&self.path, e.to_string()))?;
        if let Some(parent) = self.path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| HubError::io(parent, e))?;
        }
        let tmp = self.path.with_extension("json.tmp");
        std::fs::write(&tmp, text).map_err(|e| HubError::io(&tmp, e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| HubError::io(&self.path, e))
    }

    fn list(&self) -> Result<Vec<ModelRecord>> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| {
                HubError::invalid(&self.path, format!("the model registry is damaged ({e}); delete it and import the models again"))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(HubError::io(&self.path, e)),
        }
    }
}

/// Describes the cached snapshot of one hub repository (`refs/main`, else the newest snapshot).
/// A snapshot that fails validation is still listed, unsupported, with the reason.
pub fn describe_cached(repo: &RepoCache) -> Option<ModelRecord> {
    let snapshot = match repo.resolve_revision("main") {
        Some(c) => repo.snapshot_dir(&c),
        None => repo.snapshots().into_iter().next()?,
    };
    let commit = snapshot
        .file_name()
        .map(|n| n.to_string_lossy().into_owned());
    let mut rec = match inspect_folder(&snapshot) {
        Ok(r) => r,
        Err(e) => ModelRecord {
            id: String::new(),
            source: ModelSource::Hub,
            path: snapshot.clone(),
            revision: None,
            architecture: None,
            family: None,
            supported: false,
            unsupported_reason: Some(e.to_string()),
            parameters: None,
            context_length: None,
            size_on_disk: crate::import::folder_size(&snapshot),
        },
    };
    rec.id = repo.id().to_string();
    rec.source = ModelSource::Hub;
    rec.revision = commit;
    Some(rec)
}

/// Every model known: the cache's repositories, then the registry's imports (sorted by id).
pub fn known_models(cache: &Path, registry: &dyn ModelRegistry) -> Result<Vec<ModelRecord>> {
    let mut all: Vec<ModelRecord> = cached_repos(cache)
        .iter()
        .filter_map(describe_cached)
        .collect();
    for r in registry.list()? {
        if !all.iter().any(|a| a.path == r.path) {
            all.push(r);
        }
    }
    all.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(all)
}
