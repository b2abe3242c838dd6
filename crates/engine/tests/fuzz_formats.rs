//! Fuzz tier of the engine's file readers: a damaged GGUF file, safetensors checkpoint,
//! `tokenizer.json` or PEFT adapter (`adapter_config.json` + weights) is refused with an error
//! naming the file, never a panic and never an allocation the file's size does not justify.
//!
//! Seeds are real files (the tiny Llama fixture, its GGUF export, its LoRA adapter, a training
//! checkpoint); each case applies a few mutations aimed at what readers trust: whole
//! little-endian lengths and offsets of boundary values, bit flips, truncation, insertion.
//!
//! Case count per target: `TUNESMITH_FUZZ_CASES` (default 100, what CI runs). The large run is by
//! hand or nightly: `scripts/fuzz-tier 10000000` (counts and times in tests/README.md).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use candle_core::{Device, Tensor};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{json, Value};
use tunesmith_engine::adapters::peft::PeftAdapter;
use tunesmith_engine::export::{write_gguf, DecoderWeights, GgufType};
use tunesmith_engine::gguf::config::llama_config;
use tunesmith_engine::gguf::header::read_header;
use tunesmith_engine::gguf::GgufFile;
use tunesmith_engine::models::checkpoint::safetensors_header;
use tunesmith_engine::tokenizer::{GgufTokenizer, TextTokenizer};
use tunesmith_engine::train::checkpoint::{load_tensors, save_tensors, STATE_KEY};

fn cases() -> u32 {
    std::env::var("TUNESMITH_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100)
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

fn tiny_llama() -> PathBuf {
    tunesmith_testkit::paths::fixtures_dir().join("tiny-llama")
}

// --- mutations --------------------------------------------------------------------------------

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
        Just(4),
        Just(8),
        Just(255),
        Just(65_536),
        Just(1 << 31),
        Just(u32::MAX as u64),
        Just(1 << 40),
        Just(1 << 62),
        Just(u64::MAX),
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

fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    proptest::collection::vec(mutation(), 1..6)
}

fn put(b: &mut [u8], at: usize, bytes: &[u8]) {
    for (k, x) in bytes.iter().enumerate() {
        if let Some(slot) = b.get_mut(at + k) {
            *slot = *x;
        }
    }
}

/// Applies `ms` to the first `head` bytes of `b` (where lengths and offsets live); truncation cuts
/// the whole file.
fn apply(b: &[u8], head: usize, ms: &[Mutation]) -> Vec<u8> {
    let head = head.min(b.len());
    let (mut h, tail) = (b[..head].to_vec(), b[head..].to_vec());
    let mut cut = None;
    for m in ms {
        let n = h.len().max(1);
        match m {
            Mutation::Byte(i, v) if !h.is_empty() => h[i.index(n)] = *v,
            Mutation::Flip(i, bit) if !h.is_empty() => h[i.index(n)] ^= 1 << bit,
            Mutation::U32(i, v) => put(&mut h, i.index(n), &v.to_le_bytes()),
            Mutation::U64(i, v) => put(&mut h, i.index(n), &v.to_le_bytes()),
            Mutation::Truncate(i) => cut = Some(i.index(b.len().max(1))),
            Mutation::Insert(i, bytes) => {
                let at = i.index(n).min(h.len());
                h.splice(at..at, bytes.iter().copied());
            }
            Mutation::Delete(i, k) if !h.is_empty() => {
                let at = i.index(n);
                let end = (at + k).min(h.len());
                h.drain(at..end);
            }
            _ => {}
        }
    }
    h.extend(tail);
    if let Some(c) = cut {
        h.truncate(c);
    }
    h
}

/// A JSON value of any type, small.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        (-1e6f64..1e6).prop_map(|f| json!(f)),
        "[a-zA-Z0-9 ._<>|-]{0,16}".prop_map(Value::String),
    ];
    leaf.prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z_]{0,8}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// `v` with up to four values at random paths replaced by values of any type (or removed).
