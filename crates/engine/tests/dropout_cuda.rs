//! The dropout kernel (crates/engine/kernels/dropout.cu) against the CPU loop, bit for bit, when
//! the engine is built with `--features cuda` and a GPU is present (the tests skip with a message
//! otherwise):
//!
//! ```text
//! cargo test -p tunesmith-engine --features cuda --test dropout_cuda
//! ```

#![cfg(feature = "cuda")]

use candle_core::{DType, Device, Tensor, Var};
use tunesmith_engine::nn::dropout::{
    dropout, dropout_window, dropout_with_key, with_seed, MaskWindow,
};
use tunesmith_engine::train::Rng;

mod gpu_device;
use gpu_device::gpu;

type R<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// Values spread over several binades, negatives and exact zeros included.
fn random(n: usize, seed: u64) -> R<Tensor> {
    let mut rng = Rng::new(seed);
    let v: Vec<f64> = (0..n)
        .map(|i| {
            if i % 97 == 0 {
                0.0
            } else {
                (rng.next_f64() * 2.0 - 1.0) * 10f64.powi((i % 7) as i32 - 3)
            }
        })
        .collect();
    Ok(Tensor::from_vec(v, n, &Device::Cpu)?)
}

/// The bits of `t`'s elements (after a lossless move to f64 on the CPU).
fn bits(t: &Tensor) -> R<Vec<u64>> {
    Ok(t.to_device(&Device::Cpu)?
        .to_dtype(DType::F64)?
        .flatten_all()?
        .to_vec1::<f64>()?
        .into_iter()
        .map(f64::to_bits)
        .collect())
}

#[test]
fn the_kernel_draws_the_cpu_mask_and_gives_the_cpu_bits_in_every_float_dtype() -> R {
    let Some(dev) = gpu() else { return Ok(()) };
    // Odd sizes (a partial last block), and one larger than the launch's grid-stride step
    // (65,535 blocks of 256 threads) in f32 only, to keep the CPU side short.
    let cases = [1usize, 1000, 65_537]
        .into_iter()
        .flat_map(|n| [DType::F32, DType::F64, DType::BF16, DType::F16].map(|d| (n, d)))
        .chain([(17_000_001, DType::F32)]);
    for (n, dtype) in cases {
        let x = random(n, n as u64)?.to_dtype(dtype)?;
        for (key, p) in [
            (1u64, 0.1f32),
            (0xdead_beef_0123_4567, 0.5),
            (u64::MAX, 0.9),
        ] {
            let cpu = dropout_with_key(&x, key, p)?;
            let cuda = dropout_with_key(&x.to_device(&dev)?, key, p)?;
            assert_eq!(cuda.dtype(), dtype);
            assert!(
                bits(&cpu)? == bits(&cuda)?,
                "n {n}, {dtype:?}, key {key:#x}, p {p}: CPU and CUDA differ"
            );
        }
    }
    Ok(())
}

#[test]
fn a_window_and_a_scoped_counter_give_the_cpu_masks_on_the_gpu() -> R {
    let Some(dev) = gpu() else { return Ok(()) };
    let x = random(3 * 5 * 40, 3)?
        .to_dtype(DType::F32)?
        .reshape((3, 5, 40))?;
    let window = MaskWindow {
        inner: 5 * 40,
        stride: 9 * 40,
        offset: 2 * 40,
    };
    let cpu = dropout_window(&x, 42, 0.3, window)?;
    let cuda = dropout_window(&x.to_device(&dev)?, 42, 0.3, window)?;
    assert_eq!(bits(&cpu)?, bits(&cuda)?);
    let scoped = |d: &Device| -> R<Vec<u64>> {
        let xd = x.to_device(d)?;
        let y = with_seed(5, || -> R<Tensor> {
            let a = dropout(&xd, 0.2)?;
            Ok(dropout(&a, 0.4)?)
        })?;
        bits(&y)
    };
    assert_eq!(scoped(&Device::Cpu)?, scoped(&dev)?);
    Ok(())
}

#[test]
fn the_gradient_on_the_gpu_is_the_cpus() -> R {
    let Some(dev) = gpu() else { return Ok(()) };
    let grad_on = |d: &Device| -> R<Vec<u64>> {
        let x = Var::from_tensor(&random(4096, 8)?.to_dtype(DType::F32)?.to_device(d)?)?;
        let w = random(4096, 9)?.to_dtype(DType::F32)?.to_device(d)?;
        let loss = (dropout_with_key(x.as_tensor(), 77, 0.25)? * w)?.sum_all()?;
        let g = loss.backward()?;
        bits(g.get(x.as_tensor()).ok_or("no gradient")?)
    };
    assert_eq!(grad_on(&Device::Cpu)?, grad_on(&dev)?);
    Ok(())
}
