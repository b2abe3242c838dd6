//! The data doctor: watches every row go by (holding hashes, not texts, so memory stays small for
//! a million rows) and, at the end, writes the report with one finding per problem.
//!
//! Definitions: an exact duplicate repeats an earlier row's content (text and label, spaces
//! tidied); a near duplicate repeats an earlier row's text after normalising case, spacing and
//! punctuation, with the same label; a conflict is a text that appears with different labels.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::example::{Content, Example, Missing};
use crate::finding::Finding;
use crate::labels::{label_key, merge_map, multi_label_cells, suggest_merges};
use crate::length::LengthStats;
use crate::normalize::{hash, near_key, tidy};
use crate::pii::{self, PiiKind};
use crate::report::{InspectReport, PiiCount, SplitSummary};
use crate::roles::{Role, Schema, Task};
use crate::source::{thousands, RowProblem, Source};
use crate::split::{SplitConfig, SplitItem, SplitPlan};

/// The fixes the user chose: each is one flag of `tunesmith data inspect` and `tunesmith train`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Fixes {
    /// `--drop-duplicates`: keep the first of each group of exact or near duplicates.
    pub drop_duplicates: bool,
    /// `--drop-conflicts`: leave out every row whose text appears with different labels.
    pub drop_conflicts: bool,
    /// `--drop-empty`: leave out rows with an empty text, label or response without a warning.
    pub drop_empty: bool,
    /// `--merge-labels`: merge label spellings that mean the same class.
    pub merge_labels: bool,
    /// `--skip-bad-rows`: leave out rows that cannot be read instead of refusing the file.
    pub skip_bad_rows: bool,
}

/// What the doctor keeps per usable row: hashes and numbers only.
#[derive(Debug, Clone)]
pub(crate) struct RowKey {
    line: u64,
    near: u64,
    text: u64,
    label: u32,
    group: Option<u64>,
    len: u32,
    duplicate: bool,
    near_duplicate: bool,
}

const NO_LABEL: u32 = u32::MAX;

#[derive(Default)]
struct Lines {
    count: u64,
    lines: Vec<u64>,
}

impl Lines {
    fn add(&mut self, line: u64) {
        self.count += 1;
        if self.lines.len() < 10 {
            self.lines.push(line);
        }
    }
}

/// The running state of the doctor over one file.
pub(crate) struct Doctor {
    task: Task,
    rows_read: u64,
    problems: Vec<RowProblem>,
    problem_count: u64,
    empty: Lines,
    missing_label: u64,
    labels: Vec<String>,
    label_ids: HashMap<String, u32>,
    norm_of: Vec<u32>,
    norm_ids: HashMap<String, u32>,
    exact: std::collections::HashSet<(u64, u32)>,
    /// Per normalised text: the first row's normalised label, and whether another label was seen.
    near: HashMap<u64, (u32, bool)>,
    pub(crate) keys: Vec<RowKey>,
    duplicates: Lines,
    near_duplicates: Lines,
    pii: BTreeMap<PiiKind, Lines>,
}

impl Doctor {
    pub(crate) fn new(task: Task) -> Doctor {
        Doctor {
            task,
            rows_read: 0,
            problems: Vec::new(),
            problem_count: 0,
            empty: Lines::default(),
            missing_label: 0,
            labels: Vec::new(),
            label_ids: HashMap::new(),
            norm_of: Vec::new(),
            norm_ids: HashMap::new(),
            exact: Default::default(),
            near: HashMap::new(),
            keys: Vec::new(),
            duplicates: Lines::default(),
            near_duplicates: Lines::default(),
            pii: BTreeMap::new(),
        }
    }

    pub(crate) fn problem(&mut self, p: RowProblem) {
        self.rows_read += 1;
        self.problem_count += 1;
        if self.problems.len() < 10 {
            self.problems.push(p);
        }
    }

    pub(crate) fn missing(&mut self, line: u64, what: Missing) {
        self.rows_read += 1;
        self.empty.add(line);
        if what == Missing::Label {
            self.missing_label += 1;
        }
    }

