//! A process killed with SIGKILL in the middle of a run: at the next open the run is interrupted,
//! every committed metric is there, and the last complete checkpoint is ready for resume.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use tunesmith_store::{files, ArtefactKind, MetricPoint, RunStatus, Split};

use crate::common::{open, sample_run};

const CHILD_ENV: &str = "TUNESMITH_STORE_CRASH_CHILD_DIR";

/// Runs in the child process (started by the test below): trains "forever", committing metrics and
/// a checkpoint every batch and printing the step, until it is killed.
#[test]
#[ignore = "the child half of a_run_killed_mid_training_is_interrupted_and_resumable"]
fn crash_child_trains_until_killed() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        panic!("run only by a_run_killed_mid_training_is_interrupted_and_resumable ({CHILD_ENV} unset)");
    };
    let store = open(std::path::Path::new(&dir));
    let run = store.create_run(&sample_run(1e-3)).unwrap();
    store.start_run(&run.id, std::process::id()).unwrap();
    println!("\n@run {}", run.id);
    let mut w = store
        .metric_writer(&run.id)
        .with_batching(100, std::time::Duration::from_secs(60));
    for step in 0u64.. {
        w.push(MetricPoint::now(
            step,
            Split::Train,
            "loss",
            1.0 / (step + 1) as f64,
        ))
        .unwrap();
        if step % 100 == 99 {
            w.flush().unwrap();
            let target = store
                .run_dir(&run.id)
                .join(format!("checkpoint-{}", step + 1));
            let tmp = files::temp_path_for(&target);
            std::fs::create_dir_all(&tmp).unwrap();
            std::fs::write(tmp.join("weights"), vec![1u8; 64 * 1024]).unwrap();
            files::commit(&tmp, &target).unwrap();
            store
                .record_artefact(&run.id, ArtefactKind::Checkpoint, &target, Some(step + 1))
                .unwrap();
            store.heartbeat(&run.id).unwrap();
            println!("\n@step {}", step + 1);
        }
    }
}

#[test]
fn a_run_killed_mid_training_is_interrupted_and_resumable() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "crash::crash_child_trains_until_killed",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut run_id = None;
    let mut last_step = 0;
    for line in lines.by_ref() {
        // libtest may print its own words before ours on a line: our lines start with '@'.
        let line = line.unwrap();
        let line = line.trim();
        if let Some(id) = line.strip_prefix("@run ") {
            run_id = Some(id.to_string());
        } else if let Some(step) = line.strip_prefix("@step ") {
            last_step = step.parse::<u64>().unwrap();
            if last_step >= 500 {
                break;
            }
        }
    }
    child.kill().unwrap(); // SIGKILL on Unix: no destructor, no flush
    child.wait().unwrap();
    let run_id = run_id.expect("the child announced its run");

    let store = open(dir.path());
    assert_eq!(store.recovered_at_open(), std::slice::from_ref(&run_id));
    let run = store.run(&run_id).unwrap().unwrap();
    assert_eq!(run.status, RunStatus::Interrupted);
    assert!(run.error.unwrap().contains("stopped without finishing"));
    let points = store.metric_series(&run_id, "loss", Split::Train).unwrap();
    assert!(
        points.len() as u64 >= last_step,
        "{} points, {last_step} announced",
        points.len()
    );
    assert!(
        points.iter().enumerate().all(|(i, (s, _))| *s == i as u64),
        "no gaps, no half batches"
    );
    let ckpt = store
        .last_checkpoint(&run_id)
        .unwrap()
        .expect("a checkpoint to resume from");
    assert!(ckpt.step.unwrap() >= last_step);
    store.verify_artefact(&ckpt).unwrap();
    assert_eq!(store.interrupted_runs().unwrap().len(), 1);
    // Resuming is allowed from here.
    assert_eq!(
        store.start_run(&run_id, std::process::id()).unwrap().status,
        RunStatus::Running
    );
}
