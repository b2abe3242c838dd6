//! Honest baselines for a classifier: what a user gets without fine-tuning any language model,
//! scored on the same test rows as the fine-tuned one.
//!
//! Two, as the literature reports them next to a fine-tuned model:
//! - **always the most common label**: the training split's most frequent label for every row (its
//!   probabilities are the training label shares, so its loss is the prior's cross-entropy);
//! - **a word-count model**: TF-IDF over lower-cased words and word pairs, with a multinomial
//!   logistic regression (L2, C = 1, an unpenalised intercept, as scikit-learn's
//!   `TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)` + `LogisticRegression()` do) trained on
//!   the training rows only.
//!
//! It promises: the test rows never influence the vocabulary, the IDF weights or the regression;
//! the same inputs give the same numbers (no randomness, a fixed number of passes at most); plain
//! Rust, no tensors, so it runs in milliseconds for a few thousand rows on any machine.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::classification::{classification_report, ClassificationReport};
use crate::error::{EngineError, Result};

/// The baselines' scores on the test rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct BaselineReport {
    /// The training split's most common label (what "always guessing" guesses).
    pub majority_label: String,
    /// Always answering `majority_label`.
    pub majority: ClassificationReport,
    /// TF-IDF word counts with a logistic regression, trained on the training rows.
    pub bag_of_words: ClassificationReport,
}

/// Scores both baselines: trained on (`train_texts`, `train_truth`), evaluated on (`test_texts`,
/// `test_truth`); truths are indices into `labels`. `worst_k` as in [`classification_report`].
pub fn baseline_report(
    labels: &[String],
    train_texts: &[String],
    train_truth: &[usize],
    test_texts: &[String],
    test_truth: &[usize],
    worst_k: usize,
) -> Result<BaselineReport> {
    check(labels, train_texts, train_truth, "training")?;
    check(labels, test_texts, test_truth, "test")?;
    let majority = Majority::fit(labels.len(), train_truth);
    let words = BagOfWords::fit(labels.len(), train_texts, train_truth);
    let majority_probs: Vec<Vec<f32>> = test_texts.iter().map(|_| majority.probs.clone()).collect();
    let word_probs: Vec<Vec<f32>> = test_texts.iter().map(|t| words.probs(t)).collect();
    Ok(BaselineReport {
        majority_label: labels[majority.label].clone(),
        majority: classification_report(
            labels,
            test_truth,
            &majority_probs,
            Some(test_texts),
            worst_k,
        ),
        bag_of_words: classification_report(
            labels,
            test_truth,
            &word_probs,
            Some(test_texts),
            worst_k,
        ),
    })
}

fn check(labels: &[String], texts: &[String], truth: &[usize], split: &str) -> Result<()> {
    if labels.is_empty() {
        return Err(EngineError::Invalid(
            "a baseline needs at least one label".into(),
        ));
    }
    if texts.len() != truth.len() {
        return Err(EngineError::Invalid(format!(
            "the {split} rows have {} texts but {} labels",
            texts.len(),
            truth.len()
        )));
    }
    if split == "training" && texts.is_empty() {
        return Err(EngineError::Invalid(
            "a baseline needs training rows; the training split is empty".into(),
        ));
    }
    if let Some(&bad) = truth.iter().find(|&&t| t >= labels.len()) {
        return Err(EngineError::Invalid(format!(
            "a {split} row has label index {bad}, but there are only {} labels",
            labels.len()
        )));
    }
    Ok(())
}

/// Always the most common training label; probabilities are the training shares (add-one
/// smoothed, so a label absent from training does not make the loss infinite).
struct Majority {
    label: usize,
    probs: Vec<f32>,
}

impl Majority {
    fn fit(k: usize, truth: &[usize]) -> Self {
        let mut counts = vec![0usize; k];
        for &t in truth {
            counts[t] += 1;
        }
        // The first of equally common labels, so ties are broken the same way every time.
        let label = (0..k).fold(0, |best, i| if counts[i] > counts[best] { i } else { best });
        let total = (truth.len() + k) as f32;
        let mut probs: Vec<f32> = counts.iter().map(|&c| (c + 1) as f32 / total).collect();
        // Smoothing keeps the order of the shares, so argmax stays the majority label.
        probs[label] += 1e-6;
        Majority { label, probs }
    }
}

/// Lower-cased words (letters and digits) and adjacent word pairs of `text`.
fn terms(text: &str) -> Vec<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let mut out = words.clone();
    out.extend(words.windows(2).map(|p| format!("{} {}", p[0], p[1])));
    out
}

/// A sparse row: (feature index, value), L2-normalised.
type Row = Vec<(usize, f32)>;

/// Most terms kept in the vocabulary (the most frequent by document count): bounds memory and
/// time on large files; a few thousand rows stay far below it.
const MAX_VOCABULARY: usize = 100_000;
/// The regression's inverse regularisation strength (scikit-learn's default).
const C: f64 = 1.0;
/// Most passes of the optimiser; it stops earlier once the gradient is flat.
const MAX_PASSES: usize = 400;

