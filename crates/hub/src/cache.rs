//! The Hugging Face cache, laid out exactly as Python's `huggingface_hub` lays it out, so models
//! downloaded by either are shared:
//!
//! ```text
//! <cache>/models--<owner>--<name>/blobs/<etag>              the bytes (etag = sha256 for LFS files,
//!                                                          the git blob id for small ones)
//! <cache>/models--<owner>--<name>/blobs/<etag>.incomplete   a download in progress (resumable)
//! <cache>/models--<owner>--<name>/snapshots/<commit>/<file> a relative symlink to ../../blobs/<etag>
//! <cache>/models--<owner>--<name>/refs/<revision>           the commit a branch or tag points at
//! ```
//!
//! Where symlinks are not allowed (some Windows setups) the blob is copied into the snapshot, as
//! Python does.

use std::path::{Path, PathBuf};

use crate::{HubError, Result};

/// The cache's model folder: `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`.
pub fn hub_cache_dir() -> PathBuf {
    resolve(
        std::env::var_os("HF_HUB_CACHE").map(PathBuf::from),
        std::env::var_os("HF_HOME").map(PathBuf::from),
        dirs::home_dir(),
    )
}

/// `$HF_HOME`, else `~/.cache/huggingface` (where `huggingface-cli login` keeps its token).
pub fn hf_home() -> PathBuf {
    match std::env::var_os("HF_HOME") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => dirs::home_dir()
            .unwrap_or_else(std::env::temp_dir)
            .join(".cache")
            .join("huggingface"),
    }
}

fn resolve(hub_cache: Option<PathBuf>, hf_home: Option<PathBuf>, home: Option<PathBuf>) -> PathBuf {
    if let Some(p) = hub_cache {
        return p;
    }
    if let Some(p) = hf_home {
        return p.join("hub");
    }
    home.unwrap_or_else(std::env::temp_dir)
        .join(".cache")
        .join("huggingface")
        .join("hub")
}

/// Splits and checks a hub model id (`owner/name`).
pub fn parse_repo_id(id: &str) -> Result<(&str, &str)> {
    let ok_part = |s: &str| {
        !s.is_empty()
            && s != "."
            && s != ".."
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    match id.split_once('/') {
        Some((owner, name)) if ok_part(owner) && ok_part(name) => Ok((owner, name)),
        _ => Err(HubError::BadModelId(id.to_string())),
    }
}

/// One model repository's folder in the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoCache {
    id: String,
    root: PathBuf,
}

impl RepoCache {
    /// The folder of model `id` (`owner/name`) under `cache`.
    pub fn new(cache: &Path, id: &str) -> Result<Self> {
        let (owner, name) = parse_repo_id(id)?;
        Ok(RepoCache {
            id: id.to_string(),
            root: cache.join(format!("models--{owner}--{name}")),
        })
    }

    /// The repository id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The repository's folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the blob with `etag` lives.
    pub fn blob_path(&self, etag: &str) -> PathBuf {
        self.root.join("blobs").join(etag)
    }

    /// Where the unfinished download of the blob with `etag` lives (Python uses the same name).
    pub fn incomplete_path(&self, etag: &str) -> PathBuf {
        self.root.join("blobs").join(format!("{etag}.incomplete"))
    }

    /// The snapshot folder of `commit`.
    pub fn snapshot_dir(&self, commit: &str) -> PathBuf {
        self.root.join("snapshots").join(commit)
    }

    /// The commit that `revision` points at, if the cache knows it. A 40-hex revision is its own
    /// commit.
    pub fn resolve_revision(&self, revision: &str) -> Option<String> {
        if is_commit_hash(revision) {
            return self
                .snapshot_dir(revision)
                .is_dir()
                .then(|| revision.to_string());
        }
        let text = std::fs::read_to_string(self.root.join("refs").join(revision)).ok()?;
        let commit = text.trim().to_string();
        (is_commit_hash(&commit) && self.snapshot_dir(&commit).is_dir()).then_some(commit)
    }

