//! Train / validation / test splits and k folds: stratified by label, seeded, and leak-free.
//!
//! Rows that are the same text after normalisation (exact and near duplicates), and rows sharing
//! a value of the chosen group column, form one group, and a group never crosses a split: a model
//! tested on sentences it trained on looks better than it is. Within each class, groups are
//! shuffled with the seed and dealt to the split furthest below its target, so each class's share
//! of each split is within one row of exact when groups are single rows. A class with fewer rows
//! than there are splits is reported, not crashed on.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};
use crate::normalize::hash;
use tunesmith_vocab::SplitMix64;

/// What the split needs to know about one example.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SplitItem {
    /// The hash of the example's normalised text: equal keys stay together.
    pub key: u64,
    /// The hash of its group column's value, when splitting by a group column.
    pub group: Option<u64>,
    /// Its class (an index into the class names given to the split), for stratification.
    pub class: Option<u32>,
}

/// How to split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SplitConfig {
    /// The share of rows for validation (0 to 1).
    pub validation: f64,
    /// The share of rows for the final test (0 to 1).
    pub test: f64,
    /// The seed: the same data and seed always give the same split.
    pub seed: u64,
    /// Keep each class's share the same in every split.
    pub stratify: bool,
    /// A column whose rows must stay together (a customer, a document, a conversation).
    pub group_column: Option<String>,
}

impl Default for SplitConfig {
    fn default() -> SplitConfig {
        SplitConfig {
            validation: 0.1,
            test: 0.1,
            seed: 42,
            stratify: true,
            group_column: None,
        }
    }
}

/// A class too small to appear in every split.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SmallClass {
    /// The label.
    pub label: String,
    /// Its rows.
    pub rows: u64,
    /// What happens to it.
    pub message: String,
}

/// The names of the parts of a train/validation/test split, in bucket order.
pub const PARTS: [&str; 3] = ["train", "validation", "test"];

/// A split: which part (or fold) each example belongs to, and how it was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SplitPlan {
    /// `holdout` (train/validation/test) or `k-fold`.
    pub kind: String,
    /// The seed used.
    pub seed: u64,
    /// The fingerprint of the data split (see [`crate::fingerprint`]).
    pub fingerprint: String,
    /// The share of each bucket: train/validation/test, or one per fold.
    pub fractions: Vec<f64>,
    /// Whether classes were stratified.
    pub stratified: bool,
    /// The group column, when one kept rows together.
    pub group_column: Option<String>,
    /// The bucket of each example, in example order (0 train, 1 validation, 2 test; or the fold).
    pub assignment: Vec<u8>,
    /// The number of examples in each bucket.
    pub sizes: Vec<u64>,
    /// The number of groups (rows that must stay together count once).
    pub groups: u64,
    /// Classes too small for every bucket.
    pub small_classes: Vec<SmallClass>,
}

impl SplitPlan {
    /// A train/validation/test split of `items`.
    /// `classes` names the class indices of `items` (for messages about small classes).
    pub fn holdout(
        items: &[SplitItem],
        classes: &[String],
        config: &SplitConfig,
        fingerprint: &str,
    ) -> Result<SplitPlan> {
        let (v, t) = (config.validation, config.test);
        if !(0.0..1.0).contains(&v)
            || !(0.0..1.0).contains(&t)
            || v + t >= 1.0
            || !v.is_finite()
            || !t.is_finite()
        {
            return Err(DataError::Split(format!(
                "validation ({v}) and test ({t}) must each be between 0 and 1 and leave rows for training"
            )));
        }
        let fractions = vec![1.0 - v - t, v, t];
        let mut plan = assign(items, classes, &fractions, config.seed, config.stratify)?;
        plan.kind = "holdout".into();
        plan.fingerprint = fingerprint.to_string();
        plan.group_column = config.group_column.clone();
        Ok(plan)
    }

    /// `k` folds of `items` (each example is in the test part of exactly one fold).
    pub fn k_fold(
        items: &[SplitItem],
        classes: &[String],
        k: usize,
        seed: u64,
        stratify: bool,
        fingerprint: &str,
    ) -> Result<SplitPlan> {
        if !(2..=100).contains(&k) {
            return Err(DataError::Split(format!(
                "k-fold needs between 2 and 100 folds, not {k}"
            )));
        }
        let mut plan = assign(items, classes, &vec![1.0 / k as f64; k], seed, stratify)?;
        plan.kind = "k-fold".into();
        plan.fingerprint = fingerprint.to_string();
        Ok(plan)
    }

