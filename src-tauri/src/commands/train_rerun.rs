//! `train_rerun`: trains a run again from the start as a new run (same settings, seed and split).

use tauri::ipc::Channel;
use tauri::State;
use tunesmith::train::{RunEvent, TrainSummary};

use crate::error::CommandResult;
use crate::state::AppState;

/// Re-runs run `run` as job `job_id`, sending every [`RunEvent`] of the new run.
#[tauri::command]
#[specta::specta]
pub(crate) async fn train_rerun(
    state: State<'_, AppState>,
    job_id: String,
    run: String,
    on_event: Channel<RunEvent>,
) -> CommandResult<TrainSummary> {
    crate::training_job::run(&state, &job_id, on_event, move |home, cancel, on_event| {
        tunesmith::train::rerun(home, &run, cancel, on_event)
    })
    .await
}
