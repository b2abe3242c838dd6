//! Files that are recorded only when complete: write to a temporary name beside the target, fsync,
//! rename over the target, fsync the folder. A crash at any point leaves either the old file or the
//! new one, never half of one, and the store records an artefact only after this returns. Also:
//! sha256 of a file or a folder, and bytes used on disk.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::{Result, StoreError};

/// The temporary name used while `target` is being written (same folder, so rename is atomic).
pub fn temp_path_for(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}.partial-{}", std::process::id()))
}

/// Writes `bytes` to `target` atomically (temp, fsync, rename, fsync folder).
pub fn write_atomic(target: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_path_for(target);
    let result = (|| {
        let mut f = File::create(&tmp).map_err(|e| StoreError::io("could not create", &tmp, e))?;
        f.write_all(bytes)
            .map_err(|e| StoreError::io("could not write", &tmp, e))?;
        drop(f);
        commit(&tmp, target)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Makes a finished temporary file or folder `tmp` durable and moves it to `target`: fsyncs every
/// file in it, renames it over `target` (a folder target is replaced), and fsyncs the parent folder.
/// Use it when another library writes the file (e.g. safetensors): write to [`temp_path_for`], then
/// commit.
pub fn commit(tmp: &Path, target: &Path) -> Result<()> {
    sync_tree(tmp)?;
    if tmp.is_dir() && target.is_dir() {
        std::fs::remove_dir_all(target)
            .map_err(|e| StoreError::io("could not replace", target, e))?;
    }
    std::fs::rename(tmp, target)
        .map_err(|e| StoreError::io("could not move into place", target, e))?;
    if let Some(parent) = target.parent() {
        sync_dir(parent);
    }
    Ok(())
}

fn sync_tree(path: &Path) -> Result<()> {
    if path.is_dir() {
        for entry in
            std::fs::read_dir(path).map_err(|e| StoreError::io("could not read", path, e))?
        {
            let entry = entry.map_err(|e| StoreError::io("could not read", path, e))?;
            sync_tree(&entry.path())?;
        }
        sync_dir(path);
        Ok(())
    } else {
        let f = File::open(path).map_err(|e| StoreError::io("could not open", path, e))?;
        f.sync_all()
            .map_err(|e| StoreError::io("could not flush to disk", path, e))
    }
}

/// Fsyncs a folder so a rename in it survives a power cut. Not possible on every platform
/// (Windows cannot open folders as files): best effort.
fn sync_dir(dir: &Path) {
    if let Ok(f) = File::open(dir) {
        let _ = f.sync_all();
    }
}

/// The sha256 (lower-case hex) of a file, or of a folder: the hash of each file's relative path
/// and content hash, in sorted order, so the same tree always gives the same digest.
pub fn sha256(path: &Path) -> Result<String> {
    if path.is_dir() {
        let mut entries = Vec::new();
        collect_files(path, path, &mut entries)?;
        entries.sort();
        let mut h = Sha256::new();
        for rel in entries {
            let digest = sha256_file(&path.join(&rel))?;
            h.update(rel.to_string_lossy().replace('\\', "/").as_bytes());
            h.update([0]);
            h.update(digest.as_bytes());
            h.update([b'\n']);
        }
        Ok(hex(&h.finalize()))
    } else {
        sha256_file(path)
    }
}

fn sha256_file(path: &Path) -> Result<String> {
    let mut f = File::open(path).map_err(|e| StoreError::io("could not open", path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| StoreError::io("could not read", path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

fn collect_files(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(|e| StoreError::io("could not read", dir, e))? {
        let entry = entry.map_err(|e| StoreError::io("could not read", dir, e))?;
        let p = entry.path();
        if p.is_dir() {
            collect_files(root, &p, out)?;
        } else if let Ok(rel) = p.strip_prefix(root) {
            out.push(rel.to_path_buf());
        }
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes used by a file, or by everything under a folder (symbolic links are not followed); 0 for a
/// path that does not exist.
pub fn disk_usage(path: &Path) -> Result<u64> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(StoreError::io("could not measure", path, e)),
    };
    if !meta.is_dir() {
        return Ok(if meta.is_file() { meta.len() } else { 0 });
    }
    let mut total = 0;
    for entry in std::fs::read_dir(path).map_err(|e| StoreError::io("could not read", path, e))? {
        let entry = entry.map_err(|e| StoreError::io("could not read", path, e))?;
        total += disk_usage(&entry.path())?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_atomic_write_leaves_the_full_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("weights.bin");
        write_atomic(&target, b"old").unwrap();
        write_atomic(&target, b"new contents").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new contents");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn sha256_matches_the_known_digest_and_folders_hash_by_content() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("abc");
        std::fs::write(&f, b"abc").unwrap();
        assert_eq!(
            sha256(&f).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        for d in [&a, &b] {
            std::fs::create_dir_all(d.join("sub")).unwrap();
            std::fs::write(d.join("sub/x"), b"1").unwrap();
            std::fs::write(d.join("y"), b"2").unwrap();
        }
        assert_eq!(sha256(&a).unwrap(), sha256(&b).unwrap());
        std::fs::write(b.join("y"), b"3").unwrap();
        assert_ne!(sha256(&a).unwrap(), sha256(&b).unwrap());
    }

    #[test]
    fn disk_usage_sums_a_tree_and_is_zero_for_nothing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("a/b/c"), vec![0u8; 1000]).unwrap();
        std::fs::write(dir.path().join("a/d"), vec![0u8; 24]).unwrap();
        assert_eq!(disk_usage(&dir.path().join("a")).unwrap(), 1024);
        assert_eq!(disk_usage(&dir.path().join("missing")).unwrap(), 0);
    }
}
