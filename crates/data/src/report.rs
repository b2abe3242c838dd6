//! The data doctor's report: what `tunesmith data inspect --json` prints and what training checks.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::finding::Finding;
use crate::labels::LabelMerge;
use crate::length::LengthStats;
use crate::pii::PiiKind;
use crate::roles::{Column, Task};
use crate::split::SmallClass;

/// Personal data of one kind: how many rows, and which to look at.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PiiCount {
    /// Rows with at least one match.
    pub count: u64,
    /// Up to ten of their line numbers.
    pub rows: Vec<u64>,
}

/// The sizes of the default split (what training will use unless told otherwise).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SplitSummary {
    /// Training rows.
    pub train: u64,
    /// Validation rows.
    pub validation: u64,
    /// Test rows.
    pub test: u64,
    /// The seed.
    pub seed: u64,
    /// Whether it is stratified by label.
    pub stratified: bool,
    /// Groups of rows kept together (duplicates, group column values).
    pub groups: u64,
    /// Classes too small for every part.
    pub small_classes: Vec<SmallClass>,
}

/// Everything the data doctor found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct InspectReport {
    /// The file inspected.
    pub file: String,
    /// `csv`, `tsv`, `jsonl`, `text`, ...
    pub format: String,
    /// The encoding found (converted to UTF-8 when not UTF-8).
    pub encoding: String,
    /// Whether the first row was taken as a header.
    pub has_header: bool,
    /// The task the roles add up to.
    pub task: Task,
    /// Data rows read (the header not counted).
    pub rows: u64,
    /// Rows training would use (readable, complete, and not dropped by a chosen fix).
    pub usable_rows: u64,
    /// The columns and their roles.
    pub columns: Vec<Column>,
    /// Rows per label, over the usable rows (classification).
    pub label_counts: BTreeMap<String, u64>,
    /// Labels that probably mean the same class.
    pub label_suggestions: Vec<LabelMerge>,
    /// Rows that repeat an earlier row exactly (after trimming spaces).
    pub duplicates: u64,
    /// Rows that repeat an earlier row's text after normalising case, spacing and punctuation.
    pub near_duplicates: u64,
    /// Rows whose (normalised) text appears elsewhere with a different label.
    pub conflicts: u64,
    /// Rows with an empty text, label, prompt or response.
    pub empty: u64,
    /// Rows that could not be read (ragged rows, lines that are not JSON).
    pub unreadable: u64,
    /// Personal data hints by kind.
    pub pii: BTreeMap<PiiKind, PiiCount>,
    /// Token lengths of the usable rows.
    pub length: LengthStats,
    /// The default split's sizes.
    pub split: SplitSummary,
    /// The content fingerprint of the usable rows.
    pub fingerprint: String,
    /// Findings that do not block training.
    pub warnings: Vec<Finding>,
    /// Findings that block training.
    pub errors: Vec<Finding>,
}

impl InspectReport {
    /// Whether training may use this data (no errors; warnings allowed).
    pub fn is_usable(&self) -> bool {
        self.errors.is_empty()
    }
}
