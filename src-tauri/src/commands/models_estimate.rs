//! `models_estimate`: peak memory (and time, once calibrated) for training a model one way, and
//! whether it fits.

use tauri::State;
use tunesmith::models::{EstimateOptions, EstimateReport};

use crate::error::CommandResult;
use crate::offload::blocking;
use crate::state::AppState;

/// Estimates training `model` with `options`; never downloads weights.
#[tauri::command]
#[specta::specta]
pub(crate) async fn models_estimate(
    state: State<'_, AppState>,
    model: String,
    options: EstimateOptions,
) -> CommandResult<EstimateReport> {
    let home = state.home_owned()?;
    blocking(move || tunesmith::models::estimate(&home, &model, &options)).await
}
