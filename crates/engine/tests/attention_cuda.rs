//! The fused attention on a CUDA device (the blockwise tensor-op path) against the CPU kernel, and
//! activation checkpointing on CUDA, when the engine is built with `--features cuda` and a GPU is
//! present (the tests skip with a message otherwise):
//!
//! ```text
//! cargo test -p tunesmith-engine --features cuda --test attention_cuda
//! ```

#![cfg(feature = "cuda")]

use candle_core::{DType, Device, Tensor, Var};
use tunesmith_engine::nn::attention::{attention, AttentionSpec};
use tunesmith_engine::nn::dropout::with_seed;
use tunesmith_engine::train::Rng;

mod gpu_device;
use gpu_device::gpu;

type R<T = ()> = Result<T, Box<dyn std::error::Error>>;

fn random(shape: (usize, usize, usize, usize), seed: u64) -> R<Tensor> {
    let mut rng = Rng::new(seed);
    let n = shape.0 * shape.1 * shape.2 * shape.3;
    let v: Vec<f32> = (0..n)
        .map(|_| (rng.next_f64() * 4.0 - 2.0) as f32)
        .collect();
    Ok(Tensor::from_vec(v, shape, &Device::Cpu)?)
}

/// Output and q/k/v gradients of `sum(attention * w)` on `dev` in `dtype`, back on the CPU in f32.
fn run(dev: &Device, dtype: DType, spec: &AttentionSpec) -> R<Vec<Vec<f32>>> {
    let (b, h, kvh, t, d) = (2, 6, 2, 70, 16);
    let to = |t: Tensor| -> R<Var> { Ok(Var::from_tensor(&t.to_dtype(dtype)?.to_device(dev)?)?) };
    let q = to(random((b, h, t, d), 1)?)?;
    let k = to(random((b, kvh, t, d), 2)?)?;
    let v = to(random((b, kvh, t, d), 3)?)?;
    let w = random((b, h, t, d), 4)?.to_dtype(dtype)?.to_device(dev)?;
    let mut spec = spec.clone();
    spec.key_mask = match &spec.key_mask {
        Some(m) => Some(m.to_device(dev)?),
        None => None,
    };
    let out = with_seed(7, || attention(q.as_tensor(), k.as_tensor(), v.as_tensor(), &spec))?;
    let grads = (&out * &w)?.sum_all()?.backward()?;
    let flat = |t: &Tensor| -> R<Vec<f32>> {
        Ok(t.to_device(&Device::Cpu)?
            .to_dtype(DType::F32)?
            .flatten_all()?
            .to_vec1()?)
    };
    let mut all = vec![flat(&out)?];
    for x in [&q, &k, &v] {
        all.push(flat(grads.get(x.as_tensor()).ok_or("a gradient is missing")?)?);
    }
    Ok(all)
}

#[test]
fn cuda_attention_matches_the_cpu_kernel_with_masks_grouping_and_dropout() -> R {
    let Some(dev) = gpu() else { return Ok(()) };
    let mut mask = vec![1u32; 2 * 70];
    mask[60..70].iter_mut().for_each(|m| *m = 0);
    for (causal, key_mask, dropout) in [
        (true, false, 0.0),
        (true, true, 0.0),
        (false, true, 0.1),
    ] {
        let spec = AttentionSpec {
            scale: 0.25,
            causal,
            offset: 0,
            key_mask: key_mask
                .then(|| Tensor::from_vec(mask.clone(), (2, 70), &Device::Cpu))
                .transpose()?,
            dropout,
        };
        let cpu = run(&Device::Cpu, DType::F32, &spec)?;
        let cuda = run(&dev, DType::F32, &spec)?;
        let bf16 = run(&dev, DType::BF16, &spec)?;
        for (i, name) in ["output", "dq", "dk", "dv"].iter().enumerate() {
            let diff = |a: &[f32], b: &[f32]| {
                a.iter()
                    .zip(b)
                    .map(|(x, y)| (x - y).abs())
                    .fold(0f32, f32::max)
            };
            let scale = cpu[i].iter().fold(0f32, |m, x| m.max(x.abs())).max(1.0);
            let f32_diff = diff(&cpu[i], &cuda[i]);
            assert!(f32_diff <= 1e-4 * scale, "{name}: f32 CUDA differs by {f32_diff}");
            let bf16_diff = diff(&cpu[i], &bf16[i]);
            assert!(bf16_diff <= 5e-2 * scale, "{name}: bf16 CUDA differs by {bf16_diff}");
        }
    }
    Ok(())
}
