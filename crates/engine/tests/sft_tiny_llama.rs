//! Supervised fine-tuning on the tiny Llama fixture: LoRA and QLoRA lower the training loss on a
//! small prompt/response set rendered with the fixture's ChatML template, prompt tokens never count
//! in the loss, and a saved PEFT adapter loads back with identical outputs.

use std::path::PathBuf;

use candle_core::{DType, Device, Tensor};
use tunesmith_engine::adapters::lora::LoraConfig;
use tunesmith_engine::adapters::peft::PeftAdapter;
use tunesmith_engine::models::llama::{causal_lm_loss, LlamaLoadOptions, LlamaModel};
use tunesmith_engine::nn::params::{Backbone, LoraSetup};
use tunesmith_engine::nn::quantized::QuantPolicy;
use tunesmith_engine::task::{SftExample, SftTask};
use tunesmith_engine::tokenizer::TextTokenizer;
use tunesmith_engine::train::loss::IGNORE_INDEX;
use tunesmith_engine::train::{
    train, EarlyStopping, Rng, TrainConfig, TrainEvent, TrainOptions, TrainTask,
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn tiny_llama() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tiny-llama")
}

/// The fixture's ChatML template, written out (the engine does not render Jinja; the data crate does).
fn chatml(prompt: &str, response: Option<&str>) -> String {
    let mut s = format!("<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n");
    if let Some(r) = response {
        s.push_str(&format!("{r}<|im_end|>\n"));
    }
    s
}

fn examples(tok: &TextTokenizer) -> Vec<SftExample> {
    let facts = [
        ("code for alpha", "blue bird"),
        ("code for beta", "red fox"),
        ("code for gamma", "green owl"),
        ("code for delta", "gold fish"),
    ];
    (0..16)
        .map(|i| {
            let (p, r) = facts[i % facts.len()];
            let prompt = tok.encode(&chatml(p, None), false).unwrap();
            let full = tok.encode(&chatml(p, Some(r)), false).unwrap();
            SftExample::new(&prompt, &full, 64).unwrap()
        })
        .collect()
}

fn lora_config() -> LoraConfig {
    LoraConfig {
        r: 8,
        alpha: 16.0,
        dropout: 0.0,
        target_modules: Vec::new(),
        use_rslora: false,
    }
}

fn load(backbone: Backbone, quantize: Option<QuantPolicy>) -> LlamaModel {
    let opts = LlamaLoadOptions {
        backbone,
        quantize,
        dtype: DType::F32,
        device: Device::Cpu,
        seed: 0,
    };
    LlamaModel::load(&tiny_llama(), &opts)
        .expect("the fixture loads")
        .model
}

fn lora_backbone() -> Backbone {
    Backbone::Lora(LoraSetup {
        config: lora_config(),
        initial: Default::default(),
    })
}

