//! The committed reference fixtures (tests/fixtures, made by tests/fixtures/generate.py) are present
//! and consistent: every safetensors file matches the shapes recorded in `manifest.json`, every
//! checkpoint's tensors have the shapes its `config.json` implies, reference outputs and gradients
//! have the shapes of the inputs and parameters they belong to, and adapter factors fit their layers.
//! The numbers themselves are checked by the engine's tests.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use tunesmith_testkit::paths::fixtures_dir;

type Header = BTreeMap<String, (String, Vec<usize>)>;

/// Reads a safetensors header (8-byte little-endian length + JSON) and checks the file is complete.
fn header(path: &Path) -> Header {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(bytes.len() >= 8, "{} is too short", path.display());
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let json: BTreeMap<String, Value> =
        serde_json::from_slice(&bytes[8..8 + n]).expect("header JSON");
    let mut out = Header::new();
    let mut end = 0;
    for (name, v) in json {
        if name == "__metadata__" {
            continue;
        }
        let shape = v["shape"]
            .as_array()
            .expect("shape")
            .iter()
            .map(|x| x.as_u64().expect("dim") as usize)
            .collect();
        end = end.max(v["data_offsets"][1].as_u64().expect("offset") as usize);
        out.insert(
            name,
            (v["dtype"].as_str().expect("dtype").to_string(), shape),
        );
    }
    assert_eq!(
        8 + n + end,
        bytes.len(),
        "{} is truncated or has trailing bytes",
        path.display()
    );
    out
}

fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn shape<'a>(h: &'a Header, name: &str, file: &str) -> &'a [usize] {
    &h.get(name)
        .unwrap_or_else(|| panic!("{file} has no tensor `{name}`"))
        .1
}

fn usize_of(cfg: &Value, key: &str) -> usize {
    cfg[key]
        .as_u64()
        .unwrap_or_else(|| panic!("config.json has no `{key}`")) as usize
}

/// The tokenizer's vocabulary (model vocab plus added tokens not already in it) must equal the
/// config's `vocab_size`, or ids would index past the embedding table.
fn tokenizer_vocab(dir: &Path) -> usize {
    let tok = json(&dir.join("tokenizer.json"));
    let vocab = tok["model"]["vocab"].as_object().expect("model.vocab");
    let added = tok["added_tokens"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|t| !vocab.contains_key(t["content"].as_str().unwrap_or("")))
                .count()
        })
        .unwrap_or(0);
    vocab.len() + added
}

#[test]
fn every_fixture_file_matches_the_manifest() {
    let root = fixtures_dir();
    let manifest = json(&root.join("manifest.json"));
    let files = manifest["files"].as_object().expect("files");
    assert!(
        files.len() >= 8,
        "the manifest lists only {} files",
        files.len()
    );
    for (rel, tensors) in files {
        let h = header(&root.join(rel));
        let expected: Header = tensors
            .as_object()
            .expect("tensors")
            .iter()
            .map(|(k, v)| {
                let s = v["shape"]
                    .as_array()
                    .expect("shape")
                    .iter()
                    .map(|x| x.as_u64().expect("dim") as usize)
                    .collect();
                (
                    k.clone(),
                    (v["dtype"].as_str().expect("dtype").to_string(), s),
                )
            })
            .collect();
        assert_eq!(
            h, expected,
            "{rel} differs from manifest.json; rerun tests/fixtures/generate.py"
        );
    }
}

