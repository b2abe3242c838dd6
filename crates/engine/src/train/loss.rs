//! Cross-entropy with an ignore index: the loss of classification heads and of causal-LM training
//! where only response tokens count.
//!
//! Labels equal to [`IGNORE_INDEX`] (-100, PyTorch's convention) contribute nothing; the loss is the
//! mean over the labels that count, and that count is returned so gradient accumulation can weight
//! micro-batches exactly. Built from `log_softmax` and `gather`, both differentiable in candle.
//!
//! [`linear_cross_entropy`] is the decoder's loss: the output head's product and the cross-entropy
//! in one op, so the `(tokens x vocabulary)` logits are held once (the composed path kept about
//! eight copies: shift, log-softmax, gather and their gradients) and the backward turns that one
//! copy into its own gradient in place.

use std::sync::Mutex;

use candle_core::{CpuStorage, CustomOp3, DType, InplaceOp1, Layout, Shape, Storage, Tensor, D};

use crate::nn::ops::accumulation_dtype;
use crate::{EngineError, Result};

/// The label that masks a position out of the loss.
pub const IGNORE_INDEX: i64 = -100;

/// A mean loss and the number of labels it averages over.
#[derive(Debug, Clone)]
pub struct MaskedLoss {
    /// The scalar mean loss (zero when nothing counts).
    pub loss: Tensor,
    /// How many labels counted.
    pub count: usize,
}

/// Cross-entropy of `logits` (`(..., classes)`) against `labels` (the same leading shape, integer
/// class ids or [`IGNORE_INDEX`]).
pub fn cross_entropy(logits: &Tensor, labels: &Tensor) -> Result<MaskedLoss> {
    let classes = logits.dim(D::Minus1)?;
    let logits = logits.reshape(((), classes))?;
    let (host, count) = checked_labels(labels, logits.dim(0)?, classes)?;
    if count == 0 {
        // Keep the graph connected so backward is harmless, but contribute nothing.
        let zero = (logits.sum_all()? * 0.0)?;
        return Ok(MaskedLoss { loss: zero, count });
    }
    let mask_host: Vec<f32> = host
        .iter()
        .map(|&l| if l == IGNORE_INDEX { 0.0 } else { 1.0 })
        .collect();
    let safe_host: Vec<i64> = host
        .iter()
        .map(|&l| if l == IGNORE_INDEX { 0 } else { l })
        .collect();
    let dev = logits.device();
    // The softmax and the sum accumulate in f32 under mixed precision.
    let logits = logits.to_dtype(accumulation_dtype(logits.dtype()))?;
    let mask = Tensor::new(mask_host, dev)?.to_dtype(logits.dtype())?;
    let safe = Tensor::new(safe_host, dev)?;
    let logp = candle_nn::ops::log_softmax(&logits, D::Minus1)?;
    let picked = logp.gather(&safe.unsqueeze(1)?, 1)?.squeeze(1)?;
    let loss = ((picked * mask)?.sum_all()? * (-1.0 / count as f64))?;
    Ok(MaskedLoss { loss, count })
}

/// The labels as host integers, checked against `rows` and `classes`, and how many count.
fn checked_labels(labels: &Tensor, rows: usize, classes: usize) -> Result<(Vec<i64>, usize)> {
    let labels = labels.flatten_all()?.to_dtype(DType::I64)?;
    if labels.dim(0)? != rows {
        return Err(EngineError::Training(format!(
            "cross-entropy got {} labels for {rows} rows of logits",
            labels.dim(0)?
        )));
    }
    let host: Vec<i64> = labels.to_vec1()?;
    let mut count = 0usize;
    for &l in &host {
        if l == IGNORE_INDEX {
            continue;
        }
        if l < 0 || l as usize >= classes {
            return Err(EngineError::Training(format!(
                "label {l} is outside the {classes} classes of the model's output"
            )));
        }
        count += 1;
    }
    Ok((host, count))
}

/// Rows of logits handled at once by the device-generic (tensor-op) path: its temporaries stay
/// near this many values whatever the batch.
const CHUNK_VALUES: usize = 1 << 22;

