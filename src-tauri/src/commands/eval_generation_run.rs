//! `eval_generation_run`: a generation run's held-out response loss and perplexity, base vs
//! fine-tuned, on its test split.

use tauri::State;

use crate::error::CommandResult;
use crate::offload::blocking;
use crate::state::AppState;

/// Scores generation run `run` on its own test split and records both evaluations in its history,
/// where the Evaluate screen and the run page read them (`runs_show`). Answers the test rows scored.
#[tauri::command]
#[specta::specta]
pub(crate) async fn eval_generation_run(
    state: State<'_, AppState>,
    run: String,
) -> CommandResult<u32> {
    let home = state.home_owned()?;
    blocking(move || {
        let report = tunesmith::eval::evaluate_generation(&home, &run, None)?;
        Ok(u32::try_from(report.rows).unwrap_or(u32::MAX))
    })
    .await
}
