//! Metrics: one row per (run, step, split, name) value, per training step and per evaluation.
//! Training loops produce many points quickly, so writes are batched: [`MetricWriter`] buffers
//! points and writes each batch in one transaction with one prepared statement (100,000 points in
//! well under a second; see bench/store_metrics.rs).

use std::time::{Duration, Instant};

use std::collections::HashMap;

use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::{clock, Result, Store, StoreError};

/// Schema version 4: the metrics tables. A series (run, name, split) is stored once; each point is
/// four numbers, so a training loop's many points stay small and fast to write and to index.
pub(crate) const MIGRATION_V4: &str = "
CREATE TABLE metric_series (
    id      INTEGER PRIMARY KEY,
    run_id  TEXT    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name    TEXT    NOT NULL,
    split   TEXT    NOT NULL CHECK (split IN ('train', 'validation', 'test')),
    UNIQUE (run_id, name, split)
) STRICT;
CREATE TABLE metrics (
    id        INTEGER PRIMARY KEY,
    series_id INTEGER NOT NULL REFERENCES metric_series (id) ON DELETE CASCADE,
    step      INTEGER NOT NULL CHECK (step >= 0),
    value     REAL,
    at        INTEGER NOT NULL
) STRICT;
CREATE INDEX metrics_by_series ON metrics (series_id, step);
";

/// Which part of the data a metric was measured on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// The training batches (loss, learning rate, tokens/s).
    Train,
    /// The validation set (early stopping, best checkpoint).
    Validation,
    /// The held-out test set.
    Test,
}

impl Split {
    /// The word stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Validation => "validation",
            Split::Test => "test",
        }
    }

    /// Parses a stored word.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "train" => Ok(Split::Train),
            "validation" => Ok(Split::Validation),
            "test" => Ok(Split::Test),
            other => Err(StoreError::BadValue {
                column: "split".into(),
                detail: format!("'{other}'"),
            }),
        }
    }
}

/// One measured value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MetricPoint {
    /// Optimiser step (0 before training).
    pub step: u64,
    /// Where it was measured.
    pub split: Split,
    /// `loss`, `lr`, `accuracy`, `tokens_per_s` ...
    pub name: String,
    /// The value (NaN and infinities are stored as NULL: SQLite has no NaN).
    pub value: f64,
    /// When (ms since the epoch, UTC).
    pub at: i64,
}

impl MetricPoint {
    /// A point measured now.
    pub fn now(step: u64, split: Split, name: impl Into<String>, value: f64) -> Self {
        MetricPoint {
            step,
            split,
            name: name.into(),
            value,
            at: clock::now_ms(),
        }
    }
}

/// Summary of one metric series of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MetricSummary {
    /// Metric name.
    pub name: String,
    /// Split.
    pub split: Split,
    /// Number of points.
    pub points: u64,
    /// The value at the last step.
    pub last: Option<f64>,
    /// The last step.
    pub last_step: u64,
    /// Smallest value.
    pub min: Option<f64>,
    /// Largest value.
    pub max: Option<f64>,
}

impl Store {
    /// Writes `points` for `run_id` in one transaction.
    pub fn record_metrics(&self, run_id: &str, points: &[MetricPoint]) -> Result<()> {
        if points.is_empty() {
            return Ok(());
        }
        self.write(|tx| {
            if tx.query_row("SELECT COUNT(*) FROM runs WHERE id = ?1", [run_id], |r| {
                r.get::<_, i64>(0)
            })? == 0
            {
                return Err(StoreError::RunNotFound(run_id.to_string()));
            }
            let mut series: HashMap<(&str, Split), i64> = HashMap::new();
            let mut find = tx.prepare_cached(
                "SELECT id FROM metric_series WHERE run_id = ?1 AND name = ?2 AND split = ?3",
            )?;
            let mut create = tx.prepare_cached(
                "INSERT INTO metric_series (run_id, name, split) VALUES (?1, ?2, ?3)",
            )?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO metrics (series_id, step, value, at) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for p in points {
                let key = (p.name.as_str(), p.split);
                let series_id = match series.get(&key) {
                    Some(id) => *id,
                    None => {
                        let id = match find
                            .query_row(params![run_id, p.name, p.split.as_str()], |r| {
                                r.get::<_, i64>(0)
                            })
                            .optional()?
                        {
                            Some(id) => id,
                            None => {
                                create.execute(params![run_id, p.name, p.split.as_str()])?;
                                tx.last_insert_rowid()
                            }
                        };
                        series.insert(key, id);
                        id
                    }
                };
                let value = p.value.is_finite().then_some(p.value);
                insert.execute(params![series_id, p.step as i64, value, p.at])?;
            }
            Ok(())
        })
    }

