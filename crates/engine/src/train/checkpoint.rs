//! Checkpoints: the trainable weights, the optimiser's moments and the loop's state (step, epoch,
//! position in the epoch, RNG, schedule, early-stopping record) in one safetensors file.
//!
//! Writes are atomic: a temporary file in the same folder, `fsync`, rename over the old file, then
//! `fsync` of the folder. A crash at any moment leaves either the previous checkpoint or the new one,
//! never half of one. The loop state travels as JSON in the safetensors header's metadata.

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
        f.write_all(bytes)
            .map_err(|e| io_err(&tmp, "cannot write (is the disk full?)", e))?;
        f.sync_all()
            .map_err(|e| io_err(&tmp, "cannot flush to disk", e))?;
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

    #[test]
    fn an_atomic_write_replaces_the_old_file_whole() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        write_atomic(&p, b"old").unwrap();
        write_atomic(&p, b"new contents").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new contents");
    }
}
