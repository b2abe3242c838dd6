//! A frozen linear base stored quantised (QLoRA), whose gradient still reaches its input.
//!
//! candle's `QMatMul::forward` runs the quantised matmul with no backward: anything below it (LoRA
//! factors in earlier layers, the embedding) would silently stop training. [`QuantizedBase`] runs the
//! product through a custom op whose backward computes `dL/dx = dL/dy · W` with the weight
//! dequantised on the fly, so the frozen base costs its quantised size at rest and a transient dense
//! copy of one layer while that layer's product runs.
//!
//! # Choosing the quantisation (measured, see `QuantPolicy`)
//!
//! K-quants (Q4K) need the input width to be a multiple of 256; SmolLM2's 576 is not. On CPU,
//! candle's Q4K and Q8_0 kernels are both several times faster than f32, while Q4_0 is slower than
//! f32 and Q4_1 slower still (FIELD-NOTES; `tests/decoder_qlora.rs` prints this machine's numbers
//! with `--ignored`). So on the CPU the 4-bit default is Q4K wherever the width allows it and Q8_0
//! elsewhere; both keep the base well under 35 % of its f32 size. On a GPU every product is a
//! dequantised dense one (below), so kernel speed does not depend on the block type and the default
//! is 4-bit for every width: Q4K where it fits, else Q4_0 (18 bytes per 32 weights, 28 % of bf16;
//! Q4_1's 20 bytes would be 31 %). `tests/qlora_cuda.rs` checks the SmolLM2-135M shape's base.
//!
//! # On a GPU: dequantised, layer by layer, never candle's quantised matmul
//!
//! Measured on an H200 (issue 13): QLoRA on the SmolLM2-135M shape gave NaN from the first
//! evaluation on CUDA while the tiny fixture (all Q8_0) matched the CPU. What candle 0.11.1 does with
//! such a product, read from `candle-core/src/quantized/{cuda,fast_mmq}.rs` and candle-kernels'
//! `mmq_gguf/`: `QCudaStorage::fwd` sends any input of more than 8 rows (`[2*64, 1536]` here, the
//! only Q4K layer of that shape being `down_proj`, 576 x 1536) to `fast_mmq::try_fwd`, llama.cpp's
//! MMQ port: the activations are re-quantised to 8 bits in `block_q8_1_mmq` tiles, each row padded
//! with zeros to a multiple of `MATRIX_ROW_PADDING` = 512 (and of 128), then the int8 tensor-core
//! tile kernel runs with stream-k over the SMs (a fix-up pass when tiles do not divide evenly) and
//! `need_check` because 576 rows are not a multiple of its 128-row tile. Its assumptions and what
//! differs between the Q4K and the (working) Q8_0 layers:
//! - Q4K (like Q4_0, Q4_1, Q5_1, Q5K) takes the `DS4` activation layout, which stores each 32-value
//!   block's scale *and sum* as one `half2`; Q8_0 takes `D4` (f32 scales, no sums). The sum feeds the
//!   `-dmin * m * sum(x)` term, so any block of activations whose sum leaves f16's range (|sum| >
//!   65504) becomes ±inf, and `m = 0` (common in a 6-bit sub-block minimum) turns it into NaN. The
//!   weight's per-sub-block scales are also multiplied out in f16 (`dm * half2(sc, m)`), where
//!   small random-init scales fall into f16's subnormal range.
//! - The output buffer is `alloc`, not `alloc_zeros`, and neither the launch nor the
//!   `cudaFuncSetAttribute` that raises the shared-memory limit is checked: a tile kernel that does
//!   not launch (or an `mmq_x` choice that falls through the `switch` to `default: break`) leaves
//!   uninitialised memory, which reads as NaN as often as not.
//! - `QCudaStorage::quantize` (a weight quantised on the device) allocates its 512-element tail
//!   padding with `alloc` too (the GGUF loader uses `alloc_zeros`); kernels that read a whole
//!   256-wide K step past a row's end (Q8_0 at widths that are not multiples of 256) multiply that
//!   garbage by zero-padded activations, which is NaN if the garbage is an f16 NaN or inf.
//!
//! Which of these fired could not be pinned down without the GPU; the `#[ignore]`d test
//! `candle_s_quantised_kernel_agrees_with_the_dequantised_product_on_cuda` in
//! `tests/qlora_cuda.rs` prints candle's error per block type and shape when run there. Rather
//! than depend on it, on a GPU the forward and the backward both dequantise the weight into the
//! activations' dtype (bf16 under mixed precision, else f32) with candle's plain per-block
//! dequantisation kernels and run one dense cuBLAS product, and drop the dense copy right after:
//! it lives inside the op, never in the autograd graph. Generation on a GPU does the same (the
//! one-row decode path, `fast_mmvq`, was never shown correct for 4-bit types either).

