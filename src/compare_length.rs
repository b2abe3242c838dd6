//! How long a comparison's answers may be: fitted to the data rather than one fixed length.
//!
//! A comparison answers every question with up to four configurations; with a fixed 256-token
//! limit a small model ran 1-2 minutes per column, mostly past the point where the reference answer
//! would have ended. The limit is instead the 95th percentile of the answers the model learned from
//! (the run's dataset's response column), or of the question set's reference answers when there is
//! no run or its data cannot be read, counted in the model's own tokens, within
//! [`MIN_ANSWER_TOKENS`]..=[`MAX_ANSWER_TOKENS`].
//!
//! Promises:
//! - The same data and model give the same limit; a limit the user names is used as given.
//! - Generation still stops earlier at the end of the answer (EOS or the template's end of turn):
//!   the limit only bounds an answer that runs on.
//! - The report says where the limit came from, in words, so a cut answer can be explained.

use serde::Serialize;
use tunesmith_data::roles::{guess, RoleOverrides};
use tunesmith_data::source::Row;
use tunesmith_data::{ReadOptions, Role, Source};

use crate::run::FoundRun;
use crate::session::DecoderSession;
use crate::compare::Question;
use crate::Result;

/// The shortest fitted limit: room for a one-sentence answer whatever the data says.
pub const MIN_ANSWER_TOKENS: usize = 24;
/// The longest fitted limit: answers longer than this are rare in question sets and cost minutes.
pub const MAX_ANSWER_TOKENS: usize = 256;
/// The share of answers the limit lets finish.
const PERCENTILE: f64 = 0.95;
/// At most this many training answers are counted (tokenising them all would only add time).
const MAX_COUNTED: usize = 2_000;

/// The answer length a comparison used, and why.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct AnswerLength {
    /// The most tokens per answer.
    pub max_tokens: usize,
    /// Where it came from, in words ("the 95th percentile of 400 training answers (41 tokens)").
    pub basis: String,
}

