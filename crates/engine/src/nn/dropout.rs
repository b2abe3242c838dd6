//! Dropout whose masks come from the training run's seeded generator.
//!
//! candle's `ops::dropout` draws its mask from the device's own generator, which on the CPU cannot
//! be seeded: two runs with the same seed would see different masks, hence different loss curves,
//! and a resumed run would not continue the interrupted one. Here every mask is drawn from a
//! per-thread [`Rng`] that the training loop replaces, for the duration of each loss computation,
//! with one seeded from the run's checkpointed generator ([`with_seed`]). A run's masks are then a
//! function of its seed and its step, on every platform and after a resume.
//!
//! Outside such a scope (a training-mode forward pass called directly, as tests do) masks come from
//! a per-thread generator with a fixed seed: reproducible, never the operating system's entropy.
//!
//! The mask is drawn on the CPU and moved to the input's device: for the layer sizes we train that
//! costs milliseconds a step, and it keeps CPU, CUDA and Metal runs on the same masks.

use std::cell::RefCell;

use candle_core::{Device, Tensor};

use crate::train::Rng;
use crate::{EngineError, Result};

/// The seed of the per-thread generator used outside [`with_seed`].
const UNSCOPED_SEED: u64 = 0x6472_6f70_6f75_74;

thread_local! {
    static GENERATOR: RefCell<Rng> = RefCell::new(Rng::new(UNSCOPED_SEED));
}

/// Puts the previous generator back when the scope ends, also if `f` panics.
struct Restore(Option<Rng>);

impl Drop for Restore {
    fn drop(&mut self) {
        if let Some(previous) = self.0.take() {
            GENERATOR.with(|g| *g.borrow_mut() = previous);
        }
    }
}

/// Runs `f` with this thread's dropout masks drawn from a generator seeded with `seed`, then
/// restores the generator that was in place before.
pub fn with_seed<R>(seed: u64, f: impl FnOnce() -> R) -> R {
    let previous = GENERATOR.with(|g| g.replace(Rng::new(seed)));
    let _restore = Restore(Some(previous));
    f()
}

/// A fresh 64-bit seed drawn from this thread's mask generator, for an op that derives its own
/// masks from it (the fused attention regenerates its dropout mask from the seed in its backward).
pub fn draw_seed() -> u64 {
    GENERATOR.with(|g| g.borrow_mut().next_u64())
}

/// The state of this thread's mask generator, to replay the same masks later
/// ([`with_generator`]); activation checkpointing recomputes a block with the masks it drew.
pub fn generator_state() -> Rng {
    GENERATOR.with(|g| g.borrow().clone())
}

/// Runs `f` with this thread's masks drawn from `state` (from [`generator_state`]), then restores
/// the generator that was in place before.
pub fn with_generator<R>(state: Rng, f: impl FnOnce() -> R) -> R {
    let previous = GENERATOR.with(|g| g.replace(state));
    let _restore = Restore(Some(previous));
    f()
}

/// Inverted dropout: each element of `x` is zeroed with probability `p` and the survivors are
/// scaled by `1 / (1 - p)`, so the expected value is unchanged. Differentiable (the mask is a
/// constant of the graph). `p = 0` returns `x` unchanged.
pub fn dropout(x: &Tensor, p: f32) -> Result<Tensor> {
    if !(0.0..1.0).contains(&p) {
        return Err(EngineError::Invalid(format!(
            "a dropout probability must be in [0, 1), got {p}"
        )));
    }
    if p == 0.0 {
        return Ok(x.clone());
    }
    let n = x.elem_count();
    let scale = 1.0 / (1.0 - p);
    // 24 random bits per element (two elements per draw) resolve `p` to 6e-8: plenty for dropout.
    let threshold = (p as f64 * (1u64 << 24) as f64) as u32;
    let keep = |bits: u32| if bits >= threshold { scale } else { 0.0 };
    let mask: Vec<f32> = GENERATOR.with(|g| {
        let mut g = g.borrow_mut();
        let mut mask = Vec::with_capacity(n);
        while mask.len() < n {
            let r = g.next_u64();
            mask.push(keep((r >> 40) as u32));
            if mask.len() < n {
                mask.push(keep(((r >> 8) & 0xFF_FFFF) as u32));
            }
        }
        mask
    });
    let mask = Tensor::from_vec(mask, x.shape(), &Device::Cpu)?
        .to_device(x.device())?
        .to_dtype(x.dtype())?;
    Ok(x.mul(&mask)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Var};

    fn ones(n: usize) -> Tensor {
        Tensor::ones((n / 10, 10), DType::F32, &Device::Cpu).expect("tensor")
    }

    #[test]
    fn the_same_seed_gives_the_same_mask_and_another_seed_another() -> Result<()> {
        let x = ones(1000);
        let a = with_seed(7, || dropout(&x, 0.3))?.to_vec2::<f32>()?;
        let b = with_seed(7, || dropout(&x, 0.3))?.to_vec2::<f32>()?;
        let c = with_seed(8, || dropout(&x, 0.3))?.to_vec2::<f32>()?;
        assert_eq!(a, b);
        assert_ne!(a, c);
        Ok(())
    }

    #[test]
    fn about_p_of_the_elements_drop_and_the_survivors_are_scaled_to_keep_the_mean() -> Result<()> {
        let x = ones(100_000);
        let y = with_seed(1, || dropout(&x, 0.25))?;
        let v: Vec<f32> = y.flatten_all()?.to_vec1()?;
        let dropped = v.iter().filter(|&&e| e == 0.0).count() as f64 / v.len() as f64;
        assert!((dropped - 0.25).abs() < 0.01, "{dropped}");
        assert!(v.iter().all(|&e| e == 0.0 || (e - 4.0 / 3.0).abs() < 1e-6));
        let mean = v.iter().map(|&e| e as f64).sum::<f64>() / v.len() as f64;
        assert!((mean - 1.0).abs() < 0.02, "{mean}");
        Ok(())
    }

    #[test]
    fn the_previous_generator_is_back_after_a_scope() -> Result<()> {
        let x = ones(100);
        let outer = with_seed(3, || -> Result<_> {
            let first = dropout(&x, 0.5)?.to_vec2::<f32>()?;
            with_seed(99, || dropout(&x, 0.5))?;
            let second = dropout(&x, 0.5)?.to_vec2::<f32>()?;
            Ok((first, second))
        })?;
        let expected = with_seed(3, || -> Result<_> {
            let first = dropout(&x, 0.5)?.to_vec2::<f32>()?;
            let second = dropout(&x, 0.5)?.to_vec2::<f32>()?;
            Ok((first, second))
        })?;
        assert_eq!(outer, expected);
        Ok(())
    }

    #[test]
    fn gradients_flow_through_the_kept_elements_only() -> Result<()> {
        let v = Var::from_tensor(&ones(100))?;
        let y = with_seed(5, || dropout(v.as_tensor(), 0.5))?;
        let g = y.sum_all()?.backward()?;
        let grad = g.get(v.as_tensor()).expect("a gradient").to_vec2::<f32>()?;
        assert_eq!(grad, y.to_vec2::<f32>()?);
        Ok(())
    }

    #[test]
    fn an_impossible_probability_is_refused() {
        let err = dropout(&ones(10), 1.0).unwrap_err().to_string();
        assert!(err.contains("dropout"), "{err}");
    }
}
