//! Printing for people and for machines: JSON values on stdout, errors as `{code, message}` on
//! stderr with `--json` or as one readable line without.

use std::process::ExitCode;

use serde::Serialize;

/// Makes `tunesmith ... | head` end quietly when the reader closes the pipe, as other Unix tools
/// do, instead of panicking in `println!` (exit 101). Rust ignores SIGPIPE by default; restoring the
/// default action lets the kernel end the process with the conventional status.
pub fn quiet_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: called once at start-up, before any thread exists; it only resets a signal action.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Prints `value` as one line of JSON.
pub fn json_line<T: Serialize>(value: &T) {
    match serde_json::to_string(value) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("error: could not serialise the output: {e}"),
    }
}

/// Prints `value` as indented JSON (for single-object outputs meant to be read too).
pub fn json_pretty<T: Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("error: could not serialise the output: {e}"),
    }
}

/// Reports `error` and returns exit status 2 (never a panic's 101).
pub fn fail(error: &tunesmith::Error, json: bool) -> ExitCode {
    if json {
        let payload = tunesmith::error::ErrorPayload::from(error);
        eprintln!(
            "{}",
            serde_json::to_string(&payload).unwrap_or_else(|_| error.to_string())
        );
    } else {
        eprintln!("error: {error}");
    }
    ExitCode::from(2)
}
