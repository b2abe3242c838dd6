//! Reading a whole dataset: the streaming `inspect` (report only, bounded memory) and `Dataset`
//! (report + examples + split) that training uses. Both run the same single pass, so what the
//! report says is exactly what training gets.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::doctor::{Context, Doctor, Fixes};
use crate::error::{DataError, Result};
use crate::example::{Content, Example};
use crate::finding::Finding;
use crate::model::ModelText;
use crate::report::InspectReport;
use crate::roles::{self, RoleOverrides, Schema};
use crate::source::{ReadOptions, Row, Source};
use crate::split::{SplitConfig, SplitItem, SplitPlan};

/// The maximum length used when neither the user nor the model says.
pub const DEFAULT_MAX_LEN: u32 = 512;
const LENGTH_BATCH: usize = 1024;
const PROGRESS_EVERY: u64 = 16_384;

/// Everything the user can choose about reading and checking a dataset.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct InspectOptions {
    /// Format and header, when not sniffed.
    #[serde(skip)]
    pub read: ReadOptions,
    /// Corrections to the guessed column roles.
    pub roles: RoleOverrides,
    /// The fixes chosen.
    pub fixes: Fixes,
    /// The maximum token length (default: the model's context, else 512).
    pub max_len: Option<u32>,
    /// The split to report (and, for [`Dataset::load`], the default one).
    pub split: SplitConfig,
}

/// How far reading has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Progress {
    /// Bytes of the file read.
    pub bytes_read: u64,
    /// The file's size.
    pub total_bytes: u64,
    /// Rows read.
    pub rows: u64,
}

/// Inspects `path` in one streaming pass, holding only small per-row hashes: a 1 GB file does not
/// need 1 GB of memory. `model` supplies the tokenizer for token lengths (else they are estimated).
pub fn inspect(
    path: &Path,
    options: &InspectOptions,
    model: Option<&ModelText>,
    progress: &mut dyn FnMut(Progress),
) -> Result<InspectReport> {
    Ok(scan(path, options, model, progress, false)?.0)
}

/// A dataset read for training: the report, the examples training keeps, and what splitting needs.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The doctor's report.
    pub report: InspectReport,
    /// The roles the examples were built with.
    pub schema: Schema,
    /// The examples training keeps (after the chosen fixes), in file order.
    pub examples: Vec<Example>,
    /// One split item per example.
    pub items: Vec<SplitItem>,
    /// The class names, sorted; a split item's `class` indexes this list (classification).
    pub classes: Vec<String>,
}

