//! The BERT-family encoders, LoRA and PEFT adapters against the reference numbers transformers and
//! PEFT computed for the committed tiny checkpoints (tests/fixtures, see its README), against finite
//! differences, and (when fetched) against the real all-MiniLM-L6-v2.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::VarMap;
use tunesmith_engine::adapters::lora::LoraConfig;
use tunesmith_engine::adapters::peft::{self, PeftAdapter};
use tunesmith_engine::models::bert::{
    self, BertConfig, BertModel, ClassifierOptions, Pooling, SequenceClassifier,
};
use tunesmith_engine::models::checkpoint::Checkpoint;
use tunesmith_engine::nn::params::{Backbone, LoraSetup, Params};
use tunesmith_engine::tokenizer::TextTokenizer;
use tunesmith_testkit::assert_close;
use tunesmith_testkit::paths::{fixtures_dir, real_model};

type R<T = ()> = Result<T, Box<dyn std::error::Error>>;

fn fixture(name: &str) -> PathBuf {
    fixtures_dir().join(name)
}

fn reference(dir: &Path, file: &str) -> R<HashMap<String, Tensor>> {
    Ok(candle_core::safetensors::load(
        dir.join(file),
        &Device::Cpu,
    )?)
}

fn v(t: &Tensor) -> R<Vec<f32>> {
    Ok(t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?)
}

/// Rows' values at unpadded positions only (transformers' values at padded positions are not
/// meaningful).
fn unpadded(hidden: &Tensor, mask: &Tensor) -> R<Vec<f32>> {
    let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
    v(&hidden.to_dtype(DType::F32)?.broadcast_mul(&m)?)
}

struct Loaded {
    model: SequenceClassifier,
    trainable: VarMap,
}

fn load(name: &str, dtype: DType, backbone: Backbone, adapter: Option<&PeftAdapter>) -> R<Loaded> {
    let dir = fixture(name);
    let cfg = BertConfig::from_file(&dir.join("config.json"))?;
    let trainable = VarMap::new();
    let mut p = Checkpoint::open(&dir)?.params(dtype, &Device::Cpu, trainable.clone(), backbone)?;
    if let Some(a) = adapter {
        p = p.with_overrides(a.saved.clone());
    }
    let opts = ClassifierOptions {
        num_labels: cfg.num_labels().unwrap_or(2),
        pooling: None,
        multi_label: false,
    };
    Ok(Loaded {
        model: SequenceClassifier::load(&p, &cfg, &opts)?,
        trainable,
    })
}

fn var(trainable: &VarMap, name: &str) -> R<Var> {
    let data = trainable.data().lock().map_err(|_| "poisoned")?;
    Ok(data
        .get(name)
        .cloned()
        .ok_or_else(|| format!("no trainable `{name}`"))?)
}

fn loss_of(m: &SequenceClassifier, r: &HashMap<String, Tensor>) -> R<Tensor> {
    let logits = m.forward_t(&r["input_ids"], &r["attention_mask"], false)?;
    Ok(m.loss(&logits, &r["labels"])?)
}

/// Central finite differences at the `k` entries with the largest analytic gradient, in f64.
fn check_finite_differences(
    m: &SequenceClassifier,
    r: &HashMap<String, Tensor>,
    var: &Var,
    grad: &Tensor,
    k: usize,
) -> R {
    let g = grad.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?;
    let mut idx: Vec<usize> = (0..g.len()).collect();
    idx.sort_by(|&a, &b| g[b].abs().total_cmp(&g[a].abs()));
    let original = var.as_tensor().flatten_all()?.to_vec1::<f64>()?;
    let shape = var.as_tensor().shape().clone();
    let eps = 1e-5;
    for &i in idx.iter().take(k) {
        let mut plus = original.clone();
        plus[i] += eps;
        var.set(&Tensor::from_vec(plus, shape.clone(), &Device::Cpu)?)?;
        let lp = loss_of(m, r)?.to_scalar::<f64>()?;
        let mut minus = original.clone();
        minus[i] -= eps;
        var.set(&Tensor::from_vec(minus, shape.clone(), &Device::Cpu)?)?;
        let lm = loss_of(m, r)?.to_scalar::<f64>()?;
        let fd = (lp - lm) / (2.0 * eps);
        assert!(
            (fd - g[i]).abs() <= 1e-6 + 1e-4 * g[i].abs(),
            "entry {i}: finite difference {fd} vs backward {}",
            g[i]
        );
    }
    var.set(&Tensor::from_vec(original, shape, &Device::Cpu)?)?;
    Ok(())
}

