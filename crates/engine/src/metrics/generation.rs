//! Generation metrics: mean loss over response tokens and its perplexity.
//!
//! Perplexity is `exp(mean loss)` over all counted tokens together (token-weighted, as
//! `transformers`' evaluation reports it), not the mean of per-example perplexities.

use serde::{Deserialize, Serialize};

/// Loss and perplexity over a set of responses.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GenerationReport {
    /// Examples evaluated.
    pub rows: usize,
    /// Tokens that counted (response tokens).
    pub tokens: usize,
    /// Mean cross-entropy per counted token (nats).
    pub loss: f64,
    /// `exp(loss)`.
    pub perplexity: f64,
}

/// Accumulates per-batch (mean loss, token count) pairs into one token-weighted report.
#[derive(Debug, Clone, Default)]
pub struct LossAccumulator {
    sum: f64,
    tokens: usize,
    rows: usize,
}

impl LossAccumulator {
    /// Adds a batch of `rows` examples whose mean loss over `tokens` counted tokens was `mean_loss`.
    pub fn add(&mut self, mean_loss: f64, tokens: usize, rows: usize) {
        self.sum += mean_loss * tokens as f64;
        self.tokens += tokens;
        self.rows += rows;
    }

    /// The report (loss 0 and perplexity 1 when nothing counted).
    pub fn report(&self) -> GenerationReport {
        let loss = if self.tokens > 0 {
            self.sum / self.tokens as f64
        } else {
            0.0
        };
        GenerationReport {
            rows: self.rows,
            tokens: self.tokens,
            loss,
            perplexity: loss.exp(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perplexity_is_token_weighted() {
        let mut a = LossAccumulator::default();
        a.add(1.0, 10, 1);
        a.add(3.0, 30, 1);
        let r = a.report();
        assert!((r.loss - 2.5).abs() < 1e-12);
        assert!((r.perplexity - 2.5f64.exp()).abs() < 1e-9);
        assert_eq!((r.rows, r.tokens), (2, 40));
    }

    #[test]
    fn an_empty_set_has_perplexity_one() {
        assert_eq!(LossAccumulator::default().report().perplexity, 1.0);
    }
}
