//! `rag_query`: the passages of an index that best answer a question (hybrid ranking).

use tauri::State;
use tunesmith::rag::{QueryResult, SearchMode};

use crate::error::CommandResult;
use crate::offload::blocking;
use crate::state::AppState;

/// The `top_k` best passages of index `name` for `question`.
#[tauri::command]
#[specta::specta]
pub(crate) async fn rag_query(
    state: State<'_, AppState>,
    name: String,
    question: String,
    top_k: Option<u32>,
) -> CommandResult<QueryResult> {
    let home = state.home_owned()?;
    let top_k = top_k.map_or(tunesmith::rag::DEFAULT_QUERY_TOP_K, |k| k as usize);
    blocking(move || tunesmith::rag::query(&home, &name, &question, top_k, SearchMode::Hybrid))
        .await
}