fn drift(v: &Value, changes: &[(Index, Index, Option<Value>)]) -> Value {
    let mut v = v.clone();
    for (a, b, new) in changes {
        let mut target = &mut v;
        for pick in [a, b] {
            let next = match target {
                Value::Object(m) if !m.is_empty() => {
                    let k = m.keys().nth(pick.index(m.len())).cloned();
                    k.map(|k| (Some(k), None))
                }
                Value::Array(a) if !a.is_empty() => Some((None, Some(pick.index(a.len())))),
                _ => None,
            };
            match next {
                Some((Some(k), _)) => {
                    if pick.index(3) == 0 {
                        // Stop here: change this key's value.
                        if let Value::Object(m) = target {
                            match new {
                                Some(n) => {
                                    m.insert(k, n.clone());
                                }
                                None => {
                                    m.remove(&k);
                                }
                            }
                        }
                        break;
                    }
                    target = &mut target[k.as_str()];
                }
                Some((None, Some(i))) => target = &mut target[i],
                _ => break,
            }
        }
        if let Some(n) = new {
            if !target.is_object() {
                *target = n.clone();
            }
        }
    }
    v
}

fn drifts() -> impl Strategy<Value = Vec<(Index, Index, Option<Value>)>> {
    proptest::collection::vec(
        (
            any::<Index>(),
            any::<Index>(),
            proptest::option::of(any_json()),
        ),
        1..4,
    )
}

// --- seeds ------------------------------------------------------------------------------------

struct Seeds {
    gguf: Vec<u8>,
    gguf_head: usize,
    checkpoint: Vec<u8>,
    checkpoint_head: usize,
    tokenizer: Value,
    adapter_config: Value,
    adapter_weights: Vec<u8>,
    adapter_head: usize,
}

fn safetensors_head(b: &[u8]) -> usize {
    8 + u64::from_le_bytes(b[..8].try_into().unwrap()) as usize
}

fn seeds() -> &'static Seeds {
    static SEEDS: OnceLock<Seeds> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let weights = DecoderWeights::load_base(&tiny_llama()).unwrap();
        let g = dir.path().join("seed.gguf");
        write_gguf(&g, &weights, GgufType::Q8_0, "seed").unwrap();
        let gguf = std::fs::read(&g).unwrap();
        let gguf_head = read_header(&mut std::io::Cursor::new(&gguf))
            .unwrap()
            .tensor_data_offset as usize;
        let c = dir.path().join("checkpoint.safetensors");
        let t = Tensor::arange(0f32, 24.0, &Device::Cpu)
            .unwrap()
            .reshape((4, 6))
            .unwrap();
        save_tensors(
            &c,
            &[("w.a".into(), t.clone()), ("m.a".into(), t)],
            HashMap::from([(STATE_KEY.to_string(), r#"{"step":3,"epoch":1}"#.to_string())]),
        )
        .unwrap();
        let checkpoint = std::fs::read(&c).unwrap();
        let adapter = tiny_llama().join("lora-adapter");
        let adapter_weights = std::fs::read(adapter.join("adapter_model.safetensors")).unwrap();
        Seeds {
            gguf_head,
            gguf,
            checkpoint_head: safetensors_head(&checkpoint),
            checkpoint,
            tokenizer: serde_json::from_slice(
                &std::fs::read(tiny_llama().join("tokenizer.json")).unwrap(),
            )
            .unwrap(),
            adapter_config: serde_json::from_slice(
                &std::fs::read(adapter.join("adapter_config.json")).unwrap(),
            )
            .unwrap(),
            adapter_head: safetensors_head(&adapter_weights),
            adapter_weights,
        }
    })
}

thread_local! {
    /// This test's folder, kept for the whole run, in memory (`/dev/shm`) where there is one: a
    /// fresh folder per case, or a file on disk, costs more than the read. Each test runs on a
    /// thread of its own, which removes the folder when it ends.
    static SCRATCH: tempfile::TempDir = tempfile::Builder::new()
        .prefix("tunesmith-fuzz-engine")
        .tempdir_in("/dev/shm")
        .or_else(|_| tempfile::tempdir())
        .unwrap();
}

fn scratch_dir() -> PathBuf {
    SCRATCH.with(|d| d.path().to_path_buf())
}

