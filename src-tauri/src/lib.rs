//! Tunesmith's desktop shell: a Tauri window around the web UI in `ui/`.
//!
//! This crate only wires things together. Every command is a one-line call into the `tunesmith`
//! library (the same API the CLI uses); the list of commands lives in one place,
//! [`commands`], and the TypeScript bindings the UI calls are generated from it
//! ([`bindings`]). Errors cross to the UI as `{ code, message }` ([`error`]).
#![deny(missing_docs)]

pub mod bindings;
pub mod close;
pub mod commands;
pub mod error;
pub mod jobs;
pub mod offload;
pub mod state;
pub mod training_job;

use tauri::Runtime;

use crate::state::AppState;

/// Everything the app registers on a Tauri builder: plugins, state and the command handler.
///
/// Generic over the runtime so the unit tests build the very same app on Tauri's mock runtime.
pub fn configure<R: Runtime>(
    builder: tauri::Builder<R>,
    commands: tauri_specta::Builder<R>,
    state: AppState,
) -> tauri::Builder<R> {
    builder
        // Native "open file" dialogs for importing models and datasets; the capability in
        // `capabilities/default.json` allows `open` only.
        .plugin(tauri_plugin_dialog::init())
        .manage(state)
        .invoke_handler(commands.invoke_handler())
        // Typed events (`close-requested`) need their names registered with the app.
        .setup(move |app| {
            commands.mount_events(app);
            Ok(())
        })
        // Closing the window while a job runs asks first (see `close`).
        .on_window_event(close::on_window_event)
}

/// Starts the desktop app and blocks until its window closes.
pub fn run() {
    let commands = commands::builder();

    // A debug build run from a checkout keeps `ui/src/bindings.ts` in step with the commands, so
    // `tauri dev` picks up a new command without a separate step. Release builds never write.
    #[cfg(debug_assertions)]
    if let Err(e) = bindings::refresh_in_checkout(&commands) {
        eprintln!("tunesmith: could not refresh ui/src/bindings.ts: {e}");
    }

    let app = configure(
        tauri::Builder::default(),
        commands,
        AppState::from_environment(),
    )
    .build(tauri::generate_context!());
    match app {
        Ok(app) => app.run(|_, _| {}),
        Err(e) => {
            // Nothing to show a dialog with yet: the window system itself did not start.
            eprintln!("tunesmith: the app could not start: {e}");
            std::process::exit(1);
        }
    }
}
