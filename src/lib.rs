//! Tunesmith's application API: everything the app and the CLI do, with no Tauri in it.
//!
//! The Tauri shell's commands and the CLI's subcommands are thin calls into this crate, so the same
//! behaviour serves the window, scripts, tests and benchmarks.
#![deny(missing_docs)]

pub mod calibrate;
pub mod chat;
pub mod compare;
pub mod data;
pub mod doctor;
pub mod error;
pub mod eval;
pub mod export;
pub mod home;
pub mod job;
pub mod model_registry;
pub mod models;
pub mod predict;
pub mod rag;
pub mod resident;
pub mod runs;
pub mod runs_record;
pub mod train;
pub mod train_generate;

pub use error::{Error, Result};
