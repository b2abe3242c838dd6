//! Dropout whose masks are a pure function of (key, element index), drawn on the input's device.
//!
//! candle's `ops::dropout` draws its mask from the device's own generator, which on the CPU cannot
//! be seeded, and a mask drawn on the host and copied to a GPU costs more than the layer (issue 13:
//! it made LoRA slower than full fine-tuning on an H200). Here a mask element is kept iff
//! `SplitMix64::at(key, i) >> 40 >= floor(p * 2^24)` (24 random bits resolve `p` to 6e-8), a
//! counter-based hash of the element's row-major index `i`: no state, no mask tensor. The op
//! ([`dropout`]) computes it on the fly, where the data is:
//!
//! - CPU: a tight loop (f32 and f64 natively; bf16 and f16 through f32, rounded back).
//! - CUDA: the kernel in `crates/engine/kernels/dropout.cu`, the same hash in integers and the same
//!   single rounded multiply, so CPU and GPU draw the same masks and give the same bits.
//! - Metal: no kernel of ours; the input goes to the CPU, through the op, and back (correct, and a
//!   copy each way: a Metal kernel is the fix when Metal training matters).
//!
//! Kept elements become `x * (1 / (1 - p))` (the expected value is unchanged), dropped ones `+0`.
//! The backward is the same op with the same key applied to the gradient: the graph keeps the input
//! (as `x * mask` did) and no mask.
//!
//! **Keys.** Each call takes the next key from this thread's [`MaskCounter`]: a base key and the
//! ordinal of the call, hashed together (`SplitMix64::at(base, ordinal)`), so a mask is a function
//! of (base, which dropout call of the forward pass it is). The training loop sets the base for each
//! micro-batch from the run's seed, the step and the micro-batch ([`step_key`], [`with_seed`]):
//! masks depend on (seed, step, layer) only, on every device, and a resumed run draws the masks the
//! uninterrupted one would have. Activation checkpointing and the fused LoRA layer replay a block
//! with the masks it drew by capturing the counter ([`generator_state`]) and running again from it
//! ([`with_generator`]); the fused attention takes its key from the same counter ([`draw_seed`]).
//!
//! Outside such a scope (a training-mode forward pass called directly, as tests do) the base is a
//! fixed per-thread constant: reproducible, never the operating system's entropy.
//!
//! Masks differ from those of builds before this op (a sequential xoshiro stream): a run
//! checkpointed by an older build resumes with the new masks, its loss curve continuing from the
//! same weights and optimiser state, not bit for bit the curve the older build would have drawn.

use std::cell::RefCell;
use std::sync::Arc;

use candle_core::{CpuStorage, CustomOp1, Device, Layout, Shape, Tensor, WithDType};
use tunesmith_vocab::SplitMix64;

use crate::{EngineError, Result};

/// The base key of the per-thread counter used outside [`with_seed`].
const UNSCOPED_SEED: u64 = 0x6472_6f70_6f75_74;

/// Keeps the run-seed, step and micro-batch hashes apart from other uses of the same seed.
const STEP_DOMAIN: u64 = 0x6d61_736b_2d73_7465;

const NAME: &str = "tunesmith-dropout";

/// Where this thread's dropout keys come from: a base key and the ordinal of the next call.
/// Cloning it and running again from the clone ([`with_generator`]) hands out the same keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskCounter {
    base: u64,
    next: u64,
}

impl MaskCounter {
    /// A counter at ordinal 0 of `base`.
    pub fn new(base: u64) -> Self {
        MaskCounter { base, next: 0 }
    }

    /// The key of the next dropout call, and the counter moved past it.
    pub fn next_key(&mut self) -> u64 {
        let key = SplitMix64::at(self.base, self.next);
        self.next += 1;
        key
    }
}

thread_local! {
    static COUNTER: RefCell<MaskCounter> = RefCell::new(MaskCounter::new(UNSCOPED_SEED));
}

