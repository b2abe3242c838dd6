//! Error analysis for a classification run: `tunesmith errors` and the Evaluate screen's grid.
//! The held-out test rows the fine-tuned model got wrong (surest first) and the right ones it was
//! least sure of, each with its text, true label, predicted label, confidence and file line, and
//! marked where the data doctor's duplicate or conflicting-label check points at it.
//!
//! The user may then correct labels or leave rows out: [`correct`] writes a CORRECTED COPY beside
//! the original (`<name>.corrected.<ext>`, numbered when that exists) and records it in the run's
//! history; the user's file is only read, never changed. [`retrain`] trains the run's settings on
//! that copy as a new run whose parent is the old one.
//!
//! Rows are identified by the line they start on in the data file (what the doctor, the split and
//! this grid all report), so a correction names exactly the row the user saw.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tunesmith_data::normalize::near_key;
use tunesmith_data::roles::Role;
use tunesmith_data::source::Row;
use tunesmith_data::{Format, Source, Task};
use tunesmith_store::OutputKind;

use crate::session::EncoderSession;
use crate::home::Home;
use crate::run::{find_run, TrainPlan};
use crate::train::{CancelHandle, RunEvent, TrainSummary};
use crate::{Error, Result};

/// How many right answers the model was least sure of are listed beside the wrong ones.
pub const LEAST_SURE: usize = 20;

/// What the data doctor says about a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum RowFlag {
    /// The same text (ignoring case, spacing and punctuation) is in the data again with the same label.
    Duplicate,
    /// The same text is in the data with another label.
    Conflict,
}

/// One test row in the grid.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ErrorRow {
    /// The line it starts on in the data file.
    pub line: u64,
    /// The text classified.
    pub text: String,
    /// Its label in the data.
    pub label: String,
    /// The fine-tuned model's label.
    pub prediction: String,
    /// The probability of the predicted label.
    pub confidence: f32,
    /// The probability the model gave the label in the data.
    pub label_probability: f32,
    /// Whether the prediction is the data's label.
    pub correct: bool,
    /// What the data doctor's duplicate and conflict checks say about it.
    pub flags: Vec<RowFlag>,
    /// The other lines with the same text (duplicates and conflicts), first few.
    pub same_text_lines: Vec<u64>,
}

/// `tunesmith errors`' answer.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct ErrorsReport {
    /// The run.
    pub run_id: String,
    /// The data file the run trained on.
    pub data: PathBuf,
    /// The label column in it.
    pub label_column: String,
    /// The classes.
    pub labels: Vec<String>,
    /// Test rows scored.
    pub test_rows: usize,
    /// How many of them the model got wrong.
    pub wrong: usize,
    /// The wrong rows (surest first), then the right ones it was least sure of (least sure first).
    pub rows: Vec<ErrorRow>,
}

/// Lists run `query`'s wrong and least-sure test rows.
pub fn errors(home: &Home, query: &str) -> Result<ErrorsReport> {
    let run = find_run(home, query)?.require_classification("`errors`")?;
    let labels = run.record.labels.clone();
    let plan = TrainPlan::of_run(&run);
    let model = EncoderSession::open(&plan)?;
    let (dataset, split) = plan.load_data()?;
    let test = split.indices(2);
    if test.is_empty() {
        return Err(Error::invalid(format!(
            "run {} held out no test rows (--test-fraction 0), so there are no unseen rows to look at; train with a test fraction",
            run.id
        )));
    }
    let (examples, texts) = model.examples(&dataset, &labels)?;
    let task = model.fine_tuned(&plan, &labels, &run.folder.weights_file(&run.id)?)?;
    let test_examples: Vec<_> = test.iter().map(|&i| examples[i].clone()).collect();
    let probs = task.probabilities(&test_examples)?;

    // The doctor's duplicate/conflict key over every row of the data, not only the test rows:
    // a test row whose twin is in the training rows is exactly what the user should see.
    let mut same: HashMap<u64, Vec<(u64, String)>> = HashMap::new();
    for e in &dataset.examples {
        if let Some(l) = e.label() {
            same.entry(near_key(&e.key_text()))
                .or_default()
                .push((e.line, l.to_string()));
        }
    }

    let mut rows = Vec::with_capacity(test.len());
    for (k, &i) in test.iter().enumerate() {
        let p = &probs[k];
        let truth = examples[i].label;
        let (best, confidence) = p
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(j, v)| (j, *v))
            .unwrap_or((truth, 0.0));
        let e = &dataset.examples[i];
        let twins: Vec<&(u64, String)> = same
            .get(&near_key(&e.key_text()))
            .map(|v| v.iter().filter(|(line, _)| *line != e.line).collect())
            .unwrap_or_default();
        let mut flags = Vec::new();
        if twins.iter().any(|(_, l)| *l == labels[truth]) {
            flags.push(RowFlag::Duplicate);
        }
        if twins.iter().any(|(_, l)| *l != labels[truth]) {
            flags.push(RowFlag::Conflict);
        }
        rows.push(ErrorRow {
            line: e.line,
            text: texts[i].clone(),
            label: labels[truth].clone(),
            prediction: labels.get(best).cloned().unwrap_or_default(),
            confidence,
            label_probability: p.get(truth).copied().unwrap_or(0.0),
            correct: best == truth,
            flags,
            same_text_lines: twins.iter().take(5).map(|(l, _)| *l).collect(),
        });
    }
    let (mut wrong, mut right): (Vec<ErrorRow>, Vec<ErrorRow>) =
        rows.into_iter().partition(|r| !r.correct);
    wrong.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    right.sort_by(|a, b| a.confidence.total_cmp(&b.confidence));
    right.truncate(LEAST_SURE);
    let n_wrong = wrong.len();
    wrong.extend(right);
    let label_column = dataset
        .schema
        .index(Role::Label)
        .and_then(|i| dataset.schema.columns.get(i))
        .map(|c| c.name.clone())
        .unwrap_or_default();
    Ok(ErrorsReport {
        run_id: run.id,
        data: run.record.request.data.clone(),
        label_column,
        labels,
        test_rows: test.len(),
        wrong: n_wrong,
        rows: wrong,
    })
}