use std::sync::Arc;

use candle_core::backend::BackendStorage;
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{CpuStorage, CustomOp1, DType, Device, Layout, Shape, Storage, Tensor};

use crate::nn::linear::LinearBase;
use crate::{EngineError, Result};

/// How a frozen base is quantised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuantPolicy {
    /// 4-bit (Q4K) where the input width is a multiple of 256; elsewhere 8-bit (Q8_0) on the CPU
    /// (its kernel is fast there) and 4-bit (Q4_0) on a GPU (see [`QuantPolicy::dtype_on`]).
    #[default]
    Four,
    /// 4-bit everywhere a 32-wide block fits (Q4K where possible, else Q4_0): smallest, slowest on CPU.
    FourStrict,
    /// 8-bit (Q8_0) everywhere: larger, about as fast as Q4K on CPU, closest to the original weights.
    Eight,
    /// Keep a GGUF file's own quantisation, weight by weight (quantised inference): a type with a
    /// vectorised CPU kernel stays as stored, any other block type is re-quantised to Q8_0 (see
    /// [`for_inference`]); weights the file stores dense stay dense. Dense checkpoints (safetensors)
    /// are quantised as with [`QuantPolicy::Four`].
    Stored,
}

impl QuantPolicy {
    /// The quantisation type for a weight whose rows are `in_features` wide and that will live on
    /// `device`: [`QuantPolicy::dtype_for`] on the CPU; on a GPU, where every product is a
    /// dequantised dense one and the CPU kernels' speed is no reason for 8 bits, `Four` (and
    /// `Stored`'s choice for dense weights) becomes 4-bit everywhere, as [`QuantPolicy::FourStrict`].
    pub fn dtype_on(self, in_features: usize, device: &Device) -> Result<GgmlDType> {
        self.dtype_placed(in_features, !device.is_cpu())
    }

    /// [`QuantPolicy::dtype_on`] for a weight that will live on a GPU (`on_gpu`) or on the CPU.
    pub fn dtype_placed(self, in_features: usize, on_gpu: bool) -> Result<GgmlDType> {
        match self {
            QuantPolicy::Four | QuantPolicy::Stored if on_gpu => {
                QuantPolicy::FourStrict.dtype_for(in_features)
            }
            policy => policy.dtype_for(in_features),
        }
    }

    /// The quantisation type for a weight whose rows are `in_features` wide on the CPU, or an error
    /// when no block size divides the width.
    pub fn dtype_for(self, in_features: usize) -> Result<GgmlDType> {
        let fits = |d: GgmlDType| in_features % d.block_size() == 0;
        let choice = match self {
            QuantPolicy::Four if fits(GgmlDType::Q4K) => GgmlDType::Q4K,
            QuantPolicy::Four => GgmlDType::Q8_0,
            QuantPolicy::FourStrict if fits(GgmlDType::Q4K) => GgmlDType::Q4K,
            QuantPolicy::FourStrict => GgmlDType::Q4_0,
            QuantPolicy::Eight => GgmlDType::Q8_0,
            QuantPolicy::Stored => return QuantPolicy::Four.dtype_for(in_features),
        };
        if fits(choice) {
            Ok(choice)
        } else {
            Err(EngineError::Invalid(format!(
                "a layer {in_features} wide cannot be quantised ({choice:?} needs a multiple of {}); \
                 use LoRA on the full-precision model instead",
                choice.block_size()
            )))
        }
    }
}

