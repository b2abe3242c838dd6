//! Ratings: an expert's blind judgement of two answers to one question ("Answer 1 is better", a
//! tie, or "both wrong", with an optional corrected answer), kept per question with the comparison
//! it came from and, where there is one, the run it judged.
//!
//! Promises:
//! - A rating keeps both answers, which column each came from (`a` and `b`, as the user picked the
//!   columns) and which of them was shown first, so the blind choice ("Answer 1") un-blinds to a
//!   column ([`RatingRecord::preferred`]) without trusting anything the screen remembered.
//! - Rating the same question of the same comparison and pair again replaces the earlier rating
//!   (the expert changed their mind); everything else is kept.
//! - Deleting a run deletes its ratings; ratings of a comparison without a run stay until removed
//!   by hand.

use rusqlite::{params, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use crate::{clock, Result, Store, StoreError};

/// Schema version 9: the ratings table.
pub(crate) const MIGRATION_V9: &str = "
CREATE TABLE ratings (
    id          INTEGER PRIMARY KEY,
    run_id      TEXT    REFERENCES runs (id) ON DELETE CASCADE,
    comparison  TEXT    NOT NULL,
    item        INTEGER NOT NULL CHECK (item >= 0),
    prompt      TEXT    NOT NULL,
    reference   TEXT,
    a_config    TEXT    NOT NULL,
    a_answer    TEXT    NOT NULL,
    b_config    TEXT    NOT NULL,
    b_answer    TEXT    NOT NULL,
    seed        INTEGER,
    shown_first TEXT    NOT NULL CHECK (shown_first IN ('a', 'b')),
    choice      TEXT    NOT NULL CHECK (choice IN ('answer_1', 'answer_2', 'tie', 'both_wrong')),
    corrected   TEXT,
    created_at  INTEGER NOT NULL,
    UNIQUE (comparison, item, a_config, b_config)
) STRICT;
CREATE INDEX ratings_by_run ON ratings (run_id, created_at);
";

/// One of the two columns being rated, as the user picked them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The first column picked.
    A,
    /// The second column picked.
    B,
}

impl Side {
    /// The word stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::A => "a",
            Side::B => "b",
        }
    }

    /// The other column.
    pub fn other(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }

    fn parse(s: &str) -> Result<Side> {
        match s {
            "a" => Ok(Side::A),
            "b" => Ok(Side::B),
            other => Err(StoreError::BadValue {
                column: "ratings.shown_first".into(),
                detail: format!("'{other}'"),
            }),
        }
    }
}

/// What the expert chose, in the blind terms they saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    /// The answer shown first is better.
    #[serde(rename = "answer_1")]
    Answer1,
    /// The answer shown second is better.
    #[serde(rename = "answer_2")]
    Answer2,
    /// Both are as good.
    Tie,
    /// Neither is right.
    BothWrong,
}

impl Choice {
    /// Every choice, in the order the screen offers them.
    pub const ALL: [Choice; 4] = [
        Choice::Answer1,
        Choice::Answer2,
        Choice::Tie,
        Choice::BothWrong,
    ];

    /// The word stored (and typed on the command line).
    pub fn as_str(self) -> &'static str {
        match self {
            Choice::Answer1 => "answer_1",
            Choice::Answer2 => "answer_2",
            Choice::Tie => "tie",
            Choice::BothWrong => "both_wrong",
        }
    }

    fn parse(s: &str) -> Result<Choice> {
        Choice::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| StoreError::BadValue {
                column: "ratings.choice".into(),
                detail: format!("'{s}'"),
            })
    }
}

/// A rating to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRating {
    /// The run judged, when the comparison had one.
    pub run_id: Option<String>,
    /// What was compared: a comparison's report file, or a name for one chat question.
    pub comparison: String,
    /// The question's place in the comparison (0-based).
    pub item: u64,
    /// The question.
    pub prompt: String,
    /// Its reference answer, when the question set had one.
    pub reference: Option<String>,
    /// The first column picked (a configuration's name, e.g. `base`).
    pub a_config: String,
    /// Its answer.
    pub a_answer: String,
    /// The second column picked.
    pub b_config: String,
    /// Its answer.
    pub b_answer: String,
    /// The seed that drew the order shown (`None`: the rater saw which column was which).
    pub seed: Option<u64>,
    /// Which column was shown as "Answer 1".
    pub shown_first: Side,
    /// What the rater chose.
    pub choice: Choice,
    /// The rater's corrected answer, if they wrote one.
    pub corrected: Option<String>,
}

