//! The home folder where users really put it: a path with spaces and non-ASCII characters works
//! end to end (train, history, export), and a read-only home is refused with a message that names
//! it, before anything is half-done.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{assert_fails_with, succeed};

fn tunesmith(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tunesmith"));
    c.arg("--home").arg(home);
    c.env_remove("TUNESMITH_HOME");
    c
}

fn tiny_llama() -> PathBuf {
    tunesmith_testkit::paths::fixtures_dir().join("tiny-llama")
}

fn facts(dir: &Path) -> PathBuf {
    let mut s = String::from("prompt,response\n");
    for c in 0..4 {
        s.push_str(&format!("\"Code word for Alder? ({c})\",Bluebird\n"));
        s.push_str(&format!("\"Code word for Birch? ({c})\",Copperfox\n"));
    }
    let p = dir.join("faits données.csv");
    std::fs::write(&p, s).unwrap();
    p
}

fn train(home: &Path, data: &Path) -> std::process::Output {
    tunesmith(home)
        .args(["train", "--json", "--task", "generate", "--method", "lora"])
        .args(["--prompt-column", "prompt", "--response-column", "response"])
        .args(["--epochs", "1", "--batch", "4"])
        .arg("--model")
        .arg(tiny_llama())
        .arg("--data")
        .arg(data)
        .output()
        .unwrap()
}

#[test]
fn a_home_with_spaces_and_non_ascii_characters_holds_runs_history_and_exports() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("Mes données/Tunesmith 日本語 ü");
    let out = train(&home, &facts(dir.path()));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(last["event"], "finished", "{last}");
    let run = last["run_id"].as_str().unwrap().to_string();
    assert!(home.join("runs").join(&run).is_dir());

    let list = succeed(tunesmith(&home).args(["--json", "runs", "list"]));
    assert!(String::from_utf8_lossy(&list.stdout).contains(&run));
    let summary: serde_json::Value = serde_json::from_slice(
        &succeed(tunesmith(&home).args(["--json", "export", "--run", &run, "--format", "adapter"]))
            .stdout,
    )
    .unwrap();
    let folder = PathBuf::from(summary["folder"].as_str().unwrap());
    assert!(folder.starts_with(&home), "{}", folder.display());
    assert!(folder.join("adapter_model.safetensors").is_file());
}

/// A read-only folder: a read-only tmpfs when running as root (root ignores permission bits),
/// else the permission bits. `None` when neither can be made here.
struct ReadOnly(PathBuf, bool);

impl ReadOnly {
    fn make(dir: &Path) -> Option<ReadOnly> {
        std::fs::create_dir_all(dir).ok()?;
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "ro,size=64k", "tmpfs"])
            .arg(dir)
            .output()
            .is_ok_and(|o| o.status.success());
        if mounted {
            return Some(ReadOnly(dir.to_path_buf(), true));
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).ok()?;
        // Root writes through permission bits: then this is no test.
        let probe = dir.join(".probe");
        if std::fs::write(&probe, b"x").is_ok() {
            let _ = std::fs::remove_file(&probe);
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755));
            return None;
        }
        Some(ReadOnly(dir.to_path_buf(), false))
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        if self.1 {
            let _ = Command::new("umount").arg(&self.0).status();
        } else {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&self.0, std::fs::Permissions::from_mode(0o755));
        }
    }
}

#[test]
fn a_read_only_home_is_refused_with_a_message_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("read only home");
    let Some(_ro) = ReadOnly::make(&home) else {
        eprintln!("skipped: cannot make a read-only folder here (root without mount)");
        return;
    };
    let data = facts(dir.path());
    let out = tunesmith(&home)
        .args(["--json", "train", "--task", "generate", "--method", "lora"])
        .args(["--prompt-column", "prompt", "--response-column", "response"])
        .args(["--epochs", "1"])
        .arg("--model")
        .arg(tiny_llama())
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    // Refused before training, naming the folder (the store's message does not yet say
    // "read-only": SQLite answers "unable to open database file").
    assert_fails_with(&out, "read only home");
    assert!(!home.join("runs").exists());
    let out = tunesmith(&home)
        .args(["--json", "models", "import"])
        .arg(tiny_llama())
        .output()
        .unwrap();
    assert_fails_with(&out, "read only home");
}
