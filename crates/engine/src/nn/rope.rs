//! Rotary position embeddings (RoPE) in Hugging Face's "rotate half" layout, differentiable.
//!
//! The tables follow transformers: `inv_freq[i] = theta^(-2i/d)` adjusted by the config's scaling
//! (`linear` or Llama 3's frequency-band scaling), and `x * cos + rotate_half(x) * sin`. The rotation
//! uses candle's `rope_slow` composition, which has a backward pass; the fused `rope` kernels do not.
//! In training, [`RotaryEmbedding::apply_heads`] splits a projection into heads and rotates it as
//! one op: the composition kept five tensors of the projection's size for its backward (the
//! contiguous heads, the negated half, the rotated copy and both products); the op keeps none
//! (its backward is the inverse rotation, `dx = dy cos + unrotate(dy sin)`).
//! Weights from GGUF files are un-permuted at load time (see `gguf::permute`), so one layout serves both.

use std::sync::Arc;

use candle_core::{
    CpuStorage, CudaStorage, CustomOp1, DType, Device, Layout, MetalStorage, Result, Shape, Tensor,
    D,
};

use crate::nn::precomputed::Precomputed;

/// How the base frequencies are rescaled for longer contexts.
#[derive(Debug, Clone, PartialEq)]
pub enum RopeScaling {
    /// No rescaling.
    None,
    /// Every frequency divided by `factor` (position interpolation).
    Linear {
        /// The divisor.
        factor: f64,
    },
    /// Llama 3.x: low frequencies divided by `factor`, high ones kept, a smooth blend in between.
    Llama3 {
        /// The divisor for low frequencies.
        factor: f64,
        /// Wavelengths longer than `original / low_freq_factor` are fully scaled.
        low_freq_factor: f64,
        /// Wavelengths shorter than `original / high_freq_factor` are kept.
        high_freq_factor: f64,
        /// The context length the model was pre-trained with.
        original_max_position_embeddings: usize,
    },
    /// Each frequency divided by its own factor (llama.cpp stores Llama 3's scaling this way, as the
    /// `rope_freqs.weight` tensor of a GGUF file).
    PerFrequency(Vec<f32>),
}

/// The inverse frequencies for a head dimension, with scaling applied, as transformers computes them.
pub fn inverse_frequencies(head_dim: usize, theta: f64, scaling: &RopeScaling) -> Vec<f32> {
    let base: Vec<f64> = (0..head_dim / 2)
        .map(|i| 1.0 / theta.powf((2 * i) as f64 / head_dim as f64))
        .collect();
    match scaling {
        RopeScaling::None => base.into_iter().map(|f| f as f32).collect(),
        RopeScaling::Linear { factor } => base.into_iter().map(|f| (f / factor) as f32).collect(),
        RopeScaling::PerFrequency(factors) => base
            .into_iter()
            .zip(factors.iter().chain(std::iter::repeat(&1.0)))
            .map(|(f, d)| (f / *d as f64) as f32)
            .collect(),
        RopeScaling::Llama3 {
            factor,
            low_freq_factor,
            high_freq_factor,
            original_max_position_embeddings,
        } => {
            let old = *original_max_position_embeddings as f64;
            let low_freq_wavelen = old / low_freq_factor;
            let high_freq_wavelen = old / high_freq_factor;
            base.into_iter()
                .map(|f| {
                    let wavelen = 2.0 * std::f64::consts::PI / f;
                    let scaled = if wavelen > low_freq_wavelen {
                        f / factor
                    } else {
                        f
                    };
                    let medium = !(wavelen < high_freq_wavelen) && !(wavelen > low_freq_wavelen);
                    let out = if medium {
                        let smooth = (old / wavelen - low_freq_factor)
                            / (high_freq_factor - low_freq_factor);
                        (1.0 - smooth) * scaled / factor + smooth * scaled
                    } else {
                        scaled
                    };
                    out as f32
                })
                .collect()
        }
    }
}

/// Precomputed cos/sin tables for positions `0..max_positions`.
#[derive(Debug, Clone)]
pub struct RotaryEmbedding {
    cos: Tensor,
    sin: Tensor,
}

