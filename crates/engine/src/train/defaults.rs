//! Hyperparameter defaults by method and data size, from the fine-tuning literature.
//!
//! Full fine-tuning 2e-5 (BERT paper, HF examples), LoRA/QLoRA 2e-4 (QLoRA paper, PEFT examples),
//! a head on frozen features 1e-3; batch 16; weight decay 0.01; warmup 10 %. Epochs fall as the data
//! grows: small sets need more passes, large ones overfit with them. Every value can be overridden.

use serde::{Deserialize, Serialize};

use crate::{EngineError, Result};

/// How a model is fine-tuned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Every weight trains.
    Full,
    /// The backbone is frozen; only a head trains on its (cached) features.
    Features,
    /// Low-rank adapters on a frozen base.
    Lora,
    /// Low-rank adapters on a frozen, quantised base.
    Qlora,
}

impl Method {
    /// The method's name as the CLI spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Full => "full",
            Method::Features => "features",
            Method::Lora => "lora",
            Method::Qlora => "qlora",
        }
    }

    /// The method in plain words, as messages and READMEs name it ("full fine-tuning", "LoRA").
    pub fn in_words(self) -> &'static str {
        match self {
            Method::Full => "full fine-tuning",
            Method::Features => "feature extraction",
            Method::Lora => "LoRA",
            Method::Qlora => "QLoRA",
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Method {
    type Err = EngineError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "full" => Ok(Method::Full),
            "features" | "feature-extraction" | "head" => Ok(Method::Features),
            "lora" => Ok(Method::Lora),
            "qlora" => Ok(Method::Qlora),
            other => Err(EngineError::Invalid(format!(
                "unknown method `{other}`: choose one of full, features, lora, qlora"
            ))),
        }
    }
}

/// The defaults a run starts from before the user's overrides.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Defaults {
    /// Peak learning rate.
    pub lr: f64,
    /// Examples per optimiser step.
    pub batch_size: usize,
    /// Decoupled weight decay.
    pub weight_decay: f64,
    /// Fraction of steps spent warming up.
    pub warmup_ratio: f64,
    /// Passes over the training examples.
    pub epochs: usize,
}

/// The learning rate the literature recommends for `method`.
pub fn default_lr(method: Method) -> f64 {
    match method {
        Method::Full => 2e-5,
        Method::Lora | Method::Qlora => 2e-4,
        Method::Features => 1e-3,
    }
}

/// Epochs for a training set of `rows` examples (a head on cached features is cheap and needs more).
pub fn default_epochs(method: Method, rows: usize) -> usize {
    let base = match rows {
        0..=500 => 10,
        501..=2_000 => 5,
        2_001..=10_000 => 3,
        _ => 2,
    };
    if method == Method::Features {
        base * 4
    } else {
        base
    }
}

/// The defaults for `method` on `rows` training examples.
pub fn defaults(method: Method, rows: usize) -> Defaults {
    Defaults {
        lr: default_lr(method),
        batch_size: 16,
        weight_decay: 0.01,
        warmup_ratio: 0.1,
        epochs: default_epochs(method, rows),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learning_rates_follow_the_method() {
        assert_eq!(defaults(Method::Full, 100).lr, 2e-5);
        assert_eq!(defaults(Method::Lora, 100).lr, 2e-4);
        assert_eq!(defaults(Method::Qlora, 100).lr, 2e-4);
        assert_eq!(defaults(Method::Features, 100).lr, 1e-3);
        let d = defaults(Method::Full, 100);
        assert_eq!(
            (d.batch_size, d.weight_decay, d.warmup_ratio),
            (16, 0.01, 0.1)
        );
    }

    #[test]
    fn epochs_fall_as_the_data_grows() {
        let e: Vec<usize> = [100, 1_500, 5_000, 50_000]
            .iter()
            .map(|&n| default_epochs(Method::Lora, n))
            .collect();
        assert!(e.windows(2).all(|w| w[0] > w[1]), "{e:?}");
    }

    #[test]
    fn method_names_parse_and_an_unknown_one_is_explained() {
        assert_eq!("QLoRA".parse::<Method>().unwrap(), Method::Qlora);
        assert_eq!(Method::Features.to_string(), "features");
        let err = "adapter".parse::<Method>().unwrap_err().to_string();
        assert!(err.contains("full, features, lora, qlora"), "{err}");
    }
}
