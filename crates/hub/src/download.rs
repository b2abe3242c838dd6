//! Pulling a model into the standard HF cache: only the files Tunesmith needs, resumable after an
//! interruption (HTTP Range on the `.incomplete` file Python also uses), cancellable between chunks,
//! reporting typed progress, and verified (sha256 for LFS files, the git blob id for small ones).
//! A blob already in the cache is verified too: a corrupted one is deleted and fetched again.
//!
//! The endpoints are the hub's own: `GET /api/models/<id>/revision/<rev>?blobs=true` for the file
//! list with sizes and checksums, `GET /<id>/resolve/<commit>/<file>` for the bytes (which
//! redirects LFS files to their storage).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use sha2::Digest;

use crate::cache::RepoCache;
use crate::cancel::CancelToken;
use crate::client::HubClient;
use crate::progress::{Meter, PlannedFile, PullEvent};
use crate::{HubError, Result};

/// How many times one file's transfer is attempted before giving up.
const MAX_ATTEMPTS: u32 = 5;

/// A repository's file list at one commit, as `?blobs=true` returns it.
#[derive(Debug, Clone, Deserialize)]
pub struct RepoFiles {
    /// The commit.
    pub sha: String,
    /// The files.
    #[serde(default)]
    pub siblings: Vec<Sibling>,
}

/// One file of a repository.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sibling {
    /// Its path in the repository.
    pub rfilename: String,
    /// Its size in bytes.
    #[serde(default)]
    pub size: Option<u64>,
    /// The git blob id (the etag of a non-LFS file).
    #[serde(default)]
    pub blob_id: Option<String>,
    /// LFS metadata, for large files.
    #[serde(default)]
    pub lfs: Option<LfsInfo>,
}

/// LFS metadata of a file.
#[derive(Debug, Clone, Deserialize)]
pub struct LfsInfo {
    /// The sha256 of the bytes (also the file's etag).
    pub sha256: String,
    /// The size in bytes.
    #[serde(default)]
    pub size: Option<u64>,
}

impl Sibling {
    fn expected_size(&self) -> Option<u64> {
        self.lfs.as_ref().and_then(|l| l.size).or(self.size)
    }

    fn etag(&self) -> Option<String> {
        self.lfs
            .as_ref()
            .map(|l| l.sha256.clone())
            .or_else(|| self.blob_id.clone())
    }
}

/// The result of a pull.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pulled {
    /// The repository id.
    pub repo: String,
    /// The commit.
    pub commit: String,
    /// The snapshot folder holding every file.
    pub snapshot: PathBuf,
    /// The files in the snapshot that were pulled.
    pub files: Vec<String>,
    /// Bytes transferred by this pull (0 when everything was cached).
    pub bytes_downloaded: u64,
    /// Whether the hub was not asked (offline) and the cached snapshot was used.
    pub offline: bool,
}

/// Small files a model needs besides its weights (configs, tokenizers, sentence-transformers pooling).
const NEEDED_FILES: &[&str] = &[
    "config.json",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "tokenizer.model",
    "sentencepiece.bpe.model",
    "spiece.model",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
    "model.safetensors.index.json",
];

/// Picks the files to download from a repository's list: configs and tokenizer files, and the
/// safetensors weights (never pickle `.bin`, `.pt`, `.h5` and the like). A repository with GGUF
/// files only gets one of them (the 8-bit one if present, as the engine trains fastest over it).
pub fn select_files(repo: &str, names: &[String]) -> Result<Vec<String>> {
    let root_level = |n: &&String| !n.contains('/');
    let mut picked: Vec<String> = names
        .iter()
        .filter(|n| NEEDED_FILES.contains(&n.as_str()))
        .cloned()
        .collect();
    let safetensors: Vec<String> = names
        .iter()
        .filter(root_level)
        .filter(|n| n.ends_with(".safetensors"))
        .cloned()
        .collect();
    if !safetensors.is_empty() {
        picked.extend(safetensors);
    } else {
        let ggufs: Vec<&String> = names
            .iter()
            .filter(root_level)
            .filter(|n| n.to_ascii_lowercase().ends_with(".gguf"))
            .collect();
        let preferred = ["q8_0", "f16", "q4_k_m"]
            .iter()
            .find_map(|q| ggufs.iter().find(|n| n.to_ascii_lowercase().contains(q)))
            .or(ggufs.first());
        match preferred {
            Some(g) => picked.push((*g).clone()),
            None => {
                let found: Vec<&str> = names.iter().take(8).map(String::as_str).collect();
                return Err(HubError::NoUsableWeights {
                    repo: repo.to_string(),
                    found: found.join(", "),
                });
            }
        }
    }
    picked.sort();
    picked.dedup();
    Ok(picked)
}