/// Whether candle 0.11's CPU matmul for `dtype` is vectorised (AVX2 on x86-64, NEON on ARM).
///
/// Q4_0, Q8_0 and the K-quants have SIMD dot products; Q4_1, Q5_0, Q5_1 and Q8_1 run candle's
/// scalar reference loop, about ten times slower than f32 (FIELD-NOTES: a 2048x2048 Q4_1 layer at
/// 512 tokens 755-1373 ms against f32's 62-78 ms).
pub fn cpu_kernel_is_vectorised(dtype: GgmlDType) -> bool {
    matches!(
        dtype,
        GgmlDType::Q4_0
            | GgmlDType::Q8_0
            | GgmlDType::Q2K
            | GgmlDType::Q3K
            | GgmlDType::Q4K
            | GgmlDType::Q5K
            | GgmlDType::Q6K
    )
}

/// A quantised weight as quantised inference uses it: as stored when its CPU kernel is vectorised
/// (or it lives on a GPU, whose kernels cover every GGUF type), otherwise re-quantised to Q8_0.
///
/// Re-quantising a 4- or 5-bit block to Q8_0 adds at most half an 8-bit step, `max|w| / 254` per
/// weight of the block, typically a tenth or less of the file's own 4-bit step `(max - min) / 15`,
/// and Q8_0's AVX2 kernel is many times faster than the scalar one. Measured on SmolLM2-135M Q4_1
/// (the chat prompt of `tests/decoder_real_models.rs`): the next-token distribution's KL divergence
/// from the dequantised f32 model is 0.0013 nats (f32 activations); with every matmul through the
/// 8-bit-activation kernel, 0.0068 re-quantised against 0.0014 kept as Q4_1; same greedy answer.
pub fn for_inference(q: QTensor) -> Result<QTensor> {
    let device = q.device();
    if !device.is_cpu() || cpu_kernel_is_vectorised(q.dtype()) {
        return Ok(q);
    }
    let Ok((_, in_f)) = q.shape().dims2() else {
        return Ok(q);
    };
    if in_f % GgmlDType::Q8_0.block_size() != 0 {
        return Ok(q);
    }
    Ok(QTensor::quantize(&q.dequantize(&device)?, GgmlDType::Q8_0)?)
}

/// From this many input rows on, the CPU forward dequantises the weight and runs a dense matmul.
///
/// candle's quantised CPU matmul is one dot product per (row, output) pair with no tiling: it
/// wins for one row (generating a token reads each weight once, in its small quantised form) but
/// loses to the dense GEMM once a few rows share the weight. Measured on SmolLM2-135M (Q8_0, one
/// thread, 128-token prompt): 28 prompt tokens/s quantised against 84 with f32 weights, and 93-114
/// with this switch. The dense copy lives inside the op for one product (never in the autograd
/// graph, so a QLoRA step keeps only the quantised base), and the resident size stays quantised.
pub const DENSE_FROM_ROWS: usize = 8;

/// The custom op: on the CPU the forward is candle's quantised matmul (or, from
/// [`DENSE_FROM_ROWS`] rows on, a dense matmul with the weight dequantised for the product); on a
/// GPU always the dense product with the weight dequantised into the input's dtype. The backward
/// uses the dequantised weight on every device.
struct QMatMulWithGrad(Arc<QTensor>);

/// `x W^T` for a contiguous `x` (`[..., k]`, any float dtype) with `W` (`n x k`) dequantised into
/// `x`'s dtype on `device` for this one product, run by the storage's own dense matmul (a BLAS GEMM
/// on the CPU, cuBLAS on CUDA). The dense weight is a fresh tensor outside any autograd graph,
/// dropped when this returns; the activations are read in place (no copy in or out). `storage`
/// picks `x`'s backend storage out of the dequantised weight's.
fn dense_product<S: BackendStorage>(
    w: &QTensor,
    x: &S,
    l: &Layout,
    device: &Device,
    storage: impl for<'a> Fn(&'a Storage) -> Option<&'a S>,
) -> candle_core::Result<(S, Shape)> {
    let (n, k) = w.shape().dims2()?;
    let Some((start, _)) = l.contiguous_offsets() else {
        candle_core::bail!("the quantised product needs a contiguous input, got {l:?}")
    };
    if k == 0 || l.dims().last() != Some(&k) {
        candle_core::bail!(
            "a quantised layer {k} wide got an input of shape {:?}",
            l.dims()
        )
    }
    let rows = l.shape().elem_count() / k;
    // candle dequantises into f32 (its per-block kernels on CUDA); one cast to the activations'
    // dtype (a no-op for f32) keeps the product in the dtype the rest of the model runs in.
    let dense = w.dequantize(device)?.to_dtype(x.dtype())?;
    let (ws, wl) = dense.storage_and_layout();
    let Some(w_s) = storage(&*ws) else {
        candle_core::bail!("the dequantised weight is not on the input's device")
    };
    let y = x.matmul(
        w_s,
        (1, rows, n, k),
        &Layout::contiguous_with_offset((rows, k), start),
        &wl.transpose(0, 1)?,
    )?;
    let mut dims = l.shape().dims().to_vec();
    if let Some(last) = dims.last_mut() {
        *last = n;
    }
    Ok((y, Shape::from(dims)))
}

