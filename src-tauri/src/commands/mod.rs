//! The one list of the app's commands.
//!
//! To add a command: write it in its own module here (a `#[tauri::command] #[specta::specta]`
//! function that is a one-line call into `tunesmith`), add the module below and its path to
//! `command_list!`. `cargo test -p tunesmith-app` then regenerates `ui/src/bindings.ts` and fails
//! once so the new bindings get committed.

mod app_keep_open;
mod app_quit;
mod chat;
mod compare_questions;
mod data_inspect;
mod doctor;
mod errors_correct;
mod errors_list;
mod eval_generation_run;
mod eval_run;
mod explain;
mod forgetting_check;
mod job_cancel;
mod job_export;
mod job_import;
mod models_estimate;
mod models_import;
mod models_list;
mod models_pull;
mod models_search;
mod models_suggested;
mod predict;
mod predict_file;
mod rag_index;
mod rag_list;
mod rag_query;
mod ratings_add;
mod ratings_blind;
mod ratings_export;
mod ratings_tally;
mod runs_compare;
mod runs_delete;
mod runs_export;
mod runs_list;
mod runs_open_folder;
mod runs_show;
mod train_longer;
mod train_corrected;
mod train_rerun;
mod train_resume;
mod train_start;

/// Builds the tauri-specta builder for one concrete runtime.
///
/// A macro, not a generic function: `collect_commands!` cannot name generic parameters of an
/// enclosing function (E0401), so the app (`Wry`) and the unit tests (`MockRuntime`) each expand
/// the same list.
macro_rules! command_list {
    ($runtime:ty) => {
        tauri_specta::Builder::<$runtime>::new()
            .commands(tauri_specta::collect_commands![
                doctor::doctor,
                models_list::models_list,
                models_suggested::models_suggested,
                models_search::models_search,
                models_pull::models_pull,
                models_import::models_import,
                models_estimate::models_estimate,
                data_inspect::data_inspect,
                train_start::train_start,
                train_resume::train_resume,
                train_rerun::train_rerun,
                train_longer::train_longer,
                job_cancel::job_cancel,
                job_export::job_export,
                job_import::job_import,
                eval_run::eval_run,
                eval_generation_run::eval_generation_run,
                errors_list::errors_list,
                errors_correct::errors_correct,
                explain::explain,
                forgetting_check::forgetting_check,
                train_corrected::train_corrected,
                predict::predict,
                predict_file::predict_file,
                chat::chat,
                rag_index::rag_index,
                rag_list::rag_list,
                rag_query::rag_query,
                compare_questions::compare_questions,
                ratings_blind::ratings_blind,
                ratings_add::ratings_add,
                ratings_tally::ratings_tally,
                ratings_export::ratings_export,
                runs_list::runs_list,
                runs_show::runs_show,
                runs_compare::runs_compare,
                runs_delete::runs_delete,
                runs_open_folder::runs_open_folder,
                runs_export::runs_export,
                app_keep_open::app_keep_open,
                app_quit::app_quit::<$runtime>,
            ])
            .events(tauri_specta::collect_events![crate::close::CloseRequested])
            // The Train form's defaults, from where they are defined (the UI keeps no copy).
            .typ::<tunesmith::run::TrainDefaults>()
            .constant("TRAIN_DEFAULTS", tunesmith::run::TrainDefaults::current())
            // How many questions Compare's quick check answers.
            .constant(
                "COMPARE_QUICK_QUESTIONS",
                tunesmith::compare_quick::QUICK_QUESTIONS,
            )
            // u64 and usize (row counts, byte sizes, steps) arrive as JSON numbers; none of them
            // comes near 2^53, where a JavaScript number would lose precision.
            .dangerously_cast_bigints_to_number()
            // One TypeScript type per Rust type (not `X_Serialize` / `X_Deserialize` pairs): the UI
            // reads what commands return and channels send; optional arguments are marked
            // `#[specta(optional)]` where they are declared.
            .disable_serde_phases()
    };
}

#[cfg(test)]
mod ipc_tests;

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
        let app = crate::configure(tauri::test::mock_builder(), commands, state)
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
