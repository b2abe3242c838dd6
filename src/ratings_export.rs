//! Exporting blind ratings for more training: preference pairs as JSONL with `prompt`, `chosen`
//! and `rejected` (the standard preference format TRL's `DPOTrainer` reads), and the expert's
//! corrected answers as new training rows (a CSV with `prompt` and `response` columns, which the
//! Data screen reads back as a generation dataset).
//!
//! Promises:
//! - One JSON object per line, exactly those three string fields.
//! - A preferred answer is chosen over the other; ties and "both wrong" make no pair, except that a
//!   corrected answer is chosen over both answers (a pair whose two sides are the same text is
//!   left out: it teaches nothing, and so is the same pair twice from one rating).
//! - Each file is written whole to a temporary file and renamed, so a reader never sees half of
//!   one; an export with no pair is refused rather than written empty.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tunesmith_store::{Choice, RatingRecord, Side};

use crate::home::Home;
use crate::{Error, Result};

/// One preference pair (TRL's standard preference format).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreferencePair {
    /// The question.
    pub prompt: String,
    /// The better answer.
    pub chosen: String,
    /// The worse one.
    pub rejected: String,
}

/// What to export.
#[derive(Debug, Clone, Deserialize, specta::Type)]
pub struct RatingsExportArgs {
    /// The preference pairs' file (`.jsonl`); default: a new file in the Tunesmith folder's
    /// `ratings` folder.
    #[specta(optional)]
    pub out: Option<PathBuf>,
    /// The corrected answers' file (`.csv`); default with no `out`: beside the pairs, when there
    /// are corrected answers; with `out`: none unless given.
    #[specta(optional)]
    pub rows: Option<PathBuf>,
    /// Only the ratings of this run (id, prefix or name).
    #[specta(optional)]
    pub run: Option<String>,
}

/// What an export wrote.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct RatingsExport {
    /// The preference pairs' file.
    pub out: PathBuf,
    /// Pairs written.
    pub pairs: u64,
    /// The corrected answers' file, if one was written.
    pub rows_file: Option<PathBuf>,
    /// Rows written to it.
    pub rows: u64,
    /// Ratings read.
    pub ratings: u64,
    /// Ties without a corrected answer (no pair).
    pub ties: u64,
    /// "Both wrong" without a corrected answer (no pair).
    pub both_wrong: u64,
}

/// The preference pairs `records` make, in their order.
pub fn preference_pairs(records: &[RatingRecord]) -> Vec<PreferencePair> {
    let mut pairs = Vec::new();
    for r in records {
        let mut candidates: Vec<(&str, &str)> = Vec::new();
        if let Some(better) = r.preferred() {
            candidates.push((r.answer(better), r.answer(better.other())));
        }
        if let Some(corrected) = &r.corrected {
            candidates.extend([Side::A, Side::B].map(|side| (corrected.as_str(), r.answer(side))));
        }
        // A pair of equal texts teaches nothing; the same pair twice from one rating counts once.
        let mut kept: Vec<(&str, &str)> = Vec::new();
        for (chosen, rejected) in candidates {
            if chosen != rejected && !kept.contains(&(chosen, rejected)) {
                kept.push((chosen, rejected));
            }
        }
        pairs.extend(kept.into_iter().map(|(chosen, rejected)| PreferencePair {
            prompt: r.prompt.clone(),
            chosen: chosen.to_string(),
            rejected: rejected.to_string(),
        }));
    }
    pairs
}

/// The corrected answers of `records` as (prompt, response) training rows.
pub fn corrected_rows(records: &[RatingRecord]) -> Vec<(String, String)> {
    records
        .iter()
        .filter_map(|r| r.corrected.as_ref().map(|c| (r.prompt.clone(), c.clone())))
        .collect()
}

/// The pairs as JSONL: one object per line, each line ending in a newline.
pub fn to_jsonl(pairs: &[PreferencePair]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for p in pairs {
        serde_json::to_writer(&mut out, p)
            .map_err(|e| Error::invalid(format!("a preference pair cannot be written: {e}")))?;
        out.push(b'\n');
    }
    Ok(out)
}

/// The rows as a CSV with a `prompt,response` header.
pub fn to_csv(rows: &[(String, String)]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| Error::invalid(format!("a corrected row cannot be written: {e}"));
    w.write_record(["prompt", "response"]).map_err(fail)?;
    for (prompt, response) in rows {
        w.write_record([prompt, response]).map_err(fail)?;
    }
    w.into_inner()
        .map_err(|e| Error::invalid(format!("the corrected rows cannot be written: {e}")))
}

