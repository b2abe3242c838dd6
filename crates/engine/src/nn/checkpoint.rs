//! Activation checkpointing: a transformer block whose intermediate activations are not kept for
//! the backward, but recomputed there from the block's input.
//!
//! candle has no hook to run code during `backward`, so the block becomes a custom op. Its forward
//! runs the block on a detached input (the intermediates are freed as soon as the output exists);
//! its backward recomputes the block from a fresh `Var` holding the input, runs candle's backward
//! over that small graph, and returns the input's gradient. The block's trainable parameters are
//! not inputs of the op (an op has at most three), so each gets a *tap*: a scalar op over the
//! parameter, summed into a second input of the block op. Being upstream of the block op, the taps
//! run their backward after it, and hand each parameter the gradient the recomputation found.
//!
//! Promises: the losses and gradients equal those without checkpointing (the recomputation draws
//! the same dropout masks: the mask key counter is captured before the forward and replayed);
//! peak memory holds one block's intermediates instead of all of them; a block whose parameters
//! and input need no gradient runs plainly. The caller lists the block's trainable tensors; a
//! tensor left off that list gets no gradient.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use candle_core::{
    CpuStorage, CudaStorage, CustomOp1, CustomOp2, DType, Layout, MetalStorage, Shape, Tensor,
    TensorId, Var,
};

use candle_nn::VarMap;

use crate::nn::dropout::{generator_state, with_generator, MaskCounter};
use crate::nn::precomputed::Precomputed;
use crate::{EngineError, Result};

/// A block's forward from its input (its weights, masks and settings captured).
pub type BlockFn = Arc<dyn Fn(&Tensor) -> Result<Tensor> + Send + Sync>;

type Stash = Arc<Mutex<HashMap<TensorId, Tensor>>>;

/// `block(x)`, with the block recomputed in the backward instead of its activations kept.
/// `params` are the block's trainable tensors (those that are not `Var`s are ignored).
pub fn checkpoint(x: &Tensor, params: &[Tensor], block: BlockFn) -> Result<Tensor> {
    let params: Vec<Tensor> = params.iter().filter(|p| p.track_op()).cloned().collect();
    if !x.track_op() && params.is_empty() {
        return block(x);
    }
    let state = generator_state();
    let y = block(&x.detach())?.detach();
    let stash: Stash = Arc::new(Mutex::new(HashMap::new()));
    let op = Recompute {
        block,
        state,
        params: params.clone(),
        stash: stash.clone(),
        wants_input_grad: x.track_op(),
        output: Precomputed::new(y)?,
    };
    if params.is_empty() {
        return Ok(x.apply_op1_arc(Arc::new(Box::new(op)))?);
    }
    let taps = params
        .iter()
        .map(|p| -> Result<Tensor> {
            let zero = Tensor::zeros((), DType::F32, p.device())?;
            let tap = Tap {
                stash: stash.clone(),
                zero: Precomputed::new(zero)?,
            };
            Ok(p.apply_op1_arc(Arc::new(Box::new(tap)))?)
        })
        .collect::<Result<Vec<_>>>()?;
    let taps = Tensor::stack(&taps, 0)?.sum_all()?;
    Ok(x.apply_op2_arc(&taps, Arc::new(Box::new(op)))?)
}

/// The trainable tensors a part of a model registers while it is built: mark the `VarMap`
/// before, ask for the tensors added [`since`](NewVars::since) after.
pub struct NewVars(HashSet<String>);

impl NewVars {
    /// Remembers the names `vars` holds now.
    pub fn mark(vars: &VarMap) -> Self {
        let names = match vars.data().lock() {
            Ok(m) => m.keys().cloned().collect(),
            Err(_) => HashSet::new(),
        };
        Self(names)
    }

    /// The tensors of the variables added to `vars` since the mark, by name.
    pub fn since(&self, vars: &VarMap) -> Vec<Tensor> {
        let Ok(m) = vars.data().lock() else {
            return Vec::new();
        };
        let mut added: Vec<(&String, &Var)> =
            m.iter().filter(|(k, _)| !self.0.contains(*k)).collect();
        added.sort_by(|a, b| a.0.cmp(b.0));
        added
            .into_iter()
            .map(|(_, v)| v.as_tensor().clone())
            .collect()
    }
}

const NAME: &str = "checkpointed-block";

fn to_candle(e: EngineError) -> candle_core::Error {
    match e {
        EngineError::Candle(c) => c,
        other => candle_core::Error::Msg(other.to_string()),
    }
}

fn locked<'a>(
    stash: &'a Stash,
) -> candle_core::Result<std::sync::MutexGuard<'a, HashMap<TensorId, Tensor>>> {
    stash
        .lock()
        .map_err(|_| candle_core::Error::Msg(format!("{NAME}: a poisoned lock")))
}

/// The block as an op: forward is the precomputed output, backward the recomputation.
struct Recompute {
    block: BlockFn,
    state: MaskCounter,
    params: Vec<Tensor>,
    stash: Stash,
    wants_input_grad: bool,
    output: Precomputed,
}

impl Recompute {
    /// Recomputes the block and backpropagates `grad`: the input's gradient; the parameters'
    /// gradients go to the stash for the taps.
    fn backward(&self, x: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let input = Var::from_tensor(&x.detach())?;
        let y = with_generator(self.state.clone(), || (self.block)(input.as_tensor()))
            .map_err(to_candle)?;
        let grads = (y * grad)?.sum_all()?.backward()?;
        let mut stash = locked(&self.stash)?;
        for p in &self.params {
            if let Some(g) = grads.get(p) {
                stash.insert(p.id(), g.clone());
            }
        }
        if !self.wants_input_grad {
            return Ok(None);
        }
        Ok(Some(match grads.get(input.as_tensor()) {
            Some(g) => g.clone(),
            None => x.zeros_like()?,
        }))
    }
}

