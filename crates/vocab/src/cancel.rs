//! Cancelling and pausing a long job (training, generation, a comparison, a file prediction) from
//! another thread: the UI's button, Ctrl-C.
//!
//! The handle is cheap to clone and is only looked at between steps (an optimiser step, a generated
//! token), so a step is never cut in half: for training, cancel means "stop after this step,
//! checkpoint, and report `cancelled`" and pause means "wait before the next step until resumed or
//! cancelled"; generation only asks whether it was cancelled.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

const RUNNING: u8 = 0;
const PAUSED: u8 = 1;
const CANCELLED: u8 = 2;

/// A cloneable switch shared between the training loop and whoever controls it.
#[derive(Debug, Clone, Default)]
pub struct CancelHandle {
    state: Arc<AtomicU8>,
}

impl CancelHandle {
    /// A handle in the running state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the run to stop after the current step. Cannot be undone.
    pub fn cancel(&self) {
        self.state.store(CANCELLED, Ordering::SeqCst);
    }

    /// Asks the run to wait before its next step.
    pub fn pause(&self) {
        let _ = self
            .state
            .compare_exchange(RUNNING, PAUSED, Ordering::SeqCst, Ordering::SeqCst);
    }

    /// Lets a paused run continue.
    pub fn resume(&self) {
        let _ = self
            .state
            .compare_exchange(PAUSED, RUNNING, Ordering::SeqCst, Ordering::SeqCst);
    }

    /// Whether cancel was asked for.
    pub fn is_cancelled(&self) -> bool {
        self.state.load(Ordering::SeqCst) == CANCELLED
    }

    /// Whether the run is paused.
    pub fn is_paused(&self) -> bool {
        self.state.load(Ordering::SeqCst) == PAUSED
    }

    /// Called by the loop between steps: blocks while paused; returns `true` if the run must stop.
    pub fn checkpoint_wait(&self) -> bool {
        while self.is_paused() {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.is_cancelled()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clone_cancels_the_original() {
        let h = CancelHandle::new();
        let c = h.clone();
        assert!(!h.checkpoint_wait());
        c.cancel();
        assert!(h.is_cancelled());
        assert!(h.checkpoint_wait());
    }

    #[test]
    fn a_paused_run_waits_until_resumed() {
        let h = CancelHandle::new();
        h.pause();
        let c = h.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(60));
            c.resume();
        });
        let start = std::time::Instant::now();
        assert!(!h.checkpoint_wait());
        assert!(start.elapsed() >= Duration::from_millis(50));
        t.join().unwrap();
    }

    #[test]
    fn cancel_releases_a_paused_run() {
        let h = CancelHandle::new();
        h.pause();
        h.cancel();
        assert!(h.checkpoint_wait());
        h.resume();
        assert!(
            h.is_cancelled(),
            "a cancelled run cannot be resumed by the handle"
        );
    }
}
