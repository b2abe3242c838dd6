//! The fused attention against the composed path and against finite differences.

use super::*;
use crate::nn::dropout::with_seed;
use crate::train::Rng;
use candle_core::Var;

/// A case: batch, query heads, key/value heads, queries, keys, head width, causal, offset,
/// key mask rows (1 = token), dropout.
#[derive(Clone)]
struct Case {
    b: usize,
    h: usize,
    kvh: usize,
    t: usize,
    s: usize,
    d: usize,
    causal: bool,
    offset: usize,
    mask: Option<Vec<Vec<u32>>>,
    dropout: f32,
}

fn case(causal: bool, mask: bool, kvh: usize, dropout: f32) -> Case {
    Case {
        b: 2,
        h: 4,
        kvh,
        t: 7,
        s: 7,
        d: 5,
        causal,
        offset: 0,
        mask: mask.then(|| vec![vec![1, 1, 1, 1, 1, 0, 0], vec![1, 1, 1, 1, 1, 1, 1]]),
        dropout,
    }
}

fn random(shape: (usize, usize, usize, usize), seed: u64, dtype: DType) -> Result<Tensor> {
    let mut rng = Rng::new(seed);
    let n = shape.0 * shape.1 * shape.2 * shape.3;
    let v: Vec<f32> = (0..n)
        .map(|_| (rng.next_f64() * 2.0 - 1.0) as f32)
        .collect();
    Ok(Tensor::from_vec(v, shape, &Device::Cpu)?.to_dtype(dtype)?)
}

struct Inputs {
    q: Var,
    k: Var,
    v: Var,
    /// Weights of the scalar loss `sum(out * w)`.
    w: Tensor,
    spec: AttentionSpec,
}

fn inputs(c: &Case, dtype: DType) -> Result<Inputs> {
    let spec = AttentionSpec {
        scale: 1.0 / (c.d as f64).sqrt(),
        causal: c.causal,
        offset: c.offset,
        key_mask: match &c.mask {
            Some(m) => Some(Tensor::new(m.clone(), &Device::Cpu)?),
            None => None,
        },
        dropout: c.dropout,
    };
    Ok(Inputs {
        // Scaled up so the softmax is far from uniform and masking errors would show.
        q: Var::from_tensor(&(random((c.b, c.h, c.t, c.d), 1, dtype)? * 3.0)?)?,
        k: Var::from_tensor(&(random((c.b, c.kvh, c.s, c.d), 2, dtype)? * 3.0)?)?,
        v: Var::from_tensor(&random((c.b, c.kvh, c.s, c.d), 3, dtype)?)?,
        w: random((c.b, c.h, c.t, c.d), 4, dtype)?,
        spec,
    })
}

type AttnFn = fn(&Tensor, &Tensor, &Tensor, &AttentionSpec) -> Result<Tensor>;

