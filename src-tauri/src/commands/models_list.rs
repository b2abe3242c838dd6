//! `models_list`: the models on this computer (HF cache and imports), offline.

use tauri::State;
use tunesmith::models::ModelList;

use crate::error::CommandResult;
use crate::offload::blocking;
use crate::state::AppState;

/// Lists cached and imported models.
#[tauri::command]
#[specta::specta]
pub(crate) async fn models_list(state: State<'_, AppState>) -> CommandResult<ModelList> {
    let home = state.home_owned()?;
    blocking(move || tunesmith::models::list(&home)).await
}
