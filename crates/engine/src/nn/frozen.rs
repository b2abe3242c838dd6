//! Frozen weights get no gradient: a linear layer over a frozen weight whose backward computes the
//! input's gradient and nothing else.
//!
//! candle's matmul backward always computes both operands' gradients (`backprop.rs`, `Op::Matmul`),
//! whether or not an operand can train: under LoRA, QLoRA or feature extraction every frozen
//! projection paid a full `X^T dY` product and kept a weight-sized gradient (plus its
//! `zeros_like + add` accumulation buffers) alive until the backward ended. The custom op here takes
//! the weight (and bias) out of the graph: its forward is the same GEMM (on the device's own
//! storage, CPU, CUDA or Metal, through candle's `BackendStorage::matmul`), its backward is
//! `dX = dY W`, and nothing of the weight's size is allocated in backward. The frozen bias is added
//! inside the op for the same reason (a broadcast add would give the bias a gradient of the
//! activation's size).
//!
//! Promise: the output equals `x W^T + b` as [`crate::nn::ops::matmul_t`] computes it (the same
//! GEMM call, bit for bit), and the input's gradient equals the composed path's.

use candle_core::backend::BackendStorage;
use candle_core::op::Add;
use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Storage, Tensor};

use crate::{EngineError, Result};

/// `x W^T (+ b)` with `W` (`out x in`) and `b` (`out`) frozen: differentiable in `x` only.
///
/// `x` has shape `[..., in]`. Use it only for weights that do not train (`!w.track_op()`); a
/// trainable weight would silently get no gradient.
pub fn frozen_linear(x: &Tensor, weight: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
    let (out, in_f) = weight.dims2()?;
    if x.dim(candle_core::D::Minus1)? != in_f {
        return Err(EngineError::Invalid(format!(
            "a linear layer {in_f} wide got an input of shape {:?}",
            x.dims()
        )));
    }
    if x.dtype() != weight.dtype() {
        return Err(EngineError::Invalid(format!(
            "a linear layer's weight is {:?} but its input is {:?}",
            weight.dtype(),
            x.dtype()
        )));
    }
    if let Some(b) = bias {
        if b.dims() != [out] || b.dtype() != weight.dtype() {
            return Err(EngineError::Invalid(format!(
                "a linear layer's bias is {:?} {:?} but its weight is {:?} with {out} rows",
                b.dtype(),
                b.dims(),
                weight.dtype()
            )));
        }
    }
    let op = FrozenLinear {
        weight: weight.detach(),
        bias: bias.map(|b| b.detach()),
    };
    Ok(x.contiguous()?.apply_op1(op)?)
}

/// The op: the weight and bias live in the op, not in the graph.
struct FrozenLinear {
    weight: Tensor,
    bias: Option<Tensor>,
}

/// `x W^T + b` on one device's storage. `x` is contiguous `[rows, in]` (its own layout's offset),
/// `W` any 2-D layout of `out x in`, `b` a 1-D layout of `out`.
fn forward_on<S: BackendStorage>(
    x: &S,
    xl: &Layout,
    w: &S,
    wl: &Layout,
    bias: Option<(&S, &Layout)>,
    add_in_place: impl FnOnce(&mut S, &S, &Layout) -> candle_core::Result<bool>,
) -> candle_core::Result<(S, Shape)> {
    let (out, in_f) = wl.shape().dims2()?;
    let rows = xl.shape().elem_count() / in_f.max(1);
    let x2 = Layout::contiguous_with_offset((rows, in_f), xl.start_offset());
    let wt = wl.transpose(0, 1)?;
    let mut y = x.matmul(w, (1, rows, out, in_f), &x2, &wt)?;
    if let Some((b, bl)) = bias {
        if !add_in_place(&mut y, b, bl)? {
            let yl = Layout::contiguous((rows, out));
            let bb = bl.broadcast_as((rows, out))?;
            y = y.binary_impl::<Add>(b, &yl, &bb)?;
        }
    }
    let mut dims = xl.shape().dims().to_vec();
    if let Some(last) = dims.last_mut() {
        *last = out;
    }
    Ok((y, Shape::from(dims)))
}