/// Puts the previous counter back when the scope ends, also if `f` panics.
struct Restore(Option<MaskCounter>);

impl Drop for Restore {
    fn drop(&mut self) {
        if let Some(previous) = self.0.take() {
            COUNTER.with(|g| *g.borrow_mut() = previous);
        }
    }
}

/// The base key of micro-batch `micro` of optimiser step `step` (from 0) of a run seeded with
/// `seed`: what the training loop passes to [`with_seed`].
pub fn step_key(seed: u64, step: u64, micro: u64) -> u64 {
    SplitMix64::at(SplitMix64::at(seed ^ STEP_DOMAIN, step), micro)
}

/// Runs `f` with this thread's dropout keys counted from base `seed` (ordinal 0 first), then
/// restores the counter that was in place before.
pub fn with_seed<R>(seed: u64, f: impl FnOnce() -> R) -> R {
    with_generator(MaskCounter::new(seed), f)
}

/// The key of the next dropout call, for an op that derives its own masks from it (the fused
/// attention regenerates its dropout mask from the key in its backward).
pub fn draw_seed() -> u64 {
    COUNTER.with(|g| g.borrow_mut().next_key())
}

/// This thread's key counter, to replay the same masks later ([`with_generator`]); activation
/// checkpointing recomputes a block with the masks it drew.
pub fn generator_state() -> MaskCounter {
    COUNTER.with(|g| g.borrow().clone())
}

/// Runs `f` with this thread's keys counted from `state` (from [`generator_state`]), then restores
/// the counter that was in place before.
pub fn with_generator<R>(state: MaskCounter, f: impl FnOnce() -> R) -> R {
    let previous = COUNTER.with(|g| g.replace(state));
    let _restore = Restore(Some(previous));
    f()
}

/// Inverted dropout with the next key of this thread's counter: each element of `x` is zeroed
/// with probability `p` and the survivors are scaled by `1 / (1 - p)`, so the expected value is
/// unchanged. Differentiable. `p = 0` returns `x` unchanged and draws no key.
pub fn dropout(x: &Tensor, p: f32) -> Result<Tensor> {
    check_probability(p)?;
    if p == 0.0 {
        return Ok(x.clone());
    }
    dropout_with_key(x, draw_seed(), p)
}

/// Inverted dropout with the mask of `key`: element `i` (row-major) is kept iff
/// [`keeps`]`(key, i, threshold(p))`. A pure function of `(x, key, p)`, on every device.
pub fn dropout_with_key(x: &Tensor, key: u64, p: f32) -> Result<Tensor> {
    check_probability(p)?;
    if p == 0.0 {
        return Ok(x.clone());
    }
    let op = MaskOp::new(key, p, MaskWindow::WHOLE);
    op.apply(x)
}

/// Multiplies `x` by the elements `window` selects of the mask of `key` (see [`MaskWindow`]): a
/// block of a larger virtual mask applied without materialising it (the attention's query
/// blocks). Differentiable.
pub fn dropout_window(x: &Tensor, key: u64, p: f32, window: MaskWindow) -> Result<Tensor> {
    check_probability(p)?;
    if p == 0.0 {
        return Ok(x.clone());
    }
    if window.inner == 0 {
        return Err(EngineError::Invalid(
            "a dropout mask window needs rows of at least one element".into(),
        ));
    }
    MaskOp::new(key, p, window).apply(x)
}

fn check_probability(p: f32) -> Result<()> {
    if !(0.0..1.0).contains(&p) {
        return Err(EngineError::Invalid(format!(
            "a dropout probability must be in [0, 1), got {p}"
        )));
    }
    Ok(())
}

/// The keep threshold of probability `p`: an element is dropped iff its 24 random bits are below
/// it.
#[inline]
pub fn threshold(p: f32) -> u32 {
    (p as f64 * (1u64 << 24) as f64) as u32
}

/// Whether mask element `idx` of `key` is kept, given [`threshold`]`(p)`.
#[inline]
pub fn keeps(key: u64, idx: u64, threshold: u32) -> bool {
    (SplitMix64::at(key, idx) >> 40) as u32 >= threshold
}

