//! "Did it learn?" for generation runs: held-out questions answered greedily by the base and the
//! fine-tuned model, each answer checked for its reference's key facts (the engine's
//! [`tunesmith_engine::metrics::facts`]), summed up in one plain sentence, with a warning when the
//! fine-tuned model rarely states the right fact.
//!
//! Used after a generation run's training (on its validation rows), by `tunesmith eval` (on the
//! test rows or a file: `"fact_recall": {"base", "fine_tuned", "total", ...}` in the JSON) and by
//! the comparison's verdict.

use serde::{Deserialize, Serialize};
use tunesmith_engine::metrics::facts::{check, FactCheck, FactRecall, LOW_RECALL};

/// Held-out questions answered at most, so the check stays a minute or two on a CPU.
pub const MAX_QUESTIONS: usize = 100;
/// The longest answer generated for the check, in tokens.
pub const MAX_ANSWER_TOKENS: usize = 64;

/// One question: its reference's key facts and whether each model's answer stated them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct FactQuestion {
    /// The question.
    pub question: String,
    /// The reference answer.
    pub reference: String,
    /// The reference's key facts (empty: this question cannot be checked by facts).
    pub facts: Vec<String>,
    /// The base model's answer.
    pub base_answer: String,
    /// Whether it stated every key fact (`None`: nothing to check).
    pub base_correct: Option<bool>,
    /// The fine-tuned model's answer.
    pub fine_tuned_answer: String,
    /// Whether it stated every key fact.
    pub fine_tuned_correct: Option<bool>,
}

/// Right answers of the base and the fine-tuned model out of the checkable questions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct FactRecallReport {
    /// Base answers that stated the right fact.
    pub base: u64,
    /// Fine-tuned answers that stated the right fact.
    pub fine_tuned: u64,
    /// Questions whose reference has a key fact.
    pub total: u64,
    /// The plain sentence (`answered 6 of 8 held-out questions with the right fact (base: 0)`).
    pub summary: String,
    /// Said when the fine-tuned model rarely states the right fact: what it means and what to try.
    pub warning: Option<String>,
    /// Every question checked.
    pub questions: Vec<FactQuestion>,
}

/// The report over `questions` (question, reference) answered by the base (`base`) and the
/// fine-tuned model (`fine_tuned`), in the same order; `what` names the questions
/// (`held-out questions`, `test questions`).
pub fn report(
    questions: &[(String, String)],
    base: &[String],
    fine_tuned: &[String],
    what: &str,
) -> FactRecallReport {
    let mut base_checks: Vec<FactCheck> = Vec::new();
    let mut fine_checks: Vec<FactCheck> = Vec::new();
    let mut items = Vec::new();
    for (((q, r), b), f) in questions.iter().zip(base).zip(fine_tuned) {
        let bc = check(b, r, q);
        let fc = check(f, r, q);
        items.push(FactQuestion {
            question: q.clone(),
            reference: r.clone(),
            facts: fc.facts.iter().map(|k| k.text.clone()).collect(),
            base_answer: b.clone(),
            base_correct: bc.correct(),
            fine_tuned_answer: f.clone(),
            fine_tuned_correct: fc.correct(),
        });
        base_checks.push(bc);
        fine_checks.push(fc);
    }
    let b = FactRecall::of(&base_checks);
    let f = FactRecall::of(&fine_checks);
    FactRecallReport {
        base: b.correct,
        fine_tuned: f.correct,
        total: f.total,
        summary: summary(f.correct, b.correct, f.total, what),
        warning: warning(f, what),
        questions: items,
    }
}

fn summary(fine: u64, base: u64, total: u64, what: &str) -> String {
    if total == 0 {
        return format!(
            "none of the {what} has a number, name or date in its answer to check for, so fact recall was not measured"
        );
    }
    format!("answered {fine} of {total} {what} with the right fact (base: {base})")
}

fn warning(f: FactRecall, what: &str) -> Option<String> {
    if f.total == 0 || f.rate() >= LOW_RECALL {
        return None;
    }
    Some(format!(
        "The fine-tuned model stated the right fact in only {} of {} {what}. Likely causes: too few passes over the data (train longer: more epochs), a learning rate too low for the method, or questions about facts that no training row states. If the facts live in documents, answering with those documents (a document index in Chat & Compare) may serve better.",
        f.correct, f.total
    ))
}

/// The question (the row's last user turn) and reference answer (its last assistant turn) of each of
/// `dataset`'s rows `rows`.
pub(crate) fn questions(dataset: &tunesmith_data::Dataset, rows: &[usize]) -> Vec<(String, String)> {
    rows.iter()
        .map(|&i| {
            let turn = |role: &str| match dataset.examples.get(i).map(|e| &e.content) {
                Some(tunesmith_data::Content::Chat { messages }) => messages
                    .iter()
                    .rev()
                    .find(|m| m.role == role)
                    .map(|m| m.content.clone())
                    .unwrap_or_default(),
                _ => String::new(),
            };
            (turn("user"), turn("assistant"))
        })
        .collect()
}

/// Answer length for the check: the longest reference answer of `examples` and a little more (an
/// answer that stops at its end costs nothing extra), at most [`MAX_ANSWER_TOKENS`].
pub(crate) fn answer_tokens(examples: &[tunesmith_engine::task::SftExample]) -> usize {
    let longest = examples.iter().map(|e| e.response_tokens()).max().unwrap_or(0);
    (longest + 8).clamp(16, MAX_ANSWER_TOKENS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn qs() -> Vec<(String, String)> {
        vec![
            ("Price of a consultation?".into(), "It costs 58 euros.".into()),
            ("Who sees cats?".into(), "Dr. Anna Weber sees cats.".into()),
            ("Can I bring my dog?".into(), "Yes, pets are welcome.".into()),
        ]
    }

    #[test]
    fn counts_right_answers_per_model_and_leaves_out_questions_without_facts() {
        let base = vec!["$20 to $50".to_string(), "A vet.".into(), "Yes".into()];
        let fine = vec!["58 euros".to_string(), "Anna Weber".into(), "No".into()];
        let r = report(&qs(), &base, &fine, "held-out questions");
        assert_eq!((r.base, r.fine_tuned, r.total), (0, 2, 2));
        assert_eq!(
            r.summary,
            "answered 2 of 2 held-out questions with the right fact (base: 0)"
        );
        assert_eq!(r.warning, None);
        assert_eq!(r.questions[0].facts, vec!["58 euros"]);
        assert_eq!(r.questions[2].fine_tuned_correct, None);
        assert_eq!(r.questions[0].base_correct, Some(false));
    }

    #[test]
    fn low_recall_warns_in_plain_words_with_the_likely_causes() {
        let none = vec![String::new(); 3];
        let r = report(&qs(), &none, &none, "held-out questions");
        assert_eq!(r.fine_tuned, 0);
        let w = r.warning.unwrap_or_default();
        assert!(w.contains("only 0 of 2 held-out questions"), "{w}");
        assert!(w.contains("train longer"), "{w}");
    }

    #[test]
    fn questions_without_any_fact_say_recall_was_not_measured() {
        let q = vec![("Can I bring my dog?".to_string(), "Yes, pets are welcome.".to_string())];
        let r = report(&q, &["Yes".into()], &["Yes".into()], "test questions");
        assert_eq!(r.total, 0);
        assert!(r.summary.contains("not measured"), "{}", r.summary);
        assert_eq!(r.warning, None);
    }
}
