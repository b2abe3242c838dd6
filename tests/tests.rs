//! Tunesmith's integration tests: one binary, one module per area.
//!
//! - `cli`: the `tunesmith` binary as a user runs it.
//! - `data_inspect`: `tunesmith data inspect` on committed files and on SST-2.
//! - `models_cli`: `tunesmith models ...` against the loopback mock hub (no internet).
//! - `runs_cli`: `tunesmith runs ...` on a history populated through the store's API.
//! - `rag_cli`: `tunesmith rag index|query` offline, keyword-only, over the sample documents.
//! - `rag_retrieval`: the real MiniLM encoder over the sample documents (skips without the model).
//! - `train_cli`: `tunesmith train --json` on the tiny BERT fixture (event contract, run files).
//! - `fixtures_shapes`: the committed reference checkpoints are present and their shapes consistent.

mod cli;
mod data_inspect;
mod fixtures_shapes;
mod models_cli;
mod runs_cli;
mod rag_cli;
mod rag_retrieval;
mod train_cli;
