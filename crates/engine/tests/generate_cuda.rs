//! Generation on a CUDA device against the CPU: the device sampler picks the CPU's ids for the same
//! logits and seed, the preallocated KV cache with the one-query attention gives the CPU's greedy
//! answer on the tiny Llama, lookahead changes nothing, and a bf16 model generates. Runs when the
//! engine is built with `--features cuda` and a GPU is present (the tests skip with a message
//! otherwise):
//!
//! ```text
//! cargo test -p tunesmith-engine --features cuda --test generate_cuda -- --nocapture
//! ```

#![cfg(feature = "cuda")]

use std::path::PathBuf;

use candle_core::{DType, Device, Tensor};
use tunesmith_engine::generate::{
    generate_with_lookahead, DeviceSampler, GenerateConfig, Generated, SamplingConfig, StopReason,
};
use tunesmith_engine::models::llama::{LlamaLoadOptions, LlamaModel};
use tunesmith_testkit::paths::fixtures_dir;
use tunesmith_vocab::SplitMix64;

mod gpu_device;
use gpu_device::gpu;

type R<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// About 40 strong logits over a weak tail (as the sampler's unit tests).
fn logits(seed: u64, vocab: usize) -> Vec<f32> {
    let mut rng = SplitMix64::new(seed);
    (0..vocab)
        .map(|_| {
            let strong = rng.next_f64() < 40.0 / vocab as f64;
            let u = rng.next_f64();
            (if strong { 6.0 + 6.0 * u } else { -2.0 + u }) as f32
        })
        .collect()
}

#[test]
fn the_device_sampler_picks_the_cpus_ids_on_the_gpu() -> R {
    let Some(gpu) = gpu() else { return Ok(()) };
    let cases = [
        (49_152, 0.0, None, None, 1.0),
        (49_152, 0.0, None, None, 1.3),
        (49_152, 1.0, Some(50), Some(0.95), 1.1),
        (49_152, 1.0, None, Some(0.8), 1.0),
        (151_936, 0.7, Some(1024), None, 1.0),
        (300, 1.0, None, None, 1.0),
    ];
    for (n, (vocab, t, k, p, pen)) in cases.into_iter().enumerate() {
        let cfg = SamplingConfig {
            temperature: t,
            top_k: k,
            top_p: p,
            repetition_penalty: pen,
            seed: 7 + n as u64,
        };
        let prompt = [1u32, 2, 2, 9];
        let mut cpu = DeviceSampler::new(&cfg, vocab, &prompt, &Device::Cpu)?;
        let mut dev = DeviceSampler::new(&cfg, vocab, &prompt, &gpu)?;
        for step in 0..16u64 {
            let l = logits(step * 13 + n as u64, vocab);
            let a = cpu.sample(&Tensor::new(l.as_slice(), &Device::Cpu)?)?;
            let b = dev.sample(&Tensor::new(l.as_slice(), &gpu)?)?;
            assert_eq!(
                a.to_vec1::<u32>()?,
                b.to_vec1::<u32>()?,
                "case {n} step {step}: {cfg:?}"
            );
        }
    }
    Ok(())
}

fn tiny(dev: &Device, dtype: DType) -> R<(LlamaModel, tokenizers::Tokenizer, Vec<u32>)> {
    let dir: PathBuf = fixtures_dir().join("tiny-llama");
    let model = LlamaModel::load(
        &dir,
        &LlamaLoadOptions {
            dtype,
            device: dev.clone(),
            ..Default::default()
        },
    )?
    .model;
    let tok = tokenizers::Tokenizer::from_file(dir.join("tokenizer.json"))
        .map_err(|e| format!("the tiny Llama's tokenizer: {e}"))?;
    let prompt = tok
        .encode(
            "<|im_start|>user\ncapital of france?<|im_end|>\n<|im_start|>assistant\n",
            false,
        )
        .map_err(|e| format!("encoding the prompt: {e}"))?
        .get_ids()
        .to_vec();
    Ok((model, tok, prompt))
}

fn run(
    model: &LlamaModel,
    tok: &tokenizers::Tokenizer,
    prompt: &[u32],
    lookahead: bool,
) -> R<Generated> {
    let cfg = GenerateConfig {
        max_new_tokens: 300,
        ..Default::default()
    };
    Ok(generate_with_lookahead(
        model,
        tok,
        prompt,
        &cfg,
        None,
        &mut |_| {},
        lookahead,
    )?)
}

#[test]
fn greedy_generation_on_the_gpu_gives_the_cpus_answer_with_and_without_lookahead() -> R {
    let Some(gpu) = gpu() else { return Ok(()) };
    let (cpu_model, tok, prompt) = tiny(&Device::Cpu, DType::F32)?;
    let (gpu_model, _, _) = tiny(&gpu, DType::F32)?;
    let want = run(&cpu_model, &tok, &prompt, false)?;
    // Up to the tiny model's context (128 positions): the whole cache in use.
    for lookahead in [false, true] {
        let got = run(&gpu_model, &tok, &prompt, lookahead)?;
        assert_eq!(got.stop, want.stop);
        // f32 on both sides; the first tokens must agree exactly (near-ties later may flip).
        assert_eq!(got.tokens[..32], want.tokens[..32], "lookahead {lookahead}");
        eprintln!(
            "tiny Llama on CUDA, f32, lookahead {lookahead}: {} tokens at {:.0} tokens/s",
            got.tokens.len(),
            got.tokens_per_second()
        );
    }
    Ok(())
}

#[test]
fn a_bf16_model_generates_on_the_gpu_close_to_f32() -> R {
    let Some(gpu) = gpu() else { return Ok(()) };
    let (model, tok, prompt) = tiny(&gpu, DType::BF16)?;
    let (f32_model, _, _) = tiny(&gpu, DType::F32)?;
    let out = run(&model, &tok, &prompt, true)?;
    assert_eq!(out.stop, StopReason::ContextFull);
    let f32_out = run(&f32_model, &tok, &prompt, true)?;
    let same = out
        .tokens
        .iter()
        .zip(&f32_out.tokens)
        .take_while(|(a, b)| a == b)
        .count();
    eprintln!(
        "tiny Llama on CUDA, bf16: {:.0} tokens/s; the first {same} tokens equal f32's",
        out.tokens_per_second()
    );
    assert!(same >= 1, "bf16's first token differs from f32's");
    Ok(())
}
