//! Helpers shared by the integration tests' modules.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::time::Duration;

/// Asserts that a `--json` command failed the way a user is told: exit status 2 and, on stderr, a
/// `{code, message}` object whose message contains `needle`.
#[track_caller]
pub fn assert_fails_with(out: &Output, needle: &str) {
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert!(err["message"].as_str().unwrap().contains(needle), "{err}");
}

/// Runs `cmd`, asserts it succeeded (its stderr is the failure message), and returns its output.
#[track_caller]
pub fn succeed(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `cmd` and returns its exit status, its stderr and its peak resident bytes (`VmHWM` of
/// `/proc/<pid>/status`, polled every 10 ms while it runs).
pub fn run_measured(cmd: &mut Command) -> (ExitStatus, String, u64) {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0u64;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_file) {
            if let Some(kb) = text
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
            {
                peak_kb = peak_kb.max(kb);
            }
        }
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut err);
    }
    (status, err, peak_kb * 1024)
}

/// The `tunesmith` binary, keeping its history and models in `home`.
pub fn tunesmith(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tunesmith"));
    c.arg("--home").arg(home);
    c
}

/// The texts of the three classes the tiny classifier tests learn, with their labels.
pub const THREE_CLASSES: [(&str, &str); 3] = [
    ("good fine great", "pos"),
    ("bad awful poor", "neg"),
    ("table chair door", "neutral"),
];

/// Writes `dir/name`: 60 distinct rows of [`THREE_CLASSES`] in `sentence` and `label` columns,
/// tab-separated for a `.tsv` name, else comma-separated.
pub fn three_class_rows(dir: &Path, name: &str) -> PathBuf {
    let sep = if name.ends_with(".tsv") { '\t' } else { ',' };
    let mut s = format!("sentence{sep}label\n");
    for i in 0..60 {
        let (text, label) = THREE_CLASSES[i % 3];
        s.push_str(&format!("{text} number {i}{sep}{label}\n"));
    }
    let p = dir.join(name);
    std::fs::write(&p, s).unwrap();
    p
}

/// Trains a feature-extraction classifier on the tiny BERT fixture over `data` (`sentence` and
/// `label` columns) for `epochs`, holding out `test_fraction`; returns the run's id.
pub fn train_tiny_classifier(home: &Path, data: &Path, epochs: u32, test_fraction: f64) -> String {
    let out = succeed(
        tunesmith(home)
            .args(["train", "--json", "--task", "classify", "--method", "features"])
            .args(["--epochs", &epochs.to_string(), "--lr", "0.05"])
            .args(["--test-fraction", &test_fraction.to_string()])
            .args(["--text-column", "sentence", "--label-column", "label"])
            .arg("--model")
            .arg(tunesmith_testkit::paths::fixtures_dir().join("tiny-bert"))
            .arg("--data")
            .arg(data),
    );
    // `preparing` events come first with an empty run id; the last line is the summary.
    let last: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    last["run_id"].as_str().unwrap().to_string()
}

/// The JSON object a successful `--json` command printed.
#[track_caller]
pub fn json_of(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
