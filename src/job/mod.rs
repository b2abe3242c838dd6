//! Handing a run to a distributed trainer, and bringing the result back (issue 17).
//!
//! A team that outgrows one machine exports the very run a local `train` would make
//! ([`export_job`]: the same resolved plan, doctor checks, split and settings) as a folder the
//! Hugging Face stack runs unchanged (TRL / transformers on Accelerate: DDP, FSDP, DeepSpeed; or
//! Axolotl), and imports the trainer's output ([`import_job`]) as that run in the history, where
//! evaluation, prediction, chat, compare and export read it as a local run.
//!
//! ```text
//! TrainRequest --TrainPlan::resolve--> settings (one to one) --> job folder + queued run
//!                                                                   | trainer (elsewhere)
//!                     history (finished run) <--import-- output/ + trainer_state.json
//! ```
//!
//! One concept per file: [`request`] (what is asked and reported), [`settings`] (the mapping),
//! [`base`] (naming the base model), [`rows`] (the split's rows), [`templates`] (scripts,
//! configs, README), [`manifest`] (`job.json`), [`export`], [`trainer_state`] (the trainer's log)
//! and [`import`].

pub mod base;
pub mod export;
pub mod import;
pub mod manifest;
pub mod request;
pub mod rows;
pub mod settings;
pub mod templates;
pub mod trainer_state;

pub use export::export_job;
pub use import::import_job;
pub use request::{JobExportRequest, JobExportSummary, JobImportSummary, Trainer};
