//! AdamW with decoupled weight decay, over the trainable variables only.
//!
//! It follows `torch.optim.AdamW` step for step (decay the weight by `1 - lr * wd`, then the Adam
//! update with bias correction), so its numbers can be checked against PyTorch's. Biases and
//! normalisation weights are not decayed (the convention of the Hugging Face trainer). Its state (the
//! moments and the step count) is exposed as named tensors so a checkpoint can restore it exactly.
//!
//! On the CPU (f32) the update runs in place, three passes per parameter (first moment, second
//! moment, weight) with no buffer allocated; each element goes through exactly the f32 operations
//! of the tensor-op path used elsewhere (`x * a + 0` for candle's affine, then the binary op), so
//! both give the same bits and a run resumes bit for bit whichever path wrote the checkpoint.

use std::collections::HashMap;

use candle_core::{CpuStorage, DType, InplaceOp2, InplaceOp3, Layout, Tensor, Var};
use serde::{Deserialize, Serialize};

use crate::{EngineError, Result};

/// AdamW's hyperparameters (the learning rate comes from the schedule at each step).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdamWConfig {
    /// First-moment decay.
    pub beta1: f64,
    /// Second-moment decay.
    pub beta2: f64,
    /// Added to the denominator for stability.
    pub eps: f64,
    /// Decoupled weight decay (applied as `w -= lr * wd * w`).
    pub weight_decay: f64,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
        }
    }
}

/// Whether a parameter of this name is exempt from weight decay: biases and normalisation weights.
pub fn exempt_from_decay(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with("bias")
        || lower.contains("norm")
        || lower.ends_with(".gamma")
        || lower.ends_with(".beta")
}

struct Slot {
    name: String,
    var: Var,
    decay: bool,
    m: Tensor,
    v: Tensor,
}

/// The optimiser: one slot per trainable variable, in name order so its behaviour never depends on
/// a hash map's iteration order.
pub struct AdamW {
    config: AdamWConfig,
    slots: Vec<Slot>,
    step: u64,
}

