//! Tunesmith's datasets: reading what spreadsheets really export, guessing column roles, the data
//! doctor, and honest train/validation/test splits.
//!
//! The entry points: [`inspect`] (a streaming report, for `tunesmith data inspect`),
//! [`Dataset::load`] (the report plus the examples, for training), [`Dataset::split`] /
//! [`SplitPlan`] (a seeded, stratified, leak-free split recorded with the run), and
//! [`ChatTemplate`] (conversations into a decoder's training text).
#![deny(missing_docs)]

pub mod dataset;
pub mod doctor;
pub mod encoding;
pub mod error;
pub mod example;
pub mod finding;
pub mod labels;
pub mod length;
pub mod model;
pub mod normalize;
pub mod pii;
pub mod report;
pub mod role;
pub mod roles;
pub mod sniff;
pub mod source;
pub mod split;
pub mod template;
pub mod tokenizer_config;

pub use dataset::{inspect, Dataset, InspectOptions, Progress, DEFAULT_MAX_LEN};
pub use doctor::Fixes;
pub use error::{DataError, Result};
pub use example::{Content, Example, Message};
pub use finding::{Finding, Severity};
pub use model::ModelText;
pub use report::InspectReport;
pub use roles::{Role, RoleOverrides, Schema, Task};
pub use source::{Format, ReadOptions, Source};
pub use split::{SplitConfig, SplitItem, SplitPlan};
pub use template::{ChatTemplate, TrainingText};
pub use tokenizer_config::TokenizerConfig;
