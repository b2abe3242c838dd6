//! `data_inspect`: the data doctor's report on a dataset file and a preview of its first rows.

use tunesmith::data::{DataInspection, InspectRequest};

use crate::error::CommandResult;
use crate::offload::blocking;

/// Inspects the file `request` names: the report and the first rows.
#[tauri::command]
#[specta::specta]
pub(crate) async fn data_inspect(request: InspectRequest) -> CommandResult<DataInspection> {
    blocking(move || {
        tunesmith::data::inspect_with_preview(&request.into_data_request(), &mut |_| {})
    })
    .await
}
