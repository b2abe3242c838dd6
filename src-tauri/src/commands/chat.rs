//! `chat`: one question answered by a base model or a fine-tuned run, optionally reading passages
//! from a document index, streamed piece by piece; cancellable.

use tauri::ipc::Channel;
use tauri::State;
use tunesmith::chat::{CancelHandle, ChatAnswer, ChatArgs, ChatEvent, ChatRequest};

use crate::error::CommandResult;
use crate::jobs::{JobKind, Stopper};
use crate::offload::blocking;
use crate::state::AppState;

/// Answers `request` as job `job_id`, sending each `delta` and then `done`.
#[tauri::command]
#[specta::specta]
pub(crate) async fn chat(
    state: State<'_, AppState>,
    job_id: String,
    request: ChatArgs,
    on_event: Channel<ChatEvent>,
) -> CommandResult<ChatAnswer> {
    let home = state.home_owned()?;
    let cancel = CancelHandle::new();
    let job = state
        .jobs()
        .start(&job_id, JobKind::Chat, Stopper::Generate(cancel.clone()))?;
    let request = ChatRequest::from(request);
    blocking(move || {
        let _job = job;
        tunesmith::chat::chat(&home, &request, Some(&cancel), &mut |e| {
            let _ = on_event.send(e.clone());
        })
    })
    .await
}