/// Percent-encodes a revision for a URL path (`refs/pr/1` -> `refs%2Fpr%2F1`).
pub(crate) fn encode_revision(rev: &str) -> String {
    rev.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl HubClient {
    /// The file list of `repo` at `revision`, with sizes and checksums.
    pub fn repo_files(&self, repo: &str, revision: &str) -> Result<RepoFiles> {
        crate::cache::parse_repo_id(repo)?;
        let url = format!(
            "{}/api/models/{repo}/revision/{}?blobs=true",
            self.endpoint(),
            encode_revision(revision)
        );
        let resp = self.send(
            self.get(&url),
            repo,
            &format!("model `{repo}` at revision `{revision}`"),
        )?;
        let body = crate::client::read_body(resp, &url, crate::client::MAX_JSON_BYTES)?;
        serde_json::from_slice::<RepoFiles>(&body).map_err(|e| HubError::BadResponse {
            url,
            reason: e.to_string(),
        })
    }

    /// Pulls `repo` at `revision` into `cache`, reporting through `on_event`. Offline (or when the
    /// hub cannot be reached) the cached snapshot is used if there is one.
    pub fn pull(
        &self,
        cache: &Path,
        repo: &str,
        revision: &str,
        cancel: &CancelToken,
        on_event: &mut dyn FnMut(&PullEvent),
    ) -> Result<Pulled> {
        let rc = RepoCache::new(cache, repo)?;
        if self.offline() {
            return from_cache(&rc, cache, revision, on_event);
        }
        let files = match self.repo_files(repo, revision) {
            Ok(f) => f,
            Err(HubError::Network { reason, .. }) if rc.resolve_revision(revision).is_some() => {
                on_event(&PullEvent::Offline { reason });
                return from_cache(&rc, cache, revision, on_event);
            }
            Err(e) => return Err(e),
        };
        if !crate::cache::is_commit_hash(&files.sha) {
            return Err(HubError::BadResponse {
                url: format!("{}/api/models/{repo}", self.endpoint()),
                reason: format!("the commit `{}` is not a 40-hex id", files.sha),
            });
        }
        let names: Vec<String> = files.siblings.iter().map(|s| s.rfilename.clone()).collect();
        let wanted = select_files(repo, &names)?;
        let plan: Vec<&Sibling> = wanted
            .iter()
            .filter_map(|w| files.siblings.iter().find(|s| &s.rfilename == w))
            .collect();
        let total: u64 = plan.iter().filter_map(|s| s.expected_size()).sum();
        on_event(&PullEvent::Started {
            repo: repo.to_string(),
            revision: revision.to_string(),
            commit: files.sha.clone(),
            files: plan
                .iter()
                .map(|s| PlannedFile {
                    file: s.rfilename.clone(),
                    size: s.expected_size(),
                    lfs: s.lfs.is_some(),
                })
                .collect(),
            total_bytes: total,
        });
        let mut meter = Meter::new(total);
        for sibling in &plan {
            self.fetch_file(&rc, &files.sha, sibling, cancel, &mut meter, on_event)?;
        }
        rc.write_ref(revision, &files.sha)?;
        let snapshot = rc.snapshot_dir(&files.sha);
        on_event(&PullEvent::Finished {
            repo: repo.to_string(),
            commit: files.sha.clone(),
            snapshot: snapshot.clone(),
            bytes_downloaded: meter.transferred,
        });
        Ok(Pulled {
            repo: repo.to_string(),
            commit: files.sha,
            snapshot,
            files: wanted,
            bytes_downloaded: meter.transferred,
            offline: false,
        })
    }

    /// Fetches one file into its blob (verifying a cached one first) and links it into the snapshot.
    fn fetch_file(
        &self,
        rc: &RepoCache,
        commit: &str,
        sibling: &Sibling,
        cancel: &CancelToken,
        meter: &mut Meter,
        on_event: &mut dyn FnMut(&PullEvent),
    ) -> Result<()> {
        let file = &sibling.rfilename;
        let etag = match sibling.etag() {
            Some(e) => e,
            None => self.head_etag(rc.id(), commit, file)?,
        };
        let blobs = rc.root().join("blobs");
        std::fs::create_dir_all(&blobs).map_err(|e| HubError::io(&blobs, e))?;
        let blob = rc.blob_path(&etag);
        if blob.is_file() {
            match verify(&blob, sibling)? {
                Ok(_) => {
                    meter.finish_file(sibling.expected_size().unwrap_or(0));
                    rc.link_snapshot_file(commit, file, &etag)?;
                    on_event(&PullEvent::FileCached { file: file.clone() });
                    return Ok(());
                }
                Err((expected, actual)) => {
                    on_event(&PullEvent::Corrupted {
                        file: file.clone(),
                        expected,
                        actual,
                    });
                    std::fs::remove_file(&blob).map_err(|e| HubError::io(&blob, e))?;
                }
            }
        }
        let partial = rc.incomplete_path(&etag);
        let url = format!("{}/{}/resolve/{commit}/{}", self.endpoint(), rc.id(), file);
        let mut checksum_failures = 0;
        let mut attempt = 1;
        loop {
            if cancel.is_cancelled() {
                return Err(HubError::Cancelled {
                    repo: rc.id().to_string(),
                });
            }
            match self.transfer(rc.id(), &url, &partial, sibling, cancel, meter, on_event) {
                Ok(()) => {}
                Err(TransferError::Fatal(e)) => return Err(e),
                Err(TransferError::Retry(reason)) => {
                    attempt += 1;
                    if attempt > MAX_ATTEMPTS {
                        return Err(HubError::Network {
                            endpoint: self.endpoint().to_string(),
                            reason,
                        });
                    }
                    on_event(&PullEvent::Retrying {
                        file: file.clone(),
                        attempt,
                        reason,
                    });
                    std::thread::sleep(Duration::from_millis(100 * u64::from(attempt)));
                    continue;
                }
            }
            match verify(&partial, sibling)? {
                Ok(how) => {
                    meter.finish_file(sibling.expected_size().unwrap_or(meter.current));
                    std::fs::rename(&partial, &blob).map_err(|e| HubError::io(&blob, e))?;
                    rc.link_snapshot_file(commit, file, &etag)?;
                    on_event(&PullEvent::FileDone {
                        file: file.clone(),
                        verified: how.to_string(),
                    });
                    return Ok(());
                }
                Err((expected, actual)) => {
                    std::fs::remove_file(&partial).map_err(|e| HubError::io(&partial, e))?;
                    checksum_failures += 1;
                    if checksum_failures >= 2 {
                        return Err(HubError::Checksum {
                            repo: rc.id().to_string(),
                            file: file.clone(),
                            expected,
                            actual,
                        });
                    }
                    on_event(&PullEvent::Corrupted {
                        file: file.clone(),
                        expected,
                        actual,
                    });
                }
            }
        }
    }

    /// One transfer attempt: continues `partial` from its length with a Range request.
    #[allow(clippy::too_many_arguments)]
    fn transfer(
        &self,
        repo: &str,
        url: &str,
        partial: &Path,
        sibling: &Sibling,
        cancel: &CancelToken,
        meter: &mut Meter,
        on_event: &mut dyn FnMut(&PullEvent),
    ) -> std::result::Result<(), TransferError> {
        let file = &sibling.rfilename;
        let expected = sibling.expected_size();
        let mut offset = std::fs::metadata(partial).map(|m| m.len()).unwrap_or(0);
        if expected.is_some_and(|n| offset > n) {
            std::fs::remove_file(partial)
                .map_err(|e| TransferError::Fatal(HubError::io(partial, e)))?;
            offset = 0;
        }
        if expected == Some(offset) && offset > 0 {
            // Complete already (killed between the last byte and the rename): just verify.
            meter.current = offset;
            return Ok(());
        }
        let mut req = self.get(url);
        if offset > 0 {
            req = req.header(reqwest::header::RANGE, format!("bytes={offset}-"));
        }
        let resp = match req.send() {
            Ok(r) => r,
            Err(e) => return Err(TransferError::Retry(self.network_error(&e).to_string())),
        };
        if resp.status() == reqwest::StatusCode::TOO_MANY_REQUESTS {
            // The attempt count bounds how often; the wait the hub names bounds how fast.
            if let Some(wait) = crate::client::rate_limit_wait(&resp, 0) {
                std::thread::sleep(wait);
                return Err(TransferError::Retry(format!(
                    "the hub asked to slow down (429); waited {} s",
                    wait.as_secs()
                )));
            }
        }
        if resp.status() == reqwest::StatusCode::RANGE_NOT_SATISFIABLE {
            let _ = std::fs::remove_file(partial);
            return Err(TransferError::Retry(
                "the partial download did not match the file; starting over".into(),
            ));
        }
        let mut resp =
            crate::client::check_status(resp, repo, &format!("file `{file}` of `{repo}`"))
                .map_err(|e| match e {
                    HubError::Http { status, .. } if status >= 500 => {
                        TransferError::Retry(e.to_string())
                    }
                    other => TransferError::Fatal(other),
                })?;
        let resumed = resp.status() == reqwest::StatusCode::PARTIAL_CONTENT && offset > 0;
        if !resumed {
            offset = 0;
        }
        let mut out = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(resumed)
            .truncate(!resumed)
            .open(partial)
            .map_err(|e| TransferError::Fatal(HubError::io(partial, e)))?;
        on_event(&PullEvent::FileStarted {
            file: file.clone(),
            size: expected,
            resumed_from: offset,
        });
        meter.current = offset;
        let mut file_bytes = offset;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            if cancel.is_cancelled() {
                return Err(TransferError::Fatal(HubError::Cancelled {
                    repo: repo.to_string(),
                }));
            }
            let n = match resp.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    let _ = out.flush();
                    return Err(TransferError::Retry(format!(
                        "the connection broke after {file_bytes} bytes ({e})"
                    )));
                }
            };
            out.write_all(&buf[..n])
                .map_err(|e| TransferError::Fatal(HubError::io(partial, e)))?;
            file_bytes += n as u64;
            meter.current = file_bytes;
            meter.transferred += n as u64;
            if meter.should_emit(false) {
                emit_progress(file, file_bytes, meter, on_event);
            }
        }
        out.flush()
            .map_err(|e| TransferError::Fatal(HubError::io(partial, e)))?;
        if let Some(n) = expected {
            if file_bytes < n {
                return Err(TransferError::Retry(format!(
                    "the connection closed after {file_bytes} of {n} bytes"
                )));
            }
        }
        meter.should_emit(true);
        emit_progress(file, file_bytes, meter, on_event);
        Ok(())
    }

    /// The etag of a file whose listing had none (older hubs): a HEAD on its resolve address.
    fn head_etag(&self, repo: &str, commit: &str, file: &str) -> Result<String> {
        let url = format!("{}/{repo}/resolve/{commit}/{file}", self.endpoint());
        let resp = self.send(
            self.get(&url).header(reqwest::header::RANGE, "bytes=0-0"),
            repo,
            &format!("file `{file}` of `{repo}`"),
        )?;
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        header("x-linked-etag")
            .or_else(|| header("etag"))
            .map(|e| e.trim_start_matches("W/").trim_matches('"').to_string())
            .filter(|e| !e.is_empty() && !e.contains('/'))
            .ok_or_else(|| HubError::BadResponse {
                url,
                reason: "no etag for the file".into(),
            })
    }
}

