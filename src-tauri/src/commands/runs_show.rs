//! `runs_show`: one run's page: settings, metric summaries, artefacts, evaluations, notes.

use tauri::State;
use tunesmith::runs::RunDetails;

use crate::error::CommandResult;
use crate::offload::blocking;
use crate::state::AppState;

/// Everything about the run `run` names (id, id prefix or unique name).
#[tauri::command]
#[specta::specta]
pub(crate) async fn runs_show(
    state: State<'_, AppState>,
    run: String,
) -> CommandResult<RunDetails> {
    let home = state.home_owned()?;
    blocking(move || tunesmith::runs::show(&home, &run)).await
}