impl CustomOp1 for QMatMulWithGrad {
    fn name(&self) -> &'static str {
        "tunesmith-qmatmul"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let (_, k) = self.0.shape().dims2()?;
        let rows = l.shape().elem_count() / k.max(1);
        // candle's kernel takes f32 only; it wins for a few rows (see DENSE_FROM_ROWS).
        let dense = rows >= DENSE_FROM_ROWS || !matches!(s, CpuStorage::F32(_));
        if dense && l.is_contiguous() {
            dense_product(&self.0, s, l, &Device::Cpu, |st| match st {
                Storage::Cpu(c) => Some(c),
                _ => None,
            })
        } else {
            self.0.cpu_fwd(s, l)
        }
    }

    fn cuda_fwd(
        &self,
        s: &candle_core::CudaStorage,
        l: &Layout,
    ) -> candle_core::Result<(candle_core::CudaStorage, Shape)> {
        // Never candle's quantised CUDA matmul (see the module docs: NaN on Q4K layers).
        let device = Device::Cuda(s.device().clone());
        dense_product(&self.0, s, l, &device, |st| match st {
            Storage::Cuda(c) => Some(c),
            _ => None,
        })
    }

    fn metal_fwd(
        &self,
        s: &candle_core::MetalStorage,
        l: &Layout,
    ) -> candle_core::Result<(candle_core::MetalStorage, Shape)> {
        // The same dequantised product as on CUDA: one code path for every GPU.
        let device = Device::Metal(s.device().clone());
        dense_product(&self.0, s, l, &device, |st| match st {
            Storage::Metal(m) => Some(m),
            _ => None,
        })
    }

    fn bwd(
        &self,
        arg: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(
            qmatmul_input_grad(&self.0, grad_res)?.to_dtype(arg.dtype())?,
        ))
    }
}

/// `dL/dx` of `y = x W^T` for `dL/dy` = `grad` (`[..., out]`): `grad W`, with `W` (`out x in`)
/// dequantised into `grad`'s dtype on `grad`'s device for this one product (candle's per-block
/// dequantisation kernel on CUDA, never its quantised matmul).
fn qmatmul_input_grad(w: &QTensor, grad: &Tensor) -> candle_core::Result<Tensor> {
    let w = w.dequantize(grad.device())?.to_dtype(grad.dtype())?;
    let dims = grad.dims().to_vec();
    let out = *dims.last().unwrap_or(&1);
    let rows = grad.elem_count() / out.max(1);
    let g = grad.contiguous()?.reshape((rows, out))?.matmul(&w)?;
    let mut shape = dims;
    if let Some(last) = shape.last_mut() {
        *last = w.dims()[1];
    }
    g.reshape(shape)
}

/// `x W^T + b` for `x` of shape `[..., in]` through the quantised weight, differentiable in `x`.
/// On the CPU `x` should be f32 for candle's quantised kernel (other dtypes take the dense
/// product); on a GPU any float dtype, the product running in it.
pub fn qmatmul(x: &Tensor, w: &Arc<QTensor>) -> Result<Tensor> {
    let (_, in_f) = w.shape().dims2()?;
    if x.dim(candle_core::D::Minus1)? != in_f {
        return Err(EngineError::Invalid(format!(
            "a quantised layer {in_f} wide got an input of shape {:?}",
            x.dims()
        )));
    }
    Ok(x.contiguous()?.apply_op1(QMatMulWithGrad(w.clone()))?)
}

