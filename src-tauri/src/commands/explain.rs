//! `explain`: the run's training examples closest to a text, for "Why this answer?" under a
//! prediction (Evaluate) or a fine-tuned answer (Chat & Compare).

use tauri::State;
use tunesmith::explain::{ExplainRequest, Explanation};

use crate::error::CommandResult;
use crate::offload::blocking;
use crate::state::AppState;

/// The training examples of `request.run` closest to `request.text`, best first.
#[tauri::command]
#[specta::specta]
pub(crate) async fn explain(
    state: State<'_, AppState>,
    request: ExplainRequest,
) -> CommandResult<Explanation> {
    let home = state.home_owned()?;
    blocking(move || tunesmith::explain::explain(&home, &request)).await
}
