//! Issue 19 section 2: memory stays bounded. One process runs train -> eval -> compare (a question
//! set) -> chat -> export twice over, through the application API as the app's window does (one
//! long-lived process, and after every job what its command runner does: the memory the job freed
//! handed back to the operating system), and
//! - its resident memory after the second round must be within 10 % of after the first: nothing a
//!   job loaded (models, tokenizers, caches) outlives it;
//! - its peak (`VmHWM`) must stay under the largest single job's estimate plus a stated margin: the
//!   estimate's own tolerance (25 %, what tests/estimate_peaks.rs holds it to against measured
//!   training peaks) and what the process held before any job (the harness and the binary, which
//!   no estimate counts). Above it, a job kept more than it should or the jobs' memory added up.
//!
//! The rounds run on the tiny Llama fixture (real models take minutes per round in a debug build);
//! they run in a child process of their own (this test binary, asked for the ignored
//! `memory_rounds::rounds_in_this_process` alone), because the other tests of this binary run in
//! parallel threads and would be counted in its resident memory.
//!
//! Measured by hand with SmolLM2-135M-Instruct Q4_1 GGUF (`TUNESMITH_MEMORY_ROUNDS_MODEL`, debug
//! build, 2026-12-05; chat and compare on the dequantised base): 78 MB resident after round 1, 36 MB
//! after round 2; peak 1139 MB against a bound of 1291 MB (the LoRA training estimate, 1025 MB, +25 %,
//! + 10 MB before the jobs). Without handing freed memory back, the same rounds left 648 MB and
//! 848 MB resident (+31 %), and 96 MB once `malloc_trim` ran: what stayed resident after the jobs
//! (1.9 GB in the previous session's measurement) was glibc keeping freed blocks in its arenas for
//! reuse (its mmap threshold rises to the size of the largest freed block, up to 32 MB, so a model's
//! layers then come from the arenas), not a leak or a cache. The app now returns it after every
//! command (`tunesmith::resident::return_freed_memory`, called by src-tauri/src/offload.rs).

use std::path::Path;
use std::process::Command;

use tunesmith::chat::{AnswerOptions, ChatRequest};
use tunesmith::compare::CompareRequest;
use tunesmith::export::{ExportFormat, ExportRequest};
use tunesmith::home::Home;
use tunesmith::models::{Calibrate, EstimateOptions};
use tunesmith::train::{CancelHandle, TrainRequest};
use tunesmith_engine::device::DeviceRequest;
use tunesmith_engine::train::Method;
use tunesmith_hub::estimate::Checkpointing;

use crate::chat_cli::tiny_llama;

const CHILD: &str = "TUNESMITH_MEMORY_ROUNDS_CHILD";
/// Another model for the rounds (a folder or `.gguf`), to measure by hand with a real one:
/// `TUNESMITH_MEMORY_ROUNDS_MODEL=... cargo test ... -- memory_rounds --nocapture`.
const MODEL: &str = "TUNESMITH_MEMORY_ROUNDS_MODEL";
/// How far above the estimate a job's real peak may be: the tolerance tests/estimate_peaks.rs
/// holds the estimate to against measured training runs.
const ESTIMATE_TOLERANCE: f64 = 0.25;

fn model() -> String {
    std::env::var(MODEL).unwrap_or_else(|_| tiny_llama())
}

fn write_data(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let mut train = String::from("prompt,response\n");
    let mut questions = String::from("question,answer\n");
    for i in 0..24 {
        train.push_str(&format!(
            "\"What is code {i}?\",\"Code {i} is {}.\"\n",
            1000 + i
        ));
        if i < 4 {
            questions.push_str(&format!(
                "\"What is code {i}?\",\"Code {i} is {}.\"\n",
                1000 + i
            ));
        }
    }
    let (t, q) = (dir.join("train.csv"), dir.join("questions.csv"));
    std::fs::write(&t, train).unwrap();
    std::fs::write(&q, questions).unwrap();
    (t, q)
}

/// One round of every job; returns the run it trained and its batch size.
fn round(home: &Home, dir: &Path, round: usize, data: &Path, questions: &Path) -> (String, u64) {
    let mut req = TrainRequest::new(
        model().into(),
        data.to_path_buf(),
        tunesmith::data::Task::Generate,
        Method::Lora,
    );
    req.prompt_column = Some("prompt".into());
    req.response_column = Some("response".into());
    req.epochs = Some(1);
    req.max_len = Some(64);
    let summary = tunesmith::train::train(home, &req, CancelHandle::new(), &mut |_| {}).unwrap();
    freed();
    let run = summary.run_id;
    let batch = summary.schedule.map_or(4, |s| s.batch_size);
    tunesmith::eval::evaluate_generation(home, &run, None).unwrap();
    freed();
    tunesmith::compare::compare(
        home,
        &CompareRequest {
            questions: questions.to_path_buf(),
            model: None,
            run: Some(run.clone()),
            rag: None,
            passages: 3,
            max_tokens: Some(8),
            max_questions: None,
            system: None,
        },
        None,
        &mut |_| {},
    )
    .unwrap();
    freed();
    tunesmith::chat::chat(
        home,
        &ChatRequest {
            model: None,
            run: Some(run.clone()),
            rag: None,
            passages: 3,
            prompt: "What is code 3?".into(),
            options: AnswerOptions::default(),
            quantised: false,
            max_tokens: Some(8),
            fit_to: None,
        },
        None,
        &mut |_| {},
    )
    .unwrap();
    freed();
    tunesmith::export::export(
        home,
        &ExportRequest {
            run: run.clone(),
            format: ExportFormat::Merged,
            out: Some(dir.join(format!("export-{round}"))),
            into: None,
            gguf: Default::default(),
        },
    )
    .unwrap();
    freed();
    (run, batch)
}