    /// Records a usable example; its token length is set later (lengths are counted in batches).
    pub(crate) fn example(&mut self, ex: &Example, group: Option<&str>) {
        self.rows_read += 1;
        let label = match ex.label() {
            Some(l) => self.intern(l),
            None => NO_LABEL,
        };
        let norm = if label == NO_LABEL {
            NO_LABEL
        } else {
            self.norm_of[label as usize]
        };
        let key_text = ex.key_text();
        let near = near_key(&key_text);
        let text = match &ex.content {
            Content::Labelled { text, .. } => hash(tidy(text).as_bytes()),
            _ => hash(tidy(&ex.exact_text()).as_bytes()),
        };
        let duplicate = !self.exact.insert((text, label));
        let mut near_duplicate = false;
        match self.near.get_mut(&near) {
            Some((first, conflicted)) => {
                if !duplicate && (self.task == Task::Generate || *first == norm) {
                    near_duplicate = true;
                }
                if *first != norm {
                    *conflicted = true;
                }
            }
            None => {
                self.near.insert(near, (norm, false));
            }
        }
        if duplicate {
            self.duplicates.add(ex.line);
        } else if near_duplicate {
            self.near_duplicates.add(ex.line);
        }
        for kind in pii::scan(&ex.full_text()) {
            self.pii.entry(kind).or_default().add(ex.line);
        }
        self.keys.push(RowKey {
            line: ex.line,
            near,
            text,
            label,
            group: group.map(|g| hash(tidy(g).as_bytes())),
            len: 0,
            duplicate,
            near_duplicate,
        });
    }

    pub(crate) fn set_lengths(&mut self, from: usize, lengths: &[u32]) {
        for (k, &l) in self.keys[from..].iter_mut().zip(lengths) {
            k.len = l;
        }
    }

    fn intern(&mut self, label: &str) -> u32 {
        if let Some(&id) = self.label_ids.get(label) {
            return id;
        }
        let id = self.labels.len() as u32;
        self.labels.push(label.to_string());
        self.label_ids.insert(label.to_string(), id);
        let key = label_key(label);
        let next = self.norm_ids.len() as u32;
        let norm = *self.norm_ids.entry(key).or_insert(next);
        self.norm_of.push(norm);
        id
    }
}

/// What the scan knows besides the doctor's tallies.
pub(crate) struct Context<'a> {
    pub source: &'a Source,
    pub schema: &'a Schema,
    pub fixes: Fixes,
    pub split: &'a SplitConfig,
    pub max_len: u32,
    pub length_method: &'static str,
    pub converted_fields: u64,
}

/// The doctor's conclusions: the report, which usable rows are kept, their split items, the
/// class names the items' class indices refer to, and the label each kept row trains on (only
/// when the examples are kept).
pub(crate) struct Outcome {
    pub report: InspectReport,
    pub keep: Vec<bool>,
    pub items: Vec<SplitItem>,
    pub classes: Vec<String>,
    pub labels: Vec<String>,
}

