//! Rotary position embeddings (RoPE) in Hugging Face's "rotate half" layout, differentiable.
//!
//! The tables follow transformers: `inv_freq[i] = theta^(-2i/d)` adjusted by the config's scaling
//! (`linear` or Llama 3's frequency-band scaling), and `x * cos + rotate_half(x) * sin`. The rotation
//! uses candle's `rope_slow` composition, which has a backward pass; the fused `rope` kernels do not.
//! Weights from GGUF files are un-permuted at load time (see `gguf::permute`), so one layout serves both.

use candle_core::{DType, Device, Result, Tensor};

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
}
