//! The hub client against the loopback mock hub: search, pull into the standard cache layout,
//! resume after a dropped connection or a cancel, corruption detected and re-fetched, gated
//! repositories, not-found answers and offline mode. No internet is used.

use std::path::{Path, PathBuf};

use tunesmith_hub::cache::RepoCache;
use tunesmith_hub::download::sha256_file;
use tunesmith_hub::mock::{MockHub, MockRepo};
use tunesmith_hub::token::Token;
use tunesmith_hub::{CancelToken, HubClient, HubError, PullEvent};

const TOKEN: &str = "hf_mock_token_123";

fn repos_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/repos")
}

fn hub() -> MockHub {
    let d = repos_dir();
    MockHub::start(
        &[
            MockRepo::new("tiny-org/tiny-bert", d.join("tiny-bert")),
            MockRepo::new("tiny-org/tiny-llama-gated", d.join("tiny-llama-gated")),
            MockRepo::new("tiny-org/tiny-t5", d.join("tiny-t5")),
            MockRepo::new("tiny-org/pickle-only-bert", d.join("pickle-only-bert")),
        ],
        Some(TOKEN),
    )
    .unwrap()
}

fn client(hub: &MockHub) -> HubClient {
    HubClient::new(&hub.url(), None, false).unwrap()
}

fn pull(
    client: &HubClient,
    cache: &Path,
    repo: &str,
) -> (
    Result<tunesmith_hub::download::Pulled, HubError>,
    Vec<PullEvent>,
) {
    let mut events = Vec::new();
    let r = client.pull(cache, repo, "main", &CancelToken::new(), &mut |e| {
        events.push(e.clone())
    });
    (r, events)
}

#[test]
fn search_shows_sizes_licences_gating_and_the_supported_badge() {
    let hub = hub();
    let results = client(&hub).search("tiny", None, 20).unwrap();
    let ids: Vec<&str> = results.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "tiny-org/tiny-bert",
            "tiny-org/tiny-llama-gated",
            "tiny-org/tiny-t5",
            "tiny-org/pickle-only-bert"
        ]
    );
    let bert = &results[0];
    assert!(bert.support.supported);
    assert_eq!(bert.license.as_deref(), Some("apache-2.0"));
    let params = bert.parameters.unwrap();
    assert!(params > 1000, "{params}");
    assert_eq!(bert.download_bytes, Some(params * 4));
    assert!(results[1].gated && results[1].support.supported);
    assert!(!results[2].support.supported);
    assert!(results[2]
        .support
        .reason
        .as_deref()
        .unwrap()
        .contains("T5ForConditionalGeneration"));
    assert!(results[3]
        .support
        .reason
        .as_deref()
        .unwrap()
        .contains("pickle"));
    let generation = client(&hub)
        .search("tiny", Some("text-generation"), 20)
        .unwrap();
    assert_eq!(generation.len(), 1);
    assert_eq!(generation[0].id, "tiny-org/tiny-llama-gated");
}

