//! LoRA: a trainable low-rank update on top of a frozen linear layer, with PEFT's semantics.
//!
//! For a base layer `y = W x + b`, LoRA adds `scale * B (A dropout(x))` where `A` is `r x in`,
//! `B` is `out x r` and `scale = alpha / r` (or `alpha / sqrt(r)` with rsLoRA). As in PEFT, `B`
//! starts at zero so a fresh adapter leaves the model unchanged, and `A` starts Kaiming-uniform
//! with `a = sqrt(5)`, i.e. uniform in `[-1/sqrt(in), 1/sqrt(in)]`. Dropout applies to the input of
//! `A` only, and only in training, with masks from the run's seeded generator
//! ([`crate::nn::dropout`]).

use candle_core::{DType, Device, Tensor, Var};
use serde::{Deserialize, Serialize};

use crate::{EngineError, Result};

/// Which layers get LoRA and how large it is. Mirrors the fields of PEFT's `LoraConfig` that change
/// the numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoraConfig {
    /// The rank `r` of the update.
    pub r: usize,
    /// The scaling numerator: the update is multiplied by `alpha / r`.
    pub alpha: f64,
    /// Dropout probability on the adapter's input during training.
    pub dropout: f32,
    /// Module names (matched as PEFT does: equal to the module's full name or to its last
    /// dot-separated components) that get an adapter. Empty, or `all-linear`, means every linear
    /// layer of attention and MLP (never the output head).
    pub target_modules: Vec<String>,
    /// rsLoRA: scale by `alpha / sqrt(r)` instead of `alpha / r`.
    pub use_rslora: bool,
}

impl Default for LoraConfig {
    fn default() -> Self {
        Self {
            r: 8,
            alpha: 16.0,
            dropout: 0.05,
            target_modules: Vec::new(),
            use_rslora: false,
        }
    }
}

impl LoraConfig {
    /// The factor the update `B A x` is multiplied by.
    pub fn scale(&self) -> f64 {
        if self.use_rslora {
            self.alpha / (self.r as f64).sqrt()
        } else {
            self.alpha / self.r as f64
        }
    }

    /// Whether the adaptable linear layer called `module` (its full dotted name) gets an adapter.
    pub fn targets(&self, module: &str) -> bool {
        if self.target_modules.is_empty() || self.target_modules.iter().any(|t| t == "all-linear") {
            return true;
        }
        self.target_modules
            .iter()
            .any(|t| module == t || module.ends_with(&format!(".{t}")))
    }

