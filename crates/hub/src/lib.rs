//! Tunesmith's models: searching and downloading from the Hugging Face hub into the standard cache,
//! importing local folders and GGUF files, the registry of known models, and estimating memory
//! (and, once calibrated, time) before training.
//!
//! The hub is spoken to with its own HTTP endpoints (search, `?blobs=true` file lists, `resolve`
//! with Range), so `HF_ENDPOINT` can point at a mirror or at the loopback [`mock`] hub in tests.
#![deny(missing_docs)]

pub mod cache;
pub mod cancel;
pub mod client;
pub mod config;
pub mod download;
pub mod error;
pub mod estimate;
pub mod gguf;
pub mod import;
pub mod info;
pub mod keyring_token;
pub mod locate;
pub mod memory;
pub mod progress;
pub mod rate_limit;
pub mod registry;
pub mod remote;
pub mod safetensors;
pub mod search;
pub mod suggested;
pub mod support;
pub mod token;
pub mod token_source;
pub mod wire;

#[cfg(feature = "mock")]
pub mod mock;

pub use cancel::CancelToken;
pub use client::HubClient;
pub use error::{HubError, Result};
pub use progress::PullEvent;