/// TF-IDF features with a multinomial logistic regression on them.
struct BagOfWords {
    vocabulary: HashMap<String, usize>,
    idf: Vec<f32>,
    /// `weights[class][feature]`.
    weights: Vec<Vec<f64>>,
    bias: Vec<f64>,
}

impl BagOfWords {
    fn fit(k: usize, texts: &[String], truth: &[usize]) -> Self {
        let docs: Vec<Vec<String>> = texts.iter().map(|t| terms(t)).collect();
        let mut df: HashMap<&str, usize> = HashMap::new();
        for doc in &docs {
            let mut seen: Vec<&str> = doc.iter().map(String::as_str).collect();
            seen.sort_unstable();
            seen.dedup();
            for t in seen {
                *df.entry(t).or_default() += 1;
            }
        }
        // Most frequent first, then alphabetical: the same vocabulary on every run.
        let mut ranked: Vec<(&str, usize)> = df.into_iter().collect();
        ranked.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        ranked.truncate(MAX_VOCABULARY);
        let n = texts.len() as f32;
        let mut vocabulary = HashMap::with_capacity(ranked.len());
        let mut idf = Vec::with_capacity(ranked.len());
        for (i, (term, count)) in ranked.iter().enumerate() {
            vocabulary.insert((*term).to_string(), i);
            // scikit-learn's smooth IDF: ln((1 + n) / (1 + df)) + 1.
            idf.push(((1.0 + n) / (1.0 + *count as f32)).ln() + 1.0);
        }
        let mut model = BagOfWords {
            vocabulary,
            idf,
            weights: vec![],
            bias: vec![],
        };
        let rows: Vec<Row> = docs.iter().map(|d| model.vectorise(d)).collect();
        let (weights, bias) = train_logistic(k, model.idf.len(), &rows, truth);
        model.weights = weights;
        model.bias = bias;
        model
    }

    /// Sublinear term frequency (1 + ln count) times IDF, L2-normalised; unknown terms dropped.
    fn vectorise(&self, doc: &[String]) -> Row {
        let mut counts: HashMap<usize, f32> = HashMap::new();
        for t in doc {
            if let Some(&i) = self.vocabulary.get(t) {
                *counts.entry(i).or_default() += 1.0;
            }
        }
        let mut row: Row = counts
            .into_iter()
            .map(|(i, c)| (i, (1.0 + c.ln()) * self.idf[i]))
            .collect();
        row.sort_unstable_by_key(|&(i, _)| i);
        let norm = row.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
        if norm > 0.0 {
            for (_, v) in &mut row {
                *v /= norm;
            }
        }
        row
    }

    fn probs(&self, text: &str) -> Vec<f32> {
        let row = self.vectorise(&terms(text));
        softmax(&scores(&self.weights, &self.bias, &row))
            .into_iter()
            .map(|p| p as f32)
            .collect()
    }
}

fn scores(weights: &[Vec<f64>], bias: &[f64], row: &Row) -> Vec<f64> {
    weights
        .iter()
        .zip(bias)
        .map(|(w, b)| b + row.iter().map(|&(i, v)| w[i] * v as f64).sum::<f64>())
        .collect()
}

fn softmax(z: &[f64]) -> Vec<f64> {
    let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exp: Vec<f64> = z.iter().map(|v| (v - max).exp()).collect();
    let sum: f64 = exp.iter().sum();
    exp.into_iter().map(|e| e / sum).collect()
}

