//! `tunesmith models ...` as a user runs it, against the loopback mock hub (`HF_ENDPOINT`), with the
//! HF cache in a temporary `HF_HOME`. No internet is used.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tunesmith_hub::mock::{MockHub, MockRepo};

fn repos() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/hub/tests/repos")
}

fn mock() -> MockHub {
    MockHub::start(
        &[
            MockRepo::new("tiny-org/tiny-bert", repos().join("tiny-bert")),
            MockRepo::new(
                "tiny-org/tiny-llama-gated",
                repos().join("tiny-llama-gated"),
            ),
            MockRepo::new("tiny-org/tiny-t5", repos().join("tiny-t5")),
        ],
        Some("hf_cli_token"),
    )
    .unwrap()
}

/// The binary with a private home, a private HF cache and the mock as the hub.
fn tunesmith(hub: &MockHub, dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tunesmith"));
    c.arg("--home").arg(dir.join("home"));
    c.env("HF_ENDPOINT", hub.url())
        .env("HF_HOME", dir.join("hf"));
    for v in [
        "HF_TOKEN",
        "HF_TOKEN_PATH",
        "HF_HUB_CACHE",
        "HF_HUB_OFFLINE",
        "TUNESMITH_HOME",
    ] {
        c.env_remove(v);
    }
    c
}

fn ok(out: &Output) -> &Output {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&ok(out).stdout).unwrap()
}

#[test]
fn models_pull_json_streams_progress_events_and_ends_in_the_standard_cache_layout() {
    let hub = mock();
    let dir = tempfile::tempdir().unwrap();
    let out = tunesmith(&hub, dir.path())
        .args(["models", "pull", "tiny-org/tiny-bert", "--json"])
        .output()
        .unwrap();
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&ok(&out).stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.first().unwrap()["event"], "started");
    assert_eq!(events.last().unwrap()["event"], "finished");
    let progress: Vec<&serde_json::Value> =
        events.iter().filter(|e| e["event"] == "progress").collect();
    assert!(!progress.is_empty());
    let last = progress.last().unwrap();
    assert_eq!(last["bytes_done"], last["total_bytes"]);
    assert!(last["rate_bytes_per_s"].as_f64().unwrap() > 0.0);
    assert!(last.get("eta_s").is_some());
    let commit = hub.commit("tiny-org/tiny-bert").unwrap();
    let root = dir.path().join("hf/hub/models--tiny-org--tiny-bert");
    assert_eq!(
        std::fs::read_to_string(root.join("refs/main")).unwrap(),
        commit
    );
    let sha = hub
        .sha256("tiny-org/tiny-bert", "model.safetensors")
        .unwrap();
    assert!(root.join("blobs").join(&sha).is_file());
    assert!(root
        .join("snapshots")
        .join(&commit)
        .join("model.safetensors")
        .is_file());
    assert!(!root
        .join("snapshots")
        .join(&commit)
        .join("pytorch_model.bin")
        .exists());
}

