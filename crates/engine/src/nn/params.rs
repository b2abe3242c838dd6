//! Where each parameter of a model comes from: the frozen checkpoint or the trainable `VarMap`.
//!
//! A model's `load` walks its module tree with a [`Params`] (like candle's `VarBuilder`, whose
//! `pp` it mirrors) and asks for weights by the checkpoint's own names. The [`Backbone`] policy
//! decides what trains:
//!
//! - `Frozen`: every checkpoint tensor is loaded detached (feature extraction, inference).
//! - `Full`: every checkpoint tensor becomes a `Var` in the trainable `VarMap`, under its own name,
//!   so saving the `VarMap` gives a checkpoint with the original names.
//! - `Lora`: checkpoint tensors stay frozen; every targeted linear layer gets LoRA factors, registered
//!   in the `VarMap` as `<module>.lora_A.weight` / `<module>.lora_B.weight` (PEFT's names less the
//!   `base_model.model.` prefix), initialised fresh or from a loaded adapter.
//!
//! Heads (classifiers) are always trainable and come from [`Params::head`]. A missing tensor or a
//! wrong shape is an [`EngineError`] naming the file and the tensor.
//!
//! Fresh parameters (new heads, LoRA `A` factors) are drawn from a generator seeded by the view's
//! seed ([`Params::with_seed`], 0 unless set) and the parameter's full name, never from candle's
//! unseeded device generator: the same seed gives the same initial weights whatever the load order,
//! so two runs with the same seed take the same steps.
//!
//! Mixed precision: frozen tensors come in the view's compute dtype (bf16 under `--precision
//! bf16`), but a trainable `Var` is never half precision: under a bf16 or f16 compute dtype it is
//! f32, the optimiser's master copy ([`Params::master_dtype`]). Modules cast a weight to their
//! input's dtype where they use it (a differentiable `to_dtype`, whose backward hands the gradient
//! back in f32), so an f32 (or f64) run casts nothing.

use std::collections::HashMap;
use std::sync::Arc;

use candle_core::{DType, Device, Shape, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};

use crate::adapters::lora::{Lora, LoraConfig};
use crate::nn::linear::{DenseBase, Linear, LinearBase};
use crate::train::Rng;
use crate::{EngineError, Result};

/// What of the backbone trains.
#[derive(Debug, Clone, Default)]
pub enum Backbone {
    /// Nothing: the checkpoint is loaded frozen.
    #[default]
    Frozen,
    /// Every weight.
    Full,
    /// LoRA on the targeted linear layers; the rest frozen.
    Lora(LoraSetup),
}

/// A LoRA configuration and, optionally, the factors of an existing adapter to start from, keyed by
/// module path (`<module>` -> (`A`, `B`)).
#[derive(Debug, Clone, Default)]
pub struct LoraSetup {
    /// Rank, alpha, dropout, targets.
    pub config: LoraConfig,
    /// Existing factors by module path; a targeted module absent here starts fresh.
    pub initial: HashMap<String, (Tensor, Tensor)>,
}

/// A view of a checkpoint at one module path, plus the trainable `VarMap` and the policy.
#[derive(Clone)]
pub struct Params {
    vb: VarBuilder<'static>,
    path: Vec<String>,
    trainable: VarMap,
    backbone: Arc<Backbone>,
    origin: Arc<Origin>,
    overrides: Arc<HashMap<String, Tensor>>,
    seed: u64,
}

/// Names the file a tensor came from, for error messages.
#[derive(Debug, Default)]
pub struct Origin {
    /// Tensor name -> file (for sharded checkpoints).
    pub files: HashMap<String, String>,
    /// What to name when a tensor has no entry (the folder or the single file).
    pub default: String,
}

impl Origin {
    /// The file holding `tensor`, or the default label.
    pub fn file_of(&self, tensor: &str) -> String {
        self.files
            .get(tensor)
            .cloned()
            .unwrap_or_else(|| self.default.clone())
    }
}

