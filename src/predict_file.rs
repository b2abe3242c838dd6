//! Using a trained run on a whole data file: `tunesmith predict --run RUN --data FILE --out FILE`
//! and the app's "Run on a file". Every row of a CSV/TSV/JSONL file is classified (label and
//! confidence) or answered (a greedy answer through the run's chat template), and written to a new
//! file holding every original column plus `prediction` (and `confidence` for classifiers).
//!
//! Promises:
//! - Bounded memory: rows are streamed from the data crate's reader ([`tunesmith_data::Source`]
//!   never holds more than one row) and predicted [`CHUNK_ROWS`] at a time; each output row is
//!   written as soon as it is predicted. A file of any length needs the model plus one chunk.
//! - Nothing is dropped silently: a row the reader cannot read as the header says (a ragged CSV
//!   line, a line that is not JSON) cannot be written column for column, so it is counted and
//!   listed with its line and what to do; a row whose text is empty is written with an empty
//!   prediction and listed too.
//! - No half-written output: the rows go to a temporary file beside the target, renamed over it only
//!   when every row is done; a cancel or an error removes it. The input file is only read, and an
//!   output path that is the input file is refused.
//! - The finished file is recorded in the run's history (`outputs`, kind `predictions`).
//!
//! Excel workbooks are not read: the data crate reads text formats only and says to save the sheet
//! as CSV (its message names the file).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tunesmith_data::roles::{self, Role};
use tunesmith_data::source::Row;
use tunesmith_data::{Format, ReadOptions, RoleOverrides, Source, Task};
use tunesmith_engine::task::{ClassifyExample, ClassifyTask};
use tunesmith_store::OutputKind;

use crate::chat::{AnswerOptions, CancelHandle};
use crate::session::{BaseHeld, DecoderSession, EncoderSession, RunWeights};
use crate::home::Home;
use crate::run::{find_run, FoundRun, TrainPlan};
use crate::{Error, Result};

/// Rows predicted together (one classifier batch; the unit of progress and cancel checks).
pub const CHUNK_ROWS: usize = 32;
/// Answer length for a generation run when none is asked for: enough for a paragraph.
pub const DEFAULT_FILE_MAX_TOKENS: usize = 128;
/// Problems listed in the summary (all are counted).
pub const LISTED_PROBLEMS: usize = 100;
/// The column added with the prediction.
pub const PREDICTION_COLUMN: &str = "prediction";
/// The column added with a classifier's confidence (the predicted label's probability).
pub const CONFIDENCE_COLUMN: &str = "confidence";

/// What to predict.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct PredictFileRequest {
    /// The run (id, id prefix, suffix or name).
    pub run: String,
    /// The data file (CSV, TSV, JSONL).
    pub data: PathBuf,
    /// Where to write; by default `<name>.predicted.<ext>` beside the data file.
    #[specta(optional)]
    pub out: Option<PathBuf>,
    /// The column to read (classification: the text; generation: the prompt); by default the
    /// run's own column when the file has it, else the one Tunesmith guesses.
    #[specta(optional)]
    pub column: Option<String>,
    /// Longest answer in tokens (generation runs).
    #[specta(optional)]
    pub max_tokens: Option<usize>,
}

impl PredictFileRequest {
    /// A request for `run` on `data`, written to the default place.
    pub fn new(run: &str, data: &Path) -> Self {
        PredictFileRequest {
            run: run.to_string(),
            data: data.to_path_buf(),
            out: None,
            column: None,
            max_tokens: None,
        }
    }
}

/// How far a file prediction is.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct PredictFileProgress {
    /// Rows written so far.
    pub rows: u64,
    /// Bytes of the data file read so far.
    pub bytes_read: u64,
    /// The data file's size.
    pub total_bytes: u64,
    /// Seconds since the start.
    pub elapsed_s: f64,
    /// Seconds left, from the pace so far (`None` until there is a pace).
    pub eta_s: Option<f64>,
}

/// A row that got no prediction (or could not be written), with where and why.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct RowIssue {
    /// The 1-based line the row starts on.
    pub line: u64,
    /// What is wrong and what to do.
    pub message: String,
}