#[test]
fn models_pull_for_people_draws_a_progress_bar_and_says_where_the_model_is() {
    let hub = mock();
    let dir = tempfile::tempdir().unwrap();
    let out = tunesmith(&hub, dir.path())
        .args(["models", "pull", "tiny-org/tiny-bert"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&ok(&out).stderr).to_string();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(stderr.contains("100.0%"), "{stderr}");
    assert!(
        stdout.contains("is ready") && stdout.contains("snapshots"),
        "{stdout}"
    );
}

#[test]
fn models_pull_of_a_gated_repo_without_a_token_says_how_to_give_one() {
    let hub = mock();
    let dir = tempfile::tempdir().unwrap();
    let out = tunesmith(&hub, dir.path())
        .args(["models", "pull", "tiny-org/tiny-llama-gated", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(err["code"], "token_required");
    assert!(err["message"].as_str().unwrap().contains("HF_TOKEN"));
    let out = tunesmith(&hub, dir.path())
        .args(["models", "pull", "tiny-org/tiny-llama-gated", "--json"])
        .env("HF_TOKEN", "hf_cli_token")
        .output()
        .unwrap();
    ok(&out);
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("hf_cli_token"),
        "the token must never be printed"
    );
}

#[test]
fn models_search_json_lists_results_with_the_badge_and_suggestions() {
    let hub = mock();
    let dir = tempfile::tempdir().unwrap();
    let v = json(
        &tunesmith(&hub, dir.path())
            .args(["models", "search", "tiny", "--json"])
            .output()
            .unwrap(),
    );
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["id"], "tiny-org/tiny-bert");
    assert_eq!(results[0]["support"]["supported"], true);
    let t5 = results
        .iter()
        .find(|r| r["id"] == "tiny-org/tiny-t5")
        .unwrap();
    assert_eq!(t5["support"]["supported"], false);
    assert!(t5["support"]["reason"].as_str().unwrap().contains("T5"));
    assert!(!v["suggestions"].as_array().unwrap().is_empty());
    let v = json(
        &tunesmith(&hub, dir.path())
            .args([
                "models",
                "search",
                "tiny",
                "--task",
                "text-generation",
                "--json",
            ])
            .output()
            .unwrap(),
    );
    assert_eq!(v["results"].as_array().unwrap().len(), 1);
}

#[test]
fn models_search_reads_the_real_hubs_answer_shape_with_id_and_the_legacy_model_id() {
    // The mock sends `_id`, `id` and `modelId` together, as the hub does; a client that took
    // `modelId` as an alias of `id` refused every answer ("error decoding response body").
    let hub = mock();
    let dir = tempfile::tempdir().unwrap();
    let out = tunesmith(&hub, dir.path())
        .args(["models", "search", "tiny-bert"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&ok(&out).stdout).to_string();
    assert!(text.contains("tiny-org/tiny-bert"), "{text}");
    assert!(text.contains("apache-2.0"), "{text}");
}

#[test]
fn models_info_json_shows_gating_licence_base_and_the_files_a_pull_takes() {
    let hub = mock();
    let dir = tempfile::tempdir().unwrap();
    let v = json(
        &tunesmith(&hub, dir.path())
            .args(["models", "info", "tiny-org/tiny-llama-gated", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(v["summary"]["id"], "tiny-org/tiny-llama-gated");
    assert_eq!(v["summary"]["gated"], true);
    assert_eq!(v["gated_mode"], "manual");
    assert_eq!(v["author"], "tiny-org");
    assert_eq!(v["base_model"], "tiny-org/tiny-llama-base");
    assert_eq!(v["summary"]["license"], "llama3.2");
    assert_eq!(
        v["commit"].as_str(),
        hub.commit("tiny-org/tiny-llama-gated").as_deref()
    );
    let needed: Vec<&str> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["needed"] == true)
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(
        needed.contains(&"model.safetensors.index.json"),
        "{needed:?}"
    );
    assert!(v["pull_bytes"].as_u64().unwrap() > 0);
}

#[test]
fn models_info_for_people_says_how_to_get_access_and_what_a_pull_downloads() {
    let hub = mock();
    let dir = tempfile::tempdir().unwrap();
    let out = tunesmith(&hub, dir.path())
        .args(["models", "info", "tiny-org/tiny-llama-gated"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&ok(&out).stdout).to_string();
    assert!(text.contains("ask for access on its hub page"), "{text}");
    assert!(text.contains("model-00001-of-00002.safetensors"), "{text}");
    assert!(text.contains("supported     yes"), "{text}");
    let out = tunesmith(&hub, dir.path())
        .args(["models", "info", "tiny-org/no-such-model", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(err["code"], "not_found");
}

#[test]
fn models_list_works_offline_and_shows_pulled_and_imported_models() {
    let hub = mock();
    let dir = tempfile::tempdir().unwrap();
    ok(&tunesmith(&hub, dir.path())
        .args(["models", "pull", "tiny-org/tiny-bert", "--json"])
        .output()
        .unwrap());
    let imported = json(
        &tunesmith(&hub, dir.path())
            .args(["models", "import", "--json"])
            .arg(repos().join("tiny-llama-gated"))
            .output()
            .unwrap(),
    );
    assert_eq!(imported["id"], "local/tiny-llama-gated");
    assert_eq!(imported["source"], "local");
    let v = json(
        &tunesmith(&hub, dir.path())
            .args(["models", "list", "--json"])
            .env("HF_HUB_OFFLINE", "1")
            .output()
            .unwrap(),
    );
    assert_eq!(v["offline"], true);
    let ids: Vec<&str> = v["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["local/tiny-llama-gated", "tiny-org/tiny-bert"]);
    let bert = &v["models"][1];
    assert_eq!(bert["source"], "hub");
    assert_eq!(bert["supported"], true);
    assert_eq!(bert["context_length"], 64);
    // Offline, a pull of the cached model uses the cache; of another one, says to connect.
    ok(&tunesmith(&hub, dir.path())
        .args(["models", "pull", "tiny-org/tiny-bert"])
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .unwrap());
    let out = tunesmith(&hub, dir.path())
        .args(["models", "pull", "tiny-org/tiny-t5", "--json"])
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .unwrap();
    let err: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(err["code"], "offline");
}

#[test]
fn models_import_of_an_unknown_architecture_is_a_clear_error() {
    let hub = mock();
    let dir = tempfile::tempdir().unwrap();
    let out = tunesmith(&hub, dir.path())
        .args(["models", "import"])
        .arg(repos().join("tiny-t5"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unknown architecture") && stderr.contains("T5ForConditionalGeneration"),
        "{stderr}"
    );
}

#[test]
fn models_estimate_json_gives_the_breakdown_verdict_free_memory_and_an_honest_time_note() {
    let hub = mock();
    let dir = tempfile::tempdir().unwrap();
    ok(&tunesmith(&hub, dir.path())
        .args(["models", "pull", "tiny-org/tiny-bert", "--json"])
        .output()
        .unwrap());
    let v = json(
        &tunesmith(&hub, dir.path())
            .args([
                "models",
                "estimate",
                "tiny-org/tiny-bert",
                "--method",
                "full",
                "--batch",
                "4",
                "--max-len",
                "32",
                "--json",
            ])
            .output()
            .unwrap(),
    );
    let b = &v["breakdown"];
    let parts: u64 = [
        "weights",
        "trainable_parameters",
        "gradients",
        "optimizer_state",
        "activations",
        "overhead",
    ]
    .iter()
    .map(|k| b[k].as_u64().unwrap())
    .sum();
    assert_eq!(parts, b["total"].as_u64().unwrap());
    assert_eq!(v["device"]["device"], "cpu");
    if cfg!(target_os = "linux") {
        assert!(v["device"]["bytes"].as_u64().unwrap() > 0);
        assert!(["fits", "tight", "does_not_fit"].contains(&v["verdict"].as_str().unwrap()));
    }
    assert_eq!(v["time"]["calibrated"], false);
    assert!(v["time"]["seconds_per_step"].is_null());
    let out = tunesmith(&hub, dir.path())
        .args([
            "models",
            "estimate",
            "tiny-org/tiny-bert",
            "--method",
            "magic",
        ])
        .output()
        .unwrap();
    // The flag is typed: clap refuses the value before anything runs, listing the methods.
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`magic`") && err.contains("full, features, lora, qlora"), "{err}");
}

#[test]
fn models_estimate_of_a_model_not_yet_downloaded_reads_only_its_config_and_headers() {
    let hub = mock();
    let dir = tempfile::tempdir().unwrap();
    let v = json(
        &tunesmith(&hub, dir.path())
            .args([
                "models",
                "estimate",
                "tiny-org/tiny-bert",
                "--method",
                "lora",
                "--json",
            ])
            .output()
            .unwrap(),
    );
    assert_eq!(v["shape"]["family"], "encoder");
    assert_eq!(v["shape"]["hidden"], 16);
    assert!(v["trainable_parameter_count"].as_u64().unwrap() > 0);
    // No --batch given: the estimate is of what `train` would use.
    let defaults = ::tunesmith::run::TrainDefaults::current();
    assert_eq!(v["request"]["batch"], defaults.batch as u64);
    assert!(
        !dir.path()
            .join("hf/hub/models--tiny-org--tiny-bert")
            .exists(),
        "nothing is downloaded"
    );
    for r in hub
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/lfs-store/"))
    {
        assert!(r.range.is_some(), "weights are only read by range: {r:?}");
    }
    let out = tunesmith(&hub, dir.path())
        .args(["models", "estimate", "tiny-org/tiny-t5", "--method", "full"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be estimated"));
}

fn fixture(name: &str) -> PathBuf {
    tunesmith_testkit::paths::fixtures_dir().join(name)
}

fn estimate_json(hub: &MockHub, dir: &Path, model: &Path, extra: &[&str]) -> serde_json::Value {
    json(
        &tunesmith(hub, dir)
            .args(["models", "estimate"])
            .arg(model)
            .args(["--batch", "4", "--max-len", "16", "--json"])
            .args(extra)
            .output()
            .unwrap(),
    )
}

#[test]
fn models_estimate_calibrate_times_engine_steps_and_the_next_estimate_reuses_them_instantly() {
    let hub = mock();
    let dir = tempfile::tempdir().unwrap();
    let bert = fixture("tiny-bert");
    let sized = ["--method", "full", "--rows", "100", "--epochs", "2"];
    // Without --calibrate nothing is timed: the memory part stays instant.
    let v = estimate_json(&hub, dir.path(), &bert, &sized);
    assert_eq!(v["time"]["calibrated"], false);
    assert!(v["time"]["note"]
        .as_str()
        .unwrap()
        .contains("measuring runs 3 training steps"));
    let v = estimate_json(
        &hub,
        dir.path(),
        &bert,
        &[&sized[..], &["--calibrate"]].concat(),
    );
    let t = &v["time"];
    assert_eq!(t["calibrated"], true, "{t}");
    assert_eq!(t["cached"], false);
    let per_step = t["seconds_per_step"].as_f64().unwrap();
    assert!(per_step > 0.0);
    // 100 rows, 10 % validation and 10 % test: 80 training rows in steps of 4, twice.
    assert_eq!(t["steps"], 40);
    assert_eq!(t["epochs"], 2);
    let total = t["total_seconds"].as_f64().unwrap();
    assert!((total - 40.0 * per_step).abs() < 1e-9, "{t}");
    // The same settings again, without --calibrate: the remembered calibration, no new timing.
    let again = estimate_json(&hub, dir.path(), &bert, &sized);
    assert_eq!(again["time"]["calibrated"], true);
    assert_eq!(again["time"]["cached"], true);
    assert_eq!(
        again["time"]["seconds_per_step"].as_f64().unwrap(),
        per_step
    );
    assert!(dir.path().join("home/calibrations.json").is_file());
    // Activation checkpointing changes the step (it recomputes each block): another calibration,
    // timed with it on and remembered as such.
    let ckpt = estimate_json(
        &hub,
        dir.path(),
        &bert,
        &[&sized[..], &["--checkpointing", "on"]].concat(),
    );
    assert_eq!(ckpt["activation_checkpointing"], true);
    assert_eq!(ckpt["time"]["calibrated"], false, "{}", ckpt["time"]);
    let ckpt = estimate_json(
        &hub,
        dir.path(),
        &bert,
        &[&sized[..], &["--checkpointing", "on", "--calibrate"]].concat(),
    );
    assert_eq!(ckpt["time"]["calibrated"], true);
    let remembered: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("home/calibrations.json")).unwrap(),
    )
    .unwrap();
    let flags: Vec<bool> = remembered["calibrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"]["activation_checkpointing"].as_bool().unwrap())
        .collect();
    assert_eq!(flags, [false, true], "{remembered}");
    // Other settings are another calibration; --no-calibrate turns the time part off.
    let other = estimate_json(&hub, dir.path(), &bert, &["--method", "lora"]);
    assert_eq!(other["time"]["calibrated"], false);
    let off = estimate_json(
        &hub,
        dir.path(),
        &bert,
        &[&sized[..], &["--no-calibrate"]].concat(),
    );
    assert_eq!(off["time"]["calibrated"], false);
}

#[test]
fn models_estimate_calibrates_feature_extraction_with_its_one_off_feature_pass_and_decoders() {
    let hub = mock();
    let dir = tempfile::tempdir().unwrap();
    let v = estimate_json(
        &hub,
        dir.path(),
        &fixture("tiny-bert"),
        &[
            "--method",
            "feature-extraction",
            "--rows",
            "50",
            "--calibrate",
        ],
    );
    let t = &v["time"];
    assert_eq!(t["calibrated"], true, "{t}");
    // 50 rows: 40 train + 5 validation rows get their features once; default epochs for 40 rows.
    assert!(t["setup_seconds"].as_f64().unwrap() > 0.0, "{t}");
    assert_eq!(t["epochs"], 40);
    let v = estimate_json(
        &hub,
        dir.path(),
        &fixture("tiny-llama"),
        &["--method", "qlora", "--calibrate"],
    );
    let t = &v["time"];
    assert_eq!(t["calibrated"], true, "{t}");
    assert!(t["seconds_per_step"].as_f64().unwrap() > 0.0);
    assert!(t["steps"].is_null(), "no data size given: no total");
    let out = tunesmith(&hub, dir.path())
        .args(["models", "estimate"])
        .arg(fixture("tiny-llama"))
        .args(["--method", "feature-extraction", "--calibrate", "--json"])
        .output()
        .unwrap();
    crate::common::assert_fails_with(&out, "classification head");
}

#[test]
fn train_with_a_hub_id_pulls_the_model_from_the_hub_and_records_the_cached_snapshot() {
    let hub = MockHub::start(
        &[MockRepo::new(
            "tiny-org/trainable-bert",
            fixture("tiny-bert"),
        )],
        None,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data.tsv");
    let mut s = String::from("sentence\tlabel\n");
    for i in 0..30 {
        let (w, l) = [
            ("good fine", "pos"),
            ("bad poor", "neg"),
            ("table door", "neutral"),
        ][i % 3];
        s.push_str(&format!("{w} {i}\t{l}\n"));
    }
    std::fs::write(&data, s).unwrap();
    let out = tunesmith(&hub, dir.path())
        .args(["train", "--json", "--method", "features", "--epochs", "1"])
        .args(["--text-column", "sentence", "--label-column", "label"])
        .args(["--model", "tiny-org/trainable-bert", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    let last: serde_json::Value = String::from_utf8_lossy(&ok(&out).stdout)
        .lines()
        .last()
        .map(|l| serde_json::from_str(l).unwrap())
        .unwrap();
    assert_eq!(last["event"], "finished");
    let snapshots = dir
        .path()
        .join("hf/hub/models--tiny-org--trainable-bert/snapshots");
    assert!(snapshots.is_dir(), "the model was pulled into the HF cache");
    let run = std::fs::read_dir(dir.path().join("home/runs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("run.json")).unwrap()).unwrap();
    assert!(
        record["request"]["model"]
            .as_str()
            .unwrap()
            .starts_with(snapshots.to_str().unwrap()),
        "{}",
        record["request"]["model"]
    );
    // Offline, an id that is not cached says how to get it instead of training.
    let out = tunesmith(&hub, dir.path())
        .args(["train", "--json", "--method", "features"])
        .args(["--model", "tiny-org/not-pulled", "--data"])
        .arg(&data)
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .unwrap();
    crate::common::assert_fails_with(&out, "tunesmith models pull tiny-org/not-pulled");
}

#[cfg(target_os = "linux")]
#[test]
fn models_login_without_a_secret_service_fails_and_says_to_set_hf_token() {
    let hub = mock();
    let dir = tempfile::tempdir().unwrap();
    let mut child = tunesmith(&hub, dir.path())
        .args(["models", "login", "--json"])
        // No session bus: what a headless Linux machine has.
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/tunesmith-test-bus",
        )
        .env_remove("DISPLAY")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"hf_never_printed_token\n").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    crate::common::assert_fails_with(&out, "HF_TOKEN");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains("hf_never_printed_token"));
    let err: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(err["code"], "keyring");
}
