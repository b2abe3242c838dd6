//! `eval_generation_run`: a generation run's held-out response loss and perplexity, base vs
//! fine-tuned, on its test split, with a few held-out prompts answered by both.

use tauri::State;
use tunesmith::eval::SampleAnswer;

use crate::error::CommandResult;
use crate::offload::blocking;
use crate::state::AppState;

/// Scores generation run `run` on its own test split and records both evaluations in its history,
/// where the Evaluate screen and the run page read them (`runs_show`). Answers a few held-out
/// prompts with the reference answer and both models' greedy answers, side by side.
#[tauri::command]
#[specta::specta]
pub(crate) async fn eval_generation_run(
    state: State<'_, AppState>,
    run: String,
) -> CommandResult<Vec<SampleAnswer>> {
    let home = state.home_owned()?;
    blocking(move || Ok(tunesmith::eval::evaluate_generation(&home, &run, None)?.samples)).await
}