impl RotaryEmbedding {
    /// Tables for `max_positions` positions of a `head_dim`-wide head, in `dtype` on `device`.
    pub fn new(
        head_dim: usize,
        max_positions: usize,
        theta: f64,
        scaling: &RopeScaling,
        dtype: DType,
        device: &Device,
    ) -> Result<Self> {
        let inv = inverse_frequencies(head_dim, theta, scaling);
        let n = inv.len();
        let inv = Tensor::from_vec(inv, (1, n), device)?;
        let t = Tensor::arange(0u32, max_positions as u32, device)?
            .to_dtype(DType::F32)?
            .reshape((max_positions, 1))?;
        let freqs = t.broadcast_mul(&inv)?;
        Ok(Self {
            cos: freqs.cos()?.to_dtype(dtype)?,
            sin: freqs.sin()?.to_dtype(dtype)?,
        })
    }

    /// How many positions the tables cover.
    pub fn max_positions(&self) -> usize {
        self.cos.dims()[0]
    }

    /// Rotates `x` of shape `[batch, heads, seq, head_dim]` whose first token sits at `offset`.
    pub fn apply(&self, x: &Tensor, offset: usize) -> Result<Tensor> {
        let (_, _, seq, _) = x.dims4()?;
        if offset + seq > self.max_positions() {
            candle_core::bail!(
                "position {} is beyond the model's {} positions (max_position_embeddings)",
                offset + seq,
                self.max_positions()
            );
        }
        let cos = self.cos.narrow(0, offset, seq)?;
        let sin = self.sin.narrow(0, offset, seq)?;
        candle_nn::rotary_emb::rope_slow(&x.contiguous()?, &cos, &sin)
    }

    /// Splits `y` (`[batch, seq, heads * head_dim]`, a projection's output) into heads and rotates
    /// them: `[batch, heads, seq, head_dim]`, the same numbers as `apply` on the split heads. When
    /// `y` is part of a training graph this is one op that keeps nothing of its own for the backward.
    pub fn apply_heads(&self, y: &Tensor, heads: usize, offset: usize) -> Result<Tensor> {
        let (b, t, width) = y.dims3()?;
        if heads == 0 || width % heads != 0 {
            candle_core::bail!("a projection {width} wide cannot split into {heads} heads");
        }
        let split = |y: &Tensor| -> Result<Tensor> {
            y.reshape((b, t, heads, width / heads))?
                .transpose(1, 2)?
                .contiguous()
        };
        if !y.track_op() {
            return self.apply(&split(y)?, offset);
        }
        let out = self.apply(&split(&y.detach())?, offset)?;
        let op = RopeHeads {
            cos: self.cos.narrow(0, offset, t)?,
            sin: self.sin.narrow(0, offset, t)?,
            output: Precomputed::new(out)?,
        };
        y.apply_op1_arc(Arc::new(Box::new(op)))
    }
}

const ROPE_HEADS: &str = "tunesmith-rope-heads";

/// Split into heads and rotate, as one op: forward precomputed, backward the inverse rotation.
struct RopeHeads {
    /// `[seq, head_dim / 2]` of the rotated positions.
    cos: Tensor,
    sin: Tensor,
    output: Precomputed,
}