impl AdamW {
    /// An optimiser over `vars` (name, variable); names decide weight-decay exemption.
    pub fn new(mut vars: Vec<(String, Var)>, config: AdamWConfig) -> Result<Self> {
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        let slots = vars
            .into_iter()
            .map(|(name, var)| {
                let m = var.as_tensor().zeros_like()?;
                let v = var.as_tensor().zeros_like()?;
                let decay = !exempt_from_decay(&name);
                Ok(Slot {
                    name,
                    var,
                    decay,
                    m,
                    v,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(AdamW {
            config,
            slots,
            step: 0,
        })
    }

    /// The names of the variables, in the order `step` expects their gradients.
    pub fn names(&self) -> Vec<&str> {
        self.slots.iter().map(|s| s.name.as_str()).collect()
    }

    /// The variables, in the order of `names`.
    pub fn vars(&self) -> Vec<&Var> {
        self.slots.iter().map(|s| &s.var).collect()
    }

    /// Updates completed so far.
    pub fn step_count(&self) -> u64 {
        self.step
    }

    /// One update at learning rate `lr`. `grads[i]` belongs to `names()[i]`; a variable with no
    /// gradient (`None`) is left untouched, moments included, as PyTorch does.
    pub fn step(&mut self, grads: &[Option<Tensor>], lr: f64) -> Result<()> {
        if grads.len() != self.slots.len() {
            return Err(EngineError::Training(format!(
                "the optimiser got {} gradients for {} variables",
                grads.len(),
                self.slots.len()
            )));
        }
        self.step += 1;
        let c = self.config;
        let bc1 = 1.0 - c.beta1.powi(self.step as i32);
        let bc2_sqrt = (1.0 - c.beta2.powi(self.step as i32)).sqrt();
        for (slot, grad) in self.slots.iter_mut().zip(grads) {
            let Some(g) = grad else { continue };
            let g = g.to_dtype(slot.m.dtype())?;
            let decay = slot.decay && c.weight_decay != 0.0;
            if in_place_capable(slot.var.as_tensor(), &slot.m, &slot.v, &g) {
                slot.m.inplace_op2(
                    &g,
                    &FirstMoment {
                        keep: c.beta1 as f32,
                        take: (1.0 - c.beta1) as f32,
                    },
                )?;
                slot.v.inplace_op2(
                    &g,
                    &SecondMoment {
                        keep: c.beta2 as f32,
                        take: (1.0 - c.beta2) as f32,
                    },
                )?;
                slot.var.as_tensor().inplace_op3(
                    &slot.m,
                    &slot.v,
                    &Update {
                        inv_bc2_sqrt: (1.0 / bc2_sqrt) as f32,
                        eps: c.eps as f32,
                        step: (lr / bc1) as f32,
                        decay: decay.then_some((1.0 - lr * c.weight_decay) as f32),
                    },
                )?;
                continue;
            }
            slot.m = ((&slot.m * c.beta1)? + (&g * (1.0 - c.beta1))?)?;
            slot.v = ((&slot.v * c.beta2)? + (g.sqr()? * (1.0 - c.beta2))?)?;
            let denom = ((slot.v.sqrt()? / bc2_sqrt)? + c.eps)?;
            let update = ((&slot.m / &denom)? * (lr / bc1))?;
            let w = slot.var.as_tensor();
            let decayed = if decay {
                (w * (1.0 - lr * c.weight_decay))?
            } else {
                w.clone()
            };
            slot.var.set(&(decayed - update)?)?;
        }
        Ok(())
    }

    /// The optimiser's state as named tensors (`m.NAME`, `v.NAME`) plus the step count. The
    /// tensors share the live moments' memory (the next step updates them in place): serialise
    /// them before stepping again, or copy them.
    pub fn state(&self) -> (u64, Vec<(String, Tensor)>) {
        let mut tensors = Vec::with_capacity(self.slots.len() * 2);
        for s in &self.slots {
            tensors.push((format!("m.{}", s.name), s.m.clone()));
            tensors.push((format!("v.{}", s.name), s.v.clone()));
        }
        (self.step, tensors)
    }

    /// Restores a state saved by `state`; every moment must be present with its variable's shape.
    pub fn load_state(&mut self, step: u64, tensors: &HashMap<String, Tensor>) -> Result<()> {
        for s in &mut self.slots {
            for (kind, target) in [("m", &mut s.m), ("v", &mut s.v)] {
                let key = format!("{kind}.{}", s.name);
                let t = tensors.get(&key).ok_or_else(|| {
                    EngineError::Training(format!("the checkpoint has no optimiser moment `{key}`: it was saved by a different model or method"))
                })?;
                if t.dims() != s.var.dims() {
                    return Err(EngineError::Training(format!(
                        "the checkpoint's optimiser moment `{key}` has shape {:?}, the variable has {:?}",
                        t.dims(),
                        s.var.dims()
                    )));
                }
                // A private copy: the moments are updated in place.
                *target = t
                    .to_device(s.var.device())?
                    .to_dtype(s.var.dtype())?
                    .copy()?;
            }
        }
        self.step = step;
        Ok(())
    }
}

/// Whether the in-place CPU update applies: f32, contiguous, on the CPU, and the weight's storage
/// not shared with its moments.
fn in_place_capable(w: &Tensor, m: &Tensor, v: &Tensor, g: &Tensor) -> bool {
    [w, m, v, g]
        .iter()
        .all(|t| t.device().is_cpu() && t.dtype() == DType::F32 && t.is_contiguous())
        && w.dims() == g.dims()
        && m.dims() == g.dims()
        && v.dims() == g.dims()
}

/// The contiguous f32 slice of a CPU storage under `l`.
fn f32s<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> candle_core::Result<&'a [f32]> {
    match (s, l.contiguous_offsets()) {
        (CpuStorage::F32(v), Some((a, b))) => Ok(&v[a..b]),
        _ => candle_core::bail!("AdamW: the {what} is not contiguous f32"),
    }
}

fn f32s_mut<'a>(s: &'a mut CpuStorage, l: &Layout) -> candle_core::Result<&'a mut [f32]> {
    match (s, l.contiguous_offsets()) {
        (CpuStorage::F32(v), Some((a, b))) => Ok(&mut v[a..b]),
        _ => candle_core::bail!("AdamW: a parameter or moment is not contiguous f32"),
    }
}

/// Runs `f(dst_chunk, offset)` over `dst` split among candle's threads (large tensors only).
fn par_chunks(dst: &mut [f32], f: impl Fn(&mut [f32], usize) + Sync) {
    const MIN_PER_THREAD: usize = 1 << 16;
    let threads =
        candle_core::utils::get_num_threads().clamp(1, dst.len().div_ceil(MIN_PER_THREAD).max(1));
    if threads == 1 {
        return f(dst, 0);
    }
    let per = dst.len().div_ceil(threads);
    std::thread::scope(|s| {
        for (i, chunk) in dst.chunks_mut(per).enumerate() {
            let f = &f;
            s.spawn(move || f(chunk, i * per));
        }
    });
}

/// `m <- (m * keep + 0) + (g * take + 0)`, as `m * beta1 + g * (1 - beta1)` in tensor ops.
struct FirstMoment {
    keep: f32,
    take: f32,
}

impl InplaceOp2 for FirstMoment {
    fn name(&self) -> &'static str {
        "tunesmith-adamw-first-moment"
    }
    fn cpu_fwd(
        &self,
        s1: &mut CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<()> {
        let g = f32s(s2, l2, "gradient")?;
        par_chunks(f32s_mut(s1, l1)?, |m, at| {
            for (m, &g) in m.iter_mut().zip(&g[at..]) {
                *m = (*m * self.keep + 0.0) + (g * self.take + 0.0);
            }
        });
        Ok(())
    }
}

/// `v <- (v * keep + 0) + ((g * g) * take + 0)`, as `v * beta2 + g.sqr() * (1 - beta2)`.
struct SecondMoment {
    keep: f32,
    take: f32,
}

impl InplaceOp2 for SecondMoment {
    fn name(&self) -> &'static str {
        "tunesmith-adamw-second-moment"
    }
    fn cpu_fwd(
        &self,
        s1: &mut CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<()> {
        let g = f32s(s2, l2, "gradient")?;
        par_chunks(f32s_mut(s1, l1)?, |v, at| {
            for (v, &g) in v.iter_mut().zip(&g[at..]) {
                *v = (*v * self.keep + 0.0) + ((g * g) * self.take + 0.0);
            }
        });
        Ok(())
    }
}

/// `w <- decay(w) - (m / ((sqrt(v) * inv_bc2_sqrt + 0) * 1 + eps)) * step + 0`, the tensor path's
/// operations in its order.
struct Update {
    inv_bc2_sqrt: f32,
    eps: f32,
    step: f32,
    decay: Option<f32>,
}

impl InplaceOp3 for Update {
    fn name(&self) -> &'static str {
        "tunesmith-adamw-update"
    }
    fn cpu_fwd(
        &self,
        s1: &mut CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<()> {
        let (m, v) = (
            f32s(s2, l2, "first moment")?,
            f32s(s3, l3, "second moment")?,
        );
        par_chunks(f32s_mut(s1, l1)?, |w, at| {
            for ((w, &m), &v) in w.iter_mut().zip(&m[at..]).zip(&v[at..]) {
                let denom = (v.sqrt() * self.inv_bc2_sqrt + 0.0) * 1.0 + self.eps;
                let update = (m / denom) * self.step + 0.0;
                let decayed = match self.decay {
                    Some(d) => *w * d + 0.0,
                    None => *w,
                };
                *w = decayed - update;
            }
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    /// Generated with PyTorch 2.x (`torch.optim.AdamW`, lr 1e-2, betas (0.9, 0.999), eps 1e-8,
    /// weight decay 0.1 on `w` and 0 on `b`), three steps with the gradients below:
    /// ```python
    /// w = torch.nn.Parameter(torch.tensor([[0.5, -1.0, 2.0], [0.0, 0.25, -0.75]]))
    /// b = torch.nn.Parameter(torch.tensor([0.1, -0.2, 0.3]))
    /// opt = torch.optim.AdamW([{"params": [w], "weight_decay": 0.1}, {"params": [b], "weight_decay": 0.0}],
    ///                         lr=1e-2, betas=(0.9, 0.999), eps=1e-8)
    /// for gw, gb in zip(GRADS_W, GRADS_B):
    ///     w.grad = torch.tensor(gw); b.grad = torch.tensor(gb); opt.step()
    /// ```
    const TORCH_W: [f32; 6] = [
        0.48851857,
        -0.99048245,
        1.98317385,
        -0.02663939,
        0.2653549,
        -0.77038574,
    ];
    const TORCH_B: [f32; 3] = [0.08484413, -0.18214825, 0.29277787];
    const GRADS_W: [[f32; 6]; 3] = [
        [0.1, -0.2, 0.3, 0.4, -0.5, 0.6],
        [-0.3, 0.1, 0.0, 0.2, 0.2, -0.1],
        [1.0, 2.0, -3.0, 0.01, 0.0, 0.5],
    ];
    const GRADS_B: [[f32; 3]; 3] = [[0.5, -0.5, 0.05], [0.1, 0.0, -0.2], [-1.0, 0.3, 0.3]];

    fn setup() -> AdamW {
        let dev = Device::Cpu;
        let w = Var::from_tensor(
            &Tensor::new(&[[0.5f32, -1.0, 2.0], [0.0, 0.25, -0.75]], &dev).unwrap(),
        )
        .unwrap();
        let b = Var::from_tensor(&Tensor::new(&[0.1f32, -0.2, 0.3], &dev).unwrap()).unwrap();
        let cfg = AdamWConfig {
            weight_decay: 0.1,
            ..Default::default()
        };
        AdamW::new(
            vec![("layer.weight".into(), w), ("layer.bias".into(), b)],
            cfg,
        )
        .unwrap()
    }

    fn grads(i: usize) -> Vec<Option<Tensor>> {
        let dev = Device::Cpu;
        // Names sort as layer.bias, layer.weight.
        vec![
            Some(Tensor::new(&GRADS_B[i], &dev).unwrap()),
            Some(Tensor::from_slice(&GRADS_W[i], (2, 3), &dev).unwrap()),
        ]
    }

    #[test]
    fn three_steps_match_pytorch_adamw_with_decoupled_decay_and_an_exempt_bias() {
        let mut opt = setup();
        assert_eq!(opt.names(), vec!["layer.bias", "layer.weight"]);
        for i in 0..3 {
            opt.step(&grads(i), 1e-2).unwrap();
        }
        let vars = opt.vars();
        let b: Vec<f32> = vars[0].as_tensor().to_vec1().unwrap();
        let w: Vec<f32> = vars[1]
            .as_tensor()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        tunesmith_close(&w, &TORCH_W);
        tunesmith_close(&b, &TORCH_B);
    }

    fn tunesmith_close(a: &[f32], e: &[f32]) {
        for (x, y) in a.iter().zip(e) {
            assert!((x - y).abs() < 2e-6, "{a:?} vs {e:?}");
        }
    }

    #[test]
    fn a_restored_state_continues_exactly_like_the_original() {
        let mut a = setup();
        a.step(&grads(0), 1e-2).unwrap();
        let (step, tensors) = a.state();
        let saved: HashMap<String, Tensor> = tensors.into_iter().collect();
        let mut b = setup();
        for (va, vb) in a.vars().iter().zip(b.vars()) {
            vb.set(va.as_tensor()).unwrap();
        }
        b.load_state(step, &saved).unwrap();
        a.step(&grads(1), 1e-2).unwrap();
        b.step(&grads(1), 1e-2).unwrap();
        for (va, vb) in a.vars().iter().zip(b.vars()) {
            let x: Vec<f32> = va.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
            let y: Vec<f32> = vb.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
            assert_eq!(x, y);
        }
    }

    #[test]
    fn a_variable_without_gradient_is_left_untouched() {
        let mut opt = setup();
        let mut g = grads(0);
        g[1] = None;
        opt.step(&g, 1e-2).unwrap();
        let w: Vec<f32> = opt.vars()[1]
            .as_tensor()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        assert_eq!(w, vec![0.5, -1.0, 2.0, 0.0, 0.25, -0.75]);
    }

    #[test]
    fn biases_and_norms_are_exempt_from_decay() {
        assert!(exempt_from_decay(
            "encoder.layer.0.attention.output.LayerNorm.weight"
        ));
        assert!(exempt_from_decay("classifier.bias"));
        assert!(exempt_from_decay("model.norm.weight"));
        assert!(!exempt_from_decay("classifier.weight"));
        assert!(!exempt_from_decay("base_model.model.q_proj.lora_A.weight"));
    }
}