fn emit_progress(file: &str, file_bytes: u64, meter: &Meter, on_event: &mut dyn FnMut(&PullEvent)) {
    on_event(&PullEvent::Progress {
        file: file.to_string(),
        file_bytes,
        bytes_done: meter.done(),
        total_bytes: meter.total,
        rate_bytes_per_s: meter.rate(),
        eta_s: meter.eta(),
    });
}

enum TransferError {
    /// Worth another attempt (the connection broke, the server had a hiccup).
    Retry(String),
    /// Not worth retrying (cancelled, refused, disk error).
    Fatal(HubError),
}

/// The cached snapshot of `revision`, or [`HubError::NotCached`].
fn from_cache(
    rc: &RepoCache,
    cache: &Path,
    revision: &str,
    on_event: &mut dyn FnMut(&PullEvent),
) -> Result<Pulled> {
    let commit = rc
        .resolve_revision(revision)
        .ok_or_else(|| HubError::NotCached {
            repo: rc.id().to_string(),
            cache: cache.to_path_buf(),
        })?;
    let snapshot = rc.snapshot_dir(&commit);
    let files = list_files(&snapshot);
    on_event(&PullEvent::Finished {
        repo: rc.id().to_string(),
        commit: commit.clone(),
        snapshot: snapshot.clone(),
        bytes_downloaded: 0,
    });
    Ok(Pulled {
        repo: rc.id().to_string(),
        commit,
        snapshot,
        files,
        bytes_downloaded: 0,
        offline: true,
    })
}

