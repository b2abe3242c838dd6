//! A run's preparation: the 15-60 seconds of reading the data, loading the model, tokenising and
//! (for feature extraction) caching features before the first step, reported stage by stage so the
//! user sees progress instead of empty charts, and counted in the run's recorded duration.
//!
//! Promises:
//! - Each stage is announced as a `preparing` event when it begins, and stages that count their
//!   items (caching features) report their count as they go, at most once a percent.
//! - The events carry the run's id when it already has one (a resume); a new run gets its id only
//!   once its record is created after preparation, so its `preparing` events carry an empty id.
//! - [`Preparation::started_ms`] is when preparation began: the run's record starts there, so a
//!   16 s run of which 15 s were preparation is recorded as 16 s, not 1 s.

use std::time::Instant;

use tunesmith_engine::train::{PrepStage, TrainEvent};

use super::plan::{Start, TrainPlan};
use super::request::RunEvent;

/// The preparation of one training session.
#[derive(Debug)]
pub(crate) struct Preparation {
    started: Instant,
    started_ms: i64,
    run_id: String,
    /// The last count reported, to report a long stage's progress in steps of a percent.
    last: Option<(PrepStage, usize)>,
}

impl Preparation {
    /// Preparation of `plan`'s session begins now.
    pub fn begin(plan: &TrainPlan) -> Preparation {
        let run_id = match plan.start() {
            Start::Resume { run_id, .. } => run_id.clone(),
            Start::New | Start::Rerun { .. } => String::new(),
        };
        Preparation {
            started: Instant::now(),
            started_ms: tunesmith_store::clock::now_ms(),
            run_id,
            last: None,
        }
    }

    /// When preparation began (ms since the epoch): where the run's recorded duration starts.
    pub fn started_ms(&self) -> i64 {
        self.started_ms
    }

    /// Reports that `stage` begins.
    pub fn stage(&mut self, stage: PrepStage, on_event: &mut dyn FnMut(&RunEvent)) {
        self.last = None;
        self.send(stage, None, None, on_event);
    }

    /// Reports `done` of `total` items of `stage`, when a percent more is done (and at the end).
    pub fn count(
        &mut self,
        stage: PrepStage,
        done: usize,
        total: usize,
        on_event: &mut dyn FnMut(&RunEvent),
    ) {
        let step = (total / 100).max(1);
        let due = match self.last {
            Some((s, last)) if s == stage => done >= last + step || done == total,
            _ => true,
        };
        if due {
            self.last = Some((stage, done));
            self.send(stage, Some(done), Some(total), on_event);
        }
    }

    fn send(
        &self,
        stage: PrepStage,
        done: Option<usize>,
        total: Option<usize>,
        on_event: &mut dyn FnMut(&RunEvent),
    ) {
        on_event(&RunEvent::new(
            &self.run_id,
            TrainEvent::Preparing {
                stage,
                done,
                total,
                elapsed: self.started.elapsed().as_secs_f64(),
            },
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prep() -> Preparation {
        Preparation {
            started: Instant::now(),
            started_ms: 0,
            run_id: String::new(),
            last: None,
        }
    }

    #[test]
    fn a_counted_stage_reports_at_most_once_a_percent_and_always_its_end() {
        let mut p = prep();
        let mut seen = Vec::new();
        let mut on = |e: &RunEvent| {
            if let TrainEvent::Preparing { done, total, .. } = e.event {
                seen.push((done, total));
            }
        };
        p.stage(PrepStage::CachingFeatures, &mut on);
        for done in (0..=1000).step_by(5) {
            p.count(PrepStage::CachingFeatures, done, 1000, &mut on);
        }
        assert_eq!(seen[0], (None, None));
        assert_eq!(seen.len(), 1 + 101, "{seen:?}");
        assert_eq!(seen.last(), Some(&(Some(1000), Some(1000))));
    }
}
