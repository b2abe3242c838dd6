//! The Llama-family decoder against transformers and PEFT, on the committed tiny fixtures
//! (tests/fixtures/tiny-llama, tiny-qwen2; see tests/fixtures/generate.py): logits, loss, gradients of
//! every kind of trainable parameter (against the recorded reference and finite differences), the
//! PEFT adapter, QLoRA, GGUF round trips, loading errors, and generation.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::Value;
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{DType, Device, Tensor, Var};
use tunesmith_engine::adapters::lora::LoraConfig;
use tunesmith_engine::generate::{
    generate, generate_with_lookahead, CancelHandle, GenerateConfig, SamplingConfig, StopReason,
};
use tunesmith_engine::gguf::permute::permute_qk;
use tunesmith_engine::models::llama::{causal_lm_loss, LlamaLoadOptions, LlamaModel};
use tunesmith_engine::nn::params::{Backbone, LoraSetup};
use tunesmith_engine::nn::quantized::QuantPolicy;
use tunesmith_engine::tokenizer::GgufTokenizer;
use tunesmith_testkit::{assert_close, paths::fixtures_dir};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn fixture(name: &str) -> PathBuf {
    fixtures_dir().join(name)
}

fn reference(name: &str, file: &str) -> HashMap<String, Tensor> {
    candle_core::safetensors::load(fixture(name).join(file), &Device::Cpu)
        .expect("reference tensors")
}

fn flat(t: &Tensor) -> Vec<f32> {
    t.to_dtype(DType::F32)
        .and_then(|t| t.flatten_all())
        .and_then(|t| t.to_vec1())
        .expect("values")
}

fn load(name: &str, backbone: Backbone, dtype: DType) -> LlamaModel {
    let opts = LlamaLoadOptions {
        backbone,
        dtype,
        ..Default::default()
    };
    LlamaModel::load(&fixture(name), &opts)
        .expect("fixture loads")
        .model
}

fn var(model: &LlamaModel, name: &str) -> Var {
    let data = model.trainable().data().lock().expect("lock");
    data.get(name)
        .unwrap_or_else(|| panic!("no trainable `{name}`"))
        .clone()
}

fn forward_matches_transformers(name: &str) -> TestResult {
    let r = reference(name, "reference.safetensors");
    let model = load(name, Backbone::Frozen, DType::F32);
    let logits = model.forward(&r["input_ids"], Some(&r["attention_mask"]))?;
    assert_eq!(logits.dims(), r["logits"].dims());
    assert_close(&flat(&logits), &flat(&r["logits"]), 1e-4, 0.0);
    let hidden = model.hidden_states(&r["input_ids"], Some(&r["attention_mask"]), false)?;
    assert_close(&flat(&hidden), &flat(&r["last_hidden_state"]), 1e-4, 0.0);
    let loss = causal_lm_loss(&logits, &r["labels"])?;
    assert_close(&flat(&loss), &flat(&r["loss"]), 1e-5, 0.0);
    Ok(())
}

#[test]
fn llama_logits_hidden_states_and_masked_loss_match_transformers() -> TestResult {
    forward_matches_transformers("tiny-llama")
}

#[test]
fn qwen2_with_qkv_bias_and_tied_embeddings_matches_transformers() -> TestResult {
    forward_matches_transformers("tiny-qwen2")
}

fn full_gradients_match_reference(name: &str) -> TestResult {
    let r = reference(name, "reference.safetensors");
    let model = load(name, Backbone::Full, DType::F32);
    let logits = model.forward_t(&r["input_ids"], Some(&r["attention_mask"]), true)?;
    let grads = causal_lm_loss(&logits, &r["labels"])?.backward()?;
    let mut checked = 0;
    for (key, expected) in &r {
        let Some(param) = key.strip_prefix("grad.") else {
            continue;
        };
        let v = var(&model, param);
        let g = grads
            .get(&v)
            .unwrap_or_else(|| panic!("no gradient reached `{param}`"));
        assert_close(&flat(g), &flat(expected), 1e-5, 1e-3);
        checked += 1;
    }
    assert_eq!(checked, 5, "the reference holds five gradients");
    // Every trainable parameter, not only the recorded ones, gets a gradient.
    for (n, v) in model.trainable().data().lock().expect("lock").iter() {
        assert!(
            grads.get(v).is_some(),
            "`{n}` got no gradient: something cut the graph"
        );
    }
    Ok(())
}

