//! Opening a dataset file: what it is (encoding, format, separator, header, columns) and a stream
//! of its rows that never holds more than one row in memory.
//!
//! Every row comes with the line it starts on, so every message can point at it. A row that cannot
//! be read as the header says (a ragged row, a line that is not JSON) is yielded as a
//! [`RowProblem`] with a precise message, and reading goes on: one bad row never hides the rest.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::Serialize;

use crate::encoding::{self, Sniffed, TextEncoding};
use crate::error::{DataError, Result};
use crate::sniff;

/// How much of the file's start is read to sniff encoding, format and separator.
const SAMPLE_BYTES: usize = 256 * 1024;
/// How many rows are kept for header detection and role guessing.
const SAMPLE_ROWS: usize = 500;

/// The layout of a file's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Format {
    /// Delimited text (CSV, TSV, semicolon- or pipe-separated) with RFC 4180 quoting.
    Delimited {
        /// The field separator.
        #[serde(serialize_with = "ser_delimiter")]
        #[cfg_attr(feature = "specta", specta(type = String))]
        delimiter: u8,
    },
    /// JSON Lines: one JSON object per line.
    Jsonl,
    /// Plain text: one example per non-blank line (for generation).
    Lines,
}

fn ser_delimiter<S: serde::Serializer>(d: &u8, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&(*d as char).to_string())
}

impl Format {
    /// A short name for reports: `csv`, `tsv`, `semicolon`, `pipe`, `jsonl`, `text`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Delimited { delimiter: b'\t' } => "tsv",
            Format::Delimited { delimiter: b';' } => "csv (semicolon-separated)",
            Format::Delimited { delimiter: b'|' } => "csv (pipe-separated)",
            Format::Delimited { .. } => "csv",
            Format::Jsonl => "jsonl",
            Format::Lines => "text",
        }
    }
}

/// What the user may force instead of letting Tunesmith sniff it.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// The format (and separator); sniffed when `None`.
    pub format: Option<Format>,
    /// Whether the first row is a header; detected when `None`.
    pub has_header: Option<bool>,
}

/// One row: its fields (aligned to the columns for JSONL) and where it is in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The 1-based line the row starts on.
    pub line: u64,
    /// The 1-based line the row ends on (later than `line` when a quoted value holds line breaks).
    pub end_line: u64,
    /// The values.
    pub fields: Vec<String>,
}

/// A row that could not be read as the header says, with a message that says where and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RowProblem {
    /// The 1-based line the row starts on.
    pub line: u64,
    /// What is wrong and what to do.
    pub message: String,
}

/// What [`Rows`] yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row {
    /// A readable row.
    Record(Record),
    /// A row that cannot be used as it is.
    Problem(RowProblem),
}

/// An opened, sniffed dataset file.
#[derive(Debug, Clone)]
pub struct Source {
    /// The file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// The encoding found (converted to UTF-8 while reading).
    pub encoding: TextEncoding,
    /// The layout.
    pub format: Format,
    /// Whether the first row is a header (and not data).
    pub has_header: bool,
    /// The column names (from the header, the JSON keys, or `column 1`, `column 2`, ...).
    pub columns: Vec<String>,
    /// The first rows, for role guessing and previews.
    pub sample: Vec<Record>,
}