/// A recorded rating.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RatingRecord {
    /// Row id.
    pub id: i64,
    /// The run judged, if any.
    pub run_id: Option<String>,
    /// What was compared (a report file, or a chat question's name).
    pub comparison: String,
    /// The question's place in the comparison (0-based).
    pub item: u64,
    /// The question.
    pub prompt: String,
    /// Its reference answer, if any.
    pub reference: Option<String>,
    /// The first column picked.
    pub a_config: String,
    /// Its answer.
    pub a_answer: String,
    /// The second column picked.
    pub b_config: String,
    /// Its answer.
    pub b_answer: String,
    /// The seed that drew the order (`None`: not blind).
    pub seed: Option<u64>,
    /// Which column was shown as "Answer 1".
    pub shown_first: Side,
    /// The blind choice.
    pub choice: Choice,
    /// The rater's corrected answer, if any.
    pub corrected: Option<String>,
    /// When (ms); a rating given again keeps the time of the last one.
    pub created_at: i64,
}

impl RatingRecord {
    /// The column the rater preferred, un-blinded through the order shown (`None`: a tie or both
    /// wrong).
    pub fn preferred(&self) -> Option<Side> {
        match self.choice {
            Choice::Answer1 => Some(self.shown_first),
            Choice::Answer2 => Some(self.shown_first.other()),
            Choice::Tie | Choice::BothWrong => None,
        }
    }

    /// The configuration name of `side`.
    pub fn config(&self, side: Side) -> &str {
        match side {
            Side::A => &self.a_config,
            Side::B => &self.b_config,
        }
    }

    /// The answer of `side`.
    pub fn answer(&self, side: Side) -> &str {
        match side {
            Side::A => &self.a_answer,
            Side::B => &self.b_answer,
        }
    }
}

const COLUMNS: &str =
    "id, run_id, comparison, item, prompt, reference, a_config, a_answer, b_config,
                       b_answer, seed, shown_first, choice, corrected, created_at";

fn read_row(r: &Row<'_>) -> rusqlite::Result<(RatingRecord, String, String)> {
    Ok((
        RatingRecord {
            id: r.get(0)?,
            run_id: r.get(1)?,
            comparison: r.get(2)?,
            item: r.get::<_, i64>(3)?.max(0) as u64,
            prompt: r.get(4)?,
            reference: r.get(5)?,
            a_config: r.get(6)?,
            a_answer: r.get(7)?,
            b_config: r.get(8)?,
            b_answer: r.get(9)?,
            // Stored as SQLite's signed integer: the bits round-trip.
            seed: r.get::<_, Option<i64>>(10)?.map(|s| s as u64),
            shown_first: Side::A,
            choice: Choice::Tie,
            corrected: r.get(13)?,
            created_at: r.get(14)?,
        },
        r.get(11)?,
        r.get(12)?,
    ))
}

fn finish((mut record, first, choice): (RatingRecord, String, String)) -> Result<RatingRecord> {
    record.shown_first = Side::parse(&first)?;
    record.choice = Choice::parse(&choice)?;
    Ok(record)
}

impl Store {
    /// Records a rating, replacing an earlier one of the same question, comparison and columns.
    pub fn record_rating(&self, rating: &NewRating) -> Result<RatingRecord> {
        let now = clock::now_ms();
        let id = self.write(|tx| {
            if let Some(run_id) = &rating.run_id {
                if tx.query_row("SELECT COUNT(*) FROM runs WHERE id = ?1", [run_id], |r| {
                    r.get::<_, i64>(0)
                })? == 0
                {
                    return Err(StoreError::RunNotFound(run_id.clone()));
                }
            }
            tx.execute(
                "INSERT INTO ratings (run_id, comparison, item, prompt, reference, a_config, a_answer,
                                      b_config, b_answer, seed, shown_first, choice, corrected, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
                 ON CONFLICT (comparison, item, a_config, b_config) DO UPDATE SET
                     run_id = excluded.run_id, prompt = excluded.prompt,
                     reference = excluded.reference, a_answer = excluded.a_answer,
                     b_answer = excluded.b_answer, seed = excluded.seed,
                     shown_first = excluded.shown_first, choice = excluded.choice,
                     corrected = excluded.corrected, created_at = excluded.created_at",
                params![
                    rating.run_id,
                    rating.comparison,
                    rating.item as i64,
                    rating.prompt,
                    rating.reference,
                    rating.a_config,
                    rating.a_answer,
                    rating.b_config,
                    rating.b_answer,
                    rating.seed.map(|s| s as i64),
                    rating.shown_first.as_str(),
                    rating.choice.as_str(),
                    rating.corrected,
                    now
                ],
            )?;
            Ok(tx.query_row(
                "SELECT id FROM ratings WHERE comparison = ?1 AND item = ?2 AND a_config = ?3 AND b_config = ?4",
                params![
                    rating.comparison,
                    rating.item as i64,
                    rating.a_config,
                    rating.b_config
                ],
                |r| r.get::<_, i64>(0),
            )?)
        })?;
        self.rating(id)?.ok_or_else(|| StoreError::BadValue {
            column: "ratings.id".into(),
            detail: format!("rating {id} was written but cannot be read back"),
        })
    }

