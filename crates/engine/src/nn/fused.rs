//! Fused RMSNorm, LayerNorm, SiLU-times-gate, exact GELU and a linear layer's bias add, with
//! analytic backwards.
//!
//! The composed versions (kept in `rms_norm.rs`, `layer_norm.rs`, `ops.rs`) record a graph node
//! per elementary op, each with its own buffer kept for the backward and its own backward with
//! broadcast reductions and `zeros_like + add` accumulations. Each op here is one candle custom op:
//! one output buffer in the forward (the input is kept, as it is anyway), and a backward written
//! as row loops that allocate only the gradients it returns. A parameter that does not train
//! (`!track_op()`) gets no gradient computed.
//!
//! Scope: contiguous f32 on the CPU, multi-threaded over rows with candle's thread count. Every
//! other device or dtype keeps the composed path ([`fused_applies`] decides), so CUDA and Metal
//! builds run exactly what they ran before. Promise: the forward matches the composed path to
//! f32 rounding (a few ulps), the gradients match it and finite differences (tests below).

use candle_core::{
    CpuStorage, CustomOp1, CustomOp2, CustomOp3, DType, Layout, Shape, Storage, Tensor,
};

use crate::{EngineError, Result};

/// Whether the fused ops take `x` (and these parameters): CPU, f32, any layout (made contiguous).
pub fn fused_applies(x: &Tensor, params: &[&Tensor]) -> bool {
    x.device().is_cpu()
        && x.dtype() == DType::F32
        && params
            .iter()
            .all(|p| p.device().is_cpu() && p.dtype() == DType::F32)
}

/// Splits `out` (rows of `width`) among candle's threads: `f(first_row, rows_of_out)`.
pub(crate) fn par_rows<F>(out: &mut [f32], width: usize, f: F)
where
    F: Fn(usize, &mut [f32]) + Sync,
{
    let width = width.max(1);
    let rows = out.len() / width;
    // Small tensors are not worth a thread each.
    let threads = candle_core::utils::get_num_threads()
        .clamp(1, (out.len() / (1 << 14)).clamp(1, rows.max(1)));
    if threads == 1 {
        return f(0, out);
    }
    let per = rows.div_ceil(threads).max(1);
    std::thread::scope(|s| {
        for (i, chunk) in out.chunks_mut(per * width).enumerate() {
            let f = &f;
            s.spawn(move || f(i * per, chunk));
        }
    });
}

/// The contiguous f32 data of a CPU storage under its layout.
fn slice<'a>(s: &'a CpuStorage, l: &Layout, op: &str) -> candle_core::Result<&'a [f32]> {
    match (s, l.contiguous_offsets()) {
        (CpuStorage::F32(v), Some((a, b))) => Ok(&v[a..b]),
        _ => candle_core::bail!("{op}: needs contiguous f32 input on the CPU"),
    }
}

/// Runs `f` on the f32 values of a CPU tensor: its own memory when contiguous (no copy), a
/// contiguous copy otherwise.
fn with_f32<R>(
    t: &Tensor,
    f: impl FnOnce(&[f32]) -> candle_core::Result<R>,
) -> candle_core::Result<R> {
    {
        let (st, l) = t.storage_and_layout();
        if let (Storage::Cpu(CpuStorage::F32(v)), Some((a, b))) = (&*st, l.contiguous_offsets()) {
            return f(&v[a..b]);
        }
    }
    let v = t.flatten_all()?.to_vec1::<f32>()?;
    f(&v)
}

fn tensor(v: Vec<f32>, like: &Tensor) -> candle_core::Result<Tensor> {
    Tensor::from_vec(v, like.shape(), like.device())
}

/// Sums `parts` (one vector per thread chunk) elementwise.
fn sum_parts(parts: Vec<Vec<f64>>, width: usize) -> Vec<f32> {
    let mut out = vec![0f64; width];
    for p in parts {
        for (o, v) in out.iter_mut().zip(p) {
            *o += v;
        }
    }
    out.into_iter().map(|v| v as f32).collect()
}

