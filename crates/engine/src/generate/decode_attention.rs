//! Attention of one new position against the cached keys and values: the per-token step of
//! generation, in a few tensor operations on any device and dtype.
//!
//! `q` is `[batch, heads, 1, head_dim]`; `k` and `v` are `[batch, kv_heads, len, head_dim]` (views of
//! the KV cache's buffers, read in place: no copy of the cache per token). Grouped-query attention
//! folds each key/value head's query group into the rows of one product (`[b, kvh, group, d]` times
//! `[b, kvh, d, len]`), as transformers' `repeat_kv` without the repeat. The last query sees every
//! cached key, so there is no causal mask. The scores are widened to f32 for the scale and the
//! softmax (transformers' eager attention upcasts its softmax the same way) and the probabilities
//! cast back to the values' dtype for the product. Inference only: candle's fused softmax has no
//! backward.

use candle_core::{DType, Tensor, D};

use crate::{EngineError, Result};

/// `softmax(scale q k^T) v` for one query position, `[batch, heads, 1, head_dim]`.
pub fn attend_last(q: &Tensor, k: &Tensor, v: &Tensor, scale: f64) -> Result<Tensor> {
    let (b, h, t, d) = q.dims4()?;
    let (kb, kvh, _, kd) = k.dims4()?;
    if t != 1 || kb != b || kd != d || v.dims() != k.dims() || kvh == 0 || h % kvh != 0 {
        return Err(EngineError::Invalid(format!(
            "decoding attention needs q [b, heads, 1, d] and k, v [b, kv_heads, len, d] with \
             heads a multiple of kv_heads; got q {:?}, k {:?}, v {:?}",
            q.dims(),
            k.dims(),
            v.dims()
        )));
    }
    let group = h / kvh;
    let q = q.reshape((b, kvh, group, d))?;
    let scores = (q.matmul(&k.t()?)?.to_dtype(DType::F32)? * scale)?;
    let probs = if scores.device().is_cpu() {
        // candle's fused softmax hands every call to its thread pool, and for one query's few
        // hundred scores a head that hand-off costs more than the work: once per layer per token,
        // it made CPU generation about 35 % slower on a busy machine (bench/README, generation).
        // The same softmax in sequential ops stays on the calling thread.
        let max = scores.max_keepdim(D::Minus1)?;
        let e = scores.broadcast_sub(&max)?.exp()?;
        e.broadcast_div(&e.sum_keepdim(D::Minus1)?)?
    } else {
        candle_nn::ops::softmax_last_dim(&scores)?
    };
    let out = probs.to_dtype(v.dtype())?.matmul(v)?;
    Ok(out.reshape((b, h, 1, d))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::attention::{attention, AttentionSpec};
    use candle_core::Device;

    fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
        (a - b)
            .and_then(|d| d.abs())
            .and_then(|d| d.max_all())
            .and_then(|d| d.to_dtype(DType::F32))
            .and_then(|d| d.to_scalar::<f32>())
            .expect("diff")
    }

    #[test]
    fn one_query_over_cache_views_equals_the_fused_attention_at_the_last_position() -> Result<()> {
        let dev = Device::Cpu;
        let (b, h, kvh, s, d) = (2, 6, 2, 9, 8);
        // Keys and values as narrowed views of larger buffers, as the KV cache hands them out.
        let kbuf = Tensor::randn(0f32, 1.0, (b, kvh, 16, d), &dev)?;
        let vbuf = Tensor::randn(0f32, 1.0, (b, kvh, 16, d), &dev)?;
        let (k, v) = (kbuf.narrow(2, 0, s)?, vbuf.narrow(2, 0, s)?);
        let q = Tensor::randn(0f32, 1.0, (b, h, 1, d), &dev)?;
        let scale = 1.0 / (d as f64).sqrt();
        let ours = attend_last(&q, &k, &v, scale)?;
        let spec = AttentionSpec {
            scale,
            causal: true,
            offset: s - 1,
            key_mask: None,
            dropout: 0.0,
        };
        let fused = attention(&q, &k.contiguous()?, &v.contiguous()?, &spec)?;
        assert_eq!(ours.dims(), fused.dims());
        assert!(max_diff(&ours, &fused) < 1e-5);
        Ok(())
    }

    #[test]
    fn bf16_inputs_give_bf16_close_to_the_f32_result() -> Result<()> {
        let dev = Device::Cpu;
        let q = Tensor::randn(0f32, 1.0, (1, 4, 1, 16), &dev)?;
        let k = Tensor::randn(0f32, 1.0, (1, 2, 7, 16), &dev)?;
        let v = Tensor::randn(0f32, 1.0, (1, 2, 7, 16), &dev)?;
        let full = attend_last(&q, &k, &v, 0.25)?;
        let half = |x: &Tensor| x.to_dtype(DType::BF16);
        let low = attend_last(&half(&q)?, &half(&k)?, &half(&v)?, 0.25)?;
        assert_eq!(low.dtype(), DType::BF16);
        assert!(max_diff(&low.to_dtype(DType::F32)?, &full) < 0.05);
        Ok(())
    }

    #[test]
    fn more_than_one_query_is_refused() {
        let dev = Device::Cpu;
        let q = Tensor::zeros((1, 2, 2, 4), DType::F32, &dev).expect("q");
        let k = Tensor::zeros((1, 2, 3, 4), DType::F32, &dev).expect("k");
        assert!(attend_last(&q, &k, &k, 1.0).is_err());
    }
}
