//! The CPU kernels of the fused attention ([`crate::nn::attention`]): f32 slices, one query row at
//! a time, spread over threads, never holding more than one row of scores per thread.
//!
//! Forward: for each query row, the scores against the keys it may see, their maximum, the
//! log-sum-exp `lse`, and the output row `sum_j softmax_j * dropout_j * v_j`; only `lse` (one float
//! per row) is kept for the backward. Backward (FlashAttention-2): the probabilities are recomputed
//! from `q`, `k` and `lse`, and with `D_i = dO_i . O_i`, `dS_ij = P_ij (dP_ij - D_i)`; each thread owns
//! one (batch, key/value head) pair, so its `dK`, `dV` and the `dQ` rows of that head's query group
//! are written without locks.
//!
//! Masking follows transformers' additive `finfo.min` bias exactly: masked scores get probability 0,
//! and a row whose every key is masked attends uniformly to all keys (what `softmax(s + min)` gives),
//! marked by an infinite `lse`.

use std::sync::Mutex;

/// Shapes and settings of one attention call.
#[derive(Debug, Clone)]
pub struct Geometry {
    /// Batch.
    pub b: usize,
    /// Query heads.
    pub h: usize,
    /// Key/value heads (divides `h`).
    pub kvh: usize,
    /// Query rows.
    pub t: usize,
    /// Keys.
    pub s: usize,
    /// Head width.
    pub d: usize,
    /// Multiplies `q . k` (the CPU kernels round it to f32).
    pub scale: f64,
    /// Query `i` sees keys `j <= offset + i` only.
    pub causal: bool,
    /// The position of the first query (a KV cache's length).
    pub offset: usize,
    /// Dropout probability on the attention probabilities (0 = none).
    pub dropout: f32,
    /// The seed of the dropout mask.
    pub seed: u64,
}

impl Geometry {
    fn group(&self) -> usize {
        self.h / self.kvh
    }

    /// Keys `0..end` can be visible to query row `i` (causality); the key mask may hide more.
    fn end(&self, i: usize) -> usize {
        if self.causal {
            (self.offset + i + 1).min(self.s)
        } else {
            self.s
        }
    }

    /// The dropout multiplier (0 or `1 / (1 - p)`) of probability `(bi, hi, i, j)`.
    #[inline]
    pub fn keep(&self, bi: usize, hi: usize, i: usize, j: usize) -> f32 {
        if self.dropout <= 0.0 {
            return 1.0;
        }
        let idx = (((bi * self.h + hi) * self.t + i) * self.s + j) as u64;
        dropout_multiplier(self.seed, idx, self.dropout)
    }
}

/// The dropout multiplier of element `idx` of a mask seeded with `seed`: 0 with probability `p`,
/// else `1 / (1 - p)`. A counter-based hash (SplitMix64 at position `idx`), so any element can be
/// regenerated on its own, in any order, on any thread.
#[inline]
pub fn dropout_multiplier(seed: u64, idx: u64, p: f32) -> f32 {
    // The dropout op's own decision, so both draw the same masks from the same key.
    use crate::nn::dropout::{keeps, threshold};
    if keeps(seed, idx, threshold(p)) {
        1.0 / (1.0 - p)
    } else {
        0.0
    }
}

#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let mut sum = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (x, y) in ra.iter().zip(rb) {
        sum += x * y;
    }
    sum
}

/// `y += a * x`.
#[inline]
fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// Runs `work` on every item, spread over up to `threads` threads.
fn parallel<T: Send>(items: Vec<T>, threads: usize, work: impl Fn(T) + Sync) {
    let threads = threads.clamp(1, items.len().max(1));
    if threads == 1 {
        items.into_iter().for_each(work);
        return;
    }
    let queue = Mutex::new(items.into_iter());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let next = match queue.lock() {
                    Ok(mut q) => q.next(),
                    Err(_) => None,
                };
                match next {
                    Some(item) => work(item),
                    None => break,
                }
            });
        }
    });
}

/// Scores of row `qrow` against keys `0..end` into `scores` (masked keys get `-inf`); returns the
/// maximum, `-inf` when every key is masked.
#[inline]
fn row_scores(
    g: &Geometry,
    qrow: &[f32],
    kh: &[f32],
    keys: Option<&[u8]>,
    end: usize,
    scores: &mut [f32],
) -> f32 {
    let d = g.d;
    let mut max = f32::NEG_INFINITY;
    for j in 0..end {
        let visible = keys.is_none_or(|m| m[j] != 0);
        let sc = if visible {
            dot(qrow, &kh[j * d..(j + 1) * d]) * g.scale as f32
        } else {
            f32::NEG_INFINITY
        };
        scores[j] = sc;
        max = max.max(sc);
    }
    max
}

