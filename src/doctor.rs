//! `doctor`: what this installation is and what it can use: device, home folder, versions.

use serde::Serialize;

use crate::home::Home;

/// The compute available, as the UI's status bar and `tunesmith doctor` show it.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct DeviceReport {
    /// The device training uses by default (`cpu`, `cuda:0`, `metal:0`).
    pub selected: String,
    /// Logical CPU threads.
    pub cpu_threads: u32,
    /// CUDA: compiled into this build, and found at run time.
    pub cuda_compiled: bool,
    /// Whether a CUDA device was found.
    pub cuda_available: bool,
    /// Metal: compiled into this build.
    pub metal_compiled: bool,
    /// Whether a Metal device was found.
    pub metal_available: bool,
}

/// Versions of Tunesmith and the libraries that decide its behaviour.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct Versions {
    /// Tunesmith itself.
    pub tunesmith: String,
    /// The SQLite library compiled in.
    pub sqlite: String,
}

/// The whole `doctor` report.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct DoctorReport {
    /// The compute available.
    pub device: DeviceReport,
    /// The home folder in use.
    pub home: String,
    /// Versions.
    pub versions: Versions,
}

/// Builds the report for `home`. Never fails: an absent accelerator is reported, not an error.
pub fn doctor(home: &Home) -> DoctorReport {
    let d = tunesmith_engine::device::detect();
    DoctorReport {
        device: DeviceReport {
            selected: d.selected,
            cpu_threads: d.cpu_threads as u32,
            cuda_compiled: d.cuda_compiled,
            cuda_available: d.cuda_available,
            metal_compiled: d.metal_compiled,
            metal_available: d.metal_available,
        },
        home: home.root().display().to_string(),
        versions: Versions {
            tunesmith: env!("CARGO_PKG_VERSION").to_string(),
            sqlite: tunesmith_store::sqlite_version().to_string(),
        },
    }
}
