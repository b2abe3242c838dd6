//! One SmolLM2-135M LoRA training step at a length where attention matters: seconds per step and
//! the process's peak resident memory (`VmHWM`), optionally with activation checkpointing. One
//! configuration per process, so the peak is its own.
//!
//! ```text
//! cargo bench -p tunesmith-engine --bench attention_step -- --batch 2 --len 256 \
//!     [--checkpointing] [--steps N] [--warmup N]
//! ```
//!
//! The real GGUF (Q4_1, dequantised to f32, from scripts/fetch-models), LoRA rank 8 on every
//! attention and MLP projection, random token ids (seeded), no padding, next-token loss on every
//! position, AdamW. Prints one JSON line. `bench/README.md` ("attention and checkpointing") records
//! the results and how the "before" column was built.

use std::collections::HashMap;
use std::time::Instant;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::VarMap;
use tunesmith_engine::adapters::lora::LoraConfig;
use tunesmith_engine::models::llama::{causal_lm_loss, LlamaLoadOptions, LlamaModel};
use tunesmith_engine::nn::params::{Backbone, LoraSetup};
use tunesmith_engine::train::{AdamW, AdamWConfig};

type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

fn peak_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn vars_of(map: &VarMap) -> AnyResult<Vec<(String, Var)>> {
    let data = map
        .data()
        .lock()
        .map_err(|_| "the VarMap lock is poisoned")?;
    Ok(data.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

fn main() -> AnyResult<()> {
    let (mut b, mut s, mut steps, mut warmup, mut ckpt) = (2usize, 256usize, 3usize, 1usize, false);
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match flag.as_str() {
            "--batch" => b = value("--batch")?.parse()?,
            "--len" => s = value("--len")?.parse()?,
            "--steps" => steps = value("--steps")?.parse()?,
            "--warmup" => warmup = value("--warmup")?.parse()?,
            "--checkpointing" => ckpt = true,
            "--bench" => {}
            other => return Err(format!("unknown argument `{other}`").into()),
        }
    }
    let dev = Device::Cpu;
    let path = tunesmith_testkit::paths::smollm2_gguf()
        .ok_or("SmolLM2-135M-Instruct's GGUF is not fetched; run scripts/fetch-models")?;
    let targets = [
        "q_proj",
        "k_proj",
        "v_proj",
        "o_proj",
        "gate_proj",
        "up_proj",
        "down_proj",
    ];
    let backbone = Backbone::Lora(LoraSetup {
        config: LoraConfig {
            r: 8,
            alpha: 16.0,
            dropout: 0.05,
            target_modules: targets.iter().map(|s| s.to_string()).collect(),
            use_rslora: false,
        },
        initial: HashMap::new(),
    });
    let opts = LlamaLoadOptions {
        backbone,
        quantize: None,
        dtype: DType::F32,
        device: dev.clone(),
        seed: 0,
    };
    #[allow(unused_mut)]
    let mut model = LlamaModel::load(&path, &opts)?.model;
    if ckpt {
        model.set_activation_checkpointing(true);
    }
    let vocab = model.config().vocab_size as u64;
    let mut opt = AdamW::new(vars_of(model.trainable())?, AdamWConfig::default())?;
    let mut x = 0x5eed_1234_abcd_ef01u64;
    let ids: Vec<u32> = (0..b * s)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (100 + x % (vocab - 100)) as u32
        })
        .collect();
    let labels = Tensor::from_vec(
        ids.iter().map(|&i| i as i64).collect::<Vec<_>>(),
        (b, s),
        &dev,
    )?;
    let ids = Tensor::from_vec(ids, (b, s), &dev)?;
    let mut times = Vec::new();
    let mut last_loss = 0f32;
    for i in 0..warmup + steps {
        let t0 = Instant::now();
        let loss = causal_lm_loss(&model.forward_t(&ids, None, true)?, &labels)?;
        last_loss = loss.to_scalar::<f32>()?;
        let grads = loss.backward()?;
        let g: Vec<Option<Tensor>> = opt
            .vars()
            .iter()
            .map(|v| grads.get(v.as_tensor()).cloned())
            .collect();
        drop(grads);
        opt.step(&g, 1e-4)?;
        if i >= warmup {
            times.push(t0.elapsed().as_secs_f64());
        }
    }
    times.sort_by(|a, b| a.total_cmp(b));
    let median = times[times.len() / 2];
    println!(
        "{{\"batch\":{b},\"len\":{s},\"checkpointing\":{ckpt},\"s_per_step\":{median:.3},\"tokens_per_s\":{:.1},\"peak_mb\":{:.0},\"threads\":{},\"loss\":{last_loss}}}",
        (b * s) as f64 / median,
        peak_mb(),
        candle_core::utils::get_num_threads()
    );
    Ok(())
}