#[test]
fn pull_fetches_only_the_needed_files_into_the_standard_cache_layout() {
    let hub = hub();
    let cache = tempfile::tempdir().unwrap();
    let (r, events) = pull(&client(&hub), cache.path(), "tiny-org/tiny-bert");
    let pulled = r.unwrap();
    let commit = hub.commit("tiny-org/tiny-bert").unwrap();
    assert_eq!(pulled.commit, commit);
    let root = cache.path().join("models--tiny-org--tiny-bert");
    assert_eq!(
        std::fs::read_to_string(root.join("refs/main")).unwrap(),
        commit
    );
    let snapshot = root.join("snapshots").join(&commit);
    assert_eq!(pulled.snapshot, snapshot);
    for f in [
        "config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "model.safetensors",
        "1_Pooling/config.json",
    ] {
        assert!(snapshot.join(f).is_file(), "{f} missing");
    }
    assert!(
        !snapshot.join("pytorch_model.bin").exists(),
        "pickle weights must not be downloaded"
    );
    assert!(!hub
        .requests()
        .iter()
        .any(|r| r.path.contains("pytorch_model.bin")));
    // The safetensors blob is named by its sha256, as Python's huggingface_hub names it.
    let sha = hub
        .sha256("tiny-org/tiny-bert", "model.safetensors")
        .unwrap();
    assert_eq!(sha256_file(&root.join("blobs").join(&sha)).unwrap(), sha);
    #[cfg(unix)]
    assert_eq!(
        std::fs::read_link(snapshot.join("model.safetensors")).unwrap(),
        PathBuf::from(format!("../../blobs/{sha}"))
    );
    assert!(
        matches!(events.first(), Some(PullEvent::Started { total_bytes, .. }) if *total_bytes > 30_000)
    );
    assert!(matches!(events.last(), Some(PullEvent::Finished { .. })));
    assert!(events.iter().any(|e| matches!(e, PullEvent::FileDone { file, verified } if file == "model.safetensors" && verified == "sha256")));
    assert!(events.iter().any(|e| matches!(e, PullEvent::FileDone { file, verified } if file == "config.json" && verified == "git-sha1")));
    let last_progress = events.iter().rev().find_map(|e| match e {
        PullEvent::Progress {
            bytes_done,
            total_bytes,
            eta_s,
            ..
        } => Some((*bytes_done, *total_bytes, *eta_s)),
        _ => None,
    });
    let (done, total, eta) = last_progress.unwrap();
    assert_eq!(done, total);
    assert_eq!(eta, Some(0.0));
    // A second pull transfers nothing: every file is verified in the cache.
    let (again, events) = pull(&client(&hub), cache.path(), "tiny-org/tiny-bert");
    assert_eq!(again.unwrap().bytes_downloaded, 0);
    assert!(events
        .iter()
        .any(|e| matches!(e, PullEvent::FileCached { file } if file == "model.safetensors")));
}

#[test]
fn a_download_dropped_half_way_resumes_with_a_range_request_and_ends_verified() {
    let hub = hub();
    hub.drop_connection_after("model.safetensors", 12_000);
    let cache = tempfile::tempdir().unwrap();
    let (r, events) = pull(&client(&hub), cache.path(), "tiny-org/tiny-bert");
    let pulled = r.unwrap();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, PullEvent::Retrying { file, .. } if file == "model.safetensors")),
        "{events:?}"
    );
    assert!(
        hub.requests()
            .iter()
            .any(|r| r.range.as_deref() == Some("bytes=12000-")),
        "{:?}",
        hub.requests()
    );
    assert!(events.iter().any(|e| matches!(e, PullEvent::FileStarted { file, resumed_from: 12_000, .. } if file == "model.safetensors")));
    let sha = hub
        .sha256("tiny-org/tiny-bert", "model.safetensors")
        .unwrap();
    assert_eq!(
        sha256_file(&pulled.snapshot.join("model.safetensors")).unwrap(),
        sha
    );
}

#[test]
fn a_cancelled_pull_keeps_its_partial_file_and_the_next_pull_resumes_it() {
    let hub = hub();
    hub.drop_connection_after("model.safetensors", 9_000);
    let cache = tempfile::tempdir().unwrap();
    let client = client(&hub);
    let cancel = CancelToken::new();
    let err = client
        .pull(
            cache.path(),
            "tiny-org/tiny-bert",
            "main",
            &cancel,
            &mut |e| {
                if matches!(e, PullEvent::Retrying { .. }) {
                    cancel.cancel();
                }
            },
        )
        .unwrap_err();
    assert!(matches!(err, HubError::Cancelled { .. }), "{err}");
    assert!(err.to_string().contains("resume"));
    let sha = hub
        .sha256("tiny-org/tiny-bert", "model.safetensors")
        .unwrap();
    let partial = RepoCache::new(cache.path(), "tiny-org/tiny-bert")
        .unwrap()
        .incomplete_path(&sha);
    assert_eq!(std::fs::metadata(&partial).unwrap().len(), 9_000);
    let (r, events) = pull(&client, cache.path(), "tiny-org/tiny-bert");
    r.unwrap();
    assert!(
        events.iter().any(|e| matches!(
            e,
            PullEvent::FileStarted {
                resumed_from: 9_000,
                ..
            }
        )),
        "{events:?}"
    );
    assert!(!partial.exists());
}

