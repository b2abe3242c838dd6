//! Learning-rate schedules: linear warmup, then constant, linear or cosine decay.
//!
//! The schedule is a pure function of the optimiser step, so a resumed run needs only the step to
//! continue it exactly. Step `s` (0-based) is the update being taken; warmup reaches the peak on its
//! last step (`(s + 1) / warmup`) rather than wasting the very first update at a rate of zero.

use serde::{Deserialize, Serialize};

/// How the rate falls after warmup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decay {
    /// Stay at the peak.
    Constant,
    /// Fall in a straight line to zero at the last step.
    #[default]
    Linear,
    /// Follow half a cosine down to zero at the last step.
    Cosine,
}

/// A warmup + decay schedule over a known number of steps.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// The rate reached at the end of warmup.
    pub peak_lr: f64,
    /// Steps of linear warmup.
    pub warmup_steps: usize,
    /// All optimiser steps of the run.
    pub total_steps: usize,
    /// The decay after warmup.
    pub decay: Decay,
}

impl Schedule {
    /// A schedule whose warmup is `warmup_ratio` of `total_steps` (rounded up, as the Hugging Face
    /// trainer does).
    pub fn with_warmup_ratio(
        peak_lr: f64,
        warmup_ratio: f64,
        total_steps: usize,
        decay: Decay,
    ) -> Self {
        let warmup_steps = (warmup_ratio.clamp(0.0, 1.0) * total_steps as f64).ceil() as usize;
        Schedule {
            peak_lr,
            warmup_steps,
            total_steps,
            decay,
        }
    }

    /// The learning rate for optimiser step `step` (0-based).
    pub fn lr_at(&self, step: usize) -> f64 {
        if step < self.warmup_steps {
            return self.peak_lr * (step + 1) as f64 / self.warmup_steps as f64;
        }
        let span = self.total_steps.saturating_sub(self.warmup_steps).max(1) as f64;
        let progress = ((step - self.warmup_steps) as f64 / span).min(1.0);
        match self.decay {
            Decay::Constant => self.peak_lr,
            Decay::Linear => self.peak_lr * (1.0 - progress),
            Decay::Cosine => self.peak_lr * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }

    #[test]
    fn warmup_climbs_linearly_to_the_peak() {
        let s = Schedule {
            peak_lr: 1e-3,
            warmup_steps: 4,
            total_steps: 20,
            decay: Decay::Linear,
        };
        close(s.lr_at(0), 2.5e-4);
        close(s.lr_at(1), 5e-4);
        close(s.lr_at(3), 1e-3);
    }

    #[test]
    fn linear_decay_falls_to_zero_at_the_end() {
        let s = Schedule {
            peak_lr: 1e-3,
            warmup_steps: 4,
            total_steps: 20,
            decay: Decay::Linear,
        };
        close(s.lr_at(4), 1e-3);
        close(s.lr_at(12), 5e-4);
        close(s.lr_at(19), 1e-3 * (1.0 - 15.0 / 16.0));
        close(s.lr_at(20), 0.0);
        close(s.lr_at(500), 0.0);
    }

    #[test]
    fn cosine_decay_is_half_way_at_the_middle() {
        let s = Schedule {
            peak_lr: 2e-4,
            warmup_steps: 0,
            total_steps: 100,
            decay: Decay::Cosine,
        };
        close(s.lr_at(0), 2e-4);
        close(s.lr_at(50), 1e-4);
        close(
            s.lr_at(25),
            2e-4 * 0.5 * (1.0 + (std::f64::consts::PI / 4.0).cos()),
        );
        close(s.lr_at(100), 0.0);
    }

    #[test]
    fn a_constant_schedule_keeps_the_peak_after_warmup() {
        let s = Schedule::with_warmup_ratio(1e-2, 0.1, 50, Decay::Constant);
        assert_eq!(s.warmup_steps, 5);
        close(s.lr_at(2), 6e-3);
        close(s.lr_at(40), 1e-2);
    }

    #[test]
    fn warmup_ratio_rounds_up_and_zero_warmup_starts_at_the_peak() {
        assert_eq!(
            Schedule::with_warmup_ratio(1.0, 0.1, 11, Decay::Linear).warmup_steps,
            2
        );
        close(
            Schedule::with_warmup_ratio(1.0, 0.0, 10, Decay::Linear).lr_at(0),
            1.0,
        );
    }
}
