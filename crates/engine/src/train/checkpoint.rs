//! Checkpoints: the trainable weights, the optimiser's moments and the loop's state (step, epoch,
//! position in the epoch, RNG, schedule, early-stopping record) in one safetensors file.
//!
//! Writes are atomic: a temporary file in the same folder, `fsync`, rename over the old file, then
//! `fsync` of the folder. A crash at any moment leaves either the previous checkpoint or the new one,
//! never half of one. The loop state travels as JSON in the safetensors header's metadata.
//!
//! A full disk (or quota, or file-size limit) is reported as such: the folder, the space the write
//! needed, and that the previous file is untouched ([`write_error`], also used by the exports).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};

use crate::{EngineError, Result};

/// The metadata key holding the loop state.
pub const STATE_KEY: &str = "tunesmith.train_state";

/// The file name of the resumable checkpoint inside a run's checkpoint folder.
pub const LAST_FILE: &str = "checkpoint.safetensors";

/// The file name of the best weights inside a run's checkpoint folder.
pub const BEST_FILE: &str = "best.safetensors";

fn io_err(path: &Path, what: &str, e: impl std::fmt::Display) -> EngineError {
    EngineError::Checkpoint {
        path: path.to_path_buf(),
        reason: format!("{what}: {e}"),
    }
}

/// Whether an I/O error means there is no room left: a full disk (ENOSPC), a quota (EDQUOT) or a
/// file-size limit (EFBIG).
pub fn is_disk_full(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::StorageFull
        || e.kind() == std::io::ErrorKind::FileTooLarge
        || matches!(e.raw_os_error(), Some(27 | 28 | 122))
}

/// `n` bytes in words (`3.2 MB`).
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} bytes")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// The error for writing `path` (about `needed` bytes) failing with `e`: a full disk names the
/// folder and the space needed and says the previous version is untouched; anything else says
/// what the system answered.
pub fn write_error(path: &Path, needed: u64, e: &std::io::Error) -> EngineError {
    let mut dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // Name the user's folder, not the hidden temporary one an atomic write fills first
    // (`.<name>.partial-<pid>`, `.<name>.tmp-<pid>`).
    while dir.file_name().is_some_and(|n| {
        let n = n.to_string_lossy();
        n.starts_with('.') && (n.contains(".partial-") || n.contains(".tmp-"))
    }) {
        match dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(p) => dir = p,
            None => break,
        }
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if is_disk_full(e) {
        EngineError::Checkpoint {
            path: dir.to_path_buf(),
            reason: format!(
                "the disk is full: writing `{name}` needs about {} of free space in this folder ({e}). \
                 Nothing half-written was kept and the previous version is untouched; free some space, or \
                 choose a folder on another disk, and try again",
                human_bytes(needed)
            ),
        }
    } else {
        io_err(path, "cannot write", e)
    }
}

/// Writes `bytes` to `path` atomically (temporary file, fsync, rename, fsync of the folder).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io_err(dir, "cannot create the folder", e))?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("checkpoint");
    let tmp: PathBuf = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp).map_err(|e| io_err(&tmp, "cannot create", e))?;
        let needed = bytes.len() as u64;
        f.write_all(bytes)
            .map_err(|e| write_error(path, needed, &e))?;
        // A network or lazily-allocating filesystem may only find out at the flush.
        f.sync_all().map_err(|e| write_error(path, needed, &e))?;
        drop(f);
        std::fs::rename(&tmp, path)
            .map_err(|e| io_err(path, "cannot move the new file into place", e))?;
        // Make the rename itself durable; opening a folder for sync is not possible on every OS.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Saves named tensors and string metadata to `path` atomically.
