//! Fuzz tier of the hub crate: the hub's JSON answers (model list, model info, file list), GGUF
//! headers, safetensors headers and `config.json` never panic, whatever the bytes, and damaged
//! input is refused with a reason.
//!
//! Case count per target: `TUNESMITH_FUZZ_CASES` (default 300, what CI runs on every build). The
//! large run is by hand or nightly: `scripts/fuzz-tier 10000000`
//! (counts and times in tests/README.md).

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{json, Value};
use tunesmith_hub::config::ModelConfig;
use tunesmith_hub::download::RepoFiles;
use tunesmith_hub::gguf::{write_minimal, GgufHeader, MetaValue};
use tunesmith_hub::info::ModelDetails;
use tunesmith_hub::safetensors::SafetensorsHeader;
use tunesmith_hub::search::ModelSummary;
use tunesmith_hub::wire::{parse_model, parse_model_list};

thread_local! {
    /// This test's folder, kept for the whole run, in memory (`/dev/shm`) where there is one (a
    /// fresh folder per case, or a file on disk, costs more than the parse). Each test runs on a
    /// thread of its own, which removes the folder when it ends.
    static SCRATCH: tempfile::TempDir = tempfile::Builder::new()
        .prefix("tunesmith-fuzz-hub")
        .tempdir_in("/dev/shm")
        .or_else(|_| tempfile::tempdir())
        .unwrap();
}

/// Writes `bytes` as `name` in this test's scratch folder.
fn scratch(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = SCRATCH.with(|d| d.path().join(name));
    std::fs::write(&p, bytes).unwrap();
    p
}

fn cases() -> u32 {
    std::env::var("TUNESMITH_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300)
}

/// The case count, no failure files, and the xorshift generator (ChaCha's costs more and the
/// inputs need no cryptographic randomness).
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        rng_algorithm: proptest::test_runner::RngAlgorithm::XorShift,
        ..ProptestConfig::default()
    }
}

/// One change to a byte string; lengths and offsets are where readers break, so whole
/// little-endian integers of boundary values are written as often as single bytes.
#[derive(Debug, Clone)]
enum Mutation {
    Byte(Index, u8),
    Flip(Index, u8),
    U32(Index, u32),
    U64(Index, u64),
    Truncate(Index),
    Insert(Index, Vec<u8>),
    Delete(Index, usize),
}

fn boundary_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(1),
        Just(7),
        Just(8),
        Just(255),
        Just(65_536),
        Just(1 << 31),
        Just(u32::MAX as u64),
        Just(1 << 40),
        Just(1 << 62),
        Just(u64::MAX),
        Just(u64::MAX - 7),
        any::<u64>(),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Byte(i, b)),
        2 => (any::<Index>(), 0u8..8).prop_map(|(i, b)| Mutation::Flip(i, b)),
        2 => (any::<Index>(), boundary_u64()).prop_map(|(i, v)| Mutation::U32(i, v as u32)),
        3 => (any::<Index>(), boundary_u64()).prop_map(|(i, v)| Mutation::U64(i, v)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        1 => (any::<Index>(), proptest::collection::vec(any::<u8>(), 1..16)).prop_map(|(i, b)| Mutation::Insert(i, b)),
        1 => (any::<Index>(), 1usize..16).prop_map(|(i, n)| Mutation::Delete(i, n)),
    ]
}

fn apply(mut b: Vec<u8>, ms: &[Mutation]) -> Vec<u8> {
    for m in ms {
        if b.is_empty() {
            break;
        }
        let n = b.len();
        match m {
            Mutation::Byte(i, v) => b[i.index(n)] = *v,
            Mutation::Flip(i, bit) => b[i.index(n)] ^= 1 << bit,
            Mutation::U32(i, v) => {
                let at = i.index(n);
                for (k, x) in v.to_le_bytes().iter().enumerate() {
                    if let Some(slot) = b.get_mut(at + k) {
                        *slot = *x;
                    }
                }
            }
            Mutation::U64(i, v) => {
                let at = i.index(n);
                for (k, x) in v.to_le_bytes().iter().enumerate() {
                    if let Some(slot) = b.get_mut(at + k) {
                        *slot = *x;
                    }
                }
            }
            Mutation::Truncate(i) => b.truncate(i.index(n)),
            Mutation::Insert(i, bytes) => {
                let at = i.index(n);
                b.splice(at..at, bytes.iter().copied());
            }
            Mutation::Delete(i, k) => {
                let at = i.index(n);
                b.drain(at..(at + k).min(n));
            }
        }
    }
    b
}

fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    proptest::collection::vec(mutation(), 1..6)
}

// --- the hub's JSON -------------------------------------------------------------------------

/// A real-shaped model answer (list entry and info together).
fn real_answer() -> Value {
    json!({
        "_id": "66e1a1f4b0c1d2e3f4a5b6c7", "id": "HuggingFaceTB/SmolLM2-135M-Instruct",
        "modelId": "HuggingFaceTB/SmolLM2-135M-Instruct", "author": "HuggingFaceTB",
        "sha": "a91318be21aeaf0879874faa161dcb40c68847e9", "lastModified": "2025-02-06T10:34:21.000Z",
        "createdAt": "2024-10-31T13:41:35.000Z", "private": false, "disabled": false, "gated": "manual",
        "pipeline_tag": "text-generation", "library_name": "transformers", "tags": ["llama", "license:apache-2.0", "gguf"],
        "downloads": 5, "likes": 2, "trendingScore": 1.5,
        "cardData": {"license": ["apache-2.0"], "base_model": "HuggingFaceTB/SmolLM2-135M"},
        "config": {"architectures": ["LlamaForCausalLM"], "model_type": "llama"},
        "safetensors": {"parameters": {"BF16": 134515008, "F32": 3}, "total": 134515011},
        "siblings": [
            {"rfilename": "config.json", "size": 100, "blobId": "ab"},
            {"rfilename": "model.safetensors", "size": 9, "lfs": {"sha256": "cd", "size": 9, "pointerSize": 134}},
            {"rfilename": "m.Q8_0.gguf", "lfs": {"sha256": "ef", "size": 7}}
        ]
    })
}

