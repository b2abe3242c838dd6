//! `errors_correct`: a corrected copy of a run's data (labels changed, rows left out) written beside
//! the original, which is never edited; recorded in the run's history.

use tauri::State;
use tunesmith::errors_report::{CorrectedCopy, Corrections};

use crate::error::CommandResult;
use crate::offload::blocking;
use crate::state::AppState;

/// Writes the corrected copy of run `run`'s data.
#[tauri::command]
#[specta::specta]
pub(crate) async fn errors_correct(
    state: State<'_, AppState>,
    run: String,
    corrections: Corrections,
) -> CommandResult<CorrectedCopy> {
    let home = state.home_owned()?;
    blocking(move || tunesmith::errors_report::correct(&home, &run, &corrections)).await
}
