//! `ratings_tally`: win rates per pair of rated columns with a 95 % interval, in plain words.

use tauri::State;
use tunesmith::ratings_tally::RatingsTally;

use crate::error::CommandResult;
use crate::offload::blocking;
use crate::state::AppState;

/// Tallies every rating, or only run `run`'s.
#[tauri::command]
#[specta::specta]
pub(crate) async fn ratings_tally(
    state: State<'_, AppState>,
    run: Option<String>,
) -> CommandResult<RatingsTally> {
    let home = state.home_owned()?;
    blocking(move || tunesmith::ratings_tally::tally_history(&home, run.as_deref())).await
}