/// Cross-entropy of the logits `hidden W^T` (`hidden`: `(..., width)`, `weight`: `(vocab, width)`,
/// the output head, trainable or frozen, tied or not) against `labels` (the leading shape of
/// `hidden`, class ids or [`IGNORE_INDEX`]), equal to `cross_entropy(matmul_t(hidden, weight),
/// labels)` without its copies of the logits.
///
/// The logits are computed once and kept for the backward, which turns them in place into their
/// gradient `(softmax - onehot) * dL/drow` and from it computes `dhidden = dlogits W` and, when the
/// weight trains, `dW = dlogits^T hidden`. Ignored rows cost nothing in the backward. On the CPU
/// (f32) the row work is multi-threaded loops; elsewhere it is tensor ops over chunks of rows.
pub fn linear_cross_entropy(
    hidden: &Tensor,
    weight: &Tensor,
    labels: &Tensor,
) -> Result<MaskedLoss> {
    let (vocab, width) = weight.dims2()?;
    if hidden.dim(D::Minus1)? != width {
        return Err(EngineError::Training(format!(
            "the output head is {width} wide but the hidden states have shape {:?}",
            hidden.dims()
        )));
    }
    let hidden = hidden.reshape(((), width))?;
    let rows = hidden.dim(0)?;
    let (host, count) = checked_labels(labels, rows, vocab)?;
    if count == 0 {
        // Keep the graph connected so backward is harmless, but contribute nothing.
        let zero = (hidden.sum_all()? * 0.0)?;
        return Ok(MaskedLoss { loss: zero, count });
    }
    let dev = hidden.device().clone();
    // An f32 trainable head (the master copy) meets bf16 hidden states in their dtype; the
    // log-sum-exp, the per-row losses and their sum stay f32 (mixed precision's rule).
    let weight = &crate::nn::ops::like(weight, &hidden)?;
    let acc = accumulation_dtype(hidden.dtype());
    let safe: Vec<u32> = host
        .iter()
        .map(|&l| if l == IGNORE_INDEX { 0 } else { l as u32 })
        .collect();
    let keep: Vec<f32> = host
        .iter()
        .map(|&l| if l == IGNORE_INDEX { 0.0 } else { 1.0 })
        .collect();
    // The one copy of the logits, outside the graph (the op below supplies the backward).
    let (h, w) = (hidden.detach().contiguous()?, weight.detach());
    let logits = h.matmul(&w.t()?)?;
    let (nll, lse) = match cpu_f32_rows(&logits) {
        true => {
            let lse = cpu_row_logsumexp(&logits)?;
            let picked = picked_values(&logits, &safe)?;
            let nll: Vec<f32> = (0..rows).map(|r| keep[r] * (lse[r] - picked[r])).collect();
            (
                Tensor::from_vec(nll, rows, &dev)?,
                Tensor::from_vec(lse, rows, &dev)?,
            )
        }
        false => {
            let safe_t = Tensor::from_vec(safe.clone(), rows, &dev)?;
            let keep_t = Tensor::from_vec(keep.clone(), rows, &dev)?.to_dtype(acc)?;
            let step = (CHUNK_VALUES / vocab.max(1)).max(1);
            let (mut nll, mut lse) = (Vec::new(), Vec::new());
            for start in (0..rows).step_by(step) {
                let len = step.min(rows - start);
                let l = logits.narrow(0, start, len)?.to_dtype(acc)?;
                let m = l.max_keepdim(1)?;
                let s = (l.broadcast_sub(&m)?.exp()?.sum_keepdim(1)?.log()? + &m)?;
                let picked = l.gather(&safe_t.narrow(0, start, len)?.unsqueeze(1)?, 1)?;
                nll.push(((&s - picked)?.squeeze(1)? * keep_t.narrow(0, start, len)?)?);
                lse.push(s.squeeze(1)?);
            }
            (Tensor::cat(&nll, 0)?, Tensor::cat(&lse, 0)?)
        }
    };
    let op = LinearCrossEntropy {
        logits: Mutex::new(Some(logits)),
        lse,
        safe,
        keep,
    };
    let per_row = hidden.apply_op3(weight, &nll, op)?;
    let loss = (per_row.sum_all()? * (1.0 / count as f64))?;
    Ok(MaskedLoss { loss, count })
}

/// Whether `t` is contiguous f32 on the CPU (the loops' fast path).
fn cpu_f32_rows(t: &Tensor) -> bool {
    t.device().is_cpu() && t.dtype() == DType::F32 && t.is_contiguous()
}