impl Params {
    /// A view at the root of `vb` (the checkpoint's tensors), adding trainable parameters to
    /// `trainable` as `backbone` decides. `origin` names files in errors.
    pub fn new(
        vb: VarBuilder<'static>,
        trainable: VarMap,
        backbone: Backbone,
        origin: Origin,
    ) -> Self {
        Self {
            vb,
            path: Vec::new(),
            trainable,
            backbone: Arc::new(backbone),
            origin: Arc::new(origin),
            overrides: Arc::new(HashMap::new()),
            seed: 0,
        }
    }

    /// The same view drawing fresh parameters (heads, LoRA factors) from `seed` (a run's seed).
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The seed fresh parameters are drawn from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// A fresh tensor for the parameter called `name`, drawn as `init` says from a generator
    /// seeded by this view's seed and `name` (so it does not depend on the order of loading).
    pub fn init_tensor(&self, name: &str, shape: &Shape, init: candle_nn::Init) -> Result<Tensor> {
        use candle_nn::init::NormalOrUniform;
        use candle_nn::Init;
        // FNV-1a of the name: a stable per-parameter stream.
        let purpose = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
        });
        let mut rng = Rng::derived(self.seed, purpose);
        let n = shape.elem_count();
        let uniform = |rng: &mut Rng, lo: f64, up: f64| -> Vec<f32> {
            (0..n)
                .map(|_| (lo + (up - lo) * rng.next_f64()) as f32)
                .collect()
        };
        let normal = |rng: &mut Rng, mean: f64, stdev: f64| -> Vec<f32> {
            (0..n)
                .map(|_| {
                    // Box-Muller; 1 - u keeps the logarithm finite.
                    let (u, v) = (1.0 - rng.next_f64(), rng.next_f64());
                    let z = (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos();
                    (mean + stdev * z) as f32
                })
                .collect()
        };
        let values = match init {
            Init::Const(c) => vec![c as f32; n],
            Init::Uniform { lo, up } => uniform(&mut rng, lo, up),
            Init::Randn { mean, stdev } => normal(&mut rng, mean, stdev),
            Init::Kaiming {
                dist,
                fan,
                non_linearity,
            } => {
                let std = non_linearity.gain() / (fan.for_shape(shape) as f64).sqrt();
                match dist {
                    NormalOrUniform::Uniform => {
                        let bound = 3f64.sqrt() * std;
                        uniform(&mut rng, -bound, bound)
                    }
                    NormalOrUniform::Normal => normal(&mut rng, 0.0, std),
                }
            }
        };
        // Trainable, hence in the master dtype (f32 under mixed precision).
        Ok(Tensor::from_vec(values, shape.clone(), &Device::Cpu)?
            .to_dtype(self.master_dtype())?
            .to_device(self.device())?)
    }

    /// The same view with `tensors` (full names) taking precedence over the checkpoint's, e.g. the
    /// heads a PEFT adapter saved in full (`modules_to_save`).
    pub fn with_overrides(mut self, tensors: HashMap<String, Tensor>) -> Self {
        self.overrides = Arc::new(tensors);
        self
    }

    /// The view one module deeper (`pp("encoder")`).
    pub fn pp(&self, name: impl ToString) -> Self {
        let mut p = self.clone();
        p.path.push(name.to_string());
        p
    }

    /// The full dotted name of `leaf` under this view (or of this module when `leaf` is empty).
    pub fn name(&self, leaf: &str) -> String {
        let mut parts: Vec<&str> = self.path.iter().map(String::as_str).collect();
        if !leaf.is_empty() {
            parts.push(leaf);
        }
        parts.join(".")
    }

    /// The module path of this view.
    pub fn path(&self) -> String {
        self.name("")
    }

    /// The compute device.
    pub fn device(&self) -> &Device {
        self.vb.device()
    }

    /// The compute dtype.
    pub fn dtype(&self) -> DType {
        self.vb.dtype()
    }

    /// The dtype of trainable parameters: f32 master copies when the compute dtype is half
    /// precision (bf16, f16), the compute dtype otherwise (f32, or f64 for gradient checks).
    pub fn master_dtype(&self) -> DType {
        match self.dtype() {
            DType::BF16 | DType::F16 => DType::F32,
            other => other,
        }
    }

    /// The trainable variables.
    pub fn trainable(&self) -> &VarMap {
        &self.trainable
    }

    /// The policy.
    pub fn backbone(&self) -> &Backbone {
        &self.backbone
    }

    /// Whether the checkpoint has `leaf` under this view.
    pub fn contains(&self, leaf: &str) -> bool {
        let name = self.name(leaf);
        self.overrides.contains_key(&name) || self.vb.contains_tensor(&name)
    }

    fn fetch(&self, name: &str) -> Result<Option<Tensor>> {
        if let Some(t) = self.overrides.get(name) {
            return Ok(Some(t.to_dtype(self.dtype())?.to_device(self.device())?));
        }
        if !self.vb.contains_tensor(name) {
            return Ok(None);
        }
        Ok(Some(self.vb.get_unchecked(name)?))
    }

    /// The shape of checkpoint tensor `leaf`, if present.
    pub fn dims(&self, leaf: &str) -> Option<Vec<usize>> {
        self.fetch(&self.name(leaf))
            .ok()
            .flatten()
            .map(|t| t.dims().to_vec())
    }

    /// Checkpoint tensor `leaf`, checked against `shape`, always frozen.
    pub fn frozen(&self, leaf: &str, shape: impl Into<Shape>) -> Result<Tensor> {
        let name = self.name(leaf);
        let Some(t) = self.fetch(&name)? else {
            return Err(EngineError::MissingTensor {
                file: self.origin.file_of(&name),
                tensor: name,
            });
        };
        let shape: Shape = shape.into();
        if t.dims() != shape.dims() {
            return Err(EngineError::TensorShape {
                file: self.origin.file_of(&name),
                tensor: name,
                expected: shape.dims().to_vec(),
                found: t.dims().to_vec(),
            });
        }
        Ok(t.detach())
    }

    /// Checkpoint tensor `leaf` (a norm weight, an embedding ...): trainable under `Full`,
    /// frozen otherwise.
    pub fn weight(&self, leaf: &str, shape: impl Into<Shape>) -> Result<Tensor> {
        let t = self.frozen(leaf, shape)?;
        match &*self.backbone {
            Backbone::Full => self.register(&self.name(leaf), &t),
            _ => Ok(t),
        }
    }

    /// The linear layer at this view's path (`weight` `out x in`, optional `bias`), trainable or
    /// frozen by the policy, with LoRA when the policy targets it.
    pub fn linear(&self, in_features: usize, out_features: usize, bias: bool) -> Result<Linear> {
        let w = self.weight("weight", (out_features, in_features))?;
        let b = if bias {
            Some(self.weight("bias", out_features)?)
        } else {
            None
        };
        self.adapt(Arc::new(DenseBase::new(w, b)?))
    }

    /// Wraps a base built elsewhere (e.g. a quantised one) as the linear layer at this view's path,
    /// adding LoRA when the policy targets it.
    pub fn adapt(&self, base: Arc<dyn LinearBase>) -> Result<Linear> {
        let module = self.path();
        let lora = match &*self.backbone {
            Backbone::Lora(setup) if setup.config.targets(&module) => {
                Some(self.lora_for(&module, setup, base.in_features(), base.out_features())?)
            }
            _ => None,
        };
        Linear::new(module, base, lora)
    }

    /// A head parameter `leaf` (always trainable): from the checkpoint when it has one of the right
    /// shape, otherwise initialised with `init`.
    pub fn head(
        &self,
        leaf: &str,
        shape: impl Into<Shape>,
        init: candle_nn::Init,
    ) -> Result<Tensor> {
        let shape: Shape = shape.into();
        let name = self.name(leaf);
        if self.contains(leaf) {
            let t = self.frozen(leaf, shape)?;
            return self.register(&name, &t);
        }
        let v = Var::from_tensor(&self.init_tensor(&name, &shape, init)?)?;
        self.insert(&name, v)
    }

    /// A fresh trainable parameter `leaf`, drawn with `init` from this view's seed even when the
    /// checkpoint has one (a head of the wrong size that is replaced).
    pub fn fresh(
        &self,
        leaf: &str,
        shape: impl Into<Shape>,
        init: candle_nn::Init,
    ) -> Result<Tensor> {
        let name = self.name(leaf);
        let v = Var::from_tensor(&self.init_tensor(&name, &shape.into(), init)?)?;
        self.insert(&name, v)
    }

    /// A head linear layer at this view's path (always trainable, never LoRA): loaded when the
    /// checkpoint has it, else PyTorch's default init (normal with std 0.02 as transformers does for
    /// heads, zero bias).
    pub fn head_linear(&self, in_features: usize, out_features: usize) -> Result<Linear> {
        let w = self.head(
            "weight",
            (out_features, in_features),
            candle_nn::Init::Randn {
                mean: 0.0,
                stdev: 0.02,
            },
        )?;
        let b = self.head("bias", out_features, candle_nn::Init::Const(0.0))?;
        Linear::dense(self.path(), w, Some(b))
    }

    fn lora_for(&self, module: &str, setup: &LoraSetup, in_f: usize, out_f: usize) -> Result<Lora> {
        let cfg = &setup.config;
        let (a_name, b_name) = (
            format!("{module}.lora_A.weight"),
            format!("{module}.lora_B.weight"),
        );
        let (a, b) = match setup.initial.get(module) {
            Some((a, b)) => {
                if a.dims() != [cfg.r, in_f] || b.dims() != [out_f, cfg.r] {
                    return Err(EngineError::TensorShape {
                        file: "the adapter".into(),
                        tensor: a_name,
                        expected: vec![cfg.r, in_f, out_f, cfg.r],
                        found: [a.dims(), b.dims()].concat(),
                    });
                }
                let a = self.register(&a_name, &a.to_device(self.device())?)?;
                let b = self.register(&b_name, &b.to_device(self.device())?)?;
                (a, b)
            }
            None => {
                // PEFT's init (see `Lora::init`): A Kaiming-uniform with a = sqrt(5), i.e. uniform
                // in [-1/sqrt(in), 1/sqrt(in)]; B zero. Drawn from the seeded generator.
                cfg.validate()?;
                let bound = 1.0 / (in_f as f64).sqrt();
                let a = self.init_tensor(
                    &a_name,
                    &Shape::from((cfg.r, in_f)),
                    candle_nn::Init::Uniform {
                        lo: -bound,
                        up: bound,
                    },
                )?;
                let b = Var::zeros((out_f, cfg.r), self.master_dtype(), self.device())?;
                (self.register(&a_name, &a)?, self.insert(&b_name, b)?)
            }
        };
        Lora::new(a, b, cfg.scale(), cfg.dropout)
    }

    /// Puts a copy of `t` in the master dtype into the trainable map as a new `Var` named `name`.
    fn register(&self, name: &str, t: &Tensor) -> Result<Tensor> {
        self.insert(name, Var::from_tensor(&t.to_dtype(self.master_dtype())?)?)
    }

    fn insert(&self, name: &str, v: Var) -> Result<Tensor> {
        let mut data = self.trainable.data().lock().map_err(|_| {
            EngineError::Invalid("the trainable parameter map was poisoned by a panic".into())
        })?;
        if let Some(existing) = data.get(name) {
            // Loading the same module twice (tied weights) shares one variable.
            if existing.dims() == v.dims() {
                return Ok(existing.as_tensor().clone());
            }
        }
        let t = v.as_tensor().clone();
        data.insert(name.to_string(), v);
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkpoint() -> VarBuilder<'static> {
        let mut m = HashMap::new();
        m.insert(
            "enc.q.weight".to_string(),
            Tensor::ones((3, 2), DType::F32, &Device::Cpu).expect("t"),
        );
        m.insert(
            "enc.q.bias".to_string(),
            Tensor::zeros(3, DType::F32, &Device::Cpu).expect("t"),
        );
        VarBuilder::from_tensors(m, DType::F32, &Device::Cpu)
    }

    fn origin() -> Origin {
        Origin {
            files: HashMap::new(),
            default: "model.safetensors".into(),
        }
    }

    #[test]
    fn frozen_loading_registers_nothing_and_full_registers_every_weight() -> Result<()> {
        let frozen = Params::new(checkpoint(), VarMap::new(), Backbone::Frozen, origin());
        frozen.pp("enc").pp("q").linear(2, 3, true)?;
        assert!(frozen.trainable().all_vars().is_empty());
        let full = Params::new(checkpoint(), VarMap::new(), Backbone::Full, origin());
        full.pp("enc").pp("q").linear(2, 3, true)?;
        assert_eq!(full.trainable().all_vars().len(), 2);
        Ok(())
    }

    #[test]
    fn lora_registers_peft_named_factors_for_targeted_layers() -> Result<()> {
        let setup = LoraSetup {
            config: LoraConfig {
                r: 2,
                target_modules: vec!["q".into()],
                ..Default::default()
            },
            ..Default::default()
        };
        let p = Params::new(checkpoint(), VarMap::new(), Backbone::Lora(setup), origin());
        let l = p.pp("enc").pp("q").linear(2, 3, true)?;
        assert!(l.lora().is_some());
        let data = p.trainable().data().lock().expect("lock");
        let mut names: Vec<_> = data.keys().cloned().collect();
        names.sort();
        assert_eq!(names, vec!["enc.q.lora_A.weight", "enc.q.lora_B.weight"]);
        Ok(())
    }

    fn lora_params(seed: u64) -> Result<Vec<Vec<f32>>> {
        let setup = LoraSetup {
            config: LoraConfig {
                r: 2,
                ..Default::default()
            },
            ..Default::default()
        };
        let p = Params::new(checkpoint(), VarMap::new(), Backbone::Lora(setup), origin())
            .with_seed(seed);
        let l = p.pp("enc").pp("q").linear(2, 3, true)?;
        let head = p.pp("cls").head(
            "weight",
            (2, 4),
            candle_nn::Init::Randn {
                mean: 0.0,
                stdev: 0.02,
            },
        )?;
        let a = l.lora().expect("lora").a().flatten_all()?.to_vec1()?;
        Ok(vec![a, head.flatten_all()?.to_vec1()?])
    }

    #[test]
    fn fresh_heads_and_lora_factors_depend_only_on_the_seed() -> Result<()> {
        let a = lora_params(42)?;
        assert_eq!(a, lora_params(42)?);
        assert_ne!(a[0], lora_params(43)?[0]);
        assert_ne!(a[1], lora_params(43)?[1]);
        let bound = 1.0 / 2f32.sqrt();
        assert!(a[0].iter().all(|v| v.abs() <= bound));
        assert!(a[1].iter().all(|v| v.abs() < 0.2) && a[1].iter().any(|v| *v != 0.0));
        Ok(())
    }

    #[test]
    fn a_missing_or_misshaped_tensor_names_file_and_tensor() {
        let p = Params::new(checkpoint(), VarMap::new(), Backbone::Frozen, origin());
        let err = p
            .pp("enc")
            .pp("k")
            .linear(2, 3, false)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("model.safetensors") && err.contains("enc.k.weight"),
            "{err}"
        );
        let err = p
            .pp("enc")
            .pp("q")
            .linear(4, 3, false)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("enc.q.weight") && err.contains("[3, 4]"),
            "{err}"
        );
    }
}
