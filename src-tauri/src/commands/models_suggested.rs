//! `models_suggested`: the curated models for first-time users (compiled in; works offline).

use tunesmith::models::Suggestion;

use crate::error::CommandResult;

/// The curated suggestions for every task.
#[tauri::command]
#[specta::specta]
pub(crate) async fn models_suggested() -> CommandResult<Vec<Suggestion>> {
    Ok(tunesmith::models::suggested(None))
}