/// Column sums over rows computed per thread chunk: `f(row_index, row_accumulator)` is called for
/// every row; returns the per-column totals.
fn column_sums<F>(rows: usize, width: usize, f: F) -> Vec<f32>
where
    F: Fn(usize, &mut [f64]) + Sync,
{
    let threads = candle_core::utils::get_num_threads()
        .clamp(1, ((rows * width) / (1 << 14)).clamp(1, rows.max(1)));
    let per = rows.div_ceil(threads).max(1);
    let parts: Vec<Vec<f64>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let f = &f;
                s.spawn(move || {
                    let mut acc = vec![0f64; width];
                    for r in (t * per)..((t + 1) * per).min(rows) {
                        f(r, &mut acc);
                    }
                    acc
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    sum_parts(parts, width)
}

// ---------------------------------------------------------------------------------------------
// RMSNorm

/// `x / sqrt(mean(x^2) + eps) * weight` over the last dimension.
pub fn rms_norm(x: &Tensor, weight: &Tensor, eps: f64) -> Result<Tensor> {
    check_width(x, weight, "RMSNorm")?;
    Ok(x.contiguous()?
        .apply_op2(&weight.contiguous()?, RmsNormOp { eps: eps as f32 })?)
}

fn check_width(x: &Tensor, w: &Tensor, what: &str) -> Result<()> {
    let width = x.dim(candle_core::D::Minus1)?;
    if w.dims() != [width] {
        return Err(EngineError::Invalid(format!(
            "a {what} of width {:?} got an input of shape {:?}",
            w.dims(),
            x.dims()
        )));
    }
    Ok(())
}

struct RmsNormOp {
    eps: f32,
}

/// `1 / sqrt(mean(row^2) + eps)`.
fn inv_rms(row: &[f32], eps: f32) -> f32 {
    let ms = row.iter().map(|&v| v * v).sum::<f32>() / row.len() as f32;
    1.0 / (ms + eps).sqrt()
}

impl CustomOp2 for RmsNormOp {
    fn name(&self) -> &'static str {
        "tunesmith-rms-norm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (x, w) = (slice(s1, l1, self.name())?, slice(s2, l2, self.name())?);
        let width = w.len();
        let mut y = vec![0f32; x.len()];
        par_rows(&mut y, width, |first, out| {
            for (j, yr) in out.chunks_mut(width).enumerate() {
                let xr = &x[(first + j) * width..(first + j + 1) * width];
                let d = 1.0 / inv_rms(xr, self.eps);
                for ((y, &x), &w) in yr.iter_mut().zip(xr).zip(w) {
                    *y = (x / d) * w;
                }
            }
        });
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        with_f32(x, |xv| {
            with_f32(w, |wv| with_f32(grad, |gv| self.grads(x, w, xv, wv, gv)))
        })
    }
}

impl RmsNormOp {
    fn grads(
        &self,
        x: &Tensor,
        w: &Tensor,
        xv: &[f32],
        wv: &[f32],
        gv: &[f32],
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let width = wv.len();
        let rows = xv.len() / width.max(1);
        let dx = if x.track_op() {
            let mut dx = vec![0f32; xv.len()];
            par_rows(&mut dx, width, |first, out| {
                for (j, dr) in out.chunks_mut(width).enumerate() {
                    let r = first + j;
                    let (xr, gr) = (
                        &xv[r * width..(r + 1) * width],
                        &gv[r * width..(r + 1) * width],
                    );
                    let inv = inv_rms(xr, self.eps);
                    // dx = inv * (g w - xhat * mean(g w xhat)), xhat = x inv.
                    let dot: f32 = xr
                        .iter()
                        .zip(gr)
                        .zip(wv)
                        .map(|((&x, &g), &w)| g * w * x * inv)
                        .sum::<f32>()
                        / width as f32;
                    for (((d, &x), &g), &w) in dr.iter_mut().zip(xr).zip(gr).zip(wv) {
                        *d = inv * (g * w - x * inv * dot);
                    }
                }
            });
            Some(tensor(dx, x)?)
        } else {
            None
        };
        let dw = if w.track_op() {
            let sums = column_sums(rows, width, |r, acc| {
                let (xr, gr) = (
                    &xv[r * width..(r + 1) * width],
                    &gv[r * width..(r + 1) * width],
                );
                let inv = inv_rms(xr, self.eps);
                for ((a, &x), &g) in acc.iter_mut().zip(xr).zip(gr) {
                    *a += (g * x * inv) as f64;
                }
            });
            Some(tensor(sums, w)?)
        } else {
            None
        };
        Ok((dx, dw))
    }
}

// ---------------------------------------------------------------------------------------------
// LayerNorm

/// `(x - mean) / sqrt(var + eps) * weight + bias` over the last dimension.
pub fn layer_norm(x: &Tensor, weight: &Tensor, bias: &Tensor, eps: f64) -> Result<Tensor> {
    check_width(x, weight, "LayerNorm")?;
    check_width(x, bias, "LayerNorm")?;
    Ok(x.contiguous()?.apply_op3(
        &weight.contiguous()?,
        &bias.contiguous()?,
        LayerNormOp { eps: eps as f32 },
    )?)
}

struct LayerNormOp {
    eps: f32,
}

/// `(mean, 1 / sqrt(var + eps))` of a row.
fn moments(row: &[f32], eps: f32) -> (f32, f32) {
    let n = row.len() as f32;
    let mean = row.iter().sum::<f32>() / n;
    let var = row.iter().map(|&v| (v - mean) * (v - mean)).sum::<f32>() / n;
    (mean, 1.0 / (var + eps).sqrt())
}

impl CustomOp3 for LayerNormOp {
    fn name(&self) -> &'static str {
        "tunesmith-layer-norm"
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
        let x = slice(s1, l1, self.name())?;
        let (w, b) = (slice(s2, l2, self.name())?, slice(s3, l3, self.name())?);
        let width = w.len();
        let mut y = vec![0f32; x.len()];
        par_rows(&mut y, width, |first, out| {
            for (j, yr) in out.chunks_mut(width).enumerate() {
                let xr = &x[(first + j) * width..(first + j + 1) * width];
                let (mean, inv) = moments(xr, self.eps);
                let d = 1.0 / inv;
                for (((y, &x), &w), &b) in yr.iter_mut().zip(xr).zip(w).zip(b) {
                    *y = ((x - mean) / d) * w + b;
                }
            }
        });
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        with_f32(x, |xv| {
            with_f32(w, |wv| with_f32(grad, |gv| self.grads(x, w, b, xv, wv, gv)))
        })
    }
}

