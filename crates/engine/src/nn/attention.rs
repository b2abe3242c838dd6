//! Scaled dot-product attention as one differentiable op whose backward keeps no
//! (length x length) tensor alive.
//!
//! [`attention`] takes `q` `[b, h, t, d]`, `k` and `v` `[b, kvh, s, d]` (grouped-query attention when
//! `kvh < h`: query head `i` reads key/value head `i / (h / kvh)`, as transformers' `repeat_kv`),
//! and an [`AttentionSpec`]: the scale, a causal mask (with the position of the first query, for a
//! KV cache), a `[b, s]` key padding mask and dropout on the probabilities. It returns
//! `softmax(scale q k^T + mask) (dropout) v`, `[b, h, t, d]`.
//!
//! Promises:
//! - The same numbers as the composed path ([`composed_attention`], which materialises scores,
//!   bias, softmax and dropout as separate tensors) within f32 rounding, masks as transformers'
//!   additive `finfo.min` bias (a row with every key masked attends uniformly).
//! - The graph keeps `q`, `k`, `v`, the output and one float per query row; the backward
//!   recomputes the probabilities (FlashAttention-2: `dS = P (dP - rowsum(dO O))`).
//! - Dropout masks come from one key drawn from the run's key counter ([`crate::nn::dropout`])
//!   and a counter-based hash of the element's position: the backward regenerates the same mask,
//!   runs are reproducible and resumable, and the tensor-op path draws each block's mask on its
//!   own device (the dropout op's kernel on CUDA) instead of copying one from the host.
//! - CPU f32: a multi-threaded kernel ([`crate::nn::attention_cpu`]). Any other device or dtype
//!   (CUDA, Metal, bf16): the same algorithm with tensor operations over blocks of query rows, whose
//!   forward is attached to the op through [`Precomputed`]; peak memory is one block's scores.

use std::sync::{Arc, Mutex};

use candle_core::{CpuStorage, CudaStorage, DType, Device, Layout, MetalStorage, Shape, Tensor, D};

use crate::nn::attention_cpu::{self, Geometry};
use crate::nn::dropout::{dropout_window, MaskWindow};
use crate::nn::precomputed::Precomputed;
use crate::{EngineError, Result};

/// What an attention call masks and drops.
#[derive(Debug, Clone)]
pub struct AttentionSpec {
    /// Multiplies `q . k` (usually `1 / sqrt(head_dim)`).
    pub scale: f64,
    /// Query `i` sees only keys `j <= offset + i` (decoders).
    pub causal: bool,
    /// The position of the first query among the keys (a KV cache's length; 0 without a cache).
    pub offset: usize,
    /// `[b, s]`, nonzero where a key is a real token, 0 where it is padding.
    pub key_mask: Option<Tensor>,
    /// Dropout probability on the attention probabilities (training only; 0 = none).
    pub dropout: f32,
}

impl AttentionSpec {
    /// Checks the shapes of `q`, `k`, `v` against each other and the spec, giving the geometry.
    fn geometry(&self, q: &Tensor, k: &Tensor, v: &Tensor, seed: u64) -> Result<Geometry> {
        let (b, h, t, d) = q.dims4()?;
        let (kb, kvh, s, kd) = k.dims4()?;
        if k.dims() != v.dims() || kb != b || kd != d {
            return Err(EngineError::Invalid(format!(
                "attention needs k and v of shape [b, kv_heads, s, d] matching q {:?}; got k {:?}, v {:?}",
                q.dims(),
                k.dims(),
                v.dims()
            )));
        }
        if kvh == 0 || h % kvh != 0 {
            return Err(EngineError::Invalid(format!(
                "attention: {h} query heads cannot share {kvh} key/value heads"
            )));
        }
        if self.causal && self.offset + t > s {
            return Err(EngineError::Invalid(format!(
                "attention: {t} queries from position {} need {} keys, got {s}",
                self.offset,
                self.offset + t
            )));
        }
        if let Some(m) = &self.key_mask {
            if m.dims() != [b, s] {
                return Err(EngineError::Invalid(format!(
                    "the attention mask is {:?} but the keys are {b}x{s}",
                    m.dims()
                )));
            }
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(EngineError::Invalid(format!(
                "the attention dropout must be in [0, 1), got {}",
                self.dropout
            )));
        }
        Ok(Geometry {
            b,
            h,
            kvh,
            t,
            s,
            d,
            scale: self.scale,
            causal: self.causal,
            offset: self.offset,
            dropout: self.dropout,
            seed,
        })
    }
}

