//! Times one training step (forward + backward + AdamW update) of the engine on real models, one
//! configuration per process, so each process's peak resident memory belongs to one configuration.
//!
//! ```text
//! cargo bench -p tunesmith-engine --bench train_step -- --model minilm|smollm2 \
//!     --method full|features|features-forward|lora|qlora [--steps N] [--warmup N] [--split] \
//!     [--batch N] [--len N]
//! ```
//!
//! It prints one JSON line: the configuration, the median seconds per step over `--steps` timed steps
//! (after `--warmup` untimed ones), tokens per second, the peak resident memory of the process
//! (`VmHWM`), and with `--split` the medians of the forward (to the loss), backward and optimiser
//! parts. `bench/run-train-step` runs every configuration here and in `bench/reference/train_step.py`
//! (PyTorch + PEFT) and prints the comparison table; `bench/README.md` records it.
//!
//! Workloads (the same in the reference script):
//! - all-MiniLM-L6-v2, batch 16 x 64 tokens, mean pooling + a new 2-class linear head, dropout on
//!   (training mode). `full`: every weight trains. `lora`: rank 8, alpha 16, dropout 0.05 on query,
//!   key, value, attention output, intermediate and output dense layers; the head trains too.
//!   `features`: the step of feature extraction as the engine trains it: the head alone over cached
//!   pooled features. `features-forward`: the frozen encoder's forward over one batch (paid once per
//!   example when the features are cached), timed like a step.
//! - SmolLM2-135M-Instruct from the fetched GGUF (Q4_1, dequantised to f32), batch 2 x 64 tokens,
//!   next-token loss on every position. `full`, `lora` (rank 8, alpha 16, dropout 0.05, every
//!   attention and MLP projection), `qlora` (the same LoRA over a base re-quantised by the engine's
//!   default 4-bit policy: Q4K where the width allows, Q8_0 elsewhere).
//!
//! Token ids are random (seeded), all positions real (no padding): speed does not depend on the text.

use std::collections::HashMap;
use std::time::Instant;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::VarMap;
use tunesmith_engine::adapters::lora::LoraConfig;
use tunesmith_engine::models::bert::{BertConfig, ClassifierOptions, Pooling, SequenceClassifier};
use tunesmith_engine::models::checkpoint::Checkpoint;
use tunesmith_engine::models::llama::{LlamaLoadOptions, LlamaModel};
use tunesmith_engine::nn::params::{Backbone, LoraSetup};
use tunesmith_engine::nn::quantized::QuantPolicy;
use tunesmith_engine::train::{AdamW, AdamWConfig};

type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

struct Args {
    model: String,
    method: String,
    steps: usize,
    warmup: usize,
    split: bool,
    /// Rows and tokens per row (0: the model's default).
    batch: usize,
    len: usize,
}

fn parse_args() -> AnyResult<Args> {
    let mut a = Args {
        model: "minilm".into(),
        method: "full".into(),
        steps: 5,
        warmup: 2,
        split: false,
        batch: 0,
        len: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match flag.as_str() {
            "--model" => a.model = value("--model")?,
            "--method" => a.method = value("--method")?,
            "--steps" => a.steps = value("--steps")?.parse()?,
            "--warmup" => a.warmup = value("--warmup")?.parse()?,
            "--split" => a.split = true,
            "--batch" => a.batch = value("--batch")?.parse()?,
            "--len" => a.len = value("--len")?.parse()?,
            // `cargo bench` passes `--bench` to harness-less benches.
            "--bench" => {}
            other => return Err(format!("unknown argument `{other}`").into()),
        }
    }
    if a.steps == 0 {
        return Err("--steps must be at least 1".into());
    }
    Ok(a)
}

/// Peak resident memory of this process in MB (`VmHWM`), or 0 where /proc is absent.
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

/// `v`, or `default` when `v` is 0.
fn or(v: usize, default: usize) -> usize {
    if v == 0 {
        default
    } else {
        v
    }
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// A small deterministic generator for token ids (xorshift), so both sides could share a seed.
struct Xorshift(u64);
impl Xorshift {
    fn next(&mut self, bound: u32) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % bound as u64) as u32
    }
}