impl Source {
    /// Opens `path`, sniffs what it is, and reads a sample of rows.
    pub fn open(path: &Path, options: &ReadOptions) -> Result<Source> {
        let io = |source| DataError::Io {
            path: path.to_path_buf(),
            source,
        };
        let size = std::fs::metadata(path).map_err(io)?.len();
        if size == 0 {
            return Err(DataError::Empty {
                path: path.to_path_buf(),
            });
        }
        let mut head = Vec::with_capacity(SAMPLE_BYTES.min(size as usize));
        File::open(path)
            .map_err(io)?
            .take(SAMPLE_BYTES as u64)
            .read_to_end(&mut head)
            .map_err(io)?;
        let encoding = match encoding::sniff(&head[..head.len().min(8192)]) {
            Sniffed::Binary { what, advice } => {
                return Err(DataError::Binary {
                    path: path.to_path_buf(),
                    what,
                    advice,
                })
            }
            Sniffed::Text(e) => e,
        };
        // A later part of the sample may still show the file is not UTF-8.
        let encoding = match (encoding, encoding::sniff(&head)) {
            (TextEncoding::Utf8, Sniffed::Text(TextEncoding::Windows1252)) => {
                TextEncoding::Windows1252
            }
            (e, _) => e,
        };
        let text = encoding::decode_sample(&head, encoding);
        if text.trim().is_empty() {
            return Err(DataError::Empty {
                path: path.to_path_buf(),
            });
        }
        let complete = head.len() as u64 >= size;
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase())
            .unwrap_or_default();
        if options.format.is_none()
            && ext == "json"
            && text
                .trim_start_matches('\u{feff}')
                .trim_start()
                .starts_with('[')
        {
            return Err(DataError::Format {
                path: path.to_path_buf(),
                message: "holds one JSON array; Tunesmith reads JSON Lines, one object per line. Convert it (for example `jq -c '.[]' file.json > file.jsonl`) and choose the .jsonl file.".into(),
            });
        }
        let format = options
            .format
            .unwrap_or_else(|| sniff_format(path, &text, complete));
        let mut source = Source {
            path: path.to_path_buf(),
            size,
            encoding,
            format,
            has_header: false,
            columns: Vec::new(),
            sample: Vec::new(),
        };
        match format {
            Format::Lines => source.columns = vec!["text".to_string()],
            Format::Jsonl => source.columns = jsonl_columns(path, &text)?,
            Format::Delimited { .. } => {
                let first: Vec<Record> = source
                    .raw_rows(None)?
                    .filter_map(|r| match r {
                        Row::Record(r) => Some(r),
                        Row::Problem(_) => None,
                    })
                    .take(101)
                    .collect();
                let cells: Vec<Vec<String>> = first.iter().map(|r| r.fields.clone()).collect();
                source.has_header = options
                    .has_header
                    .unwrap_or_else(|| sniff::detect_header(&cells));
                source.columns = if source.has_header {
                    unique_names(cells.first().cloned().unwrap_or_default())
                } else {
                    let widest = modal_width(&cells);
                    (1..=widest).map(|i| format!("column {i}")).collect()
                };
            }
        }
        source.sample = source
            .rows(None)?
            .filter_map(|r| match r {
                Row::Record(r) => Some(r),
                Row::Problem(_) => None,
            })
            .take(SAMPLE_ROWS)
            .collect();
        Ok(source)
    }

    /// Streams the data rows (the header skipped). `progress`, when given, receives the number of
    /// bytes of the file read so far.
    pub fn rows(&self, progress: Option<Arc<AtomicU64>>) -> Result<Rows> {
        let mut rows = self.raw_rows(progress)?;
        rows.skip_header = self.has_header;
        rows.width = self.columns.len();
        Ok(rows)
    }

    fn raw_rows(&self, progress: Option<Arc<AtomicU64>>) -> Result<Rows> {
        let file = File::open(&self.path).map_err(|source| DataError::Io {
            path: self.path.clone(),
            source,
        })?;
        let counting = Counting {
            inner: file,
            read: progress.unwrap_or_default(),
        };
        let reader: Box<dyn Read> = match self.encoding {
            TextEncoding::Utf16Le | TextEncoding::Utf16Be => {
                let enc = if self.encoding == TextEncoding::Utf16Le {
                    encoding_rs::UTF_16LE
                } else {
                    encoding_rs::UTF_16BE
                };
                Box::new(
                    encoding_rs_io::DecodeReaderBytesBuilder::new()
                        .encoding(Some(enc))
                        .build(counting),
                )
            }
            TextEncoding::Utf8Bom => {
                let mut r = BufReader::with_capacity(1 << 16, counting);
                let mut bom = [0u8; 3];
                r.read_exact(&mut bom).map_err(|source| DataError::Io {
                    path: self.path.clone(),
                    source,
                })?;
                Box::new(r)
            }
            _ => Box::new(counting),
        };
        let fallback = self.encoding == TextEncoding::Windows1252;
        let inner = match self.format {
            Format::Delimited { delimiter } => Inner::Delimited {
                reader: csv::ReaderBuilder::new()
                    .delimiter(delimiter)
                    .has_headers(false)
                    .flexible(true)
                    .buffer_capacity(1 << 16)
                    .from_reader(reader),
                record: csv::ByteRecord::new(),
                previous_multiline: None,
            },
            Format::Jsonl | Format::Lines => Inner::Lines {
                reader: BufReader::with_capacity(1 << 16, reader),
                line: 0,
                buf: Vec::new(),
            },
        };
        Ok(Rows {
            inner,
            format: self.format,
            columns: self.columns.clone(),
            width: 0,
            skip_header: false,
            fallback_1252: fallback,
            converted_fields: 0,
            done: false,
        })
    }
}

/// Counts the bytes read from the file, for progress over the raw file size.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

enum Inner {
    Delimited {
        reader: csv::Reader<Box<dyn Read>>,
        record: csv::ByteRecord,
        previous_multiline: Option<u64>,
    },
    Lines {
        reader: BufReader<Box<dyn Read>>,
        line: u64,
        buf: Vec<u8>,
    },
}

/// The stream of a file's rows.
pub struct Rows {
    inner: Inner,
    format: Format,
    columns: Vec<String>,
    width: usize,
    skip_header: bool,
    fallback_1252: bool,
    converted_fields: u64,
    done: bool,
}

