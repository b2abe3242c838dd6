//! A frozen linear layer with its LoRA update as one differentiable op:
//! `y = base(x) + scale * B (A dropout(x))`, whose graph keeps the input and the rank-`r`
//! projection `A dropout(x)` only.
//!
//! Composed from tensor ops, the same layer kept, for every token, the dropout mask and the dropped
//! input (two copies of the input's width), and the update, the scaled update and the base's output
//! (three of the output's width) until the backward ended: at SmolLM2-135M's widths about 25,000
//! floats per token and layer, more than everything else in a block together. Here the forward runs
//! on detached tensors (the temporaries are freed at once) and is attached to the op
//! ([`Precomputed`]); the backward regenerates the dropout mask from the generator state the forward
//! started from ([`with_generator`]), recomputes the dropped input, and returns
//!
//! - `dx = base'(dY) + dropout(scale (dY B) A)` (the base's input gradient from
//!   [`LinearBase::input_grad`], the dropout the same mask),
//! - `dA = scale (dY B)^T dropout(x)`, `dB = scale dY^T (A dropout(x))`.
//!
//! Promises: the output is bit for bit the composed path's (`base.forward(x) + lora.forward_t(x)`:
//! the same ops in the same order, the same mask draws from the run's generator); the gradients equal
//! the composed path's within f32 rounding (finite-difference and composed-path tests below); it runs
//! on every device (tensor ops only). Used only when the base is frozen
//! ([`LinearBase::is_frozen`]) and the factors train.

use std::sync::Arc;

use candle_core::{CpuStorage, CudaStorage, CustomOp3, Layout, MetalStorage, Shape, Tensor};

use crate::adapters::lora::Lora;
use crate::nn::dropout::{dropout, generator_state, with_generator, MaskCounter};
use crate::nn::linear::LinearBase;
use crate::nn::ops::{like, matmul_t};
use crate::nn::precomputed::Precomputed;
use crate::{EngineError, Result};

const NAME: &str = "tunesmith-lora-linear";

/// `base(x) + lora(x)` as one op (see the module documentation); dropout only when `train`.
/// `base` must be frozen ([`LinearBase::is_frozen`]).
pub fn lora_linear(
    x: &Tensor,
    base: &Arc<dyn LinearBase>,
    lora: &Lora,
    train: bool,
) -> Result<Tensor> {
    if !base.is_frozen() {
        return Err(EngineError::Invalid(
            "the fused LoRA layer needs a frozen base; a trainable base takes the composed path"
                .into(),
        ));
    }
    let p = if train { lora.dropout() } else { 0.0 };
    let state = (p > 0.0).then(generator_state);
    let xd = x.detach();
    // The factors are f32 master copies; under mixed precision they meet the input in its dtype
    // (the casts are the op's inputs, so their backward returns the factors' gradients in f32).
    let (a_in, b_in) = (like(lora.a(), x)?, like(lora.b(), x)?);
    let (a, b) = (a_in.detach(), b_in.detach());
    // The composed path's forward, op for op (`Linear::forward_t` and `Lora::forward_t`).
    let base_y = base.forward(&xd)?;
    let xm = if p > 0.0 { dropout(&xd, p)? } else { xd };
    let h = matmul_t(&xm, &a)?;
    drop(xm);
    let update = (matmul_t(&h, &b)? * lora.scale())?;
    let y = (base_y + update)?;
    let op = LoraLinear {
        base: base.clone(),
        scale: lora.scale(),
        p,
        state,
        h,
        output: Precomputed::new(y)?,
    };
    Ok(x.apply_op3_arc(&a_in, &b_in, Arc::new(Box::new(op)))?)
}

struct LoraLinear {
    base: Arc<dyn LinearBase>,
    scale: f64,
    p: f32,
    /// The mask key counter before the forward drew the mask (`None` without dropout).
    state: Option<MaskCounter>,
    /// `A dropout(x)`, `[..., r]`.
    h: Tensor,
    output: Precomputed,
}

fn to_candle(e: EngineError) -> candle_core::Error {
    match e {
        EngineError::Candle(c) => c,
        other => candle_core::Error::Msg(other.to_string()),
    }
}

impl LoraLinear {
    /// `t` with the forward's dropout mask applied (the same draws, replayed).
    fn masked(&self, t: &Tensor) -> candle_core::Result<Tensor> {
        match &self.state {
            Some(s) => with_generator(s.clone(), || dropout(t, self.p)).map_err(to_candle),
            None => Ok(t.clone()),
        }
    }

