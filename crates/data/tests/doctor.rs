//! The data doctor's findings on a small committed file with one of each problem.

use std::path::PathBuf;

use tunesmith_data::{inspect, Content, Dataset, InspectOptions, ModelText, Severity};

fn file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/files")
        .join(name)
}

fn report(o: &InspectOptions) -> tunesmith_data::InspectReport {
    inspect(&file("doctor.csv"), o, None, &mut |_| {}).unwrap()
}

#[test]
fn duplicates_near_duplicates_conflicts_and_empties_are_counted_with_their_rows() {
    let r = report(&InspectOptions::default());
    assert_eq!(r.rows, 12);
    assert_eq!(r.empty, 1);
    assert_eq!(r.usable_rows, 11);
    assert_eq!(r.duplicates, 1, "line 4 repeats line 2");
    assert_eq!(
        r.near_duplicates, 1,
        "line 3 is line 2 without case and punctuation"
    );
    let dup = r.warnings.iter().find(|w| w.code == "duplicates").unwrap();
    assert_eq!(dup.rows, vec![4]);
    assert_eq!(dup.fix.as_deref(), Some("--drop-duplicates"));
    assert_eq!(
        r.conflicts, 2,
        "`awful film` is negative on line 5 and positive on line 6"
    );
    assert_eq!(
        r.warnings
            .iter()
            .find(|w| w.code == "conflicts")
            .unwrap()
            .rows,
        vec![5, 6]
    );
    assert_eq!(
        r.warnings
            .iter()
            .find(|w| w.code == "empty_cells")
            .unwrap()
            .rows,
        vec![8]
    );
}

#[test]
fn every_finding_says_why_it_matters_and_warnings_do_not_block() {
    let r = report(&InspectOptions::default());
    assert!(r.is_usable(), "{:?}", r.errors);
    for f in r.warnings.iter().chain(&r.errors) {
        assert!(
            f.why.ends_with('.') && f.why.len() > 20,
            "{}: {}",
            f.code,
            f.why
        );
        assert_eq!(f.severity == Severity::Error, r.errors.contains(f));
    }
}

#[test]
fn label_spellings_are_suggested_and_merged_on_request() {
    let r = report(&InspectOptions::default());
    let s = &r.label_suggestions;
    assert_eq!(s.len(), 1, "{s:?}");
    let pos = s.iter().find(|m| m.canonical == "Positive").unwrap();
    assert!(
        pos.variants.contains(&"POS".to_string())
            && pos.variants.contains(&"positive ".to_string())
    );
    assert_eq!(
        r.warnings
            .iter()
            .find(|w| w.code == "label_spellings")
            .unwrap()
            .fix
            .as_deref(),
        Some("--merge-labels")
    );

    let mut o = InspectOptions::default();
    o.fixes.merge_labels = true;
    let merged = report(&o);
    assert_eq!(
        merged.label_counts.keys().collect::<Vec<_>>(),
        vec!["Positive", "negative"]
    );
    let d = Dataset::load(&file("doctor.csv"), &o, None, &mut |_| {}).unwrap();
    assert!(d.examples.iter().all(|e| matches!(&e.content, Content::Labelled { label, .. } if label == "Positive" || label == "negative")));
}

#[test]
fn drop_flags_leave_out_duplicates_and_conflicts() {
    let mut o = InspectOptions::default();
    o.fixes.drop_duplicates = true;
    o.fixes.drop_conflicts = true;
    let r = report(&o);
    assert_eq!(r.usable_rows, 11 - 2 - 2);
    let d = Dataset::load(&file("doctor.csv"), &o, None, &mut |_| {}).unwrap();
    assert_eq!(d.examples.len() as u64, r.usable_rows);
    assert_eq!(d.items.len(), d.examples.len());
    assert_eq!(d.fingerprint(), r.fingerprint, "inspect and load agree");
}

#[test]
fn personal_data_is_hinted_by_kind_with_rows() {
    let r = report(&InspectOptions::default());
    let count = |k: &str| {
        r.pii
            .iter()
            .find(|(kind, _)| serde_json::to_value(kind).unwrap() == k)
            .map(|(_, c)| c.clone())
            .unwrap()
    };
    assert_eq!(count("email").rows, vec![9]);
    assert_eq!(count("card").rows, vec![10]);
    assert_eq!(count("iban").rows, vec![11]);
    assert_eq!(count("phone").rows, vec![12]);
    assert!(r.warnings.iter().any(|w| w.code == "pii_email"));
}

