//! `train_start`: trains a new run, streaming its events; `job_cancel` pauses it at a checkpoint.

use tauri::ipc::Channel;
use tauri::State;
use tunesmith::train::{RunEvent, TrainRequest, TrainSummary};

use crate::error::CommandResult;
use crate::state::AppState;

/// Trains as `request` asks, as job `job_id`, sending every [`RunEvent`] (the first carries the
/// new run's id). Resolves when the run finishes, is cancelled (status `cancelled`) or fails.
#[tauri::command]
#[specta::specta]
pub(crate) async fn train_start(
    state: State<'_, AppState>,
    job_id: String,
    request: TrainRequest,
    on_event: Channel<RunEvent>,
) -> CommandResult<TrainSummary> {
    crate::training_job::run(&state, &job_id, on_event, move |home, cancel, on_event| {
        tunesmith::train::train(home, &request, cancel, on_event)
    })
    .await
}
