//! LayerNorm, differentiable: fused with an analytic backward on the CPU (f32,
//! [`crate::nn::fused::layer_norm`]), built from elementary operations elsewhere.
//!
//! candle's `layer_norm` kernel and its `LayerNorm` module on contiguous input have no backward pass;
//! this one is `(x - mean) / sqrt(var + eps) * weight + bias` over the last dimension, computed in
//! f32 for half-precision inputs (as PyTorch does) and returned in the input's dtype.

use candle_core::{DType, Tensor, D};

use crate::nn::params::Params;
use crate::Result;

/// A LayerNorm over the last dimension.
#[derive(Debug, Clone)]
pub struct LayerNorm {
    weight: Tensor,
    bias: Option<Tensor>,
    eps: f64,
}

impl LayerNorm {
    /// From explicit tensors.
    pub fn new(weight: Tensor, bias: Option<Tensor>, eps: f64) -> Self {
        Self { weight, bias, eps }
    }

    /// Loads `<weight_name>` and `<bias_name>` (width `dim`) at `p`'s path; trainable under full
    /// fine-tuning. Names differ between families (`weight`/`bias` vs old `gamma`/`beta`), so the
    /// caller passes them.
    pub fn load(p: &Params, dim: usize, eps: f64) -> Result<Self> {
        let (w, b) = if p.contains("gamma") && !p.contains("weight") {
            ("gamma", "beta")
        } else {
            ("weight", "bias")
        };
        let weight = p.weight(w, dim)?;
        let bias = Some(p.weight(b, dim)?);
        Ok(Self { weight, bias, eps })
    }

    /// The scale.
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    /// Normalises `x` (`[..., dim]`): the fused op on the CPU (f32), the composed one elsewhere.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if let Some(b) = &self.bias {
            if crate::nn::fused::fused_applies(x, &[&self.weight, b]) {
                return crate::nn::fused::layer_norm(x, &self.weight, b, self.eps);
            }
        }
        self.composed(x)
    }

    /// The norm composed of elementary ops (every device and dtype; the reference the fused op is
    /// tested against).
    pub fn composed(&self, x: &Tensor) -> Result<Tensor> {
        let dtype = x.dtype();
        // Half precision normalises in f32 (as PyTorch does); f32 and f64 stay as they are.
        let x = if matches!(dtype, DType::F16 | DType::BF16) {
            x.to_dtype(DType::F32)?
        } else {
            x.clone()
        };
        let mean = x.mean_keepdim(D::Minus1)?;
        let centred = x.broadcast_sub(&mean)?;
        let var = centred.sqr()?.mean_keepdim(D::Minus1)?;
        let normed = centred
            .broadcast_div(&(var + self.eps)?.sqrt()?)?
            .to_dtype(dtype)?;
        let y = normed.broadcast_mul(&self.weight.to_dtype(dtype)?)?;
        match &self.bias {
            Some(b) => Ok(y.broadcast_add(&b.to_dtype(dtype)?)?),
            None => Ok(y),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn normalises_and_passes_gradients_to_input_and_weight() -> Result<()> {
        let x = Var::from_tensor(&Tensor::new(&[[1f32, 2., 3., 4.]], &Device::Cpu)?)?;
        let w = Var::from_tensor(&Tensor::new(&[1f32, 2., 1., 1.], &Device::Cpu)?)?;
        let ln = LayerNorm::new(
            w.as_tensor().clone(),
            Some(Tensor::zeros(4, DType::F32, &Device::Cpu)?),
            1e-5,
        );
        let y = ln.forward(x.as_tensor())?;
        let v = y.to_vec2::<f32>()?[0].clone();
        assert!(
            (v[0] + 1.3416).abs() < 1e-3 && (v[1] + 0.8944).abs() < 1e-3,
            "{v:?}"
        );
        let grads = (y.sqr()?.sum_all()?).backward()?;
        assert!(grads.get(x.as_tensor()).is_some() && grads.get(w.as_tensor()).is_some());
        Ok(())
    }
}