/// Which mask element each element of the (contiguous, row-major) input takes: element `e` reads
/// mask position `offset + (e / inner) * stride + e % inner`. [`MaskWindow::WHOLE`] is position `e`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaskWindow {
    /// Consecutive input elements that read consecutive mask positions (a row of the window).
    pub inner: u64,
    /// The distance in the mask between the starts of two rows (0: the rows are contiguous).
    pub stride: u64,
    /// The mask position of the window's first element.
    pub offset: u64,
}

impl MaskWindow {
    /// The whole mask, position `e` for element `e`.
    pub const WHOLE: MaskWindow = MaskWindow {
        inner: u64::MAX,
        stride: 0,
        offset: 0,
    };

    #[inline]
    fn index(&self, e: u64) -> u64 {
        if self.stride == 0 {
            self.offset + e
        } else {
            self.offset + (e / self.inner) * self.stride + e % self.inner
        }
    }
}

/// The dropout op: forward and backward are the same masked scaling.
#[derive(Debug, Clone)]
struct MaskOp {
    key: u64,
    threshold: u32,
    scale: f32,
    window: MaskWindow,
}

impl MaskOp {
    fn new(key: u64, p: f32, window: MaskWindow) -> Self {
        MaskOp {
            key,
            threshold: threshold(p),
            scale: 1.0 / (1.0 - p),
            window,
        }
    }

    /// The op on `x` (made contiguous: the mask follows the row-major index). Metal has no kernel:
    /// there the op runs on the CPU between two copies, which are differentiable themselves.
    fn apply(self, x: &Tensor) -> Result<Tensor> {
        let x = x.contiguous()?;
        if x.device().is_metal() {
            let on_cpu = x
                .to_device(&Device::Cpu)?
                .apply_op1_arc(Arc::new(Box::new(self)))?;
            return Ok(on_cpu.to_device(x.device())?);
        }
        Ok(x.apply_op1_arc(Arc::new(Box::new(self)))?)
    }

    #[inline]
    fn kept(&self, e: usize) -> bool {
        keeps(self.key, self.window.index(e as u64), self.threshold)
    }

    /// The CPU loop over one dtype, computed in f32 (`to`/`from` convert; for f32 they are the
    /// identity) and rounded back, as the CUDA kernel does.
    fn cpu_loop<T: Copy>(&self, x: &[T], zero: T, mul: impl Fn(T) -> T) -> Vec<T> {
        x.iter()
            .enumerate()
            .map(|(e, &v)| if self.kept(e) { mul(v) } else { zero })
            .collect()
    }
}

/// The element range of a contiguous input; the op makes its input contiguous before it runs.
fn contiguous_range(layout: &Layout) -> candle_core::Result<(usize, usize)> {
    layout
        .contiguous_offsets()
        .ok_or_else(|| candle_core::Error::Msg(format!("{NAME}: the input must be contiguous")))
}

/// The refusal of an input that is not floating point (on any device).
fn not_floating_point(dtype: candle_core::DType) -> candle_core::Error {
    candle_core::Error::Msg(format!(
        "{NAME}: dropout needs floating-point input, got {dtype:?}"
    ))
}

fn float<T: WithDType>(scale: f32) -> impl Fn(T) -> T {
    // One f32 multiply, rounded to the element type (bf16, f16) from the f32 product: the f32
    // value is exact in f64, so `from_f64` rounds it once, as the kernel's `__float2bfloat16_rn`.
    move |v: T| T::from_f64((v.to_f64() as f32 * scale) as f64)
}

