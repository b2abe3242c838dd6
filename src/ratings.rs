//! Blind A/B rating: the expert's judgement of two columns' answers to a question (Chat & Compare's
//! "Rate blind", or `tunesmith ratings add`), kept in the run history per question.
//!
//! Promises:
//! - The order shown is not taken from the caller: it is drawn again here from the recorded seed
//!   ([`crate::ratings_blind`]), so a stored "Answer 1" always un-blinds to the column that was
//!   really shown first. Without a seed the rater saw the columns by name (`a` first).
//! - The two columns are different configurations; the question is not empty; a corrected answer
//!   of only spaces counts as none. Each problem is refused with what to do.
//! - A rating given again for the same question, comparison and columns replaces the earlier one.
//!
//! The tally is in [`crate::ratings_tally`], the export in [`crate::ratings_export`].

use serde::{Deserialize, Serialize};
use tunesmith_store::{Choice, NewRating, RatingRecord, Side};

use crate::compare::Configuration;
use crate::home::Home;
use crate::{Error, Result};

/// One of the two answers being rated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct RatedAnswer {
    /// The column that wrote it.
    pub configuration: Configuration,
    /// The answer.
    pub text: String,
}

/// A rating as the app (and `tunesmith ratings add`) gives it.
#[derive(Debug, Clone, Deserialize, specta::Type)]
pub struct RateArgs {
    /// The run judged (id, prefix or name), when the comparison had one.
    #[specta(optional)]
    pub run: Option<String>,
    /// What was compared: the comparison's saved report, or a name for one chat question.
    pub comparison: String,
    /// The question's place in the comparison (0-based); the blind order is drawn for it.
    pub item: u32,
    /// The question.
    pub prompt: String,
    /// Its reference answer, when the question set had one.
    #[specta(optional)]
    pub reference: Option<String>,
    /// The first column picked.
    pub a: RatedAnswer,
    /// The second column picked.
    pub b: RatedAnswer,
    /// The seed of the blind order shown (from `ratings_blind`); none: the rater saw the columns by
    /// name, `a` first.
    #[specta(optional)]
    pub seed: Option<u32>,
    /// What the rater chose, in the blind terms shown.
    pub choice: Choice,
    /// The rater's corrected answer.
    #[specta(optional)]
    pub corrected: Option<String>,
}

/// A stored rating with its choice un-blinded.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct Rating {
    /// The rating as stored.
    #[serde(flatten)]
    pub record: RatingRecord,
    /// Whether the rater saw the answers without their sources.
    pub blind: bool,
    /// The configuration preferred (`None`: a tie or both wrong).
    pub preferred: Option<Configuration>,
}

impl Rating {
    /// Un-blinds a stored rating; a configuration name this build does not know is reported.
    pub fn from_record(record: RatingRecord) -> Result<Rating> {
        let preferred = record
            .preferred()
            .map(|side| configuration_of(&record, side))
            .transpose()?;
        Ok(Rating {
            blind: record.seed.is_some(),
            preferred,
            record,
        })
    }
}

/// The configuration stored for `side` of `record`.
pub fn configuration_of(record: &RatingRecord, side: Side) -> Result<Configuration> {
    let name = record.config(side);
    Configuration::named(name).ok_or_else(|| {
        Error::invalid(format!(
            "rating {} names a column `{name}` this Tunesmith does not know (known: base, fine_tuned, base_rag, fine_tuned_rag)",
            record.id
        ))
    })
}

/// Checks and records a rating.
pub fn rate(home: &Home, args: &RateArgs) -> Result<Rating> {
    if args.a.configuration == args.b.configuration {
        return Err(Error::invalid(format!(
            "both answers come from the {} column: pick two different columns to compare",
            args.a.configuration.label()
        )));
    }
    let prompt = args.prompt.trim();
    if prompt.is_empty() {
        return Err(Error::invalid(
            "the question being rated is empty: rate the answers to a question that was asked",
        ));
    }
    if args.comparison.trim().is_empty() {
        return Err(Error::invalid(
            "the rating names no comparison: give the comparison's report file or a name for the question",
        ));
    }
    let store = crate::runs::open_store(home)?;
    let run_id = match &args.run {
        Some(run) => Some(store.resolve_run(run)?.id),
        None => None,
    };
    let shown_first = match args.seed {
        Some(seed) => crate::ratings_blind::shown_first(seed, u64::from(args.item)),
        None => Side::A,
    };
    let corrected = args
        .corrected
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string);
    let record = store.record_rating(&NewRating {
        run_id,
        comparison: args.comparison.trim().to_string(),
        item: u64::from(args.item),
        prompt: prompt.to_string(),
        reference: args
            .reference
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_string),
        a_config: args.a.configuration.name().to_string(),
        a_answer: args.a.text.trim().to_string(),
        b_config: args.b.configuration.name().to_string(),
        b_answer: args.b.text.trim().to_string(),
        seed: args.seed.map(u64::from),
        shown_first,
        choice: args.choice,
        corrected,
    })?;
    Rating::from_record(record)
}

