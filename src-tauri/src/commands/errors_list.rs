//! `errors_list`: a classification run's wrong and least-sure test rows, for Evaluate's error grid.

use tauri::State;
use tunesmith::errors_report::ErrorsReport;

use crate::error::CommandResult;
use crate::offload::blocking;
use crate::state::AppState;

/// The wrong and least-sure test rows of run `run`.
#[tauri::command]
#[specta::specta]
pub(crate) async fn errors_list(
    state: State<'_, AppState>,
    run: String,
) -> CommandResult<ErrorsReport> {
    let home = state.home_owned()?;
    blocking(move || tunesmith::errors_report::errors(&home, &run)).await
}