    /// Checks the numbers make sense before any tensor is built.
    pub fn validate(&self) -> Result<()> {
        if self.r == 0 {
            return Err(EngineError::Invalid(
                "the LoRA rank must be at least 1".into(),
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(EngineError::Invalid(format!(
                "the LoRA dropout must be in [0, 1), got {}",
                self.dropout
            )));
        }
        if !self.alpha.is_finite() || self.alpha <= 0.0 {
            return Err(EngineError::Invalid(format!(
                "the LoRA alpha must be positive, got {}",
                self.alpha
            )));
        }
        Ok(())
    }
}

/// One layer's low-rank update: `scale * B (A dropout(x))`.
#[derive(Debug, Clone)]
pub struct Lora {
    a: Tensor,
    b: Tensor,
    scale: f64,
    dropout: f32,
}

impl Lora {
    /// Wraps existing `A` (`r x in`) and `B` (`out x r`) tensors; they may be `Var` tensors (trainable)
    /// or plain ones (a loaded adapter used for inference).
    pub fn new(a: Tensor, b: Tensor, scale: f64, dropout: f32) -> Result<Self> {
        let (r, _in) = a.dims2()?;
        let (_out, r2) = b.dims2()?;
        if r != r2 {
            return Err(EngineError::Invalid(format!(
                "LoRA A has rank {r} but B has rank {r2}; the adapter is inconsistent"
            )));
        }
        Ok(Self {
            a,
            b,
            scale,
            dropout,
        })
    }

    /// Fresh trainable factors as PEFT makes them: `A` Kaiming-uniform (`a = sqrt(5)`), `B` zero.
    /// Returns the layer and the two `Var`s for the caller to register.
    pub fn init(
        in_features: usize,
        out_features: usize,
        cfg: &LoraConfig,
        dtype: DType,
        device: &Device,
    ) -> Result<(Self, Var, Var)> {
        cfg.validate()?;
        let bound = 1.0 / (in_features as f64).sqrt();
        let a = Var::from_tensor(
            &Tensor::rand(-bound, bound, (cfg.r, in_features), device)?.to_dtype(dtype)?,
        )?;
        let b = Var::zeros((out_features, cfg.r), dtype, device)?;
        let lora = Self::new(
            a.as_tensor().clone(),
            b.as_tensor().clone(),
            cfg.scale(),
            cfg.dropout,
        )?;
        Ok((lora, a, b))
    }

    /// The down-projection `A` (`r x in`).
    pub fn a(&self) -> &Tensor {
        &self.a
    }

    /// The up-projection `B` (`out x r`).
    pub fn b(&self) -> &Tensor {
        &self.b
    }

    /// The factor applied to `B A x`.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// The dropout probability on the input of `A` (training only).
    pub fn dropout(&self) -> f32 {
        self.dropout
    }

    /// The rank.
    pub fn rank(&self) -> usize {
        self.a.dims()[0]
    }

    /// The update for input `x` (`[..., in]` -> `[..., out]`); dropout only when `train`.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let x = if train && self.dropout > 0.0 {
            // Masks from the run's seeded generator, so equal seeds give equal loss curves.
            crate::nn::dropout::dropout(x, self.dropout)?
        } else {
            x.clone()
        };
        let h = crate::nn::ops::matmul_t(&x, &self.a)?;
        let y = crate::nn::ops::matmul_t(&h, &self.b)?;
        Ok((y * self.scale)?)
    }

    /// The dense update `scale * B A` (`out x in`), for merging into the base weight.
    pub fn delta_weight(&self) -> Result<Tensor> {
        Ok((self.b.matmul(&self.a)? * self.scale)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_match_like_peft_by_full_name_or_suffix() {
        let cfg = LoraConfig {
            target_modules: vec!["query".into(), "mlp.up_proj".into()],
            ..Default::default()
        };
        assert!(cfg.targets("bert.encoder.layer.0.attention.self.query"));
        assert!(cfg.targets("model.layers.1.mlp.up_proj"));
        assert!(!cfg.targets("bert.encoder.layer.0.attention.self.key"));
        assert!(!cfg.targets("model.layers.1.notquery"));
        assert!(LoraConfig::default().targets("anything.dense"));
    }

    #[test]
    fn a_fresh_adapter_changes_nothing_because_b_starts_at_zero() -> Result<()> {
        let cfg = LoraConfig {
            r: 4,
            alpha: 8.0,
            dropout: 0.0,
            ..Default::default()
        };
        let (lora, a, _b) = Lora::init(6, 5, &cfg, DType::F32, &Device::Cpu)?;
        let x = Tensor::ones((2, 3, 6), DType::F32, &Device::Cpu)?;
        let y = lora.forward_t(&x, true)?;
        assert_eq!(y.dims(), &[2, 3, 5]);
        assert_eq!(y.abs()?.sum_all()?.to_scalar::<f32>()?, 0.0);
        let bound = 1.0 / 6f32.sqrt();
        let amax = a.as_tensor().abs()?.max_all()?.to_scalar::<f32>()?;
        assert!(amax <= bound && amax > 0.0);
        Ok(())
    }

    #[test]
    fn invalid_settings_are_refused_with_a_reason() {
        let cfg = LoraConfig {
            r: 0,
            ..Default::default()
        };
        assert!(cfg.validate().unwrap_err().to_string().contains("rank"));
        let cfg = LoraConfig {
            dropout: 1.5,
            ..Default::default()
        };
        assert!(cfg.validate().unwrap_err().to_string().contains("dropout"));
    }
}