impl LayerNormOp {
    #[allow(clippy::too_many_arguments)]
    fn grads(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        xv: &[f32],
        wv: &[f32],
        gv: &[f32],
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let width = wv.len();
        let rows = xv.len() / width.max(1);
        let dx = if x.track_op() {
            let mut dx = vec![0f32; xv.len()];
            par_rows(&mut dx, width, |first, out| {
                for (j, dr) in out.chunks_mut(width).enumerate() {
                    let r = first + j;
                    let (xr, gr) = (
                        &xv[r * width..(r + 1) * width],
                        &gv[r * width..(r + 1) * width],
                    );
                    let (mean, inv) = moments(xr, self.eps);
                    // dx = inv * (gh - mean(gh) - xhat * mean(gh xhat)), gh = g w.
                    let (mut s1, mut s2) = (0f32, 0f32);
                    for ((&x, &g), &w) in xr.iter().zip(gr).zip(wv) {
                        let gh = g * w;
                        s1 += gh;
                        s2 += gh * (x - mean) * inv;
                    }
                    let (m1, m2) = (s1 / width as f32, s2 / width as f32);
                    for (((d, &x), &g), &w) in dr.iter_mut().zip(xr).zip(gr).zip(wv) {
                        *d = inv * (g * w - m1 - (x - mean) * inv * m2);
                    }
                }
            });
            Some(tensor(dx, x)?)
        } else {
            None
        };
        let dw = if w.track_op() {
            let sums = column_sums(rows, width, |r, acc| {
                let (xr, gr) = (
                    &xv[r * width..(r + 1) * width],
                    &gv[r * width..(r + 1) * width],
                );
                let (mean, inv) = moments(xr, self.eps);
                for ((a, &x), &g) in acc.iter_mut().zip(xr).zip(gr) {
                    *a += (g * (x - mean) * inv) as f64;
                }
            });
            Some(tensor(sums, w)?)
        } else {
            None
        };
        let db = if b.track_op() {
            let sums = column_sums(rows, width, |r, acc| {
                for (a, &g) in acc.iter_mut().zip(&gv[r * width..(r + 1) * width]) {
                    *a += g as f64;
                }
            });
            Some(tensor(sums, b)?)
        } else {
            None
        };
        Ok((dx, dw, db))
    }
}