#[test]
fn tiny_bert_hidden_states_logits_and_loss_match_transformers() -> R {
    let r = reference(&fixture("tiny-bert"), "reference.safetensors")?;
    let l = load("tiny-bert", DType::F32, Backbone::Frozen, None)?;
    assert_eq!(l.model.pooling(), Pooling::Pooler);
    let (ids, mask) = (&r["input_ids"], &r["attention_mask"]);
    let hidden = l.model.encoder().forward_t(ids, mask, None, false)?;
    assert_close(
        &unpadded(&hidden, mask)?,
        &unpadded(&r["last_hidden_state"], mask)?,
        1e-4,
        0.0,
    );
    let logits = l.model.forward_t(ids, mask, false)?;
    assert_close(&v(&logits)?, &v(&r["logits"])?, 1e-4, 0.0);
    assert_close(
        &v(&l.model.loss(&logits, &r["labels"])?)?,
        &v(&r["loss"])?,
        1e-4,
        0.0,
    );
    let pooled = tunesmith_engine::nn::ops::mean_pool(&hidden, mask)?;
    assert_close(&v(&pooled)?, &v(&r["mean_pooled"])?, 1e-4, 0.0);
    let emb = bert::sentence_embedding(l.model.encoder(), ids, mask)?;
    assert_close(&v(&emb)?, &v(&r["normalized_mean_pooled"])?, 1e-4, 0.0);
    assert!(
        l.trainable.all_vars().len() == 2,
        "a frozen classifier trains only its head"
    );
    Ok(())
}

#[test]
fn a_padded_row_gives_the_same_logits_as_the_row_alone() -> R {
    let r = reference(&fixture("tiny-bert"), "reference.safetensors")?;
    let l = load("tiny-bert", DType::F32, Backbone::Frozen, None)?;
    let len = r["attention_mask"]
        .get(0)?
        .sum_all()?
        .to_dtype(DType::F32)?
        .to_scalar::<f32>()? as usize;
    let alone_ids = r["input_ids"].narrow(0, 0, 1)?.narrow(1, 0, len)?;
    let alone = l
        .model
        .forward_t(&alone_ids, &alone_ids.ones_like()?, false)?;
    let batch = l
        .model
        .forward_t(&r["input_ids"], &r["attention_mask"], false)?;
    assert_close(&v(&alone)?, &v(&batch.narrow(0, 0, 1)?)?, 1e-5, 0.0);
    Ok(())
}

#[test]
fn distilbert_and_roberta_layouts_match_transformers() -> R {
    for name in ["tiny-distilbert", "tiny-roberta"] {
        let r = reference(&fixture(name), "reference.safetensors")?;
        let l = load(name, DType::F32, Backbone::Full, None)?;
        let (ids, mask) = (&r["input_ids"], &r["attention_mask"]);
        let hidden = l.model.encoder().forward_t(ids, mask, None, false)?;
        assert_close(
            &unpadded(&hidden, mask)?,
            &unpadded(&r["last_hidden_state"], mask)?,
            1e-4,
            0.0,
        );
        let logits = l.model.forward_t(ids, mask, false)?;
        assert_close(&v(&logits)?, &v(&r["logits"])?, 1e-4, 0.0);
        let loss = l.model.loss(&logits, &r["labels"])?;
        assert_close(&v(&loss)?, &v(&r["loss"])?, 1e-4, 0.0);
        let grads = loss.backward()?;
        let emb = format!(
            "{}.embeddings.word_embeddings.weight",
            l.model.encoder().prefix()
        );
        let g = grads
            .get(var(&l.trainable, &emb)?.as_tensor())
            .ok_or("no embedding gradient")?;
        assert_close(&v(g)?, &v(&r[&format!("grad.{emb}")])?, 1e-5, 1e-3);
    }
    Ok(())
}