#[test]
fn llama_gradients_of_embedding_linear_and_norm_weights_match_torch() -> TestResult {
    full_gradients_match_reference("tiny-llama")
}

#[test]
fn qwen2_gradients_including_the_tied_embedding_and_a_bias_match_torch() -> TestResult {
    full_gradients_match_reference("tiny-qwen2")
}

/// Central finite differences in f64 at the element with the largest gradient of each parameter.
#[test]
fn gradients_of_each_kind_of_parameter_match_finite_differences() -> TestResult {
    let r = reference("tiny-llama", "reference.safetensors");
    let model = load("tiny-llama", Backbone::Full, DType::F64);
    let loss_of = |m: &LlamaModel| -> f64 {
        let logits = m
            .forward(&r["input_ids"], Some(&r["attention_mask"]))
            .expect("forward");
        causal_lm_loss(&logits, &r["labels"])
            .and_then(|l| Ok(l.to_dtype(DType::F64)?.to_scalar::<f64>()?))
            .expect("loss")
    };
    let logits = model.forward(&r["input_ids"], Some(&r["attention_mask"]))?;
    let grads = causal_lm_loss(&logits, &r["labels"])?.backward()?;
    for name in [
        "model.embed_tokens.weight",
        "model.layers.0.self_attn.k_proj.weight",
        "model.layers.1.mlp.gate_proj.weight",
        "model.layers.0.input_layernorm.weight",
        "model.norm.weight",
        "lm_head.weight",
    ] {
        let v = var(&model, name);
        let g: Vec<f64> = grads.get(&v).expect("grad").flatten_all()?.to_vec1()?;
        let (i, &gi) = g
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .expect("non-empty");
        let orig: Vec<f64> = v.as_tensor().flatten_all()?.to_vec1()?;
        let eps = 1e-5;
        let at = |delta: f64| -> f64 {
            let mut w = orig.clone();
            w[i] += delta;
            v.set(&Tensor::from_vec(w, v.shape(), &Device::Cpu).expect("t"))
                .expect("set");
            loss_of(&model)
        };
        let fd = (at(eps) - at(-eps)) / (2.0 * eps);
        at(0.0);
        assert!(
            (fd - gi).abs() <= 1e-6 + 1e-4 * gi.abs(),
            "{name}[{i}]: analytic {gi} vs finite difference {fd}"
        );
    }
    Ok(())
}

fn peft_adapter() -> HashMap<String, (Tensor, Tensor)> {
    let t = candle_core::safetensors::load(
        fixture("tiny-llama").join("lora-adapter/adapter_model.safetensors"),
        &Device::Cpu,
    )
    .expect("adapter");
    let mut out = HashMap::new();
    for (k, a) in &t {
        if let Some(module) = k
            .strip_prefix("base_model.model.")
            .and_then(|m| m.strip_suffix(".lora_A.weight"))
        {
            let b = &t[&format!("base_model.model.{module}.lora_B.weight")];
            out.insert(module.to_string(), (a.clone(), b.clone()));
        }
    }
    out
}

fn lora_backbone(initial: HashMap<String, (Tensor, Tensor)>) -> Backbone {
    let targets = [
        "q_proj",
        "k_proj",
        "v_proj",
        "o_proj",
        "gate_proj",
        "up_proj",
        "down_proj",
    ];
    Backbone::Lora(LoraSetup {
        config: LoraConfig {
            r: 4,
            alpha: 16.0,
            dropout: 0.0,
            target_modules: targets.iter().map(|s| s.to_string()).collect(),
            use_rslora: false,
        },
        initial,
    })
}