impl Doctor {
    pub(crate) fn finish(self, cx: &Context, want_labels: bool) -> crate::Result<Outcome> {
        let d = self;
        let fx = cx.fixes;
        let classify = cx.schema.task == Task::Classify;
        // Conflicts: a normalised text seen with more than one (normalised) label.
        let conflicted: std::collections::HashSet<u64> = if classify {
            d.near
                .iter()
                .filter(|(_, (_, c))| *c)
                .map(|(k, _)| *k)
                .collect()
        } else {
            Default::default()
        };
        let mut conflicts = Lines::default();
        for k in &d.keys {
            if conflicted.contains(&k.near) {
                conflicts.add(k.line);
            }
        }
        // Label spellings, over all usable rows.
        let mut raw_counts: BTreeMap<String, u64> = BTreeMap::new();
        for k in d.keys.iter().filter(|k| k.label != NO_LABEL) {
            *raw_counts
                .entry(d.labels[k.label as usize].clone())
                .or_default() += 1;
        }
        let merges = if classify {
            suggest_merges(&raw_counts)
        } else {
            Vec::new()
        };
        let merged = merge_map(&merges);
        let multi = if classify {
            multi_label_cells(&raw_counts)
        } else {
            Vec::new()
        };
        // Which rows training keeps.
        let keep: Vec<bool> = d
            .keys
            .iter()
            .map(|k| {
                !(fx.drop_duplicates && (k.duplicate || k.near_duplicate))
                    && !(fx.drop_conflicts && conflicted.contains(&k.near))
            })
            .collect();
        // Classes: the raw labels, or their merged spellings; sorted, so class indices are stable.
        let final_name = |raw: &String| -> String {
            if fx.merge_labels {
                merged.get(raw).cloned().unwrap_or_else(|| raw.clone())
            } else {
                raw.clone()
            }
        };
        let mut classes: Vec<String> = d.labels.iter().map(final_name).collect();
        classes.sort();
        classes.dedup();
        let class_of: Vec<u32> = d
            .labels
            .iter()
            .map(|raw| classes.binary_search(&final_name(raw)).unwrap_or(0) as u32)
            .collect();
        let mut class_counts = vec![0u64; classes.len()];
        let mut lengths = Vec::new();
        let mut items = Vec::new();
        let mut labels = Vec::new();
        let mut fingerprint = Sha256::new();
        let mut long = Lines::default();
        for (k, _) in d.keys.iter().zip(&keep).filter(|(_, &kp)| kp) {
            let class = (k.label != NO_LABEL).then(|| class_of[k.label as usize]);
            if let Some(c) = class {
                class_counts[c as usize] += 1;
            }
            lengths.push(k.len);
            if k.len > cx.max_len {
                long.add(k.line);
            }
            fingerprint.update(k.text.to_le_bytes());
            fingerprint.update(
                class
                    .map(|c| classes[c as usize].as_str())
                    .unwrap_or("")
                    .as_bytes(),
            );
            fingerprint.update([0u8]);
            items.push(SplitItem {
                key: k.near,
                group: k.group,
                class,
            });
            if want_labels {
                labels.push(
                    class
                        .map(|c| classes[c as usize].clone())
                        .unwrap_or_default(),
                );
            }
        }
        let label_counts: BTreeMap<String, u64> = classes
            .iter()
            .cloned()
            .zip(class_counts)
            .filter(|(_, n)| *n > 0)
            .collect();
        let fingerprint = format!("sha256:{:x}", fingerprint.finalize());
        let usable = items.len() as u64;
        let length = LengthStats::new(&mut lengths, cx.max_len, cx.length_method);
        let plan = SplitPlan::holdout(&items, &classes, cx.split, &fingerprint)?;

        let mut errors = Vec::new();
        let mut warnings = Vec::new();
        let src = cx.source;
        let n = |x: u64| thousands(x);
        let rows_word = |x: u64| if x == 1 { "row" } else { "rows" };
        // Verbs and pronouns agree with the count: "1 row has", "2 rows have".
        let agree = |x: u64, one: &'static str, many: &'static str| if x == 1 { one } else { many };

        // --- Errors: the data cannot be trained on as it is.
        if d.problem_count > 0 {
            let list: Vec<String> = d
                .problems
                .iter()
                .take(3)
                .map(|p| p.message.clone())
                .collect();
            let more = if d.problem_count > 3 {
                format!(" (and {} more)", n(d.problem_count - 3))
            } else {
                String::new()
            };
            let msg = format!(
                "{} {} cannot be read: {}{more}",
                n(d.problem_count),
                rows_word(d.problem_count),
                list.join(". ")
            );
            let lines: Vec<u64> = d.problems.iter().map(|p| p.line).collect();
            let why = "A row read with its values in the wrong columns teaches the model wrong answers, and a broken quote can silently swallow many rows.";
            if fx.skip_bad_rows {
                // The flag goes in `fix`, as the other applied fixes say it: the message is read
                // on the Data screen, where a command-line flag means nothing.
                warnings.push(
                    Finding::warning(
                        "unreadable_rows",
                        format!(
                            "{msg}; {} left out",
                            agree(d.problem_count, "it is", "they are")
                        ),
                        why,
                    )
                    .fix("--skip-bad-rows (applied)")
                    .rows(d.problem_count, &lines),
                );
            } else {
                errors.push(
                    Finding::error("unreadable_rows", msg, why)
                        .fix("--skip-bad-rows")
                        .rows(d.problem_count, &lines),
                );
            }
        }
        if d.rows_read == 0 {
            let msg = if src.has_header {
                format!(
                    "the file has a header ({}) but no rows below it",
                    src.columns.join(", ")
                )
            } else {
                "the file has no rows".to_string()
            };
            errors.push(Finding::error(if src.has_header { "header_only" } else { "no_rows" }, msg, "There is nothing to learn from; add your examples below the header and export again."));
        }
        let names = |role: Role| -> Vec<String> {
            cx.schema
                .indices(role)
                .into_iter()
                .map(|i| cx.schema.columns[i].name.clone())
                .collect()
        };
        let all_columns = cx
            .schema
            .columns
            .iter()
            .map(|c| format!("`{}`", c.name))
            .collect::<Vec<_>>()
            .join(", ");
        match cx.schema.task {
            Task::Classify => {
                if names(Role::Text).is_empty() {
                    errors.push(
                        Finding::error(
                            "no_text_column",
                            format!(
                                "no column holds the text to classify (columns: {all_columns})"
                            ),
                            "The model needs a text to read for every label.",
                        )
                        .fix("--text-column NAME"),
                    );
                }
                if names(Role::Label).is_empty() {
                    errors.push(
                        Finding::error(
                            "no_label_column",
                            format!("no column holds the labels (columns: {all_columns})"),
                            "Classification learns from examples whose right answer is given.",
                        )
                        .fix("--label-column NAME"),
                    );
                }
            }
            Task::Generate => {
                let has_pair = !names(Role::Prompt).is_empty() && !names(Role::Response).is_empty();
                let has_any = has_pair
                    || !names(Role::Messages).is_empty()
                    || !names(Role::Prompt).is_empty()
                    || !names(Role::Text).is_empty();
                if !has_any {
                    errors.push(
                        Finding::error("no_prompt_column", format!("no column holds a prompt, a response or messages (columns: {all_columns})"), "Generation learns to answer prompts; it needs to know which column holds which.")
                            .fix("--text-column PROMPT --response-column RESPONSE"),
                    );
                }
            }
        }
        if d.rows_read > 0 && usable == 0 && errors.is_empty() {
            errors.push(Finding::error(
                "no_usable_rows",
                format!(
                    "none of the {} rows has everything training needs (see the other findings)",
                    n(d.rows_read)
                ),
                "There is nothing left to learn from.",
            ));
        }
        if classify && usable > 0 && names(Role::Label).len() == 1 {
            if label_counts.len() == 1 {
                let only = label_counts.keys().next().cloned().unwrap_or_default();
                errors.push(Finding::error(
                    "one_class",
                    format!("every usable row has the label `{only}`: there is only one class"),
                    "A classifier needs at least two classes to tell apart; with one it learns to always say the same thing.",
                ).fix("add rows of the other classes, or check --label-column"));
            } else if label_counts.len() > 20 && label_counts.len() as u64 * 2 > usable {
                let label_col = names(Role::Label).join(", ");
                errors.push(Finding::error(
                    "label_looks_like_text",
                    format!("the label column `{label_col}` has {} different values in {} rows: it does not look like a column of classes", n(label_counts.len() as u64), n(usable)),
                    "Each class needs many examples; a column of mostly unique values is text or an identifier, not labels.",
                ).fix("--label-column NAME"));
            }
        }

        // --- Warnings: training may go on.
        if cx.source.encoding.is_converted() {
            let detail = if cx.converted_fields > 0 {
                format!(
                    " ({} values had characters outside UTF-8)",
                    n(cx.converted_fields)
                )
            } else {
                String::new()
            };
            warnings.push(Finding::warning(
                "encoding_converted",
                format!("the file is {}, not UTF-8; it was converted to UTF-8{detail}", cx.source.encoding.label()),
                "Read in the wrong encoding, accented letters turn into garbage the model would learn; check a few rows in the preview.",
            ).fix("none needed; to silence this, save the file as \"CSV UTF-8\""));
        } else if cx.converted_fields > 0 {
            warnings.push(Finding::warning(
                "mixed_encoding",
                format!("{} values are not valid UTF-8 and were read as Windows-1252 (Latin-1)", n(cx.converted_fields)),
                "A file mixing encodings usually comes from pasting between programs; wrongly read accents become noise in training.",
            ).fix("save the file as \"CSV UTF-8\" from one program"));
        }
        if d.empty.count > 0 && !fx.drop_empty {
            warnings.push(Finding::warning(
                "empty_cells",
                format!("{} {} {} an empty or whitespace-only {}; {} left out", n(d.empty.count), rows_word(d.empty.count), agree(d.empty.count, "has", "have"), match cx.schema.task { Task::Classify => "text or label", Task::Generate => "prompt or response" }, agree(d.empty.count, "it is", "they are")),
                "Rows without a text or an answer cannot teach anything, and many of them often mean a column was guessed wrong.",
            ).fix("--drop-empty").rows(d.empty.count, &d.empty.lines));
        }
        if d.duplicates.count > 0 {
            let one = d.duplicates.count == 1;
            let (verb, fix) = if fx.drop_duplicates {
                (if one { "it was left out" } else { "they were left out" }, "--drop-duplicates (applied)")
            } else {
                (if one { "it is kept in the same split as the row it repeats" } else { "they are kept together in one split" }, "--drop-duplicates")
            };
            warnings.push(
                Finding::warning(
                    "duplicates",
                    format!(
                        "{} {} {} an earlier row exactly; {verb}",
                        n(d.duplicates.count),
                        rows_word(d.duplicates.count),
                        agree(d.duplicates.count, "repeats", "repeat")
                    ),
                    "Repeated rows count several times in training, tilting the model toward them.",
                )
                .fix(fix)
                .rows(d.duplicates.count, &d.duplicates.lines),
            );
        }
        if d.near_duplicates.count > 0 {
            let one = d.near_duplicates.count == 1;
            let (verb, fix) = if fx.drop_duplicates {
                (if one { "it was left out" } else { "they were left out" }, "--drop-duplicates (applied)")
            } else {
                (if one { "it is kept in the same split as the row it repeats" } else { "they are kept together in one split" }, "--drop-duplicates")
            };
            warnings.push(Finding::warning(
                "near_duplicates",
                format!("{} {} {} an earlier row's text up to case, spacing or punctuation; {verb}", n(d.near_duplicates.count), rows_word(d.near_duplicates.count), agree(d.near_duplicates.count, "repeats", "repeat")),
                "Near copies in both training and test make the test score look better than the model is.",
            ).fix(fix).rows(d.near_duplicates.count, &d.near_duplicates.lines));
        }
        if conflicts.count > 0 {
            let one = conflicts.count == 1;
            let (verb, fix) = if fx.drop_conflicts {
                (if one { "it was left out" } else { "they were left out" }, "--drop-conflicts (applied)")
            } else {
                (if one { "it is kept" } else { "they are kept" }, "--drop-conflicts")
            };
            warnings.push(Finding::warning(
                "conflicts",
                format!("{} {} {} with a row of a different label; {verb}", n(conflicts.count), rows_word(conflicts.count), agree(conflicts.count, "shares its text", "share their text")),
                "The same text with two labels teaches the model that either answer is right, and caps the accuracy it can reach.",
            ).fix(fix).rows(conflicts.count, &conflicts.lines));
        }
        if !merges.is_empty() {
            let list: Vec<String> = merges
                .iter()
                .map(|m| {
                    format!(
                        "{} -> `{}`",
                        m.variants
                            .iter()
                            .map(|v| format!("`{v}`"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        m.canonical
                    )
                })
                .collect();
            let rows: u64 = merges.iter().map(|m| m.rows).sum();
            let (lead, fix) = if fx.merge_labels {
                ("merged label spellings", "--merge-labels (applied)")
            } else {
                ("labels that probably mean the same class", "--merge-labels")
            };
            warnings.push(Finding::warning(
                "label_spellings",
                format!("{lead}: {}", list.join("; ")),
                "Spelled two ways, one class becomes two, and the model splits its evidence between them.",
            ).fix(fix).rows(rows, &[]));
        }
        if !multi.is_empty() {
            let rows: u64 = multi.iter().filter_map(|m| raw_counts.get(m)).sum();
            warnings.push(Finding::warning(
                "multi_label",
                format!("{} {} {} several labels in one cell ({}); each such cell is trained as a class of its own", n(rows), rows_word(rows), agree(rows, "holds", "hold"), multi.iter().take(5).map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")),
                "Tunesmith trains one label per row; a combined label becomes an extra class with few examples.",
            ).fix("choose one label per row, or repeat the row once per label").rows(rows, &[]));
        }
        if classify && label_counts.len() >= 2 {
            let max = label_counts.values().copied().max().unwrap_or(0);
            let (min_label, min) = label_counts
                .iter()
                .min_by_key(|(_, &c)| c)
                .map(|(l, &c)| (l.clone(), c))
                .unwrap_or_default();
            if min > 0 && max >= 5 * min {
                warnings.push(Finding::warning(
                    "imbalance",
                    format!("the classes are imbalanced: the largest has {} rows, `{min_label}` only {}", n(max), n(min)),
                    "A model can score well by mostly predicting the big class; look at per-class recall, not accuracy alone.",
                ).fix(format!("add rows of `{min_label}`")));
            }
            let small: Vec<(&String, &u64)> =
                label_counts.iter().filter(|(_, &c)| c < 10).collect();
            if !small.is_empty() {
                let count = small.iter().map(|(_, &c)| c).sum();
                warnings.push(Finding::warning(
                    "small_classes",
                    format!("{} with fewer than 10 rows: {}", if small.len() == 1 { "one class" } else { "classes" }, small.iter().map(|(l, c)| format!("`{l}` ({c})")).collect::<Vec<_>>().join(", ")),
                    "A handful of examples is rarely enough to learn a class, and it cannot be measured fairly in the test split.",
                ).fix("add rows of these classes, or merge them into others").rows(count, &[]));
            }
        }
        for sc in &plan.small_classes {
            warnings.push(
                Finding::warning(
                    "class_missing_from_split",
                    sc.message.clone(),
                    "A class absent from the test split cannot be measured.",
                )
                .rows(sc.rows, &[]),
            );
        }
        if usable > 0 && usable < 50 && errors.is_empty() {
            warnings.push(Finding::warning(
                "few_rows",
                format!("only {} usable rows", n(usable)),
                // Classes are a classifier's; a generator's data has none.
                match cx.schema.task {
                    Task::Classify => "Fine-tuning on very few examples mostly memorises them; a few hundred per class is a good start.",
                    Task::Generate => "Fine-tuning on very few examples mostly memorises them; a few hundred prompts with their answers are a good start.",
                },
            ).fix("add more rows"));
        }
        if long.count > 0 {
            let suggest = suggested_max_len(length.p95.max(length.max.min(cx.max_len * 2)));
            warnings.push(Finding::warning(
                "truncated",
                format!("{} {} {} longer than the maximum length of {} tokens ({}) and would be cut", n(long.count), rows_word(long.count), agree(long.count, "is", "are"), cx.max_len, length.method),
                "Whatever lies past the cut is never seen in training, so answers or evidence there are lost.",
            ).fix(format!("--max-len {suggest}")).rows(long.count, &long.lines));
        }
        for (kind, lines) in &d.pii {
            warnings.push(Finding::warning(
                &format!("pii_{}", serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()),
                format!("{} {} {} what look like {}", n(lines.count), rows_word(lines.count), agree(lines.count, "contains", "contain"), kind.label()),
                "A fine-tuned model can repeat personal data it was trained on to anyone who asks.",
            ).fix("remove or mask them in the file before training").rows(lines.count, &lines.lines));
        }

        let pii = PiiKind::ALL
            .iter()
            .map(|k| {
                (
                    *k,
                    d.pii
                        .get(k)
                        .map(|l| PiiCount {
                            count: l.count,
                            rows: l.lines.clone(),
                        })
                        .unwrap_or_default(),
                )
            })
            .collect();
        let report = InspectReport {
            file: src.path.display().to_string(),
            format: src.format.name().to_string(),
            encoding: src.encoding.label().to_string(),
            has_header: src.has_header,
            task: cx.schema.task,
            rows: d.rows_read,
            usable_rows: usable,
            columns: cx.schema.columns.clone(),
            label_counts,
            label_suggestions: merges,
            duplicates: d.duplicates.count,
            near_duplicates: d.near_duplicates.count,
            conflicts: conflicts.count,
            empty: d.empty.count,
            unreadable: d.problem_count,
            pii,
            length,
            split: SplitSummary {
                train: plan.sizes[0],
                validation: plan.sizes[1],
                test: plan.sizes[2],
                seed: plan.seed,
                stratified: plan.stratified,
                groups: plan.groups,
                small_classes: plan.small_classes.clone(),
            },
            fingerprint,
            warnings,
            errors,
        };
        Ok(Outcome {
            report,
            keep,
            items,
            classes,
            labels,
        })
    }
}

/// A maximum length that covers `needed` tokens: the next multiple of 64.
fn suggested_max_len(needed: u32) -> u32 {
    needed.div_ceil(64).max(1) * 64
}