/// Minimises mean cross-entropy + ||W||² / (2 C n) (scikit-learn's objective divided by C n) by
/// accelerated gradient descent (Nesterov). Rows are L2-normalised, so the loss gradient's
/// Lipschitz constant is at most 1 (plus the penalty's): a step of 1 / L converges without a
/// line search.
fn train_logistic(
    k: usize,
    features: usize,
    rows: &[Row],
    truth: &[usize],
) -> (Vec<Vec<f64>>, Vec<f64>) {
    let n = rows.len().max(1) as f64;
    let lambda = 1.0 / (C * n);
    let step = 1.0 / (1.0 + lambda);
    let zeros = || (vec![vec![0.0f64; features]; k], vec![0.0f64; k]);
    let (mut w, mut b) = zeros();
    let (mut w_prev, mut b_prev) = zeros();
    let (mut gw, mut gb) = zeros();
    let mut t_prev = 1.0f64;
    for _ in 0..MAX_PASSES {
        // Nesterov look-ahead point y = w + momentum (w - w_prev).
        let t = (1.0 + (1.0 + 4.0 * t_prev * t_prev).sqrt()) / 2.0;
        let momentum = (t_prev - 1.0) / t;
        t_prev = t;
        let yw: Vec<Vec<f64>> = w
            .iter()
            .zip(&w_prev)
            .map(|(a, p)| {
                a.iter()
                    .zip(p)
                    .map(|(a, p)| a + momentum * (a - p))
                    .collect()
            })
            .collect();
        let yb: Vec<f64> = b
            .iter()
            .zip(&b_prev)
            .map(|(a, p)| a + momentum * (a - p))
            .collect();
        // The gradient at y.
        for (g, y) in gw.iter_mut().zip(&yw) {
            for (gi, yi) in g.iter_mut().zip(y) {
                *gi = lambda * yi;
            }
        }
        gb.iter_mut().for_each(|g| *g = 0.0);
        for (row, &label) in rows.iter().zip(truth) {
            let p = softmax(&scores(&yw, &yb, row));
            for (c, pc) in p.iter().enumerate() {
                let d = (pc - if c == label { 1.0 } else { 0.0 }) / n;
                gb[c] += d;
                for &(i, v) in row {
                    gw[c][i] += d * v as f64;
                }
            }
        }
        let norm = gw
            .iter()
            .flatten()
            .chain(&gb)
            .map(|g| g * g)
            .sum::<f64>()
            .sqrt();
        w_prev = std::mem::replace(
            &mut w,
            yw.iter()
                .zip(&gw)
                .map(|(y, g)| y.iter().zip(g).map(|(y, g)| y - step * g).collect())
                .collect(),
        );
        b_prev = std::mem::replace(
            &mut b,
            yb.iter().zip(&gb).map(|(y, g)| y - step * g).collect(),
        );
        if norm < 1e-6 {
            break;
        }
    }
    (w, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|s| s.to_string()).collect()
    }

    fn labels() -> Vec<String> {
        strings(&["negative", "positive"])
    }

    #[test]
    fn separable_word_data_is_classified_perfectly_by_the_word_count_model() {
        let train = strings(&[
            "awful film, truly awful",
            "boring and awful",
            "what a boring plot",
            "great acting, great film",
            "a wonderful, great story",
            "wonderful music",
        ]);
        let truth = [0, 0, 0, 1, 1, 1];
        let test = strings(&["an awful, boring evening", "simply wonderful and great"]);
        let report = baseline_report(&labels(), &train, &truth, &test, &[0, 1], 5).unwrap();
        assert_eq!(report.bag_of_words.accuracy, 1.0);
        assert!(report.bag_of_words.worst.is_empty());
    }

    #[test]
    fn the_majority_baseline_scores_the_majority_class_share_of_the_test_rows() {
        let train = strings(&["a", "b", "c", "d", "e"]);
        let truth = [1, 1, 1, 0, 0];
        let test = strings(&["p", "q", "r", "s"]);
        let report = baseline_report(&labels(), &train, &truth, &test, &[1, 0, 1, 1], 5).unwrap();
        assert_eq!(report.majority_label, "positive");
        assert_eq!(report.majority.accuracy, 0.75);
        assert_eq!(report.majority.confusion, vec![vec![0, 1], vec![0, 3]]);
        // The word-count model, seeing no known word, falls back to the same prior.
        assert_eq!(report.bag_of_words.accuracy, 0.75);
    }

    #[test]
    fn the_test_rows_never_shape_the_vocabulary() {
        let train = strings(&["good", "bad"]);
        let model = BagOfWords::fit(2, &train, &[1, 0]);
        assert!(model.vectorise(&terms("excellent superb")).is_empty());
        assert_eq!(model.vocabulary.len(), 2);
    }

    #[test]
    fn word_pairs_carry_what_single_words_cannot() {
        // Every single word appears in both classes; only the pairs tell them apart.
        let train = strings(&[
            "not good bad",
            "not bad good",
            "not good bad",
            "not bad good",
        ]);
        let truth = [0, 1, 0, 1];
        let report = baseline_report(
            &labels(),
            &train,
            &truth,
            &strings(&["not good", "not bad"]),
            &[0, 1],
            2,
        )
        .unwrap();
        assert_eq!(report.bag_of_words.accuracy, 1.0);
    }

    #[test]
    fn the_same_rows_give_the_same_numbers() {
        let train = strings(&[
            "red apple",
            "green apple",
            "red cherry",
            "green pear",
            "red berry",
        ]);
        let truth = [1, 0, 1, 0, 1];
        let test = strings(&["red pear", "green berry"]);
        let a = baseline_report(&labels(), &train, &truth, &test, &[1, 0], 2).unwrap();
        let b = baseline_report(&labels(), &train, &truth, &test, &[1, 0], 2).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn an_empty_training_split_or_a_label_out_of_range_is_refused_with_the_reason() {
        let err = baseline_report(&labels(), &[], &[], &strings(&["x"]), &[0], 1).unwrap_err();
        assert!(err.to_string().contains("training split is empty"), "{err}");
        let err = baseline_report(&labels(), &strings(&["x"]), &[2], &strings(&["x"]), &[0], 1)
            .unwrap_err();
        assert!(err.to_string().contains("label index 2"), "{err}");
    }
}
