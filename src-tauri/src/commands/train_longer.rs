//! `train_longer`: "train longer" for a finished run that learned too little: more epochs from its
//! last checkpoint, as the same run (see `tunesmith::train::longer`).

use tauri::ipc::Channel;
use tauri::State;
use tunesmith::train::{RunEvent, TrainSummary};

use crate::error::CommandResult;
use crate::state::AppState;

/// Trains run `run` `more_epochs` epochs longer (`None`: half as many again) as job `job_id`,
/// sending every [`RunEvent`].
#[tauri::command]
#[specta::specta]
pub(crate) async fn train_longer(
    state: State<'_, AppState>,
    job_id: String,
    run: String,
    more_epochs: Option<u32>,
    on_event: Channel<RunEvent>,
) -> CommandResult<TrainSummary> {
    crate::training_job::run(&state, &job_id, on_event, move |home, cancel, on_event| {
        tunesmith::train::longer(home, &run, more_epochs.map(|n| n as usize), cancel, on_event)
    })
    .await
}
