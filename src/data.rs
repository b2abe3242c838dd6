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

use serde::{Deserialize, Serialize};
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

/// The data page's choices, as the app's form, the CLI's flags and a training request give them:
/// the one place user choices become [`InspectOptions`]. Every field but `file` may be left out:
/// roles are then guessed, the split is the data crate's default (10 % validation, 10 % test, seed
/// 42), and no fix is applied.
#[derive(Debug, Clone, Default, Deserialize, specta::Type)]
// The app's bindings have always called it this.
#[serde(rename = "DataInspectArgs")]
pub struct InspectRequest {
    /// The dataset file (CSV, TSV, JSONL, TXT).
    pub file: PathBuf,
    /// The model whose tokenizer counts tokens: a folder, a `tokenizer.json`, a `.gguf` file or a
    /// cached hub id.
    #[serde(default)]
    #[specta(optional)]
    pub model: Option<String>,
    /// `classify` or `generate`; guessed from the columns when left out.
    #[serde(default)]
    #[specta(optional)]
    pub task: Option<Task>,
    /// The text column (classification).
    #[serde(default)]
    #[specta(optional)]
    pub text_column: Option<String>,
    /// The label column (classification).
    #[serde(default)]
    #[specta(optional)]
    pub label_column: Option<String>,
    /// The prompt column (generation).
    #[serde(default)]
    #[specta(optional)]
    pub prompt_column: Option<String>,
    /// The response column (generation).
    #[serde(default)]
    #[specta(optional)]
    pub response_column: Option<String>,
    /// Further text columns, joined to the first (the CLI's repeated `--text-column`).
    #[serde(default)]
    #[specta(optional)]
    pub more_text_columns: Option<Vec<String>>,
    /// A column whose rows must stay in the same split (a customer, a document).
    #[serde(default)]
    #[specta(optional)]
    pub group_column: Option<String>,
    /// The maximum length in tokens (default: the model's context, else 512).
    #[serde(default)]
    #[specta(optional)]
    pub max_len: Option<u32>,
    /// The share of rows for validation (0 to 1).
    #[serde(default)]
    #[specta(optional)]
    pub val_fraction: Option<f64>,
    /// The share of rows for the final test (0 to 1).
    #[serde(default)]
    #[specta(optional)]
    pub test_fraction: Option<f64>,
    /// The split's seed.
    #[serde(default)]
    #[specta(optional)]
    pub seed: Option<u64>,
    /// The fixes chosen.
    #[serde(default)]
    #[specta(optional)]
    pub fixes: Option<Fixes>,
}

impl InspectRequest {
    /// A request for `file` with everything else guessed or defaulted.
    pub fn new(file: PathBuf) -> Self {
        InspectRequest {
            file,
            ..Default::default()
        }
    }

    /// The reader's request: these choices as [`InspectOptions`].
    pub fn into_data_request(self) -> DataRequest {
        let mut options = InspectOptions::default();
        options.roles.task = self.task;
        options.roles.text_columns = self
            .text_column
            .or(self.prompt_column)
            .into_iter()
            .chain(self.more_text_columns.unwrap_or_default())
            .collect();
        options.roles.label_column = self.label_column;
        options.roles.response_column = self.response_column;
        options.max_len = self.max_len;
        if let Some(v) = self.val_fraction {
            options.split.validation = v;
        }
        if let Some(t) = self.test_fraction {
            options.split.test = t;
        }
        if let Some(s) = self.seed {
            options.split.seed = s;
        }
        options.split.group_column = self.group_column;
        options.fixes = self.fixes.unwrap_or_default();
        DataRequest {
            file: self.file,
            model: self.model,
            options,
        }
    }
}

/// Loads the text side (tokenizer, context length, chat template) of the model the user named: a
/// folder (or its `tokenizer.json`), a `.gguf` file (its own tokenizer, context length and chat
/// template), or a hub id already in the HF cache. A problem with the model is reported as one
/// (`DataError::Model`, code `model`), never as a problem with the user's data file.
pub fn model_text(spec: &str) -> Result<ModelText> {
    let path = Path::new(spec);
    let model_problem = |reason: String| {
        Error::Data(tunesmith_data::DataError::Model {
            path: path.to_path_buf(),
            reason,
        })
    };
    let located = if path.exists() {
        if is_gguf(path) {
            tunesmith_hub::locate::Located::Gguf(path.to_path_buf())
        } else {
            tunesmith_hub::locate::Located::Folder(path.to_path_buf())
        }
    } else {
        let cache = tunesmith_hub::cache::hub_cache_dir();
        match tunesmith_hub::locate::locate(spec, &cache, "main")
            .map_err(|e| model_problem(e.to_string()))?
        {
            Some(located) => located,
            None => return Err(model_problem(format!("it is not on this computer (looked in {}); run `tunesmith models pull {spec}` or give the model's folder", cache.display()))),
        }
    };
    match located {
        tunesmith_hub::locate::Located::Folder(dir) => Ok(ModelText::load(&dir)?),
        tunesmith_hub::locate::Located::Gguf(file) => {
            gguf_model_text(&file).map_err(|e| model_problem(e.to_string()))
        }
    }
}

/// Whether `path` is a `.gguf` model file (by its extension, as import and locate tell them).
fn is_gguf(path: &Path) -> bool {
    path.is_file()
        && path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("gguf"))
}

/// The text side of a `.gguf` model for the data doctor: the file's own tokenizer (the one
/// training and chat use), its context length and its chat template. A GGUF has no
/// `tokenizer.json`; reading the file as one reported the model as a broken data file (issue 18).
fn gguf_model_text(file: &Path) -> Result<tunesmith_data::ModelText> {
    use tunesmith_engine::tokenizer::GgufTokenizer;
    let mut gguf = tunesmith_engine::gguf::GgufFile::open(file)?;
    let tok = GgufTokenizer::from_gguf(&gguf)?;
    let (config, _) = tunesmith_engine::gguf::config::llama_config(&mut gguf)?;
    let name = |id: Option<u32>| {
        id.and_then(|i| tok.tokenizer.id_to_token(i))
            .unwrap_or_default()
    };
    let chat_template = match &tok.chat_template {
        Some(t) => Some(tunesmith_data::ChatTemplate::new(
            t,
            &name(tok.special.bos),
            &name(tok.special.eos),
        )?),
        None => None,
    };
    let mut tokenizer = tok.tokenizer.clone();
    // Lengths must not be hidden by truncation or padding.
    tokenizer
        .with_truncation(None)
        .map_err(|e| tunesmith_data::DataError::Model {
            path: file.to_path_buf(),
            reason: e.to_string(),
        })?;
    tokenizer.with_padding(None);
    Ok(tunesmith_data::ModelText {
        dir: file.parent().map(Path::to_path_buf).unwrap_or_default(),
        counter: tunesmith_data::length::LengthCounter::Tokenizer(Box::new(tokenizer)),
        context_len: u32::try_from(config.max_position_embeddings).ok(),
        chat_template,
    })
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