/// `log(sum(exp(row)))` of every row of a contiguous f32 CPU matrix (max-shifted, summed in f64).
fn cpu_row_logsumexp(logits: &Tensor) -> Result<Vec<f32>> {
    let (rows, width) = logits.dims2()?;
    let (st, layout) = logits.storage_and_layout();
    let (Storage::Cpu(CpuStorage::F32(v)), Some((a, b))) = (&*st, layout.contiguous_offsets())
    else {
        return Err(EngineError::Training(
            "the fused cross-entropy expected f32 logits on the CPU".into(),
        ));
    };
    let data = &v[a..b];
    let mut out = vec![0f32; rows];
    let threads = candle_core::utils::get_num_threads().clamp(1, rows.max(1));
    let per = rows.div_ceil(threads).max(1);
    std::thread::scope(|s| {
        for (i, chunk) in out.chunks_mut(per).enumerate() {
            s.spawn(move || {
                for (j, o) in chunk.iter_mut().enumerate() {
                    let r = i * per + j;
                    let row = &data[r * width..(r + 1) * width];
                    let m = row.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x));
                    let sum: f64 = row.iter().map(|&x| (x - m).exp() as f64).sum();
                    *o = m + sum.ln() as f32;
                }
            });
        }
    });
    Ok(out)
}

/// `logits[r, labels[r]]` for every row.
fn picked_values(logits: &Tensor, labels: &[u32]) -> Result<Vec<f32>> {
    let idx = Tensor::from_slice(labels, (labels.len(), 1), logits.device())?;
    Ok(logits
        .gather(&idx, 1)?
        .squeeze(1)?
        .to_dtype(DType::F32)?
        .to_vec1()?)
}

/// The op: inputs `hidden` (`rows x width`), `weight` (`vocab x width`) and the per-row losses
/// already computed outside the graph; its forward hands those losses over, its backward is the
/// fused softmax-minus-onehot and the two products.
struct LinearCrossEntropy {
    /// The logits of the forward, consumed (turned into their gradient) by the first backward.
    logits: Mutex<Option<Tensor>>,
    /// Each row's log-sum-exp.
    lse: Tensor,
    /// Each row's label (0 for ignored rows).
    safe: Vec<u32>,
    /// 1 for rows that count, 0 for ignored ones.
    keep: Vec<f32>,
}

/// `row <- (exp(row - lse) - onehot(label)) * g` for every row, in place.
struct SoftmaxGradInPlace<'a> {
    lse: &'a [f32],
    g: &'a [f32],
    labels: &'a [u32],
    width: usize,
}

impl InplaceOp1 for SoftmaxGradInPlace<'_> {
    fn name(&self) -> &'static str {
        "tunesmith-softmax-grad-in-place"
    }

    fn cpu_fwd(&self, s: &mut CpuStorage, l: &Layout) -> candle_core::Result<()> {
        let (CpuStorage::F32(v), Some((a, b))) = (s, l.contiguous_offsets()) else {
            candle_core::bail!("{}: needs contiguous f32 logits", self.name())
        };
        crate::nn::fused::par_rows(&mut v[a..b], self.width, |first, chunk| {
            for (j, row) in chunk.chunks_mut(self.width).enumerate() {
                let r = first + j;
                let g = self.g[r];
                if g == 0.0 {
                    row.fill(0.0);
                    continue;
                }
                let lse = self.lse[r];
                for x in row.iter_mut() {
                    *x = (*x - lse).exp() * g;
                }
                row[self.labels[r] as usize] -= g;
            }
        });
        Ok(())
    }
}

