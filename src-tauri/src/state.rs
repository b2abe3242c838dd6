//! The state every command can reach: the home folder the app works in.
//!
//! The home folder is resolved once at start-up, exactly as the CLI resolves it (`TUNESMITH_HOME`,
//! then the OS app-data folder). If that fails the app still opens, and every command that needs
//! the folder answers with the error, so the UI can say what to do instead of the app vanishing.

use tunesmith::error::ErrorPayload;
use tunesmith::home::Home;

/// Shared, read-only application state, managed by Tauri.
#[derive(Debug)]
pub struct AppState {
    home: Result<Home, ErrorPayload>,
}

impl AppState {
    /// Keeps the outcome of resolving the home folder, success or failure.
    pub fn new(home: tunesmith::Result<Home>) -> Self {
        AppState {
            home: home.map_err(|e| ErrorPayload::from(&e)),
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
}