/// What a file prediction did.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct PredictFileSummary {
    /// The run.
    pub run_id: String,
    /// `classify` or `generate`.
    pub task: String,
    /// The data file read.
    pub data: PathBuf,
    /// The file written.
    pub out: PathBuf,
    /// The columns whose text was given to the model.
    pub input_columns: Vec<String>,
    /// The columns of the file written (the original ones, then the added ones).
    pub columns: Vec<String>,
    /// Rows written (every readable row).
    pub rows: u64,
    /// Rows with a prediction.
    pub predicted: u64,
    /// Rows written without a prediction (empty text, or the model failed on that row).
    pub empty: u64,
    /// Rows that could not be read and are not in the output.
    pub unreadable: u64,
    /// The first problems met, by line (all are counted above).
    pub problems: Vec<RowIssue>,
    /// Seconds it took.
    pub seconds: f64,
}

/// The default output beside `data`: `<stem>.predicted.<ext>`.
pub fn default_out(data: &Path) -> PathBuf {
    let stem = data
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "data".into());
    let ext = data
        .extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_else(|| "csv".into());
    data.with_file_name(format!("{stem}.predicted.{ext}"))
}

/// Predicts every row of `request.data` with run `request.run`, reporting progress after each
/// chunk; `cancel` stops it between chunks (the partial output is removed).
pub fn predict_file(
    home: &Home,
    request: &PredictFileRequest,
    cancel: Option<&CancelHandle>,
    on_progress: &mut dyn FnMut(&PredictFileProgress),
) -> Result<PredictFileSummary> {
    let run = find_run(home, &request.run)?;
    let out = request
        .out
        .clone()
        .unwrap_or_else(|| default_out(&request.data));
    refuse_overwriting_input(&request.data, &out)?;
    if matches!(request.max_tokens, Some(0)) {
        return Err(Error::invalid(
            "--max-tokens must be at least 1 (the longest answer, in tokens)",
        ));
    }
    let source = Source::open(&request.data, &ReadOptions::default())?;
    let inputs = Inputs::choose(&source, &run, request.column.as_deref())?;
    let mut predictor = Predictor::load(home, &run, request.max_tokens)?;
    let mut added = vec![PREDICTION_COLUMN.to_string()];
    if predictor.is_classifier() {
        added.push(CONFIDENCE_COLUMN.to_string());
    }
    let mut columns = source.columns.clone();
    for name in &added {
        if columns.iter().any(|c| c == name) {
            return Err(Error::invalid(format!(
                "{} already has a `{name}` column; rename it (or use the earlier output's original file) so the new prediction does not hide it",
                request.data.display()
            )));
        }
    }
    columns.extend(added);

    let started = Instant::now();
    let tmp = tunesmith_store::files::temp_path_for(&out);
    let result = (|| -> Result<Counts> {
        let file = File::create(&tmp).map_err(|e| write_error(&tmp, e))?;
        let mut writer = OutputWriter::new(
            BufWriter::with_capacity(1 << 16, file),
            output_format(&out, source.format)?,
            &columns,
        )?;
        let read = Arc::new(AtomicU64::new(0));
        let mut counts = Counts::default();
        let mut chunk: Vec<(u64, Vec<String>)> = Vec::with_capacity(CHUNK_ROWS);
        let mut rows = source.rows(Some(read.clone()))?;
        loop {
            let next = rows.next();
            match &next {
                Some(Row::Record(r)) => chunk.push((r.line, r.fields.clone())),
                Some(Row::Problem(p)) => counts.unreadable(p.line, p.message.clone()),
                None => {}
            }
            if chunk.len() == CHUNK_ROWS || (next.is_none() && !chunk.is_empty()) {
                if cancel.is_some_and(|c| c.is_cancelled()) {
                    return Err(Error::invalid(
                        "the file prediction was cancelled; no output was written",
                    ));
                }
                let texts: Vec<Prompt> = chunk.iter().map(|(_, f)| inputs.prompt(f)).collect();
                let predictions = predictor.predict(&texts, cancel)?;
                for ((line, fields), p) in chunk.drain(..).zip(predictions) {
                    let added = match p {
                        Predicted::Label { label, confidence } => {
                            counts.predicted += 1;
                            vec![label, format!("{confidence:.4}")]
                        }
                        Predicted::Answer(text) => {
                            counts.predicted += 1;
                            vec![text]
                        }
                        Predicted::Nothing(why) => {
                            counts.empty(line, why);
                            Vec::new()
                        }
                    };
                    writer.write(&fields, &added, source.columns.len())?;
                    counts.rows += 1;
                }
                if predictor.is_failing(&counts) {
                    return Err(Error::invalid(format!(
                        "the model failed on every row so far ({}); nothing was written",
                        counts
                            .problems
                            .last()
                            .map(|p| p.message.as_str())
                            .unwrap_or("")
                    )));
                }
                let elapsed = started.elapsed().as_secs_f64();
                let done = read.load(Ordering::Relaxed).min(source.size);
                on_progress(&PredictFileProgress {
                    rows: counts.rows,
                    bytes_read: done,
                    total_bytes: source.size,
                    elapsed_s: elapsed,
                    eta_s: (done > 0 && elapsed > 0.0)
                        .then(|| elapsed * (source.size - done) as f64 / done as f64),
                });
            }
            if next.is_none() {
                break;
            }
        }
        writer.finish().map_err(|e| write_error(&tmp, e))?;
        Ok(counts)
    })();
    let counts = match result {
        Ok(c) => c,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    if counts.rows == 0 {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::invalid(format!(
            "{} has no readable rows ({} unreadable): nothing to predict",
            request.data.display(),
            counts.unreadable
        )));
    }
    tunesmith_store::files::commit(&tmp, &out)?;
    // The history keeps full paths: a relative one would later read as inside the run's folder.
    let out = out.canonicalize().unwrap_or(out);
    let data = request
        .data
        .canonicalize()
        .unwrap_or_else(|_| request.data.clone());
    let mut counts = counts;
    // Unreadable rows are met before the chunk holding the rows above them is predicted.
    counts.problems.sort_by_key(|p| p.line);
    let summary = PredictFileSummary {
        run_id: run.id.clone(),
        task: run.record.task_name().to_string(),
        data: data.clone(),
        out: out.clone(),
        input_columns: inputs.names(&source.columns),
        columns,
        rows: counts.rows,
        predicted: counts.predicted,
        empty: counts.empty,
        unreadable: counts.unreadable,
        problems: counts.problems,
        seconds: started.elapsed().as_secs_f64(),
    };
    let store = crate::runs::open_store(home)?;
    store.record_output(
        &run.id,
        OutputKind::Predictions,
        &data,
        &out,
        summary.rows,
        &serde_json::json!({
            "predicted": summary.predicted,
            "empty": summary.empty,
            "unreadable": summary.unreadable,
            "input_columns": summary.input_columns,
            "seconds": summary.seconds,
        }),
    )?;
    Ok(summary)
}

