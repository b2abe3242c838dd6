//! A run's lifecycle: what a user asks for ([`TrainRequest`]), resolved once into a plan
//! ([`TrainPlan`]), trained in a folder with a fixed layout ([`RunFolder`]) and recorded in the
//! history from one description ([`RunManifest`], also written as the folder's `run.json`).
//!
//! Training, evaluation, resume, re-run, prediction, chat and export all start here: a request is
//! resolved by [`TrainPlan::resolve`], a past run is found by [`find_run`] and read back by
//! [`TrainPlan::of_run`]; nothing else applies a default or names a run's file.
//!
//! ```text
//! TrainRequest --resolve--> TrainPlan --train/eval--> RunFolder + RunManifest --> history (store)
//!                               ^                         |
//!                               +------ of_run/resume ----+
//! ```

pub mod folder;
pub mod manifest;
pub(crate) mod model_gone;
pub mod plan;
pub(crate) mod preparing;
pub(crate) mod recorder;
pub mod request;

pub use folder::{exports_dir, find_run, FoundRun, RunFolder};
pub use manifest::RunManifest;
pub use plan::{Start, TrainPlan};
pub use tunesmith_engine::precision::Precision;
pub use request::{
    default_test_fraction, default_val_fraction, Checkpointing, EpochStep, EpochsByMethod, LrByMethod, RunEvent,
    TrainDefaults, TrainRequest, TrainSummary, DEFAULT_CLASSIFY_MAX_LEN, DEFAULT_GENERATE_MAX_LEN,
    DEFAULT_CHECKPOINTING, DEFAULT_FORGETTING_CHECK, DEFAULT_SEED,
};