/// One label correction: the row starting on `line` gets `label`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct Relabel {
    /// The row's line in the data file.
    pub line: u64,
    /// Its new label.
    pub label: String,
}

/// The corrections to make to a run's data.
#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
pub struct Corrections {
    /// Rows to give another label.
    pub relabel: Vec<Relabel>,
    /// Rows to leave out (by line).
    pub leave_out: Vec<u64>,
}

/// What [`correct`] wrote.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct CorrectedCopy {
    /// The run whose data was corrected.
    pub run_id: String,
    /// The original file (unchanged).
    pub original: PathBuf,
    /// The corrected copy written beside it.
    pub copy: PathBuf,
    /// Rows in the copy.
    pub rows: u64,
    /// Rows whose label was changed.
    pub relabelled: usize,
    /// Rows left out.
    pub left_out: usize,
    /// Rows of the original that could not be read (not in the copy, as training skipped them).
    pub unreadable: u64,
}

/// Where the corrected copy of `original` goes: `<stem>.corrected.<ext>` beside it, or
/// `<stem>.corrected-2.<ext>` ... when that exists (an earlier correction is never overwritten).
pub fn corrected_path(original: &Path) -> PathBuf {
    let stem = original
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "data".into());
    let ext = original
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    let mut n = 1;
    loop {
        let name = if n == 1 {
            format!("{stem}.corrected{ext}")
        } else {
            format!("{stem}.corrected-{n}{ext}")
        };
        let p = original.with_file_name(name);
        if !p.exists() {
            return p;
        }
        n += 1;
    }
}

/// Writes a corrected copy of run `query`'s data file beside it (labels changed, rows left out as
/// `corrections` says) and records it in the run's history. The original is only read.
pub fn correct(home: &Home, query: &str, corrections: &Corrections) -> Result<CorrectedCopy> {
    let run = find_run(home, query)?.require_classification("correcting labels")?;
    if corrections.relabel.is_empty() && corrections.leave_out.is_empty() {
        return Err(Error::invalid(
            "nothing to correct: give a new label for a row (--relabel LINE=LABEL) or leave a row out (--leave-out LINE)",
        ));
    }
    let original = run.record.request.data.clone();
    let plan = TrainPlan::of_run(&run);
    let data = plan.data();
    let source = Source::open(&original, &data.options.read)?;
    let schema = tunesmith_data::roles::guess(&source, &data.options.roles)?;
    let label_at = schema.index(Role::Label).ok_or_else(|| {
        Error::invalid(format!(
            "{} has no label column any more; restore the file the run trained on",
            original.display()
        ))
    })?;
    let mut relabel: BTreeMap<u64, &str> = BTreeMap::new();
    for r in &corrections.relabel {
        if r.label.trim().is_empty() {
            return Err(Error::invalid(format!(
                "line {}: the new label is empty; give a label or leave the row out instead",
                r.line
            )));
        }
        relabel.insert(r.line, r.label.trim());
    }
    let leave: std::collections::BTreeSet<u64> = corrections.leave_out.iter().copied().collect();
    if let Some(line) = leave.iter().find(|l| relabel.contains_key(l)) {
        return Err(Error::invalid(format!(
            "line {line} is both relabelled and left out; choose one"
        )));
    }

    let copy = corrected_path(&original);
    let tmp = tunesmith_store::files::temp_path_for(&copy);
    let written = (|| -> Result<(u64, u64, Vec<u64>)> {
        let file = File::create(&tmp).map_err(|e| write_error(&tmp, e))?;
        let mut out = CopyWriter::new(BufWriter::with_capacity(1 << 16, file), &source)?;
        let (mut rows, mut unreadable) = (0u64, 0u64);
        let mut seen = Vec::new();
        for row in source.rows(None)? {
            let mut record = match row {
                Row::Record(r) => r,
                Row::Problem(_) => {
                    unreadable += 1;
                    continue;
                }
            };
            if leave.contains(&record.line) {
                seen.push(record.line);
                continue;
            }
            if let Some(label) = relabel.get(&record.line) {
                seen.push(record.line);
                if record.fields.len() <= label_at {
                    record.fields.resize(label_at + 1, String::new());
                }
                record.fields[label_at] = label.to_string();
            }
            out.write(&record.fields)?;
            rows += 1;
        }
        out.finish().map_err(|e| write_error(&tmp, e))?;
        Ok((rows, unreadable, seen))
    })();
    let (rows, unreadable, seen) = match written {
        Ok(w) => w,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    let wanted: Vec<u64> = relabel.keys().chain(leave.iter()).copied().collect();
    if let Some(missing) = wanted.iter().find(|l| !seen.contains(l)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::invalid(format!(
            "{} has no row starting on line {missing}; use the line numbers `tunesmith errors` shows",
            original.display()
        )));
    }
    tunesmith_store::files::commit(&tmp, &copy)?;
    let copy = copy.canonicalize().unwrap_or(copy);
    let original = original.canonicalize().unwrap_or(original);
    let store = crate::runs::open_store(home)?;
    store.record_output(
        &run.id,
        OutputKind::CorrectedData,
        &original,
        &copy,
        rows,
        &serde_json::json!({
            "relabel": corrections.relabel,
            "leave_out": corrections.leave_out,
            "unreadable": unreadable,
        }),
    )?;
    Ok(CorrectedCopy {
        run_id: run.id,
        original,
        copy,
        rows,
        relabelled: relabel.len(),
        left_out: leave.len(),
        unreadable,
    })
}