impl Dataset {
    /// Reads `path` whole, with the same checks as [`inspect`].
    pub fn load(
        path: &Path,
        options: &InspectOptions,
        model: Option<&ModelText>,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Dataset> {
        let (report, schema, examples, items, classes) =
            scan(path, options, model, progress, true)?;
        Ok(Dataset {
            report,
            schema,
            examples,
            items,
            classes,
        })
    }

    /// Whether training may use it (no errors).
    pub fn is_usable(&self) -> bool {
        self.report.is_usable()
    }

    /// The findings that block training.
    pub fn errors(&self) -> &[Finding] {
        &self.report.errors
    }

    /// The content fingerprint (`sha256:...`) of the examples.
    pub fn fingerprint(&self) -> &str {
        &self.report.fingerprint
    }

    /// A train/validation/test split of the examples.
    pub fn split(&self, config: &SplitConfig) -> Result<SplitPlan> {
        self.check_group(config)?;
        SplitPlan::holdout(&self.items, &self.classes, config, &self.report.fingerprint)
    }

    /// `k` stratified folds of the examples.
    pub fn k_fold(&self, k: usize, seed: u64) -> Result<SplitPlan> {
        SplitPlan::k_fold(
            &self.items,
            &self.classes,
            k,
            seed,
            self.schema.task == roles::Task::Classify,
            &self.report.fingerprint,
        )
    }

    fn check_group(&self, config: &SplitConfig) -> Result<()> {
        // Groups are read while scanning; a different group column needs a new load.
        if config.group_column.is_some()
            && self.items.iter().all(|i| i.group.is_none())
            && !self.items.is_empty()
        {
            return Err(DataError::Split(
                "the group column was not read; load the dataset with the split's group column set"
                    .into(),
            ));
        }
        Ok(())
    }
}

type Scanned = (
    InspectReport,
    Schema,
    Vec<Example>,
    Vec<SplitItem>,
    Vec<String>,
);

fn scan(
    path: &Path,
    options: &InspectOptions,
    model: Option<&ModelText>,
    progress: &mut dyn FnMut(Progress),
    keep: bool,
) -> Result<Scanned> {
    let source = Source::open(path, &options.read)?;
    let schema = roles::guess(&source, &options.roles)?;
    let group_index = match &options.split.group_column {
        Some(name) => Some(
            source
                .columns
                .iter()
                .position(|c| c == name)
                .or_else(|| {
                    source
                        .columns
                        .iter()
                        .position(|c| c.eq_ignore_ascii_case(name))
                })
                .ok_or_else(|| DataError::NoSuchColumn {
                    path: path.to_path_buf(),
                    column: name.clone(),
                    available: source
                        .columns
                        .iter()
                        .map(|c| format!("`{c}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                })?,
        ),
        None => None,
    };
    let counter = model
        .map(|m| &m.counter)
        .unwrap_or(&crate::length::LengthCounter::Estimate);
    let template = model.and_then(|m| m.chat_template.as_ref());
    let max_len = options
        .max_len
        .or(model.and_then(|m| m.context_len))
        .unwrap_or(DEFAULT_MAX_LEN);

    let bytes = Arc::new(AtomicU64::new(0));
    let mut rows = source.rows(Some(bytes.clone()))?;
    let mut doctor = Doctor::new(schema.task);
    let mut examples: Vec<Example> = Vec::new();
    let mut pending: Vec<String> = Vec::with_capacity(LENGTH_BATCH);
    let mut pending_from = 0usize;
    let mut seen = 0u64;
    let report_progress = |seen: u64, progress: &mut dyn FnMut(Progress)| {
        progress(Progress {
            bytes_read: bytes.load(Ordering::Relaxed).min(source.size),
            total_bytes: source.size,
            rows: seen,
        })
    };
    for row in rows.by_ref() {
        seen += 1;
        match row {
            Row::Problem(p) => doctor.problem(p),
            Row::Record(record) => match Example::from_record(&record, &schema) {
                Err(what) => doctor.missing(record.line, what),
                Ok(ex) => {
                    let group = group_index
                        .and_then(|i| record.fields.get(i))
                        .map(|s| s.as_str());
                    doctor.example(&ex, group);
                    pending.push(length_text(&ex, template));
                    if keep {
                        examples.push(ex);
                    }
                    if pending.len() == LENGTH_BATCH {
                        doctor.set_lengths(pending_from, &counter.count(&pending));
                        pending.clear();
                        pending_from = doctor.keys.len();
                    }
                }
            },
        }
        if seen % PROGRESS_EVERY == 0 {
            report_progress(seen, progress);
        }
    }
    if !pending.is_empty() {
        doctor.set_lengths(pending_from, &counter.count(&pending));
    }
    report_progress(seen, progress);
    let converted_fields = rows.converted_fields();
    let cx = Context {
        source: &source,
        schema: &schema,
        fixes: options.fixes,
        split: &options.split,
        max_len,
        length_method: counter.method(),
        converted_fields,
    };
    let outcome = doctor.finish(&cx, keep)?;
    let mut kept = Vec::new();
    if keep {
        let mut labels = outcome.labels.into_iter();
        for (mut ex, k) in examples.into_iter().zip(outcome.keep) {
            if !k {
                continue;
            }
            if let (Content::Labelled { label, .. }, Some(merged)) =
                (&mut ex.content, labels.next())
            {
                *label = merged;
            }
            kept.push(ex);
        }
    }
    Ok((outcome.report, schema, kept, outcome.items, outcome.classes))
}

/// The text whose tokens are counted: what the model will actually read.
fn length_text(ex: &Example, template: Option<&crate::template::ChatTemplate>) -> String {
    match (&ex.content, template) {
        (Content::Chat { messages }, Some(t)) => {
            t.render(messages, false).unwrap_or_else(|_| ex.full_text())
        }
        _ => ex.full_text(),
    }
}