    /// The indices of the examples in bucket `b` (for a holdout split: 0 train, 1 validation, 2 test).
    pub fn indices(&self, b: usize) -> Vec<usize> {
        self.assignment
            .iter()
            .enumerate()
            .filter(|(_, &a)| a as usize == b)
            .map(|(i, _)| i)
            .collect()
    }

    /// For a k-fold plan: the (train, test) indices of fold `f`.
    pub fn fold(&self, f: usize) -> (Vec<usize>, Vec<usize>) {
        let (test, train): (Vec<usize>, Vec<usize>) =
            (0..self.assignment.len()).partition(|&i| self.assignment[i] as usize == f);
        (train, test)
    }
}

/// Union-find over example indices, for building groups.
struct Groups {
    parent: Vec<usize>,
}

impl Groups {
    fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }
    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.parent[ra.max(rb)] = ra.min(rb);
        }
    }
}

fn assign(
    items: &[SplitItem],
    classes: &[String],
    fractions: &[f64],
    seed: u64,
    stratify: bool,
) -> Result<SplitPlan> {
    let buckets = fractions.len();
    let n = items.len();
    // 1. Groups: same normalised text, or same group value (union-find over indices).
    let mut uf = Groups {
        parent: (0..n).collect(),
    };
    {
        let mut by_key: HashMap<u64, usize> = HashMap::with_capacity(n);
        let mut by_group: HashMap<u64, usize> = HashMap::new();
        for (i, it) in items.iter().enumerate() {
            let j = *by_key.entry(it.key).or_insert(i);
            uf.union(i, j);
            if let Some(g) = it.group {
                let j = *by_group.entry(g).or_insert(i);
                uf.union(i, j);
            }
        }
    }
    // Indices sorted by group: each group is a run of `order`, so no per-group allocation (a
    // million singleton groups stay a few megabytes).
    let roots: Vec<usize> = (0..n).map(|i| uf.find(i)).collect();
    drop(uf);
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.sort_unstable_by_key(|&i| (roots[i as usize], i));
    // 2. Strata: each group under its most frequent class. A run is (start, len) in `order`.
    let none = u32::MAX;
    let mut strata: BTreeMap<u32, Vec<(u32, u32, u64)>> = BTreeMap::new();
    let mut start = 0usize;
    let mut tally: BTreeMap<u32, usize> = BTreeMap::new();
    while start < n {
        let first = order[start] as usize;
        let mut end = start + 1;
        let mut min_key = items[first].key;
        tally.clear();
        *tally.entry(items[first].class.unwrap_or(none)).or_default() += 1;
        // Members of one group are contiguous because `order` is sorted by root.
        let group_root = roots[first];
        while end < n && roots[order[end] as usize] == group_root {
            let it = &items[order[end] as usize];
            min_key = min_key.min(it.key);
            *tally.entry(it.class.unwrap_or(none)).or_default() += 1;
            end += 1;
        }
        let stratum = if stratify {
            tally
                .iter()
                .max_by_key(|(c, k)| (**k, std::cmp::Reverse(**c)))
                .map(|(c, _)| *c)
                .unwrap_or(none)
        } else {
            none
        };
        strata
            .entry(stratum)
            .or_default()
            .push((start as u32, (end - start) as u32, min_key));
        start = end;
    }
    drop(roots);
    let groups_total = strata.values().map(|g| g.len() as u64).sum();
    // 3. Within each stratum: shuffle (independent of file order), big groups first, then deal.
    let mut assignment = vec![0u8; n];
    let mut small_classes = Vec::new();
    for (class, mut groups) in strata {
        let label = if class == none {
            String::new()
        } else {
            classes
                .get(class as usize)
                .cloned()
                .unwrap_or_else(|| class.to_string())
        };
        let rows: usize = groups.iter().map(|g| g.1 as usize).sum();
        groups.sort_unstable_by_key(|g| g.2);
        SplitMix64::new(seed ^ hash(label.as_bytes())).shuffle(&mut groups);
        groups.sort_by_key(|g| std::cmp::Reverse(g.1));
        let targets = largest_remainder(rows, fractions);
        let mut filled = vec![0usize; buckets];
        for (gstart, glen, _) in groups {
            let b = (0..buckets)
                .max_by(|&a, &b| {
                    let da = targets[a] as f64 - filled[a] as f64;
                    let db = targets[b] as f64 - filled[b] as f64;
                    da.total_cmp(&db).then(b.cmp(&a))
                })
                .unwrap_or(0);
            filled[b] += glen as usize;
            for &i in &order[gstart as usize..(gstart + glen) as usize] {
                assignment[i as usize] = b as u8;
            }
        }
        let missing: Vec<&str> = (0..buckets)
            .filter(|&b| filled[b] == 0 && fractions[b] > 0.0)
            .map(|b| bucket_name(b, buckets))
            .collect();
        if stratify && !missing.is_empty() {
            small_classes.push(SmallClass {
                label: label.clone(),
                rows: rows as u64,
                message: format!(
                    "class `{label}` has {rows} row{} (after keeping duplicates together), too few for every part: it is missing from {}; add rows of this class or merge it with another",
                    if rows == 1 { "" } else { "s" },
                    missing.join(", ")
                ),
            });
        }
    }
    let mut sizes = vec![0u64; buckets];
    for &a in &assignment {
        sizes[a as usize] += 1;
    }
    Ok(SplitPlan {
        kind: String::new(),
        seed,
        fingerprint: String::new(),
        fractions: fractions.to_vec(),
        stratified: stratify,
        group_column: None,
        assignment,
        sizes,
        groups: groups_total,
        small_classes,
    })
}