    /// Removes a run's points recorded after `step`: a run resumed from a checkpoint at `step`
    /// records those steps again, and its curves must not show both attempts. Returns the number of
    /// points removed.
    pub fn truncate_metrics_after(&self, run_id: &str, step: u64) -> Result<usize> {
        self.write(|tx| {
            Ok(tx.execute(
                "DELETE FROM metrics WHERE step > ?2
                   AND series_id IN (SELECT id FROM metric_series WHERE run_id = ?1)",
                params![run_id, step as i64],
            )?)
        })
    }

    /// Every point of one series, by step.
    pub fn metric_series(
        &self,
        run_id: &str,
        name: &str,
        split: Split,
    ) -> Result<Vec<(u64, Option<f64>)>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT m.step, m.value FROM metrics m JOIN metric_series s ON s.id = m.series_id
              WHERE s.run_id = ?1 AND s.name = ?2 AND s.split = ?3 ORDER BY m.step, m.id",
        )?;
        let rows = stmt.query_map(params![run_id, name, split.as_str()], |r| {
            Ok((r.get::<_, i64>(0)? as u64, r.get::<_, Option<f64>>(1)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// One summary per (name, split) series of a run: count, last, min, max.
    pub fn metric_summaries(&self, run_id: &str) -> Result<Vec<MetricSummary>> {
        let mut stmt = self.conn().prepare(
            "SELECT s.name, s.split, COUNT(m.id), MIN(m.value), MAX(m.value), COALESCE(MAX(m.step), 0),
                    (SELECT value FROM metrics l WHERE l.series_id = s.id ORDER BY step DESC, id DESC LIMIT 1)
               FROM metric_series s JOIN metrics m ON m.series_id = s.id
              WHERE s.run_id = ?1 GROUP BY s.id ORDER BY s.split, s.name",
        )?;
        let rows = stmt.query_map([run_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Option<f64>>(3)?,
                r.get::<_, Option<f64>>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, Option<f64>>(6)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (name, split, points, min, max, last_step, last) = row?;
            out.push(MetricSummary {
                name,
                split: Split::parse(&split)?,
                points: points as u64,
                last,
                last_step: last_step as u64,
                min,
                max,
            });
        }
        Ok(out)
    }

    /// A batched writer for `run_id`'s metrics.
    pub fn metric_writer(&self, run_id: &str) -> MetricWriter<'_> {
        MetricWriter::new(self, run_id)
    }
}

/// Buffers metric points and writes them in batches: when the buffer holds `batch_size` points or
/// `max_delay` has passed since the last write, whichever is first, and on `flush`. Points still
/// buffered when the writer is dropped are written then (errors at that point are lost: call
/// `flush` to see them).
#[derive(Debug)]
pub struct MetricWriter<'s> {
    store: &'s Store,
    run_id: String,
    buffer: Vec<MetricPoint>,
    batch_size: usize,
    max_delay: Duration,
    last_write: Instant,
    written: u64,
}

impl<'s> MetricWriter<'s> {
    /// Default: write every 1,000 points or every second.
    pub fn new(store: &'s Store, run_id: &str) -> Self {
        MetricWriter {
            store,
            run_id: run_id.to_string(),
            buffer: Vec::new(),
            batch_size: 1000,
            max_delay: Duration::from_secs(1),
            last_write: Instant::now(),
            written: 0,
        }
    }

    /// Changes the batch size and the longest delay before buffered points are written.
    pub fn with_batching(mut self, batch_size: usize, max_delay: Duration) -> Self {
        self.batch_size = batch_size.max(1);
        self.max_delay = max_delay;
        self
    }

    /// Buffers one point; writes the batch if it is full or old enough.
    pub fn push(&mut self, point: MetricPoint) -> Result<()> {
        self.buffer.push(point);
        if self.buffer.len() >= self.batch_size || self.last_write.elapsed() >= self.max_delay {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes everything buffered, in one transaction.
    pub fn flush(&mut self) -> Result<()> {
        if !self.buffer.is_empty() {
            self.store.record_metrics(&self.run_id, &self.buffer)?;
            self.written += self.buffer.len() as u64;
            self.buffer.clear();
        }
        self.last_write = Instant::now();
        Ok(())
    }

    /// Points written so far (not counting the buffer).
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Points buffered, not yet written.
    pub fn pending(&self) -> usize {
        self.buffer.len()
    }
}

impl Drop for MetricWriter<'_> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}