#[test]
fn the_peft_adapter_reproduces_pefts_logits_loss_and_lora_gradients() -> TestResult {
    let r = reference("tiny-llama", "reference.safetensors");
    let lr = reference("tiny-llama", "reference_lora.safetensors");
    let adapter = peft_adapter();
    assert_eq!(adapter.len(), 14, "2 layers x 7 targeted modules");
    let model = load("tiny-llama", lora_backbone(adapter), DType::F32);
    assert_eq!(
        model.trainable().all_vars().len(),
        28,
        "only the LoRA factors train"
    );
    let logits = model.forward_t(&r["input_ids"], Some(&r["attention_mask"]), true)?;
    assert_close(&flat(&logits), &flat(&lr["logits"]), 1e-4, 0.0);
    let loss = causal_lm_loss(&logits, &r["labels"])?;
    assert_close(&flat(&loss), &flat(&lr["loss"]), 1e-5, 0.0);
    let grads = loss.backward()?;
    let mut checked = 0;
    for (key, expected) in &lr {
        let Some(param) = key.strip_prefix("grad.") else {
            continue;
        };
        let g = grads
            .get(&var(&model, param))
            .unwrap_or_else(|| panic!("no gradient for `{param}`"));
        assert_close(&flat(g), &flat(expected), 1e-5, 1e-3);
        checked += 1;
    }
    assert_eq!(checked, 4);
    Ok(())
}

#[test]
fn qlora_keeps_the_base_small_passes_gradients_to_lora_and_lowers_the_loss() -> TestResult {
    let r = reference("tiny-llama", "reference.safetensors");
    let opts = LlamaLoadOptions {
        backbone: lora_backbone(peft_adapter()),
        quantize: Some(QuantPolicy::Four),
        ..Default::default()
    };
    let model = LlamaModel::load(&fixture("tiny-llama"), &opts)?.model;
    let ratio = model.base_resident_bytes() as f64 / model.base_f32_bytes() as f64;
    assert!(
        ratio <= 0.35,
        "the quantised base takes {:.1} % of f32",
        ratio * 100.0
    );
    // The forward pass is the quantised matmul: it matches a dense model over the dequantised weights
    // up to the kernel's 8-bit rounding of activations. (Against PEFT's full-precision logits the
    // difference is large: the fixture's random LoRA factors amplify the weights' rounding.)
    let cfg = tunesmith_engine::models::llama_config::LlamaConfig::from_file(
        &fixture("tiny-llama").join("config.json"),
    )?;
    let mut w = candle_core::safetensors::load(
        fixture("tiny-llama").join("model.safetensors"),
        &Device::Cpu,
    )?;
    for v in w.values_mut() {
        if v.rank() == 2 {
            let dt = QuantPolicy::Four.dtype_for(v.dims()[1])?;
            *v = QTensor::quantize(v, dt)?.dequantize(&Device::Cpu)?;
        }
    }
    let vb = candle_nn::VarBuilder::from_tensors(w, DType::F32, &Device::Cpu);
    let dense_params = tunesmith_engine::nn::params::Params::new(
        vb,
        candle_nn::VarMap::new(),
        lora_backbone(peft_adapter()),
        Default::default(),
    );
    let dense = LlamaModel::new(&cfg, &dense_params, None, None)?;
    let expected = dense.forward(&r["input_ids"], Some(&r["attention_mask"]))?;
    let logits = model.forward(&r["input_ids"], Some(&r["attention_mask"]))?;
    let err = (&logits - &expected)?
        .abs()?
        .max_all()?
        .to_scalar::<f32>()?;
    let scale = expected.abs()?.max_all()?.to_scalar::<f32>()?;
    assert!(
        err < 0.05 * scale,
        "quantised logits differ by {err} (largest logit {scale})"
    );
    // Gradients reach the LoRA factors of the first layer through every quantised layer above it.
    let mut opt = candle_nn::AdamW::new(
        model.trainable().all_vars(),
        candle_nn::ParamsAdamW {
            lr: 1e-2,
            ..Default::default()
        },
    )?;
    use candle_nn::Optimizer;
    let mut losses = Vec::new();
    for _ in 0..8 {
        let logits = model.forward_t(&r["input_ids"], Some(&r["attention_mask"]), true)?;
        let loss = causal_lm_loss(&logits, &r["labels"])?;
        losses.push(loss.to_scalar::<f32>()?);
        let grads = loss.backward()?;
        let a0 = var(&model, "model.layers.0.self_attn.q_proj.lora_A.weight");
        assert!(
            grads.get(&a0).is_some(),
            "no gradient reached layer 0 through the quantised base"
        );
        opt.step(&grads)?;
    }
    assert!(
        losses[7] < losses[0] * 0.98,
        "loss did not fall: {losses:?}"
    );
    Ok(())
}

