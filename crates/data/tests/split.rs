//! Splits: stratified to within one row of exact, seeded, and leak-free (no text, near copy or
//! group crosses a split); k-fold; small classes reported.

use std::collections::{BTreeMap, HashMap, HashSet};

use proptest::prelude::*;
use tunesmith_data::normalize::normalise;
use tunesmith_data::{Content, Dataset, InspectOptions, SplitConfig, SplitItem, SplitPlan};

fn items(classes: &[(&str, usize)]) -> Vec<SplitItem> {
    let mut out = Vec::new();
    for (c, n) in classes {
        for i in 0..*n {
            out.push(SplitItem {
                key: tunesmith_data::normalize::near_key(&format!("{c} {i}")),
                group: None,
                class: Some(classes.iter().position(|x| x.0 == *c).unwrap() as u32),
            });
        }
    }
    out
}

fn assert_stratified(items: &[SplitItem], plan: &SplitPlan) {
    let mut per_class: BTreeMap<u32, Vec<u64>> = BTreeMap::new();
    for (it, &b) in items.iter().zip(&plan.assignment) {
        per_class
            .entry(it.class.unwrap_or(u32::MAX))
            .or_insert_with(|| vec![0; plan.fractions.len()])[b as usize] += 1;
    }
    for (class, counts) in per_class {
        let n: u64 = counts.iter().sum();
        for (b, (&got, f)) in counts.iter().zip(&plan.fractions).enumerate() {
            let exact = n as f64 * f;
            assert!(
                (got as f64 - exact).abs() <= 1.0,
                "class {class}, bucket {b}: {got} rows, exact {exact:.2}"
            );
        }
    }
}

#[test]
fn each_class_share_is_within_one_row_of_exact_in_each_split() {
    let it = items(&[("pos", 503), ("neg", 211), ("neutral", 37)]);
    let plan = SplitPlan::holdout(&it, &[], &SplitConfig::default(), "fp").unwrap();
    assert_stratified(&it, &plan);
    assert_eq!(plan.sizes.iter().sum::<u64>(), 751);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn stratification_holds_for_any_class_sizes_fractions_and_seed(
        sizes in proptest::collection::vec(1usize..300, 1..6),
        validation in 0.0f64..0.4,
        test in 0.0f64..0.4,
        seed in any::<u64>(),
    ) {
        let names: Vec<String> = (0..sizes.len()).map(|i| format!("c{i}")).collect();
        let classes: Vec<(&str, usize)> = names.iter().map(|s| s.as_str()).zip(sizes.iter().copied()).collect();
        let it = items(&classes);
        let plan = SplitPlan::holdout(&it, &[], &SplitConfig { validation, test, seed, ..SplitConfig::default() }, "").unwrap();
        assert_stratified(&it, &plan);
    }
}

#[test]
fn the_same_seed_gives_the_same_split_and_another_seed_another() {
    let it = items(&[("a", 100), ("b", 100)]);
    let a = SplitPlan::holdout(&it, &[], &SplitConfig::default(), "").unwrap();
    let b = SplitPlan::holdout(&it, &[], &SplitConfig::default(), "").unwrap();
    let c = SplitPlan::holdout(
        &it,
        &[],
        &SplitConfig {
            seed: 7,
            ..SplitConfig::default()
        },
        "",
    )
    .unwrap();
    assert_eq!(a.assignment, b.assignment);
    assert_ne!(a.assignment, c.assignment);
}

#[test]
fn the_split_does_not_depend_on_row_order() {
    let it = items(&[("a", 60), ("b", 40)]);
    let mut rev = it.clone();
    rev.reverse();
    let a = SplitPlan::holdout(&it, &[], &SplitConfig::default(), "").unwrap();
    let b = SplitPlan::holdout(&rev, &[], &SplitConfig::default(), "").unwrap();
    let mut rb = b.assignment.clone();
    rb.reverse();
    assert_eq!(a.assignment, rb);
}

#[test]
fn duplicates_and_near_duplicates_never_cross_a_split() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("leaky.csv");
    let mut s = String::from("text,label\n");
    for i in 0..300 {
        let label = if i % 3 == 0 { "neg" } else { "pos" };
        s.push_str(&format!("review number {i},{label}\n"));
        if i % 4 == 0 {
            s.push_str(&format!("Review number {i}!,{label}\n"));
            s.push_str(&format!("review number {i},{label}\n"));
        }
    }
    std::fs::write(&p, s).unwrap();
    let d = Dataset::load(&p, &InspectOptions::default(), None, &mut |_| {}).unwrap();
    assert_eq!(d.examples.len(), 300 + 75 * 2);
    let plan = d.split(&SplitConfig::default()).unwrap();
    let mut part_of: HashMap<String, u8> = HashMap::new();
    for (ex, &b) in d.examples.iter().zip(&plan.assignment) {
        let Content::Labelled { text, .. } = &ex.content else {
            panic!()
        };
        let key = normalise(text);
        if let Some(&other) = part_of.get(&key) {
            assert_eq!(other, b, "`{text}` is in two splits");
        }
        part_of.insert(key, b);
    }
    assert!(plan.sizes.iter().all(|&n| n > 0));
    assert_eq!(plan.groups, 300);
    assert_eq!(plan.fingerprint, d.fingerprint());
}

#[test]
fn a_grouped_split_keeps_each_group_in_one_part() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("tickets.csv");
    let mut s = String::from("customer,text,label\n");
    for i in 0..400 {
        s.push_str(&format!(
            "cust{},message {i},{}\n",
            i % 37,
            if i % 2 == 0 { "billing" } else { "bug" }
        ));
    }
    std::fs::write(&p, s).unwrap();
    let mut o = InspectOptions::default();
    o.split.group_column = Some("customer".into());
    let d = Dataset::load(&p, &o, None, &mut |_| {}).unwrap();
    let plan = d.split(&o.split).unwrap();
    assert_eq!(plan.groups, 37);
    let mut seen: HashMap<u64, u8> = HashMap::new();
    for (it, &b) in d.items.iter().zip(&plan.assignment) {
        assert_eq!(*seen.entry(it.group.unwrap()).or_insert(b), b);
    }
    assert!(plan.sizes.iter().all(|&n| n > 0), "{:?}", plan.sizes);
}

#[test]
fn k_fold_puts_every_example_in_exactly_one_test_fold() {
    let it = items(&[("a", 50), ("b", 23)]);
    let plan = SplitPlan::k_fold(&it, &[], 5, 1, true, "").unwrap();
    assert_stratified(&it, &plan);
    let mut tested = HashSet::new();
    for f in 0..5 {
        let (train, test) = plan.fold(f);
        assert_eq!(train.len() + test.len(), 73);
        for i in test {
            assert!(tested.insert(i));
        }
    }
    assert_eq!(tested.len(), 73);
}

#[test]
fn the_plan_serialises_with_its_seed_and_fingerprint() {
    let it = items(&[("a", 10), ("b", 10)]);
    let plan = SplitPlan::holdout(&it, &[], &SplitConfig::default(), "sha256:abc").unwrap();
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(json["seed"], 42);
    assert_eq!(json["fingerprint"], "sha256:abc");
    let back: SplitPlan = serde_json::from_value(json).unwrap();
    assert_eq!(back, plan);
}
