//! Issue 19 section 3's leftovers, as a user meets them: the model folder of a listed run deleted
//! (History and `runs show` still work; evaluate, predict, re-run, chat and compare, from the CLI
//! and through the facade the app's command calls, say the model is gone and how to get it back),
//! a dataset changed after its run (re-run names the fingerprint change), and
//! a full disk under a document index build and under the run history's writes (a small tmpfs,
//! skipped where mounting is not allowed; nothing half-written is left and the message names the
//! folder).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::tunesmith;
use crate::common::assert_fails_with;

fn data(dir: &Path) -> PathBuf {
    let words = [
        ("good fine great", "pos"),
        ("bad awful poor", "neg"),
        ("table chair door", "neutral"),
    ];
    let mut s = String::from("sentence\tlabel\n");
    for i in 0..60 {
        let (w, l) = words[i % 3];
        s.push_str(&format!("{w} number {i}\t{l}\n"));
    }
    let p = dir.join("data.tsv");
    std::fs::write(&p, s).unwrap();
    p
}

/// The files of the fixture `name` (not its subfolders) copied into `to`.
fn copy_fixture(name: &str, to: &Path) {
    let fixture = tunesmith_testkit::paths::fixtures_dir().join(name);
    std::fs::create_dir_all(to).unwrap();
    for f in std::fs::read_dir(&fixture).unwrap() {
        let f = f.unwrap().path();
        if f.is_file() {
            std::fs::copy(&f, to.join(f.file_name().unwrap())).unwrap();
        }
    }
}

/// The run id of a `train --json` output (its `started` event).
fn started_run_id(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|e| e["event"] == "started")
        .unwrap()["run_id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A copy of the tiny BERT fixture at `dir`, trained on once; returns the run id.
fn trained_on_a_copy(home: &Path, model: &Path, data: &Path) -> String {
    copy_fixture("tiny-bert", model);
    let out = crate::common::succeed(
        tunesmith(home)
            .args([
                "train", "--json", "--task", "classify", "--method", "features",
            ])
            .args([
                "--epochs",
                "1",
                "--text-column",
                "sentence",
                "--label-column",
                "label",
            ])
            .arg("--model")
            .arg(model)
            .arg("--data")
            .arg(data),
    );
    started_run_id(&out)
}

/// A copy of the tiny Llama fixture at `model`, LoRA-trained on for one epoch of a few questions;
/// returns the run id and the questions file (a compare question set too).
fn generation_run_on_a_copy(home: &Path, model: &Path, dir: &Path) -> (String, PathBuf) {
    copy_fixture("tiny-llama", model);
    let mut rows = String::from("question,answer\n");
    for i in 0..8 {
        rows.push_str(&format!("What is code {i}?,Code {i} is {}.\n", 100 + i));
    }
    let data = dir.join("questions.csv");
    std::fs::write(&data, rows).unwrap();
    let out = crate::common::succeed(
        tunesmith(home)
            .args(["train", "--json", "--task", "generate", "--method", "lora"])
            .args(["--epochs", "1", "--max-len", "32"])
            .args(["--prompt-column", "question", "--response-column", "answer"])
            .arg("--model")
            .arg(model)
            .arg("--data")
            .arg(&data),
    );
    (started_run_id(&out), data)
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap()
}

#[test]
fn issue_19_a_deleted_model_leaves_the_history_usable_and_actions_say_it_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let (home, model) = (dir.path().join("home"), dir.path().join("my model"));
    let run_id = trained_on_a_copy(&home, &model, &data(dir.path()));
    std::fs::remove_dir_all(&model).unwrap();

    let list = crate::common::succeed(tunesmith(&home).args(["--json", "runs", "list"]));
    let list: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(list[0]["id"], run_id.as_str());
    crate::common::succeed(tunesmith(&home).args(["--json", "runs", "show", &run_id]));

    for args in [
        vec!["--json", "eval", "--run", &run_id],
        vec!["--json", "predict", "--run", &run_id, "--text", "good"],
        vec!["--json", "runs", "rerun", &run_id],
    ] {
        let out = run(tunesmith(&home).args(&args));
        assert_fails_with(&out, "no longer there");
        let err: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
        let message = err["message"].as_str().unwrap();
        assert!(
            message.contains("my model") && message.contains("put the model back"),
            "{args:?}: {message}"
        );
    }
}

