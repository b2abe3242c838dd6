//! Comparing generated answers with reference answers: exact match and token F1 (SQuAD's
//! normalisation), ROUGE-L (as `rouge-score` computes it) and BLEU (as sacreBLEU computes it, with
//! its `13a` tokeniser and exponential smoothing).
//!
//! The numbers are checked in tests against values printed by sacreBLEU 2.6 and rouge-score 0.1.2,
//! so a score here means what it means in papers.

use std::collections::HashMap;
use std::sync::OnceLock;

use regex::Regex;

/// SQuAD normalisation: lower case, no punctuation, no articles, single spaces.
pub fn normalize_answer(s: &str) -> String {
    let lower = s.to_lowercase();
    let no_punct: String = lower
        .chars()
        .filter(|c| !c.is_ascii_punctuation())
        .collect();
    no_punct
        .split_whitespace()
        .filter(|w| !matches!(*w, "a" | "an" | "the"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// 1.0 when the normalised prediction equals the normalised reference, else 0.0.
pub fn exact_match(prediction: &str, reference: &str) -> f64 {
    (normalize_answer(prediction) == normalize_answer(reference)) as u8 as f64
}

/// SQuAD's token-overlap F1 between normalised answers.
pub fn token_f1(prediction: &str, reference: &str) -> f64 {
    let p = normalize_answer(prediction);
    let r = normalize_answer(reference);
    let pt: Vec<&str> = p.split_whitespace().collect();
    let rt: Vec<&str> = r.split_whitespace().collect();
    if pt.is_empty() || rt.is_empty() {
        return (pt.is_empty() && rt.is_empty()) as u8 as f64;
    }
    let mut counts: HashMap<&str, i64> = HashMap::new();
    for t in &rt {
        *counts.entry(t).or_default() += 1;
    }
    let mut same = 0usize;
    for t in &pt {
        if let Some(c) = counts.get_mut(t) {
            if *c > 0 {
                *c -= 1;
                same += 1;
            }
        }
    }
    if same == 0 {
        return 0.0;
    }
    let precision = same as f64 / pt.len() as f64;
    let recall = same as f64 / rt.len() as f64;
    2.0 * precision * recall / (precision + recall)
}

/// ROUGE-L precision, recall and F-measure.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RougeL {
    /// LCS length over the prediction's length.
    pub precision: f64,
    /// LCS length over the reference's length.
    pub recall: f64,
    /// Their harmonic mean.
    pub f1: f64,
}

/// rouge-score's default tokeniser: lower case, anything but `[a-z0-9]` is a separator.
fn rouge_tokens(s: &str) -> Vec<String> {
    let lower = s.to_lowercase();
    lower
        .split(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit()))
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

fn lcs(a: &[String], b: &[String]) -> usize {
    let mut prev = vec![0usize; b.len() + 1];
    let mut cur = vec![0usize; b.len() + 1];
    for x in a {
        for (j, y) in b.iter().enumerate() {
            cur[j + 1] = if x == y {
                prev[j] + 1
            } else {
                cur[j].max(prev[j + 1])
            };
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// ROUGE-L of one prediction against one reference.
pub fn rouge_l(prediction: &str, reference: &str) -> RougeL {
    let p = rouge_tokens(prediction);
    let r = rouge_tokens(reference);
    if p.is_empty() || r.is_empty() {
        return RougeL {
            precision: 0.0,
            recall: 0.0,
            f1: 0.0,
        };
    }
    let l = lcs(&r, &p) as f64;
    let precision = l / p.len() as f64;
    let recall = l / r.len() as f64;
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    RougeL {
        precision,
        recall,
        f1,
    }
}

/// sacreBLEU's default `13a` tokeniser (mteval-v13a).
pub fn tokenize_13a(line: &str) -> Vec<String> {
    static RULES: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    let rules = RULES.get_or_init(|| {
        [
            (r"([\{-\~\[-\` -\&\(-\+\:-\@\/])", " $1 "),
            (r"([^0-9])([\.,])", "$1 $2 "),
            (r"([\.,])([^0-9])", " $1 $2"),
            (r"([0-9])(-)", "$1 $2 "),
        ]
        .into_iter()
        .map(|(re, rep)| (Regex::new(re).expect("a fixed, tested pattern"), rep))
        .collect()
    });
    let mut s = line
        .replace("<skipped>", "")
        .replace("-\n", "")
        .replace('\n', " ");
    if s.contains('&') {
        s = s
            .replace("&quot;", "\"")
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">");
    }
    let mut s = format!(" {s} ");
    for (re, rep) in rules {
        s = re.replace_all(&s, *rep).into_owned();
    }
    s.split_whitespace().map(str::to_string).collect()
}

fn ngrams(tokens: &[String], n: usize) -> HashMap<&[String], usize> {
    let mut m = HashMap::new();
    if tokens.len() >= n {
        for w in tokens.windows(n) {
            *m.entry(w).or_insert(0) += 1;
        }
    }
    m
}

const MAX_ORDER: usize = 4;

#[derive(Default)]
struct BleuStats {
    correct: [usize; MAX_ORDER],
    total: [usize; MAX_ORDER],
    sys_len: usize,
    ref_len: usize,
}

fn add_stats(stats: &mut BleuStats, hypothesis: &str, references: &[&str]) {
    let hyp = tokenize_13a(hypothesis);
    let refs: Vec<Vec<String>> = references.iter().map(|r| tokenize_13a(r)).collect();
    // The closest reference length; ties go to the shorter one.
    let closest = refs
        .iter()
        .map(|r| r.len())
        .min_by_key(|&l| ((l as i64 - hyp.len() as i64).abs(), l))
        .unwrap_or(0);
    stats.sys_len += hyp.len();
    stats.ref_len += closest;
    for n in 1..=MAX_ORDER {
        let h = ngrams(&hyp, n);
        let mut max_ref: HashMap<&[String], usize> = HashMap::new();
        for r in &refs {
            for (g, c) in ngrams(r, n) {
                let e = max_ref.entry(g).or_insert(0);
                *e = (*e).max(c);
            }
        }
        for (g, c) in &h {
            stats.correct[n - 1] += (*c).min(max_ref.get(g).copied().unwrap_or(0));
            stats.total[n - 1] += c;
        }
    }
}

fn bleu_from(stats: &BleuStats, effective_order: bool) -> f64 {
    let mut precisions = [0f64; MAX_ORDER];
    let mut smooth = 1f64;
    let mut order = MAX_ORDER;
    for n in 1..=MAX_ORDER {
        if stats.total[n - 1] == 0 {
            break;
        }
        if effective_order {
            order = n;
        }
        if stats.correct[n - 1] == 0 {
            smooth *= 2.0;
            precisions[n - 1] = 100.0 / (smooth * stats.total[n - 1] as f64);
        } else {
            precisions[n - 1] = 100.0 * stats.correct[n - 1] as f64 / stats.total[n - 1] as f64;
        }
    }
    let bp = if stats.sys_len < stats.ref_len {
        if stats.sys_len > 0 {
            (1.0 - stats.ref_len as f64 / stats.sys_len as f64).exp()
        } else {
            0.0
        }
    } else {
        1.0
    };
    let log = |p: f64| if p == 0.0 { -9_999_999_999.0 } else { p.ln() };
    bp * (precisions[..order].iter().map(|&p| log(p)).sum::<f64>() / order as f64).exp()
}

/// Corpus BLEU (0-100) of `hypotheses` against `references[i]` (one or more references each), as
/// `sacrebleu.corpus_bleu` computes it by default.
pub fn corpus_bleu(hypotheses: &[&str], references: &[Vec<&str>]) -> f64 {
    let mut stats = BleuStats::default();
    for (h, r) in hypotheses.iter().zip(references) {
        add_stats(&mut stats, h, r);
    }
    bleu_from(&stats, false)
}

/// Sentence BLEU (0-100), as `sacrebleu.sentence_bleu` computes it (effective order).
pub fn sentence_bleu(hypothesis: &str, references: &[&str]) -> f64 {
    let mut stats = BleuStats::default();
    add_stats(&mut stats, hypothesis, references);
    bleu_from(&stats, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Printed by sacreBLEU 2.6.0 and rouge-score 0.1.2:
    // ```python
    // sacrebleu.corpus_bleu(HYPS, [REFS]).score; sacrebleu.sentence_bleu(h, [r]).score
    // rouge_scorer.RougeScorer(["rougeL"]).score(r, h)["rougeL"]
    // ```
    const HYPS: [&str; 4] = [
        "The cat sat on the mat.",
        "It is a guide to action which ensures that the military always obeys the commands of the party.",
        "he read the book because he was interested in world history",
        "Hello, world! 3.14 is pi-ish; costs $5,000.",
    ];
    const REFS: [&str; 4] = [
        "The cat is sitting on the mat.",
        "It is a guide to action that ensures that the military will forever heed Party commands.",
        "he was interested in world history because he read the book",
        "Hello world! 3.14 is roughly pi; it costs $5,000.",
    ];
    const SACRE_CORPUS: f64 = 49.96603026764156;
    const SACRE_SENTENCE: [f64; 4] = [
        42.38365628278778,
        39.67088290836578,
        74.00828044922856,
        41.24914892312111,
    ];
    const ROUGE_L: [(f64, f64, f64); 4] = [
        (0.8333333333333334, 0.7142857142857143, 0.7692307692307692),
        (0.6111111111111112, 0.6875, 0.6470588235294118),
        (0.5454545454545454, 0.5454545454545454, 0.5454545454545454),
        (0.9, 0.8181818181818182, 0.8571428571428572),
    ];

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-9, "{a} vs {b}");
    }

    #[test]
    fn the_13a_tokeniser_splits_like_sacrebleu() {
        assert_eq!(
            tokenize_13a(HYPS[3]).join(" "),
            "Hello , world ! 3.14 is pi-ish ; costs $ 5,000 ."
        );
    }

    #[test]
    fn corpus_bleu_matches_sacrebleu() {
        let refs: Vec<Vec<&str>> = REFS.iter().map(|r| vec![*r]).collect();
        close(corpus_bleu(&HYPS, &refs), SACRE_CORPUS);
    }

    #[test]
    fn sentence_bleu_matches_sacrebleu() {
        for (i, (h, r)) in HYPS.iter().zip(REFS).enumerate() {
            close(sentence_bleu(h, &[r]), SACRE_SENTENCE[i]);
        }
    }

    #[test]
    fn smoothing_and_multiple_references_match_sacrebleu() {
        close(
            corpus_bleu(
                &["the cat the dog sat down"],
                &[vec!["the cat sat down on the mat"]],
            ),
            20.547995616750768,
        );
        let refs = vec![
            vec!["the cat sat on a mat", "a cat sat on the mat"],
            vec!["a b c d e f", "a b c d e"],
        ];
        close(
            corpus_bleu(&["the cat sat on the mat", "a b c d e"], &refs),
            97.64540896763108,
        );
        close(corpus_bleu(&["the the the"], &[vec!["the cat"]]), 0.0);
    }

    #[test]
    fn rouge_l_matches_rouge_score() {
        for (i, (h, r)) in HYPS.iter().zip(REFS).enumerate() {
            let s = rouge_l(h, r);
            close(s.precision, ROUGE_L[i].0);
            close(s.recall, ROUGE_L[i].1);
            close(s.f1, ROUGE_L[i].2);
        }
    }

    #[test]
    fn exact_match_and_token_f1_use_squad_normalisation() {
        assert_eq!(exact_match("The Eiffel Tower!", "eiffel tower"), 1.0);
        assert_eq!(exact_match("Paris", "London"), 0.0);
        close(token_f1("the big red barn", "a red barn"), 0.8);
        assert_eq!(token_f1("", ""), 1.0);
        assert_eq!(token_f1("x", ""), 0.0);
    }
}