/// Fused attention (see the module documentation). Draws one seed from the run's dropout generator
/// when `spec.dropout > 0`.
pub fn attention(q: &Tensor, k: &Tensor, v: &Tensor, spec: &AttentionSpec) -> Result<Tensor> {
    let seed = if spec.dropout > 0.0 {
        crate::nn::dropout::draw_seed()
    } else {
        0
    };
    let g = spec.geometry(q, k, v, seed)?;
    let keys: Option<Arc<Vec<u8>>> = match &spec.key_mask {
        Some(m) => Some(Arc::new(
            m.to_dtype(DType::F32)?
                .ne(0f32)?
                .flatten_all()?
                .to_vec1::<u8>()?,
        )),
        None => None,
    };
    let (q, k, v) = (q.contiguous()?, k.contiguous()?, v.contiguous()?);
    let cpu_kernel = q.device().is_cpu() && q.dtype() == DType::F32;
    let precomputed = if cpu_kernel {
        Precomputed::empty()
    } else {
        let (o, _) = blockwise_forward(
            &g,
            &q.detach(),
            &k.detach(),
            &v.detach(),
            keys.as_deref().map(Vec::as_slice),
        )?;
        Precomputed::new(o)?
    };
    let op = FusedAttention {
        g,
        keys,
        lse: Mutex::new(None),
        precomputed,
    };
    let out = q.apply_op3_arc(&k, &v, Arc::new(Box::new(op)))?;
    Ok(out)
}

/// The composed reference: scores, additive bias, softmax, dropout (the same mask as
/// [`attention`] draws, given the same generator state) and the product with `v`, each a tensor.
/// Kept to check the fused op against, and as a fallback.
pub fn composed_attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    spec: &AttentionSpec,
) -> Result<Tensor> {
    let seed = if spec.dropout > 0.0 {
        crate::nn::dropout::draw_seed()
    } else {
        0
    };
    let g = spec.geometry(q, k, v, seed)?;
    let rep = g.h / g.kvh;
    let repeat = |x: &Tensor| -> Result<Tensor> {
        if rep == 1 {
            return Ok(x.clone());
        }
        Ok(Tensor::cat(&vec![x; rep], 2)?.reshape((g.b, g.h, g.s, g.d))?)
    };
    let (k, v) = (repeat(k)?, repeat(v)?);
    let scores = (q.matmul(&k.t()?.contiguous()?)? * spec.scale)?;
    let keys = match &spec.key_mask {
        Some(m) => Some(
            m.to_dtype(DType::F32)?
                .ne(0f32)?
                .flatten_all()?
                .to_vec1::<u8>()?,
        ),
        None => None,
    };
    let bias = bias_block(&g, 0, g.t, keys.as_deref(), q.device())?;
    let scores = match bias {
        Some(b) => scores.broadcast_add(
            &b.reshape((b.dim(0)?, 1, g.t, g.s))?
                .to_dtype(scores.dtype())?,
        )?,
        None => scores,
    };
    let mut probs = candle_nn::ops::softmax(&scores, D::Minus1)?;
    if g.dropout > 0.0 {
        let mask = dropout_block(&g, 0, g.t, q.device())?.reshape((g.b, g.h, g.t, g.s))?;
        probs = probs.mul(&mask.to_dtype(probs.dtype())?)?;
    }
    Ok(probs.matmul(&v)?)
}

