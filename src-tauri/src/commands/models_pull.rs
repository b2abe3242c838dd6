//! `models_pull`: downloads a hub model into the HF cache, streaming progress; cancellable.

use tauri::ipc::Channel;
use tauri::State;
use tunesmith::models::{CancelToken, PullEvent, PullReport};

use crate::error::CommandResult;
use crate::jobs::{JobKind, Stopper};
use crate::offload::blocking;
use crate::state::AppState;

/// Pulls `id` at `revision` (default `main`) as job `job_id`, sending each [`PullEvent`].
#[tauri::command]
#[specta::specta]
pub(crate) async fn models_pull(
    state: State<'_, AppState>,
    job_id: String,
    id: String,
    revision: Option<String>,
    on_event: Channel<PullEvent>,
) -> CommandResult<PullReport> {
    let cancel = CancelToken::new();
    let job = state
        .jobs()
        .start(&job_id, JobKind::Pull, Stopper::Pull(cancel.clone()))?;
    let revision = revision.unwrap_or_else(|| "main".to_string());
    blocking(move || {
        let _job = job;
        // A closed window drops the channel; the download still finishes into the cache.
        tunesmith::models::pull(&id, &revision, &cancel, &mut |e| {
            let _ = on_event.send(e.clone());
        })
    })
    .await
}