#[test]
fn issue_19_a_generation_run_whose_model_was_deleted_is_refused_by_chat_and_compare_saying_how_to_get_it_back(
) {
    let dir = tempfile::tempdir().unwrap();
    let (home, model) = (dir.path().join("home"), dir.path().join("my llama"));
    let (run_id, questions) = generation_run_on_a_copy(&home, &model, dir.path());
    std::fs::remove_dir_all(&model).unwrap();

    let questions = questions.to_str().unwrap();
    for args in [
        vec![
            "--json",
            "chat",
            "--run",
            &run_id,
            "--prompt",
            "What is code 1?",
        ],
        vec![
            "--json",
            "compare",
            "--run",
            &run_id,
            "--questions",
            questions,
        ],
    ] {
        let out = run(tunesmith(&home).args(&args));
        assert_fails_with(&out, "no longer there");
        let err: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
        let message = err["message"].as_str().unwrap();
        assert!(
            message.contains("my llama") && message.contains("put the model back"),
            "{args:?}: {message}"
        );
    }
    // The app's Compare command: its form's arguments, as the window sends them, to the facade.
    let home = tunesmith::home::Home::at(home).unwrap();
    let args: tunesmith::compare::CompareArgs = serde_json::from_value(
        serde_json::json!({"questions": questions, "run": run_id, "max_tokens": 4}),
    )
    .unwrap();
    let request = tunesmith::compare::CompareRequest::from(args);
    let err = tunesmith::compare::compare(&home, &request, None, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no longer there") && err.contains(&run_id),
        "{err}"
    );
}

#[test]
fn issue_19_a_rerun_after_the_dataset_changed_names_the_fingerprint_change() {
    let dir = tempfile::tempdir().unwrap();
    let (home, model) = (dir.path().join("home"), dir.path().join("model"));
    let data = data(dir.path());
    let run_id = trained_on_a_copy(&home, &model, &data);
    let mut text = std::fs::read_to_string(&data).unwrap();
    text.push_str("a brand new row\tpos\n");
    std::fs::write(&data, text).unwrap();
    let out = run(tunesmith(&home).args(["--json", "runs", "rerun", &run_id]));
    assert_fails_with(&out, "fingerprint differs");
}

/// A `size` tmpfs at `dir` (root only; `None` where mounting is not allowed), unmounted on drop.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(dir: &Path, size: &str) -> Option<SmallDisk> {
        std::fs::create_dir_all(dir).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .ok()?
            .status
            .success();
        ok.then(|| SmallDisk(dir.to_path_buf()))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn issue_19_an_index_build_on_a_full_disk_fails_clearly_and_leaves_the_history_readable() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("small home");
    let Some(_disk) = SmallDisk::mount(&home, "160k") else {
        eprintln!("skipped: mounting a small tmpfs needs root");
        return;
    };
    // Documents far larger than the disk: the index cannot hold them.
    let docs = dir.path().join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    for i in 0..8 {
        let body: String = (0..4000)
            .map(|j| format!("clinic fact {i} {j}. "))
            .collect();
        std::fs::write(docs.join(format!("doc{i}.md")), body).unwrap();
    }
    let out = run(tunesmith(&home)
        .args([
            "--json",
            "rag",
            "index",
            "--name",
            "clinic",
            "--embed-model",
            "none",
        ])
        .arg(&docs));
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err: serde_json::Value = serde_json::from_slice(&out.stderr)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let message = err["message"].as_str().unwrap();
    assert!(
        message.contains("is full") && message.contains("free some space"),
        "{err}"
    );
    assert!(
        !message.contains("damaged"),
        "a full disk is not damage: {message}"
    );
    // No half-made index is left behind.
    let rag = home.join("rag");
    let left: Vec<_> = std::fs::read_dir(&rag)
        .map(|d| d.collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
    // The history still opens afterwards.
    crate::common::succeed(tunesmith(&home).args(["--json", "runs", "list"]));

    // A store write with the disk full (filled to the last byte): said plainly, with a code the
    // app branches on, and the history still reads as before.
    let mut filler = std::fs::File::create(home.join("filler")).unwrap();
    let block = vec![7u8; 4096];
    while std::io::Write::write_all(&mut filler, &block).is_ok() {}
    drop(filler);
    let out = run(tunesmith(&home)
        .args(["--json", "models", "import"])
        .arg(tunesmith_testkit::paths::fixtures_dir().join("tiny-bert")));
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(err["code"], "disk_full", "{err}");
    assert!(
        err["message"].as_str().unwrap().contains("free some"),
        "{err}"
    );
    crate::common::succeed(tunesmith(&home).args(["--json", "runs", "list"]));
}