/// A frozen linear base stored quantised: the QLoRA base layer.
#[derive(Debug, Clone)]
pub struct QuantizedBase {
    weight: Arc<QTensor>,
    bias: Option<Tensor>,
}

impl QuantizedBase {
    /// Quantises a dense `out x in` weight with the type `policy` picks for its width on the
    /// weight's device ([`QuantPolicy::dtype_on`]).
    pub fn quantize(weight: &Tensor, bias: Option<Tensor>, policy: QuantPolicy) -> Result<Self> {
        let (_, in_f) = weight.dims2()?;
        let dtype = policy.dtype_on(in_f, weight.device())?;
        // candle quantises f32 only.
        let q = QTensor::quantize(&weight.detach().to_dtype(DType::F32)?, dtype)?;
        Self::new(Arc::new(q), bias)
    }

    /// Wraps an already quantised `out x in` weight (e.g. straight from a GGUF file).
    pub fn new(weight: Arc<QTensor>, bias: Option<Tensor>) -> Result<Self> {
        let (out, _) = weight.shape().dims2()?;
        if let Some(b) = &bias {
            if b.dims() != [out] {
                return Err(EngineError::Invalid(format!(
                    "a quantised layer's bias has shape {:?} but its weight has {out} rows",
                    b.dims()
                )));
            }
        }
        Ok(Self {
            weight,
            bias: bias.map(|b| b.detach()),
        })
    }

    /// The quantised weight.
    pub fn qtensor(&self) -> &Arc<QTensor> {
        &self.weight
    }
}

/// Bytes a quantised tensor keeps resident: its blocks, plus, on the CPU, the tile copy candle
/// 0.11's x86-64 kernels build (and keep) at the first matmul for Q4K weights whose width is a
/// multiple of 256 and height a multiple of 16 (3072 bytes per 16x256 tile, against 144 per
/// 256-wide Q4K block row). On a GPU candle's kernel never runs (dequantised products), so no copy.
pub fn qtensor_resident_bytes(q: &QTensor) -> usize {
    let stored = q.storage_size_in_bytes();
    let Ok((n, k)) = q.shape().dims2() else {
        return stored;
    };
    let repack = cfg!(target_arch = "x86_64")
        && q.device().is_cpu()
        && q.dtype() == GgmlDType::Q4K
        && n % 16 == 0
        && k % 256 == 0;
    if repack {
        stored + (n / 16) * (k / 256) * 3072
    } else {
        stored
    }
}