#[test]
fn the_tiny_bert_checkpoint_has_the_shapes_its_config_implies() {
    let dir = fixtures_dir().join("tiny-bert");
    let cfg = json(&dir.join("config.json"));
    let (v, h, i, layers) = (
        usize_of(&cfg, "vocab_size"),
        usize_of(&cfg, "hidden_size"),
        usize_of(&cfg, "intermediate_size"),
        usize_of(&cfg, "num_hidden_layers"),
    );
    let labels = cfg["id2label"].as_object().expect("id2label").len();
    assert_eq!(tokenizer_vocab(&dir), v);
    let m = header(&dir.join("model.safetensors"));
    let f = "tiny-bert/model.safetensors";
    assert_eq!(
        shape(&m, "bert.embeddings.word_embeddings.weight", f),
        [v, h]
    );
    assert_eq!(
        shape(&m, "bert.embeddings.position_embeddings.weight", f),
        [usize_of(&cfg, "max_position_embeddings"), h]
    );
    for l in 0..layers {
        let p = format!("bert.encoder.layer.{l}");
        assert_eq!(
            shape(&m, &format!("{p}.attention.self.query.weight"), f),
            [h, h]
        );
        assert_eq!(
            shape(&m, &format!("{p}.intermediate.dense.weight"), f),
            [i, h]
        );
        assert_eq!(shape(&m, &format!("{p}.output.dense.weight"), f), [h, i]);
        assert_eq!(shape(&m, &format!("{p}.output.LayerNorm.weight"), f), [h]);
    }
    assert_eq!(shape(&m, "classifier.weight", f), [labels, h]);

    let r = header(&dir.join("reference.safetensors"));
    let rf = "tiny-bert/reference.safetensors";
    let ids = shape(&r, "input_ids", rf).to_vec();
    assert_eq!(ids.len(), 2);
    assert_eq!(shape(&r, "attention_mask", rf), ids.as_slice());
    assert_eq!(shape(&r, "logits", rf), [ids[0], labels]);
    assert_eq!(shape(&r, "last_hidden_state", rf), [ids[0], ids[1], h]);
    assert_eq!(shape(&r, "mean_pooled", rf), [ids[0], h]);
    assert_eq!(shape(&r, "loss", rf), [1]);
    assert_gradients_fit(&r, &m, rf, &[]);
    assert_adapter_fits(&dir, &m);
}

fn assert_gradients_fit(reference: &Header, model: &Header, file: &str, lora: &[(&str, &Header)]) {
    let mut n = 0;
    for (name, (_, s)) in reference.iter().filter(|(k, _)| k.starts_with("grad.")) {
        let param = &name["grad.".len()..];
        let expected = if let Some(module) = param
            .strip_suffix(".lora_A.weight")
            .or_else(|| param.strip_suffix(".lora_B.weight"))
        {
            let (_, adapter) = lora
                .first()
                .unwrap_or_else(|| panic!("{file}: LoRA gradient without an adapter"));
            let key = format!("base_model.model.{param}");
            assert!(
                model.contains_key(&format!("{module}.weight")),
                "{file}: no base layer `{module}`"
            );
            adapter
                .get(&key)
                .unwrap_or_else(|| panic!("{file}: adapter has no `{key}`"))
                .1
                .clone()
        } else if let Some((_, adapter)) = lora.first().filter(|_| !model.contains_key(param)) {
            adapter[&format!("base_model.model.{param}")].1.clone()
        } else {
            model
                .get(param)
                .unwrap_or_else(|| panic!("{file}: gradient of unknown parameter `{param}`"))
                .1
                .clone()
        };
        assert_eq!(s, &expected, "{file}: `{name}` has the wrong shape");
        n += 1;
    }
    assert!(n >= 4, "{file} holds only {n} gradients");
}

fn assert_adapter_fits(dir: &Path, model: &Header) {
    let cfg = json(&dir.join("lora-adapter/adapter_config.json"));
    assert_eq!(cfg["peft_type"], "LORA");
    let r = usize_of(&cfg, "r");
    let a = header(&dir.join("lora-adapter/adapter_model.safetensors"));
    let mut factors = 0;
    for (name, (_, s)) in &a {
        let short = name
            .strip_prefix("base_model.model.")
            .expect("PEFT names start with base_model.model.");
        if let Some(module) = short.strip_suffix(".lora_A.weight") {
            let w = shape(model, &format!("{module}.weight"), "model.safetensors");
            assert_eq!(s, &vec![r, w[1]], "{name}");
            factors += 1;
        } else if let Some(module) = short.strip_suffix(".lora_B.weight") {
            let w = shape(model, &format!("{module}.weight"), "model.safetensors");
            assert_eq!(s, &vec![w[0], r], "{name}");
        } else {
            assert_eq!(
                s.as_slice(),
                shape(model, short, "model.safetensors"),
                "{name}"
            );
        }
    }
    assert!(factors >= 4, "the adapter has only {factors} LoRA layers");
    let rl = header(&dir.join("reference_lora.safetensors"));
    assert_gradients_fit(&rl, model, "reference_lora.safetensors", &[("adapter", &a)]);
}

