//! Activation checkpointing changes memory, never numbers: on the tiny Llama, Qwen2 and BERT
//! fixtures, full fine-tuning and LoRA (with dropout, so the recomputation must replay the same
//! masks) give the same loss and the same gradient for every trainable parameter with and without
//! it, on a padded batch.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::path::PathBuf;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;
use tunesmith_engine::adapters::lora::LoraConfig;
use tunesmith_engine::models::bert::{BertConfig, ClassifierOptions, SequenceClassifier};
use tunesmith_engine::models::checkpoint::Checkpoint;
use tunesmith_engine::models::llama::{causal_lm_loss, LlamaLoadOptions, LlamaModel};
use tunesmith_engine::nn::dropout::with_seed;
use tunesmith_engine::nn::params::{Backbone, LoraSetup};
use tunesmith_testkit::paths::fixtures_dir;

type R<T = ()> = Result<T, Box<dyn std::error::Error>>;

fn lora(targets: &[&str]) -> Backbone {
    Backbone::Lora(LoraSetup {
        config: LoraConfig {
            r: 4,
            alpha: 8.0,
            dropout: 0.2,
            target_modules: targets.iter().map(|s| s.to_string()).collect(),
            use_rslora: false,
        },
        initial: HashMap::new(),
    })
}

/// The loss and every trainable parameter's gradient (by name) of `loss`.
fn loss_and_grads(trainable: &VarMap, loss: Tensor) -> R<(f32, BTreeMap<String, Vec<f32>>)> {
    let grads = loss.backward()?;
    let data = trainable.data().lock().map_err(|_| "poisoned")?;
    let mut out = BTreeMap::new();
    for (name, var) in data.iter() {
        // A parameter the loss does not reach (an unused pooler) has no gradient either way.
        if let Some(g) = grads.get(var.as_tensor()) {
            out.insert(name.clone(), g.flatten_all()?.to_vec1::<f32>()?);
        }
    }
    Ok((loss.to_scalar::<f32>()?, out))
}

fn assert_same(
    plain: &(f32, BTreeMap<String, Vec<f32>>),
    checkpointed: &(f32, BTreeMap<String, Vec<f32>>),
) {
    assert_eq!(plain.0, checkpointed.0, "the loss differs");
    assert_eq!(
        plain.1.keys().collect::<Vec<_>>(),
        checkpointed.1.keys().collect::<Vec<_>>()
    );
    for (name, g) in &plain.1 {
        assert_eq!(g, &checkpointed.1[name], "the gradient of `{name}` differs");
    }
    // LoRA's A factors start with a zero gradient (B is zero); everything else must move.
    let moving = plain
        .1
        .values()
        .filter(|g| g.iter().any(|x| *x != 0.0))
        .count();
    assert!(
        moving * 2 >= plain.1.len(),
        "{moving} of {} gradients are nonzero",
        plain.1.len()
    );
}

fn decoder_case(fixture: &str, backbone: Backbone) -> R {
    let opts = LlamaLoadOptions {
        backbone,
        quantize: None,
        dtype: DType::F32,
        device: Device::Cpu,
        seed: 3,
    };
    let mut model = LlamaModel::load(&fixtures_dir().join(fixture), &opts)?.model;
    // Two rows, the second right-padded by three tokens (masked in attention and in the loss).
    let ids = Tensor::new(
        &[[5u32, 17, 42, 9, 77, 31, 8], [6, 12, 99, 4, 0, 0, 0]],
        &Device::Cpu,
    )?;
    let mask = Tensor::new(
        &[[1u32, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0, 0]],
        &Device::Cpu,
    )?;
    let labels = Tensor::new(
        &[
            [5i64, 17, 42, 9, 77, 31, 8],
            [6, 12, 99, 4, -100, -100, -100],
        ],
        &Device::Cpu,
    )?;
    let mut run = |on: bool| -> R<(f32, BTreeMap<String, Vec<f32>>)> {
        model.set_activation_checkpointing(on);
        let loss = with_seed(21, || -> R<Tensor> {
            Ok(causal_lm_loss(
                &model.forward_t(&ids, Some(&mask), true)?,
                &labels,
            )?)
        })?;
        loss_and_grads(model.trainable(), loss)
    };
    let plain = run(false)?;
    let checkpointed = run(true)?;
    assert_same(&plain, &checkpointed);
    Ok(())
}

#[test]
fn a_checkpointed_llama_gives_the_same_loss_and_gradients_under_full_and_lora() -> R {
    decoder_case("tiny-llama", Backbone::Full)?;
    decoder_case("tiny-llama", lora(&[]))?;
    decoder_case("tiny-qwen2", lora(&["q_proj", "v_proj", "down_proj"]))
}

fn encoder_case(backbone: Backbone) -> R {
    let dir: PathBuf = fixtures_dir().join("tiny-bert");
    let cfg = BertConfig::from_file(&dir.join("config.json"))?;
    let trainable = VarMap::new();
    let p =
        Checkpoint::open(&dir)?.params(DType::F32, &Device::Cpu, trainable.clone(), backbone)?;
    let opts = ClassifierOptions {
        num_labels: 2,
        pooling: None,
        multi_label: false,
    };
    let mut model = SequenceClassifier::load(&p, &cfg, &opts)?;
    let ids = Tensor::new(&[[2u32, 17, 42, 9, 3], [2, 12, 3, 0, 0]], &Device::Cpu)?;
    let mask = Tensor::new(&[[1u32, 1, 1, 1, 1], [1, 1, 1, 0, 0]], &Device::Cpu)?;
    let labels = Tensor::new(&[1u32, 0], &Device::Cpu)?;
    let mut run = |on: bool| -> R<(f32, BTreeMap<String, Vec<f32>>)> {
        model.set_activation_checkpointing(on);
        // Training mode: hidden, attention and LoRA dropout all draw masks.
        let loss = with_seed(5, || -> R<Tensor> {
            Ok(model.loss(&model.forward_t(&ids, &mask, true)?, &labels)?)
        })?;
        loss_and_grads(&trainable, loss)
    };
    let plain = run(false)?;
    let checkpointed = run(true)?;
    assert_same(&plain, &checkpointed);
    Ok(())
}

#[test]
fn a_checkpointed_bert_gives_the_same_loss_and_gradients_under_full_and_lora() -> R {
    encoder_case(Backbone::Full)?;
    encoder_case(lora(&["query", "value", "intermediate.dense"]))
}