/// The forward pass: `q` is `[b, h, t, d]`, `k` and `v` `[b, kvh, s, d]`, `keys` the `[b, s]` key
/// mask (nonzero = visible). Returns the output `[b, h, t, d]` and `lse` `[b, h, t]`.
pub fn forward(
    g: &Geometry,
    q: &[f32],
    k: &[f32],
    v: &[f32],
    keys: Option<&[u8]>,
    threads: usize,
) -> (Vec<f32>, Vec<f32>) {
    let (t, s, d, grp) = (g.t, g.s, g.d, g.group());
    let mut out = vec![0f32; g.b * g.h * t * d];
    let mut lse = vec![0f32; g.b * g.h * t];
    let units: Vec<(usize, &mut [f32], &mut [f32])> = out
        .chunks_mut(t * d)
        .zip(lse.chunks_mut(t))
        .enumerate()
        .map(|(u, (o, l))| (u, o, l))
        .collect();
    parallel(units, threads, |(u, o, l)| {
        let (bi, hi) = (u / g.h, u % g.h);
        let kvu = bi * g.kvh + hi / grp;
        let kh = &k[kvu * s * d..(kvu + 1) * s * d];
        let vh = &v[kvu * s * d..(kvu + 1) * s * d];
        let qh = &q[u * t * d..(u + 1) * t * d];
        let km = keys.map(|m| &m[bi * s..(bi + 1) * s]);
        let mut scores = vec![0f32; s];
        for i in 0..t {
            let orow = &mut o[i * d..(i + 1) * d];
            let end = g.end(i);
            let max = row_scores(g, &qh[i * d..(i + 1) * d], kh, km, end, &mut scores);
            if max == f32::NEG_INFINITY {
                // Nothing visible: uniform over every key, as softmax(s + finfo.min) is.
                let p = 1.0 / s as f32;
                for j in 0..s {
                    axpy(p * g.keep(bi, hi, i, j), &vh[j * d..(j + 1) * d], orow);
                }
                l[i] = f32::INFINITY;
                continue;
            }
            let mut sum = 0f32;
            for sc in scores[..end].iter_mut() {
                let e = (*sc - max).exp();
                *sc = e;
                sum += e;
            }
            let inv = 1.0 / sum;
            for j in 0..end {
                let p = scores[j] * inv;
                if p != 0.0 {
                    let m = g.keep(bi, hi, i, j);
                    if m != 0.0 {
                        axpy(p * m, &vh[j * d..(j + 1) * d], orow);
                    }
                }
            }
            l[i] = max + sum.ln();
        }
    });
    (out, lse)
}

/// The backward pass from the forward's inputs, its output `o`, `lse` and the output gradient
/// `dout`: the gradients of `q`, `k` and `v`.
#[allow(clippy::too_many_arguments)]
pub fn backward(
    g: &Geometry,
    q: &[f32],
    k: &[f32],
    v: &[f32],
    o: &[f32],
    dout: &[f32],
    lse: &[f32],
    keys: Option<&[u8]>,
    threads: usize,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let (t, s, d, grp) = (g.t, g.s, g.d, g.group());
    let mut dq = vec![0f32; q.len()];
    let mut dk = vec![0f32; k.len()];
    let mut dv = vec![0f32; v.len()];
    // One unit per (batch, key/value head): it owns that head's dK, dV and its group's dQ rows.
    type Unit<'a> = (usize, &'a mut [f32], &'a mut [f32], &'a mut [f32]);
    let units: Vec<Unit> = dq
        .chunks_mut(grp * t * d)
        .zip(dk.chunks_mut(s * d))
        .zip(dv.chunks_mut(s * d))
        .enumerate()
        .map(|(u, ((a, b), c))| (u, a, b, c))
        .collect();
    parallel(units, threads, |(u, dqg, dkh, dvh)| {
        let (bi, kvi) = (u / g.kvh, u % g.kvh);
        let kh = &k[u * s * d..(u + 1) * s * d];
        let vh = &v[u * s * d..(u + 1) * s * d];
        let km = keys.map(|m| &m[bi * s..(bi + 1) * s]);
        let mut scores = vec![0f32; s];
        for r in 0..grp {
            let hi = kvi * grp + r;
            let qu = bi * g.h + hi;
            let base = qu * t * d;
            for i in 0..t {
                let row = base + i * d;
                let (qrow, orow, dorow) = (&q[row..row + d], &o[row..row + d], &dout[row..row + d]);
                let dqrow = &mut dqg[(r * t + i) * d..(r * t + i + 1) * d];
                let di = dot(dorow, orow);
                let l = lse[qu * t + i];
                let (end, uniform) = if l == f32::INFINITY {
                    (s, true)
                } else {
                    (g.end(i), false)
                };
                if !uniform {
                    row_scores(g, qrow, kh, km, end, &mut scores);
                }
                for j in 0..end {
                    let p = if uniform {
                        1.0 / s as f32
                    } else {
                        let sc = scores[j];
                        if sc == f32::NEG_INFINITY {
                            continue;
                        }
                        (sc - l).exp()
                    };
                    let m = g.keep(bi, hi, i, j);
                    let (kj, vj) = (&kh[j * d..(j + 1) * d], &vh[j * d..(j + 1) * d]);
                    if m != 0.0 {
                        axpy(p * m, dorow, &mut dvh[j * d..(j + 1) * d]);
                    }
                    let dp = if m != 0.0 { m * dot(dorow, vj) } else { 0.0 };
                    let ds = p * (dp - di) * g.scale as f32;
                    if ds != 0.0 {
                        axpy(ds, kj, dqrow);
                        axpy(ds, qrow, &mut dkh[j * d..(j + 1) * d]);
                    }
                }
            }
        }
    });
    (dq, dk, dv)
}
