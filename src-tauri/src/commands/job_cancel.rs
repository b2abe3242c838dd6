//! `job_cancel`: stops any running job by the id the UI gave it.
//!
//! The job's own command then answers with how it ended: training answers `cancelled` after
//! writing a checkpoint (this is the UI's "pause"; `train_resume` continues the run), a download
//! answers with a cancelled error and keeps its partial file, a chat or comparison stops early.

use tauri::State;

use crate::error::CommandResult;
use crate::state::AppState;

/// Asks job `job_id` to stop.
#[tauri::command]
#[specta::specta]
pub(crate) async fn job_cancel(state: State<'_, AppState>, job_id: String) -> CommandResult<()> {
    state.jobs().cancel(&job_id)
}
