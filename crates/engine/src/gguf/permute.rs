//! Undoing llama.cpp's Q/K row permutation.
//!
//! llama.cpp's `convert_hf_to_gguf.py` reorders the rows of `q_proj` and `k_proj` within each head,
//! `w.reshape(heads, 2, head_dim/2, in).swapaxes(1, 2)`, so that its interleaved RoPE (pairs
//! `(2i, 2i+1)`) computes what transformers' "rotate half" RoPE (pairs `(i, i + head_dim/2)`) computes
//! on the original rows. Reversing it restores the Hugging Face weights exactly (a permutation loses
//! nothing), so one model and one RoPE serve both file formats, and adapters trained on a GGUF base
//! are valid for the safetensors release of the same model.

use std::borrow::Cow;

use candle_core::quantized::{QStorage, QTensor};
use candle_core::Tensor;

use crate::{EngineError, Result};

/// Restores Hugging Face row order for a GGUF Q or K weight (`heads*head_dim x in`) or bias
/// (`heads*head_dim`).
pub fn unpermute_qk(w: &Tensor, heads: usize) -> Result<Tensor> {
    let dims = w.dims().to_vec();
    let rows = dims[0];
    let head_dim = rows / heads;
    let rest: usize = dims[1..].iter().product();
    // GGUF rows are (head, pair index i, half h); HF rows are (head, half h, pair index i).
    let t = w.contiguous()?.reshape((heads, head_dim / 2, 2, rest))?;
    let t = t.transpose(1, 2)?.contiguous()?.reshape(dims)?;
    Ok(t)
}

/// [`unpermute_qk`] on a quantised weight (`heads*head_dim x in`), without dequantising: GGUF
/// quantises each row on its own (blocks run along the input width), so moving whole rows' bytes
/// is exact and the result is bit for bit the quantised Hugging Face weight.
pub fn unpermute_qk_quantized(w: &QTensor, heads: usize) -> Result<QTensor> {
    let (rows, cols) = w.shape().dims2()?;
    let dtype = w.dtype();
    if heads == 0 || rows % heads != 0 || (rows / heads) % 2 != 0 || cols % dtype.block_size() != 0
    {
        return Err(EngineError::Invalid(format!(
            "a {rows}x{cols} {dtype:?} Q/K weight cannot be split into {heads} rotary heads"
        )));
    }
    let head_dim = rows / heads;
    let half = head_dim / 2;
    let row_bytes = cols / dtype.block_size() * dtype.type_size();
    let data = w.data()?;
    if data.len() != rows * row_bytes {
        return Err(EngineError::Invalid(format!(
            "a {rows}x{cols} {dtype:?} weight holds {} bytes, expected {}",
            data.len(),
            rows * row_bytes
        )));
    }
    let mut out = vec![0u8; data.len()];
    // HF row (head h, half s, pair i) is GGUF row (head h, pair i, half s).
    for h in 0..heads {
        for s in 0..2 {
            for i in 0..half {
                let src = (h * head_dim + 2 * i + s) * row_bytes;
                let dst = (h * head_dim + s * half + i) * row_bytes;
                out[dst..dst + row_bytes].copy_from_slice(&data[src..src + row_bytes]);
            }
        }
    }
    let storage = QStorage::from_data(Cow::Owned(out), &w.device(), dtype)?;
    Ok(QTensor::new(storage, (rows, cols))?)
}

/// The permutation llama.cpp applies (the inverse of [`unpermute_qk`]), for exporting to GGUF.
pub fn permute_qk(w: &Tensor, heads: usize) -> Result<Tensor> {
    let dims = w.dims().to_vec();
    let head_dim = dims[0] / heads;
    let rest: usize = dims[1..].iter().product();
    let t = w.contiguous()?.reshape((heads, 2, head_dim / 2, rest))?;
    Ok(t.transpose(1, 2)?.contiguous()?.reshape(dims)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn unpermuting_reverses_llama_cpps_permutation() -> Result<()> {
        let w = Tensor::arange(0f32, 48.0, &Device::Cpu)?.reshape((8, 6))?;
        let back = unpermute_qk(&permute_qk(&w, 2)?, 2)?;
        assert_eq!(back.to_vec2::<f32>()?, w.to_vec2::<f32>()?);
        Ok(())
    }

    #[test]
    fn unpermuting_quantised_rows_equals_unpermuting_the_dequantised_weight() -> Result<()> {
        use candle_core::quantized::GgmlDType;
        let dev = Device::Cpu;
        let w = Tensor::randn(0f32, 1.0, (24, 64), &dev)?;
        for dtype in [GgmlDType::Q4_1, GgmlDType::Q8_0] {
            let q = QTensor::quantize(&w, dtype)?;
            let expected = unpermute_qk(&q.dequantize(&dev)?, 3)?;
            let got = unpermute_qk_quantized(&q, 3)?;
            assert_eq!(got.dtype(), dtype);
            assert_eq!(
                got.dequantize(&dev)?.to_vec2::<f32>()?,
                expected.to_vec2::<f32>()?
            );
        }
        Ok(())
    }

    #[test]
    fn the_permutation_interleaves_the_two_halves_of_each_head() -> Result<()> {
        // One head of width 4: HF rows [a0, a1, b0, b1] become GGUF rows [a0, b0, a1, b1].
        let w = Tensor::new(&[0f32, 1., 2., 3.], &Device::Cpu)?;
        assert_eq!(permute_qk(&w, 1)?.to_vec1::<f32>()?, vec![0., 2., 1., 3.]);
        Ok(())
    }
}
