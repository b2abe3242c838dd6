//! `train_resume`: continues a cancelled (paused), interrupted or failed run from its last
//! checkpoint, with the settings, data and seed it started with.

use tauri::ipc::Channel;
use tauri::State;
use tunesmith::train::{RunEvent, TrainSummary};

use crate::error::CommandResult;
use crate::state::AppState;

/// Resumes run `run` as job `job_id`, sending every [`RunEvent`].
#[tauri::command]
#[specta::specta]
pub(crate) async fn train_resume(
    state: State<'_, AppState>,
    job_id: String,
    run: String,
    on_event: Channel<RunEvent>,
) -> CommandResult<TrainSummary> {
    crate::training_job::run(&state, &job_id, on_event, move |home, cancel, on_event| {
        tunesmith::train::resume(home, &run, cancel, on_event)
    })
    .await
}
