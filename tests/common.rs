//! Helpers shared by the integration tests' modules.

use std::process::{Command, Output};

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
