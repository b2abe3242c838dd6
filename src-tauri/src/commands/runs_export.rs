//! `runs_export`: a generation run's fine-tuned model as a PEFT adapter, a merged transformers
//! folder, or a GGUF file with an Ollama Modelfile.

use tauri::State;
use tunesmith::export::{ExportRequest, ExportSummary};

use crate::error::CommandResult;
use crate::offload::blocking;
use crate::state::AppState;

/// Exports run `request.run` as `request.format` into a new folder (never over an existing one)
/// and records it in the run's history; answers the folder, its files and how to use them.
#[tauri::command]
#[specta::specta]
pub(crate) async fn runs_export(
    state: State<'_, AppState>,
    request: ExportRequest,
) -> CommandResult<ExportSummary> {
    let home = state.home_owned()?;
    blocking(move || tunesmith::export::export(&home, &request)).await
}