impl CustomOp1 for MaskOp {
    fn name(&self) -> &'static str {
        NAME
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (start, end) = contiguous_range(layout)?;
        let scale = self.scale;
        let out = match storage {
            CpuStorage::F32(v) => {
                CpuStorage::F32(self.cpu_loop(&v[start..end], 0.0, |x| x * scale))
            }
            CpuStorage::F64(v) => {
                let s = scale as f64;
                CpuStorage::F64(self.cpu_loop(&v[start..end], 0.0, |x| x * s))
            }
            CpuStorage::BF16(v) => CpuStorage::BF16(self.cpu_loop(
                &v[start..end],
                WithDType::from_f64(0.0),
                float(scale),
            )),
            CpuStorage::F16(v) => CpuStorage::F16(self.cpu_loop(
                &v[start..end],
                WithDType::from_f64(0.0),
                float(scale),
            )),
            other => {
                return Err(not_floating_point(
                    candle_core::backend::BackendStorage::dtype(other),
                ))
            }
        };
        Ok((out, layout.shape().clone()))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        storage: &candle_core::CudaStorage,
        layout: &Layout,
    ) -> candle_core::Result<(candle_core::CudaStorage, Shape)> {
        cuda::forward(self, storage, layout)
    }

    fn bwd(&self, _x: &Tensor, _y: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        // d(x * m)/dx = m: the same mask (same key, same window) applied to the gradient.
        let g = self
            .clone()
            .apply(grad)
            .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
        Ok(Some(g))
    }
}

/// The kernel launch (see `crates/engine/kernels/dropout.cu`).
#[cfg(feature = "cuda")]
mod cuda {
    use candle_core::backend::BackendStorage;
    use candle_core::cuda_backend::cudarc::driver::{
        CudaSlice, DeviceRepr, LaunchConfig, PushKernelArg,
    };
    use candle_core::cuda_backend::{CudaStorageSlice, WrapErr};
    use candle_core::{CudaDevice, CudaStorage, Layout, Shape};

    use super::{contiguous_range, not_floating_point, MaskOp, NAME};

    const PTX: &str = include_str!(concat!(env!("OUT_DIR"), "/dropout.ptx"));
    const THREADS: u32 = 256;
    /// Enough blocks to fill any current GPU; the kernel's grid-stride loop covers the rest.
    const MAX_BLOCKS: u64 = 65_535;

    pub(super) fn forward(
        op: &MaskOp,
        storage: &CudaStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CudaStorage, Shape)> {
        let (start, end) = contiguous_range(layout)?;
        let dev = storage.device();
        let slice = match &storage.slice {
            CudaStorageSlice::F32(s) => CudaStorageSlice::F32(run(op, dev, s, start, end, "f32")?),
            CudaStorageSlice::F64(s) => CudaStorageSlice::F64(run(op, dev, s, start, end, "f64")?),
            CudaStorageSlice::BF16(s) => {
                CudaStorageSlice::BF16(run(op, dev, s, start, end, "bf16")?)
            }
            CudaStorageSlice::F16(s) => CudaStorageSlice::F16(run(op, dev, s, start, end, "f16")?),
            _ => return Err(not_floating_point(storage.dtype())),
        };
        Ok((
            CudaStorage {
                slice,
                device: dev.clone(),
            },
            layout.shape().clone(),
        ))
    }

