//! `runs_compare`: two runs side by side (differing settings, metrics).

use tauri::State;
use tunesmith::runs::RunComparison;

use crate::error::CommandResult;
use crate::offload::blocking;
use crate::state::AppState;

/// Compares runs `left` and `right`.
#[tauri::command]
#[specta::specta]
pub(crate) async fn runs_compare(
    state: State<'_, AppState>,
    left: String,
    right: String,
) -> CommandResult<RunComparison> {
    let home = state.home_owned()?;
    blocking(move || tunesmith::runs::compare(&home, &left, &right)).await
}
