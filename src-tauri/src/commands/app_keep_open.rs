//! `app_keep_open`: the UI's answer "keep working" to the `close-requested` event (see
//! [`crate::close`]): nothing stops, and the next close asks again.

use tauri::State;

use crate::error::CommandResult;
use crate::state::AppState;

/// Keeps the app open; the next close request asks again.
#[tauri::command]
#[specta::specta]
pub(crate) async fn app_keep_open(state: State<'_, AppState>) -> CommandResult<()> {
    state.clear_close_asked();
    Ok(())
}
