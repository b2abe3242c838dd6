//! Early stopping: watch one validation metric, remember the best value, and stop after `patience`
//! evaluations without improvement. Evaluations before `min_steps` are reported but neither kept as
//! the best nor counted against patience (a small set's facts are not learned yet then).

use serde::{Deserialize, Serialize};

use super::events::Metrics;

/// Which metric to watch and how long to wait.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EarlyStopping {
    /// The validation metric (`loss`, `accuracy`, ...).
    pub metric: String,
    /// Whether larger is better (accuracy) or smaller (loss).
    pub higher_is_better: bool,
    /// Evaluations without improvement before stopping; `None` never stops early (the best
    /// weights are still kept).
    pub patience: Option<usize>,
    /// Improvements smaller than this do not count.
    pub min_delta: f64,
    /// Evaluations before this optimiser step neither become the best nor count against
    /// patience: the run cannot stop, or keep weights from, before it.
    #[serde(default)]
    pub min_steps: usize,
}

impl Default for EarlyStopping {
    fn default() -> Self {
        EarlyStopping {
            metric: "loss".into(),
            higher_is_better: false,
            patience: Some(3),
            min_delta: 0.0,
            min_steps: 0,
        }
    }
}

/// The record early stopping keeps (saved in checkpoints).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Best value so far and its step.
    pub best: Option<(f64, usize)>,
    /// The metrics of the best evaluation.
    pub best_metrics: Metrics,
    /// Evaluations since the last improvement.
    pub bad_evals: usize,
}

/// What an evaluation means for the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// This evaluation is the best so far.
    pub improved: bool,
    /// Patience is exhausted.
    pub stop: bool,
}

impl EarlyStopping {
    /// Updates `record` with the metrics of an evaluation at `step`. A missing or non-finite metric
    /// never counts as an improvement.
    pub fn observe(&self, record: &mut Record, metrics: &Metrics, step: usize) -> Verdict {
        if step < self.min_steps {
            return Verdict {
                improved: false,
                stop: false,
            };
        }
        let value = metrics.get(&self.metric).copied().filter(|v| v.is_finite());
        let improved = match (value, record.best) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(v), Some((b, _))) => {
                if self.higher_is_better {
                    v > b + self.min_delta
                } else {
                    v < b - self.min_delta
                }
            }
        };
        if improved {
            record.best = value.map(|v| (v, step));
            record.best_metrics = metrics.clone();
            record.bad_evals = 0;
        } else {
            record.bad_evals += 1;
        }
        let stop = self.patience.is_some_and(|p| record.bad_evals >= p);
        Verdict { improved, stop }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(v: f64) -> Metrics {
        Metrics::from([("loss".to_string(), v)])
    }

    #[test]
    fn patience_runs_out_after_evaluations_without_improvement() {
        let es = EarlyStopping {
            patience: Some(2),
            ..Default::default()
        };
        let mut r = Record::default();
        assert!(es.observe(&mut r, &m(1.0), 1).improved);
        assert!(es.observe(&mut r, &m(0.8), 2).improved);
        let v = es.observe(&mut r, &m(0.9), 3);
        assert!(!v.improved && !v.stop);
        assert!(es.observe(&mut r, &m(0.85), 4).stop);
        assert_eq!(r.best, Some((0.8, 2)));
    }

    #[test]
    fn higher_is_better_for_accuracy() {
        let es = EarlyStopping {
            metric: "accuracy".into(),
            higher_is_better: true,
            patience: None,
            min_delta: 0.0,
            min_steps: 0,
        };
        let mut r = Record::default();
        es.observe(&mut r, &Metrics::from([("accuracy".into(), 0.7)]), 1);
        assert!(
            es.observe(&mut r, &Metrics::from([("accuracy".into(), 0.8)]), 2)
                .improved
        );
        assert!(
            !es.observe(&mut r, &Metrics::from([("accuracy".into(), 0.1)]), 3)
                .stop,
            "no patience, no stop"
        );
    }

    #[test]
    fn evaluations_before_the_minimum_steps_neither_count_as_best_nor_stop_the_run() {
        let es = EarlyStopping {
            patience: Some(1),
            min_steps: 10,
            ..Default::default()
        };
        let mut r = Record::default();
        let early = es.observe(&mut r, &m(0.5), 4);
        assert!(!early.improved && !early.stop);
        let worse_early = es.observe(&mut r, &m(0.9), 8);
        assert!(!worse_early.stop, "no stop before step 10");
        assert_eq!(r.best, None, "nothing from before step 10 is kept");
        assert!(es.observe(&mut r, &m(0.7), 10).improved);
        assert!(es.observe(&mut r, &m(0.8), 12).stop);
        assert_eq!(r.best, Some((0.7, 10)));
    }

    #[test]
    fn a_nan_metric_is_never_best() {
        let es = EarlyStopping::default();
        let mut r = Record::default();
        assert!(!es.observe(&mut r, &m(f64::NAN), 1).improved);
        assert_eq!(r.best, None);
    }
}
