//! `app_quit`: the UI's answer "quit" to the `close-requested` event (see [`crate::close`]).

use std::time::{Duration, Instant};

use tauri::{AppHandle, Runtime, State};

use crate::error::CommandResult;
use crate::state::AppState;

/// How long quitting waits for cancelled jobs to reach a safe point (a training step, a chunk).
const PAUSE_WAIT: Duration = Duration::from_secs(120);

/// Quits the app. With `pause_jobs`, every job is cancelled first (training writes a checkpoint,
/// so the run can be resumed) and the app waits for them to end, at most two minutes.
#[tauri::command]
#[specta::specta]
pub(crate) async fn app_quit<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    pause_jobs: bool,
) -> CommandResult<()> {
    if pause_jobs {
        let jobs = std::sync::Arc::clone(state.jobs());
        jobs.cancel_all();
        // Wait off the async runtime: the jobs end on their own threads.
        let _ = tauri::async_runtime::spawn_blocking(move || {
            let start = Instant::now();
            while jobs.any_stoppable() && start.elapsed() < PAUSE_WAIT {
                std::thread::sleep(Duration::from_millis(50));
            }
        })
        .await;
    }
    state.mark_close_asked();
    app.exit(0);
    Ok(())
}
