//! `train_corrected`: a run's settings trained on a corrected copy of its data, as a new run linked
//! to it (its parent in History).

use std::path::PathBuf;

use tauri::ipc::Channel;
use tauri::State;
use tunesmith::train::{RunEvent, TrainSummary};

use crate::error::CommandResult;
use crate::state::AppState;

/// Trains run `run`'s settings on `data` as job `job_id`, sending every [`RunEvent`] of the new run.
#[tauri::command]
#[specta::specta]
pub(crate) async fn train_corrected(
    state: State<'_, AppState>,
    job_id: String,
    run: String,
    data: PathBuf,
    on_event: Channel<RunEvent>,
) -> CommandResult<TrainSummary> {
    crate::training_job::run(&state, &job_id, on_event, move |home, cancel, on_event| {
        tunesmith::errors_report::retrain(home, &run, &data, cancel, on_event)
    })
    .await
}