impl LinearCrossEntropy {
    /// The logits' gradient for the rows' upstream gradients `g` (already masked).
    fn dlogits(&self, hidden: &Tensor, weight: &Tensor, g: &Tensor) -> candle_core::Result<Tensor> {
        let stored = self
            .logits
            .lock()
            .map_err(|_| candle_core::Error::Msg("the loss's logits lock was poisoned".into()))?
            .take();
        // A second backward over the same graph recomputes what the first consumed.
        let logits = match stored {
            Some(l) => l,
            None => hidden.matmul(&weight.t()?)?,
        };
        if cpu_f32_rows(&logits) && g.dtype() == DType::F32 {
            let g_host: Vec<f32> = g.to_vec1()?;
            let lse: Vec<f32> = self.lse.to_dtype(DType::F32)?.to_vec1()?;
            let width = logits.dim(1)?;
            logits.inplace_op1(&SoftmaxGradInPlace {
                lse: &lse,
                g: &g_host,
                labels: &self.safe,
                width,
            })?;
            return Ok(logits);
        }
        let (rows, vocab) = logits.dims2()?;
        let dev = logits.device();
        let safe = Tensor::from_slice(&self.safe, (rows, 1), dev)?;
        // The softmax's gradient in f32 under mixed precision; each chunk returns in the logits'
        // (compute) dtype.
        let acc = accumulation_dtype(logits.dtype());
        let lse = self.lse.to_dtype(acc)?.unsqueeze(1)?;
        let g = g.to_dtype(acc)?.unsqueeze(1)?;
        let step = (CHUNK_VALUES / vocab.max(1)).max(1);
        let mut parts = Vec::new();
        for start in (0..rows).step_by(step) {
            let len = step.min(rows - start);
            let gc = g.narrow(0, start, len)?;
            let p = logits
                .narrow(0, start, len)?
                .to_dtype(acc)?
                .broadcast_sub(&lse.narrow(0, start, len)?)?
                .exp()?
                .broadcast_mul(&gc)?;
            let onehot = p
                .zeros_like()?
                .scatter_add(&safe.narrow(0, start, len)?, &gc, 1)?;
            parts.push((p - onehot)?.to_dtype(logits.dtype())?);
        }
        drop(logits);
        Tensor::cat(&parts, 0)
    }
}

impl CustomOp3 for LinearCrossEntropy {
    fn name(&self) -> &'static str {
        "tunesmith-linear-cross-entropy"
    }

    fn cpu_fwd(
        &self,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        use candle_core::backend::BackendStorage;
        Ok((s3.try_clone(l3)?, l3.shape().clone()))
    }

    fn cuda_fwd(
        &self,
        _: &candle_core::CudaStorage,
        _: &Layout,
        _: &candle_core::CudaStorage,
        _: &Layout,
        s3: &candle_core::CudaStorage,
        l3: &Layout,
    ) -> candle_core::Result<(candle_core::CudaStorage, Shape)> {
        use candle_core::backend::BackendStorage;
        Ok((s3.try_clone(l3)?, l3.shape().clone()))
    }

    fn metal_fwd(
        &self,
        _: &candle_core::MetalStorage,
        _: &Layout,
        _: &candle_core::MetalStorage,
        _: &Layout,
        s3: &candle_core::MetalStorage,
        l3: &Layout,
    ) -> candle_core::Result<(candle_core::MetalStorage, Shape)> {
        use candle_core::backend::BackendStorage;
        Ok((s3.try_clone(l3)?, l3.shape().clone()))
    }

    fn bwd(
        &self,
        hidden: &Tensor,
        weight: &Tensor,
        _nll: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        // Work outside the graph: nothing computed here should keep the inputs' graphs alive.
        let (h, w) = (hidden.detach(), weight.detach());
        let keep = Tensor::from_slice(&self.keep, self.keep.len(), grad_res.device())?
            .to_dtype(grad_res.dtype())?;
        let g = (grad_res.detach() * keep)?;
        let d = self.dlogits(&h, &w, &g)?;
        let dh = d.matmul(&w)?.to_dtype(hidden.dtype())?;
        let dw = if weight.track_op() {
            Some(d.t()?.matmul(&h)?.to_dtype(weight.dtype())?)
        } else {
            None
        };
        Ok((Some(dh), dw, None))
    }
}

