//! Reading what spreadsheets really export: each case with a small committed file.

use std::path::PathBuf;

use tunesmith_data::{
    inspect, Content, DataError, Dataset, Format, InspectOptions, ReadOptions, Source, Task,
};

fn file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/files")
        .join(name)
}

fn load(name: &str) -> Dataset {
    Dataset::load(&file(name), &InspectOptions::default(), None, &mut |_| {}).unwrap()
}

fn texts_and_labels(d: &Dataset) -> Vec<(String, String)> {
    d.examples
        .iter()
        .map(|e| match &e.content {
            Content::Labelled { text, label } => (text.clone(), label.clone()),
            other => panic!("expected a labelled example, got {other:?}"),
        })
        .collect()
}

#[test]
fn quoted_fields_keep_their_commas_doubled_quotes_and_line_breaks() {
    let d = load("quoted.csv");
    assert_eq!(
        texts_and_labels(&d),
        vec![
            ("good, really good".into(), "pos".into()),
            ("she said \"wow\"".into(), "pos".into()),
            ("line one\nline two".into(), "neg".into()),
            ("plain".into(), "neg".into()),
        ]
    );
    assert_eq!(
        d.examples[3].line, 6,
        "line numbers count the line break inside the quotes"
    );
    assert!(d.is_usable(), "{:?}", d.report.errors);
}

#[test]
fn a_bom_crlf_and_semicolons_are_read_and_columns_guessed_from_content() {
    let d = load("semicolon_bom_crlf.csv");
    assert_eq!(d.report.format, "csv (semicolon-separated)");
    assert_eq!(d.report.encoding, "UTF-8 with a byte-order mark");
    assert_eq!(
        d.report.columns[0].name, "Kommentar",
        "the BOM is not part of the first name"
    );
    assert_eq!(
        texts_and_labels(&d)[0],
        ("gut, sehr gut".into(), "positiv".into())
    );
    assert!(!texts_and_labels(&d)
        .iter()
        .any(|(t, l)| t.contains('\r') || l.contains('\r')));
}

#[test]
fn pipes_separate_too() {
    let d = load("pipe.csv");
    assert_eq!(texts_and_labels(&d)[1], ("hated it".into(), "neg".into()));
}

#[test]
fn excel_unicode_text_is_utf16_tab_separated_and_converted() {
    let d = load("excel_unicode.txt");
    assert_eq!(d.report.encoding, "UTF-16 (little-endian)");
    assert_eq!(d.report.format, "tsv");
    assert_eq!(texts_and_labels(&d)[0], ("naïve café".into(), "pos".into()));
    assert!(
        d.report
            .warnings
            .iter()
            .any(|w| w.code == "encoding_converted"),
        "the user is told"
    );
}

#[test]
fn big_endian_utf16_is_read() {
    let d = load("utf16be.csv");
    assert_eq!(
        texts_and_labels(&d),
        vec![("hello".into(), "pos".into()), ("bye".into(), "neg".into())]
    );
}

#[test]
fn windows_1252_is_detected_converted_and_reported() {
    let d = load("latin1.csv");
    assert_eq!(d.report.encoding, "Windows-1252 (Latin-1)");
    assert_eq!(texts_and_labels(&d)[1], ("naïve €".into(), "neg".into()));
    let w = d
        .report
        .warnings
        .iter()
        .find(|w| w.code == "encoding_converted")
        .expect("the user is told");
    assert!(w.message.contains("converted to UTF-8"));
}

#[test]
fn ragged_rows_name_the_line_the_counts_and_the_likely_cause() {
    let r = inspect(
        &file("ragged.csv"),
        &InspectOptions::default(),
        None,
        &mut |_| {},
    )
    .unwrap();
    let e = r
        .errors
        .iter()
        .find(|e| e.code == "unreadable_rows")
        .expect("ragged rows block training");
    assert_eq!(e.count, 2);
    assert_eq!(e.rows, vec![3, 5]);
    assert!(
        e.message.contains(
            "line 3 has 3 fields, the header has 2: a value probably contains `,` without quotes"
        ),
        "{}",
        e.message
    );
    assert!(e.message.contains("line 5 has 3 fields, the header has 2: a quote is probably not closed on line 5 (the row runs on to line 6)"), "{}", e.message);
    assert_eq!(e.fix.as_deref(), Some("--skip-bad-rows"));
    assert_eq!(
        r.usable_rows, 3,
        "the other rows are still read: nothing else is lost"
    );
}

#[test]
fn skipping_bad_rows_turns_the_error_into_a_warning() {
    let mut o = InspectOptions::default();
    o.fixes.skip_bad_rows = true;
    let r = inspect(&file("ragged.csv"), &o, None, &mut |_| {}).unwrap();
    assert!(r.is_usable());
    let w = r
        .warnings
        .iter()
        .find(|w| w.code == "unreadable_rows")
        .expect("the skipped rows are still reported");
    // Read on the Data screen: the flag is the fix, not part of the message.
    assert!(w.message.ends_with("; they are left out"), "{}", w.message);
    assert_eq!(w.fix.as_deref(), Some("--skip-bad-rows (applied)"));
}

