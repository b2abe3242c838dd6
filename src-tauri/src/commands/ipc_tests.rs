//! The commands through the real IPC path of a mock app (Tauri's mock runtime, no display): the
//! arguments as the UI sends them, the answers and errors as it receives them, and the events a
//! job streams over its channel.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody, InvokeResponseBody};
use tauri::test::{get_ipc_response, mock_context, noop_assets, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{Webview, WebviewWindow};
use tunesmith::home::Home;

use crate::state::AppState;

/// Messages each channel received, by channel id, in order.
type Inbox = Arc<Mutex<HashMap<u32, Vec<Value>>>>;

/// Called with every channel message as it is sent (on the job's thread, before the job goes on),
/// so a test can act at an exact point of a job, as a user clicking at that moment would.
type Hook = Arc<Mutex<Option<Box<dyn FnMut(&Webview<MockRuntime>, &Value) + Send>>>>;

/// A mock app on a home folder, whose channels deliver into an inbox instead of a web page.
struct Harness {
    app: tauri::App<MockRuntime>,
    webview: WebviewWindow<MockRuntime>,
    inbox: Inbox,
    hook: Hook,
    next_channel: Mutex<u32>,
}

impl Harness {
    fn new(home: &Path) -> Harness {
        let inbox: Inbox = Arc::default();
        let hook: Hook = Arc::default();
        let (sink, on_message) = (Arc::clone(&inbox), Arc::clone(&hook));
        let builder =
            tauri::test::mock_builder().channel_interceptor(move |webview, callback, _, body| {
                if let InvokeResponseBody::Json(text) = body {
                    let value: Value =
                        serde_json::from_str(text).expect("channel messages are JSON");
                    sink.lock()
                        .unwrap()
                        .entry(callback.0)
                        .or_default()
                        .push(value.clone());
                    if let Some(f) = on_message.lock().unwrap().as_mut() {
                        f(webview, &value);
                    }
                }
                true
            });
        let state = AppState::new(Home::at(home.to_path_buf()));
        let mut app = crate::configure(builder, super::mock_builder(), state)
            .build(mock_context(noop_assets()))
            .expect("the mock app builds");
        // Runs `setup` (typed events are registered there) as the real app's first event does;
        // on the mock runtime one iteration does nothing else.
        #[allow(deprecated)]
        app.run_iteration(|_, _| {});
        let webview = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .expect("the mock window builds");
        Harness {
            app,
            webview,
            inbox,
            hook,
            next_channel: Mutex::new(100),
        }
    }

    /// A new channel: the value the UI would pass, and its id.
    fn channel(&self) -> (Value, u32) {
        let mut next = self.next_channel.lock().unwrap();
        *next += 1;
        (json!(format!("__CHANNEL__:{}", *next)), *next)
    }

    /// What channel `id` has received so far.
    fn received(&self, id: u32) -> Vec<Value> {
        self.inbox
            .lock()
            .unwrap()
            .get(&id)
            .cloned()
            .unwrap_or_default()
    }

    /// Runs `f` on every channel message from now on.
    fn on_message(&self, f: impl FnMut(&Webview<MockRuntime>, &Value) + Send + 'static) {
        *self.hook.lock().unwrap() = Some(Box::new(f));
    }

    fn invoke(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        invoke_on(&self.webview, cmd, args)
    }
}

fn invoke_on<W: AsRef<Webview<MockRuntime>>>(
    webview: &W,
    cmd: &str,
    args: Value,
) -> Result<Value, Value> {
    let request = InvokeRequest {
        cmd: cmd.into(),
        callback: CallbackFn(0),
        error: CallbackFn(1),
        url: "tauri://localhost".parse().expect("a valid url"),
        body: InvokeBody::Json(args),
        headers: Default::default(),
        invoke_key: INVOKE_KEY.to_string(),
    };
    get_ipc_response(webview, request).map(|body| body.deserialize::<Value>().expect("JSON"))
}

/// A webview as `get_ipc_response` takes it (a plain `Webview` is not `AsRef` of itself).
struct Target<'a>(&'a Webview<MockRuntime>);

impl AsRef<Webview<MockRuntime>> for Target<'_> {
    fn as_ref(&self) -> &Webview<MockRuntime> {
        self.0
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(name)
}