#[test]
fn full_fine_tuning_gradients_match_transformers_and_finite_differences() -> R {
    let r = reference(&fixture("tiny-bert"), "reference.safetensors")?;
    let l = load("tiny-bert", DType::F32, Backbone::Full, None)?;
    let grads = loss_of(&l.model, &r)?.backward()?;
    let names = [
        "bert.embeddings.word_embeddings.weight",
        "bert.encoder.layer.0.attention.self.query.weight",
        "bert.encoder.layer.1.output.LayerNorm.weight",
        "bert.pooler.dense.weight",
        "classifier.weight",
        "classifier.bias",
    ];
    for name in names {
        let g = grads
            .get(var(&l.trainable, name)?.as_tensor())
            .ok_or_else(|| format!("no gradient for {name}"))?;
        assert_close(&v(g)?, &v(&r[&format!("grad.{name}")])?, 1e-5, 1e-3);
    }
    // Every parameter of the checkpoint trains under full fine-tuning.
    let n_vars = l.trainable.all_vars().len();
    let with_grad = l
        .trainable
        .all_vars()
        .iter()
        .filter(|v| grads.get(v.as_tensor()).is_some())
        .count();
    assert_eq!(
        with_grad, n_vars,
        "only {with_grad} of {n_vars} parameters get a gradient"
    );

    let l64 = load("tiny-bert", DType::F64, Backbone::Full, None)?;
    let grads = loss_of(&l64.model, &r)?.backward()?;
    for name in names {
        let var = var(&l64.trainable, name)?;
        let g = grads.get(var.as_tensor()).ok_or("no gradient")?.clone();
        check_finite_differences(&l64.model, &r, &var, &g, 3)?;
    }
    Ok(())
}

#[test]
fn the_peft_fixture_adapter_reproduces_peft_outputs_and_gradients() -> R {
    let dir = fixture("tiny-bert");
    let r = reference(&dir, "reference.safetensors")?;
    let rl = reference(&dir, "reference_lora.safetensors")?;
    let adapter = PeftAdapter::load(&dir.join("lora-adapter"), &Device::Cpu)?;
    assert_eq!(adapter.task_type.as_deref(), Some("SEQ_CLS"));
    assert_eq!(
        adapter.factors.len(),
        13,
        "2 layers x 6 linears + the pooler"
    );
    let l = load("tiny-bert", DType::F32, adapter.backbone(), Some(&adapter))?;
    let (ids, mask) = (&r["input_ids"], &r["attention_mask"]);
    let hidden = l.model.encoder().forward_t(ids, mask, None, false)?;
    assert_close(
        &unpadded(&hidden, mask)?,
        &unpadded(&rl["last_hidden_state"], mask)?,
        1e-4,
        0.0,
    );
    let logits = l.model.forward_t(ids, mask, false)?;
    assert_close(&v(&logits)?, &v(&rl["logits"])?, 1e-4, 0.0);
    let loss = l.model.loss(&logits, &r["labels"])?;
    assert_close(&v(&loss)?, &v(&rl["loss"])?, 1e-4, 0.0);
    let grads = loss.backward()?;
    for module in [
        "bert.encoder.layer.0.attention.self.query",
        "bert.encoder.layer.1.output.dense",
    ] {
        for ab in ["lora_A", "lora_B"] {
            let name = format!("{module}.{ab}.weight");
            let g = grads
                .get(var(&l.trainable, &name)?.as_tensor())
                .ok_or_else(|| format!("no gradient for {name}"))?;
            assert_close(&v(g)?, &v(&rl[&format!("grad.{name}")])?, 1e-5, 1e-3);
        }
    }
    let g = grads
        .get(var(&l.trainable, "classifier.weight")?.as_tensor())
        .ok_or("no head gradient")?;
    assert_close(&v(g)?, &v(&rl["grad.classifier.weight"])?, 1e-5, 1e-3);
    // Under LoRA only the factors and the head train: 13 x 2 factors + weight and bias.
    assert_eq!(l.trainable.all_vars().len(), 28);

    let l64 = load("tiny-bert", DType::F64, adapter.backbone(), Some(&adapter))?;
    let grads = loss_of(&l64.model, &r)?.backward()?;
    for name in [
        "bert.encoder.layer.0.attention.self.query.lora_A.weight",
        "bert.encoder.layer.1.output.dense.lora_B.weight",
    ] {
        let var = var(&l64.trainable, name)?;
        let g = grads.get(var.as_tensor()).ok_or("no gradient")?.clone();
        check_finite_differences(&l64.model, &r, &var, &g, 3)?;
    }
    Ok(())
}

