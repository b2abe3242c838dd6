//! Hyperparameter defaults by method and data size, from the fine-tuning literature.
//!
//! Full fine-tuning 2e-5 (BERT paper, HF examples), LoRA/QLoRA 2e-4 (QLoRA paper, PEFT examples),
//! a head on frozen features 1e-3; batch 16; weight decay 0.01; warmup 10 %. Epochs fall as the data
//! grows: small sets need more passes, large ones overfit with them. Every value can be overridden.

use serde::{Deserialize, Serialize};


pub use tunesmith_vocab::Method;

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
}
