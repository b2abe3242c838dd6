//! The `tunesmith` binary, run as a user runs it.

use std::process::Command;

fn tunesmith() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tunesmith"))
}

#[test]
fn doctor_json_prints_device_home_and_versions() {
    let home = tempfile::tempdir().unwrap();
    let out = tunesmith()
        .args(["doctor", "--json", "--home"])
        .arg(home.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["device"]["selected"], "cpu");
    assert!(v["device"]["cpu_threads"].as_u64().unwrap() >= 1);
    assert_eq!(v["home"], home.path().display().to_string());
    assert_eq!(v["versions"]["tunesmith"], env!("CARGO_PKG_VERSION"));
    assert!(v["versions"]["sqlite"].as_str().unwrap().starts_with('3'));
}

#[test]
fn the_home_folder_comes_from_the_environment_when_no_flag_is_given() {
    let home = tempfile::tempdir().unwrap();
    let out = tunesmith()
        .args(["doctor", "--json"])
        .env("TUNESMITH_HOME", home.path())
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["home"], home.path().display().to_string());
}

#[test]
fn version_prints_the_package_version() {
    let out = tunesmith().arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("tunesmith {}", env!("CARGO_PKG_VERSION"))
    );
}
