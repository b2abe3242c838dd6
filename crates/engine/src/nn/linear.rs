//! The one linear-like layer every model uses: `y = W x + b`, optionally plus a LoRA update.
//!
//! # Contract
//!
//! A [`Linear`] is a *base* ([`LinearBase`], shared behind an `Arc`) plus an optional [`Lora`]:
//!
//! - [`DenseBase`] holds `W` (`out x in`) and an optional bias as plain tensors. Whether it trains
//!   depends only on where the tensors came from: a `Var`'s tensor (registered in a `VarMap`, the
//!   only thing an optimiser sees) trains; a tensor loaded from a checkpoint and detached is frozen.
//!   [`crate::nn::params::Params::linear`] picks the right one for the chosen method. A frozen
//!   weight runs through [`crate::nn::frozen::frozen_linear`], whose backward computes the input's
//!   gradient only.
//! - Any other frozen representation (a quantised weight for QLoRA, ...) implements [`LinearBase`]
//!   in its own module and is wrapped with [`Linear::new`]; nothing here changes. Its `forward` must
//!   let the gradient flow to `x` (QLoRA's custom op uses the dequantised weight in its backward).
//! - LoRA follows PEFT: `y = base(x) + (alpha / r) * B (A dropout(x))`, dropout in training only.
//!
//! Every base works on inputs of shape `[..., in]` and returns `[..., out]`. `forward_t(x, train)`
//! is the training entry point; `Module::forward` is inference (no dropout).

use std::sync::Arc;

use candle_core::{Module, Tensor};

use crate::adapters::lora::Lora;
use crate::nn::frozen::frozen_linear;
use crate::nn::ops::matmul_t;
use crate::{EngineError, Result};

/// The frozen (or fully trainable) part of a linear layer.
pub trait LinearBase: std::fmt::Debug + Send + Sync {
    /// `x @ W^T + b` for `x` of shape `[..., in]`. Must be differentiable with respect to `x`.
    fn forward(&self, x: &Tensor) -> Result<Tensor>;
    /// Input width.
    fn in_features(&self) -> usize;
    /// Output width.
    fn out_features(&self) -> usize;
    /// The weight as a dense tensor (`out x in`), dequantised if stored otherwise; used to merge
    /// adapters and to export.
    fn dense_weight(&self) -> Result<Tensor>;
    /// The bias, if the layer has one.
    fn bias(&self) -> Option<&Tensor>;
    /// A short description for logs and memory reports (`f32`, `q4_0`, ...).
    fn kind(&self) -> String;
    /// Bytes this base keeps resident for its weight and bias.
    fn resident_bytes(&self) -> usize;
    /// Bytes of the weight and bias as stored, without the copies a CPU kernel adds at its first
    /// product: what a GPU keeps resident, where those kernels never run.
    fn stored_bytes(&self) -> usize {
        self.resident_bytes()
    }
    /// Whether nothing of this base trains and [`Self::input_grad`] gives its input's gradient
    /// (what ops that fuse the base into a larger backward need, as the LoRA layer does).
    fn is_frozen(&self) -> bool {
        false
    }
    /// `dL/dx` (`[rows, in]`) for `dL/dy` = `grad` (`[rows, out]`) of a frozen base.
    fn input_grad(&self, grad: &Tensor) -> Result<Tensor> {
        let _ = grad;
        Err(EngineError::Invalid(format!(
            "a {} linear base has no input gradient of its own",
            self.kind()
        )))
    }
}

/// A base stored as a plain weight tensor and an optional bias.
#[derive(Debug, Clone)]
pub struct DenseBase {
    weight: Tensor,
    bias: Option<Tensor>,
}

impl DenseBase {
    /// A dense base from `weight` (`out x in`) and `bias` (`out`); checks they agree.
    pub fn new(weight: Tensor, bias: Option<Tensor>) -> Result<Self> {
        let (out, _in) = weight.dims2()?;
        if let Some(b) = &bias {
            if b.dims() != [out] {
                return Err(EngineError::Invalid(format!(
                    "a linear layer's bias has shape {:?} but its weight has {out} rows",
                    b.dims()
                )));
            }
        }
        Ok(Self { weight, bias })
    }

    /// The weight (`out x in`).
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }
}

impl LinearBase for DenseBase {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        // A frozen weight (and bias) stays out of the graph, so the backward computes only the
        // input's gradient (candle's matmul backward would also compute and keep `X^T dY`).
        if !self.weight.track_op() && !self.bias.as_ref().is_some_and(|b| b.track_op()) {
            return frozen_linear(x, &self.weight, self.bias.as_ref());
        }
        let y = matmul_t(x, &self.weight)?;
        match &self.bias {
            Some(b) => crate::nn::fused::add_bias(&y, b),
            None => Ok(y),
        }
    }
    fn in_features(&self) -> usize {
        self.weight.dims()[1]
    }
    fn out_features(&self) -> usize {
        self.weight.dims()[0]
    }
    fn dense_weight(&self) -> Result<Tensor> {
        Ok(self.weight.clone())
    }
    fn bias(&self) -> Option<&Tensor> {
        self.bias.as_ref()
    }
    fn kind(&self) -> String {
        format!("{:?}", self.weight.dtype()).to_lowercase()
    }
    fn resident_bytes(&self) -> usize {
        let bytes = |t: &Tensor| t.elem_count() * t.dtype().size_in_bytes();
        bytes(&self.weight) + self.bias.as_ref().map(bytes).unwrap_or(0)
    }
    fn is_frozen(&self) -> bool {
        !self.weight.track_op() && !self.bias.as_ref().is_some_and(|b| b.track_op())
    }
    fn input_grad(&self, grad: &Tensor) -> Result<Tensor> {
        // `frozen_linear`'s backward: dL/dx = dL/dy W.
        Ok(grad.matmul(&self.weight)?)
    }
}