// ------------------------------------------------------------------------------------------------
// GGUF: write the fixture the way llama.cpp does (permuted Q/K, GGUF names, tokenizer metadata) and
// read it back.

fn gguf_name(hf: &str) -> Option<String> {
    let map = [
        ("model.embed_tokens.weight", "token_embd.weight"),
        ("model.norm.weight", "output_norm.weight"),
        ("lm_head.weight", "output.weight"),
    ];
    if let Some((_, g)) = map.iter().find(|(h, _)| *h == hf) {
        return Some(g.to_string());
    }
    let rest = hf.strip_prefix("model.layers.")?;
    let (layer, leaf) = rest.split_once('.')?;
    let (module, kind) = leaf.rsplit_once('.')?;
    let g = match module {
        "self_attn.q_proj" => "attn_q",
        "self_attn.k_proj" => "attn_k",
        "self_attn.v_proj" => "attn_v",
        "self_attn.o_proj" => "attn_output",
        "mlp.gate_proj" => "ffn_gate",
        "mlp.up_proj" => "ffn_up",
        "mlp.down_proj" => "ffn_down",
        "input_layernorm" => "attn_norm",
        "post_attention_layernorm" => "ffn_norm",
        _ => return None,
    };
    Some(format!("blk.{layer}.{g}.{kind}"))
}

