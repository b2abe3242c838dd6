//! `ratings_add`: records one blind rating (the order re-drawn from its seed, so it un-blinds to
//! the column really shown first).

use tauri::State;
use tunesmith::ratings::{RateArgs, Rating};

use crate::error::CommandResult;
use crate::offload::blocking;
use crate::state::AppState;

/// Records `args`, replacing an earlier rating of the same question and columns.
#[tauri::command]
#[specta::specta]
pub(crate) async fn ratings_add(
    state: State<'_, AppState>,
    args: RateArgs,
) -> CommandResult<Rating> {
    let home = state.home_owned()?;
    blocking(move || tunesmith::ratings::rate(&home, &args)).await
}