    /// Records that `revision` points at `commit` (`refs/<revision>`), unless it is a commit itself.
    pub fn write_ref(&self, revision: &str, commit: &str) -> Result<()> {
        if is_commit_hash(revision) {
            return Ok(());
        }
        let path = self.root.join("refs").join(revision);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| HubError::io(parent, e))?;
        }
        std::fs::write(&path, commit).map_err(|e| HubError::io(&path, e))
    }

    /// Makes `snapshots/<commit>/<file>` point at the blob `etag` (a relative symlink, or a copy where
    /// symlinks are refused).
    pub fn link_snapshot_file(&self, commit: &str, file: &str, etag: &str) -> Result<PathBuf> {
        let target = self.snapshot_dir(commit).join(file);
        let parent = target.parent().unwrap_or(&self.root).to_path_buf();
        std::fs::create_dir_all(&parent).map_err(|e| HubError::io(&parent, e))?;
        if std::fs::symlink_metadata(&target).is_ok() {
            std::fs::remove_file(&target).map_err(|e| HubError::io(&target, e))?;
        }
        // ../../blobs/<etag> from snapshots/<commit>/, one more `..` per folder inside the repo.
        let depth = file.matches('/').count();
        let mut relative = PathBuf::new();
        for _ in 0..depth + 2 {
            relative.push("..");
        }
        relative.push("blobs");
        relative.push(etag);
        if symlink(&relative, &target).is_err() {
            let blob = self.blob_path(etag);
            std::fs::copy(&blob, &target).map_err(|e| HubError::io(&target, e))?;
        }
        Ok(target)
    }

    /// The snapshot folders present, newest first.
    pub fn snapshots(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<(std::time::SystemTime, PathBuf)> =
            std::fs::read_dir(self.root.join("snapshots"))
                .into_iter()
                .flatten()
                .flatten()
                .filter(|e| e.path().is_dir())
                .map(|e| {
                    (
                        e.metadata()
                            .and_then(|m| m.modified())
                            .unwrap_or(std::time::UNIX_EPOCH),
                        e.path(),
                    )
                })
                .collect();
        dirs.sort_by_key(|d| std::cmp::Reverse(d.0));
        dirs.into_iter().map(|(_, p)| p).collect()
    }
}

/// The model repositories present in `cache`, as `(id, folder)`.
pub fn cached_repos(cache: &Path) -> Vec<RepoCache> {
    let mut repos: Vec<RepoCache> = std::fs::read_dir(cache)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            let rest = name.strip_prefix("models--")?;
            let (owner, model) = rest.split_once("--")?;
            RepoCache::new(cache, &format!("{owner}/{model}")).ok()
        })
        .collect();
    repos.sort_by(|a, b| a.id.cmp(&b.id));
    repos
}

/// Whether `s` is a full 40-hex git commit id.
pub fn is_commit_hash(s: &str) -> bool {
    s.len() == 40 && s.chars().all(|c| c.is_ascii_hexdigit())
}

#[cfg(unix)]
fn symlink(src: &Path, dst: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(src, dst)
}

#[cfg(windows)]
fn symlink(src: &Path, dst: &Path) -> std::io::Result<()> {
    std::os::windows::fs::symlink_file(src, dst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hf_home_wins_over_the_home_folder_and_hub_cache_wins_over_both() {
        let home = Some(PathBuf::from("/home/u"));
        assert_eq!(
            resolve(None, None, home.clone()),
            PathBuf::from("/home/u/.cache/huggingface/hub")
        );
        assert_eq!(
            resolve(None, Some("/hf".into()), home.clone()),
            PathBuf::from("/hf/hub")
        );
        assert_eq!(
            resolve(Some("/c".into()), Some("/hf".into()), home),
            PathBuf::from("/c")
        );
    }

    #[test]
    fn a_repo_folder_follows_the_python_naming() {
        let r = RepoCache::new(Path::new("/c"), "org/name-1.5B").unwrap();
        assert_eq!(r.root(), Path::new("/c/models--org--name-1.5B"));
        assert_eq!(
            r.blob_path("abc"),
            PathBuf::from("/c/models--org--name-1.5B/blobs/abc")
        );
        assert_eq!(
            r.incomplete_path("abc"),
            PathBuf::from("/c/models--org--name-1.5B/blobs/abc.incomplete")
        );
    }

    #[test]
    fn ids_without_an_owner_or_with_path_tricks_are_refused() {
        for bad in ["bert", "a/b/c", "../x", "a/..", "", "a/ b"] {
            assert!(parse_repo_id(bad).is_err(), "{bad}");
        }
        assert!(parse_repo_id("sentence-transformers/all-MiniLM-L6-v2").is_ok());
    }

    #[test]
    fn a_snapshot_file_is_a_relative_link_to_its_blob_and_refs_name_the_commit() {
        let dir = tempfile::tempdir().unwrap();
        let r = RepoCache::new(dir.path(), "o/m").unwrap();
        std::fs::create_dir_all(r.root().join("blobs")).unwrap();
        std::fs::write(r.blob_path("e1"), b"hello").unwrap();
        let commit = "0123456789abcdef0123456789abcdef01234567";
        let p = r.link_snapshot_file(commit, "sub/f.txt", "e1").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"hello");
        #[cfg(unix)]
        assert_eq!(
            std::fs::read_link(&p).unwrap(),
            PathBuf::from("../../../blobs/e1")
        );
        r.write_ref("main", commit).unwrap();
        assert_eq!(r.resolve_revision("main").as_deref(), Some(commit));
        assert_eq!(cached_repos(dir.path())[0].id(), "o/m");
    }
}