/// Trains `task` for a few epochs; returns the mean of the first and last three step losses.
///
/// The fixture's random weights (std 0.02) and its frozen 32-wide `lm_head` bound the logits to
/// well under 1, so even a perfect adapter cannot take the loss far below ln(320) = 5.77; a fall of
/// 0.2 nats in 32 steps is a clear signal against step-to-step noise of a few hundredths.
fn fit(task: &mut SftTask, train_set: &[SftExample], lr: f64) -> (f64, f64) {
    let config = TrainConfig {
        epochs: 8,
        batch_size: 4,
        lr,
        warmup_ratio: 0.0,
        early_stopping: EarlyStopping {
            patience: None,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut losses = vec![];
    train(
        task,
        train_set,
        &[],
        &config,
        &TrainOptions::default(),
        &mut |e| {
            if let TrainEvent::Step { loss, .. } = e {
                losses.push(*loss)
            }
        },
    )
    .expect("training runs");
    let first = losses[..3].iter().sum::<f64>() / 3.0;
    let last = losses[losses.len() - 3..].iter().sum::<f64>() / 3.0;
    (first, last)
}

#[test]
fn the_prompt_tokens_of_a_chat_example_get_no_loss() -> TestResult {
    let tok = TextTokenizer::from_dir(&tiny_llama())?;
    let e = &examples(&tok)[0];
    let prompt = tok.encode(&chatml("code for alpha", None), false)?;
    assert!(e.labels[..prompt.len()].iter().all(|&l| l == IGNORE_INDEX));
    let response = &e.labels[prompt.len()..];
    assert!(!response.is_empty());
    assert!(response.iter().all(|&l| l != IGNORE_INDEX));
    let learned: Vec<u32> = response.iter().map(|&l| l as u32).collect();
    assert_eq!(tok.decode(&learned, false)?, "blue bird<|im_end|>\n");

    // The task's loss is the decoder's own masked next-token loss over the response only, and
    // differs from the loss over every token.
    let mut task = SftTask::new(load(Backbone::Frozen, None), tok.pad_id());
    let mut rng = Rng::new(0);
    let ours = task.loss(&[e], &mut rng)?;
    assert_eq!(ours.units, e.response_tokens());
    let ids = Tensor::new(e.ids.as_slice(), &Device::Cpu)?.unsqueeze(0)?;
    let logits = task.model().forward(&ids, None)?;
    let masked = Tensor::new(e.labels.as_slice(), &Device::Cpu)?.unsqueeze(0)?;
    let reference = causal_lm_loss(&logits, &masked)?.to_scalar::<f32>()?;
    let ours = ours.loss.to_scalar::<f32>()?;
    assert!((ours - reference).abs() < 1e-5, "{ours} vs {reference}");
    let unmasked: Vec<i64> = e.ids.iter().map(|&t| t as i64).collect();
    let unmasked = Tensor::new(unmasked.as_slice(), &Device::Cpu)?.unsqueeze(0)?;
    let every = causal_lm_loss(&logits, &unmasked)?.to_scalar::<f32>()?;
    assert!((ours - every).abs() > 1e-4, "masking changed nothing");
    Ok(())
}

#[test]
fn padding_does_not_change_an_examples_loss() -> TestResult {
    let tok = TextTokenizer::from_dir(&tiny_llama())?;
    let ex = examples(&tok);
    let mut task = SftTask::new(load(Backbone::Frozen, None), tok.pad_id());
    let mut rng = Rng::new(0);
    // Example 1 alone, and batched with a longer example that forces padding on it.
    let mut long = ex[0].clone();
    long.ids.extend([5, 6, 7, 8, 9]);
    long.labels.extend([5, 6, 7, 8, 9]);
    let alone = task.report(&ex[1..2])?;
    let alone_long = task.report(std::slice::from_ref(&long))?;
    let both = task.report(&[ex[1].clone(), long.clone()])?;
    let expected = (alone.loss * alone.tokens as f64 + alone_long.loss * alone_long.tokens as f64)
        / (alone.tokens + alone_long.tokens) as f64;
    assert!(
        (both.loss - expected).abs() < 1e-5,
        "batched {} vs separate {expected}",
        both.loss
    );
    let _ = task.loss(&[&ex[1], &long], &mut rng)?;
    Ok(())
}

#[test]
fn lora_lowers_the_training_loss_and_the_held_out_perplexity() -> TestResult {
    let tok = TextTokenizer::from_dir(&tiny_llama())?;
    let ex = examples(&tok);
    let mut task = SftTask::new(load(lora_backbone(), None), tok.pad_id());
    let names: Vec<String> = task.trainable().into_iter().map(|(n, _)| n).collect();
    // Default targets: every attention and MLP linear of both layers, two factors each; no lm_head.
    assert_eq!(names.len(), 2 * 7 * 2, "{names:?}");
    assert!(names.iter().all(|n| !n.contains("lm_head")));
    let before = task.report(&ex[..4])?;
    let (first, last) = fit(&mut task, &ex, 1e-2);
    let after = task.report(&ex[..4])?;
    assert!(last < first - 0.2, "loss {first} -> {last}");
    assert!(
        after.perplexity < before.perplexity,
        "perplexity {} -> {}",
        before.perplexity,
        after.perplexity
    );
    Ok(())
}

#[test]
fn qlora_lowers_the_training_loss_over_a_quantised_base() -> TestResult {
    let tok = TextTokenizer::from_dir(&tiny_llama())?;
    let ex = examples(&tok);
    let model = load(lora_backbone(), Some(QuantPolicy::Four));
    assert!(model.base_resident_bytes() < model.base_f32_bytes());
    let mut task = SftTask::new(model, tok.pad_id());
    let (first, last) = fit(&mut task, &ex, 1e-2);
    assert!(last < first - 0.2, "loss {first} -> {last}");
    Ok(())
}

#[test]
fn a_saved_adapter_loads_back_with_identical_outputs() -> TestResult {
    let tok = TextTokenizer::from_dir(&tiny_llama())?;
    let ex = examples(&tok);
    let mut task = SftTask::new(load(lora_backbone(), None), tok.pad_id());
    fit(&mut task, &ex[..8], 1e-2);
    let dir = tempfile::tempdir()?;
    task.save_adapter(dir.path(), &lora_config(), "tests/fixtures/tiny-llama")?;
    let cfg: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
        dir.path().join("adapter_config.json"),
    )?)?;
    assert_eq!(cfg["task_type"], "CAUSAL_LM");
    assert_eq!(cfg["peft_type"], "LORA");

    let adapter = PeftAdapter::load(dir.path(), &Device::Cpu)?;
    let reloaded = load(adapter.backbone(), None);
    let ids = Tensor::new(ex[0].ids.as_slice(), &Device::Cpu)?.unsqueeze(0)?;
    let a = task
        .model()
        .forward(&ids, None)?
        .flatten_all()?
        .to_vec1::<f32>()?;
    let b = reloaded
        .forward(&ids, None)?
        .flatten_all()?
        .to_vec1::<f32>()?;
    let worst = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max);
    assert!(worst < 1e-6, "largest logit difference {worst}");
    // And the trained adapter actually differs from the base.
    let base = load(Backbone::Frozen, None)
        .forward(&ids, None)?
        .flatten_all()?
        .to_vec1::<f32>()?;
    let moved = a
        .iter()
        .zip(&base)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max);
    assert!(moved > 1e-3, "training did not move the outputs ({moved})");
    Ok(())
}

/// LoRA's `A` factors as drawn when the model is loaded with `seed`, by parameter name.
fn lora_a_factors(seed: u64) -> Vec<(String, Vec<f32>)> {
    let opts = LlamaLoadOptions {
        backbone: lora_backbone(),
        seed,
        ..Default::default()
    };
    let model = LlamaModel::load(&tiny_llama(), &opts)
        .expect("the fixture loads")
        .model;
    let data = model.trainable().data().lock().unwrap();
    let mut out: Vec<(String, Vec<f32>)> = data
        .iter()
        .filter(|(name, _)| name.ends_with("lora_A.weight"))
        .map(|(name, v)| {
            (
                name.clone(),
                v.as_tensor().flatten_all().unwrap().to_vec1().unwrap(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn lora_a_factors_are_drawn_from_the_run_seed() {
    let first = lora_a_factors(7);
    assert!(!first.is_empty());
    assert_eq!(
        first,
        lora_a_factors(7),
        "the same seed draws the same factors"
    );
    let other = lora_a_factors(8);
    assert!(
        first
            .iter()
            .zip(&other)
            .all(|(a, b)| a.0 == b.0 && a.1 != b.1),
        "another seed draws other factors for every module"
    );
}