/// The additive bias (0 or `f32::MIN`) of query rows `i0..i0 + n`, `[b or 1, 1, 1, n, s]` in f32,
/// or `None` when nothing is masked.
fn bias_block(
    g: &Geometry,
    i0: usize,
    n: usize,
    keys: Option<&[u8]>,
    device: &Device,
) -> Result<Option<Tensor>> {
    let causal_masks = g.causal && (0..n).any(|i| g.offset + i0 + i + 1 < g.s);
    if !causal_masks && keys.is_none() {
        return Ok(None);
    }
    let rows = if keys.is_some() { g.b } else { 1 };
    let mut bias = Vec::with_capacity(rows * n * g.s);
    for bi in 0..rows {
        for i in i0..i0 + n {
            for j in 0..g.s {
                let causal_ok = !g.causal || j <= g.offset + i;
                let key_ok = keys.is_none_or(|m| m[bi * g.s + j] != 0);
                bias.push(if causal_ok && key_ok { 0.0 } else { f32::MIN });
            }
        }
    }
    Ok(Some(Tensor::from_vec(bias, (rows, 1, 1, n, g.s), device)?))
}

/// The dropout multipliers of query rows `i0..i0 + n`, `[b, kvh, group, n, s]` in f32.
fn dropout_block(g: &Geometry, i0: usize, n: usize, device: &Device) -> Result<Tensor> {
    let mut m = Vec::with_capacity(g.b * g.h * n * g.s);
    for bi in 0..g.b {
        for hi in 0..g.h {
            for i in i0..i0 + n {
                for j in 0..g.s {
                    m.push(g.keep(bi, hi, i, j));
                }
            }
        }
    }
    let grp = g.h / g.kvh;
    Ok(Tensor::from_vec(m, (g.b, g.kvh, grp, n, g.s), &Device::Cpu)?.to_device(device)?)
}

/// `x` (`[b, kvh, group * n, s]`, the probabilities of query rows `i0..i0 + n` or their
/// gradient) times the dropout multipliers of those rows, drawn on `x`'s device: the rows are a
/// window of the `[b, h, t, s]` mask ([`dropout_block`]'s numbers, no mask tensor made or copied).
fn dropout_rows(g: &Geometry, x: &Tensor, i0: usize, n: usize) -> Result<Tensor> {
    let window = MaskWindow {
        inner: (n * g.s) as u64,
        stride: (g.t * g.s) as u64,
        offset: (i0 * g.s) as u64,
    };
    dropout_window(x, g.seed, g.dropout, window)
}

/// The bytes of one block's scores in the tensor-op path (unit tests use tiny blocks so that
/// several blocks run).
const BLOCK_BYTES: usize = if cfg!(test) { 512 } else { 64 << 20 };

/// Query rows per block of the tensor-op path.
fn block_rows(g: &Geometry) -> usize {
    let per_row = g.b * g.h * g.s * 4;
    (BLOCK_BYTES / per_row.max(1)).clamp(1, g.t.max(1))
}

/// The dtype the tensor-op path computes in: f64 stays f64, anything else runs in f32.
fn compute_dtype(dtype: DType) -> DType {
    if dtype == DType::F64 {
        DType::F64
    } else {
        DType::F32
    }
}

/// The probabilities of query rows `i0..i0 + n` and the query block, in `q5`'s dtype:
/// `([b, kvh, group * n, s], [b, kvh, group * n, d])`.
fn probs_block(
    g: &Geometry,
    q5: &Tensor,
    kt: &Tensor,
    i0: usize,
    n: usize,
    keys: Option<&[u8]>,
) -> Result<(Tensor, Tensor)> {
    let grp = g.h / g.kvh;
    let qb = q5
        .narrow(3, i0, n)?
        .contiguous()?
        .reshape((g.b, g.kvh, grp * n, g.d))?;
    let scores = (qb.matmul(kt)? * g.scale)?.reshape((g.b, g.kvh, grp, n, g.s))?;
    let scores = match bias_block(g, i0, n, keys, q5.device())? {
        Some(bias) => scores.broadcast_add(&bias.to_dtype(scores.dtype())?)?,
        None => scores,
    };
    let probs = candle_nn::ops::softmax_last_dim(&scores.contiguous()?)?;
    Ok((probs.reshape((g.b, g.kvh, grp * n, g.s))?, qb))
}