/// Exports the ratings as `args` asks.
pub fn export(home: &Home, args: &RatingsExportArgs) -> Result<RatingsExport> {
    let store = crate::runs::open_for_reading(home)?;
    let run_id = match &args.run {
        Some(run) => Some(store.resolve_run(run)?.id),
        None => None,
    };
    let records = store.ratings(run_id.as_deref())?;
    if records.is_empty() {
        return Err(Error::invalid(
            "there are no ratings to export yet: rate answers blind in Chat & Compare, or with `tunesmith ratings add`",
        ));
    }
    let pairs = preference_pairs(&records);
    let without_correction = |c: Choice| {
        records
            .iter()
            .filter(|r| r.choice == c && r.corrected.is_none())
            .count() as u64
    };
    let (ties, both_wrong) = (
        without_correction(Choice::Tie),
        without_correction(Choice::BothWrong),
    );
    if pairs.is_empty() {
        return Err(Error::invalid(format!(
            "the {} ratings make no preference pair ({ties} ties, {both_wrong} both wrong, none with a corrected answer): prefer one answer, or write a corrected answer, for at least one question",
            records.len()
        )));
    }
    let rows = corrected_rows(&records);
    let (out, rows_file) = match &args.out {
        Some(out) => (out.clone(), args.rows.clone()),
        None => {
            let dir = home.root().join("ratings");
            std::fs::create_dir_all(&dir)
                .map_err(|e| Error::invalid(format!("{} cannot be created: {e}", dir.display())))?;
            let stamp =
                tunesmith_store::clock::compact_utc_seconds(tunesmith_store::clock::now_ms());
            let rows_file = args.rows.clone().or_else(|| {
                (!rows.is_empty()).then(|| dir.join(format!("corrected-rows-{stamp}.csv")))
            });
            (
                dir.join(format!("preference-pairs-{stamp}.jsonl")),
                rows_file,
            )
        }
    };
    if rows_file.as_deref() == Some(out.as_path()) {
        return Err(Error::invalid(format!(
            "the pairs and the corrected rows would both be written to {}: give two different files",
            out.display()
        )));
    }
    write(&out, &to_jsonl(&pairs)?)?;
    if let Some(file) = &rows_file {
        write(file, &to_csv(&rows)?)?;
    }
    Ok(RatingsExport {
        out,
        pairs: pairs.len() as u64,
        rows: if rows_file.is_some() {
            rows.len() as u64
        } else {
            0
        },
        rows_file,
        ratings: records.len() as u64,
        ties,
        both_wrong,
    })
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    if path.is_dir() {
        return Err(Error::invalid(format!(
            "{} is a folder: give a file name to write to",
            path.display()
        )));
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !parent.is_dir() {
            return Err(Error::invalid(format!(
                "the folder {} does not exist: create it, or choose another place for {}",
                parent.display(),
                path.display()
            )));
        }
    }
    Ok(tunesmith_store::files::write_atomic(path, bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(first: Side, choice: Choice, corrected: Option<&str>) -> RatingRecord {
        RatingRecord {
            id: 1,
            run_id: None,
            comparison: "c".into(),
            item: 0,
            prompt: "When is the clinic open on Saturday?".into(),
            reference: None,
            a_config: "base".into(),
            a_answer: "On Sundays.".into(),
            b_config: "fine_tuned".into(),
            b_answer: "From 9 to 12.".into(),
            seed: Some(3),
            shown_first: first,
            choice,
            corrected: corrected.map(str::to_string),
            created_at: 0,
        }
    }

    #[test]
    fn a_preferred_answer_is_chosen_and_ties_and_both_wrong_make_no_pair() {
        let pairs = preference_pairs(&[
            record(Side::B, Choice::Answer1, None),
            record(Side::A, Choice::Tie, None),
            record(Side::A, Choice::BothWrong, None),
        ]);
        assert_eq!(
            pairs,
            [PreferencePair {
                prompt: "When is the clinic open on Saturday?".into(),
                chosen: "From 9 to 12.".into(),
                rejected: "On Sundays.".into(),
            }]
        );
    }

    #[test]
    fn a_corrected_answer_is_chosen_over_both_answers_and_becomes_a_training_row() {
        let records = [
            record(Side::A, Choice::BothWrong, Some("From 9 to 12 noon.")),
            // Preferred and corrected to the same text: only the pairs that differ.
            record(Side::A, Choice::Answer2, Some("From 9 to 12.")),
        ];
        let pairs = preference_pairs(&records);
        let chosen_rejected: Vec<(&str, &str)> = pairs
            .iter()
            .map(|p| (p.chosen.as_str(), p.rejected.as_str()))
            .collect();
        assert_eq!(
            chosen_rejected,
            [
                ("From 9 to 12 noon.", "On Sundays."),
                ("From 9 to 12 noon.", "From 9 to 12."),
                ("From 9 to 12.", "On Sundays."),
            ]
        );
        let rows = corrected_rows(&records);
        assert_eq!(rows.len(), 2);
        let csv = String::from_utf8(to_csv(&rows).unwrap()).unwrap();
        assert!(csv.starts_with("prompt,response\n"), "{csv}");
    }

    #[test]
    fn the_jsonl_has_one_object_per_line_with_exactly_the_three_fields() {
        let pairs = preference_pairs(&[record(Side::B, Choice::Answer2, None)]);
        let text = String::from_utf8(to_jsonl(&pairs).unwrap()).unwrap();
        assert!(text.ends_with('\n'));
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
            assert_eq!(keys.len(), 3, "{line}");
            for k in ["prompt", "chosen", "rejected"] {
                assert!(v[k].is_string(), "{k} in {line}");
            }
        }
    }
}