/// A JSON value of any type, small.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)),
        "[a-zA-Z0-9/_.:-]{0,24}".prop_map(Value::String),
        Just(json!("auto")),
        Just(json!("manual")),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(
                "[a-zA-Z_]{0,8}|sha256|size|rfilename|parameters|total|license",
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const FIELDS: &[&str] = &[
    "_id",
    "id",
    "modelId",
    "author",
    "sha",
    "lastModified",
    "createdAt",
    "private",
    "disabled",
    "gated",
    "pipeline_tag",
    "library_name",
    "tags",
    "downloads",
    "likes",
    "trendingScore",
    "cardData",
    "config",
    "safetensors",
    "siblings",
];

/// The real answer with some fields replaced by values of any type, or removed.
fn drifted_answer() -> impl Strategy<Value = Value> {
    proptest::collection::vec((0..FIELDS.len(), proptest::option::of(any_json())), 0..6).prop_map(
        |changes| {
            let mut v = real_answer();
            for (f, val) in changes {
                match val {
                    Some(x) => v[FIELDS[f]] = x,
                    None => {
                        v.as_object_mut().map(|o| o.remove(FIELDS[f]));
                    }
                }
            }
            v
        },
    )
}

fn check_answer(bytes: &[u8]) {
    if let Ok(list) = parse_model_list(bytes) {
        for m in &list {
            let s = ModelSummary::from_api(m).expect("a listed model has an id");
            assert!(!s.id.is_empty());
        }
    }
    if let Ok(m) = parse_model(bytes) {
        let d = ModelDetails::from_api(&m).expect("a parsed model has an id");
        assert!(d.files.iter().filter(|f| f.needed).count() <= d.files.len());
    }
    let _ = serde_json::from_slice::<RepoFiles>(bytes);
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_hub_answers_with_fields_of_any_type_never_panic(v in drifted_answer()) {
        let one = serde_json::to_vec(&v).unwrap();
        check_answer(&one);
        check_answer(&serde_json::to_vec(&json!([v, {"modelId": "a/b"}])).unwrap());
        // Only an answer without any id may be refused.
        if v.get("id").and_then(Value::as_str).is_some_and(|s| !s.trim().is_empty()) {
            prop_assert!(parse_model(&one).is_ok());
        }
    }

    #[test]
    fn fuzz_hub_answers_as_damaged_bytes_never_panic(ms in mutations()) {
        let bytes = serde_json::to_vec(&json!([real_answer()])).unwrap();
        check_answer(&apply(bytes, &ms));
    }

    #[test]
    fn fuzz_config_json_never_panics(v in any_json(), ms in mutations()) {
        let _ = ModelConfig::parse(&v.to_string());
        let good = r#"{"architectures":["LlamaForCausalLM"],"model_type":"llama","hidden_size":64,"num_attention_heads":4,"num_hidden_layers":2,"vocab_size":100,"intermediate_size":128,"max_position_embeddings":512}"#;
        let damaged = apply(good.as_bytes().to_vec(), &ms);
        if let Ok(c) = ModelConfig::parse(&String::from_utf8_lossy(&damaged)) {
            let _ = c.support();
        }
    }
}

// --- GGUF and safetensors headers -------------------------------------------------------------

fn gguf_seed() -> Vec<u8> {
    static SEED: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    SEED.get_or_init(make_gguf_seed).clone()
}

fn make_gguf_seed() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("seed.gguf");
    write_minimal(
        &p,
        &[
            ("general.architecture", MetaValue::Str("llama".into())),
            ("llama.context_length", MetaValue::Int(512)),
            ("general.alignment", MetaValue::Int(32)),
        ],
        &["<s>", "a", "b"],
        &[
            ("token_embd.weight", vec![8, 3]),
            ("output_norm.weight", vec![8]),
        ],
    )
    .unwrap();
    std::fs::read(&p).unwrap()
}

fn safetensors_seed() -> Vec<u8> {
    let header = r#"{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"b":{"dtype":"BF16","shape":[4],"data_offsets":[24,32]},"__metadata__":{"format":"pt"}}"#;
    let mut b = (header.len() as u64).to_le_bytes().to_vec();
    b.extend(header.as_bytes());
    b.extend([0u8; 32]);
    b
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_gguf_headers_never_panic_and_damage_is_named(ms in mutations()) {
        let bytes = apply(gguf_seed(), &ms);
        let p = scratch("m.gguf", &bytes);
        match GgufHeader::read(&p) {
            Ok(h) => {
                let _ = (h.parameters(), h.architecture(), h.has_tokenizer(), h.arch_int("context_length"));
            }
            Err(e) => prop_assert!(e.to_string().contains("m.gguf"), "{e}"),
        }
    }

    #[test]
    fn fuzz_safetensors_headers_never_panic_and_damage_is_named(ms in mutations()) {
        let bytes = apply(safetensors_seed(), &ms);
        let p = scratch("m.safetensors", &bytes);
        match SafetensorsHeader::read(&p) {
            Ok(h) => {
                let _ = (h.parameters(), h.weight_bytes());
            }
            Err(e) => prop_assert!(e.to_string().contains("m.safetensors"), "{e}"),
        }
        if bytes.len() > 8 {
            if let Ok(h) = SafetensorsHeader::parse(&bytes[8..], None) {
                let _ = (h.parameters(), h.weight_bytes());
            }
        }
    }

    #[test]
    fn fuzz_safetensors_headers_of_any_json_never_panic(v in any_json()) {
        if let Ok(h) = SafetensorsHeader::parse(v.to_string().as_bytes(), Some(1000)) {
            let _ = (h.parameters(), h.weight_bytes());
        }
    }
}
