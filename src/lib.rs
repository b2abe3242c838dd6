//! Tunesmith's application API: everything the app and the CLI do, with no Tauri in it.
//!
//! The Tauri shell's commands and the CLI's subcommands are thin calls into this crate, so the same
//! behaviour serves the window, scripts, tests and benchmarks.
//!
//! A training run's lifecycle lives in [`run`]: the request resolved once into a plan, the run's
//! folder and its record. The actions read that plan: [`train`] (new, resume, re-run; classification
//! in [`train_classify`], generation in [`train_generate`]), [`eval`], [`predict`], [`chat`],
//! [`compare`] (with blind [`ratings`] of its answers) and [`export`]; the models they load, one loader per family, are in [`session`].
#![deny(missing_docs)]

pub mod calibrate;
pub mod chat;
pub mod compare;
pub mod compare_length;
pub mod compare_quick;
pub mod data;
pub mod doctor;
pub mod error;
pub mod errors_report;
pub mod eval;
pub mod explain;
pub mod export;
pub mod export_classifier;
pub mod fact_recall;
pub mod forgetting;
pub mod home;
pub mod memory_check;
pub mod job;
pub mod model_registry;
pub mod models;
pub mod predict;
pub mod predict_file;
pub mod rag;
pub mod ratings;
pub mod ratings_blind;
pub mod ratings_export;
pub mod ratings_tally;
pub mod resident;
pub mod run;
pub mod runs;
pub mod session;
pub mod train;
pub mod train_classify;
pub mod train_generate;
pub mod train_schedule;

pub use error::{Error, Result};
