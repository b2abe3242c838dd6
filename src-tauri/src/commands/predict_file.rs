//! `predict_file`: every row of a data file classified or answered by a run, written to a new file
//! beside it, with progress (rows, bytes, ETA); cancellable between chunks.

use tauri::ipc::Channel;
use tauri::State;
use tunesmith::chat::CancelHandle;
use tunesmith::predict_file::{PredictFileProgress, PredictFileRequest, PredictFileSummary};

use crate::error::CommandResult;
use crate::jobs::{JobKind, Stopper};
use crate::offload::blocking;
use crate::state::AppState;

/// Predicts `request.data` with `request.run` as job `job_id`, sending progress after each chunk.
#[tauri::command]
#[specta::specta]
pub(crate) async fn predict_file(
    state: State<'_, AppState>,
    job_id: String,
    request: PredictFileRequest,
    on_progress: Channel<PredictFileProgress>,
) -> CommandResult<PredictFileSummary> {
    let home = state.home_owned()?;
    let cancel = CancelHandle::new();
    let job = state.jobs().start(
        &job_id,
        JobKind::PredictFile,
        Stopper::Generate(cancel.clone()),
    )?;
    blocking(move || {
        let _job = job;
        tunesmith::predict_file::predict_file(&home, &request, Some(&cancel), &mut |p| {
            let _ = on_progress.send(p.clone());
        })
    })
    .await
}