/// The nearest-rank 95th percentile of `lengths`, or `None` when empty.
pub fn percentile_95(lengths: &[usize]) -> Option<usize> {
    if lengths.is_empty() {
        return None;
    }
    let mut sorted = lengths.to_vec();
    sorted.sort_unstable();
    let rank = (PERCENTILE * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// The limit for answers of these token lengths, described as `what` ("training answers").
pub fn fitted(lengths: &[usize], what: &str) -> Option<AnswerLength> {
    let p = percentile_95(lengths)?;
    let max_tokens = p.clamp(MIN_ANSWER_TOKENS, MAX_ANSWER_TOKENS);
    let bound = if max_tokens > p {
        format!(", raised to the floor of {MIN_ANSWER_TOKENS}")
    } else if max_tokens < p {
        format!(", capped at {MAX_ANSWER_TOKENS}")
    } else {
        String::new()
    };
    Some(AnswerLength {
        max_tokens,
        basis: format!(
            "the 95th percentile of {} {what} ({p} tokens{bound})",
            lengths.len()
        ),
    })
}

/// The limit a user named.
pub fn given(max_tokens: usize) -> AnswerLength {
    AnswerLength {
        max_tokens,
        basis: "the length asked for".into(),
    }
}

/// The answer length for a comparison with `model`: fitted to `run`'s training answers when they
/// can be read, else to `questions`' reference answers.
pub fn for_comparison(
    model: &DecoderSession,
    run: Option<&FoundRun>,
    questions: &[Question],
) -> Result<AnswerLength> {
    if let Some(answers) = run.and_then(training_answers) {
        let lengths = count(model, &answers)?;
        if let Some(l) = fitted(&lengths, "training answers") {
            return Ok(l);
        }
    }
    let references: Vec<String> = questions.iter().map(|q| q.reference.clone()).collect();
    let lengths = count(model, &references)?;
    Ok(fitted(&lengths, "reference answers").unwrap_or_else(|| given(MAX_ANSWER_TOKENS)))
}

/// The answer length for one question asked of `model` (Chat & Compare's ask box, `tunesmith
/// chat`): fitted to `run`'s training answers like a comparison's, so one question and the
/// question set use the same length; without a run or readable training answers there is nothing
/// to fit to and the limit is [`MAX_ANSWER_TOKENS`], saying so.
pub fn for_one_question(model: &DecoderSession, run: Option<&FoundRun>) -> Result<AnswerLength> {
    if let Some(answers) = run.and_then(training_answers) {
        let lengths = count(model, &answers)?;
        if let Some(l) = fitted(&lengths, "training answers") {
            return Ok(l);
        }
    }
    Ok(unfitted(run.is_some()))
}

/// The limit when no training answers can be read: the cap, and why.
fn unfitted(had_run: bool) -> AnswerLength {
    AnswerLength {
        max_tokens: MAX_ANSWER_TOKENS,
        basis: if had_run {
            format!("the longest default: the run's training answers could not be read to fit a length ({MAX_ANSWER_TOKENS} tokens)")
        } else {
            format!("the longest default: no fine-tuned run's training answers to fit a length to ({MAX_ANSWER_TOKENS} tokens)")
        },
    }
}

fn count(model: &DecoderSession, texts: &[String]) -> Result<Vec<usize>> {
    texts.iter().map(|t| model.count_tokens(t)).collect()
}

/// The response column of `run`'s dataset (at most [`MAX_COUNTED`] non-empty values), or `None`
/// when the file is gone, unreadable or has no response column (a chat `messages` file): the
/// comparison then fits to its references instead, so this is never an error.
fn training_answers(run: &FoundRun) -> Option<Vec<String>> {
    let request = &run.record.request;
    let path = request.data.as_path();
    if !path.is_file() {
        return None;
    }
    let source = Source::open(path, &ReadOptions::default()).ok()?;
    let schema = guess(
        &source,
        &RoleOverrides {
            task: Some(tunesmith_data::Task::Generate),
            text_columns: request.prompt_column.clone().into_iter().collect(),
            label_column: None,
            response_column: request.response_column.clone(),
        },
    )
    .ok()?;
    let i = schema.index(Role::Response)?;
    let answers: Vec<String> = source
        .rows(None)
        .ok()?
        .filter_map(|r| match r {
            Row::Record(r) => r.fields.get(i).map(|s| s.trim().to_string()),
            Row::Problem(_) => None,
        })
        .filter(|s| !s.is_empty())
        .take(MAX_COUNTED)
        .collect();
    (!answers.is_empty()).then_some(answers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_95th_percentile_is_the_nearest_rank_value() {
        let lengths: Vec<usize> = (1..=100).collect();
        assert_eq!(percentile_95(&lengths), Some(95));
        assert_eq!(percentile_95(&[7]), Some(7));
        assert_eq!(percentile_95(&[3, 1, 2]), Some(3));
        assert_eq!(percentile_95(&[]), None);
    }

    #[test]
    fn a_fitted_length_lets_most_answers_finish_and_ignores_a_few_very_long_ones() {
        // 19 answers of 40 tokens and one of 900: the limit is 40, not 900 nor the old fixed 256.
        let mut lengths = vec![40; 19];
        lengths.push(900);
        let l = fitted(&lengths, "training answers").unwrap();
        assert_eq!(l.max_tokens, 40);
        assert_eq!(
            l.basis,
            "the 95th percentile of 20 training answers (40 tokens)"
        );
    }

    #[test]
    fn a_fitted_length_keeps_between_its_floor_and_its_cap_and_says_so() {
        let short = fitted(&[2, 3, 4], "reference answers").unwrap();
        assert_eq!(short.max_tokens, MIN_ANSWER_TOKENS);
        assert!(
            short
                .basis
                .ends_with("(4 tokens, raised to the floor of 24)"),
            "{}",
            short.basis
        );
        let long = fitted(&[5000], "training answers").unwrap();
        assert_eq!(long.max_tokens, MAX_ANSWER_TOKENS);
        assert!(long.basis.ends_with("capped at 256)"), "{}", long.basis);
        assert_eq!(fitted(&[], "training answers"), None);
    }

    #[test]
    fn one_question_without_training_answers_gets_the_cap_and_says_why() {
        let none = unfitted(false);
        assert_eq!(none.max_tokens, MAX_ANSWER_TOKENS);
        assert!(none.basis.contains("no fine-tuned run"), "{}", none.basis);
        assert!(unfitted(true).basis.contains("could not be read"));
    }
}
