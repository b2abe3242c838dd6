//! Undoing llama.cpp's Q/K row permutation.
//!
//! llama.cpp's `convert_hf_to_gguf.py` reorders the rows of `q_proj` and `k_proj` within each head,
//! `w.reshape(heads, 2, head_dim/2, in).swapaxes(1, 2)`, so that its interleaved RoPE (pairs
//! `(2i, 2i+1)`) computes what transformers' "rotate half" RoPE (pairs `(i, i + head_dim/2)`) computes
//! on the original rows. Reversing it restores the Hugging Face weights exactly (a permutation loses
//! nothing), so one model and one RoPE serve both file formats, and adapters trained on a GGUF base
//! are valid for the safetensors release of the same model.

use candle_core::Tensor;

use crate::Result;

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
    fn the_permutation_interleaves_the_two_halves_of_each_head() -> Result<()> {
        // One head of width 4: HF rows [a0, a1, b0, b1] become GGUF rows [a0, b0, a1, b1].
        let w = Tensor::new(&[0f32, 1., 2., 3.], &Device::Cpu)?;
        assert_eq!(permute_qk(&w, 1)?.to_vec1::<f32>()?, vec![0., 2., 1., 3.]);
        Ok(())
    }
}
