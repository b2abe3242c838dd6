//! `rag_index`: builds or brings up to date a document index from files and folders.

use std::path::PathBuf;

use serde::Deserialize;
use tauri::ipc::Channel;
use tauri::State;
use tunesmith::rag::{IndexRequest, IngestProgress, IngestReport};

use crate::error::CommandResult;
use crate::jobs::{JobKind, Stopper};
use crate::offload::blocking;
use crate::state::AppState;

/// What to index.
#[derive(Debug, Clone, Deserialize, specta::Type)]
pub(crate) struct RagIndexArgs {
    /// The index's name (letters, digits, `-`, `_`, `.`).
    name: String,
    /// Files and folders.
    paths: Vec<PathBuf>,
    /// A hub id, a model folder, or `none` for a keyword-only index (default: all-MiniLM-L6-v2,
    /// downloaded if missing).
    #[specta(optional)]
    embed_model: Option<String>,
    /// Passage size in tokens.
    #[specta(optional)]
    chunk_tokens: Option<u32>,
    /// Overlap between passages in tokens.
    #[specta(optional)]
    overlap_tokens: Option<u32>,
}

impl From<RagIndexArgs> for IndexRequest {
    fn from(a: RagIndexArgs) -> IndexRequest {
        IndexRequest {
            name: a.name,
            paths: a.paths,
            embed_model: a.embed_model,
            chunk_tokens: a.chunk_tokens.map(|c| c as usize),
            overlap_tokens: a.overlap_tokens.map(|o| o as usize),
            max_file_bytes: None,
            // In the app, choosing the default model means "get it": the user has no other way.
            allow_download: true,
        }
    }
}

/// Indexes `request.paths` into index `request.name` as job `job_id`, sending progress.
#[tauri::command]
#[specta::specta]
pub(crate) async fn rag_index(
    state: State<'_, AppState>,
    job_id: String,
    request: RagIndexArgs,
    on_event: Channel<IngestProgress>,
) -> CommandResult<IngestReport> {
    let home = state.home_owned()?;
    let job = state
        .jobs()
        .start(&job_id, JobKind::RagIndex, Stopper::Uncancellable)?;
    let request = IndexRequest::from(request);
    blocking(move || {
        let _job = job;
        tunesmith::rag::index(&home, &request, &mut |p| {
            let _ = on_event.send(p);
        })
    })
    .await
}