/// Writes tiny-llama as a llama.cpp-style GGUF file with the fixture tokenizer's vocabulary.
fn write_tiny_gguf(dir: &Path) -> PathBuf {
    let weights = candle_core::safetensors::load(
        fixture("tiny-llama").join("model.safetensors"),
        &Device::Cpu,
    )
    .expect("weights");
    let mut tensors = Vec::new();
    for (name, t) in &weights {
        let t = if name.contains("q_proj") {
            permute_qk(t, 4).expect("permute")
        } else if name.contains("k_proj") {
            permute_qk(t, 2).expect("permute")
        } else {
            t.clone()
        };
        tensors.push((
            gguf_name(name).expect("known tensor"),
            QTensor::quantize(&t, GgmlDType::F32).expect("q"),
        ));
    }
    let tok: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("tiny-llama").join("tokenizer.json")).expect("read"),
    )
    .expect("json");
    let vocab = tok["model"]["vocab"].as_object().expect("vocab");
    let mut tokens = vec![String::new(); vocab.len()];
    for (t, id) in vocab {
        tokens[id.as_u64().expect("id") as usize] = t.clone();
    }
    let special: Vec<u64> = tok["added_tokens"]
        .as_array()
        .expect("added")
        .iter()
        .map(|a| a["id"].as_u64().expect("id"))
        .collect();
    let merges: Vec<Value> = tok["model"]["merges"]
        .as_array()
        .expect("merges")
        .iter()
        .map(|m| match m {
            serde_json::Value::Array(p) => Value::String(format!(
                "{} {}",
                p[0].as_str().expect("s"),
                p[1].as_str().expect("s")
            )),
            other => Value::String(other.as_str().expect("s").to_string()),
        })
        .collect();
    let types: Vec<Value> = (0..tokens.len())
        .map(|i| Value::I32(if special.contains(&(i as u64)) { 3 } else { 1 }))
        .collect();
    let meta: Vec<(&str, Value)> = vec![
        ("general.architecture", Value::String("llama".into())),
        ("llama.block_count", Value::U32(2)),
        ("llama.context_length", Value::U32(128)),
        ("llama.embedding_length", Value::U32(32)),
        ("llama.feed_forward_length", Value::U32(64)),
        ("llama.attention.head_count", Value::U32(4)),
        ("llama.attention.head_count_kv", Value::U32(2)),
        ("llama.rope.freq_base", Value::F32(10000.0)),
        ("llama.attention.layer_norm_rms_epsilon", Value::F32(1e-5)),
        ("tokenizer.ggml.model", Value::String("gpt2".into())),
        ("tokenizer.ggml.pre", Value::String("gpt2".into())),
        (
            "tokenizer.ggml.tokens",
            Value::Array(tokens.into_iter().map(Value::String).collect()),
        ),
        ("tokenizer.ggml.merges", Value::Array(merges)),
        ("tokenizer.ggml.token_type", Value::Array(types)),
        ("tokenizer.ggml.eos_token_id", Value::U32(2)),
        (
            "tokenizer.chat_template",
            Value::String("{{ messages }}".into()),
        ),
    ];
    let path = dir.join("tiny-llama.gguf");
    let mut f = std::fs::File::create(&path).expect("create");
    let meta_refs: Vec<(&str, &Value)> = meta.iter().map(|(k, v)| (*k, v)).collect();
    let tensor_refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    candle_core::quantized::gguf_file::write(&mut f, &meta_refs, &tensor_refs).expect("write gguf");
    path
}

#[test]
fn a_gguf_with_llama_cpps_qk_permutation_gives_the_safetensors_logits() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = write_tiny_gguf(dir.path());
    // The GGUF carries no Llama 3 RoPE scaling (llama.cpp would store a rope_freqs tensor), so the
    // reference is the safetensors checkpoint rebuilt with plain RoPE.
    let loaded = LlamaModel::load(&path, &LlamaLoadOptions::default())?;
    assert!(loaded.gguf_tokenizer.is_some());
    let cfg = loaded.model.config().clone();
    assert_eq!(
        (
            cfg.num_hidden_layers,
            cfg.kv_heads(),
            cfg.tie_word_embeddings
        ),
        (2, 2, false)
    );
    // Rebuild the safetensors model with the GGUF's (unscaled) RoPE and compare all logits.
    let mut st_cfg = tunesmith_engine::models::llama_config::LlamaConfig::from_file(
        &fixture("tiny-llama").join("config.json"),
    )?;
    st_cfg.rope_parameters = None;
    st_cfg.rope_scaling = None;
    st_cfg.rope_theta = Some(10000.0);
    let vb = unsafe {
        candle_nn::VarBuilder::from_mmaped_safetensors(
            &[fixture("tiny-llama").join("model.safetensors")],
            DType::F32,
            &Device::Cpu,
        )?
    };
    let params = tunesmith_engine::nn::params::Params::new(
        vb,
        candle_nn::VarMap::new(),
        Backbone::Frozen,
        Default::default(),
    );
    let st = LlamaModel::new(&st_cfg, &params, None, None)?;
    let r = reference("tiny-llama", "reference.safetensors");
    let a = loaded
        .model
        .forward(&r["input_ids"], Some(&r["attention_mask"]))?;
    let b = st.forward(&r["input_ids"], Some(&r["attention_mask"]))?;
    assert_close(&flat(&a), &flat(&b), 1e-5, 0.0);
    Ok(())
}

