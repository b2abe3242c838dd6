//! Differentiable tensor helpers that models share: projections, softmax, GELU, attention masks,
//! pooling.
//!
//! Every function here has a backward pass: a composition of differentiable candle operations, or
//! one of our fused ops (`nn::fused`) with an analytic backward; none calls a candle kernel
//! (`softmax_last_dim`, `layer_norm`, ...) whose gradient candle silently drops.

use candle_core::{DType, Tensor, D};

use crate::Result;

/// `w` in `x`'s dtype: the cast that lets an f32 trainable weight (the optimiser's master copy)
/// meet bf16 activations under mixed precision. Differentiable (the gradient comes back in `w`'s
/// dtype) and free when the dtypes already agree, as in every f32 run.
pub fn like(w: &Tensor, x: &Tensor) -> Result<Tensor> {
    Ok(w.to_dtype(x.dtype())?)
}

/// The dtype sums over many values (softmax, norms, losses) run in for inputs of `dtype`: f32 for
/// half precision (bf16 keeps 8 significant bits, too few for a sum), the dtype itself otherwise.
pub fn accumulation_dtype(dtype: DType) -> DType {
    match dtype {
        DType::BF16 | DType::F16 => DType::F32,
        other => other,
    }
}

/// `x @ w^T` for `x` of shape `[..., in]` and `w` of shape `[out, in]`, giving `[..., out]`.
/// Leading dimensions are flattened so one 2-D matmul runs (a broadcast matmul is much slower).
pub fn matmul_t(x: &Tensor, w: &Tensor) -> Result<Tensor> {
    let dims = x.dims().to_vec();
    let in_f = *dims
        .last()
        .ok_or_else(|| crate::EngineError::Invalid("matmul of a scalar".into()))?;
    let rows: usize = dims[..dims.len() - 1].iter().product();
    let x2 = x.contiguous()?.reshape((rows, in_f))?;
    let y = x2.matmul(&like(w, x)?.t()?)?;
    let mut out = dims;
    let last = out.len() - 1;
    out[last] = w.dims()[0];
    Ok(y.reshape(out)?)
}

/// Softmax over the last dimension, differentiable (max-subtracted for stability).
pub fn softmax_last(x: &Tensor) -> Result<Tensor> {
    Ok(candle_nn::ops::softmax(x, D::Minus1)?)
}

/// GELU with the exact erf formulation (BERT's `gelu`, PyTorch's default): fused with an
/// analytic backward on the CPU (f32), candle's differentiable unary op elsewhere.
pub fn gelu_erf(x: &Tensor) -> Result<Tensor> {
    if crate::nn::fused::fused_applies(x, &[]) {
        return crate::nn::fused::gelu_erf(x);
    }
    Ok(x.gelu_erf()?)
}

/// `silu(gate) * up`, SwiGLU's product: fused with an analytic backward on the CPU (f32), candle's
/// differentiable ops elsewhere.
pub fn silu_mul(gate: &Tensor, up: &Tensor) -> Result<Tensor> {
    if crate::nn::fused::fused_applies(gate, &[up]) && gate.dims() == up.dims() {
        return crate::nn::fused::silu_mul(gate, up);
    }
    Ok((gate.silu()? * up)?)
}

/// The tanh approximation of GELU (`gelu_new`, `gelu_pytorch_tanh`).
pub fn gelu_tanh(x: &Tensor) -> Result<Tensor> {
    Ok(x.gelu()?)
}

/// Turns a `[batch, seq]` attention mask (1 = attend, 0 = padding) into an additive bias
/// `[batch, 1, 1, seq]` of 0 and a large negative number, in `dtype`, to add to attention scores.
pub fn additive_padding_mask(mask: &Tensor, dtype: DType) -> Result<Tensor> {
    let (b, s) = mask.dims2()?;
    let m = mask.to_dtype(DType::F32)?;
    // (1 - mask) * min: the same constant transformers uses (torch.finfo(float32).min).
    let bias = ((m.ones_like()? - &m)? * f32::MIN as f64)?;
    Ok(bias.reshape((b, 1, 1, s))?.to_dtype(dtype)?)
}

/// Mean of `hidden` (`[batch, seq, dim]`) over the positions where `mask` (`[batch, seq]`) is 1,
/// as sentence-transformers computes it (sum / max(count, 1e-9)).
pub fn mean_pool(hidden: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let m = mask.to_dtype(hidden.dtype())?.unsqueeze(2)?;
    let summed = hidden.broadcast_mul(&m)?.sum(1)?;
    let counts = m.sum(1)?.clamp(1e-9, f64::MAX)?;
    Ok(summed.broadcast_div(&counts)?)
}

/// Divides each row of `x` (`[batch, dim]`) by its L2 norm (at least 1e-12), as
/// `torch.nn.functional.normalize` does.
pub fn l2_normalize(x: &Tensor) -> Result<Tensor> {
    let norm = x
        .sqr()?
        .sum_keepdim(D::Minus1)?
        .sqrt()?
        .clamp(1e-12, f64::MAX)?;
    Ok(x.broadcast_div(&norm)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn matmul_t_keeps_leading_dimensions() -> Result<()> {
        let x = Tensor::arange(0f32, 12.0, &Device::Cpu)?.reshape((2, 2, 3))?;
        let w = Tensor::new(&[[1f32, 0., 0.], [0., 0., 1.]], &Device::Cpu)?;
        let y = matmul_t(&x, &w)?;
        assert_eq!(y.dims(), &[2, 2, 2]);
        assert_eq!(
            y.flatten_all()?.to_vec1::<f32>()?,
            vec![0., 2., 3., 5., 6., 8., 9., 11.]
        );
        Ok(())
    }

    #[test]
    fn mean_pool_ignores_padding_and_normalize_gives_unit_rows() -> Result<()> {
        let h = Tensor::new(&[[[1f32, 2.], [3., 4.], [100., 100.]]], &Device::Cpu)?;
        let m = Tensor::new(&[[1u32, 1, 0]], &Device::Cpu)?;
        let p = mean_pool(&h, &m)?;
        assert_eq!(p.to_vec2::<f32>()?, vec![vec![2., 3.]]);
        let n = l2_normalize(&p)?.sqr()?.sum_all()?.to_scalar::<f32>()?;
        assert!((n - 1.0).abs() < 1e-6);
        Ok(())
    }
}