    fn run<T: DeviceRepr>(
        op: &MaskOp,
        dev: &CudaDevice,
        src: &CudaSlice<T>,
        start: usize,
        end: usize,
        dtype: &str,
    ) -> candle_core::Result<CudaSlice<T>> {
        let n = (end - start) as u64;
        // SAFETY: every element is written by the kernel below (n > 0) before anyone reads it.
        let out = unsafe { dev.alloc::<T>(end - start)? };
        if n == 0 {
            return Ok(out);
        }
        let func = dev.get_or_load_custom_func(&format!("tunesmith_dropout_{dtype}"), NAME, PTX)?;
        let src = src.slice(start..end);
        let blocks = n.div_ceil(THREADS as u64).min(MAX_BLOCKS) as u32;
        let cfg = LaunchConfig {
            grid_dim: (blocks, 1, 1),
            block_dim: (THREADS, 1, 1),
            shared_mem_bytes: 0,
        };
        let (key, threshold, scale) = (op.key, op.threshold, op.scale);
        let (inner, stride, offset) = (op.window.inner, op.window.stride, op.window.offset);
        let mut b = func.builder();
        b.arg(&src);
        b.arg(&out);
        b.arg(&n);
        b.arg(&key);
        b.arg(&threshold);
        b.arg(&scale);
        b.arg(&inner);
        b.arg(&stride);
        b.arg(&offset);
        // SAFETY: the argument list matches the kernel's signature (dropout.cu: x, y, n, key,
        // threshold, scale, inner, stride, offset) in types and order; `out` holds n elements.
        unsafe { b.launch(cfg) }.w()?;
        Ok(out)
    }
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
    fn the_mask_is_a_function_of_the_key_and_the_index_only() -> Result<()> {
        // The same key gives the same output whatever happened before; the second call of a scope
        // (the next ordinal, another layer) another mask.
        let x = ones(2000);
        let (first, second) = with_seed(7, || -> Result<_> {
            Ok((
                dropout(&x, 0.5)?.to_vec2::<f32>()?,
                dropout(&x, 0.5)?.to_vec2::<f32>()?,
            ))
        })?;
        assert_ne!(first, second, "two layers of one step drew the same mask");
        let key = MaskCounter::new(7).next_key();
        let direct = dropout_with_key(&x, key, 0.5)?.to_vec2::<f32>()?;
        assert_eq!(direct, first);
        // Element i depends on i only: a prefix of a longer input has the same mask.
        let long = dropout_with_key(&ones(4000), key, 0.5)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        assert_eq!(&long[..2000], &direct.concat()[..]);
        // And each element is exactly the hash's decision.
        let t = threshold(0.5);
        for (i, v) in long.iter().enumerate() {
            assert_eq!(*v != 0.0, keeps(key, i as u64, t), "element {i}");
        }
        Ok(())
    }

    #[test]
    fn the_step_key_depends_on_the_seed_the_step_and_the_micro_batch() {
        let k = step_key(1, 2, 3);
        assert_eq!(k, step_key(1, 2, 3));
        assert_ne!(k, step_key(2, 2, 3));
        assert_ne!(k, step_key(1, 3, 3));
        assert_ne!(k, step_key(1, 2, 4));
    }