/// The output and the gradients of `sum(out * w)` with respect to q, k, v, as flat f64 vectors.
fn run(f: AttnFn, x: &Inputs) -> Result<[Vec<f64>; 4]> {
    let out = with_seed(11, || {
        f(x.q.as_tensor(), x.k.as_tensor(), x.v.as_tensor(), &x.spec)
    })?;
    let grads = (&out * &x.w)?.sum_all()?.backward()?;
    let flat = |t: &Tensor| -> Result<Vec<f64>> {
        Ok(t.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?)
    };
    let g = |v: &Var| -> Result<Vec<f64>> {
        flat(
            grads
                .get(v.as_tensor())
                .ok_or_else(|| EngineError::Invalid("a gradient is missing".into()))?,
        )
    };
    Ok([flat(&out)?, g(&x.q)?, g(&x.k)?, g(&x.v)?])
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

fn assert_matches_composed(c: &Case, dtype: DType, tol: f64) -> Result<()> {
    let x = inputs(c, dtype)?;
    let fused = run(attention, &x)?;
    let composed = run(composed_attention, &x)?;
    for (name, (a, b)) in ["output", "dq", "dk", "dv"]
        .iter()
        .zip(fused.iter().zip(&composed))
    {
        let d = max_diff(a, b);
        assert!(d < tol, "{name} differs by {d} (tolerance {tol})");
        assert!(a.iter().any(|v| *v != 0.0), "{name} is all zeros");
    }
    Ok(())
}

fn every_case() -> Vec<Case> {
    let mut cases = Vec::new();
    for causal in [false, true] {
        for mask in [false, true] {
            for kvh in [4, 2, 1] {
                for dropout in [0.0, 0.3] {
                    cases.push(case(causal, mask, kvh, dropout));
                }
            }
        }
    }
    cases
}

#[test]
fn the_cpu_kernel_matches_the_composed_path_with_every_mask_grouping_and_dropout() -> Result<()> {
    for c in every_case() {
        assert_matches_composed(&c, DType::F32, 2e-5)?;
    }
    Ok(())
}

#[test]
fn the_blockwise_tensor_path_matches_the_composed_path_with_every_mask_grouping_and_dropout(
) -> Result<()> {
    // f64 on the CPU takes the device-generic path (tensor operations over blocks of query rows).
    for c in every_case() {
        assert_matches_composed(&c, DType::F64, 1e-10)?;
    }
    Ok(())
}

#[test]
fn queries_after_a_cache_see_every_earlier_key() -> Result<()> {
    let mut c = case(true, false, 2, 0.0);
    c.offset = 4;
    c.t = 3;
    assert_matches_composed(&c, DType::F32, 2e-5)?;
    assert_matches_composed(&c, DType::F64, 1e-10)?;
    Ok(())
}

#[test]
fn a_row_with_every_key_masked_attends_uniformly_as_the_composed_path_does() -> Result<()> {
    // Left padding under a causal mask: the first two queries of row 0 see no real key.
    let mut c = case(true, true, 2, 0.0);
    c.mask = Some(vec![vec![0, 0, 1, 1, 1, 1, 1], vec![1; 7]]);
    assert_matches_composed(&c, DType::F32, 2e-5)?;
    assert_matches_composed(&c, DType::F64, 1e-10)?;
    Ok(())
}

/// Central finite differences of `sum(attention(q, k, v) * w)` against the analytic gradients, on
/// a handful of elements of each input.
fn finite_differences(c: &Case, dtype: DType, eps: f64, tol: f64) -> Result<()> {
    let x = inputs(c, dtype)?;
    let analytic = run(attention, &x)?;
    let loss = |q: &Tensor, k: &Tensor, v: &Tensor| -> Result<f64> {
        let out = with_seed(11, || attention(q, k, v, &x.spec))?;
        Ok((&out * &x.w)?
            .sum_all()?
            .to_dtype(DType::F64)?
            .to_scalar::<f64>()?)
    };
    for (which, var) in [&x.q, &x.k, &x.v].into_iter().enumerate() {
        let base = var.as_tensor().flatten_all()?;
        let n = base.elem_count();
        for idx in [0, n / 3, n / 2, n - 1] {
            let bump = |delta: f64| -> Result<Tensor> {
                let mut e = vec![0f64; n];
                e[idx] = delta;
                let e = Tensor::from_vec(e, n, &Device::Cpu)?.to_dtype(dtype)?;
                Ok((&base + e)?.reshape(var.shape())?)
            };
            let mut args = [
                x.q.as_tensor().clone(),
                x.k.as_tensor().clone(),
                x.v.as_tensor().clone(),
            ];
            args[which] = bump(eps)?;
            let up = loss(&args[0], &args[1], &args[2])?;
            args[which] = bump(-eps)?;
            let down = loss(&args[0], &args[1], &args[2])?;
            let numeric = (up - down) / (2.0 * eps);
            let a = analytic[which + 1][idx];
            assert!(
                (numeric - a).abs() <= tol * (1.0 + a.abs()),
                "input {which} element {idx}: analytic {a}, numeric {numeric}"
            );
        }
    }
    Ok(())
}

#[test]
fn gradients_agree_with_finite_differences_for_q_k_and_v() -> Result<()> {
    for c in every_case() {
        finite_differences(&c, DType::F64, 1e-6, 1e-6)?;
        finite_differences(&c, DType::F32, 1e-2, 2e-3)?;
    }
    Ok(())
}

#[test]
fn dropout_masks_follow_the_run_seed() -> Result<()> {
    let c = case(false, false, 4, 0.5);
    let x = inputs(&c, DType::F32)?;
    let out = |seed| -> Result<Vec<f32>> {
        Ok(with_seed(seed, || {
            attention(x.q.as_tensor(), x.k.as_tensor(), x.v.as_tensor(), &x.spec)
        })?
        .flatten_all()?
        .to_vec1()?)
    };
    assert_eq!(out(5)?, out(5)?);
    assert_ne!(out(5)?, out(6)?);
    let g = Geometry {
        b: 1,
        h: 1,
        kvh: 1,
        t: 1,
        s: 100_000,
        d: 1,
        scale: 1.0f64,
        causal: false,
        offset: 0,
        dropout: 0.25,
        seed: 3,
    };
    let kept: Vec<f32> = (0..g.s).map(|j| g.keep(0, 0, 0, j)).collect();
    let dropped = kept.iter().filter(|&&m| m == 0.0).count() as f64 / g.s as f64;
    assert!((dropped - 0.25).abs() < 0.01, "{dropped}");
    assert!(kept
        .iter()
        .all(|&m| m == 0.0 || (m - 4.0 / 3.0).abs() < 1e-6));
    Ok(())
}

#[test]
fn mismatched_shapes_are_refused_with_the_shapes_named() -> Result<()> {
    let x = inputs(&case(false, false, 4, 0.0), DType::F32)?;
    let k3 = random((2, 3, 7, 5), 9, DType::F32)?;
    let err = attention(x.q.as_tensor(), &k3, &k3, &x.spec)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("4 query heads") && err.contains("3 key/value heads"),
        "{err}"
    );
    let mut spec = x.spec.clone();
    spec.key_mask = Some(Tensor::new(&[[1u32, 1]], &Device::Cpu)?);
    let err = attention(x.q.as_tensor(), x.k.as_tensor(), x.v.as_tensor(), &spec)
        .unwrap_err()
        .to_string();
    assert!(err.contains("attention mask"), "{err}");
    Ok(())
}