fn check_decoder(name: &str, tied: bool, adapter: bool) {
    let dir = fixtures_dir().join(name);
    let cfg = json(&dir.join("config.json"));
    let (v, h, i) = (
        usize_of(&cfg, "vocab_size"),
        usize_of(&cfg, "hidden_size"),
        usize_of(&cfg, "intermediate_size"),
    );
    let (heads, kv) = (
        usize_of(&cfg, "num_attention_heads"),
        usize_of(&cfg, "num_key_value_heads"),
    );
    assert!(kv < heads, "{name} must exercise grouped-query attention");
    let d = h / heads;
    assert_eq!(tokenizer_vocab(&dir), v);
    let tc = json(&dir.join("tokenizer_config.json"));
    assert!(
        tc["chat_template"]
            .as_str()
            .is_some_and(|t| t.contains("<|im_start|>")),
        "{name} has no chat template"
    );
    let m = header(&dir.join("model.safetensors"));
    let f = format!("{name}/model.safetensors");
    assert_eq!(shape(&m, "model.embed_tokens.weight", &f), [v, h]);
    assert_eq!(
        m.contains_key("lm_head.weight"),
        !tied,
        "{name}: lm_head presence vs tie_word_embeddings"
    );
    assert_eq!(cfg["tie_word_embeddings"].as_bool().unwrap_or(false), tied);
    for l in 0..usize_of(&cfg, "num_hidden_layers") {
        let p = format!("model.layers.{l}");
        assert_eq!(
            shape(&m, &format!("{p}.self_attn.q_proj.weight"), &f),
            [heads * d, h]
        );
        assert_eq!(
            shape(&m, &format!("{p}.self_attn.k_proj.weight"), &f),
            [kv * d, h]
        );
        assert_eq!(
            shape(&m, &format!("{p}.self_attn.v_proj.weight"), &f),
            [kv * d, h]
        );
        assert_eq!(shape(&m, &format!("{p}.mlp.gate_proj.weight"), &f), [i, h]);
        assert_eq!(shape(&m, &format!("{p}.mlp.down_proj.weight"), &f), [h, i]);
        assert_eq!(shape(&m, &format!("{p}.input_layernorm.weight"), &f), [h]);
        if name.contains("qwen2") {
            assert_eq!(
                shape(&m, &format!("{p}.self_attn.k_proj.bias"), &f),
                [kv * d]
            );
        }
    }
    let r = header(&dir.join("reference.safetensors"));
    let rf = format!("{name}/reference.safetensors");
    let ids = shape(&r, "input_ids", &rf).to_vec();
    assert_eq!(shape(&r, "attention_mask", &rf), ids.as_slice());
    assert_eq!(shape(&r, "labels", &rf), ids.as_slice());
    assert_eq!(shape(&r, "logits", &rf), [ids[0], ids[1], v]);
    assert_eq!(shape(&r, "last_hidden_state", &rf), [ids[0], ids[1], h]);
    assert_gradients_fit(&r, &m, &rf, &[]);
    if adapter {
        assert_adapter_fits(&dir, &m);
    }
}

#[test]
fn the_tiny_llama_checkpoint_has_the_shapes_its_config_implies() {
    check_decoder("tiny-llama", false, true);
}

#[test]
fn the_tiny_qwen2_checkpoint_has_the_shapes_its_config_implies() {
    check_decoder("tiny-qwen2", true, false);
}