/// Writes `bytes` as `name` in the scratch folder (each target uses its own name).
fn in_temp(name: &str, bytes: &[u8]) -> PathBuf {
    let p = scratch_dir().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn names(e: &impl std::fmt::Display, file: &str) -> bool {
    e.to_string().contains(file)
}

// --- targets ----------------------------------------------------------------------------------

fn check_gguf(path: &Path) -> Result<(), TestCaseError> {
    let mut f = match GgufFile::open(path) {
        Ok(f) => f,
        Err(e) => {
            prop_assert!(names(&e, "m.gguf"), "{e}");
            return Ok(());
        }
    };
    let _ = llama_config(&mut f);
    if let Ok(tok) = GgufTokenizer::from_gguf(&f) {
        let _ = tok.encode("Code word for Alder? <|im_end|>");
    }
    let names: Vec<String> = f.tensor_names().map(str::to_string).collect();
    for n in names {
        if let Err(e) = f.dequantized(&n, &Device::Cpu) {
            prop_assert!(e.to_string().contains("m.gguf"), "{e}");
        }
    }
    Ok(())
}

fn check_safetensors(path: &Path, file: &str) -> Result<(), TestCaseError> {
    if let Err(e) = safetensors_header(path) {
        prop_assert!(names(&e, file), "{e}");
    }
    if let Err(e) = load_tensors(path, &Device::Cpu) {
        prop_assert!(names(&e, file), "{e}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_gguf_files_never_panic_and_damage_names_the_file(ms in mutations()) {
        let s = seeds();
        let p = in_temp("m.gguf", &apply(&s.gguf, s.gguf_head, &ms));
        check_gguf(&p)?;
    }

    #[test]
    fn fuzz_safetensors_checkpoints_never_panic_and_damage_names_the_file(ms in mutations()) {
        let s = seeds();
        let p = in_temp("checkpoint.safetensors", &apply(&s.checkpoint, s.checkpoint_head, &ms));
        check_safetensors(&p, "checkpoint.safetensors")?;
    }

    #[test]
    fn fuzz_tokenizer_json_never_panics_and_damage_names_the_file(changes in drifts(), ms in mutations()) {
        let s = seeds();
        let drifted = serde_json::to_vec(&drift(&s.tokenizer, &changes)).unwrap();
        for bytes in [drifted.clone(), apply(&drifted, drifted.len(), &ms)] {
            let p = in_temp("tokenizer.json", &bytes);
            match TextTokenizer::from_file(&p) {
                Ok(t) => {
                    if let Ok(ids) = t.encode("Code word for Alder? Bluebird", true) {
                        let _ = t.decode(&ids, false);
                    }
                }
                Err(e) => prop_assert!(names(&e, "tokenizer.json"), "{e}"),
            }
        }
    }

    #[test]
    fn fuzz_peft_adapters_never_panic_and_damage_names_the_file(changes in drifts(), ms in mutations(), damage_weights in any::<bool>()) {
        let s = seeds();
        let dir = scratch_dir().join("adapter");
        std::fs::create_dir_all(&dir).unwrap();
        let config = serde_json::to_vec(&drift(&s.adapter_config, &changes)).unwrap();
        std::fs::write(dir.join("adapter_config.json"), &config).unwrap();
        let weights = if damage_weights {
            apply(&s.adapter_weights, s.adapter_head, &ms)
        } else {
            s.adapter_weights.clone()
        };
        std::fs::write(dir.join("adapter_model.safetensors"), weights).unwrap();
        if let Err(e) = PeftAdapter::load(&dir, &Device::Cpu) {
            let text = e.to_string();
            prop_assert!(
                text.contains("adapter_config.json") || text.contains("adapter_model.safetensors"),
                "{text}"
            );
        }
    }
}

#[test]
fn the_fuzz_seeds_are_valid_files() {
    let s = seeds();
    let p = in_temp("seed.gguf", &s.gguf);
    let mut f = GgufFile::open(&p).unwrap();
    llama_config(&mut f).unwrap();
    GgufTokenizer::from_gguf(&f).unwrap();
    let c = in_temp("seed-checkpoint.safetensors", &s.checkpoint);
    assert_eq!(load_tensors(&c, &Device::Cpu).unwrap().0.len(), 2);
    PeftAdapter::load(&tiny_llama().join("lora-adapter"), &Device::Cpu).unwrap();
}
