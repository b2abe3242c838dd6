//! A quick comparison: a few questions spread over the question set instead of all of them.
//!
//! Every question costs one answer per configuration (up to four), so a 40-question set with a
//! small model on a CPU takes many minutes. A quick check answers [`QUICK_QUESTIONS`] (or any
//! number the user names) spread evenly from the first question to the last, so a set sorted by
//! topic is still sampled across its topics; the same set and number always give the same
//! questions.

use crate::compare::Question;

/// Questions a quick comparison answers.
pub const QUICK_QUESTIONS: usize = 5;

/// At most `max` of `questions`, evenly spread and in file order (all of them when `max` is `None`
/// or not smaller; a `max` of 0 is taken as 1).
pub fn spread(questions: Vec<Question>, max: Option<usize>) -> Vec<Question> {
    let n = questions.len();
    let Some(max) = max.map(|m| m.max(1)).filter(|&m| m < n) else {
        return questions;
    };
    // The i-th of `max` picks sits at the start of the i-th of `max` equal stretches.
    let keep: Vec<usize> = (0..max).map(|i| i * n / max).collect();
    questions
        .into_iter()
        .enumerate()
        .filter(|(i, _)| keep.contains(i))
        .map(|(_, q)| q)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(n: u64) -> Vec<Question> {
        (1..=n)
            .map(|line| Question {
                line,
                question: format!("q{line}"),
                reference: format!("a{line}"),
            })
            .collect()
    }

    fn lines(qs: &[Question]) -> Vec<u64> {
        qs.iter().map(|q| q.line).collect()
    }

    #[test]
    fn a_quick_comparison_spreads_its_questions_over_the_whole_set_in_file_order() {
        assert_eq!(lines(&spread(set(20), Some(5))), vec![1, 5, 9, 13, 17]);
        assert_eq!(lines(&spread(set(7), Some(3))), vec![1, 3, 5]);
    }

    #[test]
    fn no_limit_or_a_limit_above_the_set_keeps_every_question_and_zero_keeps_one() {
        assert_eq!(spread(set(4), None).len(), 4);
        assert_eq!(spread(set(4), Some(10)).len(), 4);
        assert_eq!(lines(&spread(set(4), Some(0))), vec![1]);
    }
}