#[test]
fn the_gguf_tokenizer_matches_the_models_tokenizer_json_token_for_token() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = write_tiny_gguf(dir.path());
    let file = tunesmith_engine::gguf::GgufFile::open(&path)?;
    let ours = GgufTokenizer::from_gguf(&file)?;
    let theirs = tokenizers::Tokenizer::from_file(fixture("tiny-llama").join("tokenizer.json"))
        .map_err(|e| e.to_string())?;
    for text in [
        "<|im_start|>user\ncapital of france?<|im_end|>\n<|im_start|>assistant\nparis.<|im_end|>\n",
        "the quick brown fox, jumps!  over 123 dogs",
        "Naïve café — ünïcödé ✓",
    ] {
        let expected = theirs
            .encode(text, false)
            .map_err(|e| e.to_string())?
            .get_ids()
            .to_vec();
        assert_eq!(ours.encode(text)?, expected, "{text:?}");
        assert_eq!(ours.decode(&expected, false)?, text);
    }
    assert_eq!(
        ours.special.stop_ids(),
        vec![0, 2],
        "<|endoftext|> and <|im_end|> are the stop tokens"
    );
    assert_eq!(ours.chat_template.as_deref(), Some("{{ messages }}"));
    Ok(())
}

// ------------------------------------------------------------------------------------------------
// Loading errors: each names the file, the tensor and what to do.

fn copy_fixture(to: &Path) {
    for e in std::fs::read_dir(fixture("tiny-llama")).expect("dir") {
        let p = e.expect("entry").path();
        if p.is_file() {
            std::fs::copy(&p, to.join(p.file_name().expect("name"))).expect("copy");
        }
    }
}

fn rewrite_weights(dir: &Path, edit: impl FnOnce(&mut HashMap<String, Tensor>)) {
    let p = dir.join("model.safetensors");
    let mut w = candle_core::safetensors::load(&p, &Device::Cpu).expect("weights");
    edit(&mut w);
    candle_core::safetensors::save(&w, &p).expect("save");
}

fn load_err(path: &Path) -> String {
    LlamaModel::load(path, &LlamaLoadOptions::default())
        .expect_err("should fail")
        .to_string()
}

#[test]
fn a_missing_tensor_is_named_with_its_file() {
    let dir = tempfile::tempdir().expect("tmp");
    copy_fixture(dir.path());
    rewrite_weights(dir.path(), |w| {
        w.remove("model.layers.1.mlp.up_proj.weight");
    });
    let err = load_err(dir.path());
    assert!(
        err.contains("model.layers.1.mlp.up_proj.weight") && err.contains("model.safetensors"),
        "{err}"
    );
}

#[test]
fn a_misshaped_tensor_is_named_with_both_shapes() {
    let dir = tempfile::tempdir().expect("tmp");
    copy_fixture(dir.path());
    rewrite_weights(dir.path(), |w| {
        w.insert(
            "model.layers.0.self_attn.k_proj.weight".into(),
            Tensor::zeros((8, 32), DType::F32, &Device::Cpu).expect("t"),
        );
    });
    let err = load_err(dir.path());
    assert!(
        err.contains("k_proj.weight") && err.contains("[16, 32]") && err.contains("[8, 32]"),
        "{err}"
    );
}

#[test]
fn a_truncated_safetensors_file_is_named_and_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    copy_fixture(dir.path());
    let p = dir.path().join("model.safetensors");
    let bytes = std::fs::read(&p).expect("read");
    std::fs::write(&p, &bytes[..bytes.len() / 2]).expect("write");
    let err = load_err(dir.path());
    assert!(
        err.contains("model.safetensors") && err.contains("truncated"),
        "{err}"
    );
}

#[test]
fn an_unknown_architecture_is_refused_by_name() {
    let dir = tempfile::tempdir().expect("tmp");
    copy_fixture(dir.path());
    let p = dir.path().join("config.json");
    let text = std::fs::read_to_string(&p)
        .expect("read")
        .replace("\"model_type\": \"llama\"", "\"model_type\": \"gpt_neox\"");
    std::fs::write(&p, text).expect("write");
    let err = load_err(dir.path());
    assert!(
        err.contains("gpt_neox") && err.contains("config.json"),
        "{err}"
    );
}