fn bucket_name(b: usize, buckets: usize) -> &'static str {
    if buckets == 3 {
        PARTS[b]
    } else {
        "some folds"
    }
}

/// Integer targets summing to `n`, each within one of `n * fraction` (Hamilton's method).
fn largest_remainder(n: usize, fractions: &[f64]) -> Vec<usize> {
    let exact: Vec<f64> = fractions.iter().map(|f| f * n as f64).collect();
    let mut t: Vec<usize> = exact.iter().map(|x| x.floor() as usize).collect();
    let mut left = n.saturating_sub(t.iter().sum());
    let mut order: Vec<usize> = (0..fractions.len()).collect();
    order.sort_by(|&a, &b| {
        (exact[b] - exact[b].floor())
            .total_cmp(&(exact[a] - exact[a].floor()))
            .then(a.cmp(&b))
    });
    for &b in order.iter().cycle() {
        if left == 0 {
            break;
        }
        t[b] += 1;
        left -= 1;
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_remainder_sums_to_n_and_stays_within_one() {
        let t = largest_remainder(67, &[0.8, 0.1, 0.1]);
        assert_eq!(t.iter().sum::<usize>(), 67);
        for (x, f) in t.iter().zip([0.8, 0.1, 0.1]) {
            assert!((*x as f64 - 67.0 * f).abs() < 1.0);
        }
    }

    #[test]
    fn impossible_fractions_are_refused_with_a_message() {
        let cfg = SplitConfig {
            validation: 0.6,
            test: 0.5,
            ..SplitConfig::default()
        };
        assert!(SplitPlan::holdout(&[], &[], &cfg, "")
            .unwrap_err()
            .to_string()
            .contains("leave rows for training"));
    }

    #[test]
    fn a_class_of_one_row_is_reported_not_crashed_on() {
        let mut items: Vec<SplitItem> = (0..20)
            .map(|i| SplitItem {
                key: i,
                group: None,
                class: Some(0),
            })
            .collect();
        items.push(SplitItem {
            key: 99,
            group: None,
            class: Some(1),
        });
        let plan = SplitPlan::holdout(
            &items,
            &["a".into(), "rare".into()],
            &SplitConfig::default(),
            "",
        )
        .unwrap();
        assert_eq!(plan.small_classes.len(), 1);
        assert_eq!(plan.small_classes[0].label, "rare");
        assert!(plan.small_classes[0].message.contains("validation, test"));
    }
}
