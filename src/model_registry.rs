//! The models Tunesmith remembers, kept in the run history's `models` table (issue 6: "in the
//! store"), so imports and pulls survive restarts beside the runs that used them.
//!
//! The table keeps what a user chooses by (name, source, path, architecture, parameters, context
//! length, size). Whether the engine supports a model is not stored: it is worked out again from the
//! files each time the list is shown, so a model whose files were moved or deleted says so instead
//! of being offered as usable.

use std::path::Path;

use tunesmith_hub::import::{ModelRecord, ModelSource};
use tunesmith_hub::registry::ModelRegistry;
use tunesmith_store::models::NewModel;
use tunesmith_store::Store;

use crate::Result;

/// Remembers `record` (idempotent: one row per path).
pub fn remember(store: &Store, record: &ModelRecord) -> Result<()> {
    store.upsert_model(&NewModel {
        source: record.source,
        name: record.id.clone(),
        revision: record.revision.clone(),
        path: record.path.clone(),
        architecture: record.architecture.clone(),
        parameters: record.parameters,
        context_length: record.context_length,
        size_bytes: record.size_on_disk,
        hash: None,
        origin: None,
    })?;
    Ok(())
}

/// Every remembered model, described afresh from its files.
pub fn remembered(store: &Store) -> Result<Vec<ModelRecord>> {
    Ok(store
        .models()?
        .into_iter()
        .map(|m| describe(&m.name, m.source, &m.path))
        .collect())
}

/// Describes a remembered model from its files; one whose files are gone or no longer load is kept
/// in the list, marked unsupported with the reason, so the user sees what happened to it.
fn describe(name: &str, source: ModelSource, path: &Path) -> ModelRecord {
    let fresh = match source {
        ModelSource::Gguf => tunesmith_hub::import::inspect_gguf(path),
        ModelSource::Hub | ModelSource::Local => tunesmith_hub::import::inspect_folder(path),
    };
    match fresh {
        Ok(mut rec) => {
            rec.id = name.to_string();
            rec.source = source;
            rec
        }
        Err(e) => ModelRecord {
            id: name.to_string(),
            source,
            path: path.to_path_buf(),
            revision: None,
            architecture: None,
            family: None,
            supported: false,
            unsupported_reason: Some(format!("{e}; import it again or remove it")),
            parameters: None,
            context_length: None,
            size_on_disk: 0,
        },
    }
}

/// The hub crate merges cached repositories with a registry through its `ModelRegistry` trait; this
/// hands it the records already read from the store.
pub struct Snapshot(pub Vec<ModelRecord>);

impl ModelRegistry for Snapshot {
    fn upsert(&mut self, record: &ModelRecord) -> tunesmith_hub::Result<()> {
        self.0.retain(|r| r.path != record.path);
        self.0.push(record.clone());
        Ok(())
    }

    fn list(&self) -> tunesmith_hub::Result<Vec<ModelRecord>> {
        Ok(self.0.clone())
    }
}