/// The files under `dir`, relative, sorted.
pub(crate) fn list_files(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else if let Ok(rel) = p.strip_prefix(base) {
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Checks a file against the hub's checksum: `Ok(Ok(method))` when it matches,
/// `Ok(Err((expected, actual)))` when it does not.
fn verify(
    path: &Path,
    sibling: &Sibling,
) -> Result<std::result::Result<&'static str, (String, String)>> {
    let len = std::fs::metadata(path)
        .map_err(|e| HubError::io(path, e))?
        .len();
    if let Some(lfs) = &sibling.lfs {
        let actual = sha256_file(path)?;
        return Ok(if actual.eq_ignore_ascii_case(&lfs.sha256) {
            Ok("sha256")
        } else {
            Err((lfs.sha256.clone(), actual))
        });
    }
    if let Some(blob_id) = &sibling.blob_id {
        let actual = git_blob_sha1(path, len)?;
        return Ok(if actual.eq_ignore_ascii_case(blob_id) {
            Ok("git-sha1")
        } else {
            Err((blob_id.clone(), actual))
        });
    }
    match sibling.size {
        Some(n) if n != len => Ok(Err((format!("{n} bytes"), format!("{len} bytes")))),
        _ => Ok(Ok("size")),
    }
}

/// The sha256 of a file, in hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut hasher = sha2::Sha256::new();
    hash_into(path, |chunk| hasher.update(chunk))?;
    Ok(hex(&hasher.finalize()))
}

