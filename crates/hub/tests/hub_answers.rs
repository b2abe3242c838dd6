//! The hub client against the mock hub serving answers shaped like the real hub's (`_id`, `id` and
//! the legacy `modelId` together, `gated` as `false`/`"auto"`/`"manual"`, `siblings` with `lfs`,
//! ...), and against each error answer the hub gives: 401 (no token, or a repository that does not
//! exist), 403 (a token without access, a disabled repository), 404, and 429 with `Retry-After`,
//! which is waited for and retried, within bounds.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tunesmith_hub::mock::{MockHub, MockRepo};
use tunesmith_hub::token::Token;
use tunesmith_hub::{HubClient, HubError};

const TOKEN: &str = "hf_mock_token_456";

fn repos_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/repos")
}

fn hub() -> MockHub {
    let d = repos_dir();
    MockHub::start(
        &[
            MockRepo::new("tiny-org/tiny-bert", d.join("tiny-bert")),
            MockRepo::new("tiny-org/tiny-llama-gated", d.join("tiny-llama-gated")),
            MockRepo::new("tiny-org/tiny-bert-auto", d.join("tiny-bert"))
                .with("gated", serde_json::json!("auto")),
            MockRepo::new("tiny-org/tiny-bert-private", d.join("tiny-bert"))
                .with("private", serde_json::json!(true)),
            MockRepo::new("tiny-org/tiny-bert-disabled", d.join("tiny-bert"))
                .with("disabled", serde_json::json!(true)),
            MockRepo::new("tiny-org/pickle-only-bert", d.join("pickle-only-bert")),
        ],
        Some(TOKEN),
    )
    .unwrap()
}

fn client(hub: &MockHub) -> HubClient {
    HubClient::new(&hub.url(), None, false).unwrap()
}

fn with_token(hub: &MockHub, token: &str) -> HubClient {
    client(hub).with_token(Token::new(token))
}

/// The raw JSON the mock serves, to check it carries the real hub's fields.
fn raw_json(url: &str) -> serde_json::Value {
    reqwest::blocking::get(url).unwrap().json().unwrap()
}

