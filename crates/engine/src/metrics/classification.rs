//! Classification metrics: accuracy, per-class and macro precision/recall/F1, the confusion matrix
//! and the examples the model got most wrong.
//!
//! Conventions follow scikit-learn (`classification_report`, `zero_division=0`): a class never
//! predicted has precision 0; macro averages weigh every class equally, including rare ones, which
//! is what a user with an unbalanced spreadsheet needs to see.

use serde::{Deserialize, Serialize};

/// Precision, recall and F1 of one class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ClassScores {
    /// The class's label as in the data.
    pub label: String,
    /// Of the examples predicted as this class, the fraction that are.
    pub precision: f64,
    /// Of the examples of this class, the fraction predicted as it.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// Examples of this class.
    pub support: usize,
}

/// An example the model got wrong, with how sure it was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct WorstExample {
    /// Position in the evaluated examples.
    pub index: usize,
    /// The example's text, when known.
    pub text: Option<String>,
    /// The true label.
    pub label: String,
    /// The predicted label.
    pub predicted: String,
    /// The probability the model gave its (wrong) prediction.
    pub confidence: f64,
    /// The probability the model gave the true label.
    pub true_probability: f64,
}

/// Everything the evaluation pane shows for a classifier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ClassificationReport {
    /// Examples evaluated.
    pub rows: usize,
    /// Fraction predicted correctly.
    pub accuracy: f64,
    /// Unweighted mean of per-class precision.
    pub macro_precision: f64,
    /// Unweighted mean of per-class recall.
    pub macro_recall: f64,
    /// Unweighted mean of per-class F1.
    pub macro_f1: f64,
    /// Mean cross-entropy of the true labels.
    pub loss: f64,
    /// Per-class scores, in label order.
    pub per_class: Vec<ClassScores>,
    /// `confusion[true][predicted]` counts, rows and columns in label order.
    pub confusion: Vec<Vec<usize>>,
    /// The labels, in the order of the matrix.
    pub labels: Vec<String>,
    /// The wrong predictions the model was surest of, worst first.
    pub worst: Vec<WorstExample>,
}

/// Builds the report from the true class of each example and the model's class probabilities.
///
/// `probs[i]` has one entry per label; `texts` (optional) names the examples in `worst`.
pub fn classification_report(
    labels: &[String],
    truth: &[usize],
    probs: &[Vec<f32>],
    texts: Option<&[String]>,
    worst_k: usize,
) -> ClassificationReport {
    let k = labels.len();
    let mut confusion = vec![vec![0usize; k]; k];
    let mut loss = 0f64;
    let mut wrong: Vec<WorstExample> = vec![];
    for (i, (&t, p)) in truth.iter().zip(probs).enumerate() {
        let pred = argmax(p);
        if t < k && pred < k {
            confusion[t][pred] += 1;
        }
        let pt = p.get(t).copied().unwrap_or(0.0) as f64;
        loss -= pt.max(1e-12).ln();
        if pred != t {
            wrong.push(WorstExample {
                index: i,
                text: texts.and_then(|ts| ts.get(i).cloned()),
                label: labels.get(t).cloned().unwrap_or_default(),
                predicted: labels.get(pred).cloned().unwrap_or_default(),
                confidence: p.get(pred).copied().unwrap_or(0.0) as f64,
                true_probability: pt,
            });
        }
    }
    wrong.sort_by(|a, b| {
        a.true_probability
            .total_cmp(&b.true_probability)
            .then(a.index.cmp(&b.index))
    });
    wrong.truncate(worst_k);
    let rows = truth.len();
    let correct: usize = (0..k).map(|c| confusion[c][c]).sum();
    let per_class: Vec<ClassScores> = (0..k)
        .map(|c| {
            let tp = confusion[c][c] as f64;
            let predicted: usize = (0..k).map(|r| confusion[r][c]).sum();
            let support: usize = confusion[c].iter().sum();
            let precision = if predicted > 0 {
                tp / predicted as f64
            } else {
                0.0
            };
            let recall = if support > 0 {
                tp / support as f64
            } else {
                0.0
            };
            let f1 = if precision + recall > 0.0 {
                2.0 * precision * recall / (precision + recall)
            } else {
                0.0
            };
            ClassScores {
                label: labels[c].clone(),
                precision,
                recall,
                f1,
                support,
            }
        })
        .collect();
    let mean = |f: fn(&ClassScores) -> f64| {
        if k > 0 {
            per_class.iter().map(f).sum::<f64>() / k as f64
        } else {
            0.0
        }
    };
    ClassificationReport {
        rows,
        accuracy: if rows > 0 {
            correct as f64 / rows as f64
        } else {
            0.0
        },
        macro_precision: mean(|c| c.precision),
        macro_recall: mean(|c| c.recall),
        macro_f1: mean(|c| c.f1),
        loss: if rows > 0 { loss / rows as f64 } else { 0.0 },
        per_class,
        confusion,
        labels: labels.to_vec(),
        worst: wrong,
    }
}