    #[test]
    fn about_p_of_the_elements_drop_and_the_survivors_are_scaled_to_keep_the_mean() -> Result<()> {
        let n = 100_000;
        for p in [0.1f32, 0.25, 0.5] {
            let y = with_seed(1, || dropout(&ones(n), p))?;
            let v: Vec<f32> = y.flatten_all()?.to_vec1()?;
            let dropped = v.iter().filter(|&&e| e == 0.0).count() as f64;
            // Five binomial standard deviations: a false alarm about once in 3.5 million runs.
            let (mean, sd) = (
                n as f64 * p as f64,
                (n as f64 * p as f64 * (1.0 - p as f64)).sqrt(),
            );
            assert!(
                (dropped - mean).abs() < 5.0 * sd,
                "p {p}: {dropped} dropped, expected {mean}"
            );
            let scale = 1.0 / (1.0 - p);
            assert!(v.iter().all(|&e| e == 0.0 || e == scale), "p {p}");
        }
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
    fn a_captured_counter_replays_the_same_masks() -> Result<()> {
        let x = ones(500);
        with_seed(4, || -> Result<()> {
            dropout(&x, 0.5)?;
            let state = generator_state();
            let a = dropout(&x, 0.5)?.to_vec2::<f32>()?;
            let b = with_generator(state, || dropout(&x, 0.5))?.to_vec2::<f32>()?;
            assert_eq!(a, b);
            Ok(())
        })
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
    fn the_gradient_matches_finite_differences() -> Result<()> {
        // loss = sum(dropout(x)^2 * w): d/dx = 2 m^2 x w, checked by f64 central differences
        // through the op itself (same key on every evaluation).
        let n = 60;
        let xs: Vec<f64> = (0..n)
            .map(|i| ((i * 37 % 23) as f64 - 11.0) / 7.0)
            .collect();
        let w = Tensor::from_vec(
            (0..n).map(|i| 0.5 + (i % 5) as f64).collect::<Vec<_>>(),
            n,
            &Device::Cpu,
        )?;
        let key = 0xfeed;
        let loss = |x: &Tensor| -> Result<Tensor> {
            Ok((dropout_with_key(x, key, 0.4)?.sqr()? * &w)?.sum_all()?)
        };
        let x = Var::from_vec(xs.clone(), n, &Device::Cpu)?;
        let grads = loss(x.as_tensor())?.backward()?;
        let analytic: Vec<f64> = grads.get(x.as_tensor()).expect("a gradient").to_vec1()?;
        let eps = 1e-5;
        for i in 0..n {
            let at = |d: f64| -> Result<f64> {
                let mut v = xs.clone();
                v[i] += d;
                Ok(loss(&Tensor::from_vec(v, n, &Device::Cpu)?)?.to_scalar::<f64>()?)
            };
            let numeric = (at(eps)? - at(-eps)?) / (2.0 * eps);
            assert!(
                (numeric - analytic[i]).abs() < 1e-6 * (1.0 + numeric.abs()),
                "element {i}: numeric {numeric}, analytic {}",
                analytic[i]
            );
        }
        assert!(analytic.iter().any(|&g| g == 0.0) && analytic.iter().any(|&g| g != 0.0));
        Ok(())
    }

    #[test]
    fn half_precision_inputs_get_the_f32_result_rounded_once() -> Result<()> {
        let x = Tensor::from_vec(
            (0..3000)
                .map(|i| (i as f32 - 1500.0) / 97.0)
                .collect::<Vec<_>>(),
            (30, 100),
            &Device::Cpu,
        )?;
        for dtype in [DType::BF16, DType::F16] {
            let got = dropout_with_key(&x.to_dtype(dtype)?, 77, 0.3)?;
            assert_eq!(got.dtype(), dtype);
            // The f32 path on the same rounded inputs, rounded by candle's own conversion.
            let want = dropout_with_key(&x.to_dtype(dtype)?.to_dtype(DType::F32)?, 77, 0.3)?
                .to_dtype(dtype)?;
            assert_eq!(
                got.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?,
                want.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?,
                "{dtype:?}"
            );
        }
        Ok(())
    }

    #[test]
    fn a_window_applies_a_block_of_a_larger_mask() -> Result<()> {
        // Rows 2..5 of each of 3 planes of a [3, 8, 10] mask, as the attention's query blocks read it.
        let key = 12345;
        let full = dropout_with_key(
            &Tensor::ones((3, 8, 10), DType::F32, &Device::Cpu)?,
            key,
            0.5,
        )?;
        let block = dropout_window(
            &Tensor::ones((3, 3, 10), DType::F32, &Device::Cpu)?,
            key,
            0.5,
            MaskWindow {
                inner: 30,
                stride: 80,
                offset: 20,
            },
        )?;
        assert_eq!(
            block.to_vec3::<f32>()?,
            full.narrow(1, 2, 3)?.to_vec3::<f32>()?
        );
        Ok(())
    }

    #[test]
    fn a_non_contiguous_input_is_masked_by_its_row_major_index() -> Result<()> {
        let x = Tensor::arange(0f32, 200., &Device::Cpu)?.reshape((10, 20))?;
        let t = x.t()?;
        let a = dropout_with_key(&t, 9, 0.5)?;
        let b = dropout_with_key(&t.contiguous()?, 9, 0.5)?;
        assert_eq!(a.to_vec2::<f32>()?, b.to_vec2::<f32>()?);
        Ok(())
    }

    #[test]
    fn an_impossible_probability_is_refused() {
        let err = dropout(&ones(10), 1.0).unwrap_err().to_string();
        assert!(err.contains("dropout"), "{err}");
    }
}