fn write_error(path: &Path, e: std::io::Error) -> Error {
    Error::invalid(format!(
        "cannot write {}: {e}; choose another output folder",
        path.display()
    ))
}

/// The output must never replace the file it reads.
fn refuse_overwriting_input(data: &Path, out: &Path) -> Result<()> {
    let same = match (data.canonicalize(), out.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => data == out,
    };
    if same {
        return Err(Error::invalid(format!(
            "the output {} is the data file itself; choose a new file name (Tunesmith never writes over your data)",
            out.display()
        )));
    }
    Ok(())
}

/// The output's layout, from its extension (the input's when it has none Tunesmith writes).
fn output_format(out: &Path, input: Format) -> Result<Format> {
    let ext = out
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .unwrap_or_default();
    Ok(match ext.as_str() {
        "csv" => match input {
            Format::Delimited { delimiter } if delimiter != b'\t' => input,
            _ => Format::Delimited { delimiter: b',' },
        },
        "tsv" | "tab" => Format::Delimited { delimiter: b'\t' },
        "jsonl" | "ndjson" => Format::Jsonl,
        "xlsx" | "xls" | "ods" => {
            return Err(Error::invalid(format!(
                "{}: Tunesmith writes CSV, TSV or JSONL; name the output .csv (Excel opens it)",
                out.display()
            )))
        }
        _ => match input {
            Format::Lines => Format::Delimited { delimiter: b',' },
            f => f,
        },
    })
}

