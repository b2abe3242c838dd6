//! A training run as an app job: registered under the UI's job id (so `job_cancel` pauses it at a
//! checkpoint), run on the blocking pool, every event forwarded to the UI's channel. Shared by
//! `train_start`, `train_resume` and `train_rerun`, which differ only in what they ask the library.

use tauri::ipc::Channel;
use tunesmith::home::Home;
use tunesmith::train::{CancelHandle, RunEvent, TrainSummary};

use crate::error::CommandResult;
use crate::jobs::{JobKind, Stopper};
use crate::offload::blocking;
use crate::state::AppState;

/// Runs `train` as training job `job_id`, sending each of its events to `on_event`.
pub async fn run<F>(
    state: &AppState,
    job_id: &str,
    on_event: Channel<RunEvent>,
    train: F,
) -> CommandResult<TrainSummary>
where
    F: FnOnce(&Home, CancelHandle, &mut dyn FnMut(&RunEvent)) -> tunesmith::Result<TrainSummary>
        + Send
        + 'static,
{
    let home = state.home_owned()?;
    let cancel = CancelHandle::new();
    let job = state
        .jobs()
        .start(job_id, JobKind::Train, Stopper::Train(cancel.clone()))?;
    blocking(move || {
        // Held until the run ends, so the job leaves the registry then, whatever the outcome.
        let _job = job;
        train(&home, cancel, &mut |e| {
            // A closed channel (the window reloaded) must not stop the run: it is recorded anyway.
            let _ = on_event.send(e.clone());
        })
    })
    .await
}