impl Rows {
    /// How many values were not UTF-8 and were read as Windows-1252 instead.
    pub fn converted_fields(&self) -> u64 {
        self.converted_fields
    }

    fn decode(&mut self, bytes: &[u8]) -> String {
        let (s, converted) = encoding::decode_field(bytes, self.fallback_1252);
        if converted && !bytes.is_ascii() {
            self.converted_fields += 1;
        }
        s
    }

    fn next_delimited(&mut self) -> Option<Row> {
        loop {
            let Inner::Delimited { reader, record, .. } = &mut self.inner else {
                return None;
            };
            match reader.read_byte_record(record) {
                Ok(false) => return None,
                Err(e) => {
                    self.done = true;
                    let line = e.position().map(|p| p.line()).unwrap_or(0);
                    return Some(Row::Problem(RowProblem {
                        line,
                        message: format!("reading stopped at line {}: {e}", thousands(line)),
                    }));
                }
                Ok(true) => {}
            }
            let line = record.position().map(|p| p.line()).unwrap_or(0);
            let next_line = reader.position().line();
            let end_line = next_line.saturating_sub(1).max(line);
            let raw: Vec<Vec<u8>> = record.iter().map(|f| f.to_vec()).collect();
            if raw.len() == 1 && raw[0].iter().all(|b| b.is_ascii_whitespace()) {
                continue; // a blank line
            }
            let fields: Vec<String> = raw.iter().map(|f| self.decode(f)).collect();
            if self.skip_header {
                self.skip_header = false;
                continue;
            }
            let Inner::Delimited {
                previous_multiline, ..
            } = &mut self.inner
            else {
                return None;
            };
            let earlier = *previous_multiline;
            *previous_multiline = (end_line > line).then_some(line);
            if self.width > 0 && fields.len() != self.width {
                let Format::Delimited { delimiter } = self.format else {
                    return None;
                };
                return Some(Row::Problem(ragged(
                    line,
                    end_line,
                    fields.len(),
                    self.width,
                    earlier,
                    delimiter,
                )));
            }
            return Some(Row::Record(Record {
                line,
                end_line,
                fields,
            }));
        }
    }

    fn next_line(&mut self) -> Option<Row> {
        loop {
            let Inner::Lines { reader, line, buf } = &mut self.inner else {
                return None;
            };
            buf.clear();
            match reader.read_until(b'\n', buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => {
                    self.done = true;
                    return Some(Row::Problem(RowProblem {
                        line: *line + 1,
                        message: format!("reading stopped at line {}: {e}", thousands(*line + 1)),
                    }));
                }
            }
            *line += 1;
            let n = *line;
            let mut bytes = std::mem::take(buf);
            while matches!(bytes.last(), Some(b'\n' | b'\r')) {
                bytes.pop();
            }
            if bytes.iter().all(|b| b.is_ascii_whitespace()) {
                if let Inner::Lines { buf, .. } = &mut self.inner {
                    *buf = bytes;
                }
                continue;
            }
            let text = self.decode(&bytes);
            if let Inner::Lines { buf, .. } = &mut self.inner {
                *buf = bytes;
            }
            return Some(match self.format {
                Format::Jsonl => jsonl_record(n, &text, &self.columns),
                _ => Row::Record(Record {
                    line: n,
                    end_line: n,
                    fields: vec![text],
                }),
            });
        }
    }
}

impl Iterator for Rows {
    type Item = Row;

    fn next(&mut self) -> Option<Row> {
        if self.done {
            return None;
        }
        let row = match self.format {
            Format::Delimited { .. } => self.next_delimited(),
            _ => self.next_line(),
        };
        if row.is_none() {
            self.done = true;
        }
        row
    }
}

/// The message for a row whose field count differs from the header's, with the likely cause.
fn ragged(
    line: u64,
    end_line: u64,
    fields: usize,
    width: usize,
    earlier_multiline: Option<u64>,
    delimiter: u8,
) -> RowProblem {
    let what = if width == 1 {
        "the header has 1".to_string()
    } else {
        format!("the header has {width}")
    };
    let shown = if delimiter == b'\t' {
        "a tab".to_string()
    } else {
        format!("`{}`", delimiter as char)
    };
    let cause = if end_line > line {
        format!(
            "a quote is probably not closed on line {} (the row runs on to line {}); close the quote or remove it",
            thousands(line),
            thousands(end_line)
        )
    } else if let Some(previous) = earlier_multiline {
        format!(
            "a quote is probably not closed on line {}; close the quote or remove it",
            thousands(previous)
        )
    } else if fields > width {
        format!("a value probably contains {shown} without quotes around it; put the value in double quotes")
    } else {
        "a value is probably missing; fill it in or remove the row".to_string()
    };
    RowProblem {
        line,
        message: format!(
            "line {} has {fields} fields, {what}: {cause}",
            thousands(line)
        ),
    }
}