fn vars_of(map: &VarMap) -> AnyResult<Vec<(String, Var)>> {
    let data = map
        .data()
        .lock()
        .map_err(|_| "the VarMap lock is poisoned")?;
    Ok(data.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

/// One step's timings.
struct Timing {
    forward: f64,
    backward: f64,
    optim: f64,
}

/// Runs `loss_fn`, backward and the AdamW update once, timing each part.
fn step(opt: &mut AdamW, loss_fn: &mut dyn FnMut() -> AnyResult<Tensor>) -> AnyResult<Timing> {
    let t0 = Instant::now();
    let loss = loss_fn()?;
    // Force the forward to finish here (candle is eager; this is the scalar read-back).
    let _ = loss.to_scalar::<f32>()?;
    let t1 = Instant::now();
    let grads = loss.backward()?;
    let t2 = Instant::now();
    let g: Vec<Option<Tensor>> = opt
        .vars()
        .iter()
        .map(|v| grads.get(v.as_tensor()).cloned())
        .collect();
    opt.step(&g, 1e-4)?;
    let t3 = Instant::now();
    Ok(Timing {
        forward: (t1 - t0).as_secs_f64(),
        backward: (t2 - t1).as_secs_f64(),
        optim: (t3 - t2).as_secs_f64(),
    })
}

fn lora_config(targets: &[&str]) -> LoraConfig {
    LoraConfig {
        r: 8,
        alpha: 16.0,
        dropout: 0.05,
        target_modules: targets.iter().map(|s| s.to_string()).collect(),
        use_rslora: false,
    }
}

struct Outcome {
    times: Vec<Timing>,
    tokens: usize,
    trainable: usize,
    weights: String,
}

fn run_minilm(a: &Args, dev: &Device) -> AnyResult<Outcome> {
    let dir = tunesmith_testkit::paths::real_model(tunesmith_testkit::paths::MINILM)
        .ok_or("all-MiniLM-L6-v2 is not fetched; run scripts/fetch-models")?;
    let cfg = BertConfig::from_file(&dir.join("config.json"))?;
    let (b, s) = (or(a.batch, 16), or(a.len, 64));
    let backbone = match a.method.as_str() {
        "full" => Backbone::Full,
        "features" | "features-forward" => Backbone::Frozen,
        "lora" => Backbone::Lora(LoraSetup {
            config: lora_config(&[
                "query",
                "key",
                "value",
                "output.dense",
                "intermediate.dense",
            ]),
            initial: HashMap::new(),
        }),
        other => return Err(format!("MiniLM has no method `{other}` here").into()),
    };
    let p = Checkpoint::open(&dir)?.params(DType::F32, dev, VarMap::new(), backbone)?;
    let model = SequenceClassifier::load(
        &p,
        &cfg,
        &ClassifierOptions {
            num_labels: 2,
            pooling: Some(Pooling::Mean),
            multi_label: false,
        },
    )?;
    let vars = vars_of(p.trainable())?;
    let trainable = vars.iter().map(|(_, v)| v.elem_count()).sum();
    let mut opt = AdamW::new(vars, AdamWConfig::default())?;
    let mut rng = Xorshift(0x5eed_1234_abcd_ef01);
    let ids: Vec<u32> = (0..b * s)
        .map(|i| {
            if i % s == 0 {
                101
            } else {
                1000 + rng.next(cfg.vocab_size as u32 - 1000)
            }
        })
        .collect();
    let ids = Tensor::from_vec(ids, (b, s), dev)?;
    let mask = Tensor::ones((b, s), DType::U32, dev)?;
    let labels = Tensor::from_vec((0..b).map(|_| rng.next(2)).collect::<Vec<u32>>(), b, dev)?;
    let mut times = Vec::new();
    if a.method == "features-forward" {
        for i in 0..a.warmup + a.steps {
            let t0 = Instant::now();
            let f = model.features(&ids, &mask, false)?.detach();
            let _ = f.sum_all()?.to_scalar::<f32>()?;
            if i >= a.warmup {
                times.push(Timing {
                    forward: t0.elapsed().as_secs_f64(),
                    backward: 0.0,
                    optim: 0.0,
                });
            }
        }
    } else {
        // Feature extraction caches the pooled features once; each step then costs the head alone.
        let cached = if a.method == "features" {
            Some(model.features(&ids, &mask, false)?.detach())
        } else {
            None
        };
        let mut loss_fn = || -> AnyResult<Tensor> {
            let logits = match &cached {
                Some(f) => model.head_forward(f, true)?,
                None => model.forward_t(&ids, &mask, true)?,
            };
            Ok(model.loss(&logits, &labels)?)
        };
        for i in 0..a.warmup + a.steps {
            let t = step(&mut opt, &mut loss_fn)?;
            if i >= a.warmup {
                times.push(t);
            }
        }
    }
    Ok(Outcome {
        times,
        tokens: b * s,
        trainable,
        weights: "real (safetensors)".into(),
    })
}

fn run_smollm2(a: &Args, dev: &Device) -> AnyResult<Outcome> {
    let path = tunesmith_testkit::paths::smollm2_gguf()
        .ok_or("SmolLM2-135M-Instruct's GGUF is not fetched; run scripts/fetch-models")?;
    let (b, s) = (or(a.batch, 2), or(a.len, 64));
    let lora = || {
        Backbone::Lora(LoraSetup {
            config: lora_config(&[
                "q_proj",
                "k_proj",
                "v_proj",
                "o_proj",
                "gate_proj",
                "up_proj",
                "down_proj",
            ]),
            initial: HashMap::new(),
        })
    };
    let (backbone, quantize) = match a.method.as_str() {
        "full" => (Backbone::Full, None),
        "lora" => (lora(), None),
        "qlora" => (lora(), Some(QuantPolicy::Four)),
        other => return Err(format!("SmolLM2 has no method `{other}` here").into()),
    };
    let loaded = LlamaModel::load(
        &path,
        &LlamaLoadOptions {
            backbone,
            quantize,
            dtype: DType::F32,
            device: dev.clone(),
            seed: 0,
        },
    )?;
    let model = loaded.model;
    let vocab = model.config().vocab_size as u32;
    let vars = vars_of(model.trainable())?;
    let trainable = vars.iter().map(|(_, v)| v.elem_count()).sum();
    let mut opt = AdamW::new(vars, AdamWConfig::default())?;
    let mut rng = Xorshift(0x5eed_1234_abcd_ef01);
    let ids: Vec<u32> = (0..b * s).map(|_| 100 + rng.next(vocab - 100)).collect();
    let labels = Tensor::from_vec(
        ids.iter().map(|&x| x as i64).collect::<Vec<_>>(),
        (b, s),
        dev,
    )?;
    let ids = Tensor::from_vec(ids, (b, s), dev)?;
    let mut loss_fn = || -> AnyResult<Tensor> {
        // The training path: the output head and the loss fused (as `SftTask` trains).
        Ok(model.next_token_loss_t(&ids, None, &labels, true)?.loss)
    };
    let mut times = Vec::new();
    for i in 0..a.warmup + a.steps {
        let t = step(&mut opt, &mut loss_fn)?;
        if i >= a.warmup {
            times.push(t);
        }
    }
    let weights = match quantize {
        Some(_) => format!(
            "real GGUF Q4_1 -> f32 -> re-quantised (base {:.0} MB of {:.0} MB f32)",
            model.base_resident_bytes() as f64 / 1e6,
            model.base_f32_bytes() as f64 / 1e6
        ),
        None => "real GGUF Q4_1 -> f32".into(),
    };
    Ok(Outcome {
        times,
        tokens: b * s,
        trainable,
        weights,
    })
}

fn main() -> AnyResult<()> {
    let a = parse_args()?;
    let dev = Device::Cpu;
    let out = match a.model.as_str() {
        "minilm" => run_minilm(&a, &dev)?,
        "smollm2" => run_smollm2(&a, &dev)?,
        other => return Err(format!("unknown model `{other}` (minilm, smollm2)").into()),
    };
    let mut total: Vec<f64> = out
        .times
        .iter()
        .map(|t| t.forward + t.backward + t.optim)
        .collect();
    let mut fwd: Vec<f64> = out.times.iter().map(|t| t.forward).collect();
    let mut bwd: Vec<f64> = out.times.iter().map(|t| t.backward).collect();
    let mut opt: Vec<f64> = out.times.iter().map(|t| t.optim).collect();
    let s = median(&mut total);
    let mut json = format!(
        "{{\"side\":\"candle\",\"model\":\"{}\",\"method\":\"{}\",\"s_per_step\":{:.5},\"tokens_per_s\":{:.1},\"peak_mb\":{:.1},\"trainable\":{},\"steps\":{},\"threads\":{},\"weights\":\"{}\"",
        a.model,
        a.method,
        s,
        out.tokens as f64 / s,
        peak_mb(),
        out.trainable,
        out.times.len(),
        candle_core::utils::get_num_threads(),
        out.weights,
    );
    if a.split {
        json.push_str(&format!(
            ",\"forward_s\":{:.5},\"backward_s\":{:.5},\"optim_s\":{:.5}",
            median(&mut fwd),
            median(&mut bwd),
            median(&mut opt)
        ));
    }
    json.push('}');
    println!("{json}");
    Ok(())
}