/// Shifts causal-LM logits and labels by one position so position `t` predicts token `t + 1`:
/// returns `(logits[:, :-1], labels[:, 1:])`.
pub fn shift_for_next_token(logits: &Tensor, labels: &Tensor) -> Result<(Tensor, Tensor)> {
    let t = logits.dim(1)?;
    if t < 2 {
        return Err(EngineError::Training(
            "a sequence needs at least two tokens to learn the next one".into(),
        ));
    }
    Ok((logits.narrow(1, 0, t - 1)?, labels.narrow(1, 1, t - 1)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn the_loss_equals_candle_cross_entropy_when_nothing_is_ignored() {
        let dev = Device::Cpu;
        let logits = Tensor::new(&[[1.0f32, 2.0, 0.5], [0.1, -1.0, 3.0]], &dev).unwrap();
        let labels = Tensor::new(&[1i64, 2], &dev).unwrap();
        let ours = cross_entropy(&logits, &labels).unwrap();
        let theirs =
            candle_nn::loss::cross_entropy(&logits, &labels.to_dtype(DType::U32).unwrap()).unwrap();
        assert_eq!(ours.count, 2);
        let (a, b) = (
            ours.loss.to_scalar::<f32>().unwrap(),
            theirs.to_scalar::<f32>().unwrap(),
        );
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }

    #[test]
    fn ignored_labels_contribute_neither_loss_nor_gradient() {
        let dev = Device::Cpu;
        let v = Var::new(&[[1.0f32, 2.0, 0.5], [0.1, -1.0, 3.0]], &dev).unwrap();
        let labels = Tensor::new(&[1i64, IGNORE_INDEX], &dev).unwrap();
        let l = cross_entropy(v.as_tensor(), &labels).unwrap();
        assert_eq!(l.count, 1);
        // -log softmax([1, 2, 0.5])[1]
        let expected = -(2f32 - (1f32.exp() + 2f32.exp() + 0.5f32.exp()).ln());
        assert!((l.loss.to_scalar::<f32>().unwrap() - expected).abs() < 1e-6);
        let grads = l.loss.backward().unwrap();
        let g: Vec<Vec<f32>> = grads.get(v.as_tensor()).unwrap().to_vec2().unwrap();
        assert_eq!(g[1], vec![0.0, 0.0, 0.0]);
        assert!(g[0][1] < 0.0);
    }

    #[test]
    fn a_batch_with_no_counted_label_has_zero_loss() {
        let dev = Device::Cpu;
        let logits = Tensor::zeros((2, 4), DType::F32, &dev).unwrap();
        let labels = Tensor::new(&[IGNORE_INDEX, IGNORE_INDEX], &dev).unwrap();
        let l = cross_entropy(&logits, &labels).unwrap();
        assert_eq!(l.count, 0);
        assert_eq!(l.loss.to_scalar::<f32>().unwrap(), 0.0);
    }

    #[test]
    fn an_out_of_range_label_is_a_clear_error() {
        let dev = Device::Cpu;
        let logits = Tensor::zeros((1, 2), DType::F32, &dev).unwrap();
        let err = cross_entropy(&logits, &Tensor::new(&[5i64], &dev).unwrap()).unwrap_err();
        assert!(err.to_string().contains("outside the 2 classes"), "{err}");
    }

    #[test]
    fn three_dimensional_logits_are_flattened_and_shifted() {
        let dev = Device::Cpu;
        let logits = Tensor::randn(0f32, 1.0, (2, 5, 7), &dev).unwrap();
        let labels = Tensor::new(
            &[
                [IGNORE_INDEX, IGNORE_INDEX, 3, 4, IGNORE_INDEX],
                [IGNORE_INDEX, 1, 2, 6, 0],
            ],
            &dev,
        )
        .unwrap();
        let (l, y) = shift_for_next_token(&logits, &labels).unwrap();
        assert_eq!(l.dims(), &[2, 4, 7]);
        assert_eq!(cross_entropy(&l, &y).unwrap().count, 6);
    }

    fn grads_of(loss: &Tensor, h: &Var, w: &Var) -> (Tensor, Tensor) {
        let g = loss.backward().unwrap();
        (
            g.get(h.as_tensor()).expect("hidden gradient").clone(),
            g.get(w.as_tensor()).expect("weight gradient").clone(),
        )
    }

    fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
        (a.to_dtype(DType::F64).unwrap() - b.to_dtype(DType::F64).unwrap())
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f64>()
            .unwrap()
    }

    #[test]
    fn the_fused_head_loss_equals_the_composed_one_with_its_gradients() {
        let dev = Device::Cpu;
        let h = Var::from_tensor(&Tensor::randn(0f32, 1.0, (2, 5, 8), &dev).unwrap()).unwrap();
        let w = Var::from_tensor(&Tensor::randn(0f32, 0.5, (11, 8), &dev).unwrap()).unwrap();
        let labels = Tensor::new(
            &[
                [3i64, IGNORE_INDEX, 10, 0, 4],
                [IGNORE_INDEX, 1, 2, 7, IGNORE_INDEX],
            ],
            &dev,
        )
        .unwrap();
        let fused = linear_cross_entropy(h.as_tensor(), w.as_tensor(), &labels).unwrap();
        let logits = crate::nn::ops::matmul_t(h.as_tensor(), w.as_tensor()).unwrap();
        let composed = cross_entropy(&logits, &labels).unwrap();
        assert_eq!(fused.count, 7);
        assert_eq!(composed.count, 7);
        assert!(max_diff(&fused.loss, &composed.loss) < 1e-5);
        let (gh, gw) = grads_of(&fused.loss, &h, &w);
        let (rh, rw) = grads_of(&composed.loss, &h, &w);
        assert!(max_diff(&gh, &rh) < 1e-6, "{}", max_diff(&gh, &rh));
        assert!(max_diff(&gw, &rw) < 1e-6, "{}", max_diff(&gw, &rw));
        // A second backward over the same graph recomputes the logits the first consumed.
        let (gh2, gw2) = grads_of(&fused.loss, &h, &w);
        assert!(max_diff(&gh, &gh2) < 1e-7 && max_diff(&gw, &gw2) < 1e-7);
    }

    #[test]
    fn a_frozen_head_gets_no_gradient_and_the_hidden_states_do() {
        let dev = Device::Cpu;
        let h = Var::from_tensor(&Tensor::randn(0f32, 1.0, (4, 6), &dev).unwrap()).unwrap();
        let w = Tensor::randn(0f32, 0.5, (9, 6), &dev).unwrap();
        let labels = Tensor::new(&[1i64, 8, IGNORE_INDEX, 0], &dev).unwrap();
        let l = linear_cross_entropy(h.as_tensor(), &w, &labels).unwrap();
        let g = l.loss.backward().unwrap();
        assert!(g.get(h.as_tensor()).is_some());
        for id in g.get_ids() {
            assert_ne!(
                g.get_id(*id).unwrap().dims(),
                w.dims(),
                "a head-sized gradient was kept"
            );
        }
        // The ignored row's hidden state gets exactly nothing.
        let gh: Vec<Vec<f32>> = g.get(h.as_tensor()).unwrap().to_vec2().unwrap();
        assert!(gh[2].iter().all(|&x| x == 0.0));
    }

    #[test]
    fn the_fused_head_loss_gradients_match_finite_differences() {
        // f64 on the CPU takes the device-generic (tensor-op) path; f32 the loops, checked above.
        let dev = Device::Cpu;
        let h0: Vec<f64> = Tensor::randn(0f64, 1.0, 12, &dev)
            .unwrap()
            .to_vec1()
            .unwrap();
        let w0: Vec<f64> = Tensor::randn(0f64, 0.5, 15, &dev)
            .unwrap()
            .to_vec1()
            .unwrap();
        let labels = Tensor::new(&[4i64, IGNORE_INDEX, 0, 2], &dev).unwrap();
        let f = |hv: &[f64], wv: &[f64]| -> f64 {
            let h = Tensor::from_slice(hv, (4, 3), &dev).unwrap();
            let w = Tensor::from_slice(wv, (5, 3), &dev).unwrap();
            linear_cross_entropy(&h, &w, &labels)
                .unwrap()
                .loss
                .to_scalar::<f64>()
                .unwrap()
        };
        let h = Var::from_tensor(&Tensor::from_slice(&h0, (4, 3), &dev).unwrap()).unwrap();
        let w = Var::from_tensor(&Tensor::from_slice(&w0, (5, 3), &dev).unwrap()).unwrap();
        let l = linear_cross_entropy(h.as_tensor(), w.as_tensor(), &labels).unwrap();
        let (gh, gw) = grads_of(&l.loss, &h, &w);
        let gh: Vec<f64> = gh.flatten_all().unwrap().to_vec1().unwrap();
        let gw: Vec<f64> = gw.flatten_all().unwrap().to_vec1().unwrap();
        let eps = 1e-6;
        for i in 0..h0.len() {
            let (mut p, mut m) = (h0.clone(), h0.clone());
            p[i] += eps;
            m[i] -= eps;
            let fd = (f(&p, &w0) - f(&m, &w0)) / (2.0 * eps);
            assert!((fd - gh[i]).abs() < 1e-7, "hidden {i}: {fd} vs {}", gh[i]);
        }
        for i in 0..w0.len() {
            let (mut p, mut m) = (w0.clone(), w0.clone());
            p[i] += eps;
            m[i] -= eps;
            let fd = (f(&h0, &p) - f(&h0, &m)) / (2.0 * eps);
            assert!((fd - gw[i]).abs() < 1e-7, "weight {i}: {fd} vs {}", gw[i]);
        }
    }
}