fn jsonl_record(line: u64, text: &str, columns: &[String]) -> Row {
    let trimmed = text.trim_start_matches('\u{feff}');
    match serde_json::from_str::<serde_json::Value>(trimmed) {
        Ok(serde_json::Value::Object(map)) => Row::Record(Record {
            line,
            end_line: line,
            fields: columns.iter().map(|c| map.get(c).map(json_cell).unwrap_or_default()).collect(),
        }),
        Ok(other) => Row::Problem(RowProblem {
            line,
            message: format!(
                "line {} is a JSON {}, not an object; each line must be one object such as {{\"text\": ..., \"label\": ...}}",
                thousands(line),
                json_kind(&other)
            ),
        }),
        Err(e) => Row::Problem(RowProblem {
            line,
            message: format!("line {} is not valid JSON ({e}); fix the line or remove it", thousands(line)),
        }),
    }
}

/// A JSON value as a cell: strings as they are, other scalars printed, arrays and objects as JSON.
fn json_cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// The keys of the sample's JSON objects, in order of first appearance.
fn jsonl_columns(path: &Path, text: &str) -> Result<Vec<String>> {
    let mut columns: Vec<String> = Vec::new();
    let mut objects = 0;
    let mut first_error = None;
    for (i, line) in text.lines().enumerate().take(2000) {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        match serde_json::from_str::<serde_json::Value>(line) {
            Ok(serde_json::Value::Object(map)) => {
                objects += 1;
                for k in map.keys() {
                    if !columns.contains(k) {
                        columns.push(k.clone());
                    }
                }
            }
            _ if first_error.is_none() => first_error = Some(i + 1),
            _ => {}
        }
    }
    if objects == 0 {
        let where_ = first_error
            .map(|l| format!(" (line {l} is the first that is not)"))
            .unwrap_or_default();
        return Err(DataError::Format {
            path: path.to_path_buf(),
            message: format!(
                "no line is a JSON object{where_}. JSON Lines files hold one object per line, such as {{\"text\": \"...\", \"label\": \"...\"}}; a single JSON array must be saved as one object per line first."
            ),
        });
    }
    Ok(columns)
}

/// Decides the format from the extension and the content.
fn sniff_format(path: &Path, text: &str, complete: bool) -> Format {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .unwrap_or_default();
    let first = text.trim_start_matches('\u{feff}').trim_start();
    if matches!(ext.as_str(), "jsonl" | "ndjson" | "json") || first.starts_with('{') {
        if first.starts_with('{') {
            return Format::Jsonl;
        }
    }
    let delimiter = sniff::sniff_delimiter(text, complete);
    match (ext.as_str(), delimiter) {
        ("tsv" | "tab", _) => Format::Delimited { delimiter: b'\t' },
        // A .txt is one example per line, unless it is a tab-separated export (Excel's "Unicode Text").
        ("txt", Some(b'\t')) => Format::Delimited { delimiter: b'\t' },
        ("txt", _) => Format::Lines,
        (_, Some(d)) => Format::Delimited { delimiter: d },
        ("csv", None) => Format::Delimited { delimiter: b',' },
        (_, None) => Format::Lines,
    }
}

fn modal_width(rows: &[Vec<String>]) -> usize {
    let mut tally: std::collections::BTreeMap<usize, usize> = Default::default();
    for r in rows {
        *tally.entry(r.len()).or_default() += 1;
    }
    tally
        .into_iter()
        .max_by_key(|&(w, n)| (n, w))
        .map(|(w, _)| w)
        .unwrap_or(1)
}

/// Header names made usable: trimmed, empty ones named by position, repeats numbered.
fn unique_names(header: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(header.len());
    for (i, name) in header.into_iter().enumerate() {
        let base = name.trim().trim_start_matches('\u{feff}').to_string();
        let base = if base.is_empty() {
            format!("column {}", i + 1)
        } else {
            base
        };
        let mut candidate = base.clone();
        let mut n = 2;
        while out.contains(&candidate) {
            candidate = format!("{base} ({n})");
            n += 1;
        }
        out.push(candidate);
    }
    out
}

/// Formats `n` with thousands separators (`1,204`), as messages show line numbers.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_puts_commas_every_three_digits() {
        assert_eq!(thousands(1204), "1,204");
        assert_eq!(thousands(67349), "67,349");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000000), "1,000,000");
    }

    #[test]
    fn repeated_and_empty_header_names_become_distinct() {
        let names = unique_names(vec!["text".into(), "".into(), "text".into()]);
        assert_eq!(names, vec!["text", "column 2", "text (2)"]);
    }
}