/// A small, learnable three-class CSV.
fn small_csv(dir: &Path, rows: usize) -> PathBuf {
    let words = ["good fine great", "bad awful poor", "table chair door"];
    let labels = ["pos", "neg", "neutral"];
    let mut s = String::from("text,label\n");
    for i in 0..rows {
        s.push_str(&format!("{} number {i},{}\n", words[i % 3], labels[i % 3]));
    }
    let p = dir.join("reviews.csv");
    std::fs::write(&p, s).unwrap();
    p
}

/// A training request as the Train page sends it: the tiny BERT fixture, a head on its features.
fn train_request(data: &Path, epochs: u32, batch: u32) -> Value {
    json!({
        "model": fixture("tiny-bert"),
        "data": data,
        "task": "classify",
        "method": "features",
        "text_column": "text",
        "label_column": "label",
        "prompt_column": null,
        "response_column": null,
        "epochs": epochs,
        "lr": 0.01,
        "batch": batch,
        "max_len": 16,
        "seed": 7,
        "lora_rank": null,
        "lora_alpha": null,
        "val_fraction": 0.2,
        "test_fraction": 0.1,
        "device": "cpu",
        "checkpoint_every": null,
    })
}

#[test]
fn runs_list_on_an_empty_home_is_an_empty_list() {
    let home = tempfile::tempdir().unwrap();
    let h = Harness::new(home.path());
    assert_eq!(h.invoke("runs_list", json!({})).unwrap(), json!([]));
}

#[test]
fn opening_the_folder_of_a_run_that_does_not_exist_names_the_run() {
    let home = tempfile::tempdir().unwrap();
    let h = Harness::new(home.path());
    let err = h
        .invoke("runs_open_folder", json!({ "run": "no-such-run" }))
        .unwrap_err();
    assert!(
        err["message"].as_str().unwrap().contains("no-such-run"),
        "{err}"
    );
}

#[test]
fn evaluating_a_generation_run_that_does_not_exist_names_the_run() {
    let home = tempfile::tempdir().unwrap();
    let h = Harness::new(home.path());
    let err = h
        .invoke("eval_generation_run", json!({ "run": "no-such-run" }))
        .unwrap_err();
    assert!(
        err["message"].as_str().unwrap().contains("no-such-run"),
        "{err}"
    );
}

#[test]
fn exporting_a_run_that_does_not_exist_names_the_run() {
    let home = tempfile::tempdir().unwrap();
    let h = Harness::new(home.path());
    let err = h
        .invoke(
            "runs_export",
            json!({ "request": { "run": "no-such-run", "format": "gguf", "gguf": "f16" } }),
        )
        .unwrap_err();
    assert!(
        err["message"].as_str().unwrap().contains("no-such-run"),
        "{err}"
    );
    assert!(!home.path().join("exports").exists());
}

#[test]
fn a_blind_rating_sent_as_the_rating_panel_sends_it_is_recorded_tallied_and_exported() {
    let home = tempfile::tempdir().unwrap();
    let h = Harness::new(home.path());
    let order = h.invoke("ratings_blind", json!({ "items": 3 })).unwrap();
    let seed = order["seed"].as_u64().unwrap();
    let first = order["first"].as_array().unwrap().clone();
    assert_eq!(first.len(), 3);
    for (item, shown) in first.iter().enumerate() {
        // The rater picks the fine-tuned answer (column b) wherever it was shown.
        let choice = if shown == "b" { "answer_1" } else { "answer_2" };
        let rating = h
            .invoke(
                "ratings_add",
                json!({ "args": {
                    "comparison": "/runs/x/compare/compare-1.json",
                    "item": item,
                    "prompt": format!("question {item}"),
                    "a": { "configuration": "base", "text": format!("base {item}") },
                    "b": { "configuration": "fine_tuned", "text": format!("tuned {item}") },
                    "seed": seed,
                    "choice": choice,
                    "corrected": null,
                }}),
            )
            .unwrap();
        assert_eq!(rating["preferred"], "fine_tuned", "{rating}");
        assert_eq!(&rating["shown_first"], shown);
    }
    let tally = h.invoke("ratings_tally", json!({ "run": null })).unwrap();
    assert_eq!(tally["pairs"][0]["challenger_preferred"], 3, "{tally}");
    let done = h
        .invoke("ratings_export", json!({ "args": {} }))
        .unwrap();
    assert_eq!(done["pairs"], 3, "{done}");
    let out = PathBuf::from(done["out"].as_str().unwrap());
    assert!(out.starts_with(home.path().join("ratings")), "{done}");
    assert_eq!(std::fs::read_to_string(out).unwrap().lines().count(), 3);
    assert_eq!(done["rows_file"], Value::Null, "no corrected answer, no rows file");
}