/// Every rating (or run `run`'s), oldest first, un-blinded.
pub fn list(home: &Home, run: Option<&str>) -> Result<Vec<Rating>> {
    let store = crate::runs::open_for_reading(home)?;
    let run_id = match run {
        Some(run) => Some(store.resolve_run(run)?.id),
        None => None,
    };
    store
        .ratings(run_id.as_deref())?
        .into_iter()
        .map(Rating::from_record)
        .collect()
}

/// A comparison report saved with a run (`compare-*.json`), read back to rate its answers.
#[derive(Debug, Deserialize)]
struct SavedReport {
    run: Option<String>,
    questions: Vec<SavedQuestion>,
}

#[derive(Debug, Deserialize)]
struct SavedQuestion {
    question: String,
    reference: String,
    answers: Vec<RatedAnswer>,
}

/// One question of a report with its two answers in the blind order.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct BlindQuestion {
    /// The question's place in the report (1-based, as `ratings add --question` takes it).
    pub question: u32,
    /// The question.
    pub prompt: String,
    /// The answer shown first.
    pub answer_1: String,
    /// The answer shown second.
    pub answer_2: String,
}

/// A report's answers of two columns, blind: what `tunesmith ratings blind` shows.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct BlindReport {
    /// The report.
    pub report: std::path::PathBuf,
    /// The seed of the order (give it to `ratings add --seed`).
    pub seed: u32,
    /// The questions.
    pub questions: Vec<BlindQuestion>,
}

fn read_report(path: &std::path::Path) -> Result<SavedReport> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::invalid(format!(
            "the comparison report {} cannot be read: {e}; give a compare-*.json file from a run's compare folder",
            path.display()
        ))
    })?;
    serde_json::from_str(&text).map_err(|e| {
        Error::invalid(format!(
            "{} is not a comparison report ({e}); give a compare-*.json file saved by `tunesmith compare --run`",
            path.display()
        ))
    })
}

fn answer_of(
    q: &SavedQuestion,
    c: Configuration,
    path: &std::path::Path,
    n: usize,
) -> Result<String> {
    q.answers
        .iter()
        .find(|a| a.configuration == c)
        .map(|a| a.text.clone())
        .ok_or_else(|| {
            let had: Vec<&str> = q.answers.iter().map(|a| a.configuration.name()).collect();
            Error::invalid(format!(
                "{}, question {n}: there is no {} answer to rate (the report has: {})",
                path.display(),
                c.name(),
                had.join(", ")
            ))
        })
}

/// The answers of columns `a` and `b` in `report`, in the blind order drawn from `seed` (a fresh
/// one when `None`).
pub fn blind_report(
    report: &std::path::Path,
    a: Configuration,
    b: Configuration,
    seed: Option<u32>,
) -> Result<BlindReport> {
    let saved = read_report(report)?;
    let order = crate::ratings_blind::order(seed, saved.questions.len());
    let mut questions = Vec::new();
    for (i, (q, first)) in saved.questions.iter().zip(&order.first).enumerate() {
        let (ta, tb) = (
            answer_of(q, a, report, i + 1)?,
            answer_of(q, b, report, i + 1)?,
        );
        let (answer_1, answer_2) = if *first == Side::A {
            (ta, tb)
        } else {
            (tb, ta)
        };
        questions.push(BlindQuestion {
            question: i as u32 + 1,
            prompt: q.question.clone(),
            answer_1,
            answer_2,
        });
    }
    Ok(BlindReport {
        report: report.to_path_buf(),
        seed: order.seed,
        questions,
    })
}

/// What to rate in a saved report: question `question` (1-based), columns `a` and `b`.
#[derive(Debug, Clone)]
pub struct ReportRating {
    /// The report file.
    pub report: std::path::PathBuf,
    /// The question's place (1-based).
    pub question: u32,
    /// The first column.
    pub a: Configuration,
    /// The second column.
    pub b: Configuration,
    /// The seed shown by `ratings blind` (`None`: the rater saw the columns by name).
    pub seed: Option<u32>,
    /// The choice.
    pub choice: Choice,
    /// A corrected answer.
    pub corrected: Option<String>,
}