#[test]
fn merging_the_adapter_gives_the_same_outputs_as_base_plus_adapter() -> R {
    let dir = fixture("tiny-bert");
    let r = reference(&dir, "reference.safetensors")?;
    let rl = reference(&dir, "reference_lora.safetensors")?;
    let adapter = PeftAdapter::load(&dir.join("lora-adapter"), &Device::Cpu)?;
    let l = load("tiny-bert", DType::F32, adapter.backbone(), Some(&adapter))?;
    let merged = l.model.merged()?;
    assert!(merged
        .encoder()
        .linears()
        .iter()
        .all(|x| x.lora().is_none()));
    let logits = merged.forward_t(&r["input_ids"], &r["attention_mask"], false)?;
    assert_close(&v(&logits)?, &v(&rl["logits"])?, 1e-4, 0.0);
    Ok(())
}

#[test]
fn a_saved_adapter_has_peft_names_and_loads_back_to_the_same_outputs() -> R {
    let dir = fixture("tiny-bert");
    let r = reference(&dir, "reference.safetensors")?;
    let adapter = PeftAdapter::load(&dir.join("lora-adapter"), &Device::Cpu)?;
    let l = load("tiny-bert", DType::F32, adapter.backbone(), Some(&adapter))?;
    let before = l
        .model
        .forward_t(&r["input_ids"], &r["attention_mask"], false)?;
    let out = tempfile::tempdir()?;
    let opts = peft::SaveOptions {
        base_model_name_or_path: "tiny-bert".into(),
        task_type: Some("SEQ_CLS".into()),
        modules_to_save: vec!["classifier".into()],
    };
    peft::save(out.path(), &adapter.config, &l.trainable, &opts)?;
    // Same file names and tensor names and shapes as PEFT's own save of the same adapter.
    let ours = candle_core::safetensors::load(out.path().join(peft::WEIGHTS_FILE), &Device::Cpu)?;
    let theirs = candle_core::safetensors::load(
        dir.join("lora-adapter").join(peft::WEIGHTS_FILE),
        &Device::Cpu,
    )?;
    let mut a: Vec<_> = ours
        .iter()
        .map(|(k, t)| (k.clone(), t.dims().to_vec()))
        .collect();
    let mut b: Vec<_> = theirs
        .iter()
        .map(|(k, t)| (k.clone(), t.dims().to_vec()))
        .collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
    let cfg: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
        out.path().join(peft::CONFIG_FILE),
    )?)?;
    assert_eq!(cfg["peft_type"], "LORA");
    assert_eq!(cfg["r"], 4);
    assert_eq!(cfg["task_type"], "SEQ_CLS");

    let back = PeftAdapter::load(out.path(), &Device::Cpu)?;
    let l2 = load("tiny-bert", DType::F32, back.backbone(), Some(&back))?;
    let after = l2
        .model
        .forward_t(&r["input_ids"], &r["attention_mask"], false)?;
    assert_close(&v(&after)?, &v(&before)?, 1e-6, 0.0);
    Ok(())
}