/// The git blob id of a file: sha1 of `blob <len>\0` followed by the bytes.
pub fn git_blob_sha1(path: &Path, len: u64) -> Result<String> {
    let mut hasher = sha1::Sha1::new();
    hasher.update(format!("blob {len}\0").as_bytes());
    hash_into(path, |chunk| hasher.update(chunk))?;
    Ok(hex(&hasher.finalize()))
}

fn hash_into(path: &Path, mut update: impl FnMut(&[u8])) -> Result<()> {
    let mut f = std::fs::File::open(path).map_err(|e| HubError::io(path, e))?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| HubError::io(path, e))?;
        if n == 0 {
            return Ok(());
        }
        update(&buf[..n]);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn pickle_weights_are_never_picked_when_safetensors_exist() {
        let picked = select_files(
            "o/m",
            &names(&[
                "config.json",
                "pytorch_model.bin",
                "model.safetensors",
                "tokenizer.json",
                "onnx/model.onnx",
                "README.md",
                "1_Pooling/config.json",
            ]),
        )
        .unwrap();
        assert_eq!(
            picked,
            names(&[
                "1_Pooling/config.json",
                "config.json",
                "model.safetensors",
                "tokenizer.json"
            ])
        );
    }

    #[test]
    fn a_repo_with_only_pickle_weights_is_refused_with_the_reason() {
        let err = select_files("o/m", &names(&["config.json", "pytorch_model.bin"])).unwrap_err();
        assert!(err.to_string().contains("pickle"), "{err}");
    }

    #[test]
    fn a_gguf_only_repo_gets_its_eight_bit_file() {
        let picked = select_files(
            "o/m",
            &names(&["m-Q4_K_M.gguf", "m-Q8_0.gguf", "m-f16.gguf"]),
        )
        .unwrap();
        assert_eq!(picked, names(&["m-Q8_0.gguf"]));
    }

    #[test]
    fn the_git_blob_id_matches_git_hash_object() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"hello\n").unwrap();
        // `printf 'hello\n' | git hash-object --stdin`
        assert_eq!(
            git_blob_sha1(&p, 6).unwrap(),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
    }

    #[test]
    fn revisions_with_slashes_are_escaped() {
        assert_eq!(encode_revision("refs/pr/1"), "refs%2Fpr%2F1");
        assert_eq!(encode_revision("main"), "main");
    }
}
