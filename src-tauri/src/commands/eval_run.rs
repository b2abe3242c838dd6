//! `eval_run`: base vs fine-tuned on a run's test split.

use tauri::State;
use tunesmith::eval::EvalReport;

use crate::error::CommandResult;
use crate::offload::blocking;
use crate::state::AppState;

/// Evaluates run `run` on its own test split.
#[tauri::command]
#[specta::specta]
pub(crate) async fn eval_run(state: State<'_, AppState>, run: String) -> CommandResult<EvalReport> {
    let home = state.home_owned()?;
    blocking(move || tunesmith::eval::evaluate(&home, &run, None)).await
}
