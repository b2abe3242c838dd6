//! Choosing the compute device: CPU always, CUDA and Metal when compiled in and present.
//!
//! `auto` prefers an accelerator and falls back to the CPU; an explicit request that cannot be met is
//! an error rather than a silent fallback, so the user knows what they got.

use serde::{Deserialize, Serialize};

use crate::{EngineError, Result};

/// The compute device a model lives on (candle's handle), named here so that the crates above the
/// engine hold and pass one without depending on candle: they get it from [`open`] and hand it to
/// the engine's loaders.
pub use candle_core::Device;

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "lowercase")]
pub enum DeviceRequest {
    /// The best available device.
    #[default]
    Auto,
    /// The CPU.
    Cpu,
    /// The first CUDA GPU.
    Cuda,
    /// The Apple GPU.
    Metal,
}

impl DeviceRequest {
    /// The request as the CLI (and the hub's memory reader) spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceRequest::Auto => "auto",
            DeviceRequest::Cpu => "cpu",
            DeviceRequest::Cuda => "cuda",
            DeviceRequest::Metal => "metal",
        }
    }
}

impl std::str::FromStr for DeviceRequest {
    type Err = EngineError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "cuda" | "gpu" => Ok(Self::Cuda),
            "metal" | "mps" => Ok(Self::Metal),
            other => Err(EngineError::DeviceUnavailable {
                requested: other.to_string(),
                reason: "choose one of auto, cpu, cuda, metal".to_string(),
            }),
        }
    }
}

/// A description of the compute available to this process, for `doctor` and the status bar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// The device training would use with `auto` (`cpu`, `cuda:0`, `metal:0`).
    pub selected: String,
    /// Logical CPU threads available to this process.
    pub cpu_threads: usize,
    /// Whether this build has CUDA support compiled in.
    pub cuda_compiled: bool,
    /// Whether a CUDA device was found at run time.
    pub cuda_available: bool,
    /// Whether this build has Metal support compiled in.
    pub metal_compiled: bool,
    /// Whether a Metal device was found at run time.
    pub metal_available: bool,
}

/// Opens the device for `request`.
pub fn open(request: DeviceRequest) -> Result<Device> {
    match request {
        DeviceRequest::Cpu => Ok(Device::Cpu),
        DeviceRequest::Cuda => Device::new_cuda(0).map_err(|e| EngineError::DeviceUnavailable {
            requested: "cuda".into(),
            reason: format!("{e} (this build needs the `cuda` feature and an NVIDIA driver)"),
        }),
        DeviceRequest::Metal => Device::new_metal(0).map_err(|e| EngineError::DeviceUnavailable {
            requested: "metal".into(),
            reason: format!("{e} (this build needs the `metal` feature on a Mac)"),
        }),
        DeviceRequest::Auto => {
            if candle_core::utils::cuda_is_available() {
                if let Ok(d) = Device::new_cuda(0) {
                    return Ok(d);
                }
            }
            if candle_core::utils::metal_is_available() {
                if let Ok(d) = Device::new_metal(0) {
                    return Ok(d);
                }
            }
            Ok(Device::Cpu)
        }
    }
}

/// A short, stable name for a device (`cpu`, `cuda:0`, `metal:0`).
pub fn name(device: &Device) -> String {
    match device.location() {
        candle_core::DeviceLocation::Cpu => "cpu".to_string(),
        candle_core::DeviceLocation::Cuda { gpu_id } => format!("cuda:{gpu_id}"),
        candle_core::DeviceLocation::Metal { gpu_id } => format!("metal:{gpu_id}"),
    }
}

/// The CPU threads the engine's tensor operations use (candle's pool: `RAYON_NUM_THREADS`, else
/// every logical CPU), which a timing depends on.
pub fn compute_threads() -> usize {
    candle_core::utils::get_num_threads()
}

/// Detects what compute is available, without failing: an absent accelerator is reported, not an error.
pub fn detect() -> DeviceInfo {
    let cuda_available = candle_core::utils::cuda_is_available() && Device::new_cuda(0).is_ok();
    let metal_available = candle_core::utils::metal_is_available() && Device::new_metal(0).is_ok();
    let selected = open(DeviceRequest::Auto)
        .map(|d| name(&d))
        .unwrap_or_else(|_| "cpu".into());
    DeviceInfo {
        selected,
        cpu_threads: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        cuda_compiled: cfg!(feature = "cuda"),
        cuda_available,
        metal_compiled: cfg!(feature = "metal"),
        metal_available,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_is_always_available() {
        assert!(matches!(open(DeviceRequest::Cpu), Ok(Device::Cpu)));
        assert!(detect().cpu_threads >= 1);
    }

    #[test]
    fn an_unknown_device_name_is_a_clear_error() {
        let err = "tpu".parse::<DeviceRequest>().unwrap_err();
        assert!(err.to_string().contains("auto, cpu, cuda, metal"));
    }
}
