//! The state every command can reach: the home folder the app works in, the running jobs, and
//! whether the user was already asked about closing the window during a job.
//!
//! The home folder is resolved once at start-up, exactly as the CLI resolves it (`TUNESMITH_HOME`,
//! then the OS app-data folder). If that fails the app still opens, and every command that needs
//! the folder answers with the error, so the UI can say what to do instead of the app vanishing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tunesmith::error::ErrorPayload;
use tunesmith::home::Home;

use crate::jobs::Jobs;

/// Shared application state, managed by Tauri.
#[derive(Debug)]
pub struct AppState {
    home: Result<Home, ErrorPayload>,
    jobs: Arc<Jobs>,
    close_asked: AtomicBool,
}

impl AppState {
    /// Keeps the outcome of resolving the home folder, success or failure.
    pub fn new(home: tunesmith::Result<Home>) -> Self {
        AppState {
            home: home.map_err(|e| ErrorPayload::from(&e)),
            jobs: Arc::default(),
            close_asked: AtomicBool::new(false),
        }
    }

    /// Resolves the home folder from the environment (`TUNESMITH_HOME` or the OS default).
    pub fn from_environment() -> Self {
        Self::new(Home::resolve(None))
    }

    /// The home folder, or the reason it cannot be used.
    pub fn home(&self) -> Result<&Home, ErrorPayload> {
        self.home.as_ref().map_err(Clone::clone)
    }

    /// A copy of the home folder for work on another thread.
    pub fn home_owned(&self) -> Result<Home, ErrorPayload> {
        self.home().cloned()
    }

    /// The running jobs.
    pub fn jobs(&self) -> &Arc<Jobs> {
        &self.jobs
    }

    /// Records that the user was asked about closing; returns whether they had been already.
    pub fn mark_close_asked(&self) -> bool {
        self.close_asked.swap(true, Ordering::SeqCst)
    }

    /// The user chose to keep the window open: the next close asks again.
    pub fn clear_close_asked(&self) {
        self.close_asked.store(false, Ordering::SeqCst);
    }
}
