//! One decoder LoRA training step at a length where attention matters: seconds per step and the
//! process's peak resident memory (`VmHWM`), optionally with activation checkpointing, and the
//! peak of each phase (forward, loss, backward, optimiser). One configuration per process, so the
//! peak is its own.
//!
//! ```text
//! cargo bench -p tunesmith-engine --bench attention_step -- --batch 2 --len 256 \
//!     [--checkpointing] [--steps N] [--warmup N] [--shape qwen2.5-0.5b] [--composed-loss]
//! ```
//!
//! By default the real SmolLM2-135M-Instruct GGUF (Q4_1, dequantised to f32, from
//! scripts/fetch-models); `--shape NAME` instead builds random f32 weights of the shape in
//! `bench/gpu/models/NAME/config.json` (no file mapped: the base is what the model holds). LoRA
//! rank 8 on every attention and MLP projection, random token ids (seeded), no padding, next-token
//! loss on every position through the training path (`next_token_loss_t`: the head and the loss
//! fused, as `SftTask` trains; `--composed-loss` takes the logits and the composed loss instead),
//! AdamW. Prints one JSON line; `phase_peak_mb` is the largest resident size sampled (every 2 ms)
//! while each phase of the last step ran, `after_mb` the resident size when it ended. With
//! `ATTN_STEP_DEBUG` set it also prints (stderr) how many values the gradients hold and how many of
//! them carry a graph (a gradient with a graph keeps activations alive until the optimiser step).
//! `bench/README.md` ("attention and checkpointing") records the results.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};
use tunesmith_engine::adapters::lora::LoraConfig;
use tunesmith_engine::models::llama::{causal_lm_loss, LlamaLoadOptions, LlamaModel};
use tunesmith_engine::models::llama_config::LlamaConfig;
use tunesmith_engine::nn::params::{Backbone, LoraSetup, Origin, Params};
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

fn rss_kb() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<usize>().ok())
        .map(|pages| pages * 4)
        .unwrap_or(0)
}

const PHASES: [&str; 4] = ["forward", "loss", "backward", "optimiser"];

