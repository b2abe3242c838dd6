//! `models_search`: the hub's models for a query, with the curated suggestions for the task.

use tunesmith::models::SearchResults;

use crate::error::CommandResult;
use crate::offload::blocking;

/// Results shown per search.
const SEARCH_LIMIT: usize = 20;

/// Searches the hub for `query`, optionally for one task (`text-classification`, ...).
#[tauri::command]
#[specta::specta]
pub(crate) async fn models_search(
    query: String,
    task: Option<String>,
) -> CommandResult<SearchResults> {
    blocking(move || tunesmith::models::search(&query, task.as_deref(), SEARCH_LIMIT)).await
}
