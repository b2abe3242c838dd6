//! `data_inspect`: the data doctor's report on a dataset file and a preview of its first rows.

use std::path::PathBuf;

use serde::Deserialize;
use tunesmith::data::{DataInspection, DataRequest, Fixes, InspectOptions, Task};

use crate::error::CommandResult;
use crate::offload::blocking;

/// The data page's choices. Every field but `file` may be left out: roles are then guessed, the
/// split is 10 % validation and 10 % test with seed 42, and no fix is applied.
#[derive(Debug, Clone, Deserialize, specta::Type)]
pub(crate) struct DataInspectArgs {
    /// The dataset file (CSV, TSV, JSONL, TXT).
    file: PathBuf,
    /// The model whose tokenizer counts tokens: a folder, a `tokenizer.json`, or a cached hub id.
    #[specta(optional)]
    model: Option<String>,
    /// `classify` or `generate`; guessed from the columns when left out.
    #[specta(optional)]
    task: Option<Task>,
    /// The text column (classification).
    #[specta(optional)]
    text_column: Option<String>,
    /// The label column (classification).
    #[specta(optional)]
    label_column: Option<String>,
    /// The prompt column (generation).
    #[specta(optional)]
    prompt_column: Option<String>,
    /// The response column (generation).
    #[specta(optional)]
    response_column: Option<String>,
    /// A column whose rows must stay in the same split (a customer, a document).
    #[specta(optional)]
    group_column: Option<String>,
    /// The maximum length in tokens (default: the model's context, else 512).
    #[specta(optional)]
    max_len: Option<u32>,
    /// The share of rows for validation (0 to 1).
    #[specta(optional)]
    val_fraction: Option<f64>,
    /// The share of rows for the final test (0 to 1).
    #[specta(optional)]
    test_fraction: Option<f64>,
    /// The split's seed.
    #[specta(optional)]
    seed: Option<u64>,
    /// The fixes chosen.
    #[specta(optional)]
    fixes: Option<Fixes>,
}

impl From<DataInspectArgs> for DataRequest {
    fn from(a: DataInspectArgs) -> DataRequest {
        let mut options = InspectOptions::default();
        options.roles.task = a.task;
        options.roles.text_columns = a.text_column.or(a.prompt_column).into_iter().collect();
        options.roles.label_column = a.label_column;
        options.roles.response_column = a.response_column;
        options.max_len = a.max_len;
        if let Some(v) = a.val_fraction {
            options.split.validation = v;
        }
        if let Some(t) = a.test_fraction {
            options.split.test = t;
        }
        if let Some(s) = a.seed {
            options.split.seed = s;
        }
        options.split.group_column = a.group_column;
        options.fixes = a.fixes.unwrap_or_default();
        DataRequest {
            file: a.file,
            model: a.model,
            options,
        }
    }
}

/// Inspects the file `request` names: the report and the first rows.
#[tauri::command]
#[specta::specta]
pub(crate) async fn data_inspect(request: DataInspectArgs) -> CommandResult<DataInspection> {
    let request = DataRequest::from(request);
    blocking(move || tunesmith::data::inspect_with_preview(&request, &mut |_| {})).await
}