/// Samples the resident size every 2 ms and keeps the largest per phase (`phase` is set by the
/// step as it moves on).
struct PhasePeaks {
    phase: Arc<AtomicUsize>,
    peaks: Arc<[AtomicUsize; 4]>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl PhasePeaks {
    fn start() -> Self {
        let phase = Arc::new(AtomicUsize::new(0));
        let peaks: Arc<[AtomicUsize; 4]> = Arc::new(Default::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (p, k, s) = (phase.clone(), peaks.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let i = p.load(Ordering::Relaxed).min(3);
                k[i].fetch_max(rss_kb(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        Self {
            phase,
            peaks,
            stop,
            thread: Some(thread),
        }
    }

    /// Enters phase `i`, clearing its peak (the last step's are reported).
    fn enter(&self, i: usize) {
        self.peaks[i].store(rss_kb(), Ordering::Relaxed);
        self.phase.store(i, Ordering::Relaxed);
    }

    fn mb(&self) -> Vec<usize> {
        self.peaks
            .iter()
            .map(|p| p.load(Ordering::Relaxed) / 1024)
            .collect()
    }
}

impl Drop for PhasePeaks {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A model of `config.json`'s shape with random f32 weights (normal, std 0.02; norms at 1).
fn random_model(config: &Path, backbone: Backbone) -> AnyResult<LlamaModel> {
    let cfg = LlamaConfig::from_file(config)?;
    let dev = Device::Cpu;
    let (h, inter, v) = (cfg.hidden_size, cfg.intermediate_size, cfg.vocab_size);
    let (heads, kv, hd) = (cfg.num_attention_heads, cfg.kv_heads(), cfg.head_dim());
    let mut shapes: Vec<(String, Vec<usize>)> = vec![
        ("model.embed_tokens.weight".into(), vec![v, h]),
        ("model.norm.weight".into(), vec![h]),
    ];
    if !cfg.tie_word_embeddings {
        shapes.push(("lm_head.weight".into(), vec![v, h]));
    }
    for i in 0..cfg.num_hidden_layers {
        let l = format!("model.layers.{i}");
        for (name, o, inp, bias) in [
            ("self_attn.q_proj", heads * hd, h, cfg.qkv_bias()),
            ("self_attn.k_proj", kv * hd, h, cfg.qkv_bias()),
            ("self_attn.v_proj", kv * hd, h, cfg.qkv_bias()),
            ("self_attn.o_proj", h, heads * hd, cfg.o_bias()),
            ("mlp.gate_proj", inter, h, cfg.mlp_bias),
            ("mlp.up_proj", inter, h, cfg.mlp_bias),
            ("mlp.down_proj", h, inter, cfg.mlp_bias),
        ] {
            shapes.push((format!("{l}.{name}.weight"), vec![o, inp]));
            if bias {
                shapes.push((format!("{l}.{name}.bias"), vec![o]));
            }
        }
        shapes.push((format!("{l}.input_layernorm.weight"), vec![h]));
        shapes.push((format!("{l}.post_attention_layernorm.weight"), vec![h]));
    }
    let mut tensors = HashMap::new();
    for (name, shape) in shapes {
        let t = if name.ends_with("norm.weight") {
            Tensor::ones(shape, DType::F32, &dev)?
        } else {
            Tensor::randn(0f32, 0.02, shape, &dev)?
        };
        tensors.insert(name, t);
    }
    let vb = VarBuilder::from_tensors(tensors, DType::F32, &dev);
    let origin = Origin {
        files: HashMap::new(),
        default: config.display().to_string(),
    };
    let params = Params::new(vb, VarMap::new(), backbone, origin);
    Ok(LlamaModel::new(&cfg, &params, None, None)?)
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
    let (mut shape, mut composed) = (None::<String>, false);
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match flag.as_str() {
            "--batch" => b = value("--batch")?.parse()?,
            "--len" => s = value("--len")?.parse()?,
            "--steps" => steps = value("--steps")?.parse()?,
            "--warmup" => warmup = value("--warmup")?.parse()?,
            "--checkpointing" => ckpt = true,
            "--shape" => shape = Some(value("--shape")?),
            "--composed-loss" => composed = true,
            "--bench" => {}
            other => return Err(format!("unknown argument `{other}`").into()),
        }
    }
    let dev = Device::Cpu;
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
    let mut model = match &shape {
        Some(name) => {
            let config = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../bench/gpu/models")
                .join(name)
                .join("config.json");
            random_model(&config, backbone)?
        }
        None => {
            let path = tunesmith_testkit::paths::smollm2_gguf()
                .ok_or("SmolLM2-135M-Instruct's GGUF is not fetched; run scripts/fetch-models")?;
            let opts = LlamaLoadOptions {
                backbone,
                quantize: None,
                dtype: DType::F32,
                device: dev.clone(),
                seed: 0,
            };
            LlamaModel::load(&path, &opts)?.model
        }
    };
    let loaded_mb = rss_kb() / 1024;
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
    let peaks = PhasePeaks::start();
    let mut after = [0usize; 4];
    for i in 0..warmup + steps {
        let t0 = Instant::now();
        peaks.enter(0);
        let loss = if composed {
            let logits = model.forward_t(&ids, None, true)?;
            after[0] = rss_kb() / 1024;
            peaks.enter(1);
            causal_lm_loss(&logits, &labels)?
        } else {
            // The fused head-and-loss op runs inside: "forward" covers the loss too.
            let loss = model.next_token_loss_t(&ids, None, &labels, true)?.loss;
            after[0] = rss_kb() / 1024;
            peaks.enter(1);
            loss
        };
        last_loss = loss.to_scalar::<f32>()?;
        after[1] = rss_kb() / 1024;
        peaks.enter(2);
        let grads = loss.backward()?;
        drop(loss);
        let g: Vec<Option<Tensor>> = opt
            .vars()
            .iter()
            .map(|v| grads.get(v.as_tensor()).cloned())
            .collect();
        if std::env::var_os("ATTN_STEP_DEBUG").is_some() {
            let n: usize = g.iter().flatten().map(|t| t.elem_count()).sum();
            let tracked = g.iter().flatten().filter(|t| t.track_op()).count();
            let store: usize = grads
                .get_ids()
                .map(|id| grads.get_id(*id).map_or(0, |t| t.elem_count()))
                .sum();
            eprintln!("grads: {} params, {n} values, {tracked} tracked; store {} tensors {store} values; rss {} MB",
                g.len(), grads.get_ids().count(), rss_kb() / 1024);
        }
        drop(grads);
        after[2] = rss_kb() / 1024;
        peaks.enter(3);
        opt.step(&g, 1e-4)?;
        drop(g);
        after[3] = rss_kb() / 1024;
        if i >= warmup {
            times.push(t0.elapsed().as_secs_f64());
        }
    }
    let phase_mb = peaks.mb();
    drop(peaks);
    times.sort_by(|a, b| a.total_cmp(b));
    let median = times[times.len() / 2];
    let json_of = |v: &[usize]| {
        PHASES
            .iter()
            .zip(v)
            .map(|(p, mb)| format!("\"{p}\":{mb}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    println!(
        "{{\"model\":\"{}\",\"batch\":{b},\"len\":{s},\"checkpointing\":{ckpt},\"loss_path\":\"{}\",\"s_per_step\":{median:.3},\"tokens_per_s\":{:.1},\"peak_mb\":{:.0},\"loaded_mb\":{loaded_mb},\"phase_peak_mb\":{{{}}},\"after_mb\":{{{}}},\"threads\":{},\"loss\":{last_loss}}}",
        shape.as_deref().unwrap_or("smollm2-135m-gguf"),
        if composed { "composed" } else { "fused" },
        (b * s) as f64 / median,
        peak_mb(),
        json_of(&phase_mb),
        json_of(&after),
        candle_core::utils::get_num_threads()
    );
    Ok(())
}
