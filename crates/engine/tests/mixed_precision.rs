//! Mixed precision on the CPU (issue 13): with a bf16 compute dtype the frozen weights and the
//! activations are bf16 while every trainable parameter stays an f32 master copy; the losses equal
//! f32's within bf16's rounding, every kind of parameter gets an f32 gradient that points where
//! f32's does, and training learns. The GPU runs the same graph (bench/gpu/run measures it there).

use std::path::PathBuf;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::VarMap;
use tunesmith_engine::adapters::lora::LoraConfig;
use tunesmith_engine::models::bert::{BertConfig, ClassifierOptions, SequenceClassifier};
use tunesmith_engine::models::checkpoint::Checkpoint;
use tunesmith_engine::models::llama::{LlamaLoadOptions, LlamaModel};
use tunesmith_engine::nn::params::{Backbone, LoraSetup};
use tunesmith_engine::nn::quantized::QuantPolicy;
use tunesmith_engine::task::{SftExample, SftTask};
use tunesmith_engine::tokenizer::TextTokenizer;
use tunesmith_engine::train::{
    train, EarlyStopping, Rng, TrainConfig, TrainEvent, TrainOptions, TrainTask,
};

type R<T = ()> = Result<T, Box<dyn std::error::Error>>;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name)
}

fn lora() -> Backbone {
    Backbone::Lora(LoraSetup {
        config: LoraConfig {
            r: 8,
            alpha: 16.0,
            dropout: 0.0,
            target_modules: Vec::new(),
            use_rslora: false,
        },
        initial: Default::default(),
    })
}

fn decoder(dtype: DType, backbone: Backbone, quantize: Option<QuantPolicy>) -> R<SftTask> {
    let opts = LlamaLoadOptions {
        backbone,
        quantize,
        dtype,
        device: Device::Cpu,
        seed: 7,
    };
    let model = LlamaModel::load(&fixture("tiny-llama"), &opts)?.model;
    let tok = TextTokenizer::from_dir(&fixture("tiny-llama"))?;
    Ok(SftTask::new(model, tok.pad_id()))
}

/// Four short prompt/response pairs in the fixture's ChatML.
fn examples() -> R<Vec<SftExample>> {
    let tok = TextTokenizer::from_dir(&fixture("tiny-llama"))?;
    let pairs = [
        ("code for alpha", "blue bird"),
        ("code for beta", "red fox"),
        ("code for gamma", "green owl"),
        ("code for delta", "gold fish"),
    ];
    let mut out = Vec::new();
    for i in 0..16 {
        let (p, r) = pairs[i % pairs.len()];
        let prompt = format!("<|im_start|>user\n{p}<|im_end|>\n<|im_start|>assistant\n");
        let full = format!("{prompt}{r}<|im_end|>\n");
        out.push(SftExample::new(
            &tok.encode(&prompt, false)?,
            &tok.encode(&full, false)?,
            64,
        )?);
    }
    Ok(out)
}

fn flat(t: &Tensor) -> R<Vec<f32>> {
    Ok(t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?)
}

/// Cosine similarity of two gradients (1 = same direction).
fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let na: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb).max(1e-30)
}

/// Gives every LoRA `B` factor the same small non-zero values in both tasks, so that `A`'s
/// gradient is not zero (PEFT starts `B` at zero) and both kinds of factor can be compared.
fn nudge_lora_b(tasks: [&SftTask; 2]) -> R {
    for task in tasks {
        for (name, var) in task.trainable() {
            if name.contains("lora_B") {
                let n = var.elem_count();
                let values: Vec<f32> = (0..n)
                    .map(|i| ((i * 37 % 23) as f32 - 11.0) * 1e-3)
                    .collect();
                var.set(&Tensor::from_vec(values, var.shape(), &Device::Cpu)?)?;
            }
        }
    }
    Ok(())
}

/// The loss of the first four examples and each trainable parameter's gradient.
fn loss_and_grads(task: &mut SftTask, ex: &[SftExample]) -> R<(f32, Vec<(String, Var, Tensor)>)> {
    let batch: Vec<&SftExample> = ex[..4].iter().collect();
    let loss = task.loss(&batch, &mut Rng::new(0))?.loss;
    let value = loss.to_dtype(DType::F32)?.to_scalar::<f32>()?;
    let grads = loss.backward()?;
    let mut out = Vec::new();
    for (name, var) in task.trainable() {
        let g = grads
            .get(var.as_tensor())
            .ok_or_else(|| format!("`{name}` got no gradient under this precision"))?
            .clone();
        out.push((name, var, g));
    }
    // The trainable map has no order of its own.
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok((value, out))
}

fn compare_with_f32(backbone: fn() -> Backbone, quantize: Option<QuantPolicy>) -> R {
    let ex = examples()?;
    let mut f32_task = decoder(DType::F32, backbone(), quantize)?;
    let mut bf16_task = decoder(DType::BF16, backbone(), quantize)?;
    nudge_lora_b([&f32_task, &bf16_task])?;
    let (l32, g32) = loss_and_grads(&mut f32_task, &ex)?;
    let (l16, g16) = loss_and_grads(&mut bf16_task, &ex)?;
    // bf16 keeps 8 significant bits: a relative error of a few 1e-3 per op, which the loss's
    // f32 accumulation keeps from growing.
    assert!(
        ((l16 - l32) / l32).abs() < 1e-2,
        "bf16 loss {l16} vs f32 {l32}"
    );
    assert_eq!(g32.len(), g16.len());
    for ((name, _, a), (name16, var, b)) in g32.iter().zip(&g16) {
        assert_eq!(name, name16);
        assert_eq!(
            var.dtype(),
            DType::F32,
            "`{name}` is not an f32 master copy"
        );
        assert_eq!(b.dtype(), DType::F32, "`{name}`'s gradient is not f32");
        let (a, b) = (flat(a)?, flat(b)?);
        assert!(
            b.iter().all(|v| v.is_finite()),
            "`{name}`: non-finite gradient"
        );
        let c = cosine(&a, &b);
        assert!(
            c > 0.995,
            "`{name}`: bf16 gradient at cosine {c:.4} to f32's"
        );
    }
    Ok(())
}

