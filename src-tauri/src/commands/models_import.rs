//! `models_import`: checks a model folder or `.gguf` file and remembers it.

use std::path::PathBuf;

use tauri::State;
use tunesmith::models::ModelRecord;

use crate::error::CommandResult;
use crate::offload::blocking;
use crate::state::AppState;

/// Imports the model at `path`.
#[tauri::command]
#[specta::specta]
pub(crate) async fn models_import(
    state: State<'_, AppState>,
    path: PathBuf,
) -> CommandResult<ModelRecord> {
    let home = state.home_owned()?;
    blocking(move || tunesmith::models::import(&home, &path)).await
}