#[test]
fn a_fresh_lora_adapter_leaves_outputs_unchanged_and_trains_only_factors_and_head() -> R {
    let r = reference(&fixture("tiny-bert"), "reference.safetensors")?;
    let setup = LoraSetup {
        config: LoraConfig {
            r: 2,
            alpha: 4.0,
            dropout: 0.1,
            ..Default::default()
        },
        ..Default::default()
    };
    let l = load("tiny-bert", DType::F32, Backbone::Lora(setup), None)?;
    let logits = l
        .model
        .forward_t(&r["input_ids"], &r["attention_mask"], false)?;
    assert_close(&v(&logits)?, &v(&r["logits"])?, 1e-4, 0.0);
    let grads = l
        .model
        .loss(
            &l.model
                .forward_t(&r["input_ids"], &r["attention_mask"], true)?,
            &r["labels"],
        )?
        .backward()?;
    let data = l.trainable.data().lock().map_err(|_| "poisoned")?;
    assert!(
        data.keys()
            .all(|k| k.contains(".lora_") || k.starts_with("classifier.")),
        "{:?}",
        data.keys()
    );
    // B starts at zero, so A's gradient is zero at first; B's is not.
    let b = &data["bert.encoder.layer.0.attention.self.query.lora_B.weight"];
    let gb = grads.get(b.as_tensor()).ok_or("no gradient for B")?;
    assert!(gb.abs()?.sum_all()?.to_scalar::<f32>()? > 0.0);
    Ok(())
}

#[test]
fn multi_label_loss_is_binary_cross_entropy() -> R {
    let logits = Tensor::new(&[[0f32, 2.0], [-1.0, 0.5]], &Device::Cpu)?;
    let targets = Tensor::new(&[[1f32, 0.0], [0.0, 1.0]], &Device::Cpu)?;
    let got = bert::bce_with_logits(&logits, &targets)?.to_scalar::<f32>()?;
    let sig = |x: f32| 1.0 / (1.0 + (-x).exp());
    let expected =
        -((sig(0.0)).ln() + (1.0 - sig(2.0)).ln() + (1.0 - sig(-1.0)).ln() + sig(0.5).ln()) / 4.0;
    assert!((got - expected).abs() < 1e-6, "{got} vs {expected}");
    Ok(())
}

fn copy_fixture(name: &str) -> R<tempfile::TempDir> {
    let out = tempfile::tempdir()?;
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(fixture(name).join(f), out.path().join(f))?;
    }
    Ok(out)
}

fn edit_config(dir: &Path, key: &str, value: serde_json::Value) -> R {
    let p = dir.join("config.json");
    let mut cfg: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&p)?)?;
    cfg[key] = value;
    std::fs::write(&p, serde_json::to_string(&cfg)?)?;
    Ok(())
}