#[test]
fn full_fine_tuning_in_bf16_matches_f32_for_every_kind_of_parameter() -> R {
    // Embedding, norms, attention and MLP projections, the tied output head: all f32 masters.
    compare_with_f32(|| Backbone::Full, None)
}

#[test]
fn lora_in_bf16_matches_f32_for_both_factors() -> R {
    compare_with_f32(lora, None)
}

#[test]
fn qlora_in_bf16_matches_f32_over_the_same_quantised_base() -> R {
    compare_with_f32(lora, Some(QuantPolicy::Four))
}

#[test]
fn a_bf16_base_takes_half_the_memory_of_an_f32_one() -> R {
    let f32_model = decoder(DType::F32, lora(), None)?;
    let bf16_model = decoder(DType::BF16, lora(), None)?;
    let (half, full) = (
        bf16_model.model().base_resident_bytes(),
        f32_model.model().base_resident_bytes(),
    );
    assert_eq!(half * 2, full, "bf16 base {half} bytes, f32 base {full}");
    Ok(())
}

#[test]
fn lora_training_in_bf16_lowers_the_loss_as_f32_does() -> R {
    let ex = examples()?;
    let config = TrainConfig {
        epochs: 8,
        batch_size: 4,
        lr: 1e-2,
        warmup_ratio: 0.0,
        early_stopping: EarlyStopping {
            patience: None,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut drops = Vec::new();
    for dtype in [DType::F32, DType::BF16] {
        let mut task = decoder(dtype, lora(), None)?;
        let mut losses = Vec::new();
        train(
            &mut task,
            &ex,
            &[],
            &config,
            &TrainOptions::default(),
            &mut |e| {
                if let TrainEvent::Step { loss, .. } = e {
                    losses.push(*loss)
                }
            },
        )?;
        let first = losses[..3].iter().sum::<f64>() / 3.0;
        let last = losses[losses.len() - 3..].iter().sum::<f64>() / 3.0;
        drops.push(first - last);
    }
    // The fixture's bound logits allow a fall of a few tenths (tests/sft_tiny_llama.rs).
    assert!(drops[0] > 0.2 && drops[1] > 0.2, "loss falls {drops:?}");
    assert!(
        (drops[1] - drops[0]).abs() < 0.25 * drops[0],
        "bf16 learned {} where f32 learned {}",
        drops[1],
        drops[0]
    );
    Ok(())
}

#[test]
fn an_encoder_classifier_in_bf16_matches_f32_logits_and_gradients() -> R {
    let dir = fixture("tiny-bert");
    let cfg = BertConfig::from_file(&dir.join("config.json"))?;
    let r = candle_core::safetensors::load(dir.join("reference.safetensors"), &Device::Cpu)?;
    let mut results = Vec::new();
    for dtype in [DType::F32, DType::BF16] {
        let trainable = VarMap::new();
        let p = Checkpoint::open(&dir)?.params(
            dtype,
            &Device::Cpu,
            trainable.clone(),
            Backbone::Full,
        )?;
        let opts = ClassifierOptions {
            num_labels: cfg.num_labels().unwrap_or(2),
            pooling: None,
            multi_label: false,
        };
        let model = SequenceClassifier::load(&p, &cfg, &opts)?;
        let logits = model.forward_t(&r["input_ids"], &r["attention_mask"], false)?;
        assert_eq!(logits.dtype(), DType::F32, "logits leave the model in f32");
        let loss = model.loss(&logits, &r["labels"])?;
        let grads = loss.backward()?;
        let mut named: Vec<(String, Vec<f32>)> = Vec::new();
        let data = trainable.data().lock().map_err(|_| "poisoned")?;
        let mut names: Vec<&String> = data.keys().collect();
        names.sort();
        for name in names {
            let var = &data[name];
            assert_eq!(
                var.dtype(),
                DType::F32,
                "`{name}` is not an f32 master copy"
            );
            let g = grads
                .get(var.as_tensor())
                .ok_or_else(|| format!("`{name}` got no gradient"))?;
            named.push((name.clone(), flat(g)?));
        }
        results.push((flat(&logits)?, loss.to_scalar::<f32>()?, named));
    }
    let (l32, loss32, g32) = &results[0];
    let (l16, loss16, g16) = &results[1];
    for (a, b) in l32.iter().zip(l16) {
        assert!((a - b).abs() < 2e-2 * a.abs().max(1.0), "logit {b} vs {a}");
    }
    assert!(
        ((loss16 - loss32) / loss32).abs() < 1e-2,
        "loss {loss16} vs {loss32}"
    );
    for ((name, a), (_, b)) in g32.iter().zip(g16) {
        let norm: f32 = a.iter().map(|v| v * v).sum::<f32>().sqrt();
        if norm < 1e-8 {
            continue; // e.g. a position embedding row no input reaches
        }
        let c = cosine(a, b);
        assert!(
            c > 0.98,
            "`{name}`: bf16 gradient at cosine {c:.4} to f32's"
        );
    }
    Ok(())
}