    fn backward(
        &self,
        x: &Tensor,
        a: &Tensor,
        b: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        // Products with the factors themselves (trainable `Var`s) would carry a graph: the
        // gradients would keep `dY` and the dropped input of every layer alive until the
        // optimiser step. Detached, they are plain values.
        let (a_var, b_var) = (a, b);
        let (a, b) = (&a.detach(), &b.detach());
        let (r, in_f) = a.dims2()?;
        let out = b.dims2()?.0;
        let rows = grad.elem_count() / out.max(1);
        let dy = grad.contiguous()?.reshape((rows, out))?;
        let g = dy.affine(self.scale, 0.)?;
        let h = self.h.reshape((rows, r))?;
        let db = g.t()?.matmul(&h)?;
        let gh = g.matmul(b)?;
        drop(g);
        let da = {
            let xm = self.masked(&x.detach())?.reshape((rows, in_f))?;
            gh.t()?.matmul(&xm)?
        };
        let dx = if x.track_op() {
            let dxm = self.masked(&gh.matmul(a)?)?;
            let base = self.base.input_grad(&dy).map_err(to_candle)?;
            Some((base + dxm)?.reshape(x.dims())?)
        } else {
            None
        };
        let want = |t: &Tensor, g: Tensor| t.track_op().then_some(g);
        Ok((dx, want(a_var, da), want(b_var, db)))
    }
}

