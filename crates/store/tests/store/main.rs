//! The store's integration tests: one binary, one module per concern.
//!
//! - `common`: a store in a temporary folder and a sample run.
//! - `lifecycle`: runs from creation to deletion, metrics, artefacts, evaluations, disk usage.
//! - `migrations`: from an empty file and from every earlier schema version (fixtures/schema_vN.sql).
//! - `damaged`: corrupted and read-only files give clear errors and the app can still start.
//! - `concurrency`: readers never block the writer (WAL).
//! - `crash`: a process killed with SIGKILL mid-run leaves an interrupted, resumable run.

mod common;
mod concurrency;
mod crash;
mod damaged;
mod lifecycle;
mod migrations;