/// What the app's command runner does when a job's work ends (src-tauri/src/offload.rs): hand the
/// memory the job freed back to the operating system.
fn freed() {
    tunesmith::resident::return_freed_memory();
}

/// The estimate (bytes) of the largest single job of a round: training with LoRA at `batch` rows
/// of 64 tokens (what the Train screen shows), or a frozen model answering one sequence (what the
/// check before chat, compare and evaluation uses), whichever is larger.
fn largest_estimate(home: &Home, batch: u64) -> u64 {
    let estimate = |method, batch, max_len| {
        let opts = EstimateOptions {
            method,
            batch: Some(batch),
            max_len: Some(max_len),
            device: DeviceRequest::Auto,
            calibrate: Calibrate::Off,
            rows: None,
            epochs: None,
            data: None,
            checkpointing: Checkpointing::Off,
        };
        tunesmith::models::estimate(home, &model(), &opts)
            .unwrap()
            .estimate
            .breakdown
            .total
    };
    estimate(Method::Lora, batch, 64).max(estimate(Method::Features, 1, 512))
}

/// This process's peak resident memory so far (`VmHWM`), in bytes.
fn peak_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap();
    kb * 1024
}

/// The rounds themselves, run only as the child of the test below.
#[test]
#[ignore = "run by issue_19_two_rounds_of_every_job_leave_resident_memory_within_ten_percent in a process of its own"]
fn rounds_in_this_process() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let home = Home::at(dir.path().join("home")).unwrap();
    let (data, questions) = write_data(dir.path());
    println!(
        "resident before: {}",
        tunesmith::resident::resident_bytes().unwrap()
    );
    let mut batch = 0;
    for r in 1..=2 {
        batch = round(&home, dir.path(), r, &data, &questions).1;
        let rss = tunesmith::resident::resident_bytes().unwrap();
        println!("resident after round {r}: {rss}");
    }
    tunesmith::resident::return_freed_memory();
    println!(
        "resident after the allocator returned freed memory: {}",
        tunesmith::resident::resident_bytes().unwrap()
    );
    println!("peak: {}", peak_bytes());
    println!("largest estimate: {}", largest_estimate(&home, batch));
}

#[test]
fn issue_19_two_rounds_of_every_job_leave_resident_memory_within_ten_percent() {
    if tunesmith::resident::resident_bytes().is_none() {
        eprintln!("skipped: this OS does not report resident memory");
        return;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "memory_rounds::rounds_in_this_process",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rss: Vec<f64> = text
        .lines()
        // The first line may follow the harness's "test ... " on the same line.
        .filter_map(|l| l.split("resident after round ").nth(1))
        .filter_map(|l| l.split(": ").nth(1)?.trim().parse().ok())
        .collect();
    let figure = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.split(&format!("{name}: ")).nth(1)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no `{name}` in the child's output:\n{text}"))
    };
    let (before, peak, estimate, trimmed) = (
        figure("resident before"),
        figure("peak"),
        figure("largest estimate"),
        figure("resident after the allocator returned freed memory"),
    );
    eprintln!(
        "resident before the jobs: {:.0} MB; after round 2 with freed memory returned: {:.0} MB",
        before / 1e6,
        trimmed / 1e6
    );
    assert_eq!(rss.len(), 2, "{text}");
    let growth = rss[1] / rss[0] - 1.0;
    eprintln!(
        "resident after round 1: {:.0} MB, after round 2: {:.0} MB ({:+.1} %)",
        rss[0] / 1e6,
        rss[1] / 1e6,
        growth * 100.0
    );
    assert!(
        growth <= 0.10,
        "resident memory grew {:.1} % from round 1 to round 2: {rss:?}",
        growth * 100.0
    );
    // The peak over both rounds against the largest single job's estimate plus a margin: the
    // estimate's own tolerance (tests/estimate_peaks.rs holds it within 25 % of measured peaks)
    // and what the process held before any job (the test harness and the loaded binary, which no
    // estimate counts).
    let bound = estimate * (1.0 + ESTIMATE_TOLERANCE) + before;
    eprintln!(
        "peak {:.0} MB; largest job's estimate {:.0} MB + {:.0} % + {:.0} MB before the jobs = {:.0} MB",
        peak / 1e6,
        estimate / 1e6,
        ESTIMATE_TOLERANCE * 100.0,
        before / 1e6,
        bound / 1e6
    );
    assert!(
        peak <= bound,
        "the peak ({:.0} MB) is above the largest job's estimate plus the margin ({:.0} MB): a job keeps more than it should, or the jobs' memory adds up",
        peak / 1e6,
        bound / 1e6
    );
}