impl CustomOp3 for LoraLinear {
    fn name(&self) -> &'static str {
        NAME
    }
    fn cpu_fwd(
        &self,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        self.output.storage_for(NAME)
    }
    fn cuda_fwd(
        &self,
        _: &CudaStorage,
        _: &Layout,
        _: &CudaStorage,
        _: &Layout,
        _: &CudaStorage,
        _: &Layout,
    ) -> candle_core::Result<(CudaStorage, Shape)> {
        self.output.storage_for(NAME)
    }
    fn metal_fwd(
        &self,
        _: &MetalStorage,
        _: &Layout,
        _: &MetalStorage,
        _: &Layout,
        _: &MetalStorage,
        _: &Layout,
    ) -> candle_core::Result<(MetalStorage, Shape)> {
        self.output.storage_for(NAME)
    }
    fn bwd(
        &self,
        x: &Tensor,
        a: &Tensor,
        b: &Tensor,
        _: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        self.backward(x, a, b, grad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::dropout::with_seed;
    use crate::nn::linear::DenseBase;
    use crate::nn::quantized::QuantizedBase;
    use crate::train::Rng;
    use candle_core::{DType, Device, Var};

    fn rand(shape: &[usize], seed: u64) -> Result<Tensor> {
        let mut rng = Rng::new(seed);
        let n: usize = shape.iter().product();
        let v: Vec<f32> = (0..n).map(|_| rng.next_f64() as f32 - 0.5).collect();
        Ok(Tensor::from_vec(v, shape, &Device::Cpu)?)
    }

    struct Case {
        x: Var,
        a: Var,
        b: Var,
        base: Arc<dyn LinearBase>,
        p: f32,
    }

    fn case(p: f32, quantized: bool) -> Result<Case> {
        let w = rand(&[6, 32], 1)?;
        let bias = rand(&[6], 2)?;
        let base: Arc<dyn LinearBase> = if quantized {
            Arc::new(QuantizedBase::new(
                Arc::new(candle_core::quantized::QTensor::quantize(
                    &w,
                    candle_core::quantized::GgmlDType::Q8_0,
                )?),
                Some(bias),
            )?)
        } else {
            Arc::new(DenseBase::new(w, Some(bias))?)
        };
        Ok(Case {
            x: Var::from_tensor(&rand(&[2, 3, 32], 3)?)?,
            a: Var::from_tensor(&rand(&[4, 32], 4)?)?,
            b: Var::from_tensor(&rand(&[6, 4], 5)?)?,
            base,
            p,
        })
    }

    /// The loss `sum(y * weights)` and the gradients of x, A and B, fused or composed.
    fn run(c: &Case, fused: bool) -> Result<(Vec<f32>, [Vec<f32>; 3])> {
        let lora = Lora::new(c.a.as_tensor().clone(), c.b.as_tensor().clone(), 2.0, c.p)?;
        let y = with_seed(7, || -> Result<Tensor> {
            if fused {
                lora_linear(c.x.as_tensor(), &c.base, &lora, true)
            } else {
                Ok((c.base.forward(c.x.as_tensor())? + lora.forward_t(c.x.as_tensor(), true)?)?)
            }
        })?;
        let weights = rand(y.dims(), 11)?;
        let grads = (&y * &weights)?.sum_all()?.backward()?;
        let flat = |v: &Var| -> Result<Vec<f32>> {
            Ok(grads
                .get(v.as_tensor())
                .ok_or_else(|| EngineError::Invalid("no gradient".into()))?
                .flatten_all()?
                .to_vec1()?)
        };
        Ok((
            y.flatten_all()?.to_vec1()?,
            [flat(&c.x)?, flat(&c.a)?, flat(&c.b)?],
        ))
    }

    fn close(a: &[f32], b: &[f32], tol: f32) -> bool {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| (x - y).abs() <= tol * (1.0 + y.abs()))
    }

    #[test]
    fn the_fused_layer_gives_the_composed_output_bit_for_bit_and_its_gradients() -> Result<()> {
        for (p, quantized) in [(0.0, false), (0.3, false), (0.3, true)] {
            let c = case(p, quantized)?;
            let (y_fused, g_fused) = run(&c, true)?;
            let (y_composed, g_composed) = run(&c, false)?;
            assert_eq!(y_fused, y_composed, "p {p}, quantized {quantized}");
            for (f, c) in g_fused.iter().zip(&g_composed) {
                assert!(close(f, c, 1e-5), "p {p}: {f:?} vs {c:?}");
            }
        }
        Ok(())
    }

    #[test]
    fn the_fused_layers_gradients_match_finite_differences() -> Result<()> {
        // f64 central differences of the same loss, the mask replayed by the fixed seed.
        let c = case(0.25, false)?;
        let (_, grads) = run(&c, true)?;
        let lora_of = |a: &Tensor, b: &Tensor| Lora::new(a.clone(), b.clone(), 2.0, c.p);
        let loss = |x: &Tensor, a: &Tensor, b: &Tensor| -> Result<f64> {
            let l = lora_of(a, b)?;
            let y = with_seed(7, || lora_linear(x, &c.base, &l, true))?;
            let w = rand(y.dims(), 11)?;
            Ok((y * w)?
                .to_dtype(DType::F64)?
                .sum_all()?
                .to_scalar::<f64>()?)
        };
        let eps = 1e-2f32;
        let tensors = [c.x.as_tensor(), c.a.as_tensor(), c.b.as_tensor()];
        for (which, analytic) in grads.iter().enumerate() {
            let base = tensors[which].flatten_all()?.to_vec1::<f32>()?;
            for i in (0..base.len()).step_by(5) {
                let at = |d: f32| -> Result<f64> {
                    let mut v = base.clone();
                    v[i] += d;
                    let t = Tensor::from_vec(v, tensors[which].dims(), &Device::Cpu)?;
                    let mut args = tensors.map(|t| t.detach());
                    args[which] = t;
                    loss(&args[0], &args[1], &args[2])
                };
                let numeric = (at(eps)? - at(-eps)?) / (2.0 * eps as f64);
                let diff = (numeric - analytic[i] as f64).abs();
                assert!(
                    diff < 2e-3 * (1.0 + numeric.abs()),
                    "tensor {which} element {i}: numeric {numeric}, analytic {}",
                    analytic[i]
                );
            }
        }
        Ok(())
    }

    #[test]
    fn the_gradients_carry_no_graph_that_would_keep_activations_alive() -> Result<()> {
        let c = case(0.3, false)?;
        let lora = Lora::new(c.a.as_tensor().clone(), c.b.as_tensor().clone(), 2.0, c.p)?;
        let y = lora_linear(c.x.as_tensor(), &c.base, &lora, true)?;
        let grads = y.sum_all()?.backward()?;
        for v in [&c.x, &c.a, &c.b] {
            let g = grads.get(v.as_tensor()).expect("a gradient");
            assert!(
                !g.track_op(),
                "a gradient of shape {:?} has a graph",
                g.dims()
            );
        }
        Ok(())
    }

    #[test]
    fn a_trainable_base_is_refused() -> Result<()> {
        let w = Var::from_tensor(&rand(&[6, 32], 1)?)?;
        let base: Arc<dyn LinearBase> = Arc::new(DenseBase::new(w.as_tensor().clone(), None)?);
        let lora = Lora::new(rand(&[4, 32], 4)?, rand(&[6, 4], 5)?, 2.0, 0.0)?;
        let err = lora_linear(&rand(&[2, 32], 3)?, &base, &lora, false);
        assert!(err.is_err());
        Ok(())
    }
}