// ---------------------------------------------------------------------------------------------
// SiLU(gate) * up

/// `silu(gate) * up` (SwiGLU's product), elementwise.
pub fn silu_mul(gate: &Tensor, up: &Tensor) -> Result<Tensor> {
    if gate.dims() != up.dims() {
        return Err(EngineError::Invalid(format!(
            "the MLP's gate {:?} and up {:?} projections differ in shape",
            gate.dims(),
            up.dims()
        )));
    }
    Ok(gate.contiguous()?.apply_op2(&up.contiguous()?, SiluMul)?)
}

struct SiluMul;

fn sigmoid(v: f32) -> f32 {
    1.0 / (1.0 + (-v).exp())
}

impl CustomOp2 for SiluMul {
    fn name(&self) -> &'static str {
        "tunesmith-silu-mul"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (g, u) = (slice(s1, l1, self.name())?, slice(s2, l2, self.name())?);
        let mut y = vec![0f32; g.len()];
        par_rows(&mut y, 1, |first, out| {
            for (i, y) in out.iter_mut().enumerate() {
                let (g, u) = (g[first + i], u[first + i]);
                // candle's silu: x / (1 + exp(-x)).
                *y = (g / (1.0 + (-g).exp())) * u;
            }
        });
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    fn bwd(
        &self,
        gate: &Tensor,
        up: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        with_f32(gate, |gv| {
            with_f32(up, |uv| {
                with_f32(grad, |dy| silu_mul_grads(gate, up, gv, uv, dy))
            })
        })
    }
}

fn silu_mul_grads(
    gate: &Tensor,
    up: &Tensor,
    gv: &[f32],
    uv: &[f32],
    dy: &[f32],
) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
    {
        let dgate = if gate.track_op() {
            let mut d = vec![0f32; gv.len()];
            par_rows(&mut d, 1, |first, out| {
                for (i, d) in out.iter_mut().enumerate() {
                    let k = first + i;
                    let s = sigmoid(gv[k]);
                    *d = dy[k] * uv[k] * s * (1.0 + gv[k] * (1.0 - s));
                }
            });
            Some(tensor(d, gate)?)
        } else {
            None
        };
        let dup = if up.track_op() {
            let mut d = vec![0f32; gv.len()];
            par_rows(&mut d, 1, |first, out| {
                for (i, d) in out.iter_mut().enumerate() {
                    let k = first + i;
                    *d = dy[k] * (gv[k] / (1.0 + (-gv[k]).exp()));
                }
            });
            Some(tensor(d, up)?)
        } else {
            None
        };
        Ok((dgate, dup))
    }
}

// ---------------------------------------------------------------------------------------------
// GELU (exact, erf)

/// `0.5 x (1 + erf(x / sqrt(2)))`, elementwise (BERT's `gelu`).
pub fn gelu_erf(x: &Tensor) -> Result<Tensor> {
    Ok(x.contiguous()?.apply_op1(GeluErf)?)
}

struct GeluErf;

fn gelu_value(v: f32) -> f32 {
    let (erf, _) = erf_and_gauss(v * std::f32::consts::FRAC_1_SQRT_2);
    (erf + 1.) * 0.5 * v
}