    /// One rating by id.
    pub fn rating(&self, id: i64) -> Result<Option<RatingRecord>> {
        let raw = self
            .conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM ratings WHERE id = ?1"),
                [id],
                read_row,
            )
            .optional()?;
        raw.map(finish).transpose()
    }

    /// Every rating, or only those of run `run_id`, oldest first.
    pub fn ratings(&self, run_id: Option<&str>) -> Result<Vec<RatingRecord>> {
        let mut stmt = self.conn().prepare(&format!(
            "SELECT {COLUMNS} FROM ratings WHERE ?1 IS NULL OR run_id = ?1 ORDER BY created_at, id"
        ))?;
        let rows = stmt.query_map([run_id], read_row)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(finish(row?)?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::temp_store;

    fn rating(item: u64, first: Side, choice: Choice) -> NewRating {
        NewRating {
            run_id: None,
            comparison: "compare-1.json".into(),
            item,
            prompt: format!("question {item}"),
            reference: Some("Saturday".into()),
            a_config: "base".into(),
            a_answer: "Sunday".into(),
            b_config: "fine_tuned".into(),
            b_answer: "Saturday".into(),
            seed: Some(u64::MAX - 7),
            shown_first: first,
            choice,
            corrected: None,
        }
    }

    #[test]
    fn a_blind_choice_un_blinds_to_the_column_that_was_shown_in_that_place() {
        let (_dir, store) = temp_store();
        let shown_b_first = store
            .record_rating(&rating(0, Side::B, Choice::Answer1))
            .unwrap();
        assert_eq!(shown_b_first.preferred(), Some(Side::B));
        let shown_a_first = store
            .record_rating(&rating(1, Side::A, Choice::Answer2))
            .unwrap();
        assert_eq!(shown_a_first.preferred(), Some(Side::B));
        let tie = store
            .record_rating(&rating(2, Side::A, Choice::Tie))
            .unwrap();
        assert_eq!(tie.preferred(), None);
        let all = store.ratings(None).unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(
            all[0].seed,
            Some(u64::MAX - 7),
            "the seed's bits round-trip"
        );
        assert_eq!(all[0].shown_first, Side::B);
        assert_eq!(all[0].choice, Choice::Answer1);
    }

    #[test]
    fn choices_serialise_as_the_words_stored_and_typed() {
        for c in Choice::ALL {
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
    }

    #[test]
    fn rating_the_same_question_again_replaces_the_earlier_rating() {
        let (_dir, store) = temp_store();
        let first = store
            .record_rating(&rating(0, Side::A, Choice::Answer1))
            .unwrap();
        let again = store
            .record_rating(&NewRating {
                corrected: Some("Saturday, 9 to 12".into()),
                ..rating(0, Side::A, Choice::BothWrong)
            })
            .unwrap();
        assert_eq!(first.id, again.id);
        let all = store.ratings(None).unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].choice, Choice::BothWrong);
        assert_eq!(all[0].corrected.as_deref(), Some("Saturday, 9 to 12"));
    }

    #[test]
    fn a_rating_of_an_unknown_run_is_refused_and_a_deleted_runs_ratings_go_with_it() {
        let (_dir, store) = temp_store();
        let unknown = store.record_rating(&NewRating {
            run_id: Some("nope".into()),
            ..rating(0, Side::A, Choice::Tie)
        });
        assert!(matches!(unknown, Err(StoreError::RunNotFound(_))));
        let run = store
            .create_run(&crate::NewRun {
                name: None,
                task: "generate".into(),
                method: "lora".into(),
                model_id: None,
                model_ref: "tiny".into(),
                dataset_id: None,
                dataset_ref: "faq.csv".into(),
                data_fingerprint: None,
                config: serde_json::json!({}),
                device: "cpu".into(),
                hardware: serde_json::json!({}),
                versions: serde_json::json!({}),
                seed: 0,
                split: serde_json::json!({}),
                primary_metric: None,
                parent_run: None,
            })
            .unwrap();
        store
            .record_rating(&NewRating {
                run_id: Some(run.id.clone()),
                ..rating(0, Side::A, Choice::Tie)
            })
            .unwrap();
        store
            .record_rating(&NewRating {
                comparison: "chat".into(),
                ..rating(0, Side::A, Choice::Tie)
            })
            .unwrap();
        assert_eq!(store.ratings(Some(&run.id)).unwrap().len(), 1);
        store.delete_run(&run.id).unwrap();
        assert_eq!(
            store.ratings(None).unwrap().len(),
            1,
            "the run-less rating stays"
        );
    }
}