#[test]
fn a_pickle_checkpoint_is_refused_with_a_reason() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::copy(
        fixture("tiny-llama").join("config.json"),
        dir.path().join("config.json"),
    )
    .expect("copy");
    std::fs::write(dir.path().join("pytorch_model.bin"), b"\x80\x02pickle").expect("write");
    let err = load_err(dir.path());
    assert!(
        err.contains("pickle") && err.contains("safetensors"),
        "{err}"
    );
}

#[test]
fn a_truncated_gguf_file_is_named_and_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = write_tiny_gguf(dir.path());
    let bytes = std::fs::read(&path).expect("read");
    std::fs::write(&path, &bytes[..bytes.len() - 4096]).expect("write");
    let err = load_err(&path);
    assert!(
        err.contains("tiny-llama.gguf") && err.contains("truncated"),
        "{err}"
    );
}

// ------------------------------------------------------------------------------------------------
// Generation on the tiny Llama with its tokenizer.json.

fn tiny_chat() -> (LlamaModel, tokenizers::Tokenizer, Vec<u32>) {
    let model = load("tiny-llama", Backbone::Frozen, DType::F32);
    let tok = tokenizers::Tokenizer::from_file(fixture("tiny-llama").join("tokenizer.json"))
        .expect("tokenizer");
    let prompt = tok
        .encode(
            "<|im_start|>user\ncapital of france?<|im_end|>\n<|im_start|>assistant\n",
            false,
        )
        .expect("enc");
    (model, tok, prompt.get_ids().to_vec())
}

#[test]
fn greedy_generation_with_the_kv_cache_equals_argmax_over_full_forwards() -> TestResult {
    let (model, tok, prompt) = tiny_chat();
    let cfg = GenerateConfig {
        max_new_tokens: 12,
        ..Default::default()
    };
    let out = generate(&model, &tok, &prompt, &cfg, None, &mut |_| {})?;
    assert_eq!(out.tokens.len(), 12);
    assert_eq!(out.stop, StopReason::MaxTokens);
    let mut ids = prompt.clone();
    for &t in &out.tokens {
        let input = Tensor::new(ids.as_slice(), &Device::Cpu)?.unsqueeze(0)?;
        let logits = model.forward(&input, None)?.squeeze(0)?;
        let last: Vec<f32> = logits.get(ids.len() - 1)?.to_vec1()?;
        assert_eq!(tunesmith_engine::generate::sampling::argmax(&last), t);
        ids.push(t);
    }
    let again = generate(&model, &tok, &prompt, &cfg, None, &mut |_| {})?;
    assert_eq!(again.tokens, out.tokens, "greedy decoding is deterministic");
    Ok(())
}

#[test]
fn seeded_sampling_is_reproducible_and_streams_the_whole_text() -> TestResult {
    let (model, tok, prompt) = tiny_chat();
    let sampling = |seed| SamplingConfig {
        temperature: 1.0,
        top_k: Some(50),
        top_p: Some(0.95),
        repetition_penalty: 1.1,
        seed,
    };
    let run = |seed| {
        let cfg = GenerateConfig {
            max_new_tokens: 16,
            sampling: sampling(seed),
            stop_ids: vec![],
        };
        let mut streamed = String::new();
        let out = generate(&model, &tok, &prompt, &cfg, None, &mut |d| {
            streamed.push_str(d)
        })
        .expect("generate");
        assert_eq!(streamed, out.text, "the deltas add up to the answer");
        out.tokens
    };
    assert_eq!(run(3), run(3));
    assert_ne!(run(3), run(4));
    Ok(())
}