#[test]
fn data_inspect_reports_a_small_csv_with_its_first_rows() {
    let home = tempfile::tempdir().unwrap();
    let csv = small_csv(home.path(), 30);
    let h = Harness::new(home.path());
    let out = h
        .invoke("data_inspect", json!({ "request": { "file": csv } }))
        .unwrap();

    let report = &out["report"];
    assert_eq!(report["rows"], 30, "{report}");
    assert_eq!(report["task"], "classify", "{report}");
    assert_eq!(report["label_counts"]["pos"], 10, "{report}");
    let preview = &out["preview"];
    assert_eq!(preview["columns"], json!(["text", "label"]));
    assert_eq!(preview["rows"].as_array().unwrap().len(), 30);
    assert_eq!(
        preview["rows"][0],
        json!(["good fine great number 0", "pos"])
    );
    assert_eq!(preview["lines"][0], 2, "the header is line 1");
    assert_eq!(preview["truncated"], false);
}

#[test]
fn data_inspect_previews_at_most_two_hundred_rows() {
    let home = tempfile::tempdir().unwrap();
    let csv = small_csv(home.path(), 450);
    let h = Harness::new(home.path());
    let out = h
        .invoke(
            "data_inspect",
            json!({ "request": { "file": csv, "text_column": "text", "label_column": "label", "seed": 3 } }),
        )
        .unwrap();
    assert_eq!(out["report"]["rows"], 450);
    assert_eq!(out["preview"]["rows"].as_array().unwrap().len(), 200);
    assert_eq!(out["preview"]["truncated"], true);
}

#[test]
fn an_error_arrives_as_a_code_and_a_message_naming_the_file() {
    let home = tempfile::tempdir().unwrap();
    let h = Harness::new(home.path());
    let missing = home.path().join("no-such-file.csv");
    let err = h
        .invoke("data_inspect", json!({ "request": { "file": missing } }))
        .unwrap_err();
    assert_eq!(err["code"], "data", "{err}");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("no-such-file.csv"),
        "{err}"
    );
    assert_eq!(
        err.as_object().unwrap().len(),
        2,
        "only code and message: {err}"
    );
}

#[test]
fn train_start_streams_steps_and_the_run_appears_in_the_history() {
    let home = tempfile::tempdir().unwrap();
    let csv = small_csv(home.path(), 30);
    let h = Harness::new(home.path());
    let (channel, id) = h.channel();
    let summary = h
        .invoke(
            "train_start",
            json!({ "jobId": "job-1", "request": train_request(&csv, 1, 4), "onEvent": channel }),
        )
        .expect("training succeeds");

    assert_eq!(summary["status"], "finished", "{summary}");
    let run_id = summary["run_id"].as_str().unwrap().to_string();
    let all = h.received(id);
    // Preparation (reading, loading, tokenising) is reported first, before the run has an id.
    let preparing = all.iter().take_while(|e| e["event"] == "preparing").count();
    assert!(preparing > 0, "{all:?}");
    let events = &all[preparing..];
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"started"), "{kinds:?}");
    assert!(kinds.contains(&"step"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"finished"), "{kinds:?}");
    assert!(events.iter().all(|e| e["run_id"] == run_id.as_str()));

    let runs = h.invoke("runs_list", json!({})).unwrap();
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["id"], run_id.as_str());
    assert_eq!(runs[0]["status"], "finished");

    // The job left the registry when it ended.
    let err = h
        .invoke("job_cancel", json!({ "jobId": "job-1" }))
        .unwrap_err();
    assert_eq!(err["code"], "job", "{err}");
}

