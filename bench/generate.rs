//! Times text generation with the engine on the real SmolLM2-135M-Instruct GGUF: prompt tokens per
//! second (the whole prompt in one forward pass) and generated tokens per second (one token per
//! step through the KV cache, greedy), the loop `tunesmith chat` runs.
//!
//! ```text
//! cargo bench -p tunesmith-engine --bench generate -- [--weights stored|f32] \
//!     [--prompt-tokens N] [--new-tokens N] [--runs N] [--model FILE.gguf] \
//!     [--device cpu|cuda] [--dtype f32|bf16]
//! ```
//!
//! `--device cuda` (a build with `--features cuda`) runs the model on the first GPU, `--dtype` is
//! the dtype of the dense weights and activations (bf16 on a GPU that has it).
//!
//! It prints one JSON line: the configuration, the medians over `--runs` timed runs (after one
//! untimed warm-up run) of prompt and generation seconds and tokens/s, the load time, the base's
//! resident bytes and the peak resident memory of the process (`VmHWM`). `--weights stored` (the
//! chat default for a GGUF) keeps the file's quantised weights (`QuantPolicy::Stored`); `f32`
//! dequantises them, as training does. `bench/run-generate` runs this and
//! `bench/reference/generate.py` (llama.cpp through llama-cpp-python, same file, same thread count)
//! and prints the comparison table; `bench/README.md` records it.
//!
//! The prompt is the first `--prompt-tokens` tokens of a fixed English paragraph (repeated as
//! needed), the same text the reference tokenises; generation never stops early (no stop tokens),
//! so every run produces exactly `--new-tokens` tokens.

use std::path::PathBuf;
use std::time::Instant;

use candle_core::{DType, Device};
use tunesmith_engine::generate::{generate, GenerateConfig};
use tunesmith_engine::models::llama::{LlamaLoadOptions, LlamaModel};
use tunesmith_engine::nn::quantized::QuantPolicy;

type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

/// The prompt text; bench/reference/generate.py holds the same paragraph.
const TEXT: &str = "The history of the printing press begins in the fifteenth century, when \
Johannes Gutenberg combined movable metal type, oil-based ink and a wooden screw press into a \
system that could produce books faster and more cheaply than any scribe. Within fifty years, \
presses had spread to more than two hundred cities across Europe, and millions of volumes were in \
circulation. Scholars could compare identical copies of a text, errors could be corrected in later \
editions, and ideas travelled further than ever before. ";

struct Args {
    model: Option<PathBuf>,
    weights: String,
    prompt_tokens: usize,
    new_tokens: usize,
    runs: usize,
    device: String,
    dtype: String,
}

fn parse_args() -> AnyResult<Args> {
    let mut a = Args {
        model: None,
        weights: "stored".into(),
        prompt_tokens: 128,
        new_tokens: 64,
        runs: 3,
        device: "cpu".into(),
        dtype: "f32".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match flag.as_str() {
            "--model" => a.model = Some(PathBuf::from(value("--model")?)),
            "--weights" => a.weights = value("--weights")?,
            "--prompt-tokens" => a.prompt_tokens = value("--prompt-tokens")?.parse()?,
            "--new-tokens" => a.new_tokens = value("--new-tokens")?.parse()?,
            "--runs" => a.runs = value("--runs")?.parse()?,
            "--device" => a.device = value("--device")?,
            "--dtype" => a.dtype = value("--dtype")?,
            // `cargo bench` passes `--bench` to harness-less benches.
            "--bench" => {}
            other => return Err(format!("unknown argument `{other}`").into()),
        }
    }
    if a.runs == 0 || a.prompt_tokens == 0 || a.new_tokens == 0 {
        return Err("--runs, --prompt-tokens and --new-tokens must be at least 1".into());
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
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// The SmolLM2-135M-Instruct GGUF under the models folder (`TUNESMITH_MODELS`, default
/// `~/.cache/tunesmith/models`).
fn default_model() -> AnyResult<PathBuf> {
    let root = std::env::var_os("TUNESMITH_MODELS")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/tunesmith/models"))
        })
        .ok_or("set TUNESMITH_MODELS or HOME")?;
    let dir = root.join("SmolLM2-135M-Instruct");
    std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e} (run scripts/fetch-models)", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "gguf"))
        .ok_or_else(|| format!("no .gguf file in {}", dir.display()).into())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> AnyResult<()> {
    let a = parse_args()?;
    let path = match &a.model {
        Some(p) => p.clone(),
        None => default_model()?,
    };
    let quantize = match a.weights.as_str() {
        "stored" => Some(QuantPolicy::Stored),
        "f32" => None,
        other => return Err(format!("--weights is stored or f32, not `{other}`").into()),
    };
    let device = match a.device.as_str() {
        "cpu" => Device::Cpu,
        "cuda" => Device::new_cuda(0)
            .map_err(|e| format!("--device cuda: {e} (build with --features cuda on a GPU machine)"))?,
        other => return Err(format!("--device is cpu or cuda, not `{other}`").into()),
    };
    let dtype = match a.dtype.as_str() {
        "f32" => DType::F32,
        "bf16" => DType::BF16,
        other => return Err(format!("--dtype is f32 or bf16, not `{other}`").into()),
    };
    let start = Instant::now();
    let loaded = LlamaModel::load(
        &path,
        &LlamaLoadOptions {
            quantize,
            dtype,
            device,
            ..Default::default()
        },
    )?;
    let load_s = start.elapsed().as_secs_f64();
    let model = loaded.model;
    let tok = loaded
        .gguf_tokenizer
        .ok_or("a GGUF load comes with its tokenizer")?;

    let mut prompt = Vec::new();
    while prompt.len() < a.prompt_tokens {
        prompt.extend(tok.encode(TEXT)?);
    }
    prompt.truncate(a.prompt_tokens);

    let cfg = GenerateConfig {
        max_new_tokens: a.new_tokens,
        stop_ids: Vec::new(),
        ..Default::default()
    };
    let (mut prompt_s, mut gen_s) = (Vec::new(), Vec::new());
    let mut generated = 0;
    for run in 0..=a.runs {
        let out = generate(&model, &tok.tokenizer, &prompt, &cfg, None, &mut |_| {})?;
        if run == 0 {
            continue;
        }
        generated = out.tokens.len();
        prompt_s.push(out.prompt_seconds);
        gen_s.push(out.generation_seconds);
    }
    let (p, g) = (median(prompt_s), median(gen_s));
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_default();
    println!(
        "{}",
        serde_json::json!({
            "side": "candle",
            "weights": a.weights,
            "threads": threads,
            "device": a.device,
            "dtype": a.dtype,
            "prompt_tokens": prompt.len(),
            "new_tokens": generated,
            "runs": a.runs,
            "prompt_s": p,
            "generation_s": g,
            "prompt_tokens_per_s": prompt.len() as f64 / p,
            "generation_tokens_per_s": generated as f64 / g,
            "load_s": load_s,
            "base_resident_mb": model.base_resident_bytes() as f64 / 1e6,
            "peak_mb": peak_mb(),
            "model": path.display().to_string(),
        })
    );
    Ok(())
}