/// The forward with tensor operations, block by block over query rows (any device, any dtype;
/// computed in f32, or f64 for f64 inputs). Returns the output in `q`'s dtype and the blocks' row count.
fn blockwise_forward(
    g: &Geometry,
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    keys: Option<&[u8]>,
) -> Result<(Tensor, usize)> {
    let grp = g.h / g.kvh;
    let cd = compute_dtype(q.dtype());
    let q5 = q.to_dtype(cd)?.reshape((g.b, g.kvh, grp, g.t, g.d))?;
    let kt = k.to_dtype(cd)?.t()?.contiguous()?;
    let v = v.to_dtype(cd)?;
    let n = block_rows(g);
    let mut outs = Vec::new();
    let mut i0 = 0;
    while i0 < g.t {
        let rows = n.min(g.t - i0);
        let (mut p, _) = probs_block(g, &q5, &kt, i0, rows, keys)?;
        if g.dropout > 0.0 {
            p = dropout_rows(g, &p, i0, rows)?;
        }
        outs.push(p.matmul(&v)?.reshape((g.b, g.kvh, grp, rows, g.d))?);
        i0 += rows;
    }
    let o = Tensor::cat(&outs, 3)?.reshape((g.b, g.h, g.t, g.d))?;
    Ok((o.to_dtype(q.dtype())?, n))
}

/// The backward with tensor operations, block by block over query rows.
fn blockwise_backward(
    g: &Geometry,
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    o: &Tensor,
    dout: &Tensor,
    keys: Option<&[u8]>,
) -> Result<(Tensor, Tensor, Tensor)> {
    let grp = g.h / g.kvh;
    let cd = compute_dtype(q.dtype());
    let as5 = |x: &Tensor| -> Result<Tensor> {
        Ok(x.to_dtype(cd)?
            .contiguous()?
            .reshape((g.b, g.kvh, grp, g.t, g.d))?)
    };
    let (q5, o5, do5) = (as5(q)?, as5(o)?, as5(dout)?);
    let kf = k.to_dtype(cd)?.contiguous()?;
    let vf = v.to_dtype(cd)?.contiguous()?;
    let (kt, vt) = (kf.t()?.contiguous()?, vf.t()?.contiguous()?);
    let mut dk = kf.zeros_like()?;
    let mut dv = vf.zeros_like()?;
    let mut dqs = Vec::new();
    let n = block_rows(g);
    let mut i0 = 0;
    while i0 < g.t {
        let rows = n.min(g.t - i0);
        let block = |x: &Tensor| -> Result<Tensor> {
            Ok(x.narrow(3, i0, rows)?
                .contiguous()?
                .reshape((g.b, g.kvh, grp * rows, g.d))?)
        };
        let (p, qb) = probs_block(g, &q5, &kt, i0, rows, keys)?;
        let (ob, dob) = (block(&o5)?, block(&do5)?);
        let dropped = g.dropout > 0.0;
        let pd = if dropped {
            dropout_rows(g, &p, i0, rows)?
        } else {
            p.clone()
        };
        dv = (dv + pd.t()?.matmul(&dob)?)?;
        let mut dp = dob.matmul(&vt)?;
        if dropped {
            dp = dropout_rows(g, &dp, i0, rows)?;
        }
        let di = (&dob * &ob)?.sum_keepdim(D::Minus1)?;
        let ds = ((p * dp.broadcast_sub(&di)?)? * g.scale)?;
        dqs.push(ds.matmul(&kf)?.reshape((g.b, g.kvh, grp, rows, g.d))?);
        dk = (dk + ds.t()?.matmul(&qb)?)?;
        i0 += rows;
    }
    let dq = Tensor::cat(&dqs, 3)?.reshape((g.b, g.h, g.t, g.d))?;
    Ok((
        dq.to_dtype(q.dtype())?,
        dk.to_dtype(k.dtype())?,
        dv.to_dtype(v.dtype())?,
    ))
}