#[test]
fn job_cancel_pauses_training_at_a_checkpoint_and_train_resume_finishes_the_run() {
    let home = tempfile::tempdir().unwrap();
    let csv = small_csv(home.path(), 60);
    let h = Harness::new(home.path());
    // The user clicks "pause" as the first step arrives.
    let cancelled: Arc<Mutex<Option<Result<Value, Value>>>> = Arc::default();
    let answer = Arc::clone(&cancelled);
    h.on_message(move |webview, event| {
        let mut answer = answer.lock().unwrap();
        if event["event"] == "step" && answer.is_none() {
            *answer = Some(invoke_on(
                &Target(webview),
                "job_cancel",
                json!({ "jobId": "job-2" }),
            ));
        }
    });
    let (channel, id) = h.channel();
    let summary = h
        .invoke(
            "train_start",
            json!({ "jobId": "job-2", "request": train_request(&csv, 40, 1), "onEvent": channel }),
        )
        .expect("a cancelled run is not an error");

    let answer = cancelled
        .lock()
        .unwrap()
        .take()
        .expect("job_cancel was sent");
    assert_eq!(answer, Ok(Value::Null), "job_cancel answers null");
    assert_eq!(summary["status"], "cancelled", "{summary}");
    let events = without_preparation(h.received(id));
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    // It stopped right after the step it was running, with a checkpoint to resume from.
    assert_eq!(
        kinds,
        ["started", "step", "checkpoint", "cancelled"],
        "{events:?}"
    );
    assert_eq!(events[2]["step"], 1);

    let run_id = summary["run_id"].as_str().unwrap();
    let runs = h.invoke("runs_list", json!({})).unwrap();
    assert_eq!(runs[0]["status"], "cancelled", "{runs}");

    // Resume: the run continues from the checkpoint, not from step 1.
    h.on_message(|_, _| {});
    let (channel, id) = h.channel();
    let resumed = h
        .invoke(
            "train_resume",
            json!({ "jobId": "job-3", "run": run_id, "onEvent": channel }),
        )
        .expect("the paused run resumes");
    let events = without_preparation(h.received(id));
    assert_eq!(events[0]["event"], "started");
    assert_eq!(events[0]["resumed_from"], 1, "{:?}", events[0]);
    let first_step = events.iter().find(|e| e["event"] == "step").unwrap();
    assert_eq!(first_step["step"], 2);
    assert_eq!(resumed["status"], "finished", "{resumed}");
    assert_eq!(resumed["run_id"], run_id);
}

/// A run's events from `started` on (the preparation reported before it is the first test's).
fn without_preparation(events: Vec<Value>) -> Vec<Value> {
    events
        .into_iter()
        .filter(|e| e["event"] != "preparing")
        .collect()
}

#[test]
fn rag_list_on_an_empty_home_is_an_empty_list_and_suggestions_work_offline() {
    let home = tempfile::tempdir().unwrap();
    let h = Harness::new(home.path());
    assert_eq!(h.invoke("rag_list", json!({})).unwrap(), json!([]));
    let suggested = h.invoke("models_suggested", json!({})).unwrap();
    let ids: Vec<&str> = suggested
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"sentence-transformers/all-MiniLM-L6-v2"),
        "{ids:?}"
    );
}

#[test]
fn a_training_job_that_fails_answers_with_the_error_and_frees_its_id() {
    let home = tempfile::tempdir().unwrap();
    let csv = small_csv(home.path(), 30);
    let h = Harness::new(home.path());
    let mut request = train_request(&csv, 1, 4);
    request["model"] = json!(home.path().join("no-model-here"));
    for _ in 0..2 {
        let (channel, _) = h.channel();
        let err = h
            .invoke(
                "train_start",
                json!({ "jobId": "job-x", "request": request, "onEvent": channel }),
            )
            .unwrap_err();
        // The second attempt fails for the same reason, not because `job-x` is still registered.
        assert_ne!(err["code"], "job", "{err}");
        assert!(
            err["message"].as_str().unwrap().contains("no-model-here"),
            "{err}"
        );
    }
}

#[test]
fn the_close_requested_event_reaches_the_page_under_its_documented_name() {
    use tauri::Listener;
    use tauri_specta::Event;

    let home = tempfile::tempdir().unwrap();
    let h = Harness::new(home.path());
    let heard: Arc<Mutex<Vec<Value>>> = Arc::default();
    let sink = Arc::clone(&heard);
    h.app.listen_any("close-requested", move |e| {
        sink.lock()
            .unwrap()
            .push(serde_json::from_str(e.payload()).unwrap());
    });
    let event = crate::close::CloseRequested {
        jobs: vec![crate::jobs::RunningJob {
            job_id: "job-1".into(),
            kind: crate::jobs::JobKind::Train,
        }],
    };
    event
        .emit(&h.app)
        .expect("the event is registered and sent");
    assert_eq!(
        *heard.lock().unwrap(),
        vec![json!({ "jobs": [{ "job_id": "job-1", "kind": "train" }] })]
    );
}