#[test]
fn a_workbook_is_refused_with_advice_to_save_as_csv() {
    let e = Source::open(&file("workbook.xlsx"), &ReadOptions::default()).unwrap_err();
    assert!(matches!(e, DataError::Binary { .. }));
    let m = e.to_string();
    assert!(
        m.contains("workbook.xlsx") && m.contains("Excel workbook") && m.contains("CSV UTF-8"),
        "{m}"
    );
}

#[test]
fn an_empty_file_has_its_own_message() {
    let e = Source::open(&file("empty.csv"), &ReadOptions::default()).unwrap_err();
    assert!(matches!(e, DataError::Empty { .. }));
    assert!(e.to_string().contains("empty.csv is empty"));
}

#[test]
fn a_header_only_file_has_its_own_message() {
    let r = inspect(
        &file("header_only.csv"),
        &InspectOptions::default(),
        None,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(r.rows, 0);
    let e = &r.errors[0];
    assert_eq!(e.code, "header_only");
    assert!(e.message.contains("header (text, label) but no rows"));
}

#[test]
fn a_file_with_one_class_has_its_own_message() {
    let r = inspect(
        &file("one_class.csv"),
        &InspectOptions::default(),
        None,
        &mut |_| {},
    )
    .unwrap();
    let e = r
        .errors
        .iter()
        .find(|e| e.code == "one_class")
        .expect("one class blocks training");
    assert!(e.message.contains("`pos`"));
}

#[test]
fn a_file_without_header_gets_positional_names_and_keeps_its_first_row() {
    let d = load("no_header.csv");
    assert!(!d.report.has_header);
    assert_eq!(d.report.rows, 4);
    assert_eq!(
        texts_and_labels(&d)[0],
        ("a wonderful film".into(), "pos".into())
    );
}

#[test]
fn chat_jsonl_becomes_conversations_and_a_turn_without_reply_is_empty() {
    let d = load("chat.jsonl");
    assert_eq!(d.report.task, Task::Generate);
    assert_eq!(d.report.format, "jsonl");
    assert_eq!(d.examples.len(), 2);
    match &d.examples[0].content {
        Content::Chat { messages } => {
            assert_eq!(messages.len(), 3);
            assert_eq!(messages[2].content, "4");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(d.report.empty, 1);
}

#[test]
fn alpaca_instruction_input_output_becomes_a_conversation_and_a_broken_line_is_named() {
    let d = load("alpaca.jsonl");
    assert_eq!(d.report.task, Task::Generate);
    match &d.examples[0].content {
        Content::Chat { messages } => {
            assert_eq!(messages[0].role, "user");
            assert_eq!(messages[0].content, "Translate to French\n\ncat");
            assert_eq!(messages[1].content, "chat");
        }
        other => panic!("{other:?}"),
    }
    let e = d
        .report
        .errors
        .iter()
        .find(|e| e.code == "unreadable_rows")
        .unwrap();
    assert!(
        e.message.contains("line 3 is not valid JSON"),
        "{}",
        e.message
    );
}

#[test]
fn a_text_file_is_one_example_per_line() {
    let d = load("lines.txt");
    assert_eq!(d.report.format, "text");
    assert_eq!(d.report.task, Task::Generate);
    assert_eq!(d.examples.len(), 3);
    assert_eq!(
        d.examples[1].content,
        Content::Text {
            text: "It learned from every line.".into()
        }
    );
    assert_eq!(d.examples[1].line, 3);
}

#[test]
fn question_answer_columns_are_generation() {
    let d = load("qa.csv");
    assert_eq!(d.report.task, Task::Generate);
    match &d.examples[1].content {
        Content::Chat { messages } => assert_eq!(
            (messages[0].content.as_str(), messages[1].content.as_str()),
            ("Is it local?", "Yes.")
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_format_can_be_forced() {
    let s = Source::open(
        &file("pipe.csv"),
        &ReadOptions {
            format: Some(Format::Lines),
            has_header: None,
        },
    )
    .unwrap();
    assert_eq!(s.columns, vec!["text"]);
}

#[test]
fn progress_reaches_the_whole_file() {
    let mut last = None;
    inspect(
        &file("quoted.csv"),
        &InspectOptions::default(),
        None,
        &mut |p| last = Some(p),
    )
    .unwrap();
    let p = last.unwrap();
    assert_eq!(p.bytes_read, p.total_bytes);
    assert_eq!(p.rows, 4);
}

#[test]
fn a_json_array_file_is_refused_with_how_to_convert_it() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("data.json");
    std::fs::write(&p, "[{\"text\": \"a\", \"label\": \"b\"}]").unwrap();
    let e = Source::open(&p, &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("JSON Lines") && e.contains(".jsonl"), "{e}");
}