impl CustomOp1 for Recompute {
    fn name(&self) -> &'static str {
        NAME
    }
    fn cpu_fwd(&self, _: &CpuStorage, _: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        self.output.storage_for(NAME)
    }
    fn cuda_fwd(&self, _: &CudaStorage, _: &Layout) -> candle_core::Result<(CudaStorage, Shape)> {
        self.output.storage_for(NAME)
    }
    fn metal_fwd(
        &self,
        _: &MetalStorage,
        _: &Layout,
    ) -> candle_core::Result<(MetalStorage, Shape)> {
        self.output.storage_for(NAME)
    }
    fn bwd(&self, x: &Tensor, _: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        self.backward(x, grad)
    }
}

impl CustomOp2 for Recompute {
    fn name(&self) -> &'static str {
        NAME
    }
    fn cpu_fwd(
        &self,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        self.output.storage_for(NAME)
    }
    fn cuda_fwd(
        &self,
        _: &CudaStorage,
        _: &Layout,
        _: &CudaStorage,
        _: &Layout,
    ) -> candle_core::Result<(CudaStorage, Shape)> {
        self.output.storage_for(NAME)
    }
    fn metal_fwd(
        &self,
        _: &MetalStorage,
        _: &Layout,
        _: &MetalStorage,
        _: &Layout,
    ) -> candle_core::Result<(MetalStorage, Shape)> {
        self.output.storage_for(NAME)
    }
    fn bwd(
        &self,
        x: &Tensor,
        taps: &Tensor,
        _: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let dx = self.backward(x, grad)?;
        // The taps need a gradient to run their backward; its value is unused.
        Ok((dx, Some(taps.zeros_like()?)))
    }
}

/// A parameter's tap: forward a scalar zero, backward the gradient the block op stashed.
struct Tap {
    stash: Stash,
    zero: Precomputed,
}

impl CustomOp1 for Tap {
    fn name(&self) -> &'static str {
        "checkpoint-tap"
    }
    fn cpu_fwd(&self, _: &CpuStorage, _: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        self.zero.storage_for(NAME)
    }
    fn cuda_fwd(&self, _: &CudaStorage, _: &Layout) -> candle_core::Result<(CudaStorage, Shape)> {
        self.zero.storage_for(NAME)
    }
    fn metal_fwd(
        &self,
        _: &MetalStorage,
        _: &Layout,
    ) -> candle_core::Result<(MetalStorage, Shape)> {
        self.zero.storage_for(NAME)
    }
    fn bwd(&self, p: &Tensor, _: &Tensor, _: &Tensor) -> candle_core::Result<Option<Tensor>> {
        Ok(locked(&self.stash)?.remove(&p.id()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::dropout::{dropout, with_seed};
    use candle_core::Device;

    fn var(v: &[f32], shape: (usize, usize)) -> Result<Var> {
        Ok(Var::from_tensor(&Tensor::from_slice(
            v,
            shape,
            &Device::Cpu,
        )?)?)
    }

    /// A small block with a parameter used twice, a frozen tensor, dropout and a residual.
    fn block(w: Tensor, frozen: Tensor) -> BlockFn {
        Arc::new(move |x: &Tensor| -> Result<Tensor> {
            let h = x.matmul(&w)?.tanh()?;
            let h = dropout(&h, 0.5)?;
            let h = (h.matmul(&frozen)? + h.matmul(&w)?)?;
            Ok((x + h)?)
        })
    }

    type Grads = Vec<Vec<Vec<f32>>>;

    /// Three blocks, each with its own weight (as transformer layers have).
    fn grads_of(checkpointed: bool) -> Result<(f32, Grads)> {
        let x = var(&[0.1, -0.2, 0.3, 0.4, 0.5, -0.6], (3, 2))?;
        let ws = [
            var(&[0.7, -0.1, 0.2, 0.9], (2, 2))?,
            var(&[0.3, 0.5, -0.4, 0.8], (2, 2))?,
            var(&[-0.6, 0.2, 0.1, 0.7], (2, 2))?,
        ];
        let frozen = Tensor::new(&[[1f32, 2.], [3., 4.]], &Device::Cpu)?;
        let loss = with_seed(9, || -> Result<Tensor> {
            let mut h = x.as_tensor().clone();
            for w in &ws {
                let f = block(w.as_tensor().clone(), frozen.clone());
                h = if checkpointed {
                    checkpoint(&h, &[w.as_tensor().clone()], f)?
                } else {
                    f(&h)?
                };
            }
            Ok(h.sqr()?.sum_all()?)
        })?;
        let g = loss.backward()?;
        let get = |v: &Var| g.get(v.as_tensor()).expect("a gradient").to_vec2::<f32>();
        let mut grads = vec![get(&x)?];
        for w in &ws {
            grads.push(get(w)?);
        }
        Ok((loss.to_scalar::<f32>()?, grads))
    }

    #[test]
    fn checkpointed_blocks_give_the_same_loss_and_gradients_as_plain_ones() -> Result<()> {
        let plain = grads_of(false)?;
        let checkpointed = grads_of(true)?;
        assert_eq!(plain, checkpointed);
        Ok(())
    }

    #[test]
    fn a_block_with_nothing_to_train_runs_plainly() -> Result<()> {
        let x = Tensor::new(&[[1f32, 2.]], &Device::Cpu)?;
        let f: BlockFn = Arc::new(|x: &Tensor| Ok((x * 2.0)?));
        let y = checkpoint(&x, &[], f)?;
        assert_eq!(y.to_vec2::<f32>()?, vec![vec![2., 4.]]);
        Ok(())
    }
}