/// The rows written and the problems met.
#[derive(Default)]
struct Counts {
    rows: u64,
    predicted: u64,
    empty: u64,
    unreadable: u64,
    problems: Vec<RowIssue>,
}

impl Counts {
    fn note(&mut self, line: u64, message: String) {
        if self.problems.len() < LISTED_PROBLEMS {
            self.problems.push(RowIssue { line, message });
        }
    }

    fn unreadable(&mut self, line: u64, message: String) {
        self.unreadable += 1;
        self.note(line, format!("{message} (this row is not in the output)"));
    }

    fn empty(&mut self, line: u64, why: String) {
        self.empty += 1;
        self.note(line, why);
    }
}

/// What the model is given for one row.
struct Prompt {
    text: String,
    system: Option<String>,
}

/// Which columns feed the model.
struct Inputs {
    /// Classification: the text columns; generation: the prompt columns.
    main: Vec<usize>,
    /// Generation: extra input shown after the prompt (alpaca's `input`).
    input: Vec<usize>,
    /// Generation: a system prompt.
    system: Option<usize>,
}

impl Inputs {
    /// The run's own columns where the file has them (or `column`), else the guessed ones.
    fn choose(source: &Source, run: &FoundRun, column: Option<&str>) -> Result<Inputs> {
        let req = &run.record.request;
        let task = run.task();
        let has = |name: &str| source.columns.iter().any(|c| c.eq_ignore_ascii_case(name));
        if let Some(c) = column {
            if !has(c) {
                return Err(Error::invalid(format!(
                    "{} has no column `{c}`; its columns are {}",
                    source.path.display(),
                    source.columns.join(", ")
                )));
            }
        }
        let own = match task {
            Task::Classify => req.text_column.as_deref(),
            Task::Generate => req.prompt_column.as_deref(),
        };
        let text_columns: Vec<String> = column
            .or(own.filter(|c| has(c)))
            .map(|c| vec![c.to_string()])
            .unwrap_or_default();
        let overrides = RoleOverrides {
            task: Some(task),
            text_columns,
            label_column: req.label_column.clone().filter(|c| has(c)),
            response_column: req.response_column.clone().filter(|c| has(c)),
        };
        let schema = roles::guess(source, &overrides)?;
        let main = match task {
            Task::Classify => schema.indices(Role::Text),
            Task::Generate => {
                let p = schema.indices(Role::Prompt);
                if p.is_empty() {
                    schema.indices(Role::Text)
                } else {
                    p
                }
            }
        };
        if main.is_empty() {
            return Err(Error::invalid(format!(
                "{}: no column holds the {} (its columns are {}); name it with --column",
                source.path.display(),
                if task == Task::Classify {
                    "text to classify"
                } else {
                    "prompts"
                },
                source.columns.join(", ")
            )));
        }
        let (input, system) = match task {
            Task::Classify => (Vec::new(), None),
            Task::Generate => (schema.indices(Role::Input), schema.index(Role::System)),
        };
        Ok(Inputs {
            main,
            input,
            system,
        })
    }

    fn names(&self, columns: &[String]) -> Vec<String> {
        self.main
            .iter()
            .chain(&self.input)
            .chain(self.system.as_ref())
            .filter_map(|&i| columns.get(i).cloned())
            .collect()
    }

    /// The row's text as training joined it (text columns with a line break; a prompt and its
    /// input with a blank line).
    fn prompt(&self, fields: &[String]) -> Prompt {
        let joined = |idx: &[usize]| -> String {
            idx.iter()
                .filter_map(|&i| fields.get(i))
                .map(|s| s.as_str())
                .filter(|s| !s.trim().is_empty())
                .collect::<Vec<_>>()
                .join("\n")
        };
        let main = joined(&self.main);
        let input = joined(&self.input);
        let text = if input.trim().is_empty() || main.trim().is_empty() {
            main
        } else {
            format!("{main}\n\n{input}")
        };
        let system = self
            .system
            .and_then(|i| fields.get(i))
            .filter(|s| !s.trim().is_empty())
            .cloned();
        Prompt { text, system }
    }
}

/// One row's prediction.
enum Predicted {
    Label {
        label: String,
        confidence: f32,
    },
    Answer(String),
    /// No prediction, and why.
    Nothing(String),
}

