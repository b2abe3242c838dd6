//! `job_export`: "Run elsewhere": the run the Train form describes, written as a folder a
//! distributed trainer (TRL on Accelerate, or Axolotl) runs unchanged, and queued in the history.

use tauri::State;
use tunesmith::job::{JobExportRequest, JobExportSummary};

use crate::error::CommandResult;
use crate::offload::blocking;
use crate::state::AppState;

/// Writes the job `request` asks for into a new folder; answers the run id it becomes, the rows,
/// the files and the launch command.
#[tauri::command]
#[specta::specta]
pub(crate) async fn job_export(
    state: State<'_, AppState>,
    request: JobExportRequest,
) -> CommandResult<JobExportSummary> {
    let home = state.home_owned()?;
    blocking(move || tunesmith::job::export_job(&home, &request)).await
}
