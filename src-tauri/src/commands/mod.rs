//! The one list of the app's commands.
//!
//! To add a command: write it in its own module here (a `#[tauri::command] #[specta::specta]`
//! function that is a one-line call into `tunesmith`), add the module below and its path to
//! `command_list!`. `cargo test -p tunesmith-app` then regenerates `ui/src/bindings.ts` and fails
//! once so the new bindings get committed.

mod doctor;

/// Builds the tauri-specta builder for one concrete runtime.
///
/// A macro, not a generic function: `collect_commands!` cannot name generic parameters of an
/// enclosing function (E0401), so the app (`Wry`) and the unit tests (`MockRuntime`) each expand
/// the same list.
macro_rules! command_list {
    ($runtime:ty) => {
        tauri_specta::Builder::<$runtime>::new()
            .commands(tauri_specta::collect_commands![doctor::doctor])
    };
}

/// The commands for the real app; also the source of `ui/src/bindings.ts`.
pub fn builder() -> tauri_specta::Builder<tauri::Wry> {
    command_list!(tauri::Wry)
}

/// The same commands on Tauri's mock runtime, for tests without a display.
#[cfg(test)]
pub(crate) fn mock_builder() -> tauri_specta::Builder<tauri::test::MockRuntime> {
    command_list!(tauri::test::MockRuntime)
}

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use tauri::ipc::{CallbackFn, InvokeBody};
    use tauri::test::{get_ipc_response, mock_context, noop_assets, INVOKE_KEY};
    use tauri::webview::InvokeRequest;
    use tunesmith::home::Home;

    use crate::state::AppState;

    /// Invokes `cmd` with `args` through the real IPC path of a mock app and returns its answer.
    fn invoke(state: AppState, cmd: &str, args: Value) -> Result<Value, Value> {
        let commands = super::mock_builder();
        let app = crate::configure(tauri::test::mock_builder(), &commands, state)
            .build(mock_context(noop_assets()))
            .expect("the mock app builds");
        let webview = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .expect("the mock window builds");
        let request = InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().expect("a valid url"),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        };
        get_ipc_response(&webview, request).map(|body| body.deserialize::<Value>().expect("JSON"))
    }

    #[test]
    fn doctor_answers_over_ipc_with_the_device_home_and_version() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let home = Home::at(dir.path().to_path_buf()).expect("a home folder");
        let report = invoke(
            AppState::new(Ok(home)),
            "doctor",
            Value::Object(Default::default()),
        )
        .expect("doctor succeeds");

        assert_eq!(report["home"], dir.path().display().to_string());
        assert_eq!(report["versions"]["tunesmith"], env!("CARGO_PKG_VERSION"));
        let selected = report["device"]["selected"]
            .as_str()
            .expect("a device name");
        assert!(!selected.is_empty(), "{report}");
        assert!(
            report["device"]["cpu_threads"]
                .as_u64()
                .expect("a thread count")
                >= 1
        );
    }

    #[test]
    fn an_unknown_command_is_refused() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let home = Home::at(dir.path().to_path_buf()).expect("a home folder");
        let err = invoke(AppState::new(Ok(home)), "no_such_command", Value::Null)
            .expect_err("an unknown command fails");
        assert!(err.to_string().contains("no_such_command"), "{err}");
    }

    #[test]
    fn doctor_reports_an_unusable_home_folder_as_a_coded_error() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let file = dir.path().join("not-a-folder");
        std::fs::write(&file, "x").expect("a file");
        let err = invoke(
            AppState::new(Home::at(file)),
            "doctor",
            Value::Object(Default::default()),
        )
        .expect_err("doctor fails");

        assert_eq!(err["code"], "home", "{err}");
        assert!(
            err["message"]
                .as_str()
                .expect("a message")
                .contains("not-a-folder"),
            "{err}"
        );
    }
}
