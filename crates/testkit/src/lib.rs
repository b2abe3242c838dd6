//! Test helpers shared by Tunesmith's crates: numeric assertions with explicit tolerances, and the
//! paths of committed fixtures and optional real models.
#![deny(missing_docs)]

pub mod close;
pub mod paths;

pub use close::assert_close;
