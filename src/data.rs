//! `data`: reading a user's dataset, the data doctor's report, and the split training uses.
//!
//! The CLI's `tunesmith data inspect`, the app's data page and `tunesmith train` all go through
//! [`inspect`] / [`load`], so the same file gets the same report, the same refusal when it is not
//! usable ([`require_usable`]), and the same seeded split and fingerprint in the run's record.

use std::path::{Path, PathBuf};

pub use tunesmith_data::{
    Content, Dataset, Example, Finding, Fixes, InspectOptions, InspectReport, Message, ModelText,
    Progress, Role, RoleOverrides, Severity, SplitConfig, SplitPlan, Task,
};

use serde::Serialize;
use tunesmith_data::source::Row;
use tunesmith_data::{ReadOptions, Source};

use crate::error::{Error, Result};

/// What the user asked for, as the CLI flags and the app's data page give it.
#[derive(Debug, Clone, Default)]
pub struct DataRequest {
    /// The dataset file.
    pub file: PathBuf,
    /// The model whose tokenizer counts tokens and whose context bounds the length: a folder, a
    /// `tokenizer.json`, or a hub id (`owner/name`) already in the HF cache.
    pub model: Option<String>,
    /// Roles, fixes, maximum length and split.
    pub options: InspectOptions,
}

/// Loads the text side (tokenizer, context length, chat template) of the model the user named.
pub fn model_text(spec: &str) -> Result<ModelText> {
    let path = Path::new(spec);
    let dir = if path.exists() {
        path.to_path_buf()
    } else {
        let cache = tunesmith_hub::cache::hub_cache_dir();
        let located = tunesmith_hub::locate::locate(spec, &cache, "main").map_err(|e| {
            tunesmith_data::DataError::Model {
                path: path.to_path_buf(),
                reason: e.to_string(),
            }
        })?;
        match located {
            Some(tunesmith_hub::locate::Located::Folder(dir)) => dir,
            Some(tunesmith_hub::locate::Located::Gguf(p)) => p,
            None => {
                return Err(Error::Data(tunesmith_data::DataError::Model {
                    path: path.to_path_buf(),
                    reason: format!("it is not on this computer (looked in {}); run `tunesmith models pull {spec}` or give the model's folder", cache.display()),
                }))
            }
        }
    };
    Ok(ModelText::load(&dir)?)
}

/// The doctor's report on `request.file`, read in one streaming pass.
pub fn inspect(request: &DataRequest, progress: &mut dyn FnMut(Progress)) -> Result<InspectReport> {
    let model = request.model.as_deref().map(model_text).transpose()?;
    Ok(tunesmith_data::inspect(
        &request.file,
        &request.options,
        model.as_ref(),
        progress,
    )?)
}

/// The dataset read whole for training (examples, report and split items).
pub fn load(request: &DataRequest, progress: &mut dyn FnMut(Progress)) -> Result<Dataset> {
    let model = request.model.as_deref().map(model_text).transpose()?;
    Ok(Dataset::load(
        &request.file,
        &request.options,
        model.as_ref(),
        progress,
    )?)
}

/// Refuses data with blocking findings, with the doctor's messages and fixes.
pub fn require_usable(report: &InspectReport) -> Result<()> {
    if report.is_usable() {
        return Ok(());
    }
    Err(Error::DataUnusable {
        file: report.file.clone(),
        reasons: unusable_reasons(report),
    })
}

/// The blocking findings as readable lines (`message (fix: flag)`).
pub fn unusable_reasons(report: &InspectReport) -> Vec<String> {
    report
        .errors
        .iter()
        .map(|e| match &e.fix {
            Some(fix) => format!("{} (fix: {fix})", e.message),
            None => e.message.clone(),
        })
        .collect()
}

/// Rows a preview shows at most: enough to see what the file holds, small enough to send at once.
pub const PREVIEW_ROWS: usize = 200;

/// The first rows of a file as text, for the data page's table.
#[derive(Debug, Clone, Default, Serialize, specta::Type)]
pub struct DataPreview {
    /// The column names (from the header, the JSON keys, or `column 1`, `column 2`, ...).
    pub columns: Vec<String>,
    /// Up to [`PREVIEW_ROWS`] readable rows, each with one value per column.
    pub rows: Vec<Vec<String>>,
    /// The 1-based line each row starts on, to match the doctor's findings to rows.
    pub lines: Vec<u64>,
    /// Whether the file has more rows than the preview holds.
    pub truncated: bool,
}

/// The doctor's report together with a preview of the first rows.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct DataInspection {
    /// The doctor's report.
    pub report: InspectReport,
    /// The first rows.
    pub preview: DataPreview,
}

/// The first `max_rows` readable rows of `file`, read as [`inspect`] reads it (same sniffing, same
/// encoding). Rows that cannot be read are left out here; the report names them.
pub fn preview(file: &Path, read: &ReadOptions, max_rows: usize) -> Result<DataPreview> {
    let source = Source::open(file, read)?;
    let width = source.columns.len();
    let mut preview = DataPreview {
        columns: source.columns.clone(),
        ..Default::default()
    };
    for row in source.rows(None)? {
        let Row::Record(mut record) = row else {
            continue;
        };
        if preview.rows.len() == max_rows {
            preview.truncated = true;
            break;
        }
        record.fields.resize(width, String::new());
        preview.lines.push(record.line);
        preview.rows.push(record.fields);
    }
    Ok(preview)
}

/// [`inspect`] plus a [`preview`] of the first [`PREVIEW_ROWS`] rows: what the app's data page shows.
pub fn inspect_with_preview(
    request: &DataRequest,
    progress: &mut dyn FnMut(Progress),
) -> Result<DataInspection> {
    let report = inspect(request, progress)?;
    let preview = preview(&request.file, &request.options.read, PREVIEW_ROWS)?;
    Ok(DataInspection { report, preview })
}