#[test]
fn lengths_are_estimated_without_a_model_and_truncation_suggests_a_max_len() {
    let mut o = InspectOptions::default();
    o.max_len = Some(4);
    let r = report(&o);
    assert_eq!(r.length.method, "estimate");
    assert!(r.length.truncated > 0);
    let t = r.warnings.iter().find(|w| w.code == "truncated").unwrap();
    assert_eq!(t.fix.as_deref(), Some("--max-len 64"));
}

#[test]
fn a_model_folder_gives_real_token_counts_and_its_context_length() {
    let model = ModelText::load(&file("tiny-model")).unwrap();
    assert_eq!(
        model.context_len,
        Some(6),
        "tokenizer_config's model_max_length wins over config.json"
    );
    let r = inspect(
        &file("doctor.csv"),
        &InspectOptions::default(),
        Some(&model),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(r.length.method, "tokenizer");
    assert_eq!(r.length.max_len, 6);
    // "Great movie!" -> [CLS] great movie ! [SEP]: the truncation in tokenizer.json (4) is ignored.
    assert_eq!(r.length.min, 3, "`boring` and `nice` are [CLS] word [SEP]");
    assert!(r.length.max >= 7);
    assert!(r.length.truncated > 0);
}

#[test]
fn the_fingerprint_ignores_spacing_and_line_endings_but_not_content() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.csv");
    let b = dir.path().join("b.tsv");
    let c = dir.path().join("c.csv");
    std::fs::write(&a, "text,label\ngood film,pos\nbad film,neg\n").unwrap();
    std::fs::write(&b, "text\tlabel\r\ngood  film\tpos\r\nbad film \tneg\r\n").unwrap();
    std::fs::write(&c, "text,label\ngood film,pos\nbad film,pos\n").unwrap();
    let fp = |p: &std::path::Path| {
        inspect(p, &InspectOptions::default(), None, &mut |_| {})
            .unwrap()
            .fingerprint
    };
    assert_eq!(fp(&a), fp(&b));
    assert_ne!(fp(&a), fp(&c));
    assert!(fp(&a).starts_with("sha256:"));
}

#[test]
fn a_label_column_of_unique_values_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("ids.csv");
    let mut s = String::from("text,label\n");
    for i in 0..60 {
        s.push_str(&format!("row {i},tag{i}\n"));
    }
    std::fs::write(&p, s).unwrap();
    let r = inspect(&p, &InspectOptions::default(), None, &mut |_| {}).unwrap();
    assert!(r.errors.iter().any(|e| e.code == "label_looks_like_text"));
}

#[test]
fn role_overrides_pick_the_columns_and_unknown_names_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("survey.csv");
    std::fs::write(
        &p,
        "id,answer_text,score,notes\n1,loved it,5,x\n2,hated it,1,y\n3,fine,3,z\n",
    )
    .unwrap();
    let mut o = InspectOptions::default();
    o.roles.text_columns = vec!["answer_text".into()];
    o.roles.label_column = Some("score".into());
    let d = Dataset::load(&p, &o, None, &mut |_| {}).unwrap();
    assert_eq!(
        d.examples[0].content,
        Content::Labelled {
            text: "loved it".into(),
            label: "5".into()
        }
    );
    o.roles.label_column = Some("rating".into());
    let e = Dataset::load(&p, &o, None, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("no column `rating`") && e.contains("`score`"),
        "{e}"
    );
}

#[test]
fn a_single_row_is_spoken_of_in_the_singular() {
    let r = report(&InspectOptions::default());
    let message = |code: &str| {
        r.warnings
            .iter()
            .find(|w| w.code == code)
            .unwrap()
            .message
            .clone()
    };
    let empty = message("empty_cells");
    assert!(empty.starts_with("1 row has an empty"), "{empty}");
    assert!(empty.ends_with("; it is left out"), "{empty}");
    let dup = message("duplicates");
    assert!(dup.starts_with("1 row repeats an earlier row exactly; it is kept"), "{dup}");
    let near = message("near_duplicates");
    assert!(near.starts_with("1 row repeats an earlier row's text"), "{near}");
}

#[test]
fn few_rows_advice_speaks_of_classes_only_for_a_classifier() {
    let why = |name: &str| {
        let r = inspect(&file(name), &InspectOptions::default(), None, &mut |_| {}).unwrap();
        r.warnings
            .iter()
            .find(|w| w.code == "few_rows")
            .unwrap_or_else(|| panic!("{name}: {:?}", r.warnings))
            .why
            .clone()
    };
    assert!(why("doctor.csv").contains("per class"));
    let generate = why("qa.csv");
    assert!(!generate.contains("class"), "{generate}");
    assert!(
        generate.contains("prompts with their answers"),
        "{generate}"
    );
}