/// A linear layer: a base and, optionally, a LoRA update. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Linear {
    name: String,
    base: Arc<dyn LinearBase>,
    lora: Option<Lora>,
}

impl Linear {
    /// A layer called `name` (its dotted module path, used for PEFT names) over `base`.
    pub fn new(
        name: impl Into<String>,
        base: Arc<dyn LinearBase>,
        lora: Option<Lora>,
    ) -> Result<Self> {
        let name = name.into();
        if let Some(l) = &lora {
            let (_, a_in) = l.a().dims2()?;
            let (b_out, _) = l.b().dims2()?;
            if a_in != base.in_features() || b_out != base.out_features() {
                return Err(EngineError::Invalid(format!(
                    "the LoRA adapter for `{}` is {b_out}x{a_in} but the layer is {}x{}",
                    name,
                    base.out_features(),
                    base.in_features()
                )));
            }
        }
        Ok(Self { name, base, lora })
    }

    /// A plain layer from a weight and bias.
    pub fn dense(name: impl Into<String>, weight: Tensor, bias: Option<Tensor>) -> Result<Self> {
        Self::new(name, Arc::new(DenseBase::new(weight, bias)?), None)
    }

    /// The module path (e.g. `bert.encoder.layer.0.attention.self.query`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The base layer.
    pub fn base(&self) -> &Arc<dyn LinearBase> {
        &self.base
    }

    /// The LoRA update, if any.
    pub fn lora(&self) -> Option<&Lora> {
        self.lora.as_ref()
    }

    /// The same layer with `lora` attached (replacing any previous one).
    pub fn with_lora(&self, lora: Lora) -> Result<Self> {
        Self::new(self.name.clone(), self.base.clone(), Some(lora))
    }

    /// Forward pass; `train` enables LoRA dropout.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        if let Some(l) = &self.lora {
            // Training factors over a frozen base: one op that keeps only the input and the rank-r
            // projection for the backward (`lora_linear`'s documentation has the arithmetic).
            if (l.a().track_op() || l.b().track_op()) && self.base.is_frozen() {
                return crate::nn::lora_linear::lora_linear(x, &self.base, l, train);
            }
        }
        let y = self.base.forward(x)?;
        match &self.lora {
            Some(l) => Ok((y + l.forward_t(x, train)?)?),
            None => Ok(y),
        }
    }

    /// The layer with its LoRA update folded into a dense weight `W + scale B A` (frozen, detached);
    /// a layer without LoRA comes back as a dense copy of its base.
    pub fn merged(&self) -> Result<Self> {
        let w = self.base.dense_weight()?.detach();
        let w = match &self.lora {
            Some(l) => {
                (w.to_dtype(l.a().dtype())? + l.delta_weight()?.detach())?.to_dtype(w.dtype())?
            }
            None => w,
        };
        Self::dense(self.name.clone(), w, self.base.bias().map(|b| b.detach()))
    }
}

impl Module for Linear {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        self.forward_t(x, false).map_err(|e| match e {
            EngineError::Candle(c) => c,
            other => candle_core::Error::Msg(other.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::lora::{Lora, LoraConfig};
    use candle_core::{DType, Device};

    fn t(v: &[f32], shape: (usize, usize)) -> Tensor {
        Tensor::from_slice(v, shape, &Device::Cpu).expect("tensor")
    }

    #[test]
    fn a_dense_layer_computes_x_w_transposed_plus_bias() -> Result<()> {
        let l = Linear::dense(
            "l",
            t(&[1., 2., 3., 4., 5., 6.], (3, 2)),
            Some(Tensor::new(&[1f32, 0., -1.], &Device::Cpu)?),
        )?;
        let y = l.forward_t(&t(&[10., 100.], (1, 2)), false)?;
        assert_eq!(y.to_vec2::<f32>()?, vec![vec![211., 430., 649.]]);
        Ok(())
    }

    #[test]
    fn lora_adds_scaled_b_a_x_and_merging_gives_the_same_output() -> Result<()> {
        let w = t(&[1., 2., 3., 4., 5., 6.], (3, 2));
        let a = t(&[0.5, -1.0], (1, 2));
        let b = t(&[1., 2., 3.], (3, 1));
        let lora = Lora::new(a, b, 2.0, 0.0)?;
        let l = Linear::dense("l", w, None)?.with_lora(lora)?;
        let x = t(&[10., 100.], (1, 2));
        // A x = 5 - 100 = -95; scale 2 => [-190, -380, -570] added to [210, 430, 650].
        assert_eq!(
            l.forward_t(&x, false)?.to_vec2::<f32>()?,
            vec![vec![20., 50., 80.]]
        );
        assert_eq!(
            l.merged()?.forward_t(&x, false)?.to_vec2::<f32>()?,
            vec![vec![20., 50., 80.]]
        );
        Ok(())
    }

    #[test]
    fn a_mismatched_adapter_is_refused() -> Result<()> {
        let cfg = LoraConfig {
            r: 2,
            ..Default::default()
        };
        let (lora, _, _) = Lora::init(3, 3, &cfg, DType::F32, &Device::Cpu)?;
        let l = Linear::dense("m.q", t(&[0.; 6], (3, 2)), None)?;
        let err = l.with_lora(lora).unwrap_err().to_string();
        assert!(err.contains("m.q"), "{err}");
        Ok(())
    }
}