#[test]
fn generation_stops_on_a_stop_token_and_leaves_it_out() -> TestResult {
    let (model, tok, prompt) = tiny_chat();
    let free = generate(
        &model,
        &tok,
        &prompt,
        &GenerateConfig {
            max_new_tokens: 6,
            ..Default::default()
        },
        None,
        &mut |_| {},
    )?;
    let stop_at = free.tokens[3];
    let first = free
        .tokens
        .iter()
        .position(|&t| t == stop_at)
        .expect("present");
    let cfg = GenerateConfig {
        max_new_tokens: 6,
        stop_ids: vec![stop_at],
        ..Default::default()
    };
    let out = generate(&model, &tok, &prompt, &cfg, None, &mut |_| {})?;
    assert_eq!(out.stop, StopReason::StopToken(stop_at));
    assert_eq!(out.tokens, free.tokens[..first].to_vec());
    Ok(())
}

#[test]
fn cancelling_stops_generation_before_the_next_token() -> TestResult {
    let (model, tok, prompt) = tiny_chat();
    let cancel = CancelHandle::new();
    let c = cancel.clone();
    let cfg = GenerateConfig {
        max_new_tokens: 50,
        ..Default::default()
    };
    let mut deltas = 0;
    let out = generate(&model, &tok, &prompt, &cfg, Some(&cancel), &mut |_| {
        deltas += 1;
        c.cancel();
    })?;
    assert_eq!(out.stop, StopReason::Cancelled);
    assert!(out.tokens.len() < 50 && !out.tokens.is_empty());
    Ok(())
}

#[test]
fn looking_ahead_gives_the_same_answers_stops_and_deltas() -> TestResult {
    let (model, tok, prompt) = tiny_chat();
    let free = generate(
        &model,
        &tok,
        &prompt,
        &GenerateConfig {
            max_new_tokens: 8,
            ..Default::default()
        },
        None,
        &mut |_| {},
    )?;
    let sampled = SamplingConfig {
        temperature: 0.9,
        top_k: Some(40),
        top_p: Some(0.9),
        repetition_penalty: 1.2,
        seed: 11,
    };
    let configs = [
        GenerateConfig {
            max_new_tokens: 8,
            ..Default::default()
        },
        GenerateConfig {
            max_new_tokens: 8,
            stop_ids: vec![free.tokens[4]],
            ..Default::default()
        },
        GenerateConfig {
            max_new_tokens: 10,
            sampling: sampled,
            stop_ids: vec![],
        },
    ];
    for cfg in &configs {
        let run = |lookahead| {
            let mut deltas = Vec::new();
            let out = generate_with_lookahead(
                &model,
                &tok,
                &prompt,
                cfg,
                None,
                &mut |d| deltas.push(d.to_string()),
                lookahead,
            )
            .expect("generate");
            (out.tokens, out.text, out.stop, deltas)
        };
        assert_eq!(run(true), run(false), "{cfg:?}");
    }
    Ok(())
}

#[test]
fn cached_logits_equal_full_forward_logits_while_the_cache_grows() -> TestResult {
    let (model, _, prompt) = tiny_chat();
    // No reservation: the first buffers hold the prompt alone, so the first token grows them.
    let mut cache = model.new_cache();
    let input = Tensor::new(prompt.as_slice(), &Device::Cpu)?.unsqueeze(0)?;
    let mut logits = model.forward_cached(&input, &mut cache)?;
    let mut ids = prompt.clone();
    for step in 0..6u32 {
        let full = model
            .forward(&Tensor::new(ids.as_slice(), &Device::Cpu)?.unsqueeze(0)?, None)?
            .squeeze(0)?
            .get(ids.len() - 1)?;
        let diff = (&logits - &full)?.abs()?.max_all()?.to_scalar::<f32>()?;
        assert!(diff < 1e-4, "step {step}: {diff}");
        let next = (step * 7 + 3) % 50;
        ids.push(next);
        logits = model.forward_cached(&Tensor::new(&[[next]], &Device::Cpu)?, &mut cache)?;
    }
    assert_eq!(cache.len(), ids.len());
    Ok(())
}