/// The op in candle's graph: inputs `q`, `k`, `v`; keeps the key mask and, after a CPU forward,
/// the per-row log-sum-exp.
struct FusedAttention {
    g: Geometry,
    keys: Option<Arc<Vec<u8>>>,
    lse: Mutex<Option<Vec<f32>>>,
    precomputed: Precomputed,
}

const NAME: &str = "fused-attention";

fn cpu_f32<'a>(s: &'a CpuStorage, l: &Layout) -> candle_core::Result<&'a [f32]> {
    let data = s.as_slice::<f32>()?;
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&data[a..b]),
        None => candle_core::bail!("{NAME}: inputs must be contiguous"),
    }
}

fn threads() -> usize {
    candle_core::utils::get_num_threads().max(1)
}

impl candle_core::CustomOp3 for FusedAttention {
    fn name(&self) -> &'static str {
        NAME
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        if self.precomputed.is_set() {
            return self.precomputed.storage_for(NAME);
        }
        let (q, k, v) = (cpu_f32(s1, l1)?, cpu_f32(s2, l2)?, cpu_f32(s3, l3)?);
        let keys = self.keys.as_deref().map(Vec::as_slice);
        let (out, lse) = attention_cpu::forward(&self.g, q, k, v, keys, threads());
        *self
            .lse
            .lock()
            .map_err(|_| candle_core::Error::Msg(format!("{NAME}: a poisoned lock")))? = Some(lse);
        let g = &self.g;
        Ok((CpuStorage::F32(out), Shape::from((g.b, g.h, g.t, g.d))))
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
        self.precomputed.storage_for(NAME)
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
        self.precomputed.storage_for(NAME)
    }

    fn bwd(
        &self,
        q: &Tensor,
        k: &Tensor,
        v: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let to_candle = |e: EngineError| match e {
            EngineError::Candle(c) => c,
            other => candle_core::Error::Msg(other.to_string()),
        };
        let keys = self.keys.as_deref().map(Vec::as_slice);
        let lse = self
            .lse
            .lock()
            .map_err(|_| candle_core::Error::Msg(format!("{NAME}: a poisoned lock")))?
            .clone();
        let (dq, dk, dv) = match lse {
            Some(lse) if q.device().is_cpu() && q.dtype() == DType::F32 => {
                let flat = |t: &Tensor| t.flatten_all()?.to_vec1::<f32>();
                let (qv, kv, vv) = (flat(q)?, flat(k)?, flat(v)?);
                let (ov, dov) = (flat(res)?, flat(grad)?);
                let (dq, dk, dv) = attention_cpu::backward(
                    &self.g,
                    &qv,
                    &kv,
                    &vv,
                    &ov,
                    &dov,
                    &lse,
                    keys,
                    threads(),
                );
                (
                    Tensor::from_vec(dq, q.shape(), q.device())?,
                    Tensor::from_vec(dk, k.shape(), k.device())?,
                    Tensor::from_vec(dv, v.shape(), v.device())?,
                )
            }
            _ => blockwise_backward(
                &self.g,
                &q.detach(),
                &k.detach(),
                &v.detach(),
                &res.detach(),
                &grad.detach(),
                keys,
            )
            .map_err(to_candle)?,
        };
        Ok((Some(dq), Some(dk), Some(dv)))
    }
}

#[cfg(test)]
mod tests;