/// The loaded run.
enum Predictor {
    Classifier {
        encoder: Box<EncoderSession>,
        task: Box<ClassifyTask>,
        labels: Vec<String>,
    },
    Generator {
        model: Box<DecoderSession>,
        options: AnswerOptions,
        failed: u64,
    },
}

impl Predictor {
    fn load(home: &Home, run: &FoundRun, max_tokens: Option<usize>) -> Result<Predictor> {
        match run.task() {
            Task::Classify => {
                let plan = TrainPlan::of_run(run);
                let encoder = EncoderSession::open(&plan)?;
                let labels = run.record.labels.clone();
                if labels.is_empty() {
                    return Err(Error::invalid(format!(
                        "run {} has no labels recorded",
                        run.id
                    )));
                }
                let task =
                    encoder.fine_tuned(&plan, &labels, &run.folder.weights_file(&run.id)?)?;
                Ok(Predictor::Classifier {
                    encoder: Box::new(encoder),
                    task: Box::new(task),
                    labels,
                })
            }
            Task::Generate => {
                // The run's answers as evaluation gives them: its base as it trained.
                let model = RunWeights::find(home, &run.id)?.open(None, BaseHeld::AsTrained)?;
                Ok(Predictor::Generator {
                    model: Box::new(model),
                    options: AnswerOptions {
                        max_tokens: max_tokens.unwrap_or(DEFAULT_FILE_MAX_TOKENS),
                        ..AnswerOptions::default()
                    },
                    failed: 0,
                })
            }
        }
    }

    fn is_classifier(&self) -> bool {
        matches!(self, Predictor::Classifier { .. })
    }

    /// Whether the model has failed on every row so far (then carrying on only writes blanks).
    fn is_failing(&self, counts: &Counts) -> bool {
        match self {
            Predictor::Generator { failed, .. } => *failed > 0 && counts.predicted == 0,
            Predictor::Classifier { .. } => false,
        }
    }

    fn predict(
        &mut self,
        rows: &[Prompt],
        cancel: Option<&CancelHandle>,
    ) -> Result<Vec<Predicted>> {
        match self {
            Predictor::Classifier {
                encoder,
                task,
                labels,
            } => {
                let mut examples = Vec::with_capacity(rows.len());
                let mut at = Vec::with_capacity(rows.len());
                for (i, r) in rows.iter().enumerate() {
                    if r.text.trim().is_empty() {
                        continue;
                    }
                    examples.push(ClassifyExample::new(
                        encoder.tok.encode(&r.text, true)?,
                        0,
                        encoder.max_len,
                    ));
                    at.push(i);
                }
                let mut out: Vec<Predicted> = rows
                    .iter()
                    .map(|_| Predicted::Nothing("the text is empty: nothing to classify".into()))
                    .collect();
                if examples.is_empty() {
                    return Ok(out);
                }
                for (i, probs) in at.into_iter().zip(task.probabilities(&examples)?) {
                    let (best, p) = probs
                        .iter()
                        .enumerate()
                        .max_by(|a, b| a.1.total_cmp(b.1))
                        .map(|(k, p)| (k, *p))
                        .unwrap_or((0, 0.0));
                    out[i] = Predicted::Label {
                        label: labels.get(best).cloned().unwrap_or_default(),
                        confidence: p,
                    };
                }
                Ok(out)
            }
            Predictor::Generator {
                model,
                options,
                failed,
            } => {
                let mut out = Vec::with_capacity(rows.len());
                for r in rows {
                    if r.text.trim().is_empty() {
                        out.push(Predicted::Nothing(
                            "the prompt is empty: nothing to answer".into(),
                        ));
                        continue;
                    }
                    let opts = AnswerOptions {
                        system: r.system.clone(),
                        ..options.clone()
                    };
                    match crate::chat::answer(model, &r.text, None, &opts, cancel, &mut |_| {}) {
                        Ok(a) => out.push(Predicted::Answer(a.text.trim().to_string())),
                        Err(e) => {
                            *failed += 1;
                            out.push(Predicted::Nothing(format!(
                                "the model could not answer this row: {e}"
                            )));
                        }
                    }
                    if cancel.is_some_and(|c| c.is_cancelled()) {
                        return Err(Error::invalid(
                            "the file prediction was cancelled; no output was written",
                        ));
                    }
                }
                Ok(out)
            }
        }
    }
}

