//! RMSNorm (Llama, Qwen2, Mistral), differentiable: fused with an analytic backward on the CPU
//! (f32, [`crate::nn::fused::rms_norm`]), composed of elementary ops elsewhere.
//!
//! candle's `ops::rms_norm` and its `RmsNorm` module take a fused kernel with no backward on contiguous
//! input, so a gradient through them is silently lost. The composed one is made of `sqr`, `mean`, `sqrt`
//! and broadcasts, all of which candle differentiates; it computes half precision in f32 like transformers and
//! casts back to the input's dtype before scaling by the weight, as transformers does.

use candle_core::{DType, Module, Result, Tensor, D};

/// `y = x / sqrt(mean(x^2) + eps) * weight` over the last dimension.
#[derive(Debug, Clone)]
pub struct RmsNorm {
    weight: Tensor,
    eps: f64,
}

impl RmsNorm {
    /// A norm over the weight's length; `weight` may be frozen or a trainable `Var`'s tensor.
    pub fn new(weight: Tensor, eps: f64) -> Self {
        Self { weight, eps }
    }

    /// The scale parameter.
    pub fn weight(&self) -> &Tensor {
        &self.weight
    }

    /// The epsilon added to the mean square.
    pub fn eps(&self) -> f64 {
        self.eps
    }
}

impl RmsNorm {
    /// The norm composed of elementary ops (every device and dtype; the reference the fused op is
    /// tested against).
    pub fn composed(&self, xs: &Tensor) -> Result<Tensor> {
        let in_dtype = xs.dtype();
        // Half precision is widened as transformers does; f32 and f64 keep their own precision.
        let x = match in_dtype {
            DType::F16 | DType::BF16 => xs.to_dtype(DType::F32)?,
            _ => xs.clone(),
        };
        let mean_sq = x.sqr()?.mean_keepdim(D::Minus1)?;
        let normed = x.broadcast_div(&(mean_sq + self.eps)?.sqrt()?)?;
        normed
            .to_dtype(in_dtype)?
            .broadcast_mul(&self.weight.to_dtype(in_dtype)?)
    }
}

impl Module for RmsNorm {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        if crate::nn::fused::fused_applies(xs, &[&self.weight]) {
            return crate::nn::fused::rms_norm(xs, &self.weight, self.eps).map_err(|e| match e {
                crate::EngineError::Candle(c) => c,
                other => candle_core::Error::Msg(other.to_string()),
            });
        }
        self.composed(xs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn matches_candles_fused_kernel_in_the_forward_pass() -> Result<()> {
        let dev = Device::Cpu;
        let x = Tensor::randn(0f32, 1.0, (2, 3, 8), &dev)?;
        let w = Tensor::randn(0f32, 1.0, 8, &dev)?;
        let ours = RmsNorm::new(w.clone(), 1e-5).forward(&x)?;
        let fused = candle_nn::ops::rms_norm(&x, &w, 1e-5)?;
        let diff = (ours - fused)?.abs()?.max_all()?.to_scalar::<f32>()?;
        assert!(diff < 1e-5, "max diff {diff}");
        Ok(())
    }

    #[test]
    fn gradients_reach_both_the_input_and_the_weight() -> Result<()> {
        let dev = Device::Cpu;
        let x = Var::new(&[[1f32, -2.0, 3.0, 0.5]], &dev)?;
        let w = Var::new(&[1f32, 2.0, 3.0, 4.0], &dev)?;
        let y = RmsNorm::new(w.as_tensor().clone(), 1e-6).forward(x.as_tensor())?;
        let grads = y.sum_all()?.backward()?;
        assert!(grads.get(&x).is_some());
        let gw = grads.get(&w).expect("weight gradient").to_vec1::<f32>()?;
        // d(sum(w * xhat))/dw = xhat, which is x / rms(x).
        let rms = ((1.0f32 + 4.0 + 9.0 + 0.25) / 4.0 + 1e-6).sqrt();
        for (g, x) in gw.iter().zip([1f32, -2.0, 3.0, 0.5]) {
            assert!((g - x / rms).abs() < 1e-5);
        }
        Ok(())
    }
}
