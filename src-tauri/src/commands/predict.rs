//! `predict`: a classification run's label probabilities for one text.

use tauri::State;
use tunesmith::predict::Prediction;

use crate::error::CommandResult;
use crate::offload::blocking;
use crate::state::AppState;

/// Classifies `text` with run `run`.
#[tauri::command]
#[specta::specta]
pub(crate) async fn predict(
    state: State<'_, AppState>,
    run: String,
    text: String,
) -> CommandResult<Prediction> {
    let home = state.home_owned()?;
    blocking(move || tunesmith::predict::predict(&home, &run, &text)).await
}