#[test]
fn the_mock_serves_the_real_hubs_fields_including_id_and_the_legacy_model_id_together() {
    let hub = hub();
    let list = raw_json(&format!("{}/api/models?search=tiny-bert", hub.url()));
    let first = &list.as_array().unwrap()[0];
    for field in [
        "_id",
        "id",
        "modelId",
        "author",
        "sha",
        "lastModified",
        "createdAt",
        "private",
        "disabled",
        "gated",
        "pipeline_tag",
        "library_name",
        "tags",
        "downloads",
        "likes",
        "trendingScore",
        "cardData",
        "config",
        "safetensors",
    ] {
        assert!(
            first.get(field).is_some(),
            "list entry lacks `{field}`: {first}"
        );
    }
    assert_eq!(first["id"], first["modelId"]);
    let info = raw_json(&format!(
        "{}/api/models/tiny-org/tiny-llama-gated/revision/main?blobs=true",
        hub.url()
    ));
    assert_eq!(info["gated"], "manual");
    let lfs = info["siblings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["rfilename"].as_str().unwrap().ends_with(".safetensors"))
        .unwrap();
    for field in ["sha256", "size", "pointerSize"] {
        assert!(lfs["lfs"].get(field).is_some(), "{lfs}");
    }
}

#[test]
fn search_reads_answers_with_both_id_and_model_id_and_every_gating_form() {
    let hub = hub();
    let results = client(&hub).search("tiny-bert", None, 20).unwrap();
    let by_id = |id: &str| results.iter().find(|r| r.id == id).unwrap();
    assert!(!by_id("tiny-org/tiny-bert").gated);
    assert!(by_id("tiny-org/tiny-bert-auto").gated);
    assert_eq!(by_id("tiny-org/tiny-bert").likes, Some(12));
    let disabled = by_id("tiny-org/tiny-bert-disabled");
    assert!(!disabled.support.supported);
    assert!(disabled
        .support
        .reason
        .as_deref()
        .unwrap()
        .contains("disabled"));
    assert!(
        results.iter().all(|r| r.id != "tiny-org/tiny-bert-private"),
        "a private repository must not be listed without its token"
    );
    let with = with_token(&hub, TOKEN)
        .search("tiny-bert", None, 20)
        .unwrap();
    assert!(with.iter().any(|r| r.id == "tiny-org/tiny-bert-private"));
}

#[test]
fn model_info_gives_owner_gating_licence_and_the_files_a_pull_takes() {
    let hub = hub();
    let d = client(&hub)
        .model_info("tiny-org/tiny-llama-gated", "main")
        .unwrap();
    assert_eq!(d.author.as_deref(), Some("tiny-org"));
    assert_eq!(d.gated_mode.as_deref(), Some("manual"));
    assert_eq!(d.summary.license.as_deref(), Some("llama3.2"));
    assert_eq!(d.base_model.as_deref(), Some("tiny-org/tiny-llama-base"));
    assert_eq!(d.commit, hub.commit("tiny-org/tiny-llama-gated"));
    let needed: Vec<&str> = d
        .files
        .iter()
        .filter(|f| f.needed)
        .map(|f| f.name.as_str())
        .collect();
    assert!(
        needed.contains(&"model-00001-of-00002.safetensors"),
        "{needed:?}"
    );
    assert!(!needed.contains(&"mock.json"));
    let weights: u64 = d
        .files
        .iter()
        .filter(|f| f.name.ends_with(".safetensors"))
        .map(|f| f.size.unwrap())
        .sum();
    assert!(d.pull_bytes > weights, "{} vs {weights}", d.pull_bytes);
    assert!(d.summary.support.supported);

    let auto = client(&hub)
        .model_info("tiny-org/tiny-bert-auto", "main")
        .unwrap();
    assert_eq!(auto.gated_mode.as_deref(), Some("auto"));
    let pickle = client(&hub)
        .model_info("tiny-org/pickle-only-bert", "main")
        .unwrap();
    assert!(pickle.pull_refused.unwrap().contains("pickle"));
}

#[test]
fn a_401_for_a_missing_or_private_repo_reads_as_not_found_and_a_gated_one_asks_for_a_token() {
    let hub = hub();
    let missing = client(&hub)
        .model_info("tiny-org/nope", "main")
        .unwrap_err();
    assert!(matches!(missing, HubError::NotFound { .. }), "{missing}");
    let private = client(&hub)
        .model_info("tiny-org/tiny-bert-private", "main")
        .unwrap_err();
    assert!(matches!(private, HubError::NotFound { .. }), "{private}");
    assert!(
        with_token(&hub, TOKEN)
            .model_info("tiny-org/tiny-bert-private", "main")
            .unwrap()
            .private
    );
    let cache = tempfile::tempdir().unwrap();
    let gated = client(&hub)
        .pull(
            cache.path(),
            "tiny-org/tiny-llama-gated",
            "main",
            &Default::default(),
            &mut |_| {},
        )
        .unwrap_err();
    assert!(matches!(gated, HubError::TokenRequired { .. }), "{gated}");
}

#[test]
fn a_403_for_a_token_without_access_says_to_accept_the_licence() {
    let hub = hub();
    let cache = tempfile::tempdir().unwrap();
    let e = with_token(&hub, "hf_someone_else")
        .pull(
            cache.path(),
            "tiny-org/tiny-llama-gated",
            "main",
            &Default::default(),
            &mut |_| {},
        )
        .unwrap_err();
    assert!(matches!(e, HubError::TokenRequired { .. }), "{e}");
    assert!(e.to_string().contains("Accept the model's licence"), "{e}");
    assert_eq!(e.code(), "token_required");
}

#[test]
fn a_403_for_a_disabled_repo_says_it_is_disabled() {
    let hub = hub();
    let cache = tempfile::tempdir().unwrap();
    let e = client(&hub)
        .pull(
            cache.path(),
            "tiny-org/tiny-bert-disabled",
            "main",
            &Default::default(),
            &mut |_| {},
        )
        .unwrap_err();
    assert!(matches!(e, HubError::Disabled { .. }), "{e}");
    assert!(e.to_string().contains("tiny-org/tiny-bert-disabled"), "{e}");
    assert_eq!(e.code(), "disabled");
}

#[test]
fn a_404_names_what_was_looked_for() {
    let hub = hub();
    let e = client(&hub)
        .model_info("tiny-org/tiny-bert", "no-such-branch")
        .unwrap_err();
    assert!(matches!(e, HubError::NotFound { .. }), "{e}");
    assert!(e.to_string().contains("no-such-branch"), "{e}");
}

#[test]
fn a_429_is_retried_after_the_time_its_retry_after_names() {
    let hub = hub();
    hub.rate_limit("/api/models", 1, Some("1"));
    let start = Instant::now();
    let results = client(&hub).search("tiny", None, 20).unwrap();
    let waited = start.elapsed();
    assert!(!results.is_empty());
    assert!(
        waited >= Duration::from_millis(950),
        "retried after {waited:?}"
    );
    let searches = hub
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/api/models?"))
        .count();
    assert_eq!(searches, 2, "one 429, then the retry");
}

#[test]
fn a_429_during_a_file_download_is_waited_for_and_the_pull_completes() {
    let hub = hub();
    hub.rate_limit("/resolve/", 1, Some("0"));
    let cache = tempfile::tempdir().unwrap();
    let pulled = client(&hub)
        .pull(
            cache.path(),
            "tiny-org/tiny-bert",
            "main",
            &Default::default(),
            &mut |_| {},
        )
        .unwrap();
    assert!(pulled.snapshot.join("model.safetensors").is_file());
}

#[test]
fn a_429_asking_for_a_long_wait_is_reported_with_the_wait_not_slept_through() {
    let hub = hub();
    hub.rate_limit("/api/models", 1, Some("3600"));
    let start = Instant::now();
    let e = client(&hub).search("tiny", None, 20).unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(5));
    match &e {
        HubError::RateLimited { retry_after_s, .. } => assert_eq!(*retry_after_s, Some(3600)),
        other => panic!("expected a rate limit, got {other}"),
    }
    assert!(e.to_string().contains("3600 s"), "{e}");
    assert_eq!(e.code(), "rate_limited");
}

#[test]
fn a_429_that_keeps_coming_is_retried_a_bounded_number_of_times() {
    let hub = hub();
    hub.rate_limit("/api/models", 10, Some("0"));
    let e = client(&hub).search("tiny", None, 20).unwrap_err();
    assert!(matches!(e, HubError::RateLimited { .. }), "{e}");
    let searches = hub
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/api/models?"))
        .count();
    assert_eq!(
        searches,
        1 + tunesmith_hub::rate_limit::MAX_RETRIES as usize
    );
}

#[test]
fn an_error_answer_shows_the_hubs_own_message() {
    let hub = hub();
    hub.fail_next(
        "/api/models",
        500,
        "InternalError",
        "Something broke on our side, sorry",
    );
    let e = client(&hub).search("tiny", None, 20).unwrap_err();
    assert!(matches!(e, HubError::Http { status: 500, .. }), "{e}");
    assert!(e.to_string().contains("Something broke on our side"), "{e}");
}
