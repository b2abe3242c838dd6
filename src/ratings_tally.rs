//! The tally of blind ratings: per pair of columns, how often each was preferred, as a win rate with
//! a 95 % Wilson score interval, in plain words ("The fine-tuned model was preferred in 7 of 10
//! (95 % interval 40-89 %); 1 tie and 2 both wrong are not counted.").
//!
//! Promises:
//! - Ties and "both wrong" are shown apart, never counted as half a win: the win rate is over the
//!   ratings where one answer was preferred.
//! - The rate is about the more elaborate column of the pair (fine-tuned over base, RAG over none),
//!   whichever order the rater picked them in; both directions of a pair are tallied together.
//! - The interval is Wilson's score interval (it stays inside 0-100 % and is honest for few
//!   ratings, where the normal approximation is not).

use std::collections::BTreeMap;

use serde::Serialize;
use tunesmith_store::{Choice, RatingRecord, Side};

use crate::compare::Configuration;
use crate::ratings::configuration_of;
use crate::Result;

/// The normal quantile of a two-sided 95 % interval.
pub const Z_95: f64 = 1.959_963_984_540_054;

/// Wilson's score interval for `successes` out of `trials` at normal quantile `z`, as fractions
/// (`None` when there are no trials).
pub fn wilson(successes: u64, trials: u64, z: f64) -> Option<(f64, f64)> {
    if trials == 0 {
        return None;
    }
    let n = trials as f64;
    let p = successes.min(trials) as f64 / n;
    let z2 = z * z;
    let denominator = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denominator;
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denominator;
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

/// One pair of columns' ratings.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct PairTally {
    /// The column the win rate is about (the more elaborate one).
    pub challenger: Configuration,
    /// The column it was compared with.
    pub baseline: Configuration,
    /// Ratings that preferred the challenger.
    pub challenger_preferred: u64,
    /// Ratings that preferred the baseline.
    pub baseline_preferred: u64,
    /// Ratings that found both as good.
    pub ties: u64,
    /// Ratings that found both wrong.
    pub both_wrong: u64,
    /// Ratings with a corrected answer.
    pub corrected: u64,
    /// Every rating of the pair.
    pub ratings: u64,
    /// The challenger's share of the ratings where one answer was preferred (0-1; `None`: none was).
    pub win_rate: Option<f64>,
    /// The 95 % Wilson interval's lower end (0-1).
    pub low: Option<f64>,
    /// Its upper end (0-1).
    pub high: Option<f64>,
    /// The result in plain words.
    pub text: String,
}

/// Every pair's tally.
#[derive(Debug, Clone, PartialEq, Serialize, specta::Type)]
pub struct RatingsTally {
    /// Ratings tallied.
    pub ratings: u64,
    /// One entry per pair of columns rated, most rated first.
    pub pairs: Vec<PairTally>,
    /// How ties are counted, in plain words.
    pub rule: String,
}

/// What the tally says about ties, for every reader of it.
pub const TIES_RULE: &str =
    "Ties and \"both wrong\" are shown apart, not counted as half a win: the win rate is over the ratings where one answer was preferred. The interval is a 95 % Wilson score interval.";

/// Tallies `records` per pair of columns.
pub fn tally(records: &[RatingRecord]) -> Result<RatingsTally> {
    let rank = |c: Configuration| Configuration::ALL.iter().position(|x| *x == c);
    let mut pairs: BTreeMap<(Option<usize>, Option<usize>), PairTally> = BTreeMap::new();
    for r in records {
        let (a, b) = (configuration_of(r, Side::A)?, configuration_of(r, Side::B)?);
        let (challenger, baseline) = if rank(a) >= rank(b) { (a, b) } else { (b, a) };
        let entry = pairs
            .entry((rank(challenger), rank(baseline)))
            .or_insert_with(|| empty(challenger, baseline));
        entry.ratings += 1;
        if r.corrected.is_some() {
            entry.corrected += 1;
        }
        match r.choice {
            Choice::Tie => entry.ties += 1,
            Choice::BothWrong => entry.both_wrong += 1,
            Choice::Answer1 | Choice::Answer2 => {
                let preferred = r.preferred().map(|side| configuration_of(r, side));
                if preferred.transpose()? == Some(challenger) {
                    entry.challenger_preferred += 1;
                } else {
                    entry.baseline_preferred += 1;
                }
            }
        }
    }
    let mut pairs: Vec<PairTally> = pairs.into_values().map(finish).collect();
    pairs.sort_by_key(|p| std::cmp::Reverse(p.ratings));
    Ok(RatingsTally {
        ratings: records.len() as u64,
        pairs,
        rule: TIES_RULE.to_string(),
    })
}

/// Tallies the history's ratings (or run `run`'s).
pub fn tally_history(home: &crate::home::Home, run: Option<&str>) -> Result<RatingsTally> {
    let records: Vec<RatingRecord> = crate::ratings::list(home, run)?
        .into_iter()
        .map(|r| r.record)
        .collect();
    tally(&records)
}

fn empty(challenger: Configuration, baseline: Configuration) -> PairTally {
    PairTally {
        challenger,
        baseline,
        challenger_preferred: 0,
        baseline_preferred: 0,
        ties: 0,
        both_wrong: 0,
        corrected: 0,
        ratings: 0,
        win_rate: None,
        low: None,
        high: None,
        text: String::new(),
    }
}

