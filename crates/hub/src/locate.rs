//! Finding a model named by the user: a folder or `.gguf` path on disk, or a hub id (`owner/name`)
//! resolved from the HF cache. What is not found is reported with what to do (pull or import).

use std::path::{Path, PathBuf};

use crate::cache::{parse_repo_id, RepoCache};
use crate::{HubError, Result};

/// Where a model's files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Located {
    /// A model folder (a local folder or a cache snapshot).
    Folder(PathBuf),
    /// A `.gguf` file.
    Gguf(PathBuf),
}

/// Finds `spec` on disk or in `cache` (at `revision`). `Ok(None)` means a valid hub id that is not
/// cached (the caller may pull it).
pub fn locate(spec: &str, cache: &Path, revision: &str) -> Result<Option<Located>> {
    let p = Path::new(spec);
    if p.exists() {
        return Ok(Some(match (p.is_dir(), crate::import::single_gguf(p)) {
            (true, Some(gguf)) => Located::Gguf(gguf),
            (true, None) => Located::Folder(p.to_path_buf()),
            (false, _) => Located::Gguf(p.to_path_buf()),
        }));
    }
    if parse_repo_id(spec).is_err() {
        return Err(HubError::invalid(
            p,
            "is neither an existing folder or .gguf file nor a hub model id (`owner/name`)",
        ));
    }
    let rc = RepoCache::new(cache, spec)?;
    Ok(rc
        .resolve_revision(revision)
        .map(|c| Located::Folder(rc.snapshot_dir(&c))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_wins_a_cached_id_resolves_to_its_snapshot_and_an_uncached_id_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("hub");
        let rc = RepoCache::new(&cache, "o/m").unwrap();
        let commit = "89abcdef0123456789abcdef0123456789abcdef";
        std::fs::create_dir_all(rc.snapshot_dir(commit)).unwrap();
        rc.write_ref("main", commit).unwrap();
        assert_eq!(
            locate("o/m", &cache, "main").unwrap(),
            Some(Located::Folder(rc.snapshot_dir(commit)))
        );
        assert_eq!(locate("o/other", &cache, "main").unwrap(), None);
        let folder = dir.path().to_str().unwrap();
        assert_eq!(
            locate(folder, &cache, "main").unwrap(),
            Some(Located::Folder(dir.path().to_path_buf()))
        );
        assert!(locate("no-such-thing", &cache, "main")
            .unwrap_err()
            .to_string()
            .contains("owner/name"));
    }
}