pub fn save_tensors(
    path: &Path,
    tensors: &[(String, Tensor)],
    metadata: HashMap<String, String>,
) -> Result<()> {
    let contiguous: Vec<(String, Tensor)> = tensors
        .iter()
        .map(|(n, t)| Ok((n.clone(), t.contiguous()?)))
        .collect::<Result<_>>()?;
    let mut sorted: Vec<(&str, &Tensor)> =
        contiguous.iter().map(|(n, t)| (n.as_str(), t)).collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let bytes = safetensors::serialize(sorted, Some(metadata))
        .map_err(|e| io_err(path, "cannot serialise", e))?;
    write_atomic(path, &bytes)
}

/// Loads every tensor and the metadata of a safetensors file, with errors naming the file.
pub fn load_tensors(
    path: &Path,
    device: &Device,
) -> Result<(HashMap<String, Tensor>, HashMap<String, String>)> {
    let bytes = std::fs::read(path).map_err(|e| io_err(path, "cannot read", e))?;
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| {
        io_err(
            path,
            "not a readable safetensors file (truncated or corrupted?)",
            e,
        )
    })?;
    let metadata = meta.metadata().clone().unwrap_or_default();
    let tensors = candle_core::safetensors::load_buffer(&bytes, device).map_err(|e| {
        io_err(
            path,
            "the tensors cannot be read (truncated or corrupted?)",
            e,
        )
    })?;
    Ok((tensors, metadata))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensors_and_metadata_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.safetensors");
        let t = Tensor::new(&[[1f32, 2.0], [3.0, 4.0]], &Device::Cpu).unwrap();
        let meta = HashMap::from([(STATE_KEY.to_string(), "{\"step\":3}".to_string())]);
        save_tensors(&p, &[("w".into(), t.t().unwrap())], meta.clone()).unwrap();
        let (tensors, m) = load_tensors(&p, &Device::Cpu).unwrap();
        assert_eq!(
            tensors["w"].to_vec2::<f32>().unwrap(),
            vec![vec![1.0, 3.0], vec![2.0, 4.0]]
        );
        assert_eq!(m, meta);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
    }

    #[test]
    fn a_truncated_checkpoint_is_a_clear_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.safetensors");
        let t = Tensor::zeros(64, candle_core::DType::F32, &Device::Cpu).unwrap();
        save_tensors(&p, &[("w".into(), t)], HashMap::new()).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() - 10]).unwrap();
        let err = load_tensors(&p, &Device::Cpu).unwrap_err().to_string();
        assert!(
            err.contains("c.safetensors") && err.contains("truncated"),
            "{err}"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_full_disk_names_the_folder_and_space_needed_and_keeps_the_previous_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(LAST_FILE);
        let t = Tensor::ones(16, candle_core::DType::F32, &Device::Cpu).unwrap();
        save_tensors(&p, &[("w".into(), t.clone())], HashMap::new()).unwrap();
        let before = std::fs::read(&p).unwrap();
        // The temporary file's name leads to /dev/full, where every write fails with ENOSPC,
        // exactly as on a full disk (no privileges needed).
        let tmp = dir
            .path()
            .join(format!(".{LAST_FILE}.tmp-{}", std::process::id()));
        std::os::unix::fs::symlink("/dev/full", &tmp).unwrap();
        let big = Tensor::zeros(1 << 16, candle_core::DType::F32, &Device::Cpu).unwrap();
        let err = save_tensors(&p, &[("w".into(), big)], HashMap::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("the disk is full"), "{err}");
        assert!(err.contains(&dir.path().display().to_string()), "{err}");
        assert!(
            err.contains("262.") && err.contains("KB"),
            "the space needed: {err}"
        );
        assert_eq!(
            std::fs::read(&p).unwrap(),
            before,
            "the previous checkpoint is untouched"
        );
        let (tensors, _) = load_tensors(&p, &Device::Cpu).unwrap();
        assert_eq!(tensors["w"].dims(), &[16]);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            [std::ffi::OsString::from(LAST_FILE)],
            "nothing half-written left"
        );
    }

    #[test]
    fn an_atomic_write_replaces_the_old_file_whole() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        write_atomic(&p, b"old").unwrap();
        write_atomic(&p, b"new contents").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new contents");
    }
}