fn wrong_device(op: &str) -> candle_core::Error {
    candle_core::Error::Msg(format!(
        "{op}: the weight and the input are on different devices"
    ))
}

impl CustomOp1 for FrozenLinear {
    fn name(&self) -> &'static str {
        "tunesmith-frozen-linear"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let (ws, wl) = self.weight.storage_and_layout();
        let Storage::Cpu(w) = &*ws else {
            return Err(wrong_device(self.name()));
        };
        let guard = self.bias.as_ref().map(|b| b.storage_and_layout());
        let bias = match &guard {
            Some((bs, bl)) => match &**bs {
                Storage::Cpu(b) => Some((b, *bl)),
                _ => return Err(wrong_device(self.name())),
            },
            None => None,
        };
        forward_on(s, l, w, wl, bias, |y, b, bl| {
            // The product is fresh and contiguous: add a contiguous f32 bias row by row in place.
            match (y, b, bl.contiguous_offsets()) {
                (CpuStorage::F32(y), CpuStorage::F32(b), Some((start, end))) => {
                    let b = &b[start..end];
                    for row in y.chunks_exact_mut(b.len().max(1)) {
                        for (v, bv) in row.iter_mut().zip(b) {
                            *v += bv;
                        }
                    }
                    Ok(true)
                }
                _ => Ok(false),
            }
        })
    }

    fn cuda_fwd(
        &self,
        s: &candle_core::CudaStorage,
        l: &Layout,
    ) -> candle_core::Result<(candle_core::CudaStorage, Shape)> {
        let (ws, wl) = self.weight.storage_and_layout();
        let Storage::Cuda(w) = &*ws else {
            return Err(wrong_device(self.name()));
        };
        let guard = self.bias.as_ref().map(|b| b.storage_and_layout());
        let bias = match &guard {
            Some((bs, bl)) => match &**bs {
                Storage::Cuda(b) => Some((b, *bl)),
                _ => return Err(wrong_device(self.name())),
            },
            None => None,
        };
        forward_on(s, l, w, wl, bias, |_, _, _| Ok(false))
    }

    fn metal_fwd(
        &self,
        s: &candle_core::MetalStorage,
        l: &Layout,
    ) -> candle_core::Result<(candle_core::MetalStorage, Shape)> {
        let (ws, wl) = self.weight.storage_and_layout();
        let Storage::Metal(w) = &*ws else {
            return Err(wrong_device(self.name()));
        };
        let guard = self.bias.as_ref().map(|b| b.storage_and_layout());
        let bias = match &guard {
            Some((bs, bl)) => match &**bs {
                Storage::Metal(b) => Some((b, *bl)),
                _ => return Err(wrong_device(self.name())),
            },
            None => None,
        };
        forward_on(s, l, w, wl, bias, |_, _, _| Ok(false))
    }

    fn bwd(
        &self,
        arg: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        // y = x W^T + b, so dL/dx = dL/dy W; W and b get nothing.
        let (out, in_f) = self.weight.dims2()?;
        let rows = grad_res.elem_count() / out.max(1);
        let g = grad_res
            .contiguous()?
            .reshape((rows, out))?
            .matmul(&self.weight)?;
        let mut dims = arg.dims().to_vec();
        if let Some(last) = dims.last_mut() {
            *last = in_f;
        }
        Ok(Some(g.reshape(dims)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::ops::matmul_t;
    use candle_core::{Device, Var};

    fn close(a: &Tensor, b: &Tensor, tol: f32) -> Result<()> {
        let d = (a - b)?.abs()?.max_all()?.to_scalar::<f32>()?;
        assert!(d <= tol, "differ by {d}");
        Ok(())
    }

    #[test]
    fn the_frozen_forward_is_the_composed_product_bit_for_bit() -> Result<()> {
        let dev = Device::Cpu;
        let w = Tensor::randn(0f32, 0.5, (7, 5), &dev)?;
        let b = Tensor::randn(0f32, 0.5, 7, &dev)?;
        let x = Tensor::randn(0f32, 1.0, (2, 3, 5), &dev)?;
        let ours = frozen_linear(&x, &w, Some(&b))?;
        let composed = matmul_t(&x, &w)?.broadcast_add(&b)?;
        assert_eq!(ours.dims(), &[2, 3, 7]);
        close(&ours, &composed, 0.0)?;
        close(&frozen_linear(&x, &w, None)?, &matmul_t(&x, &w)?, 0.0)
    }

    #[test]
    fn a_weight_seen_through_a_transpose_or_an_offset_still_multiplies_right() -> Result<()> {
        let dev = Device::Cpu;
        let big = Tensor::randn(0f32, 0.5, (9, 5), &dev)?;
        let w = big.narrow(0, 2, 7)?; // offset rows of a larger tensor
        let x = Tensor::randn(0f32, 1.0, (4, 5), &dev)?;
        close(&frozen_linear(&x, &w, None)?, &matmul_t(&x, &w)?, 1e-6)?;
        let wt = Tensor::randn(0f32, 0.5, (5, 7), &dev)?.t()?; // a non-contiguous weight
        close(&frozen_linear(&x, &wt, None)?, &matmul_t(&x, &wt)?, 1e-6)
    }

    #[test]
    fn only_the_input_gets_a_gradient_and_it_equals_the_composed_one() -> Result<()> {
        let dev = Device::Cpu;
        let w = Tensor::randn(0f32, 0.5, (6, 4), &dev)?;
        let b = Tensor::randn(0f32, 0.5, 6, &dev)?;
        let x = Var::from_tensor(&Tensor::randn(0f32, 1.0, (3, 4), &dev)?)?;
        let up = Tensor::randn(0f32, 1.0, (3, 6), &dev)?;
        let loss = (frozen_linear(x.as_tensor(), &w, Some(&b))? * &up)?.sum_all()?;
        let grads = loss.backward()?;
        // Nothing but the input (and the graph's own nodes) has a gradient: no weight-sized entry.
        for id in grads.get_ids() {
            let g = grads.get_id(*id).expect("listed");
            assert_ne!(g.dims(), w.dims(), "a weight-sized gradient was kept");
            assert_ne!(g.dims(), b.dims(), "a bias-sized gradient was kept");
        }
        let gx = grads.get(x.as_tensor()).expect("input gradient").clone();
        let composed = (matmul_t(x.as_tensor(), &w)?.broadcast_add(&b)? * &up)?.sum_all()?;
        let gref = composed
            .backward()?
            .get(x.as_tensor())
            .expect("grad")
            .clone();
        close(&gx, &gref, 1e-6)
    }

    #[test]
    fn the_input_gradient_matches_finite_differences() -> Result<()> {
        let dev = Device::Cpu;
        let w = Tensor::randn(0f64, 0.5, (3, 4), &dev)?;
        let b = Tensor::randn(0f64, 0.5, 3, &dev)?;
        let x0: Vec<f64> = Tensor::randn(0f64, 1.0, 8, &dev)?.to_vec1()?;
        let f = |xs: &[f64]| -> Result<f64> {
            let x = Tensor::from_slice(xs, (2, 4), &dev)?;
            Ok(frozen_linear(&x, &w, Some(&b))?
                .sqr()?
                .sum_all()?
                .to_scalar::<f64>()?)
        };
        let x = Var::from_tensor(&Tensor::from_slice(&x0, (2, 4), &dev)?)?;
        let g: Vec<f64> = frozen_linear(x.as_tensor(), &w, Some(&b))?
            .sqr()?
            .sum_all()?
            .backward()?
            .get(x.as_tensor())
            .expect("grad")
            .flatten_all()?
            .to_vec1()?;
        for i in 0..x0.len() {
            let h = 1e-6;
            let (mut p, mut m) = (x0.clone(), x0.clone());
            p[i] += h;
            m[i] -= h;
            let fd = (f(&p)? - f(&m)?) / (2.0 * h);
            assert!((fd - g[i]).abs() < 1e-6, "{i}: {fd} vs {}", g[i]);
        }
        Ok(())
    }
}