/// The index of the largest value (the first on ties).
pub fn argmax(p: &[f32]) -> usize {
    let mut best = 0;
    for (i, v) in p.iter().enumerate() {
        if *v > p[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_hot(c: usize, k: usize, conf: f32) -> Vec<f32> {
        (0..k)
            .map(|i| {
                if i == c {
                    conf
                } else {
                    (1.0 - conf) / (k - 1) as f32
                }
            })
            .collect()
    }

    /// scikit-learn on y_true [0,0,0,1,1,2], y_pred [0,0,1,1,2,2]:
    /// precision [1, .5, .5], recall [2/3, .5, 1], f1 [.8, .5, 2/3], accuracy 4/6.
    #[test]
    fn scores_match_scikit_learn_on_a_small_case() {
        let labels: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let truth = [0, 0, 0, 1, 1, 2];
        let pred = [0, 0, 1, 1, 2, 2];
        let probs: Vec<Vec<f32>> = pred.iter().map(|&p| one_hot(p, 3, 0.8)).collect();
        let r = classification_report(&labels, &truth, &probs, None, 10);
        assert!((r.accuracy - 4.0 / 6.0).abs() < 1e-12);
        let p: Vec<f64> = r.per_class.iter().map(|c| c.precision).collect();
        let f: Vec<f64> = r.per_class.iter().map(|c| c.f1).collect();
        assert_eq!(p, vec![1.0, 0.5, 0.5]);
        assert!(
            (f[0] - 0.8).abs() < 1e-12
                && (f[1] - 0.5).abs() < 1e-12
                && (f[2] - 2.0 / 3.0).abs() < 1e-12
        );
        assert!((r.macro_f1 - (0.8 + 0.5 + 2.0 / 3.0) / 3.0).abs() < 1e-12);
        assert_eq!(
            r.confusion,
            vec![vec![2, 1, 0], vec![0, 1, 1], vec![0, 0, 1]]
        );
        assert_eq!(
            r.per_class.iter().map(|c| c.support).collect::<Vec<_>>(),
            vec![3, 2, 1]
        );
    }

    #[test]
    fn a_class_never_predicted_has_zero_precision_not_nan() {
        let labels = vec!["x".to_string(), "y".to_string()];
        let probs = vec![one_hot(0, 2, 0.9), one_hot(0, 2, 0.9)];
        let r = classification_report(&labels, &[0, 1], &probs, None, 5);
        assert_eq!(r.per_class[1].precision, 0.0);
        assert_eq!(r.per_class[1].f1, 0.0);
        assert!(r.macro_f1.is_finite());
    }

    #[test]
    fn the_worst_examples_are_the_confident_mistakes_first() {
        let labels = vec!["neg".to_string(), "pos".to_string()];
        let probs = vec![vec![0.4, 0.6], vec![0.05, 0.95], vec![0.9, 0.1]];
        let texts: Vec<String> = ["meh", "awful", "fine"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let r = classification_report(&labels, &[0, 0, 0], &probs, Some(&texts), 1);
        assert_eq!(r.worst.len(), 1);
        assert_eq!(r.worst[0].text.as_deref(), Some("awful"));
        assert_eq!(r.worst[0].predicted, "pos");
        assert!((r.worst[0].confidence - 0.95).abs() < 1e-6);
    }
}