fn finish(mut p: PairTally) -> PairTally {
    let decided = p.challenger_preferred + p.baseline_preferred;
    let interval = wilson(p.challenger_preferred, decided, Z_95);
    p.win_rate = (decided > 0).then(|| p.challenger_preferred as f64 / decided as f64);
    p.low = interval.map(|i| i.0);
    p.high = interval.map(|i| i.1);
    p.text = in_words(&p);
    p
}

fn percent(x: f64) -> String {
    format!("{:.0}", 100.0 * x)
}

fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The pair's result in plain words.
fn in_words(p: &PairTally) -> String {
    let decided = p.challenger_preferred + p.baseline_preferred;
    let who = capitalise(p.challenger.in_words());
    let against = p.baseline.in_words();
    let mut apart = Vec::new();
    if p.ties > 0 {
        apart.push(count(p.ties, "tie", "ties"));
    }
    if p.both_wrong > 0 {
        apart.push(format!("{} both wrong", p.both_wrong));
    }
    let head = match (p.low, p.high) {
        (Some(low), Some(high)) => format!(
            "{who} was preferred to {against} in {} of {decided} (95 % interval {}-{} %)",
            p.challenger_preferred,
            percent(low),
            percent(high)
        ),
        _ => format!(
            "Neither {} nor {against} was preferred yet",
            p.challenger.in_words()
        ),
    };
    match (apart.is_empty(), decided) {
        (true, _) => format!("{head}."),
        (false, 0) => format!("{head}: {}.", apart.join(" and ")),
        (false, _) => format!("{head}; {} not counted.", apart.join(" and ")),
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 5e-5
    }

    #[test]
    fn wilson_intervals_match_the_published_values() {
        // Reference values: statsmodels `proportion_confint(k, n, method="wilson")`, and Newcombe
        // (1998), Table I (81/263: 0.2553-0.3662).
        let (l, h) = wilson(7, 10, Z_95).unwrap();
        assert!(close(l, 0.396_8) && close(h, 0.892_2), "{l} {h}");
        let (l, h) = wilson(0, 10, Z_95).unwrap();
        assert!(close(l, 0.0) && close(h, 0.277_5), "{l} {h}");
        let (l, h) = wilson(10, 10, Z_95).unwrap();
        assert!(close(l, 0.722_5) && close(h, 1.0), "{l} {h}");
        let (l, h) = wilson(81, 263, Z_95).unwrap();
        assert!(
            (l - 0.2553).abs() < 1e-4 && (h - 0.3662).abs() < 1e-4,
            "{l} {h}"
        );
        assert_eq!(wilson(0, 0, Z_95), None);
    }

    fn record(a: &str, b: &str, first: Side, choice: Choice) -> RatingRecord {
        RatingRecord {
            id: 1,
            run_id: None,
            comparison: "c".into(),
            item: 0,
            prompt: "q".into(),
            reference: None,
            a_config: a.into(),
            a_answer: "x".into(),
            b_config: b.into(),
            b_answer: "y".into(),
            seed: Some(1),
            shown_first: first,
            choice,
            corrected: None,
            created_at: 0,
        }
    }

    #[test]
    fn the_tally_counts_the_fine_tuned_model_whichever_side_it_was_picked_and_shown_on() {
        let mut all = Vec::new();
        // 7 wins for fine-tuned: picked as b and shown first, picked as a and shown second ...
        for _ in 0..4 {
            all.push(record("base", "fine_tuned", Side::B, Choice::Answer1));
        }
        for _ in 0..3 {
            all.push(record("fine_tuned", "base", Side::B, Choice::Answer2));
        }
        // ... 3 for base, 1 tie, 2 both wrong.
        for _ in 0..3 {
            all.push(record("base", "fine_tuned", Side::B, Choice::Answer2));
        }
        all.push(record("base", "fine_tuned", Side::A, Choice::Tie));
        all.push(record("fine_tuned", "base", Side::A, Choice::BothWrong));
        all.push(record("fine_tuned", "base", Side::B, Choice::BothWrong));
        let t = tally(&all).unwrap();
        assert_eq!(t.ratings, 13);
        assert_eq!(t.pairs.len(), 1);
        let p = &t.pairs[0];
        assert_eq!(
            (p.challenger, p.baseline),
            (Configuration::FineTuned, Configuration::Base)
        );
        assert_eq!(
            (
                p.challenger_preferred,
                p.baseline_preferred,
                p.ties,
                p.both_wrong
            ),
            (7, 3, 1, 2)
        );
        assert!(close(p.win_rate.unwrap(), 0.7));
        assert_eq!(
            p.text,
            "The fine-tuned model was preferred to the base model in 7 of 10 (95 % interval 40-89 %); 1 tie and 2 both wrong not counted."
        );
    }

    #[test]
    fn pairs_are_tallied_apart_and_a_pair_without_a_preference_says_so() {
        let all = vec![
            record("fine_tuned", "fine_tuned_rag", Side::A, Choice::Tie),
            record("base", "base_rag", Side::A, Choice::Answer2),
            record("base", "base_rag", Side::B, Choice::Answer2),
        ];
        let t = tally(&all).unwrap();
        assert_eq!(t.pairs.len(), 2);
        assert_eq!(t.pairs[0].challenger, Configuration::BaseRag);
        assert_eq!(
            (
                t.pairs[0].challenger_preferred,
                t.pairs[0].baseline_preferred
            ),
            (1, 1)
        );
        assert_eq!(
            t.pairs[1].text,
            "Neither the fine-tuned model with your documents nor the fine-tuned model was preferred yet: 1 tie."
        );
        assert_eq!(t.pairs[1].win_rate, None);
    }
}
