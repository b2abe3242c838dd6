//! Label spellings: finding labels that mean the same class (`Positive`, `positive `, `POS`;
//! `1` and `1.0`) and cells that hold several labels (`a;b`).
//!
//! Tunesmith suggests merges and applies them only when asked (`--merge-labels`): a model trained
//! on `Positive` and `positive` as two classes splits its evidence between them.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

/// Labels that should probably be one class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct LabelMerge {
    /// The spelling to keep.
    pub canonical: String,
    /// Every spelling found (the canonical one included), as written in the file.
    pub variants: Vec<String>,
    /// How many rows carry one of the variants.
    pub rows: u64,
}

/// The comparison key of a label: trimmed, lower-cased, numbers in one form (`1.0` -> `1`).
pub fn label_key(label: &str) -> String {
    let t = label.trim();
    if let Ok(x) = t.parse::<f64>() {
        if x.is_finite() && x.fract() == 0.0 && x.abs() < 1e15 {
            return format!("{}", x as i64);
        }
        if x.is_finite() {
            return format!("{x}");
        }
    }
    t.to_lowercase()
}

/// Groups `counts`' labels that should be merged. Only groups with more than one spelling are returned.
pub fn suggest_merges(counts: &BTreeMap<String, u64>) -> Vec<LabelMerge> {
    // 1. Same key: case, spacing, number format.
    let mut by_key: BTreeMap<String, Vec<(&String, u64)>> = BTreeMap::new();
    for (label, &n) in counts {
        by_key.entry(label_key(label)).or_default().push((label, n));
    }
    // 2. Abbreviations: a key of 3+ letters that starts exactly one longer key (`pos` -> `positive`).
    let keys: Vec<String> = by_key.keys().cloned().collect();
    let mut into: HashMap<String, String> = HashMap::new();
    for short in &keys {
        if short.chars().count() < 3 || short.parse::<f64>().is_ok() {
            continue;
        }
        let longer: Vec<&String> = keys
            .iter()
            .filter(|k| *k != short && k.starts_with(short.as_str()))
            .collect();
        if longer.len() == 1 {
            into.insert(short.clone(), longer[0].clone());
        }
    }
    for (short, long) in &into {
        if let Some(moved) = by_key.remove(short) {
            by_key.entry(long.clone()).or_default().extend(moved);
        }
    }
    let mut merges: Vec<LabelMerge> = by_key
        .into_values()
        .filter(|g| g.len() > 1)
        .map(|g| {
            let rows = g.iter().map(|(_, n)| n).sum();
            // Keep the full word's most frequent spelling, trimmed.
            let longest = g
                .iter()
                .map(|(l, _)| label_key(l).chars().count())
                .max()
                .unwrap_or(0);
            let canonical = g
                .iter()
                .filter(|(l, _)| label_key(l).chars().count() == longest)
                .max_by_key(|(l, n)| (*n, std::cmp::Reverse((*l).clone())))
                .map(|(l, _)| l.trim().to_string())
                .unwrap_or_default();
            LabelMerge {
                canonical,
                variants: g.iter().map(|(l, _)| (*l).clone()).collect(),
                rows,
            }
        })
        .collect();
    merges.sort_by(|a, b| b.rows.cmp(&a.rows));
    merges
}

/// A map from every variant to its canonical spelling.
pub fn merge_map(merges: &[LabelMerge]) -> HashMap<String, String> {
    merges
        .iter()
        .flat_map(|m| {
            m.variants
                .iter()
                .map(move |v| (v.clone(), m.canonical.clone()))
        })
        .collect()
}

/// The labels of `counts` that look like several labels in one cell (`a;b`, `a|b`, `a, b`) whose
/// parts are labels on their own elsewhere in the file.
pub fn multi_label_cells(counts: &BTreeMap<String, u64>) -> Vec<String> {
    let keys: std::collections::HashSet<String> = counts.keys().map(|k| label_key(k)).collect();
    counts
        .keys()
        .filter(|label| {
            [';', '|', ','].iter().any(|&sep| {
                let parts: Vec<&str> = label
                    .split(sep)
                    .map(|p| p.trim())
                    .filter(|p| !p.is_empty())
                    .collect();
                parts.len() > 1 && parts.iter().all(|p| keys.contains(&label_key(p)))
            })
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(items: &[(&str, u64)]) -> BTreeMap<String, u64> {
        items.iter().map(|(l, n)| (l.to_string(), *n)).collect()
    }

    #[test]
    fn case_spacing_and_abbreviations_are_one_class() {
        let merges = suggest_merges(&counts(&[
            ("Positive", 10),
            ("positive ", 3),
            ("POS", 2),
            ("negative", 9),
        ]));
        assert_eq!(merges.len(), 1);
        assert_eq!(merges[0].canonical, "Positive");
        assert_eq!(merges[0].rows, 15);
        assert_eq!(merges[0].variants.len(), 3);
    }

    #[test]
    fn one_and_one_point_zero_are_the_same_number() {
        let merges = suggest_merges(&counts(&[("1", 5), ("1.0", 1), ("0", 4)]));
        assert_eq!(merges.len(), 1);
        assert_eq!(merges[0].canonical, "1");
    }

    #[test]
    fn distinct_labels_are_left_alone() {
        assert!(suggest_merges(&counts(&[("sport", 3), ("politics", 3), ("spam", 1)])).is_empty());
    }

    #[test]
    fn cells_with_several_known_labels_are_found() {
        let multi = multi_label_cells(&counts(&[("a", 3), ("b", 2), ("a;b", 1), ("c, d", 1)]));
        assert_eq!(multi, vec!["a;b".to_string()]);
    }
}