impl LinearBase for QuantizedBase {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let in_dtype = x.dtype();
        // The CPU's quantised kernel reads f32; a GPU's dense product runs in the input's own
        // dtype (bf16 under mixed precision, where cuBLAS accumulates in f32).
        let y = if x.device().is_cpu() {
            qmatmul(&x.to_dtype(DType::F32)?, &self.weight)?.to_dtype(in_dtype)?
        } else {
            qmatmul(x, &self.weight)?
        };
        match &self.bias {
            Some(b) => Ok(y.broadcast_add(&b.to_dtype(in_dtype)?)?),
            None => Ok(y),
        }
    }
    fn in_features(&self) -> usize {
        self.weight.shape().dims()[1]
    }
    fn out_features(&self) -> usize {
        self.weight.shape().dims()[0]
    }
    fn dense_weight(&self) -> Result<Tensor> {
        Ok(self.weight.dequantize(&self.weight.device())?)
    }
    fn bias(&self) -> Option<&Tensor> {
        self.bias.as_ref()
    }
    fn kind(&self) -> String {
        format!("{:?}", self.weight.dtype()).to_lowercase()
    }
    fn resident_bytes(&self) -> usize {
        qtensor_resident_bytes(&self.weight)
            + self
                .bias
                .as_ref()
                .map(|b| b.elem_count() * b.dtype().size_in_bytes())
                .unwrap_or(0)
    }
    fn stored_bytes(&self) -> usize {
        self.weight.storage_size_in_bytes()
            + self
                .bias
                .as_ref()
                .map(|b| b.elem_count() * b.dtype().size_in_bytes())
                .unwrap_or(0)
    }
    fn is_frozen(&self) -> bool {
        !self.bias.as_ref().is_some_and(|b| b.track_op())
    }
    fn input_grad(&self, grad: &Tensor) -> Result<Tensor> {
        // On the CPU the forward casts the input to f32 for the quantised product and back; on a
        // GPU it runs in the input's dtype, and so does this.
        if !grad.device().is_cpu() {
            return Ok(qmatmul_input_grad(&self.weight, grad)?);
        }
        let g = grad.to_dtype(DType::F32)?;
        Ok(qmatmul_input_grad(&self.weight, &g)?.to_dtype(grad.dtype())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn the_four_bit_policy_falls_back_to_eight_bit_where_k_quants_do_not_fit() -> Result<()> {
        assert_eq!(QuantPolicy::Four.dtype_for(1536)?, GgmlDType::Q4K);
        assert_eq!(QuantPolicy::Four.dtype_for(576)?, GgmlDType::Q8_0);
        assert_eq!(QuantPolicy::FourStrict.dtype_for(576)?, GgmlDType::Q4_0);
        assert!(QuantPolicy::Eight.dtype_for(50).is_err());
        Ok(())
    }

    #[test]
    fn on_a_gpu_the_four_bit_policy_is_four_bit_at_every_width() -> Result<()> {
        // SmolLM2-135M's widths: 576 (hidden) and 1536 (MLP); 64 is the tiny fixture's.
        for (width, cpu, gpu) in [
            (576, GgmlDType::Q8_0, GgmlDType::Q4_0),
            (1536, GgmlDType::Q4K, GgmlDType::Q4K),
            (64, GgmlDType::Q8_0, GgmlDType::Q4_0),
        ] {
            for policy in [QuantPolicy::Four, QuantPolicy::Stored] {
                assert_eq!(
                    policy.dtype_placed(width, false)?,
                    cpu,
                    "{policy:?} {width}"
                );
                assert_eq!(policy.dtype_placed(width, true)?, gpu, "{policy:?} {width}");
            }
            assert_eq!(QuantPolicy::Four.dtype_on(width, &Device::Cpu)?, cpu);
            // Eight stays eight bits wherever it runs.
            assert_eq!(
                QuantPolicy::Eight.dtype_placed(width, true)?,
                GgmlDType::Q8_0
            );
        }
        assert!(QuantPolicy::Four.dtype_placed(48, true).is_err());
        Ok(())
    }

    #[test]
    fn the_dense_product_runs_in_the_input_s_dtype_and_matches_f32() -> Result<()> {
        // The same `dense_product` runs on CUDA for every input; a bf16 input on the CPU takes it
        // too (candle's quantised CPU kernel reads f32 only), so this checks the dtype handling the
        // GPU path relies on, for a Q4K and a Q4_0 weight.
        let dev = Device::Cpu;
        for (out, in_f) in [(24, 256), (40, 96)] {
            let w = Tensor::randn(0f32, 0.5, (out, in_f), &dev)?;
            let base = QuantizedBase::quantize(&w, None, QuantPolicy::FourStrict)?;
            let x = Tensor::randn(0f32, 1.0, (2, 5, in_f), &dev)?;
            let exact = crate::nn::ops::matmul_t(&x, &base.dense_weight()?)?;
            let y = qmatmul(&x.to_dtype(DType::BF16)?, base.qtensor())?;
            assert_eq!(y.dtype(), DType::BF16);
            assert_eq!(y.dims(), [2, 5, out]);
            let scale = exact.abs()?.max_all()?.to_scalar::<f32>()?;
            let err = (y.to_dtype(DType::F32)? - &exact)?
                .abs()?
                .max_all()?
                .to_scalar::<f32>()?;
            // bf16 keeps 8 significant bits: inputs and weights each round by up to 2^-9 relative,
            // and a sum of `in_f` such terms stays within a few per cent of the largest output.
            assert!(
                err < 0.03 * scale,
                "{out}x{in_f}: bf16 product off by {err} of {scale}"
            );
        }
        Ok(())
    }

    #[test]
    fn the_quantised_forward_is_close_to_the_dense_one_for_every_policy() -> Result<()> {
        let dev = Device::Cpu;
        for (out, in_f) in [(48, 64), (16, 32), (32, 256)] {
            let w = Tensor::randn(0f32, 0.5, (out, in_f), &dev)?;
            let x = Tensor::randn(0f32, 1.0, (2, 3, in_f), &dev)?;
            let y_ref = crate::nn::ops::matmul_t(&x, &w)?;
            let scale = y_ref.abs()?.max_all()?.to_scalar::<f32>()?;
            for policy in [
                QuantPolicy::Four,
                QuantPolicy::FourStrict,
                QuantPolicy::Eight,
            ] {
                let base = QuantizedBase::quantize(&w, None, policy)?;
                let y = base.forward(&x)?;
                let err = (y - &y_ref)?.abs()?.max_all()?.to_scalar::<f32>()?;
                // 4-bit blocks of 32 weights carry up to half a step (max|w|/16) of rounding each,
                // which a 32-wide dot product with unit inputs turns into ~15 % of the largest output
                // at worst (seen: 0.98 of 6.45 with unseeded weights); 8-bit is 16x finer. A broken
                // layout or scale errs by the outputs' own size.
                let tolerance = match policy {
                    QuantPolicy::Eight => 0.05,
                    QuantPolicy::Four | QuantPolicy::FourStrict | QuantPolicy::Stored => 0.25,
                };
                assert!(
                    err < tolerance * scale,
                    "{policy:?} {out}x{in_f}: error {err} against outputs up to {scale}"
                );
            }
        }
        Ok(())
    }

    #[test]
    fn long_inputs_take_the_dense_product_and_agree_with_the_quantised_kernel() -> Result<()> {
        let dev = Device::Cpu;
        let w = Tensor::randn(0f32, 0.5, (48, 64), &dev)?;
        let base = QuantizedBase::quantize(&w, None, QuantPolicy::Eight)?;
        let wd = base.dense_weight()?;
        let x = Tensor::randn(0f32, 1.0, (2, DENSE_FROM_ROWS, 64), &dev)?;
        // The dense path computes x W_q^T exactly (up to f32 summation order) ...
        let dense = base.forward(&x)?;
        let exact = crate::nn::ops::matmul_t(&x, &wd)?;
        let err = (&dense - &exact)?.abs()?.max_all()?.to_scalar::<f32>()?;
        assert!(err < 1e-4, "dense path off by {err}");
        // ... and the quantised kernel (one row at a time) the same up to 8-bit activations.
        let row = base.forward(&x.narrow(1, 0, 1)?)?;
        let scale = exact.abs()?.max_all()?.to_scalar::<f32>()?;
        let err = (row - dense.narrow(1, 0, 1)?)?
            .abs()?
            .max_all()?
            .to_scalar::<f32>()?;
        assert!(err < 0.05 * scale, "kernel and dense path differ by {err}");
        Ok(())
    }

    #[test]
    fn the_gradient_to_the_input_equals_the_dequantised_paths() -> Result<()> {
        for rows in [3, DENSE_FROM_ROWS] {
            gradient_matches_the_dequantised_path(rows)?;
        }
        Ok(())
    }

    fn gradient_matches_the_dequantised_path(rows: usize) -> Result<()> {
        let dev = Device::Cpu;
        let w = Tensor::randn(0f32, 0.5, (48, 64), &dev)?;
        let base = QuantizedBase::quantize(&w, None, QuantPolicy::Four)?;
        let wd = base.dense_weight()?;
        let x = Var::new(
            Tensor::randn(0f32, 1.0, (2, rows, 64), &dev)?.to_vec3::<f32>()?,
            &dev,
        )?;
        let up = Tensor::randn(0f32, 1.0, (2, rows, 48), &dev)?;
        let y = base.forward(x.as_tensor())?;
        let g_q = (y * &up)?
            .sum_all()?
            .backward()?
            .get(&x)
            .expect("grad")
            .clone();
        let y_ref = crate::nn::ops::matmul_t(x.as_tensor(), &wd)?;
        let g_ref = (y_ref * &up)?
            .sum_all()?
            .backward()?
            .get(&x)
            .expect("grad")
            .clone();
        let diff = (g_q - g_ref)?.abs()?.max_all()?.to_scalar::<f32>()?;
        assert!(diff < 1e-5, "gradients differ by {diff}");
        Ok(())
    }
}
