//! The reader never panics: random bytes and random CSV-shaped text, under every extension
//! (`.xlsx` too: a workbook is named and refused with what to do), and neither does loading a
//! model's text side (`tokenizer.json`, `tokenizer_config.json` and its Jinja chat template) or
//! rendering a conversation with a damaged template.
//!
//! Case counts: `TUNESMITH_FUZZ_CASES`, else `PROPTEST_CASES` (default 2,000 per property here);
//! each case writes a file and runs the full inspection on it, as a user dropping that file would.
//! The files go to one folder per test kept for the whole run, in memory (`/dev/shm`) where there
//! is one: a fresh folder on disk per case cost more than the reading (ext4 inodes and their
//! journal were 87 % of the `tokenizer.json` target's time).
//! The large run (the fuzz tier) is by hand or nightly: `scripts/fuzz-tier 10000000`
//! (counts and times in tests/README.md).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use proptest::prelude::*;
use tunesmith_data::{inspect, Dataset, InspectOptions, Message, ModelText};

fn cases() -> u32 {
    std::env::var("TUNESMITH_FUZZ_CASES")
        .or_else(|_| std::env::var("PROPTEST_CASES"))
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000)
}

thread_local! {
    /// This test's folder (each test runs on its own thread, so parallel tests never share one).
    static SCRATCH: tempfile::TempDir = tempfile::Builder::new()
        .prefix("tunesmith-fuzz-data")
        .tempdir_in("/dev/shm")
        .or_else(|_| tempfile::tempdir())
        .unwrap();
}

/// `name` in this test's scratch folder (created with its parents when missing).
fn scratch(name: &str) -> PathBuf {
    let p = SCRATCH.with(|d| d.path().join(name));
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    p
}

fn check(bytes: &[u8], ext: &str) {
    let path = scratch(&format!("drop.{ext}"));
    std::fs::write(&path, bytes).unwrap();
    // Errors are fine, when they name the file; panics are not. Both entry points run.
    let named = |e: &tunesmith_data::DataError| {
        let message = e.to_string();
        assert!(
            message.contains(&path.display().to_string()),
            "the refusal does not name the file: {message}"
        );
    };
    match inspect(&path, &InspectOptions::default(), None, &mut |_| {}) {
        Ok(r) => {
            assert!(r.usable_rows <= r.rows);
            assert_eq!(
                r.split.train + r.split.validation + r.split.test,
                r.usable_rows
            );
        }
        Err(e) => named(&e),
    }
    let mut o = InspectOptions::default();
    o.fixes = tunesmith_data::Fixes {
        drop_duplicates: true,
        drop_conflicts: true,
        drop_empty: true,
        merge_labels: true,
        skip_bad_rows: true,
    };
    match Dataset::load(&path, &o, None, &mut |_| {}) {
        Ok(d) => assert_eq!(d.examples.len() as u64, d.report.usable_rows),
        Err(e) => named(&e),
    }
}

/// The case count, no failure files, and the xorshift generator: ChaCha's was 9 % of a CSV
/// case's time, and the inputs need no cryptographic randomness.
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        rng_algorithm: proptest::test_runner::RngAlgorithm::XorShift,
        ..ProptestConfig::default()
    }
}

fn ext() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("csv"),
        Just("tsv"),
        Just("jsonl"),
        Just("txt"),
        Just("dat"),
        Just("xlsx")
    ]
}

/// Bytes that start like a zip archive (an `.xlsx` workbook), then anything.
fn zip_shaped() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..300).prop_map(|tail| {
        let mut b = b"PK\x03\x04\x14\x00\x06\x00".to_vec();
        b.extend(b"[Content_Types].xml");
        b.extend(tail);
        b
    })
}

fn tiny_model() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/files/tiny-model")
}

