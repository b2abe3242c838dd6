//! `runs_list`: every run in the history, newest first, for History and Home.

use tauri::State;
use tunesmith::runs::RunSummary;

use crate::error::CommandResult;
use crate::offload::blocking;
use crate::state::AppState;

/// Lists every run, newest first.
#[tauri::command]
#[specta::specta]
pub(crate) async fn runs_list(state: State<'_, AppState>) -> CommandResult<Vec<RunSummary>> {
    let home = state.home_owned()?;
    blocking(move || tunesmith::runs::list(&home)).await
}