/// Trains run `query`'s settings again on `data` (a corrected copy of its data) as a new run whose
/// parent is `query`; the history links the two.
pub fn retrain(
    home: &Home,
    query: &str,
    data: &Path,
    cancel: CancelHandle,
    on_event: &mut dyn FnMut(&RunEvent),
) -> Result<TrainSummary> {
    let run = find_run(home, query)?;
    if run.task() != Task::Classify {
        return Err(Error::invalid(format!(
            "run {} is a generation run; retraining on corrected labels applies to classifiers",
            run.id
        )));
    }
    if !data.is_file() {
        return Err(Error::invalid(format!(
            "{} does not exist; correct the labels first (tunesmith errors --run {} --relabel LINE=LABEL)",
            data.display(),
            run.id
        )));
    }
    crate::train::start(
        home,
        &TrainPlan::on_other_data(&run, data),
        cancel,
        on_event,
    )
}

fn write_error(path: &Path, e: std::io::Error) -> Error {
    Error::invalid(format!(
        "cannot write {}: {e}; the folder of your data must be writable for the corrected copy",
        path.display()
    ))
}

/// Writes rows in the original's layout (its separator and header; JSONL objects by column).
struct CopyWriter<W: Write> {
    inner: CopyOut<W>,
    columns: Vec<String>,
}

enum CopyOut<W: Write> {
    Delimited(Box<csv::Writer<W>>),
    Lines(W, Format),
}

impl<W: Write> CopyWriter<W> {
    fn new(w: W, source: &Source) -> Result<Self> {
        let inner = match source.format {
            Format::Delimited { delimiter } => {
                let mut c = csv::WriterBuilder::new()
                    .delimiter(delimiter)
                    .flexible(true)
                    .from_writer(w);
                if source.has_header {
                    c.write_record(&source.columns).map_err(csv_error)?;
                }
                CopyOut::Delimited(Box::new(c))
            }
            f => CopyOut::Lines(w, f),
        };
        Ok(CopyWriter {
            inner,
            columns: source.columns.clone(),
        })
    }

    fn write(&mut self, fields: &[String]) -> Result<()> {
        match &mut self.inner {
            CopyOut::Delimited(c) => c.write_record(fields).map_err(csv_error),
            CopyOut::Lines(w, format) => {
                let line = if *format == Format::Jsonl {
                    let obj: serde_json::Map<String, serde_json::Value> = self
                        .columns
                        .iter()
                        .zip(fields)
                        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                        .collect();
                    serde_json::to_string(&obj)
                        .map_err(|e| Error::invalid(format!("cannot write a row: {e}")))?
                } else {
                    fields.join(" ")
                };
                w.write_all(line.as_bytes())
                    .and_then(|_| w.write_all(b"\n"))
                    .map_err(|e| Error::invalid(format!("cannot write the corrected copy: {e}")))
            }
        }
    }

    fn finish(self) -> std::io::Result<()> {
        let mut w = match self.inner {
            CopyOut::Delimited(c) => c.into_inner().map_err(|e| e.into_error())?,
            CopyOut::Lines(w, _) => w,
        };
        w.flush()
    }
}

fn csv_error(e: csv::Error) -> Error {
    Error::invalid(format!("cannot write the corrected copy: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_corrected_copy_is_named_beside_the_original_and_never_over_an_earlier_one() {
        let dir = tempfile::tempdir().unwrap();
        let original = dir.path().join("tickets.csv");
        assert_eq!(
            corrected_path(&original),
            dir.path().join("tickets.corrected.csv")
        );
        std::fs::write(dir.path().join("tickets.corrected.csv"), "x").unwrap();
        assert_eq!(
            corrected_path(&original),
            dir.path().join("tickets.corrected-2.csv")
        );
    }
}
