//! `runs_open_folder`: shows a run's files in the operating system's file manager.

use tauri::State;

use crate::error::CommandResult;
use crate::offload::blocking;
use crate::state::AppState;

/// Opens run `run`'s folder in the file manager and returns the folder's path (which the run page
/// also shows, for a system without a file manager).
#[tauri::command]
#[specta::specta]
pub(crate) async fn runs_open_folder(
    state: State<'_, AppState>,
    run: String,
) -> CommandResult<String> {
    let home = state.home_owned()?;
    blocking(move || {
        let dir = tunesmith::runs::folder(&home, &run)?;
        tunesmith::runs::reveal(&dir)?;
        Ok(dir.display().to_string())
    })
    .await
}
