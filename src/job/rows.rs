//! The split's training and validation rows in the trainer's format, written from the same
//! [`Dataset`] and [`SplitPlan`] a local run trains on (the doctor's fixes applied, the roles
//! resolved), so the job trains on exactly the rows a local run would.
//!
//! - generation: JSON Lines of conversations in the messages format
//!   (`{"messages": [{"role": "user", "content": ...}, {"role": "assistant", ...}]}`);
//! - classification: a `text,label` CSV (RFC 4180 quoting) and `labels.json` with the class names
//!   in Tunesmith's index order.

use std::path::Path;

use serde_json::json;
use tunesmith_data::{Content, Dataset, SplitPlan};

use crate::{Error, Result};

/// The data folder inside a job.
pub const DATA_DIR: &str = "data";
/// The label map's file name (classification).
pub const LABELS_FILE: &str = "labels.json";

/// The files written and the rows in each split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenRows {
    /// Paths relative to the job folder.
    pub files: Vec<String>,
    /// Training rows.
    pub train: usize,
    /// Validation rows.
    pub validation: usize,
}

/// Writes the train (bucket 0) and validation (bucket 1) rows of `dataset` under `job/data`.
pub fn write_rows(job: &Path, dataset: &Dataset, split: &SplitPlan) -> Result<WrittenRows> {
    let dir = job.join(DATA_DIR);
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::invalid(format!("cannot create {}: {e}", dir.display())))?;
    let generation = dataset
        .examples
        .first()
        .is_some_and(|e| matches!(e.content, Content::Chat { .. }));
    let mut files = Vec::new();
    let mut counts = [0usize; 2];
    for (bucket, name) in [(0usize, "train"), (1, "validation")] {
        let rows = split.indices(bucket);
        counts[bucket] = rows.len();
        if bucket == 1 && rows.is_empty() {
            continue;
        }
        let (file, text) = if generation {
            (format!("{name}.jsonl"), jsonl(dataset, &rows)?)
        } else {
            (format!("{name}.csv"), csv(dataset, &rows)?)
        };
        write(&dir.join(&file), text.as_bytes())?;
        files.push(format!("{DATA_DIR}/{file}"));
    }
    if !generation {
        let label2id: serde_json::Map<String, serde_json::Value> = dataset
            .classes
            .iter()
            .enumerate()
            .map(|(i, l)| (l.clone(), json!(i)))
            .collect();
        let text = serde_json::to_string_pretty(&json!({
            "labels": dataset.classes,
            "label2id": label2id,
        }))
        .map_err(|e| Error::invalid(format!("cannot write the label map: {e}")))?;
        write(&dir.join(LABELS_FILE), text.as_bytes())?;
        files.push(format!("{DATA_DIR}/{LABELS_FILE}"));
    }
    Ok(WrittenRows {
        files,
        train: counts[0],
        validation: counts[1],
    })
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    tunesmith_engine::train::checkpoint::write_atomic(path, bytes)?;
    Ok(())
}

fn jsonl(dataset: &Dataset, rows: &[usize]) -> Result<String> {
    let mut out = String::new();
    for &i in rows {
        let e = &dataset.examples[i];
        let Content::Chat { messages } = &e.content else {
            return Err(Error::invalid(format!(
                "{} line {}: not a prompt with a response; name the columns with --prompt-column and --response-column",
                dataset.report.file, e.line
            )));
        };
        let line = serde_json::to_string(&json!({ "messages": messages }))
            .map_err(|err| Error::invalid(format!("line {}: {err}", e.line)))?;
        out.push_str(&line);
        out.push('\n');
    }
    Ok(out)
}

fn csv(dataset: &Dataset, rows: &[usize]) -> Result<String> {
    let mut out = String::from("text,label\n");
    for &i in rows {
        let e = &dataset.examples[i];
        let Content::Labelled { text, label } = &e.content else {
            return Err(Error::invalid(format!(
                "{} line {}: not a text with a label",
                dataset.report.file, e.line
            )));
        };
        out.push_str(&csv_field(text));
        out.push(',');
        out.push_str(&csv_field(label));
        out.push('\n');
    }
    Ok(out)
}

/// One CSV field, quoted when it holds a comma, a quote or a line break (quotes doubled).
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_only_when_they_must_be() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a, b"), "\"a, b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    }
}
