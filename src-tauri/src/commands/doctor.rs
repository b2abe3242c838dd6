//! `doctor`: the device, home folder and versions, for the status bar and the Home screen.

use tauri::State;
use tunesmith::doctor::DoctorReport;

use crate::error::CommandResult;
use crate::state::AppState;

/// Reports what this installation is and what it can use. Async so device detection never runs
/// on the window's thread.
#[tauri::command]
#[specta::specta]
pub(crate) async fn doctor(state: State<'_, AppState>) -> CommandResult<DoctorReport> {
    Ok(tunesmith::doctor::doctor(state.home()?))
}
