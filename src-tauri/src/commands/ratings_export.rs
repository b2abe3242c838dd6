//! `ratings_export`: the ratings as preference pairs (JSONL for TRL's DPO trainer) and the
//! corrected answers as training rows (CSV), written whole or not at all.

use tauri::State;
use tunesmith::ratings_export::{RatingsExport, RatingsExportArgs};

use crate::error::CommandResult;
use crate::offload::blocking;
use crate::state::AppState;

/// Exports the ratings as `args` asks (by default into the Tunesmith folder's `ratings` folder).
#[tauri::command]
#[specta::specta]
pub(crate) async fn ratings_export(
    state: State<'_, AppState>,
    args: RatingsExportArgs,
) -> CommandResult<RatingsExport> {
    let home = state.home_owned()?;
    blocking(move || tunesmith::ratings_export::export(&home, &args)).await
}
