//! Closing the window while a job would lose work: the app asks first.
//!
//! Protocol (for the UI):
//! 1. The user closes the window while a training run, a download, an indexing job or a comparison
//!    runs. The close is prevented and the event [`CloseRequested`] (`close-requested`, payload
//!    `{ jobs: [{ job_id, kind }] }`) is emitted.
//! 2. The UI asks and answers with one command:
//!    - `app_keep_open()`: nothing stops; the next close asks again;
//!    - `app_quit({ pauseJobs: true })`: every job is cancelled (training writes a checkpoint, so
//!      the run is shown as cancelled and `train_resume` continues it), the app waits for them to
//!      end, then exits;
//!    - `app_quit({ pauseJobs: false })`: exits at once; a training run is marked interrupted at
//!      the next start and resumes from its last checkpoint.
//! 3. A second close request while the question is open closes the window without asking again
//!    (the user insisted; as `pauseJobs: false`).
//!
//! Nothing else (a chat answer in progress, no job at all) delays closing.

use serde::{Deserialize, Serialize};
use tauri::{Manager, Runtime, Window, WindowEvent};
use tauri_specta::Event;

use crate::jobs::RunningJob;
use crate::state::AppState;

/// Emitted when a close was held back because these jobs would lose work.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct CloseRequested {
    /// The jobs that closing would stop.
    pub jobs: Vec<RunningJob>,
}

/// What to do with a close request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseDecision {
    /// Let the window close.
    Close,
    /// Keep it open and ask the user about these jobs.
    Ask(Vec<RunningJob>),
}

/// Decides about a close request: ask once while work would be lost, close otherwise.
pub fn decide(state: &AppState) -> CloseDecision {
    let busy: Vec<RunningJob> = state
        .jobs()
        .list()
        .into_iter()
        .filter(|j| j.kind.loses_work_on_close())
        .collect();
    if busy.is_empty() || state.mark_close_asked() {
        CloseDecision::Close
    } else {
        CloseDecision::Ask(busy)
    }
}

/// The window-event hook that applies [`decide`].
pub fn on_window_event<R: Runtime>(window: &Window<R>, event: &WindowEvent) {
    let WindowEvent::CloseRequested { api, .. } = event else {
        return;
    };
    let Some(state) = window.try_state::<AppState>() else {
        return;
    };
    if let CloseDecision::Ask(jobs) = decide(&state) {
        api.prevent_close();
        if let Err(e) = (CloseRequested { jobs }).emit(window) {
            // The UI cannot be asked, so holding the window open would trap the user.
            eprintln!("tunesmith: could not ask about closing ({e}); closing");
            state.mark_close_asked();
            let _ = window.close();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::{JobKind, Stopper};

    fn state() -> AppState {
        AppState::new(tunesmith::home::Home::at(std::env::temp_dir()))
    }

    #[test]
    fn an_idle_app_closes_without_asking() {
        assert_eq!(decide(&state()), CloseDecision::Close);
    }

    #[test]
    fn closing_during_training_asks_once_then_closes() {
        let state = state();
        let _job = state
            .jobs()
            .start("run-1", JobKind::Train, Stopper::Uncancellable)
            .unwrap();
        let first = decide(&state);
        assert_eq!(
            first,
            CloseDecision::Ask(vec![RunningJob {
                job_id: "run-1".into(),
                kind: JobKind::Train
            }])
        );
        assert_eq!(decide(&state), CloseDecision::Close);
    }

    #[test]
    fn keeping_the_window_open_makes_the_next_close_ask_again() {
        let state = state();
        let _job = state
            .jobs()
            .start("run-1", JobKind::Train, Stopper::Uncancellable)
            .unwrap();
        assert!(matches!(decide(&state), CloseDecision::Ask(_)));
        state.clear_close_asked();
        assert!(matches!(decide(&state), CloseDecision::Ask(_)));
    }

    #[test]
    fn a_chat_in_progress_does_not_hold_the_window() {
        let state = state();
        let _job = state
            .jobs()
            .start("c", JobKind::Chat, Stopper::Uncancellable)
            .unwrap();
        assert_eq!(decide(&state), CloseDecision::Close);
    }
}
