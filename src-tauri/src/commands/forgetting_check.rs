//! `forgetting_check`: what a generation run forgot (Evaluate's "Check what it forgot"): the base
//! and the fine-tuned model answer short general questions and read a general text.

use std::path::PathBuf;

use tauri::State;
use tunesmith::forgetting::ForgettingReport;

use crate::error::CommandResult;
use crate::offload::blocking;
use crate::state::AppState;

/// Checks what generation run `run` forgot, with the questions of `probes` (a JSONL or CSV file)
/// or the built-in general set; the result is kept with the run, where History shows it.
#[tauri::command]
#[specta::specta]
pub(crate) async fn forgetting_check(
    state: State<'_, AppState>,
    run: String,
    probes: Option<PathBuf>,
) -> CommandResult<ForgettingReport> {
    let home = state.home_owned()?;
    blocking(move || tunesmith::forgetting::check(&home, &run, probes.as_deref())).await
}
