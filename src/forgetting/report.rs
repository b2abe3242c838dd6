//! The forgetting check's result: how many general answers the base model got right and the
//! fine-tuned model still gets right ("kept"), which it lost, the general text's perplexity before
//! and after, one plain sentence, and a warning with the usual remedies when the loss is beyond
//! the stated thresholds ([`LOST_SHARE_WARN`], [`PERPLEXITY_RISE_WARN`]).

use serde::{Deserialize, Serialize};

use super::matching::is_correct;
use super::probes::Probe;

/// A warning when the fine-tuned model lost more than this share of what the base knew.
pub const LOST_SHARE_WARN: f64 = 0.10;
/// A warning when the general text's perplexity rose by more than this share.
pub const PERPLEXITY_RISE_WARN: f64 = 0.20;

/// One probe answered by both models.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct ProbeAnswer {
    /// What kind of question.
    pub kind: String,
    /// The question.
    pub question: String,
    /// The answers counted as right.
    pub accepted: Vec<String>,
    /// The base model's answer.
    pub base_answer: String,
    /// Whether it was right.
    pub base_correct: bool,
    /// The fine-tuned model's answer.
    pub fine_tuned_answer: String,
    /// Whether it was right.
    pub fine_tuned_correct: bool,
}

/// `tunesmith eval --forgetting`'s answer (also run after training a generation run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct ForgettingReport {
    /// The run.
    pub run_id: String,
    /// Where the questions came from (the built-in set, or the user's file).
    pub probes: String,
    /// Questions the base answered right and the fine-tuned model still answers right.
    pub kept: u64,
    /// Questions asked.
    pub total: u64,
    /// Questions the base model answered right.
    pub base_correct: u64,
    /// Questions the fine-tuned model answers right.
    pub fine_tuned_correct: u64,
    /// The base model's perplexity on the general text (JSON `null` when not a number).
    #[serde(deserialize_with = "number_or_nan")]
    #[specta(type = Option<f64>)]
    pub base_perplexity: f64,
    /// The fine-tuned model's perplexity on the same text (`null` when not a number: diverged).
    #[serde(deserialize_with = "number_or_nan")]
    #[specta(type = Option<f64>)]
    pub fine_tuned_perplexity: f64,
    /// The plain sentence ("kept 40 of 44 general answers (the base model got 44 of 100 general
    /// questions right); general-text perplexity 12.10 -> 12.90").
    pub summary: String,
    /// Said when it forgot beyond the thresholds: what happened and what to try.
    pub warning: Option<String>,
    /// The questions the base answered right and the fine-tuned model no longer does.
    pub lost: Vec<ProbeAnswer>,
    /// Every question with both answers.
    pub questions: Vec<ProbeAnswer>,
    /// Whether the base model's answers came from the cache (computed once per base model and
    /// probe set).
    pub base_cached: bool,
}

impl ForgettingReport {
    /// The report for `probes` answered by the base (`base`) and the fine-tuned model
    /// (`fine_tuned`), in order, with both perplexities on the general text.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        run_id: &str,
        source: &str,
        probes: &[Probe],
        base: &[String],
        fine_tuned: &[String],
        base_perplexity: f64,
        fine_tuned_perplexity: f64,
        base_cached: bool,
    ) -> ForgettingReport {
        let questions: Vec<ProbeAnswer> = probes
            .iter()
            .zip(base.iter().zip(fine_tuned))
            .map(|(p, (b, f))| ProbeAnswer {
                kind: p.kind.clone(),
                question: p.question.clone(),
                accepted: p.answers.clone(),
                base_answer: b.clone(),
                base_correct: is_correct(b, p),
                fine_tuned_answer: f.clone(),
                fine_tuned_correct: is_correct(f, p),
            })
            .collect();
        let count =
            |f: &dyn Fn(&ProbeAnswer) -> bool| questions.iter().filter(|q| f(q)).count() as u64;
        let base_correct = count(&|q| q.base_correct);
        let fine_tuned_correct = count(&|q| q.fine_tuned_correct);
        let kept = count(&|q| q.base_correct && q.fine_tuned_correct);
        let lost: Vec<ProbeAnswer> = questions
            .iter()
            .filter(|q| q.base_correct && !q.fine_tuned_correct)
            .cloned()
            .collect();
        let total = questions.len() as u64;
        ForgettingReport {
            run_id: run_id.to_string(),
            probes: source.to_string(),
            summary: summary(
                kept,
                base_correct,
                total,
                base_perplexity,
                fine_tuned_perplexity,
            ),
            warning: warning(
                lost.len() as u64,
                base_correct,
                base_perplexity,
                fine_tuned_perplexity,
            ),
            kept,
            total,
            base_correct,
            fine_tuned_correct,
            base_perplexity,
            fine_tuned_perplexity,
            lost,
            questions,
            base_cached,
        }
    }
}

/// A number, or NaN where JSON has `null` (serde_json writes a non-finite number as `null`), so a
/// recorded report with a diverged perplexity reads back.
fn number_or_nan<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

fn perplexity_words(before: f64, after: f64) -> String {
    format!("general-text perplexity {before:.2} -> {after:.2}")
}

fn summary(kept: u64, base_correct: u64, total: u64, before: f64, after: f64) -> String {
    let ppl = perplexity_words(before, after);
    if base_correct == 0 {
        return format!(
            "the base model answered none of the {total} general questions right, so there were no general answers to lose; {ppl}"
        );
    }
    format!(
        "kept {kept} of {base_correct} general answers (the base model got {base_correct} of {total} general questions right); {ppl}"
    )
}