/// Writes rows in the output's layout.
struct OutputWriter<W: Write> {
    inner: Out<W>,
    columns: Vec<String>,
}

enum Out<W: Write> {
    Delimited(Box<csv::Writer<W>>),
    Jsonl(W),
}

impl<W: Write> OutputWriter<W> {
    fn new(w: W, format: Format, columns: &[String]) -> Result<Self> {
        let inner = match format {
            Format::Delimited { delimiter } => {
                let mut c = csv::WriterBuilder::new()
                    .delimiter(delimiter)
                    .flexible(false)
                    .from_writer(w);
                c.write_record(columns).map_err(csv_error)?;
                Out::Delimited(Box::new(c))
            }
            _ => Out::Jsonl(w),
        };
        Ok(OutputWriter {
            inner,
            columns: columns.to_vec(),
        })
    }

    /// One row: the original `fields` (padded to `width`) then the `added` values.
    fn write(&mut self, fields: &[String], added: &[String], width: usize) -> Result<()> {
        let mut values: Vec<&str> = (0..width)
            .map(|i| fields.get(i).map(|s| s.as_str()).unwrap_or(""))
            .collect();
        values.extend(added.iter().map(|s| s.as_str()));
        values.resize(self.columns.len(), "");
        match &mut self.inner {
            Out::Delimited(c) => c.write_record(&values).map_err(csv_error),
            Out::Jsonl(w) => {
                let obj: serde_json::Map<String, serde_json::Value> = self
                    .columns
                    .iter()
                    .zip(values)
                    .map(|(k, v)| (k.clone(), serde_json::Value::String(v.to_string())))
                    .collect();
                let line = serde_json::to_string(&obj)
                    .map_err(|e| Error::invalid(format!("cannot write a row as JSON: {e}")))?;
                w.write_all(line.as_bytes())
                    .and_then(|_| w.write_all(b"\n"))
                    .map_err(|e| Error::invalid(format!("cannot write the output: {e}")))
            }
        }
    }

    fn finish(self) -> std::io::Result<()> {
        let mut w = match self.inner {
            Out::Delimited(c) => c.into_inner().map_err(|e| e.into_error())?,
            Out::Jsonl(w) => w,
        };
        w.flush()
    }
}

fn csv_error(e: csv::Error) -> Error {
    Error::invalid(format!("cannot write the output: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_output_sits_beside_the_data_with_predicted_in_its_name() {
        assert_eq!(
            default_out(Path::new("/d/tickets.csv")),
            PathBuf::from("/d/tickets.predicted.csv")
        );
        assert_eq!(
            default_out(Path::new("/d/q.jsonl")),
            PathBuf::from("/d/q.predicted.jsonl")
        );
    }

    #[test]
    fn an_output_that_is_the_input_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.csv");
        std::fs::write(&f, "text\nhi\n").unwrap();
        let err = refuse_overwriting_input(&f, &dir.path().join(".").join("a.csv")).unwrap_err();
        assert!(err.to_string().contains("never writes over"), "{err}");
        assert!(refuse_overwriting_input(&f, &dir.path().join("b.csv")).is_ok());
    }

    #[test]
    fn an_excel_output_name_is_refused_with_what_to_do() {
        let err = output_format(Path::new("out.xlsx"), Format::Jsonl).unwrap_err();
        assert!(err.to_string().contains(".csv"), "{err}");
        assert_eq!(
            output_format(Path::new("out.tsv"), Format::Jsonl).unwrap(),
            Format::Delimited { delimiter: b'\t' }
        );
    }

    #[test]
    fn a_jsonl_output_row_keeps_every_column_as_text_and_adds_the_prediction() {
        let cols = vec!["id".to_string(), "text".into(), "prediction".into()];
        let mut w = OutputWriter::new(Vec::new(), Format::Jsonl, &cols).unwrap();
        w.write(&["7".into(), "hello".into()], &["greeting".into()], 2)
            .unwrap();
        let Out::Jsonl(bytes) = w.inner else { panic!() };
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"id": "7", "text": "hello", "prediction": "greeting"})
        );
    }
}