/// `erf(z)` and `exp(-z^2)` for one `z`, by Abramowitz and Stegun's 7.1.26 (absolute error of erf
/// 1.5e-7, at most 6e-7 evaluated in f32: GELU multiplies it by x/2, well below the 1e-5 the fused
/// ops are held to against the composed path), which needs `exp(-z^2)` anyway: GELU's backward
/// reuses it as the Gaussian density, so a gradient costs one `exp` and one division where libm's
/// `erff` (7 % of a MiniLM training step in a profile) plus an `exp` cost several times that.
#[inline]
fn erf_and_gauss(z: f32) -> (f32, f32) {
    const P: f32 = 0.327_591_1;
    const A: [f32; 5] = [
        0.254_829_6,
        -0.284_496_74,
        1.421_413_8,
        -1.453_152_1,
        1.061_405_4,
    ];
    let a = z.abs();
    let t = 1.0 / (1.0 + P * a);
    let poly = t * (A[0] + t * (A[1] + t * (A[2] + t * (A[3] + t * A[4]))));
    let gauss = (-a * a).exp();
    let erf = 1.0 - poly * gauss;
    (if z < 0.0 { -erf } else { erf }, gauss)
}

impl CustomOp1 for GeluErf {
    fn name(&self) -> &'static str {
        "tunesmith-gelu-erf"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = slice(s, l, self.name())?;
        let mut y = vec![0f32; x.len()];
        par_rows(&mut y, 1, |first, out| {
            for (i, y) in out.iter_mut().enumerate() {
                *y = gelu_value(x[first + i]);
            }
        });
        Ok((CpuStorage::F32(y), l.shape().clone()))
    }

    fn bwd(&self, x: &Tensor, _res: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        with_f32(x, |xv| with_f32(grad, |dy| gelu_grad(x, xv, dy)))
    }
}

fn gelu_grad(x: &Tensor, xv: &[f32], dy: &[f32]) -> candle_core::Result<Option<Tensor>> {
    {
        let mut d = vec![0f32; xv.len()];
        par_rows(&mut d, 1, |first, out| {
            for (i, d) in out.iter_mut().enumerate() {
                let v = xv[first + i];
                // exp(-(v/sqrt 2)^2) = exp(-v^2/2): the density's exponential comes with erf.
                let (erf, gauss) = erf_and_gauss(v * std::f32::consts::FRAC_1_SQRT_2);
                let cdf = 0.5 * (1.0 + erf);
                let pdf = gauss * 0.398_942_3;
                *d = dy[first + i] * (cdf + v * pdf);
            }
        });
        Ok(Some(tensor(d, x)?))
    }
}

// ---------------------------------------------------------------------------------------------
// Bias add

/// `x + bias` over the last dimension: a trainable linear layer's bias. The composed
/// `broadcast_add` sums its bias gradient with candle's reduction over the leading dimensions,
/// which walks a strided index per element (6 % of a MiniLM full fine-tuning step); here the
/// gradient is a contiguous column sum of the rows, and the input's gradient is the output's.
pub fn add_bias(x: &Tensor, bias: &Tensor) -> Result<Tensor> {
    if !fused_applies(x, &[bias]) {
        return Ok(x.broadcast_add(&crate::nn::ops::like(bias, x)?)?);
    }
    let width = x.dim(candle_core::D::Minus1)?;
    if bias.dims() != [width] {
        return Err(EngineError::Invalid(format!(
            "a bias of shape {:?} cannot be added to rows {width} wide",
            bias.dims()
        )));
    }
    Ok(x.contiguous()?.apply_op2(&bias.contiguous()?, BiasAdd)?)
}

struct BiasAdd;