fn load_error(dir: &Path) -> String {
    let run = || -> tunesmith_engine::Result<BertModel> {
        let cfg = BertConfig::from_file(&dir.join("config.json"))?;
        let p: Params = Checkpoint::open(dir)?.params(
            DType::F32,
            &Device::Cpu,
            VarMap::new(),
            Backbone::Frozen,
        )?;
        BertModel::load(&p, &cfg)
    };
    match run() {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_config_with_more_layers_than_the_weights_names_the_missing_tensor_and_file() -> R {
    let dir = copy_fixture("tiny-bert")?;
    edit_config(dir.path(), "num_hidden_layers", 3.into())?;
    let err = load_error(dir.path());
    assert!(
        err.contains("bert.encoder.layer.2.attention.self.query.weight")
            && err.contains("model.safetensors"),
        "{err}"
    );
    Ok(())
}

#[test]
fn a_config_that_does_not_match_the_weights_names_the_tensor_and_both_shapes() -> R {
    let dir = copy_fixture("tiny-bert")?;
    let vocab = BertConfig::from_file(&dir.path().join("config.json"))?.vocab_size;
    edit_config(dir.path(), "vocab_size", (vocab + 1).into())?;
    let err = load_error(dir.path());
    let (found, expected) = (format!("[{vocab}, 32]"), format!("[{}, 32]", vocab + 1));
    assert!(
        err.contains("word_embeddings") && err.contains(&found) && err.contains(&expected),
        "{err}"
    );
    Ok(())
}

#[test]
fn an_unknown_architecture_is_refused_by_name() -> R {
    let dir = copy_fixture("tiny-bert")?;
    edit_config(dir.path(), "model_type", "t5".into())?;
    let err = load_error(dir.path());
    assert!(err.contains("t5") && err.contains("config.json"), "{err}");
    Ok(())
}

#[test]
fn the_tokenizer_pads_a_batch_and_masks_the_padding() -> R {
    let tok = TextTokenizer::from_dir(&fixture("tiny-bert"))?;
    let b = tok.encode_batch(&["the film was a delight", "a"], 64, &Device::Cpu)?;
    let r = reference(&fixture("tiny-bert"), "reference.safetensors")?;
    let first: Vec<u32> = b.input_ids.get(0)?.to_vec1()?;
    let want: Vec<u32> = r["input_ids"].get(0)?.to_dtype(DType::U32)?.to_vec1()?;
    assert_eq!(first, want[..first.len()].to_vec());
    assert_eq!(b.lengths[1], 3, "[CLS] a [SEP]");
    assert_eq!(
        b.attention_mask
            .get(1)?
            .to_vec1::<u32>()?
            .iter()
            .sum::<u32>(),
        3
    );
    let short = tok.encode_batch(&["the film was a delight"], 4, &Device::Cpu)?;
    assert_eq!(short.lengths[0], 4);
    Ok(())
}

#[test]
fn real_minilm_sentence_embedding_matches_sentence_transformers() -> R {
    let Some(dir) = real_model("all-MiniLM-L6-v2") else {
        return Ok(());
    };
    let cfg = BertConfig::from_file(&dir.join("config.json"))?;
    let p = Checkpoint::open(&dir)?.params(
        DType::F32,
        &Device::Cpu,
        VarMap::new(),
        Backbone::Frozen,
    )?;
    let model = BertModel::load(&p, &cfg)?;
    assert_eq!(
        model.prefix(),
        "",
        "sentence-transformers exports BertModel without `bert.`"
    );
    let tok = TextTokenizer::from_dir(&dir)?;
    let b = tok.encode_batch(
        &["This is an example sentence", "Each sentence is converted"],
        128,
        &Device::Cpu,
    )?;
    let emb = bert::sentence_embedding(&model, &b.input_ids, &b.attention_mask)?;
    let first: Vec<f32> = emb.get(0)?.narrow(0, 0, 5)?.to_vec1()?;
    assert_close(
        &first,
        &[0.06766, 0.06350, 0.04871, 0.07930, 0.03745],
        1e-4,
        0.0,
    );
    Ok(())
}

/// The head that replaces a checkpoint head of another size (tiny BERT's 3 labels, 5 wanted), as
/// drawn with `seed`.
fn replaced_head(seed: u64) -> R<Vec<f32>> {
    let dir = fixture("tiny-bert");
    let cfg = BertConfig::from_file(&dir.join("config.json"))?;
    let trainable = VarMap::new();
    let p = Checkpoint::open(&dir)?
        .params(
            DType::F32,
            &Device::Cpu,
            trainable.clone(),
            Backbone::Frozen,
        )?
        .with_seed(seed);
    let opts = ClassifierOptions {
        num_labels: 5,
        pooling: None,
        multi_label: false,
    };
    SequenceClassifier::load(&p, &cfg, &opts)?;
    let w = var(&trainable, "classifier.weight")?;
    assert_eq!(w.dims(), [5, cfg.hidden_size]);
    v(w.as_tensor())
}

#[test]
fn a_head_of_another_size_is_replaced_by_one_drawn_from_the_run_seed() -> R<()> {
    let first = replaced_head(3)?;
    assert_eq!(
        first,
        replaced_head(3)?,
        "the same seed draws the same head"
    );
    assert_ne!(first, replaced_head(4)?, "another seed draws another head");
    Ok(())
}