#[test]
fn a_corrupted_blob_in_the_cache_is_detected_and_fetched_again() {
    let hub = hub();
    let cache = tempfile::tempdir().unwrap();
    let (r, _) = pull(&client(&hub), cache.path(), "tiny-org/tiny-bert");
    let pulled = r.unwrap();
    let sha = hub
        .sha256("tiny-org/tiny-bert", "model.safetensors")
        .unwrap();
    let blob = RepoCache::new(cache.path(), "tiny-org/tiny-bert")
        .unwrap()
        .blob_path(&sha);
    let mut bytes = std::fs::read(&blob).unwrap();
    bytes[20_000] ^= 0xff;
    std::fs::write(&blob, &bytes).unwrap();
    let (r, events) = pull(&client(&hub), cache.path(), "tiny-org/tiny-bert");
    r.unwrap();
    assert!(events
        .iter()
        .any(|e| matches!(e, PullEvent::Corrupted { file, .. } if file == "model.safetensors")));
    assert!(events
        .iter()
        .any(|e| matches!(e, PullEvent::FileDone { file, .. } if file == "model.safetensors")));
    assert_eq!(
        sha256_file(&pulled.snapshot.join("model.safetensors")).unwrap(),
        sha
    );
}

#[test]
fn a_file_served_corrupted_is_refused_and_fetched_again() {
    let hub = hub();
    hub.corrupt_once("model.safetensors");
    let cache = tempfile::tempdir().unwrap();
    let (r, events) = pull(&client(&hub), cache.path(), "tiny-org/tiny-bert");
    let pulled = r.unwrap();
    assert!(events
        .iter()
        .any(|e| matches!(e, PullEvent::Corrupted { file, .. } if file == "model.safetensors")));
    let sha = hub
        .sha256("tiny-org/tiny-bert", "model.safetensors")
        .unwrap();
    assert_eq!(
        sha256_file(&pulled.snapshot.join("model.safetensors")).unwrap(),
        sha
    );
}

