//! `job_import`: "Bring back a run": a job folder with the trainer's output copied back into it,
//! checked against its manifest and recorded as the job's run in the history.

use std::path::PathBuf;

use tauri::State;
use tunesmith::job::JobImportSummary;

use crate::error::CommandResult;
use crate::offload::blocking;
use crate::state::AppState;

/// Imports the job folder `dir`; answers the run, what was imported and its last validation scores.
#[tauri::command]
#[specta::specta]
pub(crate) async fn job_import(
    state: State<'_, AppState>,
    dir: PathBuf,
) -> CommandResult<JobImportSummary> {
    let home = state.home_owned()?;
    blocking(move || tunesmith::job::import_job(&home, &dir)).await
}
