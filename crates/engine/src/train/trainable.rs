//! The small trait the training loop is generic over: anything that can give a loss for a batch of
//! its examples and hands over the variables that train.
//!
//! Keeping the loop ignorant of models means the same loop trains a classification head on cached
//! features, a LoRA-adapted BERT, a Llama SFT task, or a two-parameter model in a unit test.

use candle_core::{Tensor, Var};

use super::events::Metrics;
use super::rng::Rng;
use crate::Result;

/// The loss of one micro-batch.
#[derive(Debug, Clone)]
pub struct BatchLoss {
    /// The mean loss over `units` (a scalar tensor connected to the trainable variables).
    pub loss: Tensor,
    /// What the mean is over: examples for classification, labelled tokens for generation. Used to
    /// weight micro-batches so accumulation equals one large batch exactly.
    pub units: usize,
    /// Tokens processed (for tokens/s); examples when the task has no tokens.
    pub tokens: usize,
}

/// A model adapted to one training objective.
pub trait TrainTask {
    /// One training example, already tokenised or featurised.
    type Example;

    /// The trainable variables by name (only these are optimised and checkpointed).
    fn trainable(&self) -> Vec<(String, Var)>;

    /// The loss of `batch`. `rng` is the run's checkpointed generator, for tasks that sample;
    /// using it keeps resumed runs exact. Dropout needs nothing from the task: the loop runs this
    /// inside [`crate::nn::dropout::with_seed`], keyed by the run's seed and step, so models'
    /// dropout layers draw reproducible masks without a key being passed down through `forward`.
    fn loss(&mut self, batch: &[&Self::Example], rng: &mut Rng) -> Result<BatchLoss>;

    /// Validation metrics over `examples`; should include `loss`.
    fn evaluate(&mut self, examples: &[Self::Example]) -> Result<Metrics>;

    /// The example's length in tokens, for bucketing; `None` turns bucketing off.
    fn length(&self, _example: &Self::Example) -> Option<usize> {
        None
    }
}
