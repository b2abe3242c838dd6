//! The reader never panics: random bytes and random CSV-shaped text, under every extension.
//!
//! Case counts: `PROPTEST_CASES` (default 2,000 per property here); each case writes a file and
//! runs the full inspection on it, as a user dropping that file would.

use proptest::prelude::*;
use tunesmith_data::{inspect, Dataset, InspectOptions};

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000)
}

fn check(bytes: &[u8], ext: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("drop.{ext}"));
    std::fs::write(&path, bytes).unwrap();
    // Errors are fine; panics are not. Both entry points run.
    if let Ok(r) = inspect(&path, &InspectOptions::default(), None, &mut |_| {}) {
        assert!(r.usable_rows <= r.rows);
        assert_eq!(
            r.split.train + r.split.validation + r.split.test,
            r.usable_rows
        );
    }
    let mut o = InspectOptions::default();
    o.fixes = tunesmith_data::Fixes {
        drop_duplicates: true,
        drop_conflicts: true,
        drop_empty: true,
        merge_labels: true,
        skip_bad_rows: true,
    };
    if let Ok(d) = Dataset::load(&path, &o, None, &mut |_| {}) {
        assert_eq!(d.examples.len() as u64, d.report.usable_rows);
    }
}

fn ext() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("csv"),
        Just("tsv"),
        Just("jsonl"),
        Just("txt"),
        Just("dat")
    ]
}

/// Text built from the characters that matter to a CSV reader.
fn csv_shaped() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just(",".to_string()),
        Just(";".to_string()),
        Just("\t".to_string()),
        Just("|".to_string()),
        Just("\"".to_string()),
        Just("\"\"".to_string()),
        Just("\n".to_string()),
        Just("\r\n".to_string()),
        Just("\r".to_string()),
        Just("text,label\n".to_string()),
        Just("{\"text\": \"a\", \"label\": 1}\n".to_string()),
        Just("{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}\n".to_string()),
        Just("\u{feff}".to_string()),
        Just("é".to_string()),
        Just("pos".to_string()),
        Just("1.0".to_string()),
        "[a-zA-Z0-9 @.+-]{0,12}",
        any::<char>().prop_map(|c| c.to_string()),
    ];
    proptest::collection::vec(piece, 0..80).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic_the_reader(bytes in proptest::collection::vec(any::<u8>(), 0..600), ext in ext()) {
        check(&bytes, ext);
    }

    #[test]
    fn random_csv_shaped_text_never_panics_the_reader(text in csv_shaped(), ext in ext()) {
        check(text.as_bytes(), ext);
    }

    #[test]
    fn csv_shaped_text_in_other_encodings_never_panics_the_reader(text in csv_shaped(), utf16 in any::<bool>(), bom in any::<bool>()) {
        let mut bytes = Vec::new();
        if utf16 {
            if bom { bytes.extend([0xFF, 0xFE]); }
            bytes.extend(text.encode_utf16().flat_map(|u| u.to_le_bytes()));
        } else {
            let (latin, _, _) = encoding_rs::WINDOWS_1252.encode(&text);
            bytes.extend_from_slice(&latin);
        }
        check(&bytes, "csv");
    }
}
