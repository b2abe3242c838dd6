//! The typed events a pull reports (the CLI prints them as a bar or as JSON lines; the UI draws
//! them), and the meter that turns byte counts into a rate and an ETA.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;

/// One file a pull will fetch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PlannedFile {
    /// Its path in the repository.
    pub file: String,
    /// Its size in bytes, when the hub reports it.
    pub size: Option<u64>,
    /// Whether it is a Git LFS file (verified by sha256).
    pub lfs: bool,
}

/// What a pull reports, in order: `started`, per file (`file_started`, `progress`...,
/// `file_done`) or `file_cached`, with `retrying` / `corrupted` where they happen, then `finished`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum PullEvent {
    /// The plan: which files, how many bytes.
    Started {
        /// The repository id.
        repo: String,
        /// The revision asked for.
        revision: String,
        /// The commit it resolved to.
        commit: String,
        /// The files to fetch (pickle `.bin` files and other formats left out).
        files: Vec<PlannedFile>,
        /// Their total size in bytes.
        total_bytes: u64,
    },
    /// A file starts downloading (`resumed_from` > 0 when a partial download is continued).
    FileStarted {
        /// Its path in the repository.
        file: String,
        /// Its size in bytes, when known.
        size: Option<u64>,
        /// Bytes already on disk from an interrupted download.
        resumed_from: u64,
    },
    /// Bytes arrived.
    Progress {
        /// The file being fetched.
        file: String,
        /// Bytes of this file on disk.
        file_bytes: u64,
        /// Bytes of the whole pull done (cached and resumed bytes included).
        bytes_done: u64,
        /// Bytes of the whole pull.
        total_bytes: u64,
        /// Download rate over this pull, bytes per second.
        rate_bytes_per_s: f64,
        /// Seconds left at that rate, when it can be told.
        eta_s: Option<f64>,
    },
    /// The transfer broke and is resumed from where it stopped.
    Retrying {
        /// The file.
        file: String,
        /// Which attempt comes next (2 = the first retry).
        attempt: u32,
        /// What broke.
        reason: String,
    },
    /// A file's bytes did not match the hub's checksum; it was deleted and is fetched again.
    Corrupted {
        /// The file.
        file: String,
        /// The hub's checksum.
        expected: String,
        /// What the bytes on disk hashed to.
        actual: String,
    },
    /// A file was downloaded and verified.
    FileDone {
        /// The file.
        file: String,
        /// How it was verified: `sha256` (LFS), `git-sha1` (small files) or `size`.
        verified: String,
    },
    /// A file was already in the cache and verified.
    FileCached {
        /// The file.
        file: String,
    },
    /// The hub could not be reached; the cached copy is used.
    Offline {
        /// Why.
        reason: String,
    },
    /// Done: the snapshot folder holds every file.
    Finished {
        /// The repository id.
        repo: String,
        /// The commit.
        commit: String,
        /// The snapshot folder (what `from_pretrained` would load).
        snapshot: PathBuf,
        /// Bytes transferred by this pull.
        bytes_downloaded: u64,
    },
}

/// Turns byte counts into rate and ETA, and throttles progress events to a few per second.
#[derive(Debug)]
pub struct Meter {
    start: Instant,
    last_emit: Option<Instant>,
    /// Bytes of the files finished (downloaded or found in the cache).
    pub completed: u64,
    /// Bytes on disk of the file being fetched (resumed bytes included).
    pub current: u64,
    /// Bytes transferred by this pull (what the rate is measured on).
    pub transferred: u64,
    /// The pull's total.
    pub total: u64,
}

impl Meter {
    /// A meter for a pull of `total` bytes.
    pub fn new(total: u64) -> Self {
        Meter {
            start: Instant::now(),
            last_emit: None,
            completed: 0,
            current: 0,
            transferred: 0,
            total,
        }
    }

    /// Bytes of the pull done.
    pub fn done(&self) -> u64 {
        self.completed + self.current
    }

    /// Marks the current file finished with `size` bytes.
    pub fn finish_file(&mut self, size: u64) {
        self.completed += size;
        self.current = 0;
    }

    /// The rate so far, bytes per second (transferred bytes only).
    pub fn rate(&self) -> f64 {
        let secs = self.start.elapsed().as_secs_f64();
        if secs <= 0.0 {
            0.0
        } else {
            self.transferred as f64 / secs
        }
    }

    /// Seconds left at the current rate.
    pub fn eta(&self) -> Option<f64> {
        eta(self.total.saturating_sub(self.done()), self.rate())
    }

    /// Whether enough time has passed to report again (`force` for the end of a file).
    pub fn should_emit(&mut self, force: bool) -> bool {
        let now = Instant::now();
        let due = self
            .last_emit
            .is_none_or(|t| now.duration_since(t) >= Duration::from_millis(200));
        if force || due {
            self.last_emit = Some(now);
            true
        } else {
            false
        }
    }
}

/// Seconds to move `remaining` bytes at `rate` bytes per second; `None` before a rate is known.
pub fn eta(remaining: u64, rate: f64) -> Option<f64> {
    if remaining == 0 {
        Some(0.0)
    } else if rate > 0.0 {
        Some(remaining as f64 / rate)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eta_is_remaining_over_rate_and_unknown_before_any_byte() {
        assert_eq!(eta(1000, 250.0), Some(4.0));
        assert_eq!(eta(1000, 0.0), None);
        assert_eq!(eta(0, 0.0), Some(0.0));
    }

    #[test]
    fn events_serialise_with_a_snake_case_tag() {
        let e = PullEvent::FileCached {
            file: "config.json".into(),
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"event":"file_cached","file":"config.json"}"#
        );
    }
}