#[test]
fn a_gated_repo_without_a_token_says_a_token_is_needed_and_how_to_give_it() {
    let hub = hub();
    let cache = tempfile::tempdir().unwrap();
    let (r, _) = pull(&client(&hub), cache.path(), "tiny-org/tiny-llama-gated");
    let err = r.unwrap_err();
    assert!(matches!(err, HubError::TokenRequired { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("HF_TOKEN") && msg.contains("token"), "{msg}");
    assert!(!msg.contains(TOKEN));
    let with_token = client(&hub).with_token(Token::new(TOKEN));
    let (r, _) = pull(&with_token, cache.path(), "tiny-org/tiny-llama-gated");
    let pulled = r.unwrap();
    for f in [
        "model.safetensors.index.json",
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
        "tokenizer.json",
    ] {
        assert!(pulled.snapshot.join(f).is_file(), "{f}");
    }
}

#[test]
fn a_missing_repo_or_revision_is_reported_as_not_found() {
    let hub = hub();
    let cache = tempfile::tempdir().unwrap();
    let (r, _) = pull(&client(&hub), cache.path(), "tiny-org/does-not-exist");
    assert!(matches!(r.unwrap_err(), HubError::NotFound { .. }));
    let err = client(&hub)
        .pull(
            cache.path(),
            "tiny-org/tiny-bert",
            "v9",
            &CancelToken::new(),
            &mut |_| {},
        )
        .unwrap_err();
    assert!(matches!(err, HubError::NotFound { .. }), "{err}");
    assert!(err.to_string().contains("v9"));
}

#[test]
fn a_repo_with_only_pickle_weights_is_refused() {
    let hub = hub();
    let cache = tempfile::tempdir().unwrap();
    let (r, _) = pull(&client(&hub), cache.path(), "tiny-org/pickle-only-bert");
    assert!(matches!(r.unwrap_err(), HubError::NoUsableWeights { .. }));
}

#[test]
fn offline_the_cached_snapshot_is_used_and_an_uncached_model_says_to_connect() {
    let hub = hub();
    let cache = tempfile::tempdir().unwrap();
    let (r, _) = pull(&client(&hub), cache.path(), "tiny-org/tiny-bert");
    let online = r.unwrap();
    let offline = HubClient::new(&hub.url(), None, true).unwrap();
    let before = hub.requests().len();
    let (r, _) = pull(&offline, cache.path(), "tiny-org/tiny-bert");
    let cached = r.unwrap();
    assert!(cached.offline);
    assert_eq!(cached.snapshot, online.snapshot);
    assert_eq!(
        hub.requests().len(),
        before,
        "offline mode must not touch the network"
    );
    let (r, _) = pull(&offline, cache.path(), "tiny-org/tiny-t5");
    assert!(matches!(r.unwrap_err(), HubError::NotCached { .. }));
    assert!(offline.search("tiny", None, 5).is_err());

    // No network at all (nothing listens on the port): the cache is used, with an `offline` event.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let unreachable = HubClient::new(&format!("http://127.0.0.1:{port}"), None, false).unwrap();
    let (r, events) = pull(&unreachable, cache.path(), "tiny-org/tiny-bert");
    assert!(r.unwrap().offline);
    assert!(matches!(events.first(), Some(PullEvent::Offline { .. })));
    let (r, _) = pull(&unreachable, cache.path(), "tiny-org/tiny-t5");
    assert!(matches!(r.unwrap_err(), HubError::Network { .. }));
}

/// The reference tier: Python's `huggingface_hub` (from the venv named by `TUNESMITH_PYTHON`, else
/// the team's venv) finds a pulled model in the cache offline. Skips where that Python is absent.
#[test]
fn python_huggingface_hub_finds_a_pulled_model_offline() {
    let python = std::env::var_os("TUNESMITH_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root/.cache/tunesmith-venv/bin/python"));
    if !python.exists() {
        eprintln!(
            "skipping: no Python with huggingface_hub at {}",
            python.display()
        );
        return;
    }
    let hub = hub();
    let cache = tempfile::tempdir().unwrap();
    let (r, _) = pull(&client(&hub), cache.path(), "tiny-org/tiny-bert");
    let pulled = r.unwrap();
    let script = "import sys\nfrom huggingface_hub import snapshot_download, try_to_load_from_cache\n\
        p = snapshot_download('tiny-org/tiny-bert', cache_dir=sys.argv[1], local_files_only=True)\n\
        f = try_to_load_from_cache('tiny-org/tiny-bert', 'model.safetensors', cache_dir=sys.argv[1])\n\
        print(p)\nprint(f)\n";
    let out = std::process::Command::new(&python)
        .args(["-c", script])
        .arg(cache.path())
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .unwrap();
    if String::from_utf8_lossy(&out.stderr).contains("No module named 'huggingface_hub'") {
        eprintln!("skipping: {} has no huggingface_hub", python.display());
        return;
    }
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(Path::new(lines[0]), pulled.snapshot);
    assert_eq!(
        Path::new(lines[1]),
        pulled.snapshot.join("model.safetensors")
    );
}

#[test]
fn a_models_shape_is_read_from_the_hub_without_downloading_its_weights() {
    let hub = hub();
    let client = client(&hub).with_token(Token::new(TOKEN));
    let remote = client
        .remote_model("tiny-org/tiny-llama-gated", "main")
        .unwrap();
    assert_eq!(remote.config.architectures, ["LlamaForCausalLM"]);
    let layer = 16 * 16 + 8 * 16 + 8 * 16 + 16 * 16 + 3 * 32 * 16 + 2 * 16;
    assert_eq!(remote.parameters, Some(64 * 16 + 16 + 2 * layer));
    for r in hub
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/lfs-store/"))
    {
        assert!(
            r.range.is_some(),
            "weights must only be read by range: {r:?}"
        );
    }
}