/// Records a rating of a saved report's question (the command line's way to rate).
pub fn rate_report(home: &Home, r: &ReportRating) -> Result<Rating> {
    let saved = read_report(&r.report)?;
    let n = saved.questions.len();
    let q = (r.question as usize)
        .checked_sub(1)
        .and_then(|i| saved.questions.get(i))
        .ok_or_else(|| {
            Error::invalid(format!(
                "{} has questions 1 to {n}; question {} is not one of them",
                r.report.display(),
                r.question
            ))
        })?;
    let n = r.question as usize;
    let args = RateArgs {
        run: saved.run.clone(),
        // The same report named by another path is the same comparison (the app names it absolutely).
        comparison: std::fs::canonicalize(&r.report)
            .unwrap_or_else(|_| r.report.clone())
            .display()
            .to_string(),
        item: r.question - 1,
        prompt: q.question.clone(),
        reference: Some(q.reference.clone()),
        a: RatedAnswer {
            configuration: r.a,
            text: answer_of(q, r.a, &r.report, n)?,
        },
        b: RatedAnswer {
            configuration: r.b,
            text: answer_of(q, r.b, &r.report, n)?,
        },
        seed: r.seed,
        choice: r.choice,
        corrected: r.corrected.clone(),
    };
    rate(home, &args)
}

/// The choice written `s` on the command line: `1`, `2`, `tie`, `both-wrong` (or the stored words).
pub fn parse_choice(s: &str) -> Option<Choice> {
    let s = s.trim().to_ascii_lowercase().replace('-', "_");
    match s.as_str() {
        "1" | "answer1" => Some(Choice::Answer1),
        "2" | "answer2" => Some(Choice::Answer2),
        "both_wrong" | "wrong" => Some(Choice::BothWrong),
        other => Choice::ALL.into_iter().find(|c| c.as_str() == other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(item: u32, seed: Option<u32>, choice: Choice) -> RateArgs {
        RateArgs {
            run: None,
            comparison: "compare-1.json".into(),
            item,
            prompt: format!("question {item}"),
            reference: None,
            a: RatedAnswer {
                configuration: Configuration::Base,
                text: "base answer".into(),
            },
            b: RatedAnswer {
                configuration: Configuration::FineTuned,
                text: "tuned answer".into(),
            },
            seed,
            choice,
            corrected: Some("  ".into()),
        }
    }

    #[test]
    fn a_stored_blind_rating_un_blinds_to_the_column_shown_in_the_chosen_place() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path().to_path_buf()).unwrap();
        let order = crate::ratings_blind::order(Some(9), 40);
        for (item, first) in order.first.iter().enumerate() {
            // The rater always picks the fine-tuned answer, wherever it was shown.
            let choice = if *first == Side::B {
                Choice::Answer1
            } else {
                Choice::Answer2
            };
            let r = rate(&home, &args(item as u32, Some(9), choice)).unwrap();
            assert!(r.blind);
            assert_eq!(r.record.shown_first, *first);
            assert_eq!(r.preferred, Some(Configuration::FineTuned), "item {item}");
            assert_eq!(r.record.corrected, None, "spaces are no correction");
        }
        let all = list(&home, None).unwrap();
        assert_eq!(all.len(), 40);
        assert!(all
            .iter()
            .all(|r| r.preferred == Some(Configuration::FineTuned)));
        let seen: std::collections::HashSet<_> = all.iter().map(|r| r.record.shown_first).collect();
        assert_eq!(seen.len(), 2, "both orders were shown");
    }

    #[test]
    fn a_rating_of_one_column_against_itself_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path().to_path_buf()).unwrap();
        let mut same = args(0, None, Choice::Tie);
        same.b.configuration = Configuration::Base;
        let err = rate(&home, &same).unwrap_err().to_string();
        assert!(err.contains("two different columns"), "{err}");
    }

    #[test]
    fn choices_are_read_as_people_type_them() {
        assert_eq!(parse_choice("1"), Some(Choice::Answer1));
        assert_eq!(parse_choice("answer_2"), Some(Choice::Answer2));
        assert_eq!(parse_choice("Both-Wrong"), Some(Choice::BothWrong));
        assert_eq!(parse_choice("tie"), Some(Choice::Tie));
        assert_eq!(parse_choice("3"), None);
    }
}
