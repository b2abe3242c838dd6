//! The device's free memory, for the estimate's verdict: `MemAvailable` from `/proc/meminfo` for
//! the CPU on Linux, `nvidia-smi` for a CUDA GPU. Where it cannot be read, `None`, and the estimate
//! says it has no verdict rather than guessing.

use serde::Serialize;

/// Free memory of a device, and where the number came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FreeMemory {
    /// The device (`cpu`, `cuda`).
    pub device: String,
    /// Free bytes, when known.
    pub bytes: Option<u64>,
    /// Where the number came from, or why it is missing.
    pub source: String,
}

/// Free memory of `device` (`cpu`, `cuda`, `metal` or `auto`).
pub fn free_memory(device: &str) -> FreeMemory {
    match device.to_ascii_lowercase().as_str() {
        "cuda" | "gpu" => cuda(),
        "auto" => {
            let c = cuda();
            if c.bytes.is_some() {
                c
            } else {
                cpu()
            }
        }
        "metal" | "mps" => FreeMemory {
            device: "metal".into(),
            bytes: None,
            source: "free unified memory cannot be read on this platform yet".into(),
        },
        _ => cpu(),
    }
}

fn cpu() -> FreeMemory {
    match std::fs::read_to_string("/proc/meminfo")
        .ok()
        .as_deref()
        .and_then(mem_available)
    {
        Some(bytes) => FreeMemory {
            device: "cpu".into(),
            bytes: Some(bytes),
            source: "/proc/meminfo MemAvailable".into(),
        },
        None => FreeMemory {
            device: "cpu".into(),
            bytes: None,
            source: "free memory cannot be read on this platform yet (no /proc/meminfo)".into(),
        },
    }
}

fn cuda() -> FreeMemory {
    let out = std::process::Command::new("nvidia-smi")
        .args([
            "--query-gpu=memory.free",
            "--format=csv,noheader,nounits",
            "--id=0",
        ])
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout);
            match text
                .trim()
                .lines()
                .next()
                .and_then(|l| l.trim().parse::<u64>().ok())
            {
                Some(mib) => FreeMemory {
                    device: "cuda".into(),
                    bytes: Some(mib * 1024 * 1024),
                    source: "nvidia-smi memory.free".into(),
                },
                None => FreeMemory {
                    device: "cuda".into(),
                    bytes: None,
                    source: format!("nvidia-smi answered `{}`", text.trim()),
                },
            }
        }
        _ => FreeMemory {
            device: "cuda".into(),
            bytes: None,
            source: "no CUDA GPU found (nvidia-smi is not available)".into(),
        },
    }
}

/// `MemAvailable` in bytes from the text of `/proc/meminfo`.
pub fn mem_available(meminfo: &str) -> Option<u64> {
    meminfo.lines().find_map(|l| {
        let rest = l.strip_prefix("MemAvailable:")?;
        let kib: u64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kib * 1024)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_available_is_read_in_bytes() {
        let text =
            "MemTotal:       16000000 kB\nMemFree:         1000 kB\nMemAvailable:    8000000 kB\n";
        assert_eq!(mem_available(text), Some(8_000_000 * 1024));
        assert_eq!(mem_available("MemTotal: 1 kB"), None);
    }
}
