//! Running a command's work off the window's thread.
//!
//! Every command does its work on Tauri's blocking pool, so reading a large file, loading a model
//! or training never freezes the window; the async command only awaits the result.
//!
//! When the work ends, what it loaded has been dropped, and the memory it freed is handed back to
//! the operating system: the allocator would otherwise keep it resident for reuse (measured after
//! two rounds of train, eval, compare, chat and export with SmolLM2-135M: 848 MB resident, 96 MB
//! once returned; tests/memory_rounds.rs).

use tunesmith::error::ErrorPayload;

use crate::error::{CommandResult, ToPayload};

/// Runs `work` on the blocking pool and returns its result in the shape the UI receives.
pub async fn blocking<T, F>(work: F) -> CommandResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> tunesmith::Result<T> + Send + 'static,
{
    let work = move || {
        let result = work();
        tunesmith::resident::return_freed_memory();
        result
    };
    match tauri::async_runtime::spawn_blocking(work).await {
        Ok(result) => result.to_payload(),
        // A panic in the library is a bug; say so rather than leave the UI waiting.
        Err(e) => Err(ErrorPayload {
            code: "internal".into(),
            message: format!(
                "Tunesmith hit an internal error and stopped this task ({e}). Please report it; your files were not changed by this error."
            ),
        }),
    }
}
