//! `runs_delete`: removes a run's history rows and files together.

use tauri::State;
use tunesmith::runs::DeletedRun;

use crate::error::CommandResult;
use crate::offload::blocking;
use crate::state::AppState;

/// Deletes run `run`.
#[tauri::command]
#[specta::specta]
pub(crate) async fn runs_delete(
    state: State<'_, AppState>,
    run: String,
) -> CommandResult<DeletedRun> {
    let home = state.home_owned()?;
    blocking(move || tunesmith::runs::delete(&home, &run)).await
}
