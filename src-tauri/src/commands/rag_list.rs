//! `rag_list`: the document indexes in the home folder with their counts and settings.

use tauri::State;
use tunesmith::rag::IndexEntry;

use crate::error::CommandResult;
use crate::offload::blocking;
use crate::state::AppState;

/// Lists the document indexes.
#[tauri::command]
#[specta::specta]
pub(crate) async fn rag_list(state: State<'_, AppState>) -> CommandResult<Vec<IndexEntry>> {
    let home = state.home_owned()?;
    blocking(move || tunesmith::rag::list(&home)).await
}