impl CustomOp2 for BiasAdd {
    fn name(&self) -> &'static str {
        "tunesmith-bias-add"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (x, b) = (slice(s1, l1, self.name())?, slice(s2, l2, self.name())?);
        let width = b.len();
        let mut y = x.to_vec();
        par_rows(&mut y, width, |_, out| {
            for row in out.chunks_exact_mut(width) {
                row.iter_mut().zip(b).for_each(|(y, b)| *y += b);
            }
        });
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        bias: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let dx = x.track_op().then(|| grad.clone());
        let dbias = if bias.track_op() {
            let width = bias.elem_count();
            let sums = with_f32(grad, |dy| {
                Ok(column_sums(dy.len() / width.max(1), width, |r, acc| {
                    let row = &dy[r * width..(r + 1) * width];
                    acc.iter_mut().zip(row).for_each(|(a, &g)| *a += g as f64);
                }))
            })?;
            Some(Tensor::from_vec(sums, width, bias.device())?)
        } else {
            None
        };
        Ok((dx, dbias))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn the_fast_erf_is_within_6e_7_of_an_f64_reference_and_its_gaussian_within_f32_rounding() {
        let mut worst = 0f64;
        for i in -60_000..=60_000 {
            let z = i as f32 * 1e-4;
            let (erf, gauss) = erf_and_gauss(z);
            worst = worst.max((erf as f64 - reference_erf(z as f64)).abs());
            // z^2 rounded to f32 moves the exponent by up to z^2 * 6e-8.
            let g = (-(z as f64) * z as f64).exp();
            let tolerance = g * (2e-7 + 1.2e-7 * (z as f64) * (z as f64)) + 1e-38;
            assert!((gauss as f64 - g).abs() <= tolerance, "{z}");
        }
        assert!(worst < 6e-7, "largest erf error {worst}");
    }

    /// erf in f64 by its Taylor series (|z| <= 3) or its complement's continued fraction: a
    /// reference independent of the approximation under test.
    fn reference_erf(z: f64) -> f64 {
        let a = z.abs();
        let e = if a <= 3.0 {
            let (mut term, mut sum, mut n) = (a, a, 0.0);
            while term.abs() > 1e-17 * sum.abs() {
                n += 1.0;
                term *= -a * a / n;
                sum += term / (2.0 * n + 1.0);
            }
            sum * 2.0 / std::f64::consts::PI.sqrt()
        } else {
            // erfc(a) = exp(-a^2)/sqrt(pi) * 1/(a + 1/2/(a + 1/(a + 3/2/(a + ...))))
            let mut f = a;
            for k in (1..60).rev() {
                f = a + (k as f64 / 2.0) / f;
            }
            1.0 - (-a * a).exp() / std::f64::consts::PI.sqrt() / f
        };
        e.copysign(z)
    }

    fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
        (a - b)
            .and_then(|d| d.abs())
            .and_then(|d| d.max_all())
            .and_then(|d| d.to_scalar::<f32>())
            .expect("diff")
    }

    /// Central finite differences of `sum(f(inputs) * probe)` in f64 (through the composed f64
    /// path, which candle differentiates) against the fused op's analytic gradient in f32.
    fn check_gradients(
        fused: &dyn Fn(&[Tensor]) -> Result<Tensor>,
        composed: &dyn Fn(&[Tensor]) -> Result<Tensor>,
        shapes: &[Vec<usize>],
    ) -> Result<()> {
        let dev = Device::Cpu;
        let inputs: Vec<Var> = shapes
            .iter()
            .map(|s| Var::from_tensor(&Tensor::randn(0f32, 1.0, s.as_slice(), &dev)?))
            .collect::<candle_core::Result<_>>()?;
        let tensors: Vec<Tensor> = inputs.iter().map(|v| v.as_tensor().clone()).collect();
        let y = fused(&tensors)?;
        let probe = Tensor::randn(0f32, 1.0, y.shape(), &dev)?;
        // Forward against the composed path.
        let yc = composed(&tensors)?;
        assert!(
            max_diff(&y, &yc) < 1e-5,
            "forward differs by {}",
            max_diff(&y, &yc)
        );
        let grads = (y * &probe)?.sum_all()?.backward()?;
        let grads_c = (yc * &probe)?.sum_all()?.backward()?;
        let probe64 = probe.to_dtype(DType::F64)?;
        for (i, v) in inputs.iter().enumerate() {
            let g = grads.get(v.as_tensor()).expect("fused gradient");
            let gc = grads_c.get(v.as_tensor()).expect("composed gradient");
            assert!(
                max_diff(g, gc) < 1e-4,
                "input {i}: differs from composed by {}",
                max_diff(g, gc)
            );
            // Finite differences in f64 on a few coordinates.
            let base: Vec<Tensor> = tensors
                .iter()
                .map(|t| t.to_dtype(DType::F64))
                .collect::<candle_core::Result<_>>()?;
            let flat: Vec<f64> = base[i].flatten_all()?.to_vec1()?;
            let g: Vec<f32> = g.flatten_all()?.to_vec1()?;
            for k in [0, flat.len() / 2, flat.len() - 1] {
                let h = 1e-5;
                let at = |delta: f64| -> Result<f64> {
                    let mut f = flat.clone();
                    f[k] += delta;
                    let mut args = base.clone();
                    args[i] = Tensor::from_vec(f, base[i].shape(), &dev)?;
                    Ok((composed(&args)? * &probe64)?
                        .sum_all()?
                        .to_scalar::<f64>()?)
                };
                let fd = (at(h)? - at(-h)?) / (2.0 * h);
                assert!(
                    (fd - g[k] as f64).abs() < 2e-3 * (1.0 + fd.abs()),
                    "input {i}[{k}]: finite differences {fd}, fused {}",
                    g[k]
                );
            }
        }
        Ok(())
    }

    #[test]
    fn fused_rms_norm_matches_the_composed_norm_and_finite_differences() -> Result<()> {
        check_gradients(
            &|t| rms_norm(&t[0], &t[1], 1e-5),
            &|t| Ok(crate::nn::rms_norm::RmsNorm::new(t[1].clone(), 1e-5).composed(&t[0])?),
            &[vec![3, 5, 16], vec![16]],
        )
    }

    #[test]
    fn fused_layer_norm_matches_the_composed_norm_and_finite_differences() -> Result<()> {
        check_gradients(
            &|t| layer_norm(&t[0], &t[1], &t[2], 1e-12),
            &|t| {
                crate::nn::layer_norm::LayerNorm::new(t[1].clone(), Some(t[2].clone()), 1e-12)
                    .composed(&t[0])
            },
            &[vec![4, 3, 12], vec![12], vec![12]],
        )
    }

    #[test]
    fn the_bias_add_matches_broadcast_add_and_finite_differences() -> Result<()> {
        check_gradients(
            &|t| add_bias(&t[0], &t[1]),
            &|t| Ok(t[0].broadcast_add(&t[1])?),
            &[vec![2, 5, 7], vec![7]],
        )
    }

    #[test]
    fn fused_silu_times_gate_matches_the_composed_product_and_finite_differences() -> Result<()> {
        check_gradients(
            &|t| silu_mul(&t[0], &t[1]),
            &|t| Ok((t[0].silu()? * &t[1])?),
            &[vec![2, 3, 10], vec![2, 3, 10]],
        )
    }

    #[test]
    fn fused_gelu_matches_the_composed_gelu_and_finite_differences() -> Result<()> {
        check_gradients(
            &|t| gelu_erf(&t[0]),
            &|t| Ok(t[0].gelu_erf()?),
            &[vec![5, 7]],
        )
    }

    #[test]
    fn a_frozen_norm_weight_gets_no_gradient() -> Result<()> {
        let dev = Device::Cpu;
        let x = Var::from_tensor(&Tensor::randn(0f32, 1.0, (2, 8), &dev)?)?;
        let w = Tensor::randn(0f32, 1.0, 8, &dev)?;
        let b = Tensor::randn(0f32, 1.0, 8, &dev)?;
        let g = layer_norm(x.as_tensor(), &w, &b, 1e-5)?
            .sum_all()?
            .backward()?;
        assert!(g.get(x.as_tensor()).is_some());
        assert!(g.get(&w).is_none() && g.get(&b).is_none());
        let g = rms_norm(x.as_tensor(), &w, 1e-5)?.sum_all()?.backward()?;
        assert!(g.get(&w).is_none());
        Ok(())
    }
}