impl CustomOp1 for RopeHeads {
    fn name(&self) -> &'static str {
        ROPE_HEADS
    }
    fn cpu_fwd(&self, _: &CpuStorage, _: &Layout) -> Result<(CpuStorage, Shape)> {
        self.output.storage_for(ROPE_HEADS)
    }
    fn cuda_fwd(&self, _: &CudaStorage, _: &Layout) -> Result<(CudaStorage, Shape)> {
        self.output.storage_for(ROPE_HEADS)
    }
    fn metal_fwd(&self, _: &MetalStorage, _: &Layout) -> Result<(MetalStorage, Shape)> {
        self.output.storage_for(ROPE_HEADS)
    }
    fn bwd(&self, y: &Tensor, _: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        // out = x cos + rotate_half(x) sin with rotate_half(x) = [-x2, x1]; its transpose maps
        // z = [z1, z2] to [z2, -z1], so dx = dy cos + [ (dy sin)2, -(dy sin)1 ].
        let d = grad.dim(D::Minus1)?;
        let cos = Tensor::cat(&[&self.cos, &self.cos], D::Minus1)?
            .unsqueeze(0)?
            .unsqueeze(0)?;
        let sin = Tensor::cat(&[&self.sin, &self.sin], D::Minus1)?
            .unsqueeze(0)?
            .unsqueeze(0)?;
        let zs = grad.broadcast_mul(&sin)?;
        let (z1, z2) = (
            zs.narrow(D::Minus1, 0, d / 2)?,
            zs.narrow(D::Minus1, d / 2, d - d / 2)?,
        );
        let unrotated = Tensor::cat(&[&z2, &z1.neg()?], D::Minus1)?;
        let dx = (grad.broadcast_mul(&cos)? + unrotated)?;
        Ok(Some(dx.transpose(1, 2)?.contiguous()?.reshape(y.dims())?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unscaled_frequencies_follow_theta() {
        let f = inverse_frequencies(4, 10000.0, &RopeScaling::None);
        assert_eq!(f.len(), 2);
        assert!((f[0] - 1.0).abs() < 1e-7);
        assert!((f[1] - 0.01).abs() < 1e-7);
    }

    #[test]
    fn llama3_scaling_keeps_high_and_divides_low_frequencies() {
        let s = RopeScaling::Llama3 {
            factor: 8.0,
            low_freq_factor: 1.0,
            high_freq_factor: 4.0,
            original_max_position_embeddings: 8192,
        };
        let base = inverse_frequencies(128, 500000.0, &RopeScaling::None);
        let scaled = inverse_frequencies(128, 500000.0, &s);
        assert_eq!(base[0], scaled[0]);
        assert!((scaled[63] - base[63] / 8.0).abs() < 1e-12);
    }

    #[test]
    fn the_rotation_at_an_offset_equals_the_rotation_inside_a_longer_sequence() -> Result<()> {
        let dev = Device::Cpu;
        let rope = RotaryEmbedding::new(8, 16, 10000.0, &RopeScaling::None, DType::F32, &dev)?;
        let x = Tensor::randn(0f32, 1.0, (1, 2, 5, 8), &dev)?;
        let whole = rope.apply(&x, 0)?;
        let tail = rope.apply(&x.narrow(2, 3, 2)?, 3)?;
        let diff = (whole.narrow(2, 3, 2)? - tail)?
            .abs()?
            .max_all()?
            .to_scalar::<f32>()?;
        assert!(diff < 1e-6);
        Ok(())
    }

    #[test]
    fn split_and_rotate_as_one_op_gives_the_composed_output_and_gradients() -> Result<()> {
        let dev = Device::Cpu;
        let rope = RotaryEmbedding::new(4, 16, 10000.0, &RopeScaling::None, DType::F32, &dev)?;
        let v: Vec<f32> = (0..2 * 5 * 12)
            .map(|i| ((i * 37 % 23) as f32 - 11.0) / 7.0)
            .collect();
        let y = candle_core::Var::from_vec(v, (2, 5, 12), &dev)?;
        let w: Vec<f32> = (0..2 * 3 * 5 * 4)
            .map(|i| ((i * 13 % 17) as f32 - 8.0) / 5.0)
            .collect();
        let w = Tensor::from_vec(w, (2, 3, 5, 4), &dev)?;
        let fused = rope.apply_heads(y.as_tensor(), 3, 2)?;
        let split = y
            .as_tensor()
            .reshape((2, 5, 3, 4))?
            .transpose(1, 2)?
            .contiguous()?;
        let composed = rope.apply(&split, 2)?;
        let flat = |t: &Tensor| t.flatten_all()?.to_vec1::<f32>();
        assert_eq!(flat(&fused)?, flat(&composed)?);
        let g_fused = (fused * &w)?.sum_all()?.backward()?;
        let g_composed = (composed * &w)?.sum_all()?.backward()?;
        let (a, b) = (
            flat(g_fused.get(y.as_tensor()).expect("a gradient"))?,
            flat(g_composed.get(y.as_tensor()).expect("a gradient"))?,
        );
        for (x, z) in a.iter().zip(&b) {
            assert!((x - z).abs() < 1e-6, "{a:?} vs {b:?}");
        }
        // The rotation is linear: the gradient of sum(out * w) at y is the same at any y, so a
        // finite difference of one step is exact up to rounding.
        let base = flat(y.as_tensor())?;
        let loss = |v: Vec<f32>| -> Result<f32> {
            let y = Tensor::from_vec(v, (2, 5, 12), &dev)?;
            (rope.apply_heads(&y, 3, 2)? * &w)?
                .sum_all()?
                .to_scalar::<f32>()
        };
        for i in (0..base.len()).step_by(7) {
            let mut up = base.clone();
            up[i] += 0.5;
            let numeric = (loss(up)? - loss(base.clone())?) / 0.5;
            assert!(
                (numeric - a[i]).abs() < 1e-3,
                "element {i}: {numeric} vs {}",
                a[i]
            );
        }
        Ok(())
    }
}