/// The share by which the perplexity rose (negative: it fell); `None` when either is not a number.
fn rise(before: f64, after: f64) -> Option<f64> {
    (before.is_finite() && after.is_finite() && before > 0.0).then(|| after / before - 1.0)
}

fn warning(lost: u64, base_correct: u64, before: f64, after: f64) -> Option<String> {
    let mut found = Vec::new();
    if base_correct > 0 && lost as f64 > LOST_SHARE_WARN * base_correct as f64 {
        found.push(format!(
            "it lost {lost} of the {base_correct} general answers the base model knew ({:.0} %, more than {:.0} %)",
            100.0 * lost as f64 / base_correct as f64,
            100.0 * LOST_SHARE_WARN
        ));
    }
    match rise(before, after) {
        Some(r) if r > PERPLEXITY_RISE_WARN => found.push(format!(
            "its perplexity on plain general English rose {:.0} % ({before:.2} -> {after:.2}, more than {:.0} %)",
            100.0 * r,
            100.0 * PERPLEXITY_RISE_WARN
        )),
        None if before.is_finite() && !after.is_finite() => found.push(
            "its perplexity on plain general English is no longer a number (the weights diverged)"
                .to_string(),
        ),
        _ => {}
    }
    if found.is_empty() {
        return None;
    }
    Some(format!(
        "Fine-tuning made the model forget some of what it knew: {}. The usual remedies: a lower learning rate, fewer epochs, a smaller LoRA rank (or LoRA instead of full fine-tuning), or mixing some general examples into your data.",
        found.join("; and ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forgetting::probes::MatchRule;

    fn probes() -> Vec<Probe> {
        [
            ("Capital of France?", "Paris"),
            ("2 + 2?", "4"),
            ("Sky colour?", "blue"),
            ("Moo?", "cow"),
        ]
        .iter()
        .map(|(q, a)| Probe {
            kind: "fact".into(),
            question: q.to_string(),
            answers: vec![a.to_string()],
            rule: MatchRule::Contains,
        })
        .collect()
    }

    fn answers(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn kept_counts_answers_right_before_and_after_and_lists_the_lost_ones() {
        let base = answers(&["Paris", "4", "green", "a cow"]);
        let fine = answers(&["Paris.", "five", "blue", "cow"]);
        let r = ForgettingReport::new("r", "built-in", &probes(), &base, &fine, 10.0, 11.0, false);
        assert_eq!(
            (r.kept, r.total, r.base_correct, r.fine_tuned_correct),
            (2, 4, 3, 3)
        );
        assert_eq!(r.lost.len(), 1);
        assert_eq!(r.lost[0].question, "2 + 2?");
        assert_eq!(r.lost[0].fine_tuned_answer, "five");
        assert_eq!(
            r.summary,
            "kept 2 of 3 general answers (the base model got 3 of 4 general questions right); general-text perplexity 10.00 -> 11.00"
        );
        // One of three lost (33 % > 10 %): a warning with the remedies; 10 % rise is under 20 %.
        let w = r.warning.unwrap_or_default();
        assert!(w.contains("lost 1 of the 3"), "{w}");
        assert!(!w.contains("perplexity"), "{w}");
        assert!(
            w.contains("lower learning rate")
                && w.contains("LoRA rank")
                && w.contains("general examples"),
            "{w}"
        );
    }

    #[test]
    fn nothing_lost_and_a_small_perplexity_change_gives_no_warning() {
        let same = answers(&["Paris", "4", "blue", "cow"]);
        let r = ForgettingReport::new("r", "b", &probes(), &same, &same, 10.0, 11.9, true);
        assert_eq!((r.kept, r.base_correct), (4, 4));
        assert!(r.lost.is_empty());
        assert_eq!(r.warning, None);
        assert!(r.base_cached);
    }

    #[test]
    fn a_perplexity_rise_beyond_a_fifth_warns_even_when_no_answer_was_lost() {
        let same = answers(&["Paris", "4", "blue", "cow"]);
        let r = ForgettingReport::new("r", "b", &probes(), &same, &same, 10.0, 12.5, false);
        let w = r.warning.unwrap_or_default();
        assert!(
            w.contains("rose 25 %") && w.contains("10.00 -> 12.50"),
            "{w}"
        );
        let nan = ForgettingReport::new("r", "b", &probes(), &same, &same, 10.0, f64::NAN, false);
        assert!(nan.warning.clone().unwrap_or_default().contains("diverged"));
        // Kept in the run folder as JSON (`null` for NaN) and read back.
        let back: ForgettingReport =
            serde_json::from_str(&serde_json::to_string(&nan).unwrap()).unwrap();
        assert!(back.fine_tuned_perplexity.is_nan());
        assert_eq!(back.base_perplexity, 10.0);
    }

    #[test]
    fn a_base_that_knew_nothing_says_there_was_nothing_to_lose() {
        let none = answers(&["", "", "", ""]);
        let r = ForgettingReport::new("r", "b", &probes(), &none, &none, 10.0, 10.0, false);
        assert_eq!(r.base_correct, 0);
        assert!(
            r.summary.contains("no general answers to lose"),
            "{}",
            r.summary
        );
        assert_eq!(r.warning, None);
    }
}
