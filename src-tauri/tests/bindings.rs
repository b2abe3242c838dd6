//! The committed `ui/src/bindings.ts` matches the commands the app registers.
//!
//! Being an integration test also makes `cargo test -p tunesmith-app` build the app binary itself
//! (`target/debug/tunesmith-app`) with the same features as the tests, which the end-to-end test
//! then drives: one compilation of Tauri serves both.

#[test]
fn the_committed_bindings_match_the_registered_commands() {
    let commands = tunesmith_app::commands::builder();
    let path = tunesmith_app::bindings::checkout_path();
    let changed = tunesmith_app::bindings::write_if_changed(&commands, &path)
        .unwrap_or_else(|e| panic!("could not write {}: {e}", path.display()));
    assert!(
        !changed,
        "{} was stale and has been regenerated: review it and commit it",
        path.display()
    );
}

#[test]
fn the_bindings_call_the_doctor_command_and_type_its_error() {
    let source = tunesmith_app::bindings::render(&tunesmith_app::commands::builder())
        .expect("the bindings render");
    assert!(source.contains("__TAURI_INVOKE(\"doctor\")"), "{source}");
    assert!(source.contains("ErrorPayload"), "{source}");
    assert!(source.contains("DoctorReport"), "{source}");
}