/// A file of the tiny model, read once.
fn tiny_file(name: &'static str) -> &'static [u8] {
    static FILES: OnceLock<[(&str, Vec<u8>); 3]> = OnceLock::new();
    let files = FILES.get_or_init(|| {
        ["config.json", "tokenizer.json", "tokenizer_config.json"]
            .map(|n| (n, std::fs::read(tiny_model().join(n)).unwrap()))
    });
    &files.iter().find(|(n, _)| *n == name).unwrap().1
}

/// A model folder in the scratch folder: `model-own-tokenizer` gets the case's `tokenizer.json`,
/// `model` keeps the tiny model's (written once); both have its `config.json`.
fn model_dir(own_tokenizer: bool) -> PathBuf {
    let dir = scratch(if own_tokenizer {
        "model-own-tokenizer/config.json"
    } else {
        "model/config.json"
    })
    .parent()
    .map(Path::to_path_buf)
    .unwrap();
    if !dir.join("config.json").exists() {
        std::fs::write(dir.join("config.json"), tiny_file("config.json")).unwrap();
        if !own_tokenizer {
            std::fs::write(dir.join("tokenizer.json"), tiny_file("tokenizer.json")).unwrap();
        }
    }
    dir
}

/// Jinja-shaped text: the pieces chat templates are made of, in any order.
fn template_shaped() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("{% for m in messages %}".to_string()),
        Just("{% endfor %}".to_string()),
        Just("{% if add_generation_prompt %}".to_string()),
        Just("{% if m.role == 'system' %}".to_string()),
        Just("{% else %}".to_string()),
        Just("{% endif %}".to_string()),
        Just("{{ m.content }}".to_string()),
        Just("{{ m.role }}".to_string()),
        Just("{{ bos_token }}".to_string()),
        Just("{{ eos_token }}".to_string()),
        Just("{{ messages[0]['content'] }}".to_string()),
        Just("{{ raise_exception('no') }}".to_string()),
        Just("{% set x = messages | length %}".to_string()),
        Just("{{ x * 1000000 }}".to_string()),
        Just("{%".to_string()),
        Just("}}".to_string()),
        Just("<|im_start|>".to_string()),
        Just("\n".to_string()),
        "[a-z :]{0,8}",
    ];
    proptest::collection::vec(piece, 0..14).prop_map(|v| v.concat())
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        (-1e9f64..1e9).prop_map(|f| serde_json::json!(f)),
        "[a-zA-Z<>|\\[\\] ]{0,12}".prop_map(serde_json::Value::String),
        Just(serde_json::json!({"content": "[SEP]"})),
        Just(serde_json::json!([{"name": "default", "template": "{{ m }}"}])),
    ]
}

/// Loads a model folder holding `tokenizer_config` (and the tiny model's tokenizer and config)
/// and renders a conversation; errors are fine, panics are not.
fn check_model_text(tokenizer_config: &[u8], tokenizer: Option<&[u8]>) {
    let dir = model_dir(tokenizer.is_some());
    if let Some(t) = tokenizer {
        std::fs::write(dir.join("tokenizer.json"), t).unwrap();
    }
    std::fs::write(dir.join("tokenizer_config.json"), tokenizer_config).unwrap();
    let model = match ModelText::load(&dir) {
        Ok(model) => model,
        Err(e) => {
            // A refusal names the model's folder or the file in it that is damaged.
            let message = e.to_string();
            assert!(
                message.contains(&dir.display().to_string()),
                "the refusal does not name the model folder: {message}"
            );
            return;
        }
    };
    if let Some(t) = &model.chat_template {
        let messages = vec![
            Message {
                role: "system".into(),
                content: "Be short.".into(),
            },
            Message {
                role: "user".into(),
                content: "Hi {{ there }} {% x %}".into(),
            },
            Message {
                role: "assistant".into(),
                content: "Hello.".into(),
            },
        ];
        let _ = t.render(&messages, true);
        let _ = t.training_text(&messages);
    }
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
    #![proptest_config(config())]

    #[test]
    fn random_bytes_never_panic_the_reader(bytes in proptest::collection::vec(any::<u8>(), 0..600), ext in ext()) {
        check(&bytes, ext);
    }

    #[test]
    fn random_csv_shaped_text_never_panics_the_reader(text in csv_shaped(), ext in ext()) {
        check(text.as_bytes(), ext);
    }

    #[test]
    fn zip_shaped_bytes_are_refused_as_a_workbook_never_a_panic(bytes in zip_shaped()) {
        check(&bytes, "xlsx");
        check(&bytes, "csv");
    }

    #[test]
    fn fuzz_chat_templates_never_panic_when_loaded_or_rendered(template in template_shaped(), bos in json_value(), eos in json_value(), len in json_value()) {
        let cfg = serde_json::json!({
            "chat_template": template, "bos_token": bos, "eos_token": eos, "model_max_length": len,
        });
        check_model_text(cfg.to_string().as_bytes(), None);
    }

    #[test]
    fn fuzz_tokenizer_config_json_as_damaged_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200), cut in 0usize..400) {
        let good = tiny_file("tokenizer_config.json");
        check_model_text(&bytes, None);
        check_model_text(&good[..cut.min(good.len())], None);
    }

    #[test]
    fn fuzz_tokenizer_json_as_damaged_bytes_never_panics(at in any::<proptest::sample::Index>(), byte in any::<u8>(), cut in any::<proptest::sample::Index>()) {
        let good = tiny_file("tokenizer.json");
        let mut damaged = good.to_vec();
        let i = at.index(damaged.len());
        damaged[i] = byte;
        let cfg = tiny_file("tokenizer_config.json");
        check_model_text(cfg, Some(&damaged));
        check_model_text(cfg, Some(&good[..cut.index(good.len())]));
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
